"""Services of operations: deliveries and receipts, return visits, payments, reinstatement and
endings, renewal tasks, the agent-exit hook and exit notices, the rule set versions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.operations import selectors, services
from telesales.operations.choices import (
    DeliveryStatus,
    ExitReassign,
    NoticeStatus,
    PremiumStatus,
    ServicingStatus,
    TaskStatus,
    VisitOutcome,
    VisitStatus,
)
from telesales.operations.errors import (
    AmountMismatch,
    NoticeClosed,
    OwnerNotWorking,
    PolicyNotInForce,
    ReinstatementExpired,
    TaskClosed,
    VisitClosed,
    WrongDeliveryStatus,
    WrongPremiumStatus,
)
from telesales.operations.models import (
    Delivery,
    ExitNotice,
    PolicyServicing,
    PremiumDue,
    RenewalTask,
    ReturnVisit,
)
from telesales.operations.scheduling import operations_advance, operations_sync
from telesales.operations.tests.factories import RuleSetFactory
from telesales.org.services import person_update
from telesales.policies.choices import PolicyStatus

D = dt.date
TODAY = timezone.localdate()


# --- Delivery and receipt ---------------------------------------------------------------------
@pytest.fixture
def unsent(world, policy):
    """Issued 10 days ago, receipt not confirmed."""
    issued = TODAY - dt.timedelta(days=10)
    p = policy(issued_on=issued, status=PolicyStatus.ISSUED, receipt_date=None, free_look_end=None)
    operations_sync(today=issued)
    return Delivery.objects.get(policy=p)


def test_delivery_goes_out_arrives_and_the_receipt_starts_the_free_look(world, unsent):
    ops = world.ops.user
    sent = TODAY - dt.timedelta(days=8)
    d = services.delivery_send(delivery=unsent, sent_on=sent, actor=ops)
    assert d.status == DeliveryStatus.SENT and d.attempts == 1
    d = services.delivery_mark_delivered(delivery=d, delivered_on=sent, actor=ops)
    assert d.status == DeliveryStatus.DELIVERED

    d = services.delivery_receipt_confirm(
        delivery=d, receipt_date=TODAY - dt.timedelta(days=7), actor=ops
    )

    d.policy.refresh_from_db()
    assert d.receipt_confirmed_on == TODAY - dt.timedelta(days=7)
    assert d.policy.status == PolicyStatus.RECEIPT_CONFIRMED
    assert d.policy.free_look_end == TODAY - dt.timedelta(days=7) + dt.timedelta(days=15)
    visit = ReturnVisit.objects.get(policy=d.policy)
    assert visit.due_date == TODAY - dt.timedelta(days=7) + dt.timedelta(days=10)
    assert AuditEntry.objects.filter(action="operations.delivery_receipt_confirm").exists()
    with pytest.raises(WrongDeliveryStatus):
        services.delivery_receipt_confirm(delivery=d, receipt_date=TODAY, actor=ops)


def test_a_paper_policy_needs_a_tracking_reference(world, unsent):
    with pytest.raises(ValidationFailed) as info:
        services.delivery_send(delivery=unsent, sent_on=TODAY, method="paper", actor=world.ops.user)
    assert "tracking_ref" in info.value.fields
    d = services.delivery_send(
        delivery=unsent, sent_on=TODAY, method="paper", tracking_ref="SF123", actor=world.ops.user
    )
    assert d.method == "paper" and d.tracking_ref == "SF123"


def test_a_delivery_cannot_be_sent_before_the_issue_or_in_the_future(world, unsent):
    for day in (TODAY - dt.timedelta(days=11), TODAY + dt.timedelta(days=1)):
        with pytest.raises(ValidationFailed):
            services.delivery_send(delivery=unsent, sent_on=day, actor=world.ops.user)
    assert Delivery.objects.get(pk=unsent.pk).status == DeliveryStatus.PENDING


def test_failed_delivery_is_sent_again_and_a_returned_one_too(world, unsent):
    ops = world.ops.user
    d = services.delivery_send(delivery=unsent, sent_on=TODAY - dt.timedelta(days=5), actor=ops)
    with pytest.raises(ValidationFailed):
        services.delivery_mark_failed(delivery=d, failed_on=TODAY, problem="", actor=ops)
    d = services.delivery_mark_failed(
        delivery=d, failed_on=TODAY - dt.timedelta(days=4), problem="邮箱退信", actor=ops
    )
    assert d.status == DeliveryStatus.FAILED
    assert list(selectors.delivery_list(user=ops, queue="problem")) == [d]
    d = services.delivery_send(
        delivery=d,
        sent_on=TODAY - dt.timedelta(days=3),
        method="paper",
        tracking_ref="EMS1",
        actor=ops,
    )
    assert d.attempts == 2 and d.status == DeliveryStatus.SENT
    d = services.delivery_mark_returned(
        delivery=d, returned_on=TODAY - dt.timedelta(days=1), problem="地址不详", actor=ops
    )
    assert d.status == DeliveryStatus.RETURNED
    with pytest.raises(WrongDeliveryStatus):
        services.delivery_mark_delivered(delivery=d, delivered_on=TODAY, actor=ops)


def test_the_receipt_cannot_come_before_the_sending(world, unsent):
    ops = world.ops.user
    d = services.delivery_send(delivery=unsent, sent_on=TODAY - dt.timedelta(days=5), actor=ops)
    with pytest.raises(ValidationFailed):
        services.delivery_receipt_confirm(
            delivery=d, receipt_date=TODAY - dt.timedelta(days=6), actor=ops
        )
    d.policy.refresh_from_db()
    assert d.policy.status == PolicyStatus.ISSUED


def test_only_operations_work_deliveries(world, unsent):
    for person in (world.alice, world.lead_a, world.planner):
        with pytest.raises(PermissionDenied):
            services.delivery_send(delivery=unsent, sent_on=TODAY, actor=person.user)


# --- Return visits ----------------------------------------------------------------------------
@pytest.fixture
def visit(world, policy):
    p = policy(issued_on=D(2025, 5, 1))
    operations_sync(today=D(2025, 5, 2))
    return ReturnVisit.objects.get(policy=p)


def test_a_confirmed_visit_is_done(world, visit):
    v = services.return_visit_record(
        visit=visit, outcome=VisitOutcome.CONFIRMED, note="", actor=world.ops.user
    )
    assert v.status == VisitStatus.DONE and v.counts_as_done
    assert selectors.policy_withholding_status(policy_ids=[v.policy_id])[v.policy_id] == {
        "receipt_done": True,
        "return_visit_required": True,
        "return_visit_done": True,
    }
    with pytest.raises(VisitClosed):
        services.return_visit_record(
            visit=v, outcome=VisitOutcome.CONFIRMED, note="", actor=world.ops.user
        )


def test_a_visit_recorded_afterwards_is_done_when_the_call_was_made(world, visit):
    """The operator records on Monday the call they made on Friday: the visit was done on
    Friday (the withholding of the agent's commission counts from that day), not Monday."""
    made = timezone.now() - dt.timedelta(days=3)
    v = services.return_visit_record(
        visit=visit, outcome=VisitOutcome.CONFIRMED, note="", actor=world.ops.user, at=made
    )
    assert (v.status, v.done_at, v.last_attempt_at) == (VisitStatus.DONE, made, made)
    # Failed on the last attempt: done (failed) when that call was made.
    other = ReturnVisit.objects.get(pk=visit.pk)
    ReturnVisit.objects.filter(pk=other.pk).update(
        status=VisitStatus.OPEN, attempts=2, outcome="", done_at=None
    )
    v = services.return_visit_record(
        visit=ReturnVisit.objects.get(pk=visit.pk),
        outcome=VisitOutcome.UNREACHABLE,
        note="关机",
        actor=world.ops.user,
        at=made,
    )
    assert (v.status, v.done_at) == (VisitStatus.FAILED, made)


def test_unreachable_stays_open_until_the_attempts_are_used_up(world, visit):
    for attempt in (1, 2):
        v = services.return_visit_record(
            visit=visit, outcome=VisitOutcome.UNREACHABLE, note="", actor=world.ops.user
        )
        assert v.status == VisitStatus.OPEN and v.attempts == attempt
    v = services.return_visit_record(
        visit=visit, outcome=VisitOutcome.UNREACHABLE, note="关机", actor=world.ops.user
    )
    assert v.status == VisitStatus.FAILED and not v.counts_as_done
    assert "关机" in v.notes


def test_a_misunderstanding_is_flagged_to_the_team_lead_counted_and_resolved(world, visit):
    with pytest.raises(ValidationFailed):
        services.return_visit_record(
            visit=visit, outcome=VisitOutcome.MISUNDERSTANDING, note="", actor=world.ops.user
        )
    v = services.return_visit_record(
        visit=visit,
        outcome=VisitOutcome.MISUNDERSTANDING,
        note="客户以为是储蓄产品",
        actor=world.ops.user,
    )
    assert v.flagged_to == world.lead_a and v.flagged_at
    assert not v.counts_as_done
    counts = selectors.misunderstanding_counts(user=world.manager.user)
    assert counts[0]["policy__agent_id"] == world.alice.pk and counts[0]["found"] == 1
    assert counts[0]["open"] == 1
    assert list(selectors.return_visit_list(user=world.lead_a.user, queue="flagged")) == [v]
    with pytest.raises(PermissionDenied):
        services.return_visit_misunderstanding_resolve(
            visit=v, note="已解释", actor=world.lead_b.user
        )
    with pytest.raises(PermissionDenied):
        services.return_visit_misunderstanding_resolve(
            visit=v, note="已解释", actor=world.alice.user
        )

    v = services.return_visit_misunderstanding_resolve(
        visit=v, note="已重新解释保障内容", actor=world.lead_a.user
    )

    assert v.counts_as_done
    assert selectors.misunderstanding_counts(user=world.manager.user)[0]["open"] == 0
    with pytest.raises(VisitClosed):
        services.return_visit_misunderstanding_resolve(visit=v, note="再次", actor=world.ops.user)


def test_a_cancel_request_needs_a_note_and_does_not_count_as_done(world, visit):
    v = services.return_visit_record(
        visit=visit, outcome=VisitOutcome.CANCEL_REQUESTED, note="要求退保", actor=world.ops.user
    )
    assert v.status == VisitStatus.DONE and not v.counts_as_done


def test_withholding_status_without_a_visit_and_before_receipt(world, policy):
    no_visit = policy(product=world.acc)
    unconfirmed = policy(status=PolicyStatus.ISSUED, receipt_date=None, free_look_end=None)
    operations_sync(today=D(2025, 2, 1))
    status = selectors.policy_withholding_status(policy_ids=[no_visit.pk, unconfirmed.pk, 999999])
    assert status[no_visit.pk] == {
        "receipt_done": True,
        "return_visit_required": False,
        "return_visit_done": True,
    }
    assert status[unconfirmed.pk]["receipt_done"] is False
    assert status[unconfirmed.pk]["return_visit_done"] is False
    assert 999999 not in status


# --- Payments, reinstatement, endings ---------------------------------------------------------
@pytest.fixture
def annual(world, policy):
    p = policy(issued_on=D(2024, 1, 10))
    operations_sync(today=D(2024, 1, 11))
    operations_advance(today=D(2024, 12, 20))
    return p


def due2(p):
    return PremiumDue.objects.get(policy=p, period=2)


def test_operations_record_a_payment_and_the_task_closes(world, annual):
    task = RenewalTask.objects.get(premium_due=due2(annual))
    assert task.owner == world.alice
    due = services.premium_payment_record(
        due=due2(annual), paid_date=D(2025, 1, 5), amount="1200", actor=world.ops.user
    )
    assert due.status == PremiumStatus.PAID and due.paid_amount == Decimal("1200.00")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.outcome == "paid"
    assert task.done_by == world.ops.user
    with pytest.raises(WrongPremiumStatus):
        services.premium_payment_record(
            due=due, paid_date=D(2025, 1, 6), amount="1200", actor=world.ops.user
        )


@pytest.mark.parametrize(
    ("paid_date", "amount", "error"),
    [
        (D(2025, 1, 5), "1199.99", AmountMismatch),
        (D(2024, 1, 9), "1200", ValidationFailed),  # before the issue
        (TODAY + dt.timedelta(days=1), "1200", ValidationFailed),  # in the future
        (D(2025, 3, 12), "1200", WrongPremiumStatus),  # day 61: after the grace
        (D(2025, 1, 5), "-5", ValidationFailed),
        (D(2025, 1, 5), "abc", ValidationFailed),
    ],
)
def test_a_payment_that_breaks_a_rule_is_refused(world, annual, paid_date, amount, error):
    with pytest.raises(error):
        services.premium_payment_record(
            due=due2(annual), paid_date=paid_date, amount=amount, actor=world.ops.user
        )
    assert due2(annual).status == PremiumStatus.DUE


def test_agents_never_record_payments(world, annual):
    with pytest.raises(PermissionDenied):
        services.premium_payment_record(
            due=due2(annual), paid_date=D(2025, 1, 5), amount="1200", actor=world.alice.user
        )


def test_reinstatement_pays_the_arrears_within_the_window_only(world, policy):
    old = policy(issued_on=D(2022, 1, 10))
    operations_sync(today=D(2022, 1, 11))
    operations_advance(today=D(2023, 3, 12))  # the 2nd premium (2023-01-10) lapses on day 61
    servicing = PolicyServicing.objects.get(policy=old)
    assert servicing.status == ServicingStatus.LAPSED
    assert servicing.lapsed_on == D(2023, 3, 12)
    assert servicing.reinstatement_until == D(2025, 3, 11)  # 730 days
    with pytest.raises(ReinstatementExpired):
        services.policy_reinstate(policy=old, on=D(2025, 3, 12), actor="cli")
    with pytest.raises(ValidationFailed):
        services.policy_reinstate(policy=old, on=D(2023, 3, 11), actor="cli")
    with pytest.raises(WrongPremiumStatus):
        services.premium_payment_record(
            due=due2(old), paid_date=D(2023, 4, 1), amount="1200", actor=world.ops.user
        )

    servicing = services.policy_reinstate(
        policy=old, on=D(2025, 3, 11), actor=world.ops.user, note="补缴复效"
    )

    assert servicing.status == ServicingStatus.REINSTATED
    assert servicing.reinstated_on == D(2025, 3, 11)
    paid = PremiumDue.objects.filter(policy=old, status=PremiumStatus.PAID, period__gt=1)
    # Arrears: the 2nd, 3rd and 4th premiums (due 2023, 2024, 2025-01-10) paid that day.
    assert [d.period for d in paid] == [2, 3, 4]
    assert {d.paid_date for d in paid} == {D(2025, 3, 11)}
    with pytest.raises(PolicyNotInForce):
        services.policy_reinstate(policy=old, on=D(2025, 3, 11), actor="cli")
    # Reinstated policies go on like policies in force.
    operations_sync(today=D(2025, 12, 20))
    operations_advance(today=D(2025, 12, 20))
    assert RenewalTask.objects.get(policy=old, premium_due__period=5).status == TaskStatus.OPEN


def test_surrender_ends_the_policy_and_closes_its_work(world, annual):
    task = RenewalTask.objects.get(premium_due=due2(annual))
    with pytest.raises(ValidationFailed):
        services.policy_surrender(policy=annual, on=D(2024, 12, 21), actor="cli", note="")
    servicing = services.policy_surrender(
        policy=annual, on=D(2024, 12, 21), actor=world.ops.user, note="客户来电退保"
    )
    assert servicing.status == ServicingStatus.SURRENDERED
    assert servicing.terminated_on == D(2024, 12, 21)
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED
    assert due2(annual).status == PremiumStatus.WAIVED
    with pytest.raises(PolicyNotInForce):
        services.policy_transfer_out(policy=annual, on=D(2024, 12, 22), actor="cli", note="转出")
    assert AuditEntry.objects.filter(action="operations.policy_surrendered").exists()


@pytest.fixture
def lapsed(world, policy):
    """Issued 2022-01-10; the 2nd premium (due 2023-01-10) lapsed on 2023-03-12 (day 61)."""
    p = policy(issued_on=D(2022, 1, 10))
    operations_sync(today=D(2022, 1, 11))
    operations_advance(today=D(2023, 3, 12))
    assert PolicyServicing.objects.get(policy=p).lapsed_on == D(2023, 3, 12)
    assert due2(p).status == PremiumStatus.LAPSED
    return p


@pytest.mark.parametrize("on", [D(2023, 3, 11), D(2022, 6, 1), D(2022, 1, 9)])
def test_a_lapsed_policy_cannot_end_before_its_lapse(world, lapsed, on):
    with pytest.raises(ValidationFailed) as refused:
        services.policy_surrender(policy=lapsed, on=on, actor=world.ops.user, note="客户退保")
    assert refused.value.fields == {"on": ["已失效保单的终止日期不能早于失效日期（2023-03-12）"]}
    servicing = PolicyServicing.objects.get(policy=lapsed)
    assert servicing.status == ServicingStatus.LAPSED and servicing.terminated_on is None
    assert due2(lapsed).status == PremiumStatus.LAPSED
    assert not PremiumDue.objects.filter(policy=lapsed, status=PremiumStatus.WAIVED).exists()
    assert not AuditEntry.objects.filter(action="operations.policy_surrendered").exists()


def test_ending_a_lapsed_policy_keeps_its_lapsed_premiums_lapsed(world, lapsed):
    servicing = services.policy_surrender(
        policy=lapsed, on=D(2023, 3, 12), actor=world.ops.user, note="失效后退保"
    )
    assert servicing.status == ServicingStatus.SURRENDERED
    statuses = dict(PremiumDue.objects.filter(policy=lapsed).values_list("period", "status"))
    assert statuses[1] == PremiumStatus.PAID
    assert statuses[2] == PremiumStatus.LAPSED  # the lapse stays on record, nothing was waived
    later = [status for period, status in statuses.items() if period > 2]
    assert later and set(later) == {PremiumStatus.WAIVED}  # nothing falls due any more


def test_no_premium_of_a_lapsed_policy_can_be_waived_until_it_is_reinstated(world, lapsed):
    # The 3rd premium (due 2024-01-10) fell due after the lapse: the calendar leaves it "due",
    # but the policy is not in force, so nothing is forgiven on it; it is part of the arrears
    # a reinstatement collects.
    later = PremiumDue.objects.get(policy=lapsed, period=3)
    assert later.status == PremiumStatus.DUE
    with pytest.raises(PolicyNotInForce) as refused:
        services.premium_due_waive(due=later, reason="客户申请豁免", actor=world.ops.user)
    assert "2023-03-12" in refused.value.message and lapsed.number in refused.value.message
    with translation.override("en"), pytest.raises(PolicyNotInForce) as refused:
        services.premium_due_waive(due=later, reason="客户申请豁免", actor=world.ops.user)
    assert refused.value.message.startswith(f"Policy {lapsed.number} lapsed on 2023-03-12")
    # The premium due before the lapse (lapsed with it) is refused for the same reason.
    with pytest.raises(PolicyNotInForce):
        services.premium_due_waive(due=due2(lapsed), reason="客户申请豁免", actor=world.ops.user)
    assert not PremiumDue.objects.filter(policy=lapsed, status=PremiumStatus.WAIVED).exists()
    assert not AuditEntry.objects.filter(action="operations.premium_due_waive").exists()
    # Reinstated on 2023-04-01: the 2nd premium is paid as arrears, the 3rd is still to come
    # and can be waived again like any premium of a policy in force.
    services.policy_reinstate(policy=lapsed, on=D(2023, 4, 1), actor=world.ops.user)
    assert due2(lapsed).status == PremiumStatus.PAID
    waived = services.premium_due_waive(due=later, reason="豁免保费责任", actor=world.ops.user)
    assert waived.status == PremiumStatus.WAIVED


def test_no_premium_of_an_ended_policy_can_be_waived(world, lapsed):
    services.policy_surrender(
        policy=lapsed, on=D(2023, 3, 12), actor=world.ops.user, note="失效后退保"
    )
    with translation.override("en"), pytest.raises(PolicyNotInForce) as refused:
        services.premium_due_waive(
            due=PremiumDue.objects.get(policy=lapsed, period=3), reason="豁免", actor="cli"
        )
    assert refused.value.message == (
        f"Policy {lapsed.number} has ended (Surrendered on 2023-03-12): its premiums can no "
        "longer be waived."
    )


def test_a_reinstated_policy_cannot_end_before_its_reinstatement(world, lapsed):
    services.policy_reinstate(policy=lapsed, on=D(2023, 4, 1), actor=world.ops.user)
    with pytest.raises(ValidationFailed) as refused:
        services.policy_surrender(
            policy=lapsed, on=D(2023, 3, 20), actor=world.ops.user, note="客户退保"
        )
    assert refused.value.fields == {"on": ["保单终止日期不能早于复效日期（2023-04-01）"]}
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        services.policy_surrender(
            policy=lapsed, on=D(2023, 3, 20), actor=world.ops.user, note="客户退保"
        )
    assert refused.value.message == "A policy cannot end before it was reinstated (2023-04-01)"
    ended = services.policy_surrender(
        policy=lapsed, on=D(2023, 4, 1), actor=world.ops.user, note="客户退保"
    )
    assert ended.terminated_on == D(2023, 4, 1)


def test_a_surrender_may_take_effect_before_a_premium_received_later(world, annual):
    # The customer asked to surrender on 4 January; the bank still collected on the 5th (a
    # refund, not a reason to move the surrender's day).
    services.premium_payment_record(
        due=due2(annual), paid_date=D(2025, 1, 5), amount="1200", actor=world.ops.user
    )
    services.policy_surrender(policy=annual, on=D(2025, 1, 4), actor=world.ops.user, note="退保")
    servicing = PolicyServicing.objects.get(policy=annual)
    assert (servicing.status, servicing.terminated_on) == (
        ServicingStatus.SURRENDERED,
        D(2025, 1, 4),
    )
    assert due2(annual).status == PremiumStatus.PAID


@pytest.mark.parametrize(
    ("note", "field_error", "english"),
    [
        ("", "必须填写备注", "a note is required"),
        ("   ", "必须填写备注", "a note is required"),
        ("x", "至少 2 个字符", "at least 2 characters"),
        (" x ", "至少 2 个字符", "at least 2 characters"),
    ],
)
def test_a_required_note_says_whether_it_is_missing_or_too_short(
    world, annual, note, field_error, english
):
    with pytest.raises(ValidationFailed) as refused:
        services.policy_surrender(policy=annual, on=D(2024, 12, 21), actor="cli", note=note)
    assert refused.value.fields == {"note": [field_error]}
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        services.premium_due_waive(due=due2(annual), reason=note, actor=world.ops.user)
    assert refused.value.fields == {"reason": [english]}
    assert due2(annual).status == PremiumStatus.DUE


def test_waiving_a_premium_closes_its_task(world, annual):
    due = services.premium_due_waive(due=due2(annual), reason="豁免保费", actor=world.ops.user)
    assert due.status == PremiumStatus.WAIVED
    assert RenewalTask.objects.get(premium_due=due).outcome == "waived"
    with pytest.raises(WrongPremiumStatus):
        services.premium_due_waive(
            due=PremiumDue.objects.get(policy=annual, period=1), reason="x" * 3, actor="cli"
        )


# --- Renewal tasks ----------------------------------------------------------------------------
def test_renewal_contacts_by_the_owner_and_their_team_lead_only(world, annual):
    task = RenewalTask.objects.get(premium_due=due2(annual))
    task = services.renewal_task_contact_record(
        task=task, outcome="promised", note="下周缴费", actor=world.alice.user
    )
    assert task.contact_count == 1 and task.last_contact_outcome == "promised"
    services.renewal_task_contact_record(task=task, outcome="unreachable", actor=world.lead_a.user)
    for person in (world.bob, world.lead_b):
        with pytest.raises(PermissionDenied):
            services.renewal_task_contact_record(task=task, outcome="reached", actor=person.user)
    with pytest.raises(ValidationFailed):
        services.renewal_task_contact_record(task=task, outcome="refused", actor=world.ops.user)
    with pytest.raises(ValidationFailed):
        services.renewal_task_contact_record(task=task, outcome="nonsense", actor=world.ops.user)
    task.refresh_from_db()
    assert task.contact_count == 2


def test_renewal_task_assignment(world, annual):
    task = RenewalTask.objects.get(premium_due=due2(annual))
    task = services.renewal_task_assign(task=task, owner=None, actor=world.ops.user)
    assert task.owner is None
    world.amy.status, world.amy.left_on = "left", D(2024, 12, 1)
    world.amy.save()
    with pytest.raises(OwnerNotWorking):
        services.renewal_task_assign(task=task, owner=world.amy, actor=world.ops.user)
    with pytest.raises(PermissionDenied):
        services.renewal_task_assign(task=task, owner=world.bob, actor=world.alice.user)
    services.premium_payment_record(
        due=due2(annual), paid_date=D(2025, 1, 5), amount="1200", actor=world.ops.user
    )
    with pytest.raises(TaskClosed):
        services.renewal_task_contact_record(task=task, outcome="reached", actor=world.ops.user)


# --- Agent exit -------------------------------------------------------------------------------
@pytest.fixture
def book(world, policy):
    """alice's 10-year policy (renewal task open) and her one-year policy; amy's policy."""
    long = policy(issued_on=D(2024, 1, 10))
    short = policy(issued_on=D(2024, 1, 12), term_years=1, product=world.acc)
    other = policy(issued_on=D(2024, 1, 12), agent=world.amy)
    operations_sync(today=D(2024, 1, 13))
    operations_advance(today=D(2024, 12, 20))
    return long, short, other


def test_a_renewal_task_follows_its_policy_to_renewal_operations_when_the_agent_leaves(world, book):
    long, _short, other = book
    task = RenewalTask.objects.get(policy=long)
    assert task.owner == world.alice

    person_update(person=world.alice, actor=world.hr.user, status="left", left_on=D(2024, 12, 20))

    task.refresh_from_db()
    assert task.owner is None  # the renewal operations pool
    assert list(selectors.renewal_task_list(user=world.ops.user, queue="pool")) == [task]
    servicing = PolicyServicing.objects.get(policy=long)
    assert servicing.servicing_owner is None
    assert PolicyServicing.objects.get(policy=other).servicing_owner == world.amy
    notices = list(ExitNotice.objects.all())
    # Only the policy with a term longer than a year needs the notice, within 30 days.
    assert [(n.policy, n.due_date, n.new_owner) for n in notices] == [(long, D(2025, 1, 19), None)]
    # Later premiums of the policy are opened in the pool too.
    services.premium_payment_record(
        due=PremiumDue.objects.get(policy=long, period=2),
        paid_date=D(2025, 1, 5),
        amount="1200",
        actor=world.ops.user,
    )
    operations_advance(today=D(2025, 12, 20))
    assert RenewalTask.objects.get(policy=long, premium_due__period=3).owner is None


def test_the_rule_set_may_send_a_leaving_agents_policies_to_the_team_lead(world, book):
    RuleSetFactory(
        name="组长接手", effective_from=D(2024, 1, 1), exit_reassign_to=ExitReassign.TEAM_LEAD
    )
    long, _short, _other = book
    person_update(person=world.alice, actor=world.hr.user, status="left", left_on=D(2024, 12, 20))
    assert RenewalTask.objects.get(policy=long).owner == world.lead_a
    assert ExitNotice.objects.get(policy=long).new_owner == world.lead_a


def test_a_suspended_agents_tasks_go_to_the_pool_but_the_policies_stay(world, book):
    long, _short, _other = book
    person_update(person=world.alice, actor=world.hr.user, status="suspended")
    assert RenewalTask.objects.get(policy=long).owner is None
    assert PolicyServicing.objects.get(policy=long).servicing_owner == world.alice
    assert not ExitNotice.objects.exists()


def test_exit_notices_are_tracked_to_completion_and_handed_to_a_named_owner(world, book):
    long, _short, _other = book
    person_update(person=world.alice, actor=world.hr.user, status="left", left_on=D(2024, 12, 20))
    notice = ExitNotice.objects.get()
    result = services.servicing_transfer(
        from_person=world.alice, to_person=None, actor=world.ops.user, reason="x" * 3
    )
    assert result["policies"] == 0  # the pool has them already
    # The pool hands them to amy by name.
    services.policy_servicing_owner_set(
        policy=long, owner=world.amy, actor=world.ops.user, reason="由李四接手服务"
    )
    notice.refresh_from_db()
    assert notice.new_owner == world.amy
    assert RenewalTask.objects.get(policy=long).owner == world.amy
    with pytest.raises(ValidationFailed):
        services.exit_notice_complete(
            notice=notice, channel="pigeon", note="", actor=world.ops.user
        )
    notice = services.exit_notice_complete(
        notice=notice, channel="phone", note="已告知新服务人员", actor=world.ops.user
    )
    assert notice.status == NoticeStatus.DONE and notice.done_by == world.ops.user
    assert AuditEntry.objects.get(action="operations.exit_notice_complete").after["late"] is True
    with pytest.raises(NoticeClosed):
        services.exit_notice_complete(notice=notice, channel="sms", note="", actor=world.ops.user)


def test_servicing_transfer_moves_everything_a_person_serves(world, book):
    long, _short, _other = book
    result = services.servicing_transfer(
        from_person=world.alice, to_person=world.amy, actor=world.manager.user, reason="调岗交接"
    )
    assert result["policies"] == 2
    assert PolicyServicing.objects.filter(servicing_owner=world.amy).count() == 3
    assert RenewalTask.objects.get(policy=long).owner == world.amy
    with pytest.raises(ValidationFailed):
        services.servicing_transfer(
            from_person=world.amy, to_person=world.amy, actor=world.ops.user, reason="同一人"
        )


# --- Rule sets --------------------------------------------------------------------------------
def test_only_the_manager_makes_a_new_rule_version_and_bad_values_name_their_field(world):
    with pytest.raises(PermissionDenied):
        services.operations_ruleset_create(actor=world.ops.user, name="x", effective_from=TODAY)
    with pytest.raises(ValidationFailed) as info:
        services.operations_ruleset_create(
            actor=world.manager.user,
            name="v2",
            effective_from=TODAY - dt.timedelta(days=1),
        )
    assert "effective_from" in info.value.fields
    with pytest.raises(ValidationFailed) as info:
        services.operations_ruleset_create(
            actor=world.manager.user,
            name="v2",
            effective_from=TODAY,
            reminder_days_before=["x"],
            return_visit_categories=["cars"],
            return_visit_products=["nope"],
            grace_days=0,
        )
    assert {
        "reminder_days_before",
        "return_visit_categories",
        "return_visit_products",
    } <= set(info.value.fields)
    version = services.operations_ruleset_create(
        actor=world.manager.user, name="v2", effective_from=TODAY, grace_days=45
    )
    assert version.grace_days == 45 and version.reinstatement_days == 730
    from telesales.operations.rules import ruleset_in_force

    assert ruleset_in_force(on=TODAY).pk == version.pk


# --- Lapse and reinstatement of a monthly payer -----------------------------------------------
@pytest.fixture
def monthly(world, policy):
    """A monthly payer (100 a month) issued 2024-01-10 who stops paying after period 3."""
    p = policy(issued_on=D(2024, 1, 10), payment_mode="monthly", annualised_premium=Decimal("1200"))
    operations_sync(today=D(2024, 1, 11))
    for period in (2, 3):
        due = PremiumDue.objects.get(policy=p, period=period)
        services.premium_payment_record(
            due=due, paid_date=due.due_date, amount=due.amount, actor="cli"
        )
    return p


def statuses(p, periods):
    return [PremiumDue.objects.get(policy=p, period=n).status for n in periods]


def test_a_lapse_takes_the_premiums_in_grace_with_it(world, monthly):
    # Period 4 fell due 2024-04-10: grace until 2024-06-09; periods 5 and 6 are in grace then.
    operations_advance(today=D(2024, 6, 10))
    # Period 6 falls due that very day: not yet in grace, so it stays due.
    assert statuses(monthly, (4, 5, 6, 7)) == ["lapsed", "lapsed", "due", "due"]
    assert PolicyServicing.objects.get(policy=monthly).lapsed_on == D(2024, 6, 10)


def test_a_reinstatement_recorded_late_puts_the_later_premiums_back_on_the_calendar(world, monthly):
    operations_advance(today=D(2024, 6, 10))
    operations_advance(today=D(2024, 6, 30))
    services.policy_reinstate(policy=monthly, on=D(2024, 6, 12), actor=world.ops.user)
    # Arrears up to the day paid; period 7 (2024-07-10) still to come.
    assert statuses(monthly, (4, 5, 6, 7)) == ["paid", "paid", "paid", "due"]
    operations_advance(today=D(2024, 7, 11))
    assert statuses(monthly, (7,)) == ["in_grace"]
    task = RenewalTask.objects.get(premium_due__policy=monthly, premium_due__period=7)
    assert task.status == TaskStatus.OPEN


def test_a_late_receipt_brings_the_premiums_still_in_their_grace_back(world, policy):
    from telesales.operations.scheduling import add_months

    issued = add_months(TODAY, -4) - dt.timedelta(days=10)
    p = policy(issued_on=issued, payment_mode="monthly", annualised_premium=Decimal("1200"))
    operations_sync(today=issued)
    due = {n: PremiumDue.objects.get(policy=p, period=n) for n in (2, 3, 4, 5)}
    services.premium_payment_record(
        due=due[2], paid_date=due[2].due_date, amount="100", actor="cli"
    )
    operations_advance(today=due[3].due_date + dt.timedelta(days=25))  # tasks for 3 and 4
    operations_advance(today=TODAY)
    assert statuses(p, (3, 4, 5)) == ["lapsed", "lapsed", "lapsed"]
    task4 = RenewalTask.objects.get(premium_due=due[4])
    assert task4.status == TaskStatus.DONE and task4.outcome == "lapsed"

    # The receipt of period 3 arrives late, but it was paid inside its grace period.
    services.premium_payment_record(
        due=due[3],
        paid_date=due[3].due_date + dt.timedelta(days=30),
        amount="100",
        actor=world.ops.user,
    )

    assert statuses(p, (3, 4, 5)) == ["paid", "in_grace", "in_grace"]
    servicing = PolicyServicing.objects.get(policy=p)
    assert servicing.status == ServicingStatus.IN_FORCE and servicing.lapsed_on is None
    task4.refresh_from_db()
    assert task4.status == TaskStatus.OPEN and task4.outcome == ""


def test_a_new_team_lead_sees_and_resolves_a_misunderstanding_flagged_to_their_predecessor(
    world, visit
):
    """The team lead acts on the misunderstandings of their agents' customers: one flagged to
    the lead before them (who no longer sees the policy) is in the new lead's 理解偏差 queue
    and theirs to resolve; a lead of another team still may not."""
    from telesales.core.roles import Role
    from telesales.operations.tests.factories import PersonFactory, UserFactory

    v = services.return_visit_record(
        visit=visit,
        outcome=VisitOutcome.MISUNDERSTANDING,
        note="以为可随时退",
        actor=world.ops.user,
    )
    assert v.flagged_to == world.lead_a
    successor = PersonFactory(
        team=world.team_a, user=UserFactory(username="lead_a2", roles=[Role.TEAM_LEAD])
    )
    world.team_a.leader = successor
    world.team_a.save()

    assert list(selectors.return_visit_list(user=successor.user, queue="flagged")) == [v]
    assert list(selectors.return_visit_list(user=world.lead_a.user, queue="flagged")) == []
    with pytest.raises(PermissionDenied):
        services.return_visit_misunderstanding_resolve(
            visit=v, note="已解释", actor=world.lead_b.user
        )
    v = services.return_visit_misunderstanding_resolve(
        visit=v, note="已重新解释退保规则", actor=successor.user
    )
    assert v.counts_as_done and v.resolved_by == successor.user


def test_the_policy_list_and_page_say_a_policy_lapsed_and_until_when_to_reinstate(
    world, lapsed, page_for
):
    """QA (session 20): the agent's list and policy page showed a lapsed policy as "free-look
    ended", so the agent could not see that it might still be saved."""
    from django.urls import reverse

    from telesales.operations.selectors import policy_state_words

    servicing = PolicyServicing.objects.get(policy=lapsed)
    words = policy_state_words(policy_ids=[lapsed.pk])
    assert servicing.reinstatement_until.isoformat() in words[lapsed.pk]
    seller = page_for(lapsed.agent)
    listed = seller.get(reverse("policies:policy_list")).content.decode()
    assert 'data-testid="policy-state"' in listed
    assert servicing.reinstatement_until.isoformat() in listed
    page = seller.get(reverse("policies:policy_detail", args=[lapsed.pk])).content.decode()
    assert servicing.reinstatement_until.isoformat() in page
