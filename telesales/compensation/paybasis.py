# ruff: noqa: S608 (every table, column and trigger name in this SQL is this module's own)
"""Keeping each policy's pay current before the run (ADR 0017): the change log's triggers.

A policy's pay (``PolicyPayBasis``) is computed by the cell statement (``paycells``) and kept
until one of its inputs changes. The inputs that belong to the policy — the policy row, its
delivery (the receipt) and its return visit — can be written by anything: a service, a
``QuerySet.update``, an import, the admin, a data officer's SQL. So the database itself logs
every such write: triggers on the three tables append the policy's id to ``PayBasisChange``
(on PostgreSQL one ``INSERT … SELECT`` per statement, over its transition tables), and the
next run (or the periodic upkeep) computes those policies again. Everything else a
policy's pay depends on — the rule set, the products, the people's levels, the policies
withheld earlier, the deadline — is small and read at each run (``paycells``' context digest
and rate keys).

SQLite drops a table's triggers when a migration rebuilds the table, so the triggers are
installed after every ``migrate`` and checked before every refresh (``ensure_triggers``);
when one was missing, every period's basis is computed again from scratch, since writes may
have gone unlogged.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.db import connection as default_connection

#: The change log's table and the tables whose writes it logs: (table, id column of the
#: policy).
LOG = "compensation_paybasischange"
WATCHED = (
    ("policies_policy", "id"),
    ("operations_delivery", "policy_id"),
    ("operations_returnvisit", "policy_id"),
)
_EVENTS = ("insert", "update", "delete")


def trigger_names() -> list[str]:
    return [f"ts_paybasis_{table}_{event}" for table, _column in WATCHED for event in _EVENTS]


def _sqlite_statements() -> list[tuple[str, str]]:
    statements = []
    for table, column in WATCHED:
        for event in _EVENTS:
            name = f"ts_paybasis_{table}_{event}"
            new = (
                f"INSERT INTO {LOG} (policy_id) SELECT NEW.{column} WHERE NEW.{column} IS NOT NULL;"
            )
            old = (
                f"INSERT INTO {LOG} (policy_id) SELECT OLD.{column} WHERE OLD.{column} IS NOT NULL"
            )
            if event == "insert":
                body = new
            elif event == "delete":
                body = old + ";"
            else:
                body = f"{new} {old} AND OLD.{column} IS NOT NEW.{column};"
            statements.append(
                (
                    name,
                    f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {event.upper()} ON {table} "
                    f"FOR EACH ROW BEGIN {body} END",
                )
            )
    return statements


def _postgres_functions() -> list[str]:
    """One function per column and event, over the statement's transition tables: a bulk
    write (a ``COPY`` of a million policies, an ``UPDATE`` of a whole table) logs its rows
    in one ``INSERT … SELECT`` rather than one insert per row."""
    functions = []
    for column in sorted({column for _table, column in WATCHED}):
        selects = {
            "insert": [f"SELECT {column} FROM new_rows WHERE {column} IS NOT NULL"],
            "delete": [f"SELECT {column} FROM old_rows WHERE {column} IS NOT NULL"],
        }
        selects["update"] = selects["insert"] + selects["delete"]
        for event in _EVENTS:
            functions.append(
                f"""CREATE OR REPLACE FUNCTION ts_paybasis_log_{column}_{event}()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {LOG} (policy_id) {" UNION ".join(selects[event])};
  RETURN NULL;
END $$"""
            )
    return functions


def _postgres_statements() -> list[tuple[str, str]]:
    referencing = {
        "insert": "NEW TABLE AS new_rows",
        "delete": "OLD TABLE AS old_rows",
        "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    }
    statements = []
    for table, column in WATCHED:
        for event in _EVENTS:
            name = f"ts_paybasis_{table}_{event}"
            statements.append(
                (
                    name,
                    f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} "
                    f"REFERENCING {referencing[event]} FOR EACH STATEMENT "
                    f"EXECUTE FUNCTION ts_paybasis_log_{column}_{event}()",
                )
            )
    return statements


def installed_triggers(connection=None) -> set[str]:
    """The names of this module's triggers that the database has."""
    connection = connection or default_connection
    names = trigger_names()
    marks = ", ".join(["%s"] * len(names))
    if connection.vendor == "postgresql":
        sql = f"SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgname IN ({marks})"
    else:
        sql = f"SELECT name FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})"
    with connection.cursor() as cursor:
        cursor.execute(sql, names)
        return {row[0] for row in cursor.fetchall()}


