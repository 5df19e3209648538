"""The sale and the policy life cycle: every transition, every refusal, nothing half-done."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.leads.choices import LeadState
from telesales.leads.models import Lead
from telesales.org.choices import PersonStatus
from telesales.policies import services
from telesales.policies.choices import (
    CancelReason,
    PolicyAction,
    PolicyStatus,
    TaskKind,
    TaskOutcome,
    TaskStatus,
)
from telesales.policies.errors import (
    AgentNotWorking,
    DuplicatePolicyNumber,
    FreeLookOver,
    GradeTooLow,
    LeadNotWorked,
    NotRegistered,
    ProductNotOnSale,
    TaskClosed,
    WrongStatus,
)
from telesales.policies.models import Policy, PolicyEvent, Product, ServiceTask
from telesales.policies.tests.factories import LeadFactory, RuleSetFactory

pytestmark = pytest.mark.django_db


def local(day: dt.date, hour: int = 9) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def days_ago(n: int, hour: int = 15) -> dt.datetime:
    return local(timezone.localdate() - dt.timedelta(days=n), hour)


def nothing_written(world, lead_state=LeadState.IN_PROGRESS):
    assert not Policy.objects.exists()
    assert not PolicyEvent.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="policies.").exists()
    lead = Lead.objects.get(pk=world.lead.pk)
    assert lead.state == lead_state and lead.premium == 0


# --- The sale ----------------------------------------------------------------------------
def test_sale_records_an_applied_policy_and_wins_the_lead(world, sell):
    at = days_ago(1)
    policy = sell(insured_ids=[world.holder.pk, world.spouse.pk], at=at)
    assert policy.status == PolicyStatus.APPLIED
    assert policy.applied_at == at and policy.number == ""
    assert policy.holder == world.holder and policy.agent == world.alice
    assert policy.team == world.team_a  # a snapshot of the seller's team
    assert set(policy.insured.all()) == {world.holder, world.spouse}
    assert policy.annualised_premium == Decimal("1200.00")
    assert policy.recording_ref == "rec-0001" and policy.created_by == world.alice.user
    lead = Lead.objects.get(pk=world.lead.pk)
    assert lead.state == LeadState.WON and lead.premium == Decimal("1200.00")
    event = policy.events.get()
    assert event.action == PolicyAction.APPLY and event.to_status == PolicyStatus.APPLIED
    assert AuditEntry.objects.filter(action="policies.sale_record", object_id=str(policy.pk))


def test_a_second_sale_on_a_won_lead_adds_up(world, sell):
    sell()
    sell(product=world.products["medical"], annualised_premium="300", insured_ids=[world.child.pk])
    lead = Lead.objects.get(pk=world.lead.pk)
    assert lead.state == LeadState.WON and lead.premium == Decimal("1500.00")
    assert Policy.objects.count() == 2
    # The history says what the second sale was, not a bare "won → won" (QA, session 20).
    second = lead.events.filter(from_state=LeadState.WON, to_state=LeadState.WON).get()
    assert "300.00" in second.reason


def test_a_household_member_may_be_the_holder(world, sell):
    policy = sell(holder_id=world.spouse.pk, insured_ids=[world.spouse.pk, world.child.pk])
    assert policy.holder == world.spouse


@pytest.mark.parametrize(
    "premium",
    [
        "-1",
        "0",
        "0.00",
        Decimal("-500"),
        0,
        "99999999",
        "5000.01",
        "99",
        "abc",
        "",
        "1.234",
        "NaN",
        "Infinity",
        None,
        True,
        1e308,
    ],
)
def test_sale_refuses_a_negative_zero_or_absurd_premium(world, sell, premium):
    with pytest.raises(ValidationFailed) as exc:
        sell(annualised_premium=premium)
    assert "annualised_premium" in exc.value.fields
    nothing_written(world)


def test_premium_at_the_limits_of_the_product_is_accepted(world, sell):
    assert sell(annualised_premium="100").annualised_premium == Decimal("100.00")
    assert sell(annualised_premium=5000).annualised_premium == Decimal("5000.00")


def test_sale_refuses_a_product_above_the_agents_grade(world, sell):
    with pytest.raises(GradeTooLow):
        sell(
            product=world.products["pension"],
            annualised_premium="10000",
            term_years=10,
            insured_ids=[world.holder.pk],
        )
    nothing_written(world)


def test_sale_refuses_an_unregistered_agent(world, sell):
    lead = LeadFactory(owner=world.trainee, state=LeadState.OWNED)
    with pytest.raises(NotRegistered):
        sell(
            lead=lead, agent=world.trainee, actor=world.trainee.user, insured_ids=[lead.customer_id]
        )
    assert not Policy.objects.exists()


def test_sale_refuses_an_agent_who_no_longer_works(world, sell):
    world.alice.status = PersonStatus.SUSPENDED
    world.alice.save()
    with pytest.raises(AgentNotWorking):
        sell()
    nothing_written(world)


def test_sale_refuses_a_product_not_on_sale(world, sell):
    product = world.products["accident"]
    product.is_active = False
    product.save()
    with pytest.raises(ProductNotOnSale):
        sell()
    nothing_written(world)


@pytest.mark.parametrize("state", [LeadState.PUBLIC, LeadState.LOST, LeadState.DNC])
def test_sale_refuses_a_lead_the_agent_is_not_working(world, sell, state):
    Lead.objects.filter(pk=world.lead.pk).update(
        state=state, owner=None if state == LeadState.PUBLIC else world.alice
    )
    with pytest.raises(LeadNotWorked):
        sell()
    assert not Policy.objects.exists()


def test_sale_refuses_another_agents_lead(world, sell):
    with pytest.raises(LeadNotWorked):
        sell(agent=world.bob, actor=world.bob.user)
    nothing_written(world)


def test_only_the_seller_or_the_manager_records_the_sale(world, sell):
    with pytest.raises(PermissionDenied):
        sell(actor=world.bob.user)
    with pytest.raises(PermissionDenied):
        sell(actor=world.renewal.user)
    nothing_written(world)
    assert sell(actor=world.manager.user).agent == world.alice


@pytest.mark.parametrize(
    "insured",
    ["stranger", "empty", "missing", "strings", "too_many"],
)
def test_sale_refuses_insured_persons_outside_the_household(world, sell, insured):
    ids = {
        "stranger": [world.holder.pk, world.stranger.pk],
        "empty": [],
        "missing": [world.holder.pk, 999_999],
        "strings": ["1"],
        "too_many": list(range(1, 13)),
    }[insured]
    with pytest.raises(ValidationFailed) as exc:
        sell(insured_ids=ids)
    assert "insured_ids" in exc.value.fields
    nothing_written(world)


def test_sale_refuses_a_holder_outside_the_household(world, sell):
    with pytest.raises(ValidationFailed) as exc:
        sell(holder_id=world.stranger.pk, insured_ids=[world.stranger.pk])
    assert "holder_id" in exc.value.fields
    nothing_written(world)


def test_a_customer_without_household_can_only_insure_themselves(world, sell):
    lead = LeadFactory(customer=world.stranger, owner=world.alice, state=LeadState.OWNED)
    assert sell(lead=lead, insured_ids=[world.stranger.pk]).holder == world.stranger
    with pytest.raises(ValidationFailed):
        sell(lead=lead, insured_ids=[world.stranger.pk, world.holder.pk])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("payment_mode", "quarterly"),  # a real mode the product does not allow
        ("payment_mode", "weekly"),
        ("payment_mode", ""),
        ("term_years", 5),
        ("term_years", 0),
        ("term_years", "1"),
        ("term_years", True),
    ],
)
def test_sale_refuses_a_payment_mode_or_term_the_product_does_not_allow(world, sell, field, value):
    with pytest.raises(ValidationFailed) as exc:
        sell(**{field: value})
    assert field in exc.value.fields
    nothing_written(world)


def test_sale_refuses_a_time_in_the_future(world, sell):
    with pytest.raises(ValidationFailed) as exc:
        sell(at=timezone.now() + dt.timedelta(hours=2))
    assert "at" in exc.value.fields
    nothing_written(world)


def test_every_problem_with_the_terms_is_reported_at_once(world, sell):
    with pytest.raises(ValidationFailed) as exc:
        sell(annualised_premium="-5", payment_mode="weekly", term_years=99)
    assert set(exc.value.fields) == {"annualised_premium", "payment_mode", "term_years"}


# --- Issue ----------------------------------------------------------------------------------
def test_issue_numbers_the_policy_and_schedules_the_stabilisation_tasks(world, sell):
    policy = sell(at=days_ago(3))
    issued_at = days_ago(2, hour=16)
    policy = services.policy_issue(policy=policy, issued_at=issued_at, actor=world.renewal.user)
    assert policy.status == PolicyStatus.ISSUED and policy.issued_at == issued_at
    issue_day = timezone.localdate(issued_at)
    assert policy.number == f"TS{issue_day:%Y%m%d}{policy.pk:07d}"
    welcome = ServiceTask.objects.get(policy=policy, kind=TaskKind.WELCOME_CALL)
    checkin = ServiceTask.objects.get(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN)
    # Day 1 after the issue; and 3 days before the window (15 days, estimated from the issue
    # until the receipt is confirmed) ends; at 09:00 local time.
    assert welcome.due_at == local(issue_day + dt.timedelta(days=1))
    assert checkin.due_at == local(issue_day + dt.timedelta(days=15 - 3))
    for task in (welcome, checkin):
        assert task.agent == world.alice and task.customer == world.holder
        assert task.lead == world.lead and task.status == TaskStatus.OPEN
        assert "张伟" in task.script and "REG-ALICE" in task.script
    assert policy.number in welcome.script
    assert policy.events.filter(action=PolicyAction.ISSUE).exists()


def test_the_rule_set_in_force_sets_the_days(world, sell):
    RuleSetFactory(
        welcome_call_day=2,
        checkin_days_before_end=5,
        task_due_hour=10,
        effective_from=dt.date(2021, 1, 1),
    )
    RuleSetFactory(welcome_call_day=0, effective_from=timezone.localdate() + dt.timedelta(days=30))
    policy = services.policy_issue(
        policy=sell(at=days_ago(3)), issued_at=days_ago(2), actor=world.renewal.user
    )
    issue_day = policy.issue_date
    assert ServiceTask.objects.get(policy=policy, kind=TaskKind.WELCOME_CALL).due_at == local(
        issue_day + dt.timedelta(days=2), 10
    )
    assert ServiceTask.objects.get(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN).due_at == local(
        issue_day + dt.timedelta(days=10), 10
    )


def test_issue_with_a_given_number(world, sell):
    policy = services.policy_issue(policy=sell(), number=" P-2026-0001 ", actor=world.manager.user)
    assert policy.number == "P-2026-0001"


def test_issuing_twice_is_refused(world, sell):
    policy = services.policy_issue(policy=sell(), actor=world.renewal.user)
    with pytest.raises(WrongStatus):
        services.policy_issue(policy=policy, actor=world.renewal.user)
    assert ServiceTask.objects.filter(kind=TaskKind.WELCOME_CALL).count() == 1


def test_a_policy_number_is_unique(world, sell):
    services.policy_issue(policy=sell(), number="P0001", actor=world.renewal.user)
    other = sell(product=world.products["medical"], annualised_premium="300")
    with pytest.raises(DuplicatePolicyNumber):
        services.policy_issue(policy=other, number="P0001", actor=world.renewal.user)
    other.refresh_from_db()
    assert other.status == PolicyStatus.APPLIED and not other.tasks.exists()


@pytest.mark.parametrize("number", ["", "ab", "x" * 40, "P 01", "保单123", "-P001"])
def test_a_malformed_policy_number_is_refused(world, sell, number):
    with pytest.raises(ValidationFailed) as exc:
        services.policy_issue(policy=sell(), number=number, actor=world.renewal.user)
    assert "number" in exc.value.fields


def test_issue_before_the_application_or_in_the_future_is_refused(world, sell):
    policy = sell(at=days_ago(2))
    for when in (days_ago(3), timezone.now() + dt.timedelta(days=1)):
        with pytest.raises(ValidationFailed) as exc:
            services.policy_issue(policy=policy, issued_at=when, actor=world.renewal.user)
        assert "issued_at" in exc.value.fields
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.APPLIED


def test_agents_and_team_leads_do_not_issue(world, sell):
    policy = sell()
    for person in (world.alice, world.lead_a, world.planner):
        with pytest.raises(PermissionDenied):
            services.policy_issue(policy=policy, actor=person.user)


# --- Receipt -----------------------------------------------------------------------------
def test_receipt_before_issue_is_refused(world, sell):
    with pytest.raises(WrongStatus):
        services.policy_receipt_confirm(
            policy=sell(), receipt_date=timezone.localdate(), actor=world.renewal.user
        )


def test_receipt_starts_the_free_look_window_and_moves_the_checkin(world, sell):
    policy = services.policy_issue(
        policy=sell(at=days_ago(6)), issued_at=days_ago(5), actor=world.renewal.user
    )
    receipt = timezone.localdate() - dt.timedelta(days=1)
    policy = services.policy_receipt_confirm(
        policy=policy, receipt_date=receipt, actor=world.renewal.user
    )
    assert policy.status == PolicyStatus.RECEIPT_CONFIRMED
    assert policy.free_look_end == receipt + dt.timedelta(days=15)
    checkin = ServiceTask.objects.get(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN)
    assert checkin.due_at == local(policy.free_look_end - dt.timedelta(days=3))
    assert policy.free_look_end.isoformat() in checkin.script


def test_the_free_look_days_come_from_the_product(world, sell):
    world.alice.capability_grade = 3
    world.alice.save()
    policy = sell(
        product=world.products["pension"],
        annualised_premium="10000",
        payment_mode="single",
        term_years=5,
    )
    policy = services.policy_issue(policy=policy, actor=world.renewal.user)
    today = timezone.localdate()
    policy = services.policy_receipt_confirm(
        policy=policy, receipt_date=today, actor=world.renewal.user
    )
    assert policy.free_look_end == today + dt.timedelta(days=20)


def test_a_late_receipt_makes_the_checkin_due_now(world, sell):
    policy = services.policy_issue(
        policy=sell(at=days_ago(21)), issued_at=days_ago(20), actor=world.renewal.user
    )
    before = timezone.now()
    services.policy_receipt_confirm(
        policy=policy,
        receipt_date=timezone.localdate() - dt.timedelta(days=14),
        actor=world.renewal.user,
    )
    checkin = ServiceTask.objects.get(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN)
    assert before <= checkin.due_at <= timezone.now()


@pytest.mark.parametrize("offset", [-10, 1])
def test_a_receipt_before_the_issue_or_in_the_future_is_refused(world, sell, offset):
    policy = services.policy_issue(
        policy=sell(at=days_ago(6)), issued_at=days_ago(5), actor=world.renewal.user
    )
    when = timezone.localdate() + dt.timedelta(days=offset)
    with pytest.raises(ValidationFailed) as exc:
        services.policy_receipt_confirm(policy=policy, receipt_date=when, actor=world.renewal.user)
    assert "receipt_date" in exc.value.fields
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.ISSUED and policy.free_look_end is None


def test_a_receipt_is_confirmed_once(world, sell):
    policy = services.policy_issue(policy=sell(), actor=world.renewal.user)
    today = timezone.localdate()
    services.policy_receipt_confirm(policy=policy, receipt_date=today, actor=world.renewal.user)
    with pytest.raises(WrongStatus):
        services.policy_receipt_confirm(policy=policy, receipt_date=today, actor=world.renewal.user)


# --- Free-look: end and cancellation ---------------------------------------------------------
def _confirmed(world, sell, *, receipt_days_ago: int, **kw):
    policy = sell(at=days_ago(receipt_days_ago + 2), **kw)
    policy = services.policy_issue(
        policy=policy, issued_at=days_ago(receipt_days_ago + 1), actor=world.renewal.user
    )
    return services.policy_receipt_confirm(
        policy=policy,
        receipt_date=timezone.localdate() - dt.timedelta(days=receipt_days_ago),
        actor=world.renewal.user,
    )


def test_the_window_closes_the_day_after_it_ends(world, sell):
    ended = _confirmed(world, sell, receipt_days_ago=16)  # window ended yesterday
    last_day = _confirmed(world, sell, receipt_days_ago=15)  # today is its last day
    issued = services.policy_issue(policy=sell(), actor=world.renewal.user)
    assert services.policies_free_look_close() == 1
    ended.refresh_from_db()
    last_day.refresh_from_db()
    issued.refresh_from_db()
    assert ended.status == PolicyStatus.FREE_LOOK_ENDED and ended.free_look_ended_at
    assert last_day.status == PolicyStatus.RECEIPT_CONFIRMED
    assert issued.status == PolicyStatus.ISSUED
    assert ended.events.filter(action=PolicyAction.FREE_LOOK_END).exists()
    # Stabilisation calls still open were missed (not "no longer needed"); extended service
    # goes on.
    stab = ServiceTask.objects.filter(policy=ended, kind__in=["welcome_call", "free_look_checkin"])
    assert {t.status for t in stab} == {TaskStatus.MISSED}
    assert {t.outcome for t in stab} == {""} and all(t.done_at for t in stab)
    ext = ServiceTask.objects.filter(policy=ended, kind=TaskKind.EXTENDED_SERVICE)
    assert ext and {t.status for t in ext} <= {TaskStatus.OPEN}
    assert services.policies_free_look_close() == 0
    tomorrow = timezone.now() + dt.timedelta(days=1)
    assert services.policies_free_look_close(now=tomorrow) == 1


def test_the_celery_task_closes_windows(world, sell):
    from telesales.policies.tasks import policies_free_look_close_task

    _confirmed(world, sell, receipt_days_ago=30)
    assert policies_free_look_close_task.delay().get() == {"ended": 1}


def test_cancel_inside_the_free_look_window(world, sell):
    policy = _confirmed(world, sell, receipt_days_ago=3)
    policy = services.policy_free_look_cancel(
        policy=policy,
        reason=CancelReason.CANNOT_AFFORD,
        note="孩子上学开销大",
        actor=world.renewal.user,
    )
    assert policy.status == PolicyStatus.CANCELLED and policy.cancelled_at
    assert (
        policy.cancel_reason == CancelReason.CANNOT_AFFORD
        and policy.cancel_note == "孩子上学开销大"
    )
    assert set(policy.tasks.values_list("status", flat=True)) == {TaskStatus.CANCELLED}
    event = policy.events.get(action=PolicyAction.CANCEL)
    assert event.from_status == PolicyStatus.RECEIPT_CONFIRMED and "孩子上学开销大" in event.reason


def test_cancel_before_the_receipt_is_possible(world, sell):
    policy = services.policy_issue(policy=sell(), actor=world.renewal.user)
    policy = services.policy_free_look_cancel(
        policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.manager.user
    )
    assert policy.status == PolicyStatus.CANCELLED


def test_cancel_after_the_free_look_window_is_refused(world, sell):
    policy = _confirmed(world, sell, receipt_days_ago=16)
    with pytest.raises(FreeLookOver):  # the window passed, the periodic job has not run yet
        services.policy_free_look_cancel(
            policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
        )
    services.policies_free_look_close()
    with pytest.raises(FreeLookOver):
        services.policy_free_look_cancel(
            policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
        )
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.FREE_LOOK_ENDED


def test_cancel_of_an_applied_or_cancelled_policy_is_refused(world, sell):
    policy = sell()
    with pytest.raises(WrongStatus):
        services.policy_free_look_cancel(
            policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
        )
    services.policy_issue(policy=policy, actor=world.renewal.user)
    services.policy_free_look_cancel(
        policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
    )
    with pytest.raises(WrongStatus):
        services.policy_free_look_cancel(
            policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
        )


@pytest.mark.parametrize(
    ("reason", "note", "field"),
    [
        ("bored", "", "reason"),
        ("", "", "reason"),
        ("other", "  ", "note"),
        ("other", "x" * 1001, "note"),
    ],
)
def test_cancel_needs_a_known_reason_and_a_note_for_other(world, sell, reason, note, field):
    policy = services.policy_issue(policy=sell(), actor=world.renewal.user)
    with pytest.raises(ValidationFailed) as exc:
        services.policy_free_look_cancel(
            policy=policy, reason=reason, note=note, actor=world.renewal.user
        )
    assert field in exc.value.fields
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.ISSUED


def test_agents_do_not_process_cancellations(world, sell):
    policy = services.policy_issue(policy=sell(), actor=world.renewal.user)
    with pytest.raises(PermissionDenied):
        services.policy_free_look_cancel(
            policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.alice.user
        )


# --- Service tasks -------------------------------------------------------------------------
@pytest.fixture
def welcome(world, sell):
    policy = services.policy_issue(policy=sell(), actor=world.renewal.user)
    return ServiceTask.objects.get(policy=policy, kind=TaskKind.WELCOME_CALL)


def test_the_agent_completes_their_task(world, welcome):
    task = services.service_task_complete(
        task=welcome, outcome=TaskOutcome.REACHED, note="客户很满意", actor=world.alice.user
    )
    assert task.status == TaskStatus.DONE and task.done_at and task.done_by == world.alice.user
    assert task.outcome == TaskOutcome.REACHED
    with pytest.raises(TaskClosed):
        services.service_task_complete(
            task=welcome, outcome=TaskOutcome.REACHED, note="", actor=world.alice.user
        )


def test_the_team_lead_and_the_manager_may_complete_it_another_agent_may_not(world, welcome):
    for person in (world.bob, world.lead_b, world.renewal):
        with pytest.raises(PermissionDenied):
            services.service_task_complete(
                task=welcome, outcome=TaskOutcome.REACHED, note="", actor=person.user
            )
    services.service_task_complete(
        task=welcome, outcome=TaskOutcome.NOT_REACHED, note="", actor=world.lead_a.user
    )


@pytest.mark.parametrize(
    ("outcome", "note"),
    [("interested", ""), ("converted", ""), ("expired", ""), ("nonsense", ""), ("concern", "")],
)
def test_a_task_outcome_must_fit_its_kind(world, welcome, outcome, note):
    with pytest.raises(ValidationFailed):
        services.service_task_complete(
            task=welcome, outcome=outcome, note=note, actor=world.alice.user
        )
    welcome.refresh_from_db()
    assert welcome.status == TaskStatus.OPEN


def test_a_follow_up_in_the_past_is_refused(world, welcome):
    with pytest.raises(ValidationFailed) as exc:
        services.service_task_reschedule(
            task=welcome, due_at=timezone.now() - dt.timedelta(hours=1), actor=world.alice.user
        )
    assert "due_at" in exc.value.fields
    # Two days ahead, inside the calling window whatever the hour the suite runs.
    later = local(timezone.localdate() + dt.timedelta(days=2), 10)
    assert (
        services.service_task_reschedule(task=welcome, due_at=later, actor=world.alice.user).due_at
        == later
    )


def test_a_stabilisation_call_cannot_move_past_the_window(world, welcome):
    policy = services.policy_receipt_confirm(
        policy=welcome.policy, receipt_date=timezone.localdate(), actor=world.renewal.user
    )
    with pytest.raises(ValidationFailed) as exc:
        services.service_task_reschedule(
            task=welcome,
            due_at=local(policy.free_look_end + dt.timedelta(days=1)),
            actor=world.alice.user,
        )
    assert "due_at" in exc.value.fields


def test_a_leaving_agents_open_tasks_go_to_their_team_lead(world, welcome):
    from telesales.org.services import person_update

    person_update(
        person=world.alice,
        actor=world.manager.user,
        status=PersonStatus.LEFT,
        left_on=timezone.localdate(),
    )
    welcome.refresh_from_db()
    assert welcome.agent == world.lead_a
    assert not ServiceTask.objects.filter(agent=world.alice, status=TaskStatus.OPEN).exists()


def test_leads_with_open_tasks_are_exempt_from_recycling(world, welcome):
    from telesales.leads.recycling import exempt_lead_ids

    other = LeadFactory(owner=world.alice, state=LeadState.OWNED)
    assert exempt_lead_ids([world.lead.pk, other.pk]) == {world.lead.pk}
    ServiceTask.objects.filter(lead=world.lead).update(
        status=TaskStatus.DONE, done_at=timezone.now()
    )
    assert exempt_lead_ids([world.lead.pk, other.pk]) == set()


def test_cancelling_one_policy_keeps_the_households_suggestions_on_the_policy_kept(world, sell):
    """QA (session 20): two policies sold on one call, the first cancelled in free look: its
    extended-service suggestion (the household had no pension) was cancelled with it, though
    the customer kept the second policy and still had no pension."""
    first = _confirmed(world, sell, receipt_days_ago=3)
    suggestions = set(
        first.tasks.filter(kind=TaskKind.EXTENDED_SERVICE).values_list("pk", flat=True)
    )
    assert suggestions
    second = sell(product=world.products["medical"], annualised_premium="300")
    second = services.policy_issue(policy=second, actor=world.renewal.user)
    services.policy_free_look_cancel(
        policy=first, reason=CancelReason.CANNOT_AFFORD, note="", actor=world.renewal.user
    )
    moved = ServiceTask.objects.filter(pk__in=suggestions)
    assert {(t.policy_id, t.status) for t in moved} == {(second.pk, TaskStatus.OPEN)}
    assert first.tasks.filter(status=TaskStatus.OPEN).count() == 0
    entry = AuditEntry.objects.filter(action="policies.policy_free_look_cancel").latest("id")
    assert entry.after["tasks_moved"] == len(suggestions) and entry.after["moved_to"] == second.pk


@pytest.mark.parametrize(("years_old", "refused"), [(17, False), (18, True), (0, False)])
def test_a_childrens_product_insures_only_the_ages_it_names(world, sell, years_old, refused):
    """QA (session 20): the children's accident cover (0–17) was sold with a 57-year-old
    insured. The insured's age on the day of the sale, in whole years (周岁), must lie in the
    product's range; a birth date nobody recorded holds nothing against the sale."""
    product = world.products["accident"]
    Product.objects.filter(pk=product.pk).update(min_insured_age=0, max_insured_age=17)
    product.refresh_from_db()
    today = timezone.localdate()
    born = today.replace(year=today.year - years_old)
    if refused:  # the birthday was yesterday: 18 today
        born -= dt.timedelta(days=1)
    else:  # the 18th birthday is tomorrow: still 17
        born += dt.timedelta(days=1) if years_old else dt.timedelta(days=0)
    world.child.birth_date = born
    world.child.save(update_fields=["birth_date"])
    if refused:
        with pytest.raises(ValidationFailed) as exc:
            sell(product=product, insured_ids=[world.child.pk])
        assert "0–17" in exc.value.fields["insured_ids"][0] or "0 to 17" in str(exc.value.fields)
        assert not Policy.objects.exists()
    else:
        assert sell(product=product, insured_ids=[world.child.pk]).pk
    world.spouse.birth_date = None
    world.spouse.save(update_fields=["birth_date"])
    assert sell(product=product, insured_ids=[world.spouse.pk]).pk  # unknown age: not held


def test_a_products_age_range_is_checked(world):
    with pytest.raises(ValidationFailed) as exc:
        services.product_update(
            product=world.products["accident"],
            actor=world.manager.user,
            min_insured_age=18,
            max_insured_age=17,
        )
    assert "max_insured_age" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.product_update(
            product=world.products["accident"], actor=world.manager.user, max_insured_age=121
        )
    assert "max_insured_age" in exc.value.fields
