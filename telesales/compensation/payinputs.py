"""The pay engine's input records for one period, read from the database (read-only).

- **People**: everyone employed during the period (hired by its end, not left before its
  start) in a sales team, or with a level in any team. ``leader_id`` is ``Person.leader``.
  A person of a sales team without a level is a problem, not an unpaid person. The
  organisation does not record who developed (育成) a group, so ``developer_id`` stays empty
  and the development bonus pays nothing until it does.
- **Departed agents** (left before the period) whose policies are cancelled in it join the
  run with ``in_service=False``: their clawback is computed, no base pay.
- **Attendance**: ``compensation.Attendance`` (days attended / required per person and
  period, entered by HR). The organisation keeps absences (leave), not attendance; a person
  without a row gets ``attendance=None`` and the engine reports it when the rule set pays
  base pay pro rata — never a silent zero.
- **Policies**: those issued in the period (credited on their issue day, local time) and
  those cancelled in it (free look is the only cancellation the policies app records). FYC =
  annualised premium × the product's first-year commission rate. A product whose basis is the
  standardised premium (标保) cannot be valued (the project holds no standardisation factor),
  and a product without a first-year commission rate would pay zero: both are problems. The
  commission paid for a policy in an approved earlier run is passed on for its clawback.

``pay_inputs`` lists what is missing in ``problems``; the pay run raises them, with the
engine's, as one ``PayInputInvalid`` (a ``ValidationFailed``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import astuple, dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.compensation.choices import PayLineKind, PayRunStatus
from telesales.compensation.engine import FREE_LOOK, Period, PersonIn, PolicyIn
from telesales.compensation.models import Attendance, PayLine
from telesales.org.choices import TeamKind
from telesales.org.models import Person
from telesales.policies.choices import CommissionBasis, PolicyStatus
from telesales.policies.models import Policy


@dataclass(frozen=True)
class PayInputs:
    people: list[PersonIn]
    policies: list[PolicyIn]
    #: (record, reason) of what could not be turned into an input.
    problems: list[tuple[str, str]]

    def fingerprint(self, *, extra: object = None) -> str:
        """A SHA-256 of every input record (sorted), so that two runs can tell whether their
        inputs were the same."""
        payload = {
            "people": [astuple(p) for p in sorted(self.people, key=lambda p: p.id)],
            "policies": [astuple(p) for p in sorted(self.policies, key=lambda p: p.id)],
            "extra": extra,
        }
        text = json.dumps(payload, default=str, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _day_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """Aware datetimes [start of the first day, start of the day after the last)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(period.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _people(period: Period, problems: list[tuple[str, str]]) -> list[PersonIn]:
    rows = (
        Person.objects.filter(hire_date__lte=period.end)
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=period.start))
        .filter(Q(team__kind=TeamKind.SALES) | Q(level__isnull=False))
        .values_list("id", "level__code", "hire_date", "leader_id")
        .order_by("id")
    )
    attendance = {
        person_id: (attended, required)
        for person_id, attended, required in Attendance.objects.filter(
            period_start=period.start
        ).values_list("person_id", "days_attended", "days_required")
    }
    people: list[PersonIn] = []
    for person_id, level, hire_date, leader_id in rows:
        if not level:
            problems.append((f"person:{person_id}", _("has no level")))
            continue
        people.append(
            PersonIn(
                id=person_id,
                level=level,
                hire_date=hire_date,
                leader_id=leader_id,
                attendance=attendance.get(person_id),
            )
        )
    # A leader outside the run (left, back office) is not a leader for this period's pay.
    ids = {p.id for p in people}
    return [p if p.leader_id is None or p.leader_id in ids else _without_leader(p) for p in people]


def _without_leader(person: PersonIn) -> PersonIn:
    return PersonIn(
        id=person.id,
        level=person.level,
        hire_date=person.hire_date,
        attendance=person.attendance,
    )


def _paid_commission(policy_ids: list[int], *, before: dt.date) -> dict[int, Decimal]:
    """What approved runs of earlier periods paid as commission for these policies."""
    rows = (
        PayLine.objects.filter(
            policy_id__in=policy_ids,
            kind=PayLineKind.COMMISSION,
            run__status=PayRunStatus.APPROVED,
            run__period_end__lt=before,
        )
        .values("policy_id")
        .annotate(paid=Sum("amount"))
    )
    return {row["policy_id"]: row["paid"] for row in rows}


def _policies(period: Period, problems: list[tuple[str, str]]) -> list[PolicyIn]:
    start, end = _day_bounds(period)
    rows = list(
        Policy.objects.filter(issued_at__isnull=False)
        .filter(
            Q(issued_at__gte=start, issued_at__lt=end)
            | Q(status=PolicyStatus.CANCELLED, cancelled_at__gte=start, cancelled_at__lt=end)
        )
        .values_list(
            "id",
            "agent_id",
            "product__category",
            "product__code",
            "product__commission_basis",
            "product__first_year_commission_rate",
            "term_years",
            "payment_mode",
            "annualised_premium",
            "issued_at",
            "status",
            "cancelled_at",
        )
        .order_by("id")
    )
    cancelled_earlier = [r[0] for r in rows if r[10] == PolicyStatus.CANCELLED and r[9] < start]
    paid = _paid_commission(cancelled_earlier, before=period.start) if cancelled_earlier else {}
    policies: list[PolicyIn] = []
    for (
        policy_id,
        agent_id,
        category,
        product,
        basis,
        fyc_rate,
        term,
        mode,
        premium,
        issued_at,
        status,
        cancelled_at,
    ) in rows:
        record = f"policy:{policy_id}"
        if basis != CommissionBasis.FYP:
            problems.append(
                (
                    record,
                    _(
                        "product %(p)s computes FYC on the standardised premium, "
                        "which the project does not hold"
                    )
                    % {"p": product},
                )
            )
            continue
        if not fyc_rate:
            problems.append(
                (record, _("product %(p)s has no first-year commission rate") % {"p": product})
            )
            continue
        cancelled = status == PolicyStatus.CANCELLED and cancelled_at is not None
        policies.append(
            PolicyIn(
                id=policy_id,
                agent_id=agent_id,
                category=category or None,
                term_years=term,
                payment_mode=mode,
                fyc=premium * fyc_rate,
                credited_on=timezone.localdate(issued_at),
                cancelled_on=timezone.localdate(cancelled_at) if cancelled else None,
                cancel_kind=FREE_LOOK if cancelled else "",
                paid_commission=paid.get(policy_id),
            )
        )
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


def pay_inputs(period: Period) -> PayInputs:
    """The engine's records for a period, with the ``problems`` of the records the database
    cannot turn into an input (the caller raises them with the engine's own)."""
    problems: list[tuple[str, str]] = []
    people = _people(period, problems)
    policies = _policies(period, problems)
    in_run = {p.id for p in people}
    reported = {int(r.split(":", 1)[1]) for r, _reason in problems if r.startswith("person:")}
    missing = {p.agent_id for p in policies} - in_run - reported
    if missing:
        people += _departed(missing, in_run, problems)
    return PayInputs(people=people, policies=policies, problems=problems)
