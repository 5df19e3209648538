"""The pay engine's input records for one period, read from the database (read-only).

- **People**: everyone employed during the period (hired by its end, not left before its
  start) in a sales team, or with a level in any team. ``leader_id`` is ``Person.leader``.
  A person of a sales team without a level is a problem, not an unpaid person.
  ``developer_id``/``developed_on`` are ``Person.developed_by``/``developed_on`` (the
  development chain, 育成, recorded when an approved assessment promotes a person into the
  management series); a developer outside the run, like a leader, is left out.
  ``extension_since``: the effective date of the person's latest approved assessment outcome
  when it is ``extend`` and its extension (one assessment period of their level) covers the
  pay period (the rule set's ``extension_pay`` then discounts their commissions).
- **Departed agents** (left before the period) whose policies are cancelled in it join the
  run with ``in_service=False``: their clawback is computed, no base pay.
- **Attendance**: ``compensation.Attendance`` (days attended / required per person and
  period, entered by HR). The organisation keeps absences (leave), not attendance; a person
  without a row gets ``attendance=None`` and the engine reports it when the rule set pays
  base pay pro rata — never a silent zero.
- **Policies**: those issued in the period (credited on their issue day, local time) and
  those cancelled in it (free look is the only cancellation the policies app records). FYC is
  ``rules_format.policy_fyc``: annualised premium × the product's first-year commission rate,
  × the rule set's standardisation factor (``standard_premium``) of the policy term when the
  product's basis is the standardised premium (标保). A standard-basis policy whose term no
  band covers, and a product without a first-year commission rate, are problems. The
  commission paid for a policy in an approved earlier run is passed on for its clawback.

``pay_inputs`` lists what is missing in ``problems``; the pay run raises them, with the
engine's, as one ``PayInputInvalid`` (a ``ValidationFailed``).

With ``plain=True`` (the pay run and what-if) the period's plain policies (credited in it, not
cancelled by its end, paid at a rate of the rule set, nothing withheld before: ``paycells``)
are summed per rate cell by the database (``engine.PlainCell``, in ``PayInputs.cells``); every
other policy is a ``PolicyIn`` as before. Without it every policy is a ``PolicyIn`` (the
checks and tests that read the records).
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import hashlib
import operator
from collections.abc import Callable
from dataclasses import astuple, dataclass, field, replace
from decimal import Decimal

from django.db.models import BooleanField, ExpressionWrapper, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.compensation.choices import PayRunStatus
from telesales.compensation.engine import (
    FREE_LOOK,
    Period,
    PersonExtra,
    PersonIn,
    PlainCell,
    PolicyClearance,
    PolicyIn,
    RenewalIn,
)
from telesales.compensation.models import (
    AssessmentOutcome,
    AssessmentOutcomeKind,
    AssessmentRunStatus,
    Attendance,
    HRDecision,
    PolicyPay,
)
from telesales.compensation.paycells import plain_cells
from telesales.compensation.rules_format import RuleBook, policy_fyc
from telesales.core.models import AuditEntry
from telesales.operations.choices import PremiumStatus, VisitOutcome, VisitStatus
from telesales.operations.models import Delivery, PremiumDue, ReturnVisit
from telesales.operations.rules import return_visit_required
from telesales.operations.rules import ruleset_in_force as operations_rules_in_force
from telesales.operations.selectors import RATE_PLACES, persistency_contributions
from telesales.org.choices import PersonStatus, TeamKind
from telesales.org.models import Person
from telesales.policies.choices import PolicyStatus
from telesales.policies.models import Policy


@dataclass(frozen=True)
class PayInputs:
    people: list[PersonIn]
    policies: list[PolicyIn]
    #: (record, reason) of what could not be turned into an input.
    problems: list[tuple[str, str]]
    #: The plain policies summed per cell by the database (``pay_inputs(plain=True)``).
    cells: list[PlainCell] = field(default_factory=list)
    #: The pay basis refresh the cells were summed from (``PayRun.basis_seq``).
    basis_seq: int | None = None
    #: A SHA-256 of what the plain cells were made of (``paycells.PlainCells.digest``).
    plain_digest: str = ""

    def fingerprint(self, *, extra: object = None) -> str:
        """A SHA-256 of every input record (sorted), so that two runs can tell whether their
        inputs were the same. The records' ``repr``: their values are numbers, text, days,
        decimals and tuples of them, each written the same way every time (quicker than JSON
        calling ``str`` on each decimal and day; fingerprints taken before differ once)."""
        payload = (
            [_record_tuple(p) for p in sorted(self.people, key=operator.attrgetter("id"))],
            [_record_tuple(p) for p in sorted(self.policies, key=operator.attrgetter("id"))],
            extra,
        )
        digest = hashlib.sha256(repr(payload).encode("utf-8"))
        digest.update(self.plain_digest.encode("ascii"))
        return digest.hexdigest()


#: Types ``_record_tuple`` copies as they are (immutable: ``astuple`` would return them too).
_PLAIN = frozenset((int, str, bool, Decimal, dt.date, dt.datetime, type(None)))
#: A record type → a getter of its field values (a tuple), in field order.
_FIELD_GETTERS: dict[type, Callable[[object], tuple]] = {}


class _NotPlain(Exception):
    pass


def _plain(value):
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is tuple:
        return tuple(_plain(v) for v in value)
    if hasattr(kind, "__dataclass_fields__"):
        return _plain_record(value)
    raise _NotPlain


def _plain_record(record) -> tuple:
    kind = type(record)
    getter = _FIELD_GETTERS.get(kind)
    if getter is None:
        names = [f.name for f in dataclasses.fields(kind)]
        if len(names) == 1:
            getter = (lambda name: lambda r: (getattr(r, name),))(names[0])
        else:
            getter = operator.attrgetter(*names)  # a tuple of the values
        _FIELD_GETTERS[kind] = getter
    values = getter(record)
    for value in values:
        if type(value) not in _PLAIN:
            return tuple(_plain(v) for v in values)
    return values


def _record_tuple(record) -> tuple:
    """``astuple(record)`` without its deep copies: the same tuple (so the same fingerprint)
    for records of immutable values, tuples and nested records; anything else (a list, a
    dict) goes through ``astuple`` itself."""
    try:
        return _plain_record(record)
    except _NotPlain:
        return astuple(record)


def _day_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes [start of the first day, start of the day after the last)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def pay_population(period: Period):
    """The people a pay run of ``period`` pays (a ``Person`` queryset): employed during the
    period (hired by its end, not left before its start) in a sales team, or with a level in
    any team. The departed agents it adds for their clawbacks are not among them (no base
    pay, no attendance). The attendance page lists the same people."""
    return (
        Person.objects.filter(hire_date__lte=period.end)
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=period.start))
        .filter(Q(team__kind=TeamKind.SALES) | Q(level__isnull=False))
    )


def _people(period: Period, problems: list[tuple[str, str]]) -> list[PersonIn]:
    rows = (
        pay_population(period)
        .values_list(
            "id", "level__code", "hire_date", "leader_id", "developed_by_id", "developed_on"
        )
        .order_by("id")
    )
    attendance = {
        person_id: (attended, required)
        for person_id, attended, required in Attendance.objects.filter(
            period_start=period.start
        ).values_list("person_id", "days_attended", "days_required")
    }
    people: list[PersonIn] = []
    for person_id, level, hire_date, leader_id, developer_id, developed_on in rows:
        if not level:
            problems.append((f"person:{person_id}", _("has no level")))
            continue
        people.append(
            PersonIn(
                id=person_id,
                level=level,
                hire_date=hire_date,
                leader_id=leader_id,
                developer_id=developer_id,
                developed_on=developed_on if developer_id else None,
                attendance=attendance.get(person_id),
            )
        )
    # A leader outside the run (left, back office) is not a leader for this period's pay;
    # neither is a developer.
    ids = {p.id for p in people}
    people = [
        p if p.leader_id is None or p.leader_id in ids else _without_leader(p) for p in people
    ]
    return [
        p
        if p.developer_id is None or p.developer_id in ids
        else replace(p, developer_id=None, developed_on=None)
        for p in people
    ]


def _without_leader(person: PersonIn) -> PersonIn:
    return PersonIn(
        id=person.id,
        level=person.level,
        hire_date=person.hire_date,
        developer_id=person.developer_id,
        developed_on=person.developed_on,
        attendance=person.attendance,
    )


def _paid_commission(policy_ids: list[int], *, before: dt.date) -> dict[int, Decimal]:
    """What approved runs of earlier periods paid as commission for these policies (their
    per-policy ledger, ``PolicyPay``)."""
    paid: dict[int, Decimal] = {}
    for chunk in _chunks(sorted(policy_ids)):
        rows = (
            PolicyPay.objects.filter(
                policy_id__in=chunk,
                commission__gt=0,
                run__status=PayRunStatus.APPROVED,
                run__period_end__lt=before,
            )
            .values("policy_id")
            .annotate(paid=Sum("commission"))
            .order_by()
        )
        paid.update((row["policy_id"], row["paid"]) for row in rows)
    return paid


#: The policy columns both readers take, in the order ``_policy_in`` unpacks them.
_POLICY_COLUMNS = (
    "id",
    "agent_id",
    "product__category",
    "product__code",
    "product__commission_basis",
    "product__first_year_commission_rate",
    "term_years",
    "payment_mode",
    "annualised_premium",
    "issued_on",
    "status",
    "cancelled_on",
)


def _policy_rows(queryset):
    """The policies of ``queryset`` as ``_POLICY_COLUMNS`` rows, the local days of issue and
    cancellation computed by the database: read as aware datetimes, each value would pass
    through the driver's time zone loader in Python (0.3 s for 32,000 policies)."""
    tz = timezone.get_current_timezone()
    return queryset.annotate(
        issued_on=TruncDate("issued_at", tzinfo=tz),
        cancelled_on=TruncDate("cancelled_at", tzinfo=tz),
    ).values_list(*_POLICY_COLUMNS)