#: SQLite only: a partial index holding every column the run sums from the current rows, in
#: the order it groups them (``Refresh.rows``). Kept here rather than in a migration, like the
#: triggers: a migration that rebuilds the table on SQLite would drop it unseen.
SUMS_INDEX = "compensation_paybasis_sums"
_SUMS_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS {SUMS_INDEX} ON compensation_policypaybasis "
    "(period_start, agent_id, cell, late, policy_id, amount, fyc, ck, k, withheld) "
    "WHERE until IS NULL"
)


def ensure_triggers(connection=None) -> bool:
    """Install the triggers the database lacks (and, on SQLite, the sums' index); True when a
    trigger was missing (every period's basis is then computed again from the data at its
    next refresh)."""
    connection = connection or default_connection
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute(_SUMS_INDEX_SQL)
    have = installed_triggers(connection)
    postgres = connection.vendor == "postgresql"
    statements = _postgres_statements() if postgres else _sqlite_statements()
    missing = [(name, sql) for name, sql in statements if name not in have]
    if not missing:
        return False
    with connection.cursor() as cursor:
        if postgres:
            for function in _postgres_functions():
                cursor.execute(function)
        for _name, sql in missing:
            cursor.execute(sql)
        # The next refresh of each period computes it whole (the rows of approved runs stay).
        cursor.execute("DELETE FROM compensation_paybasisstate")
    return True


def drop_triggers(connection=None) -> None:
    """Remove the triggers (tests of what a missing trigger does; the migration's reverse)."""
    connection = connection or default_connection
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        for table, _column in WATCHED:
            for event in _EVENTS:
                name = f"ts_paybasis_{table}_{event}"
                on = f" ON {table}" if postgres else ""
                cursor.execute(f"DROP TRIGGER IF EXISTS {name}{on}")


def install_after_migrate(sender, using="default", **kwargs) -> None:
    """``post_migrate``: the triggers, on the database just migrated (when its tables are
    there: a migration back to before them leaves nothing to install)."""
    from django.db import connections

    connection = connections[using]
    tables = set(connection.introspection.table_names())
    if LOG in tables and all(table in tables for table, _column in WATCHED):
        ensure_triggers(connection)


BASIS = "compensation_policypaybasis"
STATE = "compensation_paybasisstate"
PENDING = "compensation_paybasispending"
SUMS = "compensation_paybasissum"
_TODO = "ts_paybasis_todo"
_AGAIN = "ts_paybasis_again"
#: The sums' columns, in the order of ``paycells``' aggregate rows.
_SUMS_COLUMNS = "kind, agent_id, cell, late, count, amount, fyc, first, ck, kmin, kmax"
_COLUMNS = "pid, agent, k, cell, amount, fyc, fyc_cents, late, withheld, ck"
_BASIS_COLUMNS = (
    "period_start, since, policy_id, agent_id, k, cell, amount, fyc, fyc_cents, late, withheld, ck"
)


def visible(alias: str = "b") -> str:
    """The condition on a basis row ``alias`` of being current at refresh ``%s``."""
    return f"{alias}.since <= %s AND ({alias}.until IS NULL OR {alias}.until > %s)"


