"""The daily work of operations: take issued policies into servicing, keep their premium
schedules ahead, and move everything along the calendar.

Two services, run one after the other by the periodic task ``operations_daily_task`` (and by
``telesales operations-advance``), both idempotent and safe to run any number of times a day:

- :func:`operations_sync` finds what happened in the policies app and follows it (the policies
  app knows nothing about this app; it is never edited from here): an **issued** policy
  without a servicing record gets one (owner: the selling agent), a delivery record, its
  premium schedule and, when its product needs one, a return visit; a receipt confirmed in
  the policies app is copied to the delivery (and moves the return visit's due date); a
  policy cancelled in free-look ends its servicing (unpaid premiums waived, tasks cancelled);
  schedules are extended so that they always reach ``schedule_years_ahead`` years ahead.
- :func:`operations_advance` applies the dates: a premium unpaid the day after its due date is
  **in grace** until ``due date + grace_days``; the day after that it **lapses** and so does
  the policy (reinstatement possible for ``reinstatement_days``); renewal tasks open
  ``max(reminder_days_before)`` days before the due date and reminders are recorded at each
  offset; deliveries not sent or not delivered within ``delivery_overdue_days`` are marked
  overdue; a policy whose term has ended with every premium paid has **matured**.

Schedule decision: the schedule is created **at the issue** (not at the end of the free-look
window): the first premium is collected before the issue, so period 1 is recorded as paid on
the issue date, and a cancellation in free-look simply waives the rest. Creating it at the
issue lets the renewal queue and the persistency cohorts see a policy from its first day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from telesales.core.audit import audit_record
from telesales.leads.services import WORKING_STATUSES
from telesales.operations.choices import (
    ACTIVE_SERVICING,
    DELIVERY_OPEN,
    UNPAID,
    DeliveryStatus,
    NoticeStatus,
    PremiumStatus,
    RenewalOutcome,
    ServicingStatus,
    TaskStatus,
    VisitStatus,
)
from telesales.operations.models import (
    Delivery,
    ExitNotice,
    OperationsRuleSet,
    PolicyServicing,
    PremiumDue,
    RenewalTask,
    ReturnVisit,
)
from telesales.operations.rules import return_visit_required, ruleset_in_force
from telesales.policies.choices import INSTALMENTS_PER_YEAR, PaymentMode, PolicyStatus
from telesales.policies.models import Policy

CHUNK = 500
#: Policy statuses that mean "issued and not cancelled".
ISSUED_STATUSES = (
    PolicyStatus.ISSUED,
    PolicyStatus.RECEIPT_CONFIRMED,
    PolicyStatus.FREE_LOOK_ENDED,
)


# --- Calendar helpers ----------------------------------------------------------------------
def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later; the last day of the month when it has fewer days."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def issue_day(policy: Policy) -> dt.date:
    return timezone.localdate(policy.issued_at)


def instalments_per_year(policy: Policy) -> int:
    return INSTALMENTS_PER_YEAR[PaymentMode(policy.payment_mode)]


def is_regular_premium(policy: Policy) -> bool:
    return policy.payment_mode != PaymentMode.SINGLE


def periods_in_term(policy: Policy) -> int:
    if not is_regular_premium(policy):
        return 1
    return policy.term_years * instalments_per_year(policy)


def period_due_date(policy: Policy, period: int) -> dt.date:
    step = 12 // instalments_per_year(policy)
    return add_months(issue_day(policy), (period - 1) * step)


def policy_year_of(policy: Policy, period: int) -> int:
    return (period - 1) // instalments_per_year(policy) + 1


def first_period_of_year(policy: Policy, year: int) -> int:
    return (year - 1) * instalments_per_year(policy) + 1


def term_end(policy: Policy) -> dt.date:
    return add_months(issue_day(policy), 12 * policy.term_years)


def instalment_amount(policy: Policy) -> Decimal:
    per_year = instalments_per_year(policy) if is_regular_premium(policy) else 1
    return (policy.annualised_premium / per_year).quantize(Decimal("0.01"))


class _Rules:
    """Rule sets by day, fetched once per distinct day in a run."""

    def __init__(self) -> None:
        self._cache: dict[dt.date, OperationsRuleSet] = {}

    def on(self, day: dt.date) -> OperationsRuleSet:
        if day not in self._cache:
            self._cache[day] = ruleset_in_force(on=day)
        return self._cache[day]


def task_owner_id(servicing: PolicyServicing) -> int | None:
    """Who owns a renewal task of this policy: the servicing owner while they work here,
    else nobody (the renewal operations pool)."""
    owner = servicing.servicing_owner
    if owner is not None and owner.status in WORKING_STATUSES:
        return owner.pk
    return None


# --- Sync: follow the policies app ---------------------------------------------------------
def _schedule_rows(
    policy: Policy, *, start_period: int, until: dt.date, first_paid: bool
) -> tuple[list[PremiumDue], dt.date | None]:
    """Premium rows from ``start_period`` whose due date is on or before ``until`` (always at
    least the first period), within the term. Returns the rows and the last due date."""
    rows: list[PremiumDue] = []
    last = None
    amount = instalment_amount(policy)
    issued = issue_day(policy)
    for period in range(start_period, periods_in_term(policy) + 1):
        due = period_due_date(policy, period) if is_regular_premium(policy) else issued
        if due > until and period > 1:
            break
        row = PremiumDue(
            policy=policy,
            period=period,
            policy_year=policy_year_of(policy, period) if is_regular_premium(policy) else 1,
            due_date=due,
            amount=amount,
        )
        if period == 1 and first_paid:
            row.status = PremiumStatus.PAID
            row.paid_date = issued
            row.paid_amount = amount
            row.note = "首期保费（承保时收取）"
        rows.append(row)
        last = due
    return rows, last


def policy_servicing_open(
    *, policy: Policy, today: dt.date | None = None, rules: OperationsRuleSet | None = None
) -> PolicyServicing:
    """Take an issued policy into servicing (idempotent): the servicing record (owner: the
    selling agent), the delivery, the premium schedule up to ``schedule_years_ahead`` years
    ahead, and the return visit when the product needs one. The caller holds a transaction."""
    existing = PolicyServicing.objects.filter(policy=policy).first()
    if existing is not None:
        return existing
    today = today or timezone.localdate()
    issued = issue_day(policy)
    rules = rules or ruleset_in_force(on=issued)
    servicing = PolicyServicing.objects.create(
        policy=policy,
        in_force_since=issued,
        term_ends_on=term_end(policy),
        servicing_owner=policy.agent,
        owner_since=issued,
    )
    horizon = add_months(max(today, issued), 12 * rules.schedule_years_ahead)
    rows, last = _schedule_rows(policy, start_period=1, until=horizon, first_paid=True)
    PremiumDue.objects.bulk_create(rows)
    servicing.scheduled_until = last
    servicing.schedule_complete = rows[-1].period >= periods_in_term(policy)
    servicing.save(update_fields=["scheduled_until", "schedule_complete", "updated_at"])
    delivery = Delivery(policy=policy, method=rules.default_delivery_method)
    if policy.receipt_date:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_on = policy.receipt_date
        delivery.receipt_confirmed_on = policy.receipt_date
    delivery.save()
    if return_visit_required(
        product_code=policy.product.code, category=policy.product.category, rules=rules
    ):
        base = policy.receipt_date or issued
        ReturnVisit.objects.create(
            policy=policy, due_date=base + dt.timedelta(days=rules.return_visit_due_days)
        )
    return servicing


def _servicing_cancel(*, servicing: PolicyServicing, on: dt.date, now: dt.datetime) -> None:
    """A policy cancelled in free-look: nothing more falls due, nothing more to do."""
    PolicyServicing.objects.filter(pk=servicing.pk).update(
        status=ServicingStatus.CANCELLED, terminated_on=on, updated_at=now
    )
    close_open_work(
        policy_ids=[servicing.policy_id],
        now=now,
        outcome=RenewalOutcome.ENDED,
        note="犹豫期撤单",
    )


def close_open_work(*, policy_ids: list[int], now: dt.datetime, outcome: str, note: str) -> None:
    """End of a policy: premiums due or in grace waived, open renewal tasks, visits and exit
    notices closed. Lapsed premiums stay lapsed: they record the lapse, nothing was waived."""
    PremiumDue.objects.filter(
        policy_id__in=policy_ids, status__in=(PremiumStatus.DUE, PremiumStatus.IN_GRACE)
    ).update(status=PremiumStatus.WAIVED, note=note[:300], updated_at=now)
    RenewalTask.objects.filter(policy_id__in=policy_ids, status=TaskStatus.OPEN).update(
        status=TaskStatus.CANCELLED, outcome=outcome, done_at=now, updated_at=now
    )
    ReturnVisit.objects.filter(policy_id__in=policy_ids, status=VisitStatus.OPEN).update(
        status=VisitStatus.CANCELLED, done_at=now, updated_at=now
    )
    ExitNotice.objects.filter(policy_id__in=policy_ids, status=NoticeStatus.OPEN).update(
        status=NoticeStatus.CANCELLED, done_at=now, updated_at=now
    )


def schedule_extend(
    *, servicing: PolicyServicing, until: dt.date, policy: Policy | None = None
) -> int:
    """Add the premium rows due on or before ``until`` (within the term). Returns how many."""
    policy = policy or servicing.policy
    total = periods_in_term(policy)
    last_period = PremiumDue.objects.filter(policy=policy).aggregate(m=Max("period"))["m"] or 0
    rows: list[PremiumDue] = []
    if last_period < total:
        rows, _last = _schedule_rows(
            policy, start_period=last_period + 1, until=until, first_paid=last_period == 0
        )
        PremiumDue.objects.bulk_create(rows)
    last_period = rows[-1].period if rows else last_period
    PolicyServicing.objects.filter(pk=servicing.pk).update(
        scheduled_until=rows[-1].due_date if rows else servicing.scheduled_until,
        schedule_complete=last_period >= total,
        updated_at=timezone.now(),
    )
    return len(rows)


def operations_sync(*, today: dt.date | None = None) -> dict[str, int]:
    """Follow the policies app (see the module docstring). Works in chunks, each in its own
    transaction. Returns counts of what it did."""
    today = today or timezone.localdate()
    now = timezone.now()
    rules = _Rules()
    counts = {"opened": 0, "receipts": 0, "cancelled": 0, "extended": 0}
    # 1. Issued policies without servicing.
    last_id = 0
    while True:
        with transaction.atomic():
            batch = list(
                Policy.objects.filter(
                    status__in=ISSUED_STATUSES, servicing__isnull=True, pk__gt=last_id
                )
                .select_related("product", "agent")
                .order_by("pk")[:CHUNK]
            )
            if not batch:
                break
            last_id = batch[-1].pk
            for policy in batch:
                policy_servicing_open(policy=policy, today=today, rules=rules.on(issue_day(policy)))
                counts["opened"] += 1
    # 2. Receipts confirmed in the policies app.
    with transaction.atomic():
        for delivery in (
            Delivery.objects.select_for_update(of=("self",))
            .select_related("policy")
            .filter(receipt_confirmed_on__isnull=True, policy__receipt_date__isnull=False)
        ):
            receipt_follow(delivery=delivery, receipt_date=delivery.policy.receipt_date, now=now)
            counts["receipts"] += 1
    # 3. Policies cancelled in free-look.
    with transaction.atomic():
        for servicing in (
            PolicyServicing.objects.select_for_update(of=("self",))
            .select_related("policy")
            .filter(policy__status=PolicyStatus.CANCELLED)
            .exclude(status=ServicingStatus.CANCELLED)
        ):
            cancelled = servicing.policy.cancelled_at
            on = timezone.localdate(cancelled) if cancelled else today
            _servicing_cancel(servicing=servicing, on=on, now=now)
            counts["cancelled"] += 1
    # 4. Schedules that fall short of the horizon.
    horizon = add_months(today, 12 * rules.on(today).schedule_years_ahead)
    with transaction.atomic():
        for servicing in (
            PolicyServicing.objects.select_related("policy")
            .filter(status__in=(*ACTIVE_SERVICING, ServicingStatus.LAPSED))
            .filter(schedule_complete=False)
            .filter(Q(scheduled_until__lt=horizon) | Q(scheduled_until__isnull=True))
        ):
            counts["extended"] += schedule_extend(
                servicing=servicing, until=horizon, policy=servicing.policy
            )
    if any(counts.values()):
        audit_record(
            actor="system",
            action="operations.sync",
            object_type="operations.policyservicing",
            after={**counts, "day": today},
        )
    return counts


def receipt_follow(*, delivery: Delivery, receipt_date: dt.date, now: dt.datetime) -> None:
    """The receipt is confirmed: the delivery is done and the return visit falls due
    ``return_visit_due_days`` after the receipt. The caller holds a transaction."""
    delivery.receipt_confirmed_on = receipt_date
    fields = ["receipt_confirmed_on", "overdue_since", "updated_at"]
    delivery.overdue_since = None
    if delivery.status != DeliveryStatus.DELIVERED:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.delivered_on = delivery.delivered_on or receipt_date
        fields += ["status", "delivered_on"]
    delivery.save(update_fields=fields)
    rules = ruleset_in_force(on=receipt_date)
    ReturnVisit.objects.filter(policy_id=delivery.policy_id, status=VisitStatus.OPEN).update(
        due_date=receipt_date + dt.timedelta(days=rules.return_visit_due_days), updated_at=now
    )


# --- Advance: apply the dates --------------------------------------------------------------
def _active_dues():
    return PremiumDue.objects.filter(policy__servicing__status__in=ACTIVE_SERVICING)


def _to_grace(*, today: dt.date, rules: _Rules, now: dt.datetime) -> int:
    by_end: dict[dt.date, list[int]] = defaultdict(list)
    for pk, due in (
        _active_dues()
        .filter(status=PremiumStatus.DUE, due_date__lt=today)
        .values_list("pk", "due_date")
    ):
        by_end[due + dt.timedelta(days=rules.on(due).grace_days)].append(pk)
    moved = 0
    for end, ids in by_end.items():
        for start in range(0, len(ids), CHUNK):
            moved += PremiumDue.objects.filter(
                pk__in=ids[start : start + CHUNK], status=PremiumStatus.DUE
            ).update(status=PremiumStatus.IN_GRACE, grace_until=end, updated_at=now)
    return moved


def _to_lapsed(*, today: dt.date, rules: _Rules, now: dt.datetime) -> tuple[int, int]:
    rows = list(
        _active_dues()
        .filter(status=PremiumStatus.IN_GRACE, grace_until__lt=today)
        .values_list("pk", "policy_id", "grace_until")
    )
    if not rows:
        return 0, 0
    first_lapse: dict[int, dt.date] = {}
    for _pk, policy_id, grace_until in rows:
        day = grace_until + dt.timedelta(days=1)
        first_lapse[policy_id] = min(first_lapse.get(policy_id, day), day)
    # The lapse takes every premium of the policy that is in grace with it (the arrears).
    policy_ids = list(first_lapse)
    lapsed = 0
    for start in range(0, len(policy_ids), CHUNK):
        lapsed += PremiumDue.objects.filter(
            policy_id__in=policy_ids[start : start + CHUNK], status=PremiumStatus.IN_GRACE
        ).update(status=PremiumStatus.LAPSED, updated_at=now)
    for policy_id, lapsed_on in first_lapse.items():
        until = lapsed_on + dt.timedelta(days=rules.on(lapsed_on).reinstatement_days)
        PolicyServicing.objects.filter(policy_id=policy_id, status__in=ACTIVE_SERVICING).update(
            status=ServicingStatus.LAPSED,
            lapsed_on=lapsed_on,
            reinstatement_until=until,
            updated_at=now,
        )
    for start in range(0, len(policy_ids), CHUNK):
        RenewalTask.objects.filter(
            policy_id__in=policy_ids[start : start + CHUNK], status=TaskStatus.OPEN
        ).update(status=TaskStatus.DONE, outcome=RenewalOutcome.LAPSED, done_at=now, updated_at=now)
    return lapsed, len(policy_ids)


def _tasks_open(*, today: dt.date, rules: _Rules) -> int:
    lead_days = rules.on(today).task_lead_days
    dues = list(
        _active_dues()
        .filter(
            status__in=(PremiumStatus.DUE, PremiumStatus.IN_GRACE),
            period__gt=1,
            renewal_task__isnull=True,
            due_date__lte=today + dt.timedelta(days=lead_days),
        )
        .select_related("policy__servicing__servicing_owner")
    )
    tasks = [
        RenewalTask(
            premium_due=due,
            policy_id=due.policy_id,
            owner_id=task_owner_id(due.policy.servicing),
            due_date=due.due_date,
        )
        for due in dues
    ]
    RenewalTask.objects.bulk_create(tasks, batch_size=CHUNK)
    return len(tasks)


def _reminders(*, today: dt.date, rules: _Rules, now: dt.datetime) -> int:
    offsets = rules.on(today).reminder_offsets
    if not offsets:
        return 0
    sent = 0
    changed = []
    for task in RenewalTask.objects.filter(
        status=TaskStatus.OPEN,
        premium_due__status=PremiumStatus.DUE,
        due_date__gte=today,
        due_date__lte=today + dt.timedelta(days=offsets[0]),
    ):
        done = set(task.reminder_offsets_sent or [])
        passed = [o for o in offsets if task.due_date - dt.timedelta(days=o) <= today]
        new = [o for o in passed if o not in done]
        if not new:
            continue
        # One reminder a run, however many offsets have passed since the last one.
        task.reminder_offsets_sent = sorted(done | set(new), reverse=True)
        task.reminders_sent += 1
        task.last_reminded_on = today
        task.updated_at = now
        changed.append(task)
        sent += 1
    RenewalTask.objects.bulk_update(
        changed,
        ["reminder_offsets_sent", "reminders_sent", "last_reminded_on", "updated_at"],
        batch_size=CHUNK,
    )
    return sent


def _deliveries_overdue(*, today: dt.date, rules: _Rules, now: dt.datetime) -> int:
    days = rules.on(today).delivery_overdue_days
    marked = 0
    changed = []
    for delivery in Delivery.objects.select_related("policy").filter(
        status__in=DELIVERY_OPEN, receipt_confirmed_on__isnull=True
    ):
        start = delivery.sent_on if delivery.status == DeliveryStatus.SENT else None
        start = start or issue_day(delivery.policy)
        overdue_from = start + dt.timedelta(days=days + 1)
        value = overdue_from if overdue_from <= today else None
        if value != delivery.overdue_since:
            delivery.overdue_since = value
            delivery.updated_at = now
            changed.append(delivery)
            marked += value is not None
    Delivery.objects.bulk_update(changed, ["overdue_since", "updated_at"], batch_size=CHUNK)
    return marked


def _maturities(*, today: dt.date, now: dt.datetime) -> int:
    matured = 0
    for servicing in PolicyServicing.objects.filter(
        status__in=ACTIVE_SERVICING, term_ends_on__lte=today
    ):
        end = servicing.term_ends_on
        if (
            PremiumDue.objects.filter(policy_id=servicing.policy_id, status__in=UNPAID)
            .filter(due_date__lt=end)
            .exists()
        ):
            continue
        PolicyServicing.objects.filter(pk=servicing.pk).update(
            status=ServicingStatus.MATURED, terminated_on=end, updated_at=now
        )
        close_open_work(
            policy_ids=[servicing.policy_id], now=now, outcome=RenewalOutcome.ENDED, note="满期"
        )
        matured += 1
    return matured


def operations_advance(*, today: dt.date | None = None) -> dict[str, int]:
    """Apply the calendar (see the module docstring). One transaction; one audit row."""
    today = today or timezone.localdate()
    now = timezone.now()
    rules = _Rules()
    with transaction.atomic():
        in_grace = _to_grace(today=today, rules=rules, now=now)
        lapsed, policies_lapsed = _to_lapsed(today=today, rules=rules, now=now)
        matured = _maturities(today=today, now=now)
        tasks = _tasks_open(today=today, rules=rules)
        reminders = _reminders(today=today, rules=rules, now=now)
        overdue = _deliveries_overdue(today=today, rules=rules, now=now)
        counts = {
            "in_grace": in_grace,
            "lapsed": lapsed,
            "policies_lapsed": policies_lapsed,
            "matured": matured,
            "tasks_opened": tasks,
            "reminders": reminders,
            "deliveries_overdue": overdue,
        }
        if any(counts.values()):
            audit_record(
                actor="system",
                action="operations.advance",
                object_type="operations.premiumdue",
                after={**counts, "day": today},
            )
    return counts


def operations_daily(*, today: dt.date | None = None) -> dict[str, dict[str, int]]:
    """Sync, then advance: what the periodic task runs."""
    return {
        "sync": operations_sync(today=today),
        "advance": operations_advance(today=today),
    }
