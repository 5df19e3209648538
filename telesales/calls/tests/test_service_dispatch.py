"""Post-sale service tasks through "next lead": dispatch picks a due task's lead under the
service guards (the marketing ones skipped), so the dial the workspace or the softphone makes
of it without naming a kind is a service call, judged by the same guards; and a task whose
customer the agent already called today is not handed out again the same day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from telesales.calls import services
from telesales.calls.choices import CallKind
from telesales.calls.dispatch import next_lead
from telesales.calls.errors import NothingToDispatch
from telesales.calls.models import CallAttempt, Disposition
from telesales.calls.tests.conftest import shanghai
from telesales.calls.tests.factories import CallRuleSetFactory, DncEntryFactory
from telesales.operations.tests.factories import PolicyFactory
from telesales.policies.choices import TaskKind
from telesales.policies.models import ServiceTask

pytestmark = pytest.mark.django_db

NOON = shanghai(2026, 6, 1, 12, 0)
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def all_day(db):
    """A call rule set whose window is the whole day: the page and API tests run at any
    hour (the calling window is not what they test)."""
    return CallRuleSetFactory(
        name="全天窗口（测试）", window_start=dt.time(0, 0), window_end=dt.time(23, 59, 59)
    )


def _service_lead_on_dnc(agent, *, due_at):
    """A policyholder of ``agent`` whose number is on the DNC list (no sales call may reach
    them) with a welcome call due: the service call is the only call allowed."""
    policy = PolicyFactory(agent=agent)
    lead = policy.lead
    DncEntryFactory(number=lead.customer.mobile_e164)
    task = ServiceTask.objects.create(
        kind=TaskKind.WELCOME_CALL,
        policy=policy,
        customer=lead.customer,
        lead=lead,
        agent=agent,
        due_at=due_at,
    )
    return lead, task


def test_a_dispatched_service_task_is_dialled_as_a_service_call_and_not_handed_out_twice_a_day(
    agent,
):
    CallRuleSetFactory()
    lead, _task = _service_lead_on_dnc(agent, due_at=NOON - dt.timedelta(hours=2))

    found = next_lead(agent=agent, actor=agent.user, at=NOON)
    assert (found.source, found.lead.pk) == ("service", lead.pk)

    # No kind named: the call dispatch chose the lead for (a sales call would be refused by
    # the DNC list the service guards skipped).
    attempt = services.call_start(
        lead=found.lead, agent=agent, actor=agent.user, at=NOON + dt.timedelta(minutes=1)
    )
    assert attempt.kind == CallKind.SERVICE
    services.disposition_record(
        attempt=attempt,
        disposition=Disposition.objects.get(code="no_answer"),
        actor=agent.user,
        note="",
        at=NOON + dt.timedelta(minutes=2),
    )

    # Called today: the open task waits for tomorrow instead of coming straight back.
    with pytest.raises(NothingToDispatch):
        next_lead(agent=agent, actor=agent.user, at=NOON + dt.timedelta(minutes=10))
    tomorrow = next_lead(agent=agent, actor=agent.user, at=NOON + dt.timedelta(days=1, hours=-2))
    assert (tomorrow.source, tomorrow.lead.pk) == ("service", lead.pk)


def test_the_workspace_dials_a_service_task_in_hand_as_a_service_call(agent, all_day):
    lead, _task = _service_lead_on_dnc(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    client = Client()
    client.force_login(agent.user)

    page = client.post("/calls/workspace/next/", **HX)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-lead="{lead.pk}"' in html
    assert 'data-testid="dial-blocks"' not in html  # the service guards, as dispatch judged

    r = client.post(f"/calls/workspace/leads/{lead.pk}/call/", **HX)

    assert r.status_code == 200, r.content.decode()
    attempt = CallAttempt.objects.get()
    assert (attempt.lead_id, attempt.kind) == (lead.pk, CallKind.SERVICE)


def test_the_softphone_dials_a_service_task_in_hand_without_naming_the_kind(
    agent, api_for, all_day
):
    lead, _task = _service_lead_on_dnc(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    client = api_for(agent.user)

    handed = client.post_json("/api/v1/workspace/next-lead", {})
    assert handed.status_code == 200, handed.content
    assert (handed.json()["source"], handed.json()["lead"]["id"]) == ("service", lead.pk)

    r = client.post_json("/api/v1/workspace/calls", {"lead_id": lead.pk})

    assert r.status_code == 201, r.content
    assert r.json()["kind"] == "service"


def test_a_lead_not_handed_out_for_its_service_task_is_still_a_sales_call(agent, api_for, all_day):
    """Only what dispatch handed out for the task skips the marketing guards: the same lead
    dialled straight (not from "next lead") is a sales call, refused by the DNC list."""
    lead, _task = _service_lead_on_dnc(agent, due_at=timezone.now() - dt.timedelta(hours=1))

    r = api_for(agent.user).post_json("/api/v1/workspace/calls", {"lead_id": lead.pk})

    assert r.status_code == 409, r.content
    assert "dnc" in {b["code"] for b in r.json()["details"]["reasons"]}
    assert not CallAttempt.objects.exists()


def test_the_service_call_is_recorded_done_from_the_workspace(agent, all_day):
    # The lead panel lists the due service tasks of the lead in hand with a "done" form (the
    # workspace's, which also books an interested customer's next service call): the agent
    # records the result where the call was made.
    lead, task = _service_lead_on_dnc(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    client = Client()
    client.force_login(agent.user)

    html = client.post("/calls/workspace/next/", **HX).content.decode()
    assert 'data-testid="lead-service-tasks"' in html
    assert f'id="task-{task.pk}"' in html
    assert f'hx-post="/calls/workspace/tasks/{task.pk}/complete/"' in html

    done = client.post(
        f"/calls/workspace/tasks/{task.pk}/complete/", {"outcome": "reached", "note": ""}, **HX
    )

    assert done.status_code == 200, done.content.decode()[:500]
    task.refresh_from_db()
    assert task.status == "done"
    html = client.get(f"/calls/workspace/leads/{lead.pk}/", **HX).content.decode()
    assert 'data-testid="lead-service-tasks"' not in html  # nothing due any more


def test_a_service_task_lead_opened_from_the_list_is_called_for_its_task(agent, all_day):
    # Opened from the side list (not handed out by "next lead"), the lead's Call button is a
    # sales call, which the DNC list blocks; the service card's button is a service call.
    lead, _task = _service_lead_on_dnc(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    client = Client()
    client.force_login(agent.user)

    html = client.get(f"/calls/workspace/leads/{lead.pk}/", **HX).content.decode()
    assert 'data-testid="service-call"' in html
    blocked = client.post(f"/calls/workspace/leads/{lead.pk}/call/", **HX)
    assert blocked.status_code in (409, 422) and not CallAttempt.objects.exists()

    called = client.post(f"/calls/workspace/leads/{lead.pk}/call/", {"kind": "service"}, **HX)

    assert called.status_code == 200, called.content.decode()[:500]
    assert CallAttempt.objects.get().kind == CallKind.SERVICE


def test_a_service_call_without_an_open_task_is_refused(agent, all_day):
    lead, task = _service_lead_on_dnc(agent, due_at=timezone.now() - dt.timedelta(hours=1))
    ServiceTask.objects.filter(pk=task.pk).update(status="done", done_at=timezone.now())
    client = Client()
    client.force_login(agent.user)

    refused = client.post(f"/calls/workspace/leads/{lead.pk}/call/", {"kind": "service"}, **HX)

    assert refused.status_code in (409, 422) and not CallAttempt.objects.exists()