class Refresh:
    """One period's pay basis brought up to date inside the caller's transaction and cursor
    (the cell statement's temporary tables in place): computed whole when the period has none
    or its context changed, else again for the policies changed since (the change log and
    this period's pending entries); then summed (``rows``). Rows are replaced by versions:
    a refresh numbered ``seq`` ends the rows it replaces (``until``) and writes the new ones
    (``since``), so that a run's cell lines keep standing for the rows it read.

    The sums the run reads (``PayBasisSum``) are kept with the rows: a whole refresh sums
    the period again, any other one the agents whose policies it computed again (their old
    and new rows); ``aggregate`` is ``paycells``' sums over the per-policy rows ``x``."""

    def __init__(self, cursor, period_start, per_policy, where: str, aggregate: str) -> None:
        self.cursor = cursor
        self.connection = cursor.db
        self.postgres = self.connection.vendor == "postgresql"
        self.period = self.connection.ops.adapt_datefield_value(period_start)
        self.period_start = period_start
        self.per_policy = per_policy
        self.where = where
        self.aggregate = aggregate
        self.state = None
        self.seq = 0

    def _next(self) -> int:
        """The next refresh number of the period (the rows it writes carry it)."""
        self.seq += 1
        return self.seq

    def _replace(self, where: str, rows: str, scales, params) -> None:
        """End the current rows that ``rows`` (a condition on the basis table) selects and
        write the policies ``where`` selects again, as refresh ``_next()``."""
        seq = self._next()
        self.cursor.execute(
            f"UPDATE {BASIS} SET until = %s WHERE period_start = %s AND until IS NULL{rows}",
            [seq, self.period],
        )
        body = self.per_policy(where, scales)
        self.cursor.execute(
            f"INSERT INTO {BASIS} ({_BASIS_COLUMNS}) SELECT %s, %s, {_COLUMNS} FROM ({body}) z",
            [self.period, seq, *params],
        )
        if not rows:
            self._sum(None)
            return
        # The agents of the rows just replaced and of those just written: their sums change.
        self.cursor.execute(
            f"SELECT DISTINCT agent_id FROM {BASIS} "
            f"WHERE period_start = %s AND (until IS NULL OR until = %s) "
            f"AND agent_id IS NOT NULL{rows}",
            [self.period, seq],
        )
        touched = sorted(row[0] for row in self.cursor.fetchall())
        if touched:
            self._sum(touched)

    def _sum(self, agents: list[int] | None) -> None:
        """Sum the period's current rows again into ``SUMS``: all of them (``agents``
        None), or those of ``agents``."""
        cursor = self.cursor
        only, also = "", []
        if agents is not None:
            # A list the planner sees whole: an index scan for a few agents.
            if self.postgres:
                only, also = " AND agent_id = ANY(%s)", [agents]
            else:
                only = " AND agent_id IN (SELECT value FROM json_each(%s))"
                also = [json.dumps(agents)]
        cursor.execute(f"DELETE FROM {SUMS} WHERE period_start = %s{only}", [self.period, *also])
        insert = f"INSERT INTO {SUMS} (period_start, {_SUMS_COLUMNS}) "
        if self.postgres:
            # ``aggregate`` itself, in the database: three scans, in parallel (one scan
            # grouped as SQLite's below and added up was slower: 3.4 against 2.3 s).
            cursor.execute(
                f"{insert} SELECT %s, s.kind, s.agent, COALESCE(s.cell, -1), s.late, s.n, "
                f"s.amount, s.fyc, s.first, s.ck, s.kmin, s.kmax FROM ("
                f"WITH x AS NOT MATERIALIZED (SELECT policy_id AS pid, agent_id AS agent, k, "
                f"cell, amount, fyc, late, withheld, ck FROM {BASIS} "
                f"WHERE period_start = %s AND until IS NULL{only})\n{self.aggregate}"
                f") s (kind, agent, cell, late, n, amount, fyc, first, ck, kmin, kmax)",
                [self.period, self.period, *also],
            )
            return
        rows = [
            (self.period, kind, agent, -1 if cell is None else cell, *rest)
            for kind, agent, cell, *rest in self._sqlite_sums(only, also)
        ]
        marks = ", ".join(["%s"] * 12)
        for first in range(0, len(rows), 10_000):
            cursor.executemany(f"{insert} VALUES ({marks})", rows[first : first + 10_000])

    def _temporary(self, name: str, column: str) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {name}")
        self.cursor.execute(f"CREATE TEMPORARY TABLE {name} ({column} bigint PRIMARY KEY)")

    def _consume_log(self, *, whole: bool) -> None:
        """The logged changes into ``_TODO`` and, for every other period with a basis, into
        the pending table; with this period's pending entries. ``whole``: the period is
        computed whole, so only the other periods need the changes."""
        cursor = self.cursor
        self._temporary(_TODO, "policy_id")
        cursor.execute(f"SELECT COUNT(*) FROM {STATE} WHERE period_start <> %s", [self.period])
        (others,) = cursor.fetchone()
        top = None
        if not self.postgres:
            # SQLite has one writer at a time: an entry not yet committed has a greater id
            # than any this transaction sees.
            cursor.execute(f"SELECT MAX(id) FROM {LOG}")
            (top,) = cursor.fetchone()
        if whole and not others:
            # Only committed entries are seen and deleted (PostgreSQL): a writer still open
            # leaves its entries for the next refresh.
            if self.postgres:
                cursor.execute(f"DELETE FROM {LOG}")
            elif top is not None:
                cursor.execute(f"DELETE FROM {LOG} WHERE id <= %s", [top])
        elif self.postgres:
            cursor.execute(
                f"WITH gone AS (DELETE FROM {LOG} RETURNING policy_id) "
                f"INSERT INTO {_TODO} SELECT DISTINCT policy_id FROM gone"
            )
        elif top is not None:
            cursor.execute(
                f"INSERT INTO {_TODO} SELECT DISTINCT policy_id FROM {LOG} WHERE id <= %s",
                [top],
            )
            cursor.execute(f"DELETE FROM {LOG} WHERE id <= %s", [top])
        if others:
            cursor.execute(
                f"INSERT INTO {PENDING} (period_start, policy_id) "
                f"SELECT s.period_start, t.policy_id FROM {STATE} s CROSS JOIN {_TODO} t "
                f"WHERE s.period_start <> %s ON CONFLICT DO NOTHING",
                [self.period],
            )
        cursor.execute(
            f"INSERT INTO {_TODO} SELECT policy_id FROM {PENDING} "
            f"WHERE period_start = %s ON CONFLICT DO NOTHING",
            [self.period],
        )
        cursor.execute(f"DELETE FROM {PENDING} WHERE period_start = %s", [self.period])

    def bring_up_to_date(self, scales, params, context: str) -> None:
        from django.db import transaction

        with transaction.atomic(using=self.connection.alias):
            self._bring_up_to_date(scales, params, context)

    def _bring_up_to_date(self, scales, params, context: str) -> None:
        from django.utils import timezone

        from telesales.compensation.models import PayBasisState

        ensure_triggers(self.connection)
        cursor = self.cursor
        states = PayBasisState.objects.select_for_update()
        state = states.filter(period_start=self.period_start).first()
        if state is None:
            # Rows may outlive a state (an approved run's, or a trigger found missing):
            # number on from them. Created apart, then locked, so that a run and the upkeep
            # starting a period at once wait for each other instead of one failing.
            cursor.execute(f"SELECT MAX(since) FROM {BASIS} WHERE period_start = %s", [self.period])
            (last,) = cursor.fetchone()
            PayBasisState.objects.get_or_create(
                period_start=self.period_start,
                defaults={"context": "", "seq": last or 0, "refreshed_at": timezone.now()},
            )
            state = states.get(period_start=self.period_start)
        whole = state.context != context or self._sums_lost()
        self._consume_log(whole=whole)
        self.state, self.seq = state, state.seq
        if whole:
            self._replace(self.where, "", scales, params)
            state.context = context
            if self.postgres:
                # A whole period just written: the planner's figures for the table would
                # otherwise be those of before (an empty table: a poor plan for the sums).
                cursor.execute(f"ANALYZE {BASIS}")
        else:
            todo = f"p.id IN (SELECT policy_id FROM {_TODO})"
            self._replace(
                f"({self.where}) AND {todo}",
                f" AND policy_id IN (SELECT policy_id FROM {_TODO})",
                scales,
                params,
            )
        cursor.execute(f"DROP TABLE {_TODO}")
        self._save()

    def _sums_lost(self) -> bool:
        """The period has current rows but no sums (the sums table emptied or restored
        apart from the basis): summed only by refreshes, they would stay missing, and the
        run would pay nothing for the plain policies."""
        cursor = self.cursor
        cursor.execute(f"SELECT 1 FROM {SUMS} WHERE period_start = %s LIMIT 1", [self.period])
        if cursor.fetchone() is not None:
            return False
        cursor.execute(
            f"SELECT 1 FROM {BASIS} WHERE period_start = %s AND until IS NULL LIMIT 1",
            [self.period],
        )
        return cursor.fetchone() is not None

    def _save(self) -> None:
        from django.utils import timezone

        assert self.state is not None
        self.state.seq = self.seq
        self.state.refreshed_at = timezone.now()
        self.state.save()

    def agents_again(self, agents: list[int], scales, params) -> None:
        """Compute the policies of ``agents`` again (their rate key changed)."""
        self._temporary(_AGAIN, "agent_id")
        self.cursor.executemany(f"INSERT INTO {_AGAIN} VALUES (%s)", [(a,) for a in agents])
        self._replace(
            f"({self.where}) AND p.agent_id IN (SELECT agent_id FROM {_AGAIN})",
            f" AND agent_id IN (SELECT agent_id FROM {_AGAIN})",
            scales,
            params,
        )
        self.cursor.execute(f"DROP TABLE {_AGAIN}")
        self._save()

    def rows(self) -> list[tuple]:
        """The period's current rows as ``aggregate`` sums them (kept in ``SUMS``): one row
        per agent and rate cell (``c``), per agent and what the withholding waits for
        (``w``) and per policy that is not plain (``r``); the cell of a row of no cell is
        -1."""
        self.cursor.execute(
            f"SELECT {_SUMS_COLUMNS} FROM {SUMS} WHERE period_start = %s", [self.period]
        )
        return self.cursor.fetchall()

    def _sqlite_sums(self, only: str, also: list) -> list[tuple]:
        """SQLite's sums of the current rows (``only``: a condition on them, its parameters
        ``also``): one scan
        grouped by agent, cell and state along ``SUMS_INDEX``, a partial index holding every
        column it sums (no sort, no table read), the groups added up here (0.75 s at a
        million policies, against 4.6 s for ``aggregate``'s three scans)."""
        self.cursor.execute(
            f"SELECT agent_id, cell, late, COUNT(*), SUM(amount), SUM(fyc), MIN(policy_id), "
            f"SUM(ck), MIN(k), MAX(k), COUNT(withheld), SUM(withheld), "
            f"SUM(amount) FILTER (WHERE withheld IS NOT NULL), "
            f"MIN(policy_id) FILTER (WHERE withheld IS NOT NULL), "
            f"group_concat(CASE WHEN cell IS NULL THEN policy_id END) "
            f"FROM {BASIS} WHERE period_start = %s AND until IS NULL{only} "
            f"GROUP BY agent_id, cell, late",
            [self.period, *also],
        )
        cells: dict[tuple, list] = {}
        held: dict[tuple, list] = {}
        out: list[tuple] = []
        for (
            agent,
            cell,
            late,
            n,
            amount,
            fyc,
            first,
            ck,
            kmin,
            kmax,
            nw,
            w,
            aw,
            firstw,
            rest,
        ) in self.cursor.fetchall():
            if cell is None:
                # The agent's policies that are not plain: each its own row.
                out.extend(
                    ("r", agent, None, "", 1, 0, 0, int(pid), 0, kmin, kmax)
                    for pid in rest.split(",")
                )
                continue
            c = cells.get((agent, cell))
            if c is None:
                cells[(agent, cell)] = [n, amount, fyc, first, ck, kmin, kmax]
            else:
                c[0] += n
                c[1] += amount
                c[2] += fyc
                c[3] = min(c[3], first)
                c[4] += ck
                c[5] = min(c[5], kmin)
                c[6] = max(c[6], kmax)
            if nw:
                h = held.get((agent, late))
                if h is None:
                    held[(agent, late)] = [nw, w, aw, firstw, kmin, kmax]
                else:
                    h[0] += nw
                    h[1] += w
                    h[2] += aw
                    h[3] = min(h[3], firstw)
                    h[4] = min(h[4], kmin)
                    h[5] = max(h[5], kmax)
        for (agent, cell), (n, amount, fyc, first, ck, kmin, kmax) in cells.items():
            out.append(("c", agent, cell, "", n, amount, fyc, first, ck, kmin, kmax))
        for (agent, late), (n, w, aw, first, kmin, kmax) in held.items():
            out.append(("w", agent, None, late, n, w, aw, first, 0, kmin, kmax))
        return out