def _policy_in(
    row: tuple, rules: RuleBook | None, paid: dict[int, Decimal], *, lenient: bool = False
) -> tuple[PolicyIn | None, str]:
    """One ``_POLICY_COLUMNS`` row as the engine's record, or (None, why it cannot be paid).
    ``lenient``: a policy whose FYC cannot be valued comes in with FYC 0 instead."""
    (
        policy_id,
        agent_id,
        category,
        product,
        basis,
        fyc_rate,
        term,
        mode,
        premium,
        issued_on,
        status,
        cancelled_on,
    ) = row
    fyc = (
        policy_fyc(
            rules,
            basis=basis,
            premium=premium,
            fyc_rate=fyc_rate,
            category=category or None,
            term_years=term,
        )
        if fyc_rate
        else None
    )
    if fyc is None and lenient:
        fyc = Decimal("0")
    elif not fyc_rate:
        return None, _("product %(p)s has no first-year commission rate") % {"p": product}
    elif fyc is None:
        return None, _(
            "product %(p)s computes FYC on the standardised premium and the rule "
            "set has no standardisation factor for category %(c)s, term %(t)s years"
        ) % {"p": product, "c": category or "-", "t": term}
    cancelled = status == PolicyStatus.CANCELLED and cancelled_on is not None
    return (
        PolicyIn(
            id=policy_id,
            agent_id=agent_id,
            category=category or None,
            term_years=term,
            payment_mode=mode,
            fyc=fyc,
            credited_on=issued_on,
            cancelled_on=cancelled_on if cancelled else None,
            cancel_kind=FREE_LOOK if cancelled else "",
            paid_commission=paid.get(policy_id),
        ),
        "",
    )


