"""Extended service (延伸服务): a won customer interested in a suggestion gets the next service
call booked on the lead — whether the agent records it as the service call's outcome or as the
task's outcome in the workspace — at the time agreed or after the cadence's next spacing inside
the calling window, and the task and the follow-up name what was suggested."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from telesales.calls import services
from telesales.calls.choices import CallKind, FollowUpKind, FollowUpStatus
from telesales.calls.models import FollowUp
from telesales.calls.tests.conftest import shanghai
from telesales.calls.tests.factories import CallRuleSetFactory
from telesales.core.errors import ValidationFailed
from telesales.leads.choices import LeadState
from telesales.operations.tests.factories import PolicyFactory
from telesales.policies.choices import (
    ProductCategory,
    SuggestionRule,
    TaskKind,
    TaskOutcome,
    TaskStatus,
)
from telesales.policies.models import ServiceTask

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}
EVENING = shanghai(2026, 6, 1, 20, 30)


def _suggestion_task(agent, *, due_at):
    """A won customer of ``agent`` with a critical-illness suggestion (重疾保障) due."""
    policy = PolicyFactory(agent=agent)
    lead = policy.lead
    assert (lead.state, lead.owner_id) == (LeadState.WON, agent.pk)
    task = ServiceTask.objects.create(
        kind=TaskKind.EXTENDED_SERVICE,
        policy=policy,
        customer=lead.customer,
        lead=lead,
        agent=agent,
        due_at=due_at,
        suggestion_rule=SuggestionRule.CRITICAL_ILLNESS,
        suggested_category=ProductCategory.CRITICAL_ILLNESS,
    )
    return lead, task


def _service_call(agent, lead, at):
    attempt = services.call_start(
        lead=lead, agent=agent, actor=agent.user, at=at, kind=CallKind.SERVICE
    )
    services.call_answer(attempt=attempt, actor=agent.user, at=at + dt.timedelta(seconds=8))
    return attempt


def test_interested_on_a_suggestion_call_books_a_service_call_after_the_cadence_spacing(
    agent, dispo
):
    CallRuleSetFactory(min_minutes_between_attempts=0, cadence_spacing_days=[1, 2, 3])
    lead, task = _suggestion_task(agent, due_at=EVENING - dt.timedelta(hours=3))
    attempt = _service_call(agent, lead, shanghai(2026, 6, 1, 20, 50))

    services.disposition_record(
        attempt=attempt,
        disposition=dispo("interested"),
        actor=agent.user,
        note="约周五详谈",
        at=shanghai(2026, 6, 1, 21, 10),  # recorded after the window closed
    )

    booked = FollowUp.objects.get(lead=lead, status=FollowUpStatus.OPEN)
    # One day after 21:10 is outside the 09:00–21:00 window: the morning after, it opens.
    assert (booked.kind, booked.agent_id, booked.created_from_id) == (
        FollowUpKind.SERVICE,
        agent.pk,
        attempt.pk,
    )
    assert booked.due_at == shanghai(2026, 6, 3, 9, 0)
    assert "重疾保障" in booked.note and "约周五详谈" in booked.note
    task.refresh_from_db()
    assert (task.status, task.outcome) == (TaskStatus.DONE, TaskOutcome.INTERESTED)
    assert task.note == "重疾保障（重疾险）：约周五详谈"
    lead.refresh_from_db()
    assert lead.state == LeadState.WON


@pytest.mark.parametrize("code", ["interested", "callback"])
def test_a_suggestion_call_books_the_service_call_at_the_time_agreed(agent, dispo, code):
    CallRuleSetFactory(min_minutes_between_attempts=0)
    lead, task = _suggestion_task(agent, due_at=EVENING - dt.timedelta(hours=3))
    attempt = _service_call(agent, lead, EVENING)
    when = timezone.make_aware(
        dt.datetime.combine(timezone.localdate() + dt.timedelta(days=2), dt.time(10, 0))
    )

    services.disposition_record(
        attempt=attempt,
        disposition=dispo(code),
        actor=agent.user,
        note="约周五详谈",
        callback_at=when,
        at=EVENING + dt.timedelta(minutes=5),
    )

    booked = FollowUp.objects.get(lead=lead, status=FollowUpStatus.OPEN)
    assert (booked.kind, booked.due_at) == (FollowUpKind.SERVICE, when)
    assert booked.note == "重疾保障（重疾险）：约周五详谈"
    task.refresh_from_db()
    assert (task.status, task.outcome) == (TaskStatus.DONE, TaskOutcome.INTERESTED)
    assert "重疾保障" in task.note


def test_the_workspace_task_form_books_the_service_call_of_an_interested_customer(agent):
    CallRuleSetFactory(
        name="全天窗口（测试）",
        window_start=dt.time(0, 0),
        window_end=dt.time(23, 59, 59, 999999),
        min_minutes_between_attempts=0,
        cadence_spacing_days=[2],
    )
    lead, task = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent.user)
    page = client.get(reverse("calls:workspace"), {"lead": lead.pk}).content.decode()
    action = reverse("calls:workspace_task_complete", args=[task.pk])
    assert f'action="{action}"' in page and "重疾保障（重疾险）" in page

    before = timezone.now()
    r = client.post(action, {"outcome": "interested", "note": "约周五详谈"}, **HX)

    assert r.status_code == 200, r.content.decode()[:800]
    html = r.content.decode()
    booked = FollowUp.objects.get(lead=lead, status=FollowUpStatus.OPEN)
    assert booked.kind == FollowUpKind.SERVICE and booked.created_from_id is None
    assert before + dt.timedelta(days=2) <= booked.due_at <= timezone.now() + dt.timedelta(days=2)
    assert booked.note == "重疾保障（重疾险）：约周五详谈"
    task.refresh_from_db()
    assert (task.status, task.outcome) == (TaskStatus.DONE, TaskOutcome.INTERESTED)
    assert task.note == "重疾保障（重疾险）：约周五详谈"
    # The panel says what was booked, and "Next call" shows it (not "No follow-up booked").
    assert 'data-testid="open-followup"' in html and 'data-testid="no-followup"' not in html
    assert "延伸服务已完成：有意向" in html and "已预约：服务外呼" in html


def test_a_suggestion_not_wanted_books_nothing_and_a_call_time_is_refused_for_it(agent):
    CallRuleSetFactory(min_minutes_between_attempts=0)
    lead, task = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    with pytest.raises(ValidationFailed) as exc:
        services.service_task_outcome_record(
            task=task,
            outcome=TaskOutcome.NOT_INTERESTED,
            actor=agent.user,
            callback_at=timezone.now() + dt.timedelta(days=1),
        )
    assert "callback_at" in exc.value.details["fields"]
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN

    done, booked = services.service_task_outcome_record(
        task=task, outcome=TaskOutcome.NOT_INTERESTED, actor=agent.user, note="已有重疾险"
    )
    assert booked is None and not FollowUp.objects.filter(lead=lead).exists()
    assert (done.status, done.note) == (TaskStatus.DONE, "重疾保障（重疾险）：已有重疾险")


def test_the_workspace_suggests_only_what_the_agent_may_sell(agent):
    """QA: a grade-1 trainee's workspace suggested 重疾保障 and 养老险, products of grade 2 and
    3 the sale form does not offer them: the panel keeps to their grade, as the tasks do."""
    from telesales.policies.models import Product
    from telesales.policies.suggestions import household_suggestions
    from telesales.policies.tests.factories import ProductFactory

    policy = PolicyFactory(agent=agent)
    lead = policy.lead
    Product.objects.update(is_active=False)  # the catalogue is only what follows
    for category in ProductCategory.values:
        ProductFactory(category=category, grade=1 if category == ProductCategory.ACCIDENT else 3)
    agent.capability_grade = 1
    agent.save(update_fields=["capability_grade"])
    unfiltered = {s.category for s in household_suggestions(customer=lead.customer)}
    assert unfiltered - {ProductCategory.ACCIDENT}, unfiltered  # something above grade 1

    client = Client()
    client.force_login(agent.user)
    page = client.get(reverse("calls:workspace"), {"lead": lead.pk})
    assert page.status_code == 200
    shown = {s.category for s in page.context.get("suggestions") or []}
    assert shown <= {ProductCategory.ACCIDENT}, shown


def test_the_workspace_task_form_refuses_bad_input_and_writes_nothing(agent):
    """The workspace task row's form: a call time in the past, no outcome, a task of another
    agent, an unknown task and a second submit each get a clear refusal, never a 500, and the
    task and the follow-ups stay as they were (or as the first submit left them)."""
    from telesales.calls.tests.factories import registered_agent

    CallRuleSetFactory(
        name="全天窗口（测试）",
        window_start=dt.time(0, 0),
        window_end=dt.time(23, 59, 59, 999999),
        min_minutes_between_attempts=0,
    )
    lead, task = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent.user)
    action = reverse("calls:workspace_task_complete", args=[task.pk])
    past = timezone.localtime(timezone.now() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    for data in ({"outcome": "interested", "callback_at": past}, {"outcome": ""}):
        refused = client.post(action, data, **HX)
        assert 400 <= refused.status_code < 500, (data, refused.status_code)
        task.refresh_from_db()
        assert task.status == TaskStatus.OPEN
        assert not FollowUp.objects.filter(lead=lead).exists()
    unknown = client.post(reverse("calls:workspace_task_complete", args=[999999]), {}, **HX)
    assert unknown.status_code == 404
    other = Client(HTTP_HOST="localhost")
    other.force_login(registered_agent(team=agent.team).user)
    assert other.post(action, {"outcome": "interested"}, **HX).status_code in (403, 404)

    assert client.post(action, {"outcome": "interested"}, **HX).status_code == 200
    again = client.post(action, {"outcome": "interested"}, **HX)
    assert 400 <= again.status_code < 500
    assert FollowUp.objects.filter(lead=lead, status=FollowUpStatus.OPEN).count() == 1


def _all_day_rules(spacing):
    return CallRuleSetFactory(
        name="全天窗口（测试）",
        window_start=dt.time(0, 0),
        window_end=dt.time(23, 59, 59, 999999),
        min_minutes_between_attempts=0,
        cadence_spacing_days=spacing,
    )


def test_the_task_list_books_the_service_call_of_an_interested_customer_too(agent):
    """QA: "Done · interested" on the post-sale task list (policies) recorded the outcome and
    booked nothing, so the customer who wanted to hear more was never called again. It books
    the service call as the workspace does, and the row and the message say when."""
    _all_day_rules([3])
    lead, task = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent.user)
    action = reverse("policies:task_complete", args=[task.pk])

    before = timezone.now()
    r = client.post(action, {"outcome": "interested", "note": "想了解重疾"}, **HX)

    assert r.status_code == 200, r.content.decode()[:800]
    booked = FollowUp.objects.get(lead=lead, status=FollowUpStatus.OPEN)
    assert (booked.kind, booked.agent_id) == (FollowUpKind.SERVICE, agent.pk)
    assert before + dt.timedelta(days=3) <= booked.due_at <= timezone.now() + dt.timedelta(days=3)
    assert booked.note == "重疾保障（重疾险）：想了解重疾"
    html = r.content.decode()
    when = timezone.localtime(booked.due_at).strftime("%Y-%m-%d %H:%M")
    assert 'data-testid="service-call-booked"' in html and when in html
    task.refresh_from_db()
    assert (task.status, task.outcome, task.note) == (
        TaskStatus.DONE,
        TaskOutcome.INTERESTED,
        "想了解重疾",
    )

    # Without htmx the page comes back with a message naming the time.
    lead2, task2 = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    page = client.post(
        reverse("policies:task_complete", args=[task2.pk]), {"outcome": "interested"}, follow=True
    )
    booked2 = FollowUp.objects.get(lead=lead2, status=FollowUpStatus.OPEN)
    shown = [str(m) for m in page.context["messages"]]
    assert any(timezone.localtime(booked2.due_at).strftime("%Y-%m-%d %H:%M") in m for m in shown)


def test_the_policies_api_books_it_and_answers_when(agent, api_for):
    _all_day_rules([2])
    lead, task = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    api = api_for(agent.user)

    r = api.post_json(f"/api/v1/policies/tasks/{task.pk}/complete", {"outcome": "interested"})

    assert r.status_code == 200, r.content[:500]
    booked = FollowUp.objects.get(lead=lead, status=FollowUpStatus.OPEN)
    assert booked.kind == FollowUpKind.SERVICE
    assert r.json()["service_call_due_at"] is not None
    answered = dt.datetime.fromisoformat(r.json()["service_call_due_at"])
    assert abs(answered - booked.due_at) < dt.timedelta(milliseconds=1)  # JSON keeps ms

    # Not interested: done, nothing booked, and the answer says so.
    lead2, task2 = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    r2 = api.post_json(f"/api/v1/policies/tasks/{task2.pk}/complete", {"outcome": "not_interested"})
    assert r2.status_code == 200 and r2.json()["service_call_due_at"] is None
    assert not FollowUp.objects.filter(lead=lead2).exists()


def test_the_task_list_books_nothing_when_the_customer_is_no_longer_the_agents(agent):
    """The lead went to another agent (or back to a pool) since the sale: the task's outcome
    is recorded, and no service call is booked in someone else's name or on their lead."""
    from telesales.calls.tests.factories import registered_agent
    from telesales.leads.models import Lead

    _all_day_rules([1])
    lead, task = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    Lead.objects.filter(pk=lead.pk).update(owner=registered_agent(team=agent.team))
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent.user)

    r = client.post(reverse("policies:task_complete", args=[task.pk]), {"outcome": "interested"})

    assert r.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.outcome) == (TaskStatus.DONE, TaskOutcome.INTERESTED)
    assert not FollowUp.objects.filter(lead=lead).exists()