def purge(period_start, seq: int) -> None:
    """Delete the period's rows replaced at or before refresh ``seq``: the period's run reads
    at ``seq`` or later (a run replaces any earlier one), so no run will show them."""
    from django.db import connection

    period = connection.ops.adapt_datefield_value(period_start)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {BASIS} WHERE period_start = %s AND until IS NOT NULL AND until <= %s",
            [period, seq],
        )


def forget_period(period_start, seq: int | None) -> None:
    """A period's run was approved: keep only the basis rows its cell lines stand for (those
    current at refresh ``seq``; none without one) and stop keeping the basis current."""
    from django.db import connection

    period = connection.ops.adapt_datefield_value(period_start)
    with connection.cursor() as cursor:
        if seq is None:
            cursor.execute(f"DELETE FROM {BASIS} WHERE period_start = %s", [period])
        else:
            cursor.execute(
                f"DELETE FROM {BASIS} b WHERE b.period_start = %s AND NOT ({visible()})"
                if connection.vendor == "postgresql"
                else f"DELETE FROM {BASIS} WHERE period_start = %s AND NOT ({visible(BASIS)})",
                [period, seq, seq],
            )
        for table in (PENDING, SUMS, STATE):
            cursor.execute(f"DELETE FROM {table} WHERE period_start = %s", [period])


