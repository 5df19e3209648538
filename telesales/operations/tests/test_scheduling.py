"""The calendar: servicing opened at the issue, the premium schedule, grace and lapse at their
day boundaries, renewal tasks and reminders, overdue deliveries, maturity, cancellation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from telesales.core.models import AuditEntry
from telesales.operations.choices import (
    DeliveryStatus,
    PremiumStatus,
    RenewalOutcome,
    ServicingStatus,
    TaskStatus,
    VisitStatus,
)
from telesales.operations.models import Delivery, PolicyServicing, PremiumDue, RenewalTask
from telesales.operations.scheduling import add_months, operations_advance, operations_sync
from telesales.operations.tests.factories import RuleSetFactory, at_noon
from telesales.policies.choices import CancelReason, PolicyStatus

D = dt.date


def dues_of(policy):
    return list(PremiumDue.objects.filter(policy=policy).order_by("period"))


def test_add_months_keeps_the_day_or_takes_the_last_day_of_a_shorter_month():
    assert add_months(D(2025, 1, 31), 1) == D(2025, 2, 28)
    assert add_months(D(2024, 1, 31), 1) == D(2024, 2, 29)
    assert add_months(D(2025, 1, 31), 2) == D(2025, 3, 31)
    assert add_months(D(2025, 11, 15), 3) == D(2026, 2, 15)
    assert add_months(D(2025, 3, 15), -12) == D(2024, 3, 15)


def test_sync_takes_an_issued_policy_into_servicing_with_schedule_delivery_and_visit(world, policy):
    p = policy(issued_on=D(2025, 1, 15))

    counts = operations_sync(today=D(2025, 1, 20))

    assert counts["opened"] == 1
    servicing = PolicyServicing.objects.get(policy=p)
    assert servicing.status == ServicingStatus.IN_FORCE
    assert servicing.servicing_owner == world.alice
    assert servicing.in_force_since == D(2025, 1, 15)
    assert servicing.term_ends_on == D(2035, 1, 15)
    dues = dues_of(p)
    # Three years ahead of the day of the sync: periods 1 to 4.
    assert [d.due_date for d in dues] == [
        D(2025, 1, 15),
        D(2026, 1, 15),
        D(2027, 1, 15),
        D(2028, 1, 15),
    ]
    assert [d.policy_year for d in dues] == [1, 2, 3, 4]
    assert dues[0].status == PremiumStatus.PAID and dues[0].paid_date == D(2025, 1, 15)
    assert all(d.status == PremiumStatus.DUE for d in dues[1:])
    assert all(d.amount == Decimal("1200.00") for d in dues)
    delivery = Delivery.objects.get(policy=p)
    assert delivery.status == DeliveryStatus.DELIVERED  # the receipt was confirmed already
    assert delivery.receipt_confirmed_on == D(2025, 1, 17)
    assert p.return_visit.due_date == D(2025, 1, 27)  # receipt + 10 days
    assert AuditEntry.objects.filter(action="operations.sync").exists()
    # Idempotent.
    assert operations_sync(today=D(2025, 1, 20))["opened"] == 0
    assert len(dues_of(p)) == 4


def test_monthly_schedule_falls_on_the_last_day_of_shorter_months(world, policy):
    p = policy(issued_on=D(2025, 1, 31), payment_mode="monthly", annualised_premium=Decimal("1200"))
    operations_sync(today=D(2025, 2, 1))
    dues = dues_of(p)
    assert [d.due_date for d in dues[:4]] == [
        D(2025, 1, 31),
        D(2025, 2, 28),
        D(2025, 3, 31),
        D(2025, 4, 30),
    ]
    assert dues[12].policy_year == 2 and dues[12].period == 13 and dues[11].policy_year == 1
    assert all(d.amount == Decimal("100.00") for d in dues)


def test_single_premium_has_one_paid_premium_and_no_renewals(world, policy):
    p = policy(payment_mode="single", annualised_premium=Decimal("5000"))
    operations_sync(today=D(2025, 2, 1))
    dues = dues_of(p)
    assert len(dues) == 1 and dues[0].status == PremiumStatus.PAID
    assert PolicyServicing.objects.get(policy=p).schedule_complete


def test_products_outside_the_rules_get_no_return_visit(world, policy):
    p = policy(product=world.acc)
    operations_sync(today=D(2025, 2, 1))
    assert not hasattr(p, "return_visit") or p.return_visit is None


def test_a_listed_product_gets_a_visit_and_an_excluded_one_does_not(world, policy):
    RuleSetFactory(
        name="v2",
        effective_from=D(2024, 1, 1),
        return_visit_products=["acc"],
        return_visit_excluded_products=["ci"],
    )
    visited = policy(product=world.acc)
    skipped = policy(product=world.ci)
    operations_sync(today=D(2025, 2, 1))
    visited.refresh_from_db()
    assert visited.return_visit.status == VisitStatus.OPEN
    from telesales.operations.models import ReturnVisit

    assert not ReturnVisit.objects.filter(policy=skipped).exists()


def test_schedule_is_extended_as_time_passes(world, policy):
    p = policy(issued_on=D(2025, 1, 15))
    operations_sync(today=D(2025, 1, 20))
    assert len(dues_of(p)) == 4
    operations_sync(today=D(2026, 1, 20))
    assert [d.period for d in dues_of(p)] == [1, 2, 3, 4, 5]
    servicing = PolicyServicing.objects.get(policy=p)
    assert servicing.scheduled_until == D(2029, 1, 15) and not servicing.schedule_complete


# --- Grace and lapse at their boundaries -----------------------------------------------------
@pytest.fixture
def annual(world, policy):
    """An annual policy issued 2025-01-15; its 2nd premium falls due 2026-01-15."""
    p = policy(issued_on=D(2025, 1, 15))
    operations_sync(today=D(2025, 1, 20))
    return p


def second(p):
    return PremiumDue.objects.get(policy=p, period=2)


def test_unpaid_premium_is_due_on_its_due_date_and_in_grace_the_day_after(annual):
    operations_advance(today=D(2026, 1, 15))
    assert second(annual).status == PremiumStatus.DUE
    operations_advance(today=D(2026, 1, 16))
    due = second(annual)
    assert due.status == PremiumStatus.IN_GRACE
    assert due.grace_until == D(2026, 3, 16)  # 60 days after the due date


def test_day_60_of_grace_is_still_grace_and_day_61_lapses(annual):
    operations_advance(today=D(2026, 1, 16))
    operations_advance(today=D(2026, 3, 16))  # day 60
    assert second(annual).status == PremiumStatus.IN_GRACE
    assert PolicyServicing.objects.get(policy=annual).status == ServicingStatus.IN_FORCE

    operations_advance(today=D(2026, 3, 17))  # day 61

    assert second(annual).status == PremiumStatus.LAPSED
    servicing = PolicyServicing.objects.get(policy=annual)
    assert servicing.status == ServicingStatus.LAPSED
    assert servicing.lapsed_on == D(2026, 3, 17)
    assert servicing.reinstatement_until == D(2026, 3, 17) + dt.timedelta(days=730)
    task = RenewalTask.objects.get(premium_due__policy=annual, premium_due__period=2)
    assert task.status == TaskStatus.DONE and task.outcome == RenewalOutcome.LAPSED


def test_a_late_run_goes_straight_from_due_to_lapsed(annual):
    operations_advance(today=D(2026, 6, 1))
    assert second(annual).status == PremiumStatus.LAPSED
    assert PolicyServicing.objects.get(policy=annual).lapsed_on == D(2026, 3, 17)


def test_grace_days_come_from_the_rule_set_in_force_on_the_due_date(world, annual):
    RuleSetFactory(name="30天", effective_from=D(2026, 1, 1), grace_days=30)
    operations_advance(today=D(2026, 1, 16))
    assert second(annual).grace_until == D(2026, 2, 14)
    operations_advance(today=D(2026, 2, 14))
    assert second(annual).status == PremiumStatus.IN_GRACE
    operations_advance(today=D(2026, 2, 15))
    assert second(annual).status == PremiumStatus.LAPSED


def test_a_lapsed_policys_later_premiums_do_not_advance(annual):
    operations_advance(today=D(2026, 3, 17))
    operations_advance(today=D(2027, 6, 1))
    third = PremiumDue.objects.get(policy=annual, period=3)
    assert third.status == PremiumStatus.DUE
    assert not RenewalTask.objects.filter(premium_due=third).exists()


# --- Renewal tasks and reminders --------------------------------------------------------------
def test_renewal_task_opens_at_the_first_reminder_and_is_owned_by_the_agent(world, annual):
    operations_advance(today=D(2025, 12, 15))  # 31 days before
    assert not RenewalTask.objects.filter(policy=annual).exists()
    operations_advance(today=D(2025, 12, 16))  # 30 days before
    task = RenewalTask.objects.get(policy=annual)
    assert task.owner == world.alice and task.due_date == D(2026, 1, 15)
    assert task.reminders_sent == 1 and task.reminder_offsets_sent == [30]
    assert task.last_reminded_on == D(2025, 12, 16)


def test_reminders_at_each_offset_once(annual):
    operations_advance(today=D(2025, 12, 16))
    operations_advance(today=D(2025, 12, 20))
    task = RenewalTask.objects.get(policy=annual)
    assert task.reminders_sent == 1
    operations_advance(today=D(2026, 1, 8))  # 7 days before
    operations_advance(today=D(2026, 1, 8))
    task.refresh_from_db()
    assert task.reminders_sent == 2 and task.reminder_offsets_sent == [30, 7]
    operations_advance(today=D(2026, 1, 14))  # 1 day before
    task.refresh_from_db()
    assert task.reminders_sent == 3 and task.reminder_offsets_sent == [30, 7, 1]


def test_a_late_run_sends_one_reminder_for_all_the_offsets_passed(annual):
    operations_advance(today=D(2026, 1, 14))
    task = RenewalTask.objects.get(policy=annual)
    assert task.reminders_sent == 1 and task.reminder_offsets_sent == [30, 7, 1]


def test_task_of_an_agent_who_no_longer_works_goes_to_the_pool(world, annual):
    world.alice.status = "left"
    world.alice.left_on = D(2025, 12, 1)
    world.alice.save()
    operations_advance(today=D(2025, 12, 20))
    assert RenewalTask.objects.get(policy=annual).owner is None


# --- Deliveries, maturity, cancellation -------------------------------------------------------
def test_a_delivery_not_sent_is_overdue_the_day_after_the_rule_sets_days(world, policy):
    p = policy(issued_on=D(2025, 5, 1), receipt_date=None, free_look_end=None, status="issued")
    operations_sync(today=D(2025, 5, 1))
    operations_advance(today=D(2025, 5, 8))  # 7 days after the issue
    assert Delivery.objects.get(policy=p).overdue_since is None
    operations_advance(today=D(2025, 5, 9))
    assert Delivery.objects.get(policy=p).overdue_since == D(2025, 5, 9)


def test_a_fully_paid_policy_matures_at_the_end_of_its_term(world, policy):
    p = policy(issued_on=D(2023, 6, 1), term_years=1, payment_mode="annual")
    operations_sync(today=D(2023, 6, 2))
    operations_advance(today=D(2024, 5, 31))
    assert PolicyServicing.objects.get(policy=p).status == ServicingStatus.IN_FORCE
    operations_advance(today=D(2024, 6, 1))
    servicing = PolicyServicing.objects.get(policy=p)
    assert servicing.status == ServicingStatus.MATURED and servicing.terminated_on == D(2024, 6, 1)


def test_a_free_look_cancellation_ends_servicing_and_waives_the_rest(world, policy):
    p = policy(issued_on=D(2025, 5, 1))
    operations_sync(today=D(2025, 5, 2))
    # The policies app records the cancellation (this app never writes its models).
    type(p).objects.filter(pk=p.pk).update(
        status=PolicyStatus.CANCELLED,
        cancelled_at=at_noon(D(2025, 5, 10)),
        cancel_reason=CancelReason.CHANGED_MIND,
    )
    counts = operations_sync(today=D(2025, 5, 11))
    assert counts["cancelled"] == 1
    servicing = PolicyServicing.objects.get(policy=p)
    assert servicing.status == ServicingStatus.CANCELLED
    assert servicing.terminated_on == D(2025, 5, 10)
    assert {d.status for d in dues_of(p)[1:]} == {PremiumStatus.WAIVED}
    assert p.return_visit.status == VisitStatus.CANCELLED


def test_cli_operations_advance_runs_the_daily_work(world, policy):
    import json
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    p = policy(issued_on=D(2025, 1, 15))
    out = StringIO()
    call_command("operations_advance", "--date", "2026-01-16", "--json", stdout=out)
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert last["sync"]["opened"] == 1 and last["advance"]["in_grace"] == 1
    assert PremiumDue.objects.get(policy=p, period=2).status == PremiumStatus.IN_GRACE
    with pytest.raises(CommandError):
        call_command("operations_advance", "--date", "tomorrow")
