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


def ensure_triggers(connection=None) -> bool:
    """Install the triggers the database lacks; True when any was missing (every period's
    basis is then dropped, to be computed again from the data)."""
    connection = connection or default_connection
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
        cursor.execute("DELETE FROM compensation_paybasisstate")
        cursor.execute("DELETE FROM compensation_policypaybasis")
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
_TODO = "ts_paybasis_todo"
_AGAIN = "ts_paybasis_again"
_COLUMNS = "pid, agent, k, cell, amount, fyc, late, withheld, ck"
_BASIS_COLUMNS = "period_start, policy_id, agent_id, k, cell, amount, fyc, late, withheld, ck"


class Refresh:
    """One period's pay basis brought up to date inside the caller's transaction and cursor
    (the cell statement's temporary tables in place): computed whole when the period has none
    or its context changed, else again for the policies changed since (the change log and
    this period's pending entries); then summed (``rows``)."""

    def __init__(self, cursor, period_start, per_policy, where: str) -> None:
        self.cursor = cursor
        self.connection = cursor.db
        self.postgres = self.connection.vendor == "postgresql"
        self.period = self.connection.ops.adapt_datefield_value(period_start)
        self.period_start = period_start
        self.per_policy = per_policy
        self.where = where

    def _insert(self, where: str, scales, params) -> None:
        body = self.per_policy(where, scales)
        self.cursor.execute(
            f"INSERT INTO {BASIS} ({_BASIS_COLUMNS}) SELECT %s, {_COLUMNS} FROM ({body}) z",
            [self.period, *params],
        )

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
        state = (
            PayBasisState.objects.select_for_update().filter(period_start=self.period_start).first()
        )
        whole = state is None or state.context != context
        self._consume_log(whole=whole)
        cursor = self.cursor
        if whole:
            cursor.execute(f"DELETE FROM {BASIS} WHERE period_start = %s", [self.period])
            self._insert(self.where, scales, params)
            if state is None:
                state = PayBasisState(period_start=self.period_start)
            state.context = context
        else:
            cursor.execute(
                f"DELETE FROM {BASIS} WHERE period_start = %s "
                f"AND policy_id IN (SELECT policy_id FROM {_TODO})",
                [self.period],
            )
            self._insert(
                f"({self.where}) AND p.id IN (SELECT policy_id FROM {_TODO})", scales, params
            )
        cursor.execute(f"DROP TABLE {_TODO}")
        state.refreshed_at = timezone.now()
        state.save()

    def agents_again(self, agents: list[int], scales, params) -> None:
        """Compute the policies of ``agents`` again (their rate key changed)."""
        self._temporary(_AGAIN, "agent_id")
        self.cursor.executemany(f"INSERT INTO {_AGAIN} VALUES (%s)", [(a,) for a in agents])
        self.cursor.execute(
            f"DELETE FROM {BASIS} WHERE period_start = %s "
            f"AND agent_id IN (SELECT agent_id FROM {_AGAIN})",
            [self.period],
        )
        self._insert(
            f"({self.where}) AND p.agent_id IN (SELECT agent_id FROM {_AGAIN})", scales, params
        )
        self.cursor.execute(f"DROP TABLE {_AGAIN}")

    def rows(self, aggregate: str) -> list[tuple]:
        """``aggregate`` (over ``x``) summed from the period's basis."""
        hint = "NOT MATERIALIZED "
        self.cursor.execute(
            f"WITH x AS {hint}(SELECT policy_id AS pid, agent_id AS agent, k, cell, amount, "
            f"fyc, late, withheld, ck FROM {BASIS} WHERE period_start = %s)\n{aggregate}",
            [self.period],
        )
        return self.cursor.fetchall()


def forget_period(period_start) -> None:
    """Drop a period's basis (its run was approved: nothing will read it again)."""
    from django.db import connection

    period = connection.ops.adapt_datefield_value(period_start)
    with connection.cursor() as cursor:
        for table in (BASIS, PENDING, STATE):
            cursor.execute(f"DELETE FROM {table} WHERE period_start = %s", [period])