def _yuan(cents: int) -> str:
    """Whole cents as the text of a line's part: 1230 → ``12.30``."""
    return str(Decimal(int(cents)).scaleb(-2))


def expand_lines(lines) -> None:
    """Give each cell line (``PayLine.cell``) of ``lines`` all its policies in ``sources``
    and ``parts`` (in memory, as the line of a rate cell lists them: ``policy:N`` and
    ``[amount, basis]`` in policy id order, no parts for a line of one policy): the pay
    basis rows its run read (``PayRun.basis_seq``) beside the policies merged into it. One
    query per run and a thousand people."""
    from django.db import connection

    from telesales.compensation.models import PayRun

    pending = [line for line in lines if line.cell and not getattr(line, "expanded", False)]
    by_run: dict[int, list] = {}
    for line in pending:
        by_run.setdefault(line.run_id, []).append(line)
    for run_id, run_lines in by_run.items():
        period, seq = PayRun.objects.values_list("period_start", "basis_seq").get(pk=run_id)
        if seq is None:
            raise ValueError(f"pay run {run_id} has cell lines but no pay basis refresh")
        found: dict[tuple[int, str], list[tuple[int, str, str]]] = {}
        people = sorted({line.person_id for line in run_lines})
        with connection.cursor() as cursor:
            for i in range(0, len(people), 1000):
                chunk = people[i : i + 1000]
                marks = ", ".join(["%s"] * len(chunk))
                cursor.execute(
                    f"SELECT b.agent_id, b.cell, b.late, b.policy_id, b.amount, b.fyc_cents, "
                    f"b.withheld FROM {BASIS} b WHERE b.period_start = %s AND {visible()} "
                    f"AND b.agent_id IN ({marks})",
                    [connection.ops.adapt_datefield_value(period), seq, seq, *chunk],
                )
                for agent, cell, late, policy, amount, fyc_cents, withheld in cursor.fetchall():
                    if cell is not None:
                        part = (policy, _yuan(amount), _yuan(fyc_cents))
                        found.setdefault((agent, f"c:{cell}"), []).append(part)
                    if withheld is not None:
                        part = (policy, f"-{_yuan(withheld)}", _yuan(amount))
                        found.setdefault((agent, f"w:{late}"), []).append(part)
        for line in run_lines:
            own = [
                (int(source.split(":", 1)[1]), source, list(part))
                for source, part in zip(
                    line.sources, line.parts or [[str(line.amount), str(line.basis)]], strict=False
                )
            ]
            rows = found.get((line.person_id, line.cell), [])
            pairs = sorted(
                own + [(policy, f"policy:{policy}", [a, b]) for policy, a, b in rows],
                key=lambda pair: pair[0],
            )
            line.sources = [source for _id, source, _part in pairs]
            line.parts = [part for _id, _source, part in pairs] if len(pairs) > 1 else []
            line.expanded = True