def _day(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def _in_period_not_cancelled(period: Period):
    """The policies credited in the period and not cancelled by its end: those that may be
    plain (``paycells``)."""
    start, end = _day_bounds(period)
    return Policy.objects.filter(issued_at__gte=start, issued_at__lt=end).exclude(
        status=PolicyStatus.CANCELLED, cancelled_at__lt=end
    )


def _policies(
    period: Period,
    problems: list[tuple[str, str]],
    rules: RuleBook | None,
    rest: list[int] | None = None,
) -> list[PolicyIn]:
    """The period's policies as ``PolicyIn``; with ``rest`` (the plain cells were read), only
    those cancelled by the period's end and ``rest``, the policies the cells turned down."""
    start, end = _day_bounds(period)
    selected = Policy.objects.filter(issued_at__isnull=False).filter(
        Q(issued_at__gte=start, issued_at__lt=end)
        | Q(status=PolicyStatus.CANCELLED, cancelled_at__gte=start, cancelled_at__lt=end)
    )
    if rest is None:
        rows = list(_policy_rows(selected).order_by("id"))
    else:
        # Cancelled by the period's end: never plain. The rest of those issued in it: plain
        # unless the cells turned them down.
        cancelled = Q(status=PolicyStatus.CANCELLED, cancelled_at__lt=end)
        rows = list(_policy_rows(selected.filter(cancelled)))
        for chunk in _chunks(rest):
            rows += _policy_rows(Policy.objects.filter(pk__in=chunk))
        rows.sort(key=operator.itemgetter(0))
    cancelled_earlier = [
        r[0] for r in rows if r[10] == PolicyStatus.CANCELLED and r[9] < period.start
    ]
    paid = _paid_commission(cancelled_earlier, before=period.start) if cancelled_earlier else {}
    policies: list[PolicyIn] = []
    for row in rows:
        policy, problem = _policy_in(row, rules, paid)
        if policy is None:
            problems.append((f"policy:{row[0]}", problem))
        else:
            policies.append(policy)
    return policies


def _departed(agent_ids: set[int], in_run: set[int], problems) -> list[PersonIn]:
    """Agents who left before the period whose policies are cancelled in it: in the run for
    their clawbacks only (``in_service=False``)."""
    people = []
    rows = (
        Person.objects.filter(pk__in=agent_ids)
        .values_list("id", "level__code", "hire_date", "leader_id")
        .order_by("id")
    )
    for person_id, level, hire_date, leader_id in rows:
        if not level:
            problems.append((f"person:{person_id}", _("has no level")))
            continue
        people.append(
            PersonIn(
                id=person_id,
                level=level,
                hire_date=hire_date,
                leader_id=leader_id if leader_id in in_run else None,
                in_service=False,
            )
        )
    return people


def _rules_in_force(period: Period) -> RuleBook | None:
    """The rule book of the approved rule set in force on the period's last day (else its
    first), as the pay run picks it."""
    from telesales.compensation.rulesets import ruleset_rulebook
    from telesales.compensation.selectors import ruleset_in_force

    ruleset = ruleset_in_force(on=period.end) or ruleset_in_force(on=period.start)
    return ruleset_rulebook(ruleset) if ruleset is not None else None


def pay_inputs(
    period: Period, rules: RuleBook | None = None, *, plain: bool = False, basis: bool = False
) -> PayInputs:
    """The engine's records for a period, with the ``problems`` of the records the database
    cannot turn into an input (the caller raises them with the engine's own). ``rules``
    values standard-basis policies and dates extensions (default: the rule set in force).
    ``plain``: the plain policies in ``PayInputs.plain`` (see the module's docstring);
    ``basis``: summed from the period's pay basis (ADR 0017: the pay run; not a what-if's
    draft rules, which would make the basis compute everything again)."""
    if rules is None:
        rules = _rules_in_force(period)
    problems: list[tuple[str, str]] = []
    people, outstanding, extensions = _cell_inputs(period, rules, problems)
    cells = (
        _period_cells(period, rules, people, outstanding, extensions, basis=basis)
        if plain
        else None
    )
    policies = _policies(period, problems, rules, cells.rest if cells is not None else None)
    in_run = {p.id for p in people}
    reported = {int(r.split(":", 1)[1]) for r, _reason in problems if r.startswith("person:")}
    missing = {p.agent_id for p in policies} - in_run - reported
    if missing:
        people += _departed(missing, in_run, problems)
    people, policies = _later_line_inputs(
        period, people, policies, rules, outstanding, by_issue=cells is None, extensions=extensions
    )
    return PayInputs(
        people=people,
        policies=policies,
        problems=problems,
        cells=cells.cells if cells is not None else [],
        plain_digest=cells.digest if cells is not None else "",
        basis_seq=cells.seq if cells is not None else None,
    )


def pay_basis_refresh(period: Period, rules: RuleBook) -> int:
    """Bring the period's pay basis up to date (ADR 0017) without reading the rest of the
    run's inputs: the periodic upkeep, so that the run itself finds little to compute.
    Returns the number of plain cells."""
    people, outstanding, extensions = _cell_inputs(period, rules, [])
    cells = _period_cells(period, rules, people, outstanding, extensions, basis=True)
    return len(cells.cells)


def _cell_inputs(period: Period, rules: RuleBook | None, problems: list):
    """What the plain cells read besides the policies: the people, the commission withheld
    earlier and not released (by policy), the extensions (by person)."""
    people = _people(period, problems)
    outstanding = _withheld_outstanding(before=period.start)
    extensions = _extensions(period, rules, {p.id for p in people if p.in_service})
    return people, outstanding, extensions


def _period_cells(period, rules, people, outstanding, extensions, *, basis: bool):
    """The period's plain cells (``paycells.plain_cells``) of the policies credited in it and
    not cancelled by its end."""
    return plain_cells(
        _in_period_not_cancelled(period),
        rules=rules,
        period=period,
        people=people,
        extended=set(extensions),
        outstanding=set(outstanding),
        basis=basis,
    )


# --- the records of the later lines: new-hire allowance, withholding, renewals, awards -------
#
# - **Confirmation** (转正, the recruiting award): the organisation records no confirmation
#   event of its own; HR confirms a trainee by changing their status from trainee to active,
#   which the audit log keeps (``org.person_update``). The first such change in the period
#   is the confirmation day. **New-talent award** (the referral award): no app records it,
#   so ``new_talent_on`` stays empty and the referral award pays nothing until one does.
# - **Renewal premiums**: ``operations.PremiumDue`` paid in the period for policy year 2 on,
#   to the policy's selling agent while they are in service (a departed agent's renewals
#   are not paid). **Persistency**: the agent's 13-month persistency at the period's month
#   (``operations.selectors.persistency_contributions``).
# - **Withholding**: what ``operations.selectors.policy_withholding_status`` says (read
#   from plain rows, with the days): the receipt date (policy or delivery, the earlier) and
#   the return visit's ``done_at`` (``resolved_at`` for a resolved misunderstanding). What
#   approved runs of earlier periods withheld and did not release is passed on for release.

CHUNK = 5000


def _chunks(ids: list[int]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def _confirmations(period: Period) -> dict[int, dt.date]:
    """person id → the day in the period their status went from trainee to active."""
    start, end = _day_bounds(period)
    out: dict[int, dt.date] = {}
    rows = (
        AuditEntry.objects.filter(
            action="org.person_update", object_type="org.person", at__gte=start, at__lt=end
        )
        .order_by("at", "id")
        .values_list("object_id", "before", "after", "at")
    )
    working = (PersonStatus.ACTIVE, PersonStatus.WARNING)
    for object_id, before, after, at in rows:
        if (before or {}).get("status") == PersonStatus.TRAINEE and (after or {}).get(
            "status"
        ) in working:
            out.setdefault(int(object_id), timezone.localdate(at))
    return out


def _fyc_to_date(
    person_ids: list[int], period: Period, rules: RuleBook | None
) -> dict[int, Decimal]:
    """Each person's FYC credited from their hire to the end of the period, less the
    policies cancelled by then (a policy that cannot be valued counts nothing)."""
    _start, end = _day_bounds(period)
    out: dict[int, Decimal] = dict.fromkeys(person_ids, Decimal("0"))
    rows = (
        Policy.objects.filter(
            agent_id__in=person_ids,
            issued_at__isnull=False,
            issued_at__lt=end,
        )
        .exclude(Q(status=PolicyStatus.CANCELLED) & Q(cancelled_at__lt=end))
        .values_list(
            "agent_id",
            "annualised_premium",
            "product__first_year_commission_rate",
            "product__commission_basis",
            "product__category",
            "term_years",
        )
    )
    for agent_id, premium, rate, basis, category, term in rows:
        fyc = policy_fyc(
            rules,
            basis=basis,
            premium=premium,
            fyc_rate=rate,
            category=category or None,
            term_years=term,
        )
        out[agent_id] += fyc or 0
    return out


def _renewals(period: Period, agent_ids: set[int]) -> dict[int, list[RenewalIn]]:
    rows = (
        PremiumDue.objects.filter(
            status=PremiumStatus.PAID,
            policy_year__gte=2,
            paid_date__gte=period.start,
            paid_date__lte=period.end,
        )
        .values_list(
            "id", "policy_id", "policy__agent_id", "policy_year", "paid_amount", "paid_date"
        )
        .order_by("id")
    )
    out: dict[int, list[RenewalIn]] = {}
    for premium_id, policy_id, agent_id, year, amount, paid_on in rows:
        if agent_id in agent_ids:
            out.setdefault(agent_id, []).append(
                RenewalIn(premium_id, policy_id, year, amount, paid_on)
            )
    return out


def _persistency13(period: Period, agent_ids: set[int]) -> dict[int, Decimal]:
    """Each agent's 13-month persistency measured at the period's month (agents without a
    cohort are left out)."""
    rows = persistency_contributions(
        month=period.label,
        figure="13m",
        policies=Policy.objects.filter(agent_id__in=sorted(agent_ids)),
    )
    sums: dict[int, list[Decimal]] = {}
    for row in rows:
        if row["excluded"] is None:
            pair = sums.setdefault(row["agent_id"], [Decimal("0"), Decimal("0")])
            pair[0] += row["numerator"]
            pair[1] += row["denominator"]
    return {agent: (num / den).quantize(RATE_PLACES) for agent, (num, den) in sums.items() if den}


def _withheld_outstanding(*, before: dt.date) -> dict[int, Decimal]:
    """policy id → what approved runs of periods ending before ``before`` withheld from its
    commission and have not released."""
    rows = (
        PolicyPay.objects.filter(
            Q(withheld__gt=0) | Q(released__gt=0),
            run__status=PayRunStatus.APPROVED,
            run__period_end__lt=before,
        )
        .values("policy_id")
        .annotate(net=Sum("withheld") - Sum("released"))
        .filter(net__gt=0)
        .order_by()
        .values_list("policy_id", "net")
    )
    return dict(rows)


def _clearances(
    period: Period,
    earlier_ids: list[int],
    withheld: dict[int, Decimal],
    in_period: list[int] | None = None,
) -> dict[int, PolicyClearance]:
    """Where each policy issued in the period, and each policy of ``earlier_ids``, stands for
    the withholding. The same reading as ``operations.selectors.policy_withholding_status``
    (a test holds them equal), from plain rows instead of model objects and by the issue
    range instead of long id lists: a pay run reads every policy of the month. ``in_period``:
    the ids of the period's policies to read instead (the plain ones have theirs)."""
    start, end = _day_bounds(period)
    rules = operations_rules_in_force()
    required_for: dict[tuple[str, str], bool] = {}
    out: dict[int, PolicyClearance] = {}
    if in_period is None:
        selections = [Q(issued_at__gte=start, issued_at__lt=end)]
    else:
        selections = [Q(pk__in=chunk) for chunk in _chunks(sorted(in_period))]
    selections += [Q(pk__in=chunk) for chunk in _chunks(sorted(earlier_ids))]
    for where in selections:
        related = Q(*[(f"policy__{k}", v) for k, v in where.children])
        delivered = dict(
            Delivery.objects.filter(related, receipt_confirmed_on__isnull=False).values_list(
                "policy_id", "receipt_confirmed_on"
            )
        )
        visits = {
            row[0]: row[1:]
            for row in ReturnVisit.objects.filter(related).values_list(
                "policy_id", "status", "outcome", "done_at", "resolved_at"
            )
        }
        rows = (
            Policy.objects.filter(where)
            .annotate(issued=ExpressionWrapper(Q(issued_at__isnull=False), BooleanField()))
            .values_list("pk", "receipt_date", "issued", "product__code", "product__category")
        )
        for policy_id, receipt_date, issued, code, category in rows:
            days = [day for day in (receipt_date, delivered.get(policy_id)) if day]
            if (code, category) not in required_for:
                required_for[code, category] = return_visit_required(
                    product_code=code, category=category, rules=rules
                )
            visit = visits.get(policy_id)
            required = visit is not None or (bool(issued) and required_for[code, category])
            visit_on = None
            if visit is not None and visit[0] == VisitStatus.DONE:
                _status, outcome, done_at, resolved_at = visit
                if outcome == VisitOutcome.CONFIRMED:
                    visit_on = timezone.localdate(done_at)
                elif outcome == VisitOutcome.MISUNDERSTANDING and resolved_at is not None:
                    visit_on = timezone.localdate(resolved_at)
            out[policy_id] = PolicyClearance(
                receipt_on=min(days) if days else None,
                return_visit_required=required,
                return_visit_on=visit_on,
                withheld_before=withheld.get(policy_id, Decimal("0")),
            )
    return out


def _policies_withheld_earlier(
    policy_ids: list[int], agents: set[int], rules: RuleBook | None
) -> list[PolicyIn]:
    """Policies outside the period's inputs that wait for the release of what was withheld.
    Their release pays back what was withheld, not a commission: a policy whose FYC cannot
    be valued any more still comes in (FYC 0) so that its release is not lost."""
    rows = _policy_rows(
        Policy.objects.filter(pk__in=policy_ids, agent_id__in=sorted(agents))
    ).order_by("id")
    return [_policy_in(row, rules, {}, lenient=True)[0] for row in rows]


#: Months of an assessment period (the length of one extension).
PERIOD_MONTHS = {"monthly": 1, "quarterly": 3, "half_yearly": 6}


def _extensions(period: Period, rules: RuleBook | None, people: set[int]) -> dict[int, dt.date]:
    """person id → the effective date of their latest approved assessment outcome (in an
    approved run, effective by the period's start) when it is ``extend`` and the extension —
    one assessment period of the level it was given at (``assessment.levels``; one month when
    the rule set does not say) — still covers the period's start."""
    if rules is None or rules.section("extension_pay") is None or not people:
        return {}
    levels = (rules.section("assessment") or {}).get("levels", {})
    rows = (
        AssessmentOutcome.objects.filter(
            decision=HRDecision.APPROVED,
            run__status=AssessmentRunStatus.APPROVED,
            effective_date__lte=period.start,
        )
        .order_by("person_id", "-effective_date", "-id")
        .values_list("person_id", "outcome", "effective_date", "from_level__code")
    )
    out: dict[int, dt.date] = {}
    seen: set[int] = set()
    for person_id, outcome, effective, level in rows:
        if person_id in seen:
            continue
        seen.add(person_id)
        if outcome != AssessmentOutcomeKind.EXTEND or person_id not in people:
            continue
        months = PERIOD_MONTHS.get((levels.get(level) or {}).get("period"), 1)
        index = effective.year * 12 + effective.month - 1 + months
        day = min(effective.day, calendar.monthrange(index // 12, index % 12 + 1)[1])
        if period.start < dt.date(index // 12, index % 12 + 1, day):
            out[person_id] = effective
    return out


def _later_line_inputs(
    period: Period,
    people: list[PersonIn],
    policies: list[PolicyIn],
    rules: RuleBook | None,
    outstanding: dict[int, Decimal],
    *,
    by_issue: bool = True,
    extensions: dict[int, dt.date] | None = None,
) -> tuple[list[PersonIn], list[PolicyIn]]:
    """``people`` and ``policies`` with the records of the later lines attached."""
    in_run = {p.id for p in people}
    in_service = {p.id for p in people if p.in_service}
    recruiters = {
        pid: rid
        for pid, rid in Person.objects.filter(recruiter__isnull=False).values_list(
            "id", "recruiter_id"
        )
        if pid in in_run and rid in in_run
    }
    confirmed = {pid: day for pid, day in _confirmations(period).items() if pid in in_run}
    fyc = _fyc_to_date(sorted(set(confirmed) & set(recruiters)), period, rules) if confirmed else {}
    if extensions is None:
        extensions = _extensions(period, rules, in_service)
    renewals = _renewals(period, in_service)
    persistency = _persistency13(period, set(renewals)) if renewals else {}
    people = [
        replace(
            p,
            extension_since=extensions.get(p.id),
            extra=PersonExtra(
                recruiter_id=recruiters.get(p.id),
                confirmed_on=confirmed.get(p.id),
                fyc_to_date=fyc.get(p.id),
                persistency13=persistency.get(p.id),
                renewals=tuple(renewals.get(p.id, ())),
            ),
        )
        for p in people
    ]
    known = {p.id for p in policies}
    policies = policies + _policies_withheld_earlier(
        sorted(set(outstanding) - known), in_run, rules
    )
    earlier = [p.id for p in policies if p.id in outstanding and p.credited_on not in period]
    # With plain policies, the period's other policies that need their clearance are those
    # that could be paid a commission (not cancelled by the end); a cancelled one has none
    # to withhold, and nothing to release (it was credited in the period).
    in_period = (
        None
        if by_issue
        else [
            p.id
            for p in policies
            if p.credited_on in period and (p.cancelled_on is None or p.cancelled_on > period.end)
        ]
    )
    clearances = _clearances(period, earlier, outstanding, in_period)
    policies = [
        PolicyIn(**{**vars(p), "clearance": clearances[p.id]}) if p.id in clearances else p
        for p in policies
    ]
    return people, sorted(policies, key=lambda p: p.id)
