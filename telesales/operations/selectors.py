"""Reads of operations and renewal, scoped to what the user may see, and the figures other
apps read: persistency (for the basic law), the withholding status of policies (receipt and
return visit done, for commission withholding) and the renewal tasks due for an agent (for the
calls dispatch).

Visibility: the center manager, renewal operations and the planner see everything; a team
lead the policies of the teams they lead (the team credited at the sale, or the agent's
current team), their own and the renewal tasks they own; an agent the policies they sold or
serve and the renewal tasks they own. Out of sight is ``NotFound``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.errors import NotFound, PermissionDenied, ValidationFailed
from telesales.core.roles import Role, has_role
from telesales.operations import permissions
from telesales.operations.choices import (
    DELIVERY_OPEN,
    DELIVERY_PROBLEM,
    NoticeStatus,
    PremiumStatus,
    ServicingStatus,
    TaskStatus,
    VisitOutcome,
    VisitStatus,
)
from telesales.operations.models import (
    Delivery,
    ExitNotice,
    OperationsRuleSet,
    PolicyServicing,
    PremiumDue,
    ReceiptBatch,
    RenewalTask,
    ReturnVisit,
)
from telesales.operations.rules import return_visit_required, ruleset_in_force
from telesales.operations.scheduling import (
    add_months,
    first_period_of_year,
    period_due_date,
)
from telesales.org.models import Person, Team
from telesales.org.selectors import _led_team_ids, person_for_user
from telesales.policies.choices import PaymentMode, PolicyStatus
from telesales.policies.models import Policy

NOTHING = Q(pk__in=[])


# --- Visibility ------------------------------------------------------------------------------
def policy_scope_q(user, prefix: str = "policy__") -> Q:
    """A filter on a model that reaches a policy through ``prefix`` ("" for Policy itself)."""
    if permissions.sees_all_operations(user):
        return Q()
    me = person_for_user(user)
    if me is None or not permissions.can_view_operations(user):
        return NOTHING
    q = Q(**{f"{prefix}agent_id": me.pk}) | Q(**{f"{prefix}servicing__servicing_owner_id": me.pk})
    if has_role(user, Role.TEAM_LEAD):
        q |= Q(**{f"{prefix}team__leader_id": me.pk}) | Q(
            **{f"{prefix}agent__team__leader_id": me.pk}
        )
    return q


def task_scope_q(user) -> Q:
    q = policy_scope_q(user)
    if q == NOTHING or permissions.sees_all_operations(user):
        return q
    me = person_for_user(user)
    return q | Q(owner_id=me.pk) if me else q


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


# --- Renewal tasks ----------------------------------------------------------------------------
RENEWAL_QUEUES = ("today", "upcoming", "grace", "pool", "open", "done")


def renewal_task_list(
    *,
    user,
    queue: str = "open",
    owner_id: int | None = None,
    team_id: int | None = None,
    search: str = "",
    today: dt.date | None = None,
) -> QuerySet[RenewalTask]:
    """Renewal tasks in sight. Queues: ``today`` (due today or earlier, not yet in grace),
    ``upcoming`` (due later: the reminder window), ``grace`` (in grace), ``pool`` (open, no
    owner: renewal operations), ``open`` (all open), ``done`` (closed)."""
    today = _today(today)
    qs = RenewalTask.objects.filter(task_scope_q(user)).select_related(
        "premium_due", "policy__holder", "policy__product", "policy__agent", "owner"
    )
    status = PremiumStatus
    if queue == "done":
        qs = qs.exclude(status=TaskStatus.OPEN).order_by("-done_at", "-id")
    else:
        qs = qs.filter(status=TaskStatus.OPEN)
        if queue == "today":
            qs = qs.filter(premium_due__status=status.DUE, due_date__lte=today)
        elif queue == "upcoming":
            qs = qs.filter(premium_due__status=status.DUE, due_date__gt=today)
        elif queue == "grace":
            qs = qs.filter(premium_due__status=status.IN_GRACE)
        elif queue == "pool":
            qs = qs.filter(owner__isnull=True)
        qs = qs.order_by("due_date", "id")
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(policy__team_id=team_id)
    search = (search or "").strip()
    if search:
        # A month (2026-12) finds the premiums due in it; otherwise the policy number, the
        # holder, the task's owner or the selling agent (QA: an officer asking "what does
        # agent X still have open" found nothing by the name).
        month = re.fullmatch(r"(\d{4})-(\d{1,2})", search)
        if month and 1 <= int(month.group(2)) <= 12:
            qs = qs.filter(due_date__year=int(month.group(1)), due_date__month=int(month.group(2)))
        else:
            qs = qs.filter(
                Q(policy__number__icontains=search)
                | Q(policy__holder__name__icontains=search)
                | Q(owner__name__icontains=search)
                | Q(policy__agent__name__icontains=search)
            )
    return qs


def renewal_task_get(*, user, task_id: int) -> RenewalTask:
    task = (
        RenewalTask.objects.filter(task_scope_q(user))
        .select_related(
            "premium_due",
            "policy__holder",
            "policy__product",
            "policy__agent__team",
            "policy__team",
            "policy__servicing__servicing_owner",
            "owner",
            "done_by",
        )
        .filter(pk=task_id)
        .first()
    )
    if task is None:
        raise NotFound(_("No such renewal task, or you may not see it"))
    return task


def renewal_task_due_list(*, user, agent: Person, today: dt.date | None = None):
    """Open renewal tasks ``agent`` owns that are due now: inside the reminder window or in
    grace, earliest first. The calls dispatch reads this to put renewal calls in the agent's
    queue (they go through the same workspace and compliance guards as sales calls)."""
    today = _today(today)
    rules = ruleset_in_force(on=today)
    return (
        RenewalTask.objects.filter(task_scope_q(user))
        .filter(
            owner=agent,
            status=TaskStatus.OPEN,
            premium_due__status__in=(PremiumStatus.DUE, PremiumStatus.IN_GRACE),
            due_date__lte=today + dt.timedelta(days=rules.task_lead_days),
        )
        .select_related("premium_due", "policy__holder", "policy__lead", "policy__product")
        .order_by("due_date", "id")
    )


def lapsed_list(*, user, today: dt.date | None = None) -> QuerySet[PolicyServicing]:
    """Lapsed policies that can still be reinstated, the longest lapsed first."""
    today = _today(today)
    return (
        PolicyServicing.objects.filter(policy_scope_q(user))
        .filter(status=ServicingStatus.LAPSED, reinstatement_until__gte=today)
        .select_related("policy__holder", "policy__product", "policy__agent", "servicing_owner")
        .order_by("lapsed_on", "id")
    )


# --- Policies in servicing -------------------------------------------------------------------
def servicing_list(
    *, user, status: str | None = None, owner_id: int | None = None, search: str = ""
) -> QuerySet[PolicyServicing]:
    qs = PolicyServicing.objects.filter(policy_scope_q(user)).select_related(
        "policy__holder", "policy__product", "policy__agent", "servicing_owner"
    )
    if status:
        qs = qs.filter(status=status)
    if owner_id:
        qs = qs.filter(servicing_owner_id=owner_id)
    search = (search or "").strip()
    if search:
        qs = qs.filter(
            Q(policy__number__icontains=search) | Q(policy__holder__name__icontains=search)
        )
    return qs.order_by("-in_force_since", "-id")


def servicing_get(*, user, policy_id: int) -> PolicyServicing:
    servicing = (
        PolicyServicing.objects.filter(policy_scope_q(user))
        .select_related(
            "policy__holder",
            "policy__product",
            "policy__agent__team",
            "policy__team",
            "servicing_owner",
        )
        .filter(policy_id=policy_id)
        .first()
    )
    if servicing is None:
        raise NotFound(_("No such policy in servicing, or you may not see it"))
    return servicing


def premium_due_list(*, servicing: PolicyServicing) -> QuerySet[PremiumDue]:
    """The schedule of a policy the caller has already got through ``servicing_get``."""
    return PremiumDue.objects.filter(policy_id=servicing.policy_id).order_by("period")


def premium_due_get(*, user, due_id: int) -> PremiumDue:
    due = (
        PremiumDue.objects.filter(policy_scope_q(user))
        .select_related("policy")
        .filter(pk=due_id)
        .first()
    )
    if due is None:
        raise NotFound(_("No such premium, or you may not see it"))
    return due


# --- Deliveries, return visits, exit notices ------------------------------------------------
DELIVERY_QUEUES = ("problem", "open", "all")


def delivery_list(*, user, queue: str = "problem") -> QuerySet[Delivery]:
    """``problem``: failed, returned, or overdue (not sent / not delivered in time);
    ``open``: not yet delivered; ``all``."""
    qs = Delivery.objects.filter(policy_scope_q(user)).select_related(
        "policy__holder", "policy__product", "policy__agent"
    )
    if queue == "problem":
        qs = qs.filter(
            Q(status__in=DELIVERY_PROBLEM)
            | (Q(status__in=DELIVERY_OPEN) & Q(overdue_since__isnull=False))
        )
    elif queue == "open":
        qs = qs.filter(status__in=(*DELIVERY_OPEN, *DELIVERY_PROBLEM))
    return qs.order_by("overdue_since", "id")


def premium_periods(premium_ids) -> dict[int, int]:
    """Premium (``PremiumDue``) id → its period (1 = the first premium) for ``premium_ids``,
    read 5,000 at a time. Not scoped: for callers that have checked the reader's right to the
    records naming these ids (a payslip's renewal lines)."""
    ids = sorted(set(premium_ids))
    found: dict[int, int] = {}
    for start in range(0, len(ids), 5000):
        rows = PremiumDue.objects.filter(pk__in=ids[start : start + 5000])
        found.update(rows.values_list("pk", "period"))
    return found


def delivery_get(*, user, delivery_id: int) -> Delivery:
    delivery = (
        Delivery.objects.filter(policy_scope_q(user))
        .select_related("policy")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise NotFound(_("No such delivery, or you may not see it"))
    return delivery


VISIT_QUEUES = ("due", "open", "flagged", "done")


def return_visit_list(
    *, user, queue: str = "due", today: dt.date | None = None
) -> QuerySet[ReturnVisit]:
    """``due``: open and due today or earlier; ``open``; ``flagged``: misunderstandings not
    yet resolved — every one in the user's sight, so a team lead sees all those of their
    teams' policies, not only the ones flagged to them: they act on their agents' customers'
    misunderstandings, also those flagged to a predecessor or to nobody (``My renewals``
    lists the ones flagged to them); ``done``: closed."""
    today = _today(today)
    qs = ReturnVisit.objects.filter(policy_scope_q(user)).select_related(
        "policy__holder", "policy__product", "policy__agent", "flagged_to"
    )
    if queue == "due":
        qs = qs.filter(status=VisitStatus.OPEN, due_date__lte=today)
    elif queue == "open":
        qs = qs.filter(status=VisitStatus.OPEN)
    elif queue == "flagged":
        qs = qs.filter(outcome=VisitOutcome.MISUNDERSTANDING, resolved_at__isnull=True)
    elif queue == "done":
        return qs.exclude(status=VisitStatus.OPEN).order_by("-done_at", "-id")
    return qs.order_by("due_date", "id")


def return_visit_get(*, user, visit_id: int) -> ReturnVisit:
    visit = (
        ReturnVisit.objects.filter(policy_scope_q(user))
        .select_related("policy__holder", "policy__product", "policy__agent__team", "flagged_to")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        raise NotFound(_("No such return visit, or you may not see it"))
    return visit


def misunderstanding_counts(
    *, user, since: dt.date | None = None, until: dt.date | None = None
) -> list[dict[str, Any]]:
    """Misunderstandings found by return visits, per selling agent (and how many resolved)."""
    qs = ReturnVisit.objects.filter(policy_scope_q(user), outcome=VisitOutcome.MISUNDERSTANDING)
    if since:
        qs = qs.filter(done_at__date__gte=since)
    if until:
        qs = qs.filter(done_at__date__lte=until)
    return list(
        qs.order_by()
        .values("policy__agent_id", "policy__agent__name", "policy__agent__team__name")
        .annotate(found=Count("id"), open=Count("id", filter=Q(resolved_at__isnull=True)))
        .order_by("-found", "policy__agent__name")
    )


def exit_notice_list(*, user, status: str = NoticeStatus.OPEN) -> QuerySet[ExitNotice]:
    qs = ExitNotice.objects.filter(policy_scope_q(user)).select_related(
        "policy__holder", "former_agent", "new_owner"
    )
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("due_date", "id")


def exit_notice_get(*, user, notice_id: int) -> ExitNotice:
    notice = exit_notice_list(user=user, status="").filter(pk=notice_id).first()
    if notice is None:
        raise NotFound(_("No such exit notice, or you may not see it"))
    return notice


# --- Receipts and rules -----------------------------------------------------------------------
def receipt_batch_list(*, user) -> QuerySet[ReceiptBatch]:
    if not permissions.can_operate(user):
        return ReceiptBatch.objects.none()
    return ReceiptBatch.objects.select_related("uploader", "uploader__person").order_by(
        "-created_at", "-id"
    )


def receipt_batch_get(*, user, batch_id: int) -> ReceiptBatch:
    batch = receipt_batch_list(user=user).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No such receipt import"))
    return batch


def ruleset_list(*, user) -> QuerySet[OperationsRuleSet]:
    if not permissions.can_view_operations(user):
        return OperationsRuleSet.objects.none()
    return OperationsRuleSet.objects.order_by("-effective_from", "-id")


# --- The renewal-operations home -------------------------------------------------------------
def home_counts(*, user, today: dt.date | None = None) -> dict[str, int]:
    today = _today(today)
    tasks = renewal_task_list(user=user, queue="open", today=today)
    return {
        "deliveries": delivery_list(user=user, queue="problem").count(),
        "visits_due": return_visit_list(user=user, queue="due", today=today).count(),
        "flagged": return_visit_list(user=user, queue="flagged", today=today).count(),
        "due_today": tasks.filter(
            premium_due__status=PremiumStatus.DUE, due_date__lte=today
        ).count(),
        "upcoming": tasks.filter(premium_due__status=PremiumStatus.DUE, due_date__gt=today).count(),
        "in_grace": tasks.filter(premium_due__status=PremiumStatus.IN_GRACE).count(),
        "pool": tasks.filter(owner__isnull=True).count(),
        "lapsed": lapsed_list(user=user, today=today).count(),
        "exit_notices": exit_notice_list(user=user).count(),
        "exit_overdue": exit_notice_list(user=user).filter(due_date__lt=today).count(),
    }


# --- Withholding status (for the basic law) ---------------------------------------------------
def policy_withholding_status(*, policy_ids: list[int]) -> dict[int, dict[str, bool]]:
    """For each policy: is the receipt (回执) confirmed, is a return visit required, and is it
    done (confirmed, or a misunderstanding since resolved; ``True`` when none is required).
    The basic law's commission withholding reads this; it is not user-scoped (system reads).
    Unknown ids are left out."""
    ids = [int(i) for i in policy_ids]
    out: dict[int, dict[str, bool]] = {}
    policies = Policy.objects.filter(pk__in=ids).select_related("product")
    visits = {v.policy_id: v for v in ReturnVisit.objects.filter(policy_id__in=ids)}
    receipts = dict(
        Delivery.objects.filter(policy_id__in=ids, receipt_confirmed_on__isnull=False).values_list(
            "policy_id", "receipt_confirmed_on"
        )
    )
    rules = ruleset_in_force()
    for policy in policies:
        visit = visits.get(policy.pk)
        required = visit is not None or (
            policy.issued_at is not None
            and return_visit_required(
                product_code=policy.product.code, category=policy.product.category, rules=rules
            )
        )
        out[policy.pk] = {
            "receipt_done": bool(policy.receipt_date or receipts.get(policy.pk)),
            "return_visit_required": required,
            "return_visit_done": (
                visit.counts_as_done
                if visit is not None and visit.status != VisitStatus.CANCELLED
                else not required
            ),
        }
    return out


# --- Persistency (DOMAIN.md §4) ---------------------------------------------------------------
PERSISTENCY = {"13m": 2, "25m": 3}  # figure → the policy year whose premium must arrive
EXCLUSIONS = (
    "single_premium",
    "free_look_cancelled",
    "term_too_short",
    "transferred_out",
    "claim_terminated",
)
RATE_PLACES = Decimal("0.0001")
#: The years a persistency month may be asked for.
MONTH_YEAR_MIN, MONTH_YEAR_MAX = 2000, 2100


def month_start(month: Any) -> dt.date:
    """``"2026-11"`` or a date → the first day of that month; anything else is a field error."""
    if isinstance(month, dt.date):
        return month.replace(day=1)
    text = str(month or "").strip()
    try:
        year, number = text.split("-")
        day = dt.date(int(year), int(number), 1)
    except (ValueError, TypeError):
        raise ValidationFailed(
            _("A month such as 2026-11"), fields={"month": [_("YYYY-MM")]}
        ) from None
    if len(year) != 4:
        raise ValidationFailed(_("A month such as 2026-11"), fields={"month": [_("YYYY-MM")]})
    if not MONTH_YEAR_MIN <= day.year <= MONTH_YEAR_MAX:
        message = _("The year must lie between %(a)d and %(b)d") % {
            "a": MONTH_YEAR_MIN,
            "b": MONTH_YEAR_MAX,
        }
        raise ValidationFailed(message, fields={"month": [message]})
    return day


def measurable_month(month: Any, *, today: dt.date | None = None) -> dt.date:
    """The first day of ``month`` when persistency can be measured at it: the month has begun.

    Measured at M, the 13-month figure counts the 2nd-year premiums falling due in M (25-month:
    3rd-year); before M begins none of them could have been paid, so its figures would be zeros
    that look real. The current month is measured provisionally (``final`` is false until every
    grace period has ended); a month after it is refused."""
    start = month_start(month)
    current = _today(today).replace(day=1)
    if start > current:
        message = _(
            "%(month)s has not begun: persistency can be measured up to the current month "
            "(%(current)s), provisionally until every grace period has ended"
        ) % {"month": f"{start:%Y-%m}", "current": f"{current:%Y-%m}"}
        raise ValidationFailed(message, fields={"month": [message]})
    return start


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _grace_end(due_date: dt.date, cache: dict) -> dt.date:
    if due_date not in cache:
        cache[due_date] = due_date + dt.timedelta(days=ruleset_in_force(on=due_date).grace_days)
    return cache[due_date]


def persistency_contributions(
    *, month: Any, figure: str, policies: QuerySet[Policy] | None = None
) -> list[dict[str, Any]]:
    """One row per policy of the cohort of ``figure`` (``13m``: issued in month M−12, whose
    2nd-year premium counts; ``25m``: M−24, 3rd year) measured at ``month`` M.

    Each row: ``policy_id``, ``agent_id``, ``team_id``, ``excluded`` (a reason from
    ``EXCLUSIONS`` or ``None``), ``denominator`` (the first-year premium: the annualised
    premium), ``numerator`` (the same amount when the premium of the policy year fell due and
    its first instalment was paid by the end of its grace period, else 0), ``window_end``
    (the last day of that grace period) and ``paid_on`` (the day that instalment was paid, when
    it counts in ``numerator``)."""
    year = PERSISTENCY[figure]
    start = add_months(month_start(month), -12 * (year - 1))
    end = add_months(start, 1)
    qs = policies if policies is not None else Policy.objects.all()
    cohort = list(
        qs.filter(issued_at__gte=_midnight(start), issued_at__lt=_midnight(end))
        .exclude(status=PolicyStatus.APPLIED)
        .select_related("servicing")
        .order_by("pk")
    )
    ids = [p.pk for p in cohort]
    dues: dict[int, PremiumDue] = {}
    for due in PremiumDue.objects.filter(policy_id__in=ids, policy_year=year).order_by(
        "policy_id", "period"
    ):
        dues.setdefault(due.policy_id, due)
    cache: dict[dt.date, dt.date] = {}
    rows = []
    for policy in cohort:
        row: dict[str, Any] = {
            "policy_id": policy.pk,
            "agent_id": policy.agent_id,
            "team_id": policy.team_id,
            "excluded": None,
            "denominator": Decimal("0.00"),
            "numerator": Decimal("0.00"),
            "window_end": None,
            "paid_on": None,
        }
        rows.append(row)
        if policy.payment_mode == PaymentMode.SINGLE:
            row["excluded"] = "single_premium"
            continue
        if policy.status == PolicyStatus.CANCELLED:
            row["excluded"] = "free_look_cancelled"
            continue
        if policy.term_years < year:
            row["excluded"] = "term_too_short"
            continue
        due = dues.get(policy.pk)
        due_date = (
            due.due_date if due else period_due_date(policy, first_period_of_year(policy, year))
        )
        window_end = _grace_end(due_date, cache)
        row["window_end"] = window_end
        servicing = getattr(policy, "servicing", None)
        if (
            servicing is not None
            and servicing.terminated_on is not None
            and servicing.terminated_on <= window_end
        ):
            if servicing.status == ServicingStatus.TRANSFERRED_OUT:
                row["excluded"] = "transferred_out"
                continue
            if servicing.status == ServicingStatus.CLAIM_TERMINATED:
                row["excluded"] = "claim_terminated"
                continue
        row["denominator"] = policy.annualised_premium
        if (
            due is not None
            and due.status == PremiumStatus.PAID
            and due.paid_date is not None
            and due.paid_date <= window_end
        ):
            row["numerator"] = policy.annualised_premium
            row["paid_on"] = due.paid_date
    return rows


def _figure(rows: list[dict[str, Any]], *, start: dt.date, today: dt.date) -> dict[str, Any]:
    included = [r for r in rows if r["excluded"] is None]
    numerator = sum((r["numerator"] for r in included), Decimal("0.00"))
    denominator = sum((r["denominator"] for r in included), Decimal("0.00"))
    excluded = Counter(r["excluded"] for r in rows if r["excluded"])
    ends = [r["window_end"] for r in included if r["window_end"]]
    return {
        "cohort": f"{start:%Y-%m}",
        "policies": len(included),
        "persisting": sum(1 for r in included if r["numerator"] > 0),
        "numerator": numerator,
        "denominator": denominator,
        "rate": (numerator / denominator).quantize(RATE_PLACES) if denominator else None,
        "excluded": {reason: excluded.get(reason, 0) for reason in EXCLUSIONS},
        "final": all(end < today for end in ends),
        # not paid yet, their grace period still running: a provisional rate can still rise
        "pending": sum(
            1
            for r in included
            if r["numerator"] == 0 and r["window_end"] and r["window_end"] >= today
        ),
    }


def _scoped_policies(*, team: Any = None, agent: Any = None) -> QuerySet[Policy]:
    qs = Policy.objects.all()
    if team is not None:
        qs = qs.filter(team_id=team.pk if isinstance(team, Team) else int(team))
    if agent is not None:
        qs = qs.filter(agent_id=agent.pk if isinstance(agent, Person) else int(agent))
    return qs


def persistency(
    *, month: Any, team: Any = None, agent: Any = None, today: dt.date | None = None
) -> dict[str, Any]:
    """13- and 25-month persistency measured at ``month`` (``"YYYY-MM"`` or a date), for the
    center, one team (the team credited at the sale) or one agent (the selling agent).

    ``{"month": "YYYY-MM", "13m": {...}, "25m": {...}}``; each figure holds ``numerator`` and
    ``denominator`` (Decimal premium amounts), ``rate`` (Decimal, 4 places, ``None`` without a
    denominator), ``cohort``, ``policies``, ``persisting``, ``excluded`` (count per reason)
    and ``final`` (every grace period of the cohort has ended). Not user-scoped: the basic
    law engine reads it; pages and the API go through :func:`persistency_for_user`. A month
    that has not begun is refused (:func:`measurable_month`)."""
    today = _today(today)
    start = measurable_month(month, today=today)
    policies = _scoped_policies(team=team, agent=agent)
    out: dict[str, Any] = {"month": f"{start:%Y-%m}"}
    for figure, year in PERSISTENCY.items():
        rows = persistency_contributions(month=start, figure=figure, policies=policies)
        out[figure] = _figure(rows, start=add_months(start, -12 * (year - 1)), today=today)
    return out


def _check_scope(user, *, team_id: int | None, agent_id: int | None) -> tuple[Any, Any]:
    """The team and agent a user may ask persistency for (an agent: always themselves)."""
    if not permissions.can_view_persistency(user):
        raise PermissionDenied(_("Your role has no access to persistency"))
    if permissions.sees_all_operations(user):
        return team_id, agent_id
    me = person_for_user(user)
    if me is None:
        raise NotFound(_("Your login is not linked to an employee record"))
    led = _led_team_ids(me) if has_role(user, Role.TEAM_LEAD) else []
    if agent_id and agent_id != me.pk:
        agent = Person.objects.filter(pk=agent_id).first()
        if agent is None or agent.team_id not in led:
            raise NotFound(_("No such agent, or you may not see them"))
    if team_id and team_id not in led:
        raise NotFound(_("No such team, or you may not see it"))
    if not led and not agent_id:
        return None, me.pk  # an agent: their own figures
    if led and not team_id and not agent_id:
        if len(led) == 1:
            return led[0], None
        raise ValidationFailed(_("Choose one of your teams"), fields={"team_id": [_("required")]})
    return team_id, agent_id


def persistency_for_user(
    *, user, month: Any, team_id: int | None = None, agent_id: int | None = None
) -> dict[str, Any]:
    team, agent = _check_scope(user, team_id=team_id, agent_id=agent_id)
    result = persistency(month=month, team=team, agent=agent)
    result["team_id"], result["agent_id"] = team, agent
    return result


def persistency_breakdown(
    *, user, month: Any, by: str = "team", team_id: int | None = None
) -> list[dict[str, Any]]:
    """Both figures per team (credited at the sale) or per agent, with numerators and
    denominators, for the teams and agents in sight: within one team (``team_id``, credited at
    the sale) when given; a team lead's always within the teams they lead, the same policies
    as their figures (not those of other teams they happen to serve or whose agents moved)."""
    if by not in ("team", "agent"):
        raise ValidationFailed(_("By team or by agent"), fields={"by": [_("team or agent")]})
    if not permissions.can_view_persistency(user):
        raise PermissionDenied(_("Your role has no access to persistency"))
    today = timezone.localdate()
    start = measurable_month(month, today=today)
    policies = Policy.objects.filter(policy_scope_q(user, prefix=""))
    if team_id is not None:
        team, _agent = _check_scope(user, team_id=team_id, agent_id=None)
        policies = policies.filter(team_id=team)
    elif not permissions.sees_all_operations(user) and has_role(user, Role.TEAM_LEAD):
        policies = policies.filter(team_id__in=_led_team_ids(person_for_user(user)))
    key = f"{by}_id"
    grouped: dict[Any, dict[str, list]] = defaultdict(lambda: {f: [] for f in PERSISTENCY})
    for figure in PERSISTENCY:
        for row in persistency_contributions(month=start, figure=figure, policies=policies):
            grouped[row[key]][figure].append(row)
    model = Team if by == "team" else Person
    names = dict(model.objects.filter(pk__in=list(grouped)).values_list("pk", "name"))
    out = []
    for pk, figures in grouped.items():
        entry: dict[str, Any] = {"id": pk, "name": names.get(pk, "—")}
        for figure, year in PERSISTENCY.items():
            entry[figure] = _figure(
                figures[figure], start=add_months(start, -12 * (year - 1)), today=today
            )
        out.append(entry)
    return sorted(out, key=lambda e: e["name"])


def persistency_trend(
    *,
    user,
    month: Any,
    months: int = 12,
    team_id: int | None = None,
    agent_id: int | None = None,
) -> list[dict[str, Any]]:
    """The two rates for the ``months`` months ending with ``month``, oldest first; each with
    its numerator, denominator, ``policies`` and ``final`` (False: a grace period of its cohort
    is still running, the rate is provisional). ``rate`` is None for a month with no policy
    to measure: a gap in a chart, not a zero."""
    team, agent = _check_scope(user, team_id=team_id, agent_id=agent_id)
    end = measurable_month(month)
    months = max(1, min(int(months), 36))
    out = []
    for back in range(months - 1, -1, -1):
        figures = persistency(month=add_months(end, -back), team=team, agent=agent)
        out.append(
            {
                "month": figures["month"],
                **{
                    f: {
                        "rate": figures[f]["rate"],
                        "numerator": figures[f]["numerator"],
                        "denominator": figures[f]["denominator"],
                        "policies": figures[f]["policies"],
                        "final": figures[f]["final"],
                    }
                    for f in PERSISTENCY
                },
            }
        )
    return out


def premium_collected(*, user, since: dt.date, until: dt.date) -> dict[str, Any]:
    """Renewal premiums (period 2 on) collected between two days, in sight of the user."""
    qs = PremiumDue.objects.filter(
        policy_scope_q(user),
        status=PremiumStatus.PAID,
        period__gt=1,
        paid_date__gte=since,
        paid_date__lte=until,
    )
    row = qs.aggregate(n=Count("id"), amount=Sum("paid_amount"))
    amount = Decimal(str(row["amount"] or 0)).quantize(Decimal("0.01"))
    return {"count": row["n"], "amount": amount}


def policy_state_words(*, policy_ids) -> dict[int, str]:
    """The policies hook (``register_policy_state``): what renewal operations know of a policy
    beyond its sale — lapsed (and until when it may be reinstated), reinstated, ended — for the
    policy list and page. QA (session 20): an agent's lapsed policies read "free-look ended",
    and the agent could not see that they might still be saved. In force: nothing to say."""
    from telesales.operations.choices import ServicingStatus
    from telesales.operations.models import PolicyServicing

    words: dict[int, str] = {}
    rows = (
        PolicyServicing.objects.filter(policy_id__in=list(policy_ids))
        .exclude(status=ServicingStatus.IN_FORCE)
        .values_list("policy_id", "status", "reinstatement_until", "reinstated_on", "terminated_on")
    )
    labels = dict(ServicingStatus.choices)
    for policy_id, status, until, reinstated, ended in rows:
        if status == ServicingStatus.LAPSED and until:
            words[policy_id] = _("Lapsed: may be reinstated until %(day)s") % {
                "day": until.isoformat()
            }
        elif status == ServicingStatus.REINSTATED and reinstated:
            words[policy_id] = _("Reinstated on %(day)s") % {"day": reinstated.isoformat()}
        elif status == ServicingStatus.CANCELLED:
            continue  # the policy's own status says it
        elif ended:
            words[policy_id] = _("%(status)s on %(day)s") % {
                "status": labels.get(status, status),
                "day": ended.isoformat(),
            }
        else:
            words[policy_id] = str(labels.get(status, status))
    return words