def test_the_workspace_books_once_not_twice(agent):
    """The workspace books its own service call (at the time agreed when there is one); the
    policies hook must not add a second one."""
    _all_day_rules([2])
    lead, task = _suggestion_task(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    when = timezone.now() + dt.timedelta(days=5)

    done, booked = services.service_task_outcome_record(
        task=task, outcome=TaskOutcome.INTERESTED, actor=agent.user, callback_at=when
    )

    assert booked is not None and booked.due_at == when
    assert list(FollowUp.objects.filter(lead=lead).values_list("due_at", flat=True)) == [when]
    assert done.service_call_due_at is None


def test_a_service_task_moved_to_later_must_fall_inside_the_calling_window(agent):
    """QA (session 20): a free-look check-in moved to 22:30 on the window's last day was
    accepted — a call that could never be made, and then a missed check-in."""
    from telesales.policies.services import service_task_reschedule

    CallRuleSetFactory()
    _lead, task = _suggestion_task(agent, due_at=timezone.now() + dt.timedelta(hours=1))
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    late = shanghai(tomorrow.year, tomorrow.month, tomorrow.day, 22, 30)
    with pytest.raises(ValidationFailed) as refused:
        service_task_reschedule(task=task, due_at=late, actor=agent.user, note="客户晚上方便")
    assert "22:30" in refused.value.message and "21:00" in refused.value.message
    assert refused.value.fields["due_at"] == [refused.value.message]
    task.refresh_from_db()
    assert task.due_at != late
    evening = shanghai(tomorrow.year, tomorrow.month, tomorrow.day, 20, 30)
    moved = service_task_reschedule(task=task, due_at=evening, actor=agent.user)
    assert moved.due_at == evening
