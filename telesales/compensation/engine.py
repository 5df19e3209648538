"""The pay calculation core: a rule book and plain input records in, itemised pay lines out.

Pure Python (no database), deterministic: the same rules and records, in any order, give the
same lines in the same order. Each line carries the id of the rule that produced it, the
version of the rule set, the source records (``policy:17``, ``person:3``) and the basis and
rate it applied, and is rounded to the cent with ROUND_HALF_UP on its own. A pay run
(persistence, approval, payslips) is built on top of this module.

What it computes for a period (see docs/domains/compensation.md for worked examples):

1. **base pay** by level, pro rata to the days attended (``base_pay``);
2. **FYC commission** per policy credited in the period and not cancelled by its end:
   FYC × the rate for its category, payment mode, term and the agent's level, × the trainee
   factor for trainee levels (``fyc_commission``, ``trainee_factor``);
3. **clawback** of a policy credited in an earlier period and cancelled in this one — a
   free-look cancellation takes back ``free_look.share`` of the commission paid; an early
   surrender the share of its months-in-force band (``clawback``). With ``overrides: true``
   the same share of its FYC is also taken out of the FYC the overrides below count;
4. **management allowance** of a lead with direct reports: the net FYC of the directly
   managed team (with the lead's own when ``include_own``) × the lead's rate;
5. **development bonus** over generations: for each developed group (a lead and their direct
   reports), the developer ``g`` steps up the development chain gets the generation-``g`` rate
   × that group's net FYC (``later_rate`` once the group is older than ``first_months``),
   when they hold an eligible level;
6. **performance bonus** (optional): a banded or marginal tier table over the person's net FYC.

7. **new-hire allowance** of a person of ``levels`` in a month of service with a row in
   ``months`` whose FYC and cases credited in the period reach its minimums
   (``new_hire_allowance``);
8. **withholding**: ``share`` of the commission of a policy whose receipt and return visit
   are not both done by the deadline is withheld (a negative ``withheld`` line), and paid back
   (``released``) in the first period by whose end both are done, or the policy is cancelled;
9. **renewal commission** on each renewal premium received in the period: premium × the rate
   of its policy year × the persistency factor of the agent's 13-month persistency
   (``renewal_commission``);
10. **recruiting awards** to the recruiter of a person confirmed in the period (with the
    recruit's FYC to date at least ``min_recruit_fyc``) or winning the new-talent award in it.

Lines 7–10 read ``PersonIn.extra`` and ``PolicyIn.clearance``; a record without them is not
assessed for those lines (callers that read only people and policies keep their results).

**Plain cells** (``PlainCell``, ADR 0015): the policies credited in the period, not cancelled by
its end, with a category, a valued FYC and nothing withheld before are paid by the database:
``paycells`` reads them in one statement that computes each policy's commission and withheld
share in whole cents (the rates from ``rate_for_cell``, the withholding as ``cleared_on`` and
``late_note`` read it) and sums them per rate cell. The engine turns each cell into its line (the
lines ``group_by_cell`` would make of the single policies' lines); every other policy is a
``PolicyIn``. A pay run of a million policies then moves no policy through Python. The two
forms give identical lines (a property test on SQLite and PostgreSQL holds them so).

Input that cannot be paid correctly (a policy without a category, a level outside the ladder,
missing attendance, a cycle in the leader or development chain, no matching commission rate)
raises ``PayInputInvalid`` listing every problem, never a silent zero.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from telesales.compensation.notes import joined, note
from telesales.compensation.rules_format import RuleBook, tier_apply, tier_rate
from telesales.core.errors import ValidationFailed
from telesales.core.formatting import money

CENT = Decimal("0.01")
ZERO = Decimal("0")

#: The order of the kinds of line on a payslip.
KINDS = (
    "base_pay",
    "new_hire_allowance",
    "commission",
    "withheld",
    "released",
    "clawback",
    "renewal_commission",
    "management_allowance",
    "development_bonus",
    "performance_bonus",
    "recruiting_award",
)
FREE_LOOK = "free_look"
SURRENDER = "surrender"


#: What a performance bonus's note calls its tier method (``rules_format.tier_apply``).
_TIER_METHODS = {
    "banded": gettext_noop("banded tiers: the band's rate on the whole FYC"),
    "marginal": gettext_noop("marginal tiers: each band's rate on its part of the FYC"),
}


def cents(value: Decimal) -> Decimal:
    """Round to the cent, half up (0.005 → 0.01), the way payslips are rounded."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Period:
    label: str
    start: dt.date
    end: dt.date

    def __contains__(self, day: dt.date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def period_for(rules: RuleBook, *, year: int, month: int) -> Period:
    """The pay period labelled ``year-month`` under the rule set's calendar.

    A calendar month runs from the 1st to its last day. A work month with ``start_day`` 26
    labelled 2026-03 runs from 2026-02-26 to 2026-03-25.
    """
    settings = rules.document["period"]
    label = f"{year:04d}-{month:02d}"
    start_day = settings.get("start_day") or 1
    if settings["calendar"] == "calendar_month" or start_day == 1:
        last = calendar.monthrange(year, month)[1]
        return Period(label, dt.date(year, month, 1), dt.date(year, month, last))
    prev_year, prev_month = (year - 1, 12) if month == 1 else (year, month - 1)
    return Period(
        label,
        dt.date(prev_year, prev_month, start_day),
        dt.date(year, month, start_day) - dt.timedelta(days=1),
    )


def months_between(earlier: dt.date, later: dt.date) -> int:
    """Whole months from ``earlier`` to ``later`` (2026-01-31 → 2026-02-28 is 0)."""
    months = (later.year - earlier.year) * 12 + later.month - earlier.month
    if later.day < earlier.day:
        months -= 1
    return months


@dataclass(frozen=True)
class RenewalIn:
    """A renewal premium (续期保费) received: ``premium_id`` (the premium due), its policy,
    the policy year it pays for, the amount received and the day."""

    premium_id: int
    policy_id: int
    policy_year: int
    amount: Decimal
    paid_on: dt.date


@dataclass(frozen=True)
class PersonExtra:
    """What the new-hire allowance, the renewal commission and the recruiting awards read
    about a person. ``recruiter_id``: who recruited them (增员); ``confirmed_on``: the day
    they were confirmed (转正); ``new_talent_on``: the day they won the new-talent award;
    ``fyc_to_date``: their net FYC from hire to the end of the period (the recruiting award's
    minimum); ``persistency13``: their 13-month persistency measured at the period (``None``:
    no cohort to measure); ``renewals``: the renewal premiums of their policies received in
    the period."""

    recruiter_id: int | None = None
    confirmed_on: dt.date | None = None
    new_talent_on: dt.date | None = None
    fyc_to_date: Decimal | None = None
    persistency13: Decimal | None = None
    renewals: tuple[RenewalIn, ...] = ()


@dataclass(frozen=True)
class PolicyClearance:
    """Where a policy stands for the withholding: the day its receipt (回执) was confirmed and
    the day its return visit (回访) counted as done (``None``: not yet), whether a return visit
    is required, and what approved runs of earlier periods withheld from its commission and
    have not released yet (``withheld_before``, positive)."""

    receipt_on: dt.date | None = None
    return_visit_required: bool = True
    return_visit_on: dt.date | None = None
    withheld_before: Decimal = Decimal("0")


@dataclass(frozen=True)
class PersonIn:
    """A person as the engine sees them. ``leader_id``: who manages them directly;
    ``developer_id``: the lead who developed (育成) the group this person leads, with
    ``developed_on``; ``attendance``: (days attended, days required) in the period;
    ``in_service`` False: left before the period, in the run only for the clawbacks of their
    policies (no base pay, no attendance needed)."""

    id: int
    level: str
    hire_date: dt.date
    leader_id: int | None = None
    developer_id: int | None = None
    developed_on: dt.date | None = None
    attendance: tuple[int, int] | None = None
    in_service: bool = True
    #: The effective date of the assessment extension (考核延期) that covers this period, or
    #: None; the rule set's ``extension_pay`` then discounts their commission and renewals.
    extension_since: dt.date | None = None
    #: None: the caller reads no such records; the new-hire allowance, renewal commission
    #: and recruiting awards are then not assessed for this person.
    extra: PersonExtra | None = None


@dataclass(frozen=True)
class PolicyIn:
    """A policy as the engine sees it. ``fyc``: its first-year commission basis (first-year
    premium × the product's FYC rate); ``credited_on``: the day its commission is earned;
    ``cancel_kind``: ``free_look`` or ``surrender`` when cancelled; ``paid_commission``: the
    commission paid for it in an earlier period (else the clawback recomputes it)."""

    id: int
    agent_id: int
    category: str | None
    term_years: int
    payment_mode: str
    fyc: Decimal
    credited_on: dt.date
    cancelled_on: dt.date | None = None
    cancel_kind: str = ""
    paid_commission: Decimal | None = None
    #: None: the caller reads no receipts or return visits; nothing is withheld.
    clearance: PolicyClearance | None = None


# Not frozen: a frozen dataclass sets each field through ``object.__setattr__``, which made
# creating the 160,000 cells and lines of a million-policy run 0.3 s slower; nothing writes
# to them after they are made (``unsafe_hash`` keeps them hashable as before).
@dataclass(slots=True, unsafe_hash=True)
class PlainCell:
    """Plain policies of one agent summed by the database (``paycells``): a rate cell's
    commission (``kind`` "commission": its rule, rate and modifiers) or what is withheld from
    the agent's plain policies waiting for the same thing (``kind`` "withheld": ``clearance``
    stands for them all, the engine words its note). ``cell``: the pay basis cell it is
    (``c:<cell>`` or ``w:<what is waited for>``, ADR 0017), whose rows list its policies;
    ``count`` and ``first_id`` its policies' number and least id; ``amount`` and ``basis`` the
    line's (a withheld amount is negative, its basis the commission withheld from)."""

    agent_id: int
    kind: str
    cell: str
    count: int
    first_id: int
    amount: Decimal
    basis: Decimal
    rule_id: str = ""
    rate: Decimal | None = None
    modifiers: tuple[str, ...] = ()
    clearance: PolicyClearance | None = None


@dataclass(slots=True, unsafe_hash=True)
class PayLine:
    person_id: int
    kind: str
    rule_id: str
    rule_version: int
    amount: Decimal
    basis: Decimal
    rate: Decimal | None
    sources: tuple[str, ...]
    modifiers: tuple[str, ...] = ()
    note: str = ""
    #: A line of one rate cell (``group_by_cell``): each source's (amount, basis), in the
    #: order of ``sources``; empty for a line of one source.
    parts: tuple[tuple[Decimal, Decimal], ...] = ()
    #: A line of plain policies (``PlainCell.cell``): the pay basis cell whose policies it
    #: holds besides its ``sources`` (which, with ``parts``, list only the policies merged
    #: into it by ``group_by_cell``); ``cell_count`` and ``first_id`` that cell's policies'
    #: number and least id.
    cell: str = ""
    cell_count: int = 0
    first_id: int = 0


#: The per-policy kinds that a pay run writes one line per rate cell (ADR 0014).
CELL_KINDS = ("commission", "withheld", "released")


def group_by_cell(lines: Iterable[PayLine]) -> list[PayLine]:
    """The lines with those of a ``CELL_KINDS`` kind merged per rate cell: person, kind, rule
    (id and version), rate, modifiers and note. A merged line's amount and basis are the sums
    of its members' (each already rounded to the cent on its own, so no total moves), its
    sources theirs and ``parts`` each source's (amount, basis); a member that is already a
    cell (it has ``parts``) is flattened, and the sources of a merge that holds one are put in
    policy id order, as the engine lists single policies. A cell of one line stays that line.
    Order: a merged line stands where its first member stood.

    The plain cells' lines (``cell`` set) are each a rate cell already, one per cell of an
    agent: only those of a person and kind that also has single-policy lines are keyed; a
    single policy merged into one is listed in its ``sources`` and ``parts``, beside the
    cell's own policies."""
    lines = list(lines)
    singles = {
        (line.person_id, line.kind) for line in lines if line.kind in CELL_KINDS and not line.cell
    }
    out: list[PayLine | list[PayLine]] = []
    where: dict[tuple, int] = {}
    for line in lines:
        if line.kind not in CELL_KINDS or (
            line.cell and (line.person_id, line.kind) not in singles
        ):
            out.append(line)
            continue
        key = (
            line.person_id,
            line.kind,
            line.rule_id,
            line.rule_version,
            line.rate,
            line.modifiers,
            line.note,
        )
        at = where.get(key)
        if at is None:
            where[key] = len(out)
            out.append([line])
        else:
            out[at].append(line)  # type: ignore[union-attr]
    return [_merged(item) if isinstance(item, list) else item for item in out]


def policy_number(source: str) -> int:
    """``policy:17`` → 17 (the order of a cell's sources)."""
    return int(source[7:])


def first_policy(line: PayLine) -> int:
    """The least policy id of a per-policy line (its first source, ``policy:17`` → 17, and
    its pay basis cell's least)."""
    if not line.cell:
        return policy_number(line.sources[0])
    if line.sources:
        return min(line.first_id, policy_number(line.sources[0]))
    return line.first_id


def _merged(members: list[PayLine]) -> PayLine:
    first = members[0]
    if len(members) == 1:
        return first
    cells = [m for m in members if m.cell]
    assert len(cells) <= 1, "two pay basis cells of one person in one rate cell"
    pairs: list[tuple[str, tuple[Decimal, Decimal]]] = []
    for m in members:
        if not m.cell:
            pairs.extend(zip(m.sources, m.parts or ((m.amount, m.basis),), strict=True))
    if cells or any(m.parts for m in members):
        pairs.sort(key=lambda pair: policy_number(pair[0]))
    cell = cells[0] if cells else None
    return PayLine(
        person_id=first.person_id,
        kind=first.kind,
        rule_id=first.rule_id,
        rule_version=first.rule_version,
        amount=sum((m.amount for m in members), ZERO),
        basis=sum((m.basis for m in members), ZERO),
        rate=first.rate,
        sources=tuple(source for source, _part in pairs),
        modifiers=first.modifiers,
        note=first.note,
        parts=tuple(part for _source, part in pairs),
        cell=cell.cell if cell else "",
        cell_count=cell.cell_count if cell else 0,
        first_id=cell.first_id if cell else 0,
    )


class PayInputInvalid(ValidationFailed):
    """The input lacks what the rules need. ``problems`` lists (record, reason) pairs."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        fields: dict[str, list[str]] = {}
        for record, reason in problems:
            fields.setdefault(record, []).append(reason)
        super().__init__(
            _("The pay cannot be computed: %(count)d problem(s) in the data")
            % {"count": len(problems)},
            fields=fields,
        )


def _chain_cycles(parent: dict[int, int | None], *, name: str) -> list[tuple[str, str]]:
    """Report each cycle in a parent chain once (``person:10`` → … → ``person:10``)."""
    problems: list[tuple[str, str]] = []
    done: set[int] = set()
    for start in sorted(parent):
        path: list[int] = []
        node: int | None = start
        while node is not None and node not in done and node not in path:
            path.append(node)
            node = parent.get(node)
        if node is not None and node in path:
            cycle = [*path[path.index(node) :], node]
            problems.append(
                (
                    f"person:{min(cycle)}",
                    _("cycle in the %(name)s chain: %(chain)s")
                    % {"name": name, "chain": " → ".join(f"person:{p}" for p in cycle)},
                )
            )
        done.update(path)
    return problems


def rate_for_cell(
    rules: RuleBook, person: PersonIn, category: str | None, payment_mode: str, term_years: int
) -> tuple[Decimal, str, tuple[str, ...]] | str:
    """(rate, rule id, modifiers) of a policy of this category, payment mode and term sold by
    ``person`` — the rule set's rate for their level, × the trainee factor and the extension's
    commission factor where they apply — or why there is none."""
    if not category:
        return _("has no product category")
    found = rules.commission_rate(
        category=category,
        payment_mode=payment_mode,
        term_years=term_years,
        level=person.level,
    )
    if found is None:
        return _(
            "no commission rate for category %(c)s, payment mode %(m)s, "
            "term %(t)s years, level %(l)s"
        ) % {"c": category, "m": payment_mode, "t": term_years, "l": person.level}
    rate, rule_id = found
    modifiers: tuple[str, ...] = ()
    trainee = rules.section("trainee_factor")
    if trainee is not None and person.level in trainee["levels"]:
        rate = rate * trainee["factor"]
        modifiers = (trainee["id"],)
    extension = rules.section("extension_pay")
    if extension is not None and person.extension_since is not None:
        rate = rate * extension["commission_factor"]
        modifiers = (*modifiers, f"{extension['id']}.commission_factor")
    return rate, rule_id, modifiers


class _Run:
    def __init__(
        self,
        rules: RuleBook,
        version: int,
        period: Period,
        people: Iterable[PersonIn],
        policies: Iterable[PolicyIn],
        cells: Sequence[PlainCell] = (),
    ) -> None:
        self.rules = rules
        self.version = version
        self.period = period
        self.people = {p.id: p for p in sorted(people, key=lambda p: p.id)}
        #: lead id → their direct reports' ids, ascending.
        self.reports: dict[int, list[int]] = defaultdict(list)
        for person in self.people.values():
            if person.leader_id is not None:
                self.reports[person.leader_id].append(person.id)
        self.policies = sorted(policies, key=lambda p: p.id)
        self.cells = cells
        self.problems: list[tuple[str, str]] = []
        self.lines: dict[int, dict[str, list[PayLine]]] = defaultdict(lambda: defaultdict(list))
        #: person id → [(policy id, signed FYC, named)] counted by the overrides: a policy's
        #: commission (not named: the member's own lines list it), a plain cell's (no id) and
        #: what a cancellation takes back (named among a group line's sources).
        self.net_fyc: dict[int, list[tuple[int | None, Decimal, bool]]] = defaultdict(list)
        trainee = rules.section("trainee_factor")
        self.trainee_levels = set(trainee["levels"]) if trainee else set()
        self.trainee_factor = (trainee["factor"], trainee["id"]) if trainee else None
        self.extension_pay = rules.section("extension_pay")
        # Notes are stored as messages and values, put into words when read (``notes``).
        self.clearance_names = {
            "receipt": gettext_noop("receipt"),
            "return_visit": gettext_noop("return visit"),
        }
        self._terms = self.withholding_terms()

    def problem(self, record: str, reason: str) -> None:
        self.problems.append((record, reason))

    def add(self, person_id: int, kind: str, rule_id: str, amount: Decimal, **kwargs) -> None:
        self.lines[person_id][kind].append(
            PayLine(
                person_id=person_id,
                kind=kind,
                rule_id=rule_id,
                rule_version=self.version,
                amount=amount,
                **kwargs,
            )
        )

    # --- checks -----------------------------------------------------------------------------

    def check_people(self) -> None:
        for person in self.people.values():
            record = f"person:{person.id}"
            if person.level not in self.rules.levels:
                self.problem(
                    record,
                    _("level %(level)r is not in the rule set's ladder") % {"level": person.level},
                )
            for attr in ("leader_id", "developer_id"):
                other = getattr(person, attr)
                if other is not None and other not in self.people:
                    self.problem(
                        record,
                        _("%(attr)s %(other)s is not among the people of this run")
                        % {"attr": attr, "other": other},
                    )
            if person.developer_id is not None and person.developed_on is None:
                self.problem(record, _("has a developer but no development date"))
        self.problems += _chain_cycles(
            {p.id: p.leader_id for p in self.people.values()}, name=_("leader")
        )
        self.problems += _chain_cycles(
            {p.id: p.developer_id for p in self.people.values()}, name=_("development")
        )

    # --- lines ------------------------------------------------------------------------------

    def base_pay(self) -> None:
        section = self.rules.section("base_pay")
        if section is None:
            return
        for person in self.people.values():
            amount = section["amounts"].get(person.level)
            if amount is None or not person.in_service:
                continue
            ratio = Decimal(1)
            if section["attendance"] == "pro_rata":
                if person.attendance is None:
                    self.problem(
                        f"person:{person.id}",
                        _("no attendance for %(period)s") % {"period": self.period.label},
                    )
                    continue
                attended, required = person.attendance
                if required <= 0 or attended < 0:
                    self.problem(
                        f"person:{person.id}",
                        _("attendance %(a)s of %(r)s days is not usable")
                        % {"a": attended, "r": required},
                    )
                    continue
                ratio = min(Decimal(attended) / Decimal(required), Decimal(1))
            self.add(
                person.id,
                "base_pay",
                section["id"],
                cents(amount * ratio),
                basis=amount,
                rate=ratio,
                sources=(f"person:{person.id}",),
                note=(
                    note(
                        gettext_noop("%(a)s of %(r)s days attended"),
                        a=str(attended),
                        r=str(required),
                    )
                    if section["attendance"] == "pro_rata"
                    else ""
                ),
            )

    def commission_for(self, policy: PolicyIn, person: PersonIn):
        """(amount, rate, rule id, modifiers) for a policy at the person's level, or None
        (the problem reported)."""
        found = self.rate_for_cell(person, policy.category, policy.payment_mode, policy.term_years)
        if type(found) is str:
            self.problem(f"policy:{policy.id}", found)
            return None
        rate, rule_id, modifiers = found
        return cents(policy.fyc * rate), rate, rule_id, modifiers

    def rate_for_cell(
        self, person: PersonIn, category: str | None, payment_mode: str, term_years: int
    ) -> tuple[Decimal, str, tuple[str, ...]] | str:
        return rate_for_cell(self.rules, person, category, payment_mode, term_years)

    def commissions_and_clawbacks(self) -> None:
        clawback = self.rules.section("clawback")
        for policy in self.policies:
            record = f"policy:{policy.id}"
            person = self.people.get(policy.agent_id)
            if person is None:
                self.problem(
                    record,
                    _("its agent person:%(id)s is not among the people of this run")
                    % {"id": policy.agent_id},
                )
                continue
            if person.level not in self.rules.levels:
                continue  # already reported
            if policy.cancelled_on is not None and policy.cancel_kind not in (
                FREE_LOOK,
                SURRENDER,
            ):
                self.problem(record, _("is cancelled but the kind of cancellation is unknown"))
                continue
            credited_now = policy.credited_on in self.period
            cancelled_by_end = (
                policy.cancelled_on is not None and policy.cancelled_on <= self.period.end
            )
            if credited_now and not cancelled_by_end:
                found = self.commission_for(policy, person)
                if found is None:
                    continue
                amount, rate, rule_id, modifiers = found
                self.add(
                    person.id,
                    "commission",
                    rule_id,
                    amount,
                    basis=policy.fyc,
                    rate=rate,
                    sources=(record,),
                    modifiers=modifiers,
                )
                self.net_fyc[person.id].append((policy.id, policy.fyc, False))
            elif (
                policy.credited_on < self.period.start
                and policy.cancelled_on in self.period
                and clawback is not None
            ):
                self.clawback(policy, person, clawback)

    def cell_lines(self) -> None:
        """The lines of the plain cells (``PlainCell``): a commission cell's line, its FYC
        counted by the overrides; a withheld cell's line with the note ``late_note`` gives
        the policies it stands for."""
        section, until, rule_id, _deadline = self._terms
        notes: dict[PolicyClearance, str] = {}  # a few distinct ones: each worded once
        for cell in self.cells:
            common = {
                "person_id": cell.agent_id,
                "kind": cell.kind,
                "rule_version": self.version,
                "amount": cell.amount,
                "basis": cell.basis,
                "sources": (),
                "cell": cell.cell,
                "cell_count": cell.count,
                "first_id": cell.first_id,
            }
            if cell.kind == "commission":
                line = PayLine(
                    rule_id=cell.rule_id, rate=cell.rate, modifiers=cell.modifiers, **common
                )
                self.net_fyc[cell.agent_id].append((None, cell.basis, False))
            else:
                assert section is not None and cell.clearance is not None
                clearance = cell.clearance
                text = notes.get(clearance)
                if text is None:
                    text = notes[clearance] = self.late_note(
                        clearance, self.cleared_on(clearance, until)
                    )
                line = PayLine(rule_id=rule_id, rate=section["share"], note=text, **common)
            self.lines[cell.agent_id][cell.kind].append(line)

    def clawback(self, policy: PolicyIn, person: PersonIn, section: dict) -> None:
        record = f"policy:{policy.id}"
        assert policy.cancelled_on is not None
        if policy.cancel_kind == FREE_LOOK:
            share = section["free_look"]["share"]
            overrides = section["free_look"]["overrides"]
            text = note(
                gettext_noop("free-look cancellation on %(day)s"),
                day=policy.cancelled_on.isoformat(),
            )
        else:
            early = section.get("early_surrender")
            if early is None:
                return
            months = months_between(policy.credited_on, policy.cancelled_on)
            share = tier_rate(bands=early["bands"], value=Decimal(months))
            overrides = early["overrides"]
            text = note(
                gettext_noop("surrender on %(day)s after %(m)d month(s) in force"),
                day=policy.cancelled_on.isoformat(),
                m=months,
            )
        if share == ZERO:
            return
        modifiers: tuple[str, ...] = ()
        if policy.paid_commission is not None:
            original = policy.paid_commission
        else:
            found = self.commission_for(policy, person)
            if found is None:
                return
            original, _rate, rule_id, extra = found
            modifiers = (rule_id, *extra)
            text = joined(
                text, note(gettext_noop("commission recomputed at level %(l)s"), l=person.level)
            )
        self.add(
            person.id,
            "clawback",
            section["id"],
            -cents(original * share),
            basis=original,
            rate=share,
            sources=(record,),
            modifiers=modifiers,
            note=text,
        )
        if overrides:
            self.net_fyc[person.id].append((policy.id, -(policy.fyc * share), True))

    def group(self, lead_id: int, *, include_own: bool) -> tuple[list[int], list[tuple]]:
        """The members (the lead first when included, then direct reports by id) and their
        FYC contributions."""
        members = list(self.reports.get(lead_id, []))
        if include_own:
            members = [lead_id, *members]
        return members, [c for m in members for c in self.net_fyc.get(m, [])]

    @staticmethod
    def _sources(members: list[int], contributions: list[tuple]) -> tuple[str, ...]:
        """The members, then the policies whose cancellation took FYC off (each member's
        policies are on their own commission lines of the run)."""
        ids = {policy_id for policy_id, _fyc, named in contributions if named}
        return (
            *(f"person:{m}" for m in members),
            *(f"policy:{pid}" for pid in sorted(ids)),
        )

    def management_allowance(self) -> None:
        section = self.rules.section("management_allowance")
        if section is None:
            return
        for person in self.people.values():
            rate = section["rates"].get(person.level)
            if rate is None or not self.reports.get(person.id):
                continue
            members, contributions = self.group(person.id, include_own=section["include_own"])
            basis = sum((c[1] for c in contributions), ZERO)
            amount = cents(basis * rate)
            if amount == ZERO:
                continue
            self.add(
                person.id,
                "management_allowance",
                section["id"],
                amount,
                basis=basis,
                rate=rate,
                sources=self._sources(members, contributions),
            )

    def development_bonus(self) -> None:
        section = self.rules.section("development_bonus")
        if section is None:
            return
        eligible = set(section["eligible_levels"])
        generations = section["generations"]
        for developed in self.people.values():
            if developed.developer_id is None or developed.developed_on is None:
                continue
            members, contributions = self.group(developed.id, include_own=True)
            basis = sum((c[1] for c in contributions), ZERO)
            if basis == ZERO:
                continue
            age = months_between(developed.developed_on, self.period.start)
            ancestor_id: int | None = developed.id
            for row in generations:
                ancestor_id = self.people[ancestor_id].developer_id if ancestor_id else None
                if ancestor_id is None:
                    break
                ancestor = self.people[ancestor_id]
                if ancestor.level not in eligible:
                    continue
                rate = row["rate"]
                text = note(
                    gettext_noop("generation %(g)d, group of person:%(p)d developed on %(day)s"),
                    g=row["generation"],
                    p=developed.id,
                    day=developed.developed_on.isoformat(),
                )
                if "later_rate" in row and age >= row["first_months"]:
                    rate = row["later_rate"]
                    text = joined(
                        text, note(gettext_noop("after %(m)d months"), m=row["first_months"])
                    )
                self.add(
                    ancestor.id,
                    "development_bonus",
                    section["id"],
                    cents(basis * rate),
                    basis=basis,
                    rate=rate,
                    sources=self._sources(members, contributions),
                    note=text,
                )

    def performance_bonus(self) -> None:
        section = self.rules.section("performance_bonus")
        if section is None:
            return
        for person in self.people.values():
            contributions = self.net_fyc.get(person.id, [])
            basis = sum((c[1] for c in contributions), ZERO)
            if basis <= ZERO:
                continue
            amount = cents(
                tier_apply(method=section["method"], bands=section["bands"], value=basis)
            )
            if amount == ZERO:
                continue
            self.add(
                person.id,
                "performance_bonus",
                section["id"],
                amount,
                basis=basis,
                rate=None,
                sources=self._sources([person.id], contributions),
                note=note(_TIER_METHODS.get(section["method"], section["method"])),
            )

    # --- new-hire allowance, withholding, renewal commission, recruiting awards -------------
    # These read ``PersonIn.extra`` and ``PolicyIn.clearance``; a record without them (a
    # caller that reads only people and policies) is not assessed for these lines.

    def later_lines(self) -> None:
        self.new_hire_allowance()
        self.withholding()
        self.renewal_commission()
        self.recruiting_awards()

    def service_month(self, hire_date: dt.date) -> int:
        """The month of service this period is for someone hired on ``hire_date``: 1 for the
        period that holds the hire date, 2 for the next one…"""
        start_day = self.rules.document["period"].get("start_day") or 1
        year, month = hire_date.year, hire_date.month
        if start_day > 1 and hire_date.day >= start_day:
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        label_year, label_month = (int(part) for part in self.period.label.split("-"))
        return (label_year - year) * 12 + label_month - month + 1

    def new_hire_allowance(self) -> None:
        section = self.rules.section("new_hire_allowance")
        if section is None:
            return
        levels = set(section["levels"])
        for person in self.people.values():
            if person.extra is None or not person.in_service or person.level not in levels:
                continue
            month = self.service_month(person.hire_date)
            row = next(
                (r for r in section["months"] if r["first_month"] <= month <= r["last_month"]),
                None,
            )
            if row is None:
                continue
            own = self.lines.get(person.id, {}).get("commission", [])
            fyc = sum((line.basis for line in own), ZERO)
            # A rate cell holds several policies: count policies, not lines. The line names
            # the person; their commission lines list the policies (ADR 0017, as the group
            # lines name members, ADR 0016).
            cases = sum(len(line.sources) + line.cell_count for line in own)
            min_fyc = row.get("min_fyc", ZERO)
            min_cases = row.get("min_cases", 0)
            if fyc < min_fyc or cases < min_cases:
                continue
            self.add(
                person.id,
                "new_hire_allowance",
                section["id"],
                cents(row["amount"]),
                basis=fyc,
                rate=None,
                sources=(f"person:{person.id}",),
                note=note(
                    gettext_noop(
                        "month %(m)d of service; FYC %(fyc)s (at least %(min)s), "
                        "%(n)d case(s) (at least %(c)d)"
                    ),
                    m=month,
                    # Amounts in a note read as on the pay pages: thousands grouped.
                    fyc=money(cents(fyc)),
                    min=money(min_fyc),
                    n=cases,
                    c=min_cases,
                ),
            )

    @staticmethod
    def cleared_on(clearance: PolicyClearance, until: Iterable[str]) -> dt.date | None:
        """The day every condition in ``until`` was done (``None``: one is still open)."""
        days = [dt.date.min]
        if "receipt" in until:
            if clearance.receipt_on is None:
                return None
            days.append(clearance.receipt_on)
        if "return_visit" in until and clearance.return_visit_required:
            if clearance.return_visit_on is None:
                return None
            days.append(clearance.return_visit_on)
        return max(days)

    def withholding_terms(self) -> tuple[dict | None, tuple[str, ...], str, dt.date]:
        """The withholding section, what must be done (``until``), its rule id and the
        deadline (``withholding_deadline``)."""
        section = self.rules.section("withholding")
        until = tuple(section["until"]) if section else ()
        rule_id = section["id"] if section else "withholding"
        return section, until, rule_id, withholding_deadline(self.rules, self.period)

    def late_note(self, clearance: PolicyClearance, cleared: dt.date | None) -> str:
        """Why the commission of a policy so cleared is withheld ("" when it is not): what it
        waits for, or that it was done after the deadline (without the day: the policies
        done late are one line per person, ADR 0018; each policy has its own day)."""
        _section, until, _rule_id, deadline = self._terms
        if cleared is not None and cleared <= deadline:
            return ""
        waiting = [
            self.clearance_names[c]
            for c in until
            if (c == "receipt" and clearance.receipt_on is None)
            or (
                c == "return_visit"
                and clearance.return_visit_required
                and clearance.return_visit_on is None
            )
        ]
        if waiting:
            return note(gettext_noop("waiting for: %(what)s"), what=waiting)
        return note(
            gettext_noop("done after the deadline %(deadline)s"), deadline=deadline.isoformat()
        )

    def withholding(self) -> None:
        """Withhold ``share`` of the commission of a policy credited in the period whose
        receipt and return visit are not both done by the deadline (the period's end, or day
        ``receipt_deadline_day`` of the month after it); release what earlier approved runs
        withheld once both are done, or when the policy is cancelled (its clawback then takes
        back the whole commission)."""
        section, until, rule_id, _deadline = self._terms
        # The commission lines of single policies (a rate cell of plain policies had its
        # withholding assessed with its commission).
        paid = {
            line.sources[0]: line
            for kinds in self.lines.values()
            for line in kinds.get("commission", [])
            if len(line.sources) == 1
        }
        late_note = self.late_note
        for policy in self.policies:
            clearance = policy.clearance
            if clearance is None:
                continue
            record = f"policy:{policy.id}"
            cleared = self.cleared_on(clearance, until)
            line = paid.get(record)
            late = late_note(clearance, cleared) if section else ""
            if section and line is not None and line.amount > ZERO and late:
                self.add(
                    line.person_id,
                    "withheld",
                    rule_id,
                    -cents(line.amount * section["share"]),
                    basis=line.amount,
                    rate=section["share"],
                    sources=(record,),
                    note=late,
                )
            if clearance.withheld_before > ZERO and policy.credited_on < self.period.start:
                cancelled_on = policy.cancelled_on
                if cancelled_on is not None and cancelled_on <= self.period.end:
                    text = note(
                        gettext_noop("released on the cancellation on %(day)s"),
                        day=cancelled_on.isoformat(),
                    )
                elif cleared is not None and cleared <= self.period.end:
                    text = (
                        note(
                            gettext_noop("receipt and return visit done on %(day)s"),
                            day=cleared.isoformat(),
                        )
                        if cleared != dt.date.min
                        else note(gettext_noop("nothing is withheld under this rule set"))
                    )
                else:
                    continue
                self.add(
                    policy.agent_id,
                    "released",
                    rule_id,
                    cents(clearance.withheld_before),
                    basis=clearance.withheld_before,
                    rate=None,
                    sources=(record,),
                    note=text,
                )

    def renewal_commission(self) -> None:
        section = self.rules.section("renewal_commission")
        if section is None:
            return
        table = section.get("persistency_factor")
        for person in self.people.values():
            extra = person.extra
            if extra is None or not extra.renewals or not person.in_service:
                continue
            factor, modifiers, factor_note = Decimal(1), (), ""
            if table is not None:
                modifiers = (f"{section['id']}.persistency_factor",)
                if extra.persistency13 is None:
                    factor_note = note(gettext_noop("no 13-month persistency to measure: factor 1"))
                else:
                    factor = tier_rate(bands=table["bands"], value=extra.persistency13)
                    factor_note = note(
                        gettext_noop("13-month persistency %(p)s%%: factor %(f)s"),
                        p=str((extra.persistency13 * 100).quantize(CENT)),
                        f=str(factor),
                    )
            extension = self.extension_pay is not None and person.extension_since is not None
            if extension:
                factor = factor * self.extension_pay["renewal_factor"]
                modifiers = (*modifiers, f"{self.extension_pay['id']}.renewal_factor")
                extension_note = note(
                    gettext_noop("assessment extension since %(day)s: factor %(f)s"),
                    day=person.extension_since.isoformat(),
                    f=str(self.extension_pay["renewal_factor"]),
                )
                factor_note = joined(factor_note, extension_note)
            for renewal in sorted(extra.renewals, key=lambda r: r.premium_id):
                if renewal.paid_on not in self.period:
                    self.problem(
                        f"premium:{renewal.premium_id}",
                        _("paid on %(day)s, outside the period %(period)s")
                        % {"day": renewal.paid_on.isoformat(), "period": self.period.label},
                    )
                    continue
                row = next(
                    (
                        r
                        for r in section["rates"]
                        if r["first_year"] <= renewal.policy_year <= r["last_year"]
                    ),
                    None,
                )
                if row is None:
                    continue
                rate = row["rate"] * factor
                amount = cents(renewal.amount * rate)
                if amount == ZERO:
                    continue
                year_note = note(
                    gettext_noop("policy year %(y)d at %(r)s"),
                    y=renewal.policy_year,
                    r=str(row["rate"]),
                )
                self.add(
                    person.id,
                    "renewal_commission",
                    section["id"],
                    amount,
                    basis=renewal.amount,
                    rate=rate,
                    sources=(f"policy:{renewal.policy_id}", f"premium:{renewal.premium_id}"),
                    modifiers=modifiers,
                    note=joined(year_note, factor_note),
                )

    def recruiting_awards(self) -> None:
        awards = self.rules.section("recruiting_awards")
        if not awards:
            return
        for recruit in self.people.values():
            extra = recruit.extra
            if extra is None or extra.recruiter_id is None:
                continue
            recruiter = self.people.get(extra.recruiter_id)
            if recruiter is None:
                self.problem(
                    f"person:{recruit.id}",
                    _("recruiter person:%(id)s is not among the people of this run")
                    % {"id": extra.recruiter_id},
                )
                continue
            if not recruiter.in_service:
                continue
            for award in awards:
                confirmed = award["event"] == "recruit_confirmed"
                day = extra.confirmed_on if confirmed else extra.new_talent_on
                if day not in self.period:
                    continue
                assert day is not None
                text = note(
                    gettext_noop("person:%(p)d confirmed on %(day)s")
                    if confirmed
                    else gettext_noop("person:%(p)d won the new-talent award on %(day)s"),
                    p=recruit.id,
                    day=day.isoformat(),
                )
                basis = award["amount"]
                minimum = award.get("min_recruit_fyc")
                if minimum is not None:
                    if extra.fyc_to_date is None:
                        self.problem(
                            f"person:{recruit.id}",
                            _("no FYC to date for the recruiting award %(id)s")
                            % {"id": award["id"]},
                        )
                        continue
                    if extra.fyc_to_date < minimum:
                        continue
                    basis = extra.fyc_to_date
                    text = joined(
                        text,
                        note(
                            gettext_noop("FYC to date %(fyc)s (at least %(min)s)"),
                            fyc=money(cents(extra.fyc_to_date)),
                            min=money(minimum),
                        ),
                    )
                self.add(
                    recruiter.id,
                    "recruiting_award",
                    award["id"],
                    cents(award["amount"]),
                    basis=basis,
                    rate=None,
                    sources=(f"person:{recruit.id}",),
                    note=text,
                )

    def run(self) -> list[PayLine]:
        self.check_people()
        if self.problems:
            raise PayInputInvalid(self.problems)
        self.base_pay()
        self.commissions_and_clawbacks()
        self.cell_lines()
        self.later_lines()
        if self.problems:
            raise PayInputInvalid(self.problems)
        self.management_allowance()
        self.development_bonus()
        self.performance_bonus()
        out: list[PayLine] = []
        for person_id in sorted(self.lines):
            lines = self.lines[person_id]
            for kind in KINDS:
                if kind in CELL_KINDS and kind in lines:
                    # Single policies and rate cells of plain ones, by their first policy.
                    lines[kind].sort(key=first_policy)
                out.extend(lines.get(kind, []))
        return out


def withholding_deadline(rules: RuleBook, period: Period) -> dt.date:
    """The day by which a policy credited in the period must be cleared for its commission
    not to be withheld: the period's end, or day ``receipt_deadline_day`` of the month after
    it when the withholding section sets one."""
    section = rules.section("withholding")
    if not (section and section.get("receipt_deadline_day")):
        return period.end
    year, month = period.end.year, period.end.month
    year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return dt.date(year, month, section["receipt_deadline_day"])


def compute_pay(
    rules: RuleBook,
    *,
    version: int,
    period: Period,
    people: Iterable[PersonIn],
    policies: Iterable[PolicyIn],
    cells: Sequence[PlainCell] = (),
) -> list[PayLine]:
    """Every person's pay lines for the period, by person id, then kind (``KINDS``), then
    source. ``cells``: plain policies summed per rate cell by the database (``PlainCell``).
    Raises ``PayInputInvalid`` listing every missing or inconsistent input."""
    return _Run(rules, version, period, people, policies, cells).run()


def payslip_totals(lines: Iterable[PayLine]) -> dict[int, Decimal]:
    """Each person's total: the sum of their (already rounded) lines."""
    totals: dict[int, Decimal] = {}
    for line in lines:
        totals[line.person_id] = totals.get(line.person_id, ZERO) + line.amount
    return dict(sorted(totals.items()))
