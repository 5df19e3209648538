"""The plain policies of a pay period, paid by the database (ADR 0015).

A policy is **plain** when it is credited in the period and not cancelled by its end, its
agent is in service in the run with a level of the rule set, its product has a category and a
first-year commission rate (and, for a standard-premium product, the rule set a factor for its
term), the rule set has a commission rate for it, nothing was withheld from it before, and its
premium is small enough for whole-number arithmetic (``_limit``). Everything else goes back to
the caller (``PlainCells.rest``) to be read as a ``PolicyIn``, so that the engine pays or
reports it the usual way.

The rates come from Python (``engine.rate_for_cell`` for each level, extension and product,
payment mode and term in the period, ``payinputs``' FYC multiplier): each is written, as
whole numbers over a power of ten, to a temporary table. Then one statement computes, for each
plain policy:

- its **commission** in cents, FYC × rate rounded half up (premium in cents × the combined
  multiplier, + half the scale, ÷ the scale: exact on SQLite too);
- its **FYC** exactly (the line's basis) and to the cent (its part);
- where it stands for the **withholding** as ``engine.cleared_on`` and ``late_note`` read it:
  waiting for the receipt (the policy's or its delivery's, the earlier) and/or the return
  visit (required by the product, or one exists; done when confirmed, or a misunderstanding
  resolved, on its local day), or done on a day after the deadline; and the share withheld,
  rounded half up;

and sums them per agent and rate cell (the commission lines) and per agent and what is waited
for (the withheld lines). A checksum of each policy's premium, product, receipt and return
visit goes with each cell into ``digest`` (the pay run's input fingerprint).

The pay run keeps these per-policy rows current in the pay basis (ADR 0017: ``paybasis``,
``PolicyPayBasis``) and sums them from there; its cell lines name their cell rather than list
its policies. A what-if runs the statement over the policies themselves.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from operator import itemgetter

from django.db import DatabaseError, connection
from django.utils import timezone

from telesales.compensation.engine import (
    PersonIn,
    PlainCell,
    PolicyClearance,
    rate_for_cell,
    withholding_deadline,
)
from telesales.compensation.rules_format import RuleBook
from telesales.operations.choices import VisitOutcome, VisitStatus
from telesales.operations.models import Delivery, ReturnVisit
from telesales.operations.rules import return_visit_required
from telesales.operations.rules import ruleset_in_force as operations_rules_in_force
from telesales.policies.choices import CommissionBasis
from telesales.policies.models import Policy, Product

#: The largest whole number both databases add without overflowing.
_INT_MAX = 2**63 - 1
_AGENTS = "ts_paycell_agent"
_RATES = "ts_paycell_rate"
_HELD = "ts_paycell_held"
#: Beyond any policy term (a term is a small whole number of years).
_TERM_END = 2**31 - 1
#: The number of policies in a period that the pay basis's whole-number arithmetic is
#: bounded for (``_rates``' overflow limit); a period with more is read directly.
BASIS_POLICIES = 2**22


@dataclass
class PlainCells:
    """What ``plain_cells`` read: the cells, the policies left to the per-policy path and a
    digest of both."""

    cells: list[PlainCell] = field(default_factory=list)
    #: The period's other policies (ids, ascending): read as ``PolicyIn``.
    rest: list[int] = field(default_factory=list)
    #: A SHA-256 of the products and of what the statement read and summed.
    digest: str = ""
    #: The pay basis refresh the cells were summed from (``PayRun.basis_seq``); None when
    #: they were read from the policies (a what-if).
    seq: int | None = None


def _scale(values: list[Decimal], least: int = 0) -> int:
    """The smallest number of decimal places that writes every value as a whole number."""
    places = least
    for value in values:
        exponent = value.normalize().as_tuple().exponent
        assert isinstance(exponent, int)
        places = max(places, -exponent)
    return places


def _products() -> dict[int, tuple]:
    """product id → (category, commission basis, FYC rate, return visit required)."""
    visit_rules = operations_rules_in_force()
    return {
        pk: (
            category,
            basis,
            rate,
            return_visit_required(product_code=code, category=category, rules=visit_rules),
        )
        for pk, code, category, basis, rate in Product.objects.values_list(
            "pk", "code", "category", "commission_basis", "first_year_commission_rate"
        ).order_by("pk")
    }


def _fyc_multiplier(product: tuple, term: int, rules: RuleBook | None) -> Decimal | None:
    """What ``rules_format.policy_fyc`` multiplies a premium in cents by for a policy of
    ``product`` (``_products``' tuple) and ``term``: the product's FYC rate (× the rule set's
    standardisation factor for a standard-premium product) ÷ 100; None when it cannot be
    valued."""
    category, basis, rate, _required = product
    if not rate or not category:
        return None
    if basis != CommissionBasis.STANDARD:
        return rate.scaleb(-2)
    factor = rules.standard_factor(category=category, term_years=term) if rules else None
    return None if factor is None else (factor * rate).scaleb(-2)


class _Statement:
    """The SQL of one vendor: the pieces that differ between SQLite and PostgreSQL."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"

    def fence(self) -> str:
        """What keeps a subquery from being merged into its outer query, so that its values
        are computed once a row rather than wherever the outer query repeats them."""
        return "OFFSET 0" if self.postgres else "LIMIT -1 OFFSET 0"

    def day_number(self, day: str) -> str:
        if self.postgres:
            return f"COALESCE(({day}) - DATE '2000-01-01', 0)"
        return f"COALESCE(CAST(julianday({day}) AS INTEGER), 0)"


def _earlier(a: str, b: str) -> str:
    """The earlier of two days, either of which may be missing (SQL's ``min`` of a NULL is
    NULL on SQLite, ``LEAST`` is PostgreSQL's only)."""
    return f"CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} WHEN {a} < {b} THEN {a} " + (
        f"ELSE {b} END"
    )


def _later(a: str, b: str) -> str:
    """The later of two days, either of which may be missing."""
    return f"CASE WHEN {a} IS NULL THEN {b} WHEN {b} IS NULL THEN {a} WHEN {a} > {b} THEN {a} " + (
        f"ELSE {b} END"
    )


class _Reader:
    """One read of the plain cells: the rates worked out for the people, products and terms
    of the rule book, the temporary tables, the statement and its rows turned into
    ``PlainCell`` records (``read``)."""

    def __init__(
        self,
        rules: RuleBook,
        period,
        people: list[PersonIn],
        extended: set[int],
        outstanding: set[int],
    ) -> None:
        self.rules = rules
        self.period = period
        self.people = people
        self.extended = extended
        self.outstanding = outstanding
        self.products = _products()
        self.sql = _Statement()
        section = rules.section("withholding")
        self.withholding = section
        self.until = set(section["until"]) if section else set()
        self.deadline = withholding_deadline(rules, period)
        #: cell number → (rule id, rate, modifiers).
        self.cells: dict[int, tuple] = {}
        #: The pay basis refresh read (``_from_basis``).
        self.seq: int | None = None

    # --- the temporary tables -----------------------------------------------------------------

    def _keys(self) -> tuple[dict[tuple[str, bool], PersonIn], list[tuple[int, int]]]:
        """(level, extended) → a person of it; and (agent id, key number) of each person in
        service with a level of the rule set."""
        found: dict[tuple[str, bool], PersonIn] = {}
        paid = []
        for person in self.people:
            if not person.in_service or person.level not in self.rules.levels:
                continue
            key = (person.level, person.id in self.extended)
            if key not in found:
                since = self.period.start if key[1] else None
                found[key] = PersonIn(0, person.level, person.hire_date, extension_since=since)
            paid.append((person.id, key))
        # Numbered in key order, so that the same people give the same numbers whatever the
        # order they are read in (the pay basis keeps each policy's key number).
        keys = {key: found[key] for key in sorted(found)}
        numbers = {key: n for n, key in enumerate(keys)}
        return keys, [(agent, numbers[key]) for agent, key in paid]

    def _terms(self) -> list[tuple[int, int]]:
        """The policy terms as ranges [from, to) inside which no band of the rule set (its
        commission rates' or standardisation factors') changes: the rate and the FYC of a
        policy are the same for every term of a range."""
        bounds = {0}
        tables = [entry["terms"] for entry in self.rules.document.get("fyc_commission", [])]
        standard = self.rules.document.get("standard_premium") or {}
        tables += [table["terms"] for table in standard.get("tables", [])]
        for bands in tables:
            for band in bands:
                for bound in (band["from"], band["to"]):
                    if bound is not None:
                        bounds.add(max(0, math.ceil(bound)))
        ordered = sorted(bounds)
        return list(pairwise([*ordered, _TERM_END]))

    def _rates(self, keys, count: int) -> tuple[list[tuple], int, int, int]:
        """The rate rows (key, product, mode, terms from and to, cell, amount numerator, FYC
        numerator, return visit required), the two scales (decimal places) and the largest
        premium in cents the statement may take for ``count`` policies."""
        modes = sorted(
            {
                m
                for entry in self.rules.document.get("fyc_commission", [])
                for m in entry["payment_modes"]
            }
        )
        terms = self._terms()
        found = []
        numbers: dict[tuple, int] = {}
        for product_id, product in self.products.items():
            for first, end in terms:
                multiplier = _fyc_multiplier(product, first, self.rules)
                if multiplier is None:
                    continue
                for number, person in enumerate(keys.values()):
                    for mode in modes:
                        rate = rate_for_cell(self.rules, person, product[0], mode, first)
                        if type(rate) is str:
                            continue
                        value, rule_id, modifiers = rate
                        cell = numbers.setdefault((rule_id, value, modifiers), len(numbers))
                        found.append(
                            (
                                number,
                                product_id,
                                mode,
                                first,
                                end,
                                cell,
                                multiplier * value * 100,
                                multiplier,
                                int(product[3]),
                            )
                        )
        self.cells = {n: cell for cell, n in numbers.items()}
        amount_places = _scale([row[6] for row in found])
        fyc_places = _scale([row[7] for row in found], least=2)
        rows = [
            (
                *row[:6],
                int(row[6].scaleb(amount_places)),
                int(row[7].scaleb(fyc_places)),
                row[8],
            )
            for row in found
        ]
        largest = max([row[6] for row in rows] + [row[7] for row in rows] + [1])
        # No product of a premium and a numerator, nor their sum over every policy, may
        # overflow a 64-bit integer.
        limit = _INT_MAX // (largest * max(count, 1) + 10**6)
        return rows, amount_places, fyc_places, limit

    def _tables(self, cursor, agents, rates) -> None:
        tables = {
            _AGENTS: ("agent_id bigint PRIMARY KEY, k integer", agents),
            _RATES: (
                "k integer, product_id bigint, payment_mode varchar(20), term_from integer, "
                "term_to integer, cell integer, amount_num bigint, fyc_num bigint, "
                "required integer",
                rates,
            ),
            _HELD: ("policy_id bigint PRIMARY KEY", [(i,) for i in sorted(self.outstanding)]),
        }
        for name, (columns, rows) in tables.items():
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            cursor.execute(f"CREATE TEMPORARY TABLE {name} ({columns})")
            if rows and self.sql.postgres:
                # One COPY: an insert per row of 10,000 agents took 0.3 s.
                with cursor.cursor.copy(f"COPY {name} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            elif rows:
                marks = ", ".join(["%s"] * len(rows[0]))
                cursor.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)  # noqa: S608
        cursor.execute(
            f"CREATE INDEX {_RATES}_key ON {_RATES} (k, product_id, payment_mode, term_from)"
        )
        if self.sql.postgres:
            for name in tables:
                cursor.execute(f"ANALYZE {name}")

    @staticmethod
    def _drop(cursor) -> None:
        # After a failed statement PostgreSQL refuses any other until the rollback, which
        # drops the tables anyway.
        with contextlib.suppress(DatabaseError):
            for name in (_AGENTS, _RATES, _HELD):
                cursor.execute(f"DROP TABLE IF EXISTS {name}")

    # --- the statement ----------------------------------------------------------------------

    def _local_day(self, column: str) -> str:
        """The local day of a stored datetime, as a date (PostgreSQL) or its ISO text
        (SQLite). SQLite's text is shifted by the zone's offset when it has had one offset
        all along (``_fixed_offset``), else read through Django's function (one Python call
        a row)."""
        tz = timezone.get_current_timezone_name()
        if self.sql.postgres:
            return f"CAST(({column} AT TIME ZONE {_literal(tz)}) AS date)"
        minutes = _fixed_offset(self.period)
        if minutes is not None:
            return f"date({column}, '{minutes:+d} minutes')"
        cast, params = connection.ops.datetime_cast_date_sql(column, (), tz)
        return cast.replace("%s", "{}").format(*map(_literal, params))

    def _visit_on(self) -> str:
        """The local day the return visit ``v`` counts as done: confirmed, or a
        misunderstanding resolved (NULL: not yet)."""
        done, confirmed = _literal(VisitStatus.DONE), _literal(VisitOutcome.CONFIRMED)
        misunderstood = _literal(VisitOutcome.MISUNDERSTANDING)
        return (
            f"CASE WHEN v.status = {done} AND v.outcome = {confirmed} "
            f"THEN {self._local_day('v.done_at')} "
            f"WHEN v.status = {done} AND v.outcome = {misunderstood} "
            f"AND v.resolved_at IS NOT NULL THEN {self._local_day('v.resolved_at')} END"
        )

    def _late(self) -> str:
        """What the withholding waits for, as text: ``W:rv``, ``W:r``, ``W:v``, ``D`` (done
        after the deadline: one line whatever the day, ADR 0018) or empty (cleared by the
        deadline, or no withholding); over the columns ``receipt_on``, ``required`` and
        ``visit_on``."""
        if self.withholding is None:
            return "''"
        receipt = "receipt" in self.until
        visit = "return_visit" in self.until
        waiting_receipt = "receipt_on IS NULL" if receipt else "1 = 0"
        waiting_visit = "(required = 1 AND visit_on IS NULL)" if visit else "1 = 0"
        cleared = _later(
            "receipt_on" if receipt else "NULL",
            "(CASE WHEN required = 1 THEN visit_on END)" if visit else "NULL",
        )
        deadline = _literal(self.deadline.isoformat())
        if self.sql.postgres:
            deadline = f"DATE {deadline}"
        return (
            f"CASE WHEN {waiting_receipt} AND {waiting_visit} THEN 'W:rv' "
            f"WHEN {waiting_receipt} THEN 'W:r' WHEN {waiting_visit} THEN 'W:v' "
            f"WHEN ({cleared}) > {deadline} THEN 'D' ELSE '' END"
        )

    def per_policy(self, where: str, scales: tuple[int, int, int]) -> str:
        """One row per policy ``where`` selects (its parameters the caller's): ``pid``,
        ``agent``, ``k`` (the agent's rate key), ``cell`` (NULL: not plain), ``amount``,
        ``fyc``, ``late``, ``withheld`` and ``ck`` (its checksum). Each step's values are
        computed once, in layers that the databases keep apart (``fence``): the policy's row
        and its rate; whether it is plain; its commission, FYC and what the withholding waits
        for; the share withheld."""
        amount_places, fyc_places, limit = scales
        sql = self.sql
        section = self.withholding
        share = section["share"] if section else Decimal(0)
        share_places = _scale([share])
        share_num = int(share.scaleb(share_places))
        policy = connection.ops.quote_name(Policy._meta.db_table)
        delivery = connection.ops.quote_name(Delivery._meta.db_table)
        visit = connection.ops.quote_name(ReturnVisit._meta.db_table)
        fence = sql.fence()
        return f"""
  SELECT pid, agent, k, cell, amount, fyc,
         (fyc + {10 ** (fyc_places - 2) // 2}) / {10 ** (fyc_places - 2)} AS fyc_cents, late,
         CASE WHEN late <> '' AND amount > 0
              THEN (amount * {share_num} + {10**share_places // 2}) / {10**share_places}
         END AS withheld,
         CASE WHEN cell IS NOT NULL THEN
           (pid %% 100003) * (pc %% 100003) + product * (pid %% 1019 + 1)
           + ({sql.day_number("receipt_on")} + 7) * (pid %% 1009 + 1)
           + ({sql.day_number("visit_on")} + 11) * (pid %% 1013 + 1) + required
         END AS ck
  FROM (
    SELECT pid, agent, k, product, cell, pc, receipt_on, required, visit_on,
           CASE WHEN cell IS NOT NULL
                THEN (pc * amount_num + {10**amount_places // 2}) / {10**amount_places}
           END AS amount,
           CASE WHEN cell IS NOT NULL THEN pc * fyc_num END AS fyc,
           CASE WHEN cell IS NOT NULL THEN {self._late()} END AS late
    FROM (
      SELECT l0.*,
             CASE WHEN rcell IS NOT NULL AND held IS NULL AND pc BETWEEN 0 AND {limit}
                  THEN rcell END AS cell
      FROM (
        SELECT p.id AS pid, p.agent_id AS agent, a.k AS k, p.product_id AS product,
               CAST(ROUND(p.annualised_premium * 100) AS BIGINT) AS pc,
               r.cell AS rcell, r.amount_num, r.fyc_num, o.policy_id AS held,
               {_earlier("p.receipt_date", "d.receipt_confirmed_on")} AS receipt_on,
               CASE WHEN r.required = 1 OR v.status IS NOT NULL THEN 1 ELSE 0 END AS required,
               {self._visit_on()} AS visit_on
        FROM {policy} p
        LEFT JOIN {delivery} d ON d.policy_id = p.id
        LEFT JOIN {visit} v ON v.policy_id = p.id
        LEFT JOIN {_AGENTS} a ON a.agent_id = p.agent_id
        LEFT JOIN {_RATES} r ON r.k = a.k AND r.product_id = p.product_id
         AND r.payment_mode = p.payment_mode AND r.term_from <= p.term_years
         AND p.term_years < r.term_to
        LEFT JOIN {_HELD} o ON o.policy_id = p.id
        WHERE {where} {fence}
      ) l0 {fence}
    ) l1 {fence}
  ) l2
"""  # noqa: S608 (the tables, numbers and literals are this module's; the values parameters)

    def aggregate(self) -> str:
        """Over the per-policy rows ``x``: one row per agent and rate cell (the commission
        lines), per agent and what the withholding waits for (the withheld lines) and per
        policy that is not plain, each with its count, sums, least id, checksum and the least
        and greatest rate key of its policies. No plain policy's id or part: a line stands
        for its pay basis cell (ADR 0017)."""
        return """
SELECT 'c', x.agent, x.cell, '', COUNT(*), SUM(x.amount), SUM(x.fyc), MIN(x.pid), SUM(x.ck),
       MIN(x.k), MAX(x.k)
FROM x WHERE x.cell IS NOT NULL GROUP BY x.agent, x.cell
UNION ALL
SELECT 'w', x.agent, NULL, x.late, COUNT(*), SUM(x.withheld), SUM(x.amount), MIN(x.pid), 0,
       MIN(x.k), MAX(x.k)
FROM x WHERE x.withheld IS NOT NULL GROUP BY x.agent, x.late
UNION ALL
SELECT 'r', x.agent, NULL, '', 1, 0, 0, x.pid, 0, x.k, x.k
FROM x WHERE x.cell IS NULL
"""

    def statement(self, where: str, scales: tuple[int, int, int]) -> str:
        """The per-policy rows of ``where``'s policies, computed once, and their sums."""
        body = self.per_policy(where, scales)
        return f"WITH x AS MATERIALIZED ({body})\n{self.aggregate()}"

    # --- reading ------------------------------------------------------------------------------

    def _where(self, selection) -> tuple[str, list]:
        """The selection's own condition (over the policy table's columns), so that the
        statement reads the policies the caller chose."""
        query = selection.query
        where, params = query.get_compiler(connection=connection).compile(query.where)
        where = where.replace(connection.ops.quote_name(Policy._meta.db_table) + ".", "p.")
        return where, list(params)

    def _direct(self, selection, keys, agents) -> tuple[list, list, list]:
        """The statement over the policies themselves: (rows, rates, scales)."""
        rates, *scales = self._rates(keys, selection.count())
        where, params = self._where(selection)
        text = self.statement(where, tuple(scales))
        with connection.cursor() as cursor:
            try:
                self._tables(cursor, agents, rates)
                self._no_jit(cursor)
                cursor.execute(text, params)
                # As the basis's sums give them: -1 for no cell.
                rows = [
                    (kind, agent, -1 if cell is None else cell, *rest)
                    for kind, agent, cell, *rest in cursor.fetchall()
                ]
            finally:
                self._drop(cursor)
        return rows, rates, scales

    def _no_jit(self, cursor) -> None:
        if self.sql.postgres:
            # Compiling the statement's expressions costs more than it saves (0.1 s at
            # 300,000 policies); more ``work_mem`` for its sorts saved nothing.
            cursor.execute("SELECT set_config('jit', 'off', true)")

    def _from_basis(self, selection, keys, agents) -> tuple[list, list, list] | None:
        """The same rows summed from the period's pay basis, brought up to date first
        (ADR 0017); None when the period has more policies than the basis's arithmetic
        bound (``BASIS_POLICIES``): the caller reads them directly."""
        from telesales.compensation import paybasis

        rates, *scales = self._rates(keys, BASIS_POLICIES)
        where, params = self._where(selection)
        body = self.per_policy(where, tuple(scales))
        context = hashlib.sha256(
            repr(
                (
                    sorted(self.products.items()),
                    rates,
                    scales,
                    sorted(self.cells.items()),
                    sorted(self.outstanding),
                    self.deadline,
                    timezone.get_current_timezone_name(),
                    body,
                    self.aggregate(),
                    params,
                )
            ).encode("utf-8")
        ).hexdigest()
        current = dict(agents)
        with connection.cursor() as cursor:
            try:
                self._tables(cursor, agents, rates)
                self._no_jit(cursor)
                refresh = paybasis.Refresh(
                    cursor, self.period.start, self.per_policy, where, self.aggregate()
                )
                refresh.bring_up_to_date(tuple(scales), params, context)
                rows = refresh.rows()
                stale = {
                    row[1]
                    for row in rows
                    if row[0] != "w" and not (row[9] == row[10] == current.get(row[1]))
                }
                if stale:
                    # An agent's level, extension or service changed since their policies
                    # were computed.
                    refresh.agents_again(sorted(stale), tuple(scales), params)
                    rows = refresh.rows()
                self.seq = refresh.seq
            finally:
                self._drop(cursor)
        if sum(row[4] for row in rows if row[0] != "w") > BASIS_POLICIES:
            # Never reached in practice (2**22 policies in one month); the cells read from
            # the policies then, and the run has no basis to name.
            return None
        return rows, rates, scales

    def read(self, selection, *, basis: bool = False) -> PlainCells:
        keys, agents = self._keys()
        found = self._from_basis(selection, keys, agents) if basis else None
        rows, rates, scales = found or self._direct(selection, keys, agents)
        digest = hashlib.sha256(repr(sorted(self.products.items())).encode("utf-8"))
        digest.update(repr((rates, scales, sorted(self.outstanding))).encode("utf-8"))
        out = PlainCells(seq=self.seq if found else None)
        fyc_scale = -scales[1]
        rest = []
        # In a fixed order, whatever order the database gave the groups in.
        rows.sort(key=itemgetter(0, 1, 2, 3))
        summed = []  # hashed at once: one update per row cost 0.1 s at 160,000 cells
        clearances: dict[str, PolicyClearance] = {}  # a few distinct ones
        append = out.cells.append
        for kind, agent, cell, late, count, amount, fyc, first, check, *_k in rows:
            if kind == "r":
                rest.append(first)
                continue
            summed.append(f"{kind}|{agent}|{cell}|{late}|{count}|{amount}|{fyc}|{first}|{check}|")
            if kind == "c":
                rule_id, rate, modifiers = self.cells[cell]
                append(
                    PlainCell(
                        kind="commission",
                        cell=f"c:{cell}",
                        amount=Decimal(int(amount)).scaleb(-2),
                        basis=Decimal(int(fyc)).scaleb(fyc_scale),
                        rule_id=rule_id,
                        rate=rate,
                        modifiers=modifiers,
                        agent_id=agent,
                        count=count,
                        first_id=first,
                    )
                )
                continue
            clearance = clearances.get(late)
            if clearance is None:
                clearance = clearances[late] = _clearance(late, self.deadline)
            append(
                PlainCell(
                    kind="withheld",
                    cell=f"w:{late}",
                    amount=-Decimal(int(amount)).scaleb(-2),
                    basis=Decimal(int(fyc)).scaleb(-2),
                    clearance=clearance,
                    agent_id=agent,
                    count=count,
                    first_id=first,
                )
            )
        out.rest = sorted(rest)
        digest.update("".join(summed).encode())
        digest.update(("r|" + ",".join(map(str, out.rest))).encode("ascii"))
        out.digest = digest.hexdigest()
        return out


def _clearance(late: str, deadline: dt.date) -> PolicyClearance:
    """A clearance that ``engine.late_note`` words as the statement's ``late`` text."""
    if late == "W:rv":
        return PolicyClearance(receipt_on=None, return_visit_required=True)
    if late == "W:r":
        return PolicyClearance(receipt_on=None, return_visit_required=False)
    if late == "W:v":
        return PolicyClearance(receipt_on=dt.date.min, return_visit_required=True)
    assert late == "D", late
    day = deadline + dt.timedelta(days=1)  # any day after it: the note names none
    return PolicyClearance(receipt_on=day, return_visit_required=True, return_visit_on=day)


def plain_cells(
    selection,
    *,
    rules: RuleBook | None,
    period,
    people: list[PersonIn],
    extended: set[int],
    outstanding: set[int],
    basis: bool = False,
) -> PlainCells:
    """The plain policies of ``selection`` (the period's policies credited in it and not
    cancelled by its end) summed per cell, and the ids of the rest (see the module).
    ``basis``: summed from the period's pay basis, brought up to date first (ADR 0017; the
    pay run of the rule set in force), else computed from the policies (what-if)."""
    if rules is None:
        return PlainCells(rest=list(selection.order_by("id").values_list("id", flat=True)))
    return _Reader(rules, period, people, extended, outstanding).read(selection, basis=basis)


def _literal(value: str) -> str:
    """A text of this module (a choice's value, a zone's name, a day) as an SQL literal."""
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9_+\-/:. ]*", text):
        raise ValueError(f"not a plain literal: {text!r}")
    return f"'{text}'"


def _fixed_offset(period) -> int | None:
    """The current zone's offset from UTC in minutes when it has been the same every day from
    a year before the period to a year after today (no daylight saving in between, as in
    China): a datetime stored in UTC is then on the local day of itself shifted by it."""
    tz = timezone.get_current_timezone()
    first = dt.datetime.combine(period.start, dt.time(12)) - dt.timedelta(days=366)
    last = dt.datetime.combine(max(period.end, timezone.now().date()), dt.time(12))
    last += dt.timedelta(days=366)
    offsets = set()
    day = first
    while day <= last and len(offsets) < 2:
        offsets.add(tz.utcoffset(day))
        day += dt.timedelta(days=1)
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds() // 60)
