"""Booking the next call honestly: a callback time the dial guards will refuse is refused with
the earliest time allowed, and an outcome that books a call on a won lead books a service
call (or is refused with the reason) — never "recorded" with nothing booked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telesales.calls import guards, services
from telesales.calls.choices import FollowUpKind, FollowUpStatus
from telesales.calls.models import CallAttempt, FollowUp
from telesales.calls.tests.conftest import shanghai
from telesales.calls.tests.factories import CallRuleSetFactory, FollowUpFactory, owned_lead
from telesales.core.errors import InvalidState, ValidationFailed
from telesales.leads.choices import LeadState

pytestmark = pytest.mark.django_db


def _all_day(**kw):
    return CallRuleSetFactory(
        window_start=dt.time(0, 0), window_end=dt.time(23, 59, 59, 999999), **kw
    )


# --- 1. The callback time must be callable ----------------------------------------------------
def test_earliest_dial_after_the_gap_at_the_end_of_the_day_is_the_next_morning(agent):
    """At 20:40 a dial; a callback for 20:50 waits for the 30-minute gap (21:10), which is
    past the window's close (21:00): the earliest is 09:00 the next morning."""
    rules = CallRuleSetFactory(min_minutes_between_attempts=30)
    lead = owned_lead(agent)
    CallAttempt.objects.create(lead=lead, agent=agent, started_at=shanghai(2026, 11, 30, 20, 40))
    earliest, blocks = guards.earliest_dial_at(
        lead=lead,
        at=shanghai(2026, 11, 30, 20, 50),
        rules=rules,
        now=shanghai(2026, 11, 30, 20, 41),
    )
    assert earliest == shanghai(2026, 12, 1, 9, 0)
    assert [b.code for b in blocks] == ["cool_down"]
    # Past the gap and inside the window: the time itself.
    at = shanghai(2026, 12, 1, 10, 0)
    now = shanghai(2026, 11, 30, 20, 41)
    assert guards.earliest_dial_at(lead=lead, at=at, rules=rules, now=now) == (at, [])


def test_earliest_dial_waits_for_the_daily_cap(agent):
    rules = CallRuleSetFactory(min_minutes_between_attempts=0, max_attempts_per_day=2)
    lead = owned_lead(agent)
    for minute in (0, 30):
        CallAttempt.objects.create(
            lead=lead, agent=agent, started_at=shanghai(2026, 11, 30, 10, minute)
        )
    earliest, blocks = guards.earliest_dial_at(
        lead=lead, at=shanghai(2026, 11, 30, 15, 0), rules=rules, now=shanghai(2026, 11, 30, 11)
    )
    assert earliest == shanghai(2026, 12, 1, 9, 0)
    assert [b.code for b in blocks] == ["attempts_today"]


def test_a_callback_inside_the_gap_between_dials_is_refused_with_the_earliest_time(agent, dispo):
    _all_day(min_minutes_between_attempts=30)
    lead = owned_lead(agent)
    attempt = services.call_start(lead=lead, agent=agent, actor=agent.user)
    soon = timezone.now() + dt.timedelta(minutes=10)
    with pytest.raises(ValidationFailed) as exc:
        services.disposition_record(
            attempt=attempt, disposition=dispo("callback"), actor=agent.user, callback_at=soon
        )
    earliest = timezone.localtime(attempt.started_at + dt.timedelta(minutes=30))
    (field_message,) = exc.value.details["fields"]["callback_at"]
    assert earliest.strftime("%Y-%m-%d %H:%M") in field_message
    assert "30" in field_message  # the gap between dials, the reason
    attempt.refresh_from_db()
    assert attempt.disposition_id is None
    assert not FollowUp.objects.filter(lead=lead).exists()
    # After the gap it is booked.
    later = attempt.started_at + dt.timedelta(minutes=31)
    services.disposition_record(
        attempt=attempt, disposition=dispo("callback"), actor=agent.user, callback_at=later
    )
    assert FollowUp.objects.get(lead=lead, status="open").due_at == later


def test_a_followup_booked_by_hand_inside_the_gap_is_refused(agent):
    _all_day(min_minutes_between_attempts=30)
    lead = owned_lead(agent)
    attempt = services.call_start(lead=lead, agent=agent, actor=agent.user)
    services.call_end(attempt=attempt, actor=agent.user)
    with pytest.raises(ValidationFailed) as exc:
        services.followup_schedule(
            lead=lead,
            agent=agent,
            due_at=timezone.now() + dt.timedelta(minutes=5),
            actor=agent.user,
        )
    assert "due_at" in exc.value.details["fields"]
    assert not FollowUp.objects.filter(lead=lead).exists()


# --- 2. A won lead: the callback is a service call, or refused with the reason -----------------
@pytest.fixture
def won_lead(agent):
    _all_day(min_minutes_between_attempts=0)
    lead = owned_lead(agent, state=LeadState.WON)
    old = FollowUpFactory(
        lead=lead,
        agent=agent,
        kind=FollowUpKind.FOLLOW_UP,
        sequence=2,
        due_at=timezone.now() - dt.timedelta(days=3),
    )
    return lead, old


@pytest.mark.parametrize("code", ["callback", "interested"])
def test_a_callback_on_a_won_lead_books_a_service_call_and_closes_the_cadence(
    agent, dispo, won_lead, code
):
    lead, old = won_lead
    attempt = services.call_start(lead=lead, agent=agent, actor=agent.user)
    when = timezone.now() + dt.timedelta(days=2)
    services.disposition_record(
        attempt=attempt, disposition=dispo(code), actor=agent.user, callback_at=when
    )
    booked = FollowUp.objects.get(lead=lead, status=FollowUpStatus.OPEN)
    assert (booked.kind, booked.due_at, booked.created_from_id) == ("service", when, attempt.pk)
    old.refresh_from_db()
    assert old.status == FollowUpStatus.DONE
    assert old.completed_by_id == attempt.pk
    assert services.won_followup_note() in old.note
    lead.refresh_from_db()
    assert lead.state == LeadState.WON


@pytest.mark.parametrize("code", ["callback", "interested"])
def test_a_callback_on_a_won_lead_without_a_time_is_refused_with_the_reason(
    agent, dispo, won_lead, code
):
    lead, old = won_lead
    attempt = services.call_start(lead=lead, agent=agent, actor=agent.user)
    with pytest.raises(ValidationFailed) as exc:
        services.disposition_record(attempt=attempt, disposition=dispo(code), actor=agent.user)
    assert "callback_at" in exc.value.details["fields"]
    assert "服务外呼" in exc.value.message  # booked as a service call
    attempt.refresh_from_db()
    old.refresh_from_db()
    assert attempt.disposition_id is None
    assert old.status == FollowUpStatus.OPEN


def test_a_callback_on_a_lead_closed_during_the_call_is_refused(agent, dispo):
    _all_day(min_minutes_between_attempts=0)
    lead = owned_lead(agent)
    attempt = services.call_start(lead=lead, agent=agent, actor=agent.user)
    lead.state = LeadState.LOST
    lead.save(update_fields=["state"])
    with pytest.raises(InvalidState):
        services.disposition_record(
            attempt=attempt,
            disposition=dispo("callback"),
            actor=agent.user,
            callback_at=timezone.now() + dt.timedelta(days=1),
        )
    assert not FollowUp.objects.filter(lead=lead).exists()


def test_a_sale_closes_the_open_cadence_followup_as_done_with_the_reason(agent):
    from decimal import Decimal

    from telesales.policies.tests.factories import ProductFactory

    _all_day(min_minutes_between_attempts=0)
    product = ProductFactory(allowed_terms=[1])
    lead = owned_lead(agent)
    old = FollowUpFactory(lead=lead, agent=agent, due_at=timezone.now() - dt.timedelta(hours=1))
    attempt = services.call_start(lead=lead, agent=agent, actor=agent.user)
    services.call_answer(attempt=attempt, actor=agent.user)
    services.sale_record(
        attempt=attempt,
        product=product,
        annualised_premium=Decimal("1200.00"),
        payment_mode="annual",
        term_years=1,
        insured_ids=[lead.customer_id],
        actor=agent.user,
    )
    old.refresh_from_db()
    assert old.status == FollowUpStatus.DONE
    assert old.completed_by_id == attempt.pk
    assert old.note.startswith(services.won_followup_note())


# --- 3. Leads sold or closed below the calls layer ---------------------------------------------
def test_followups_on_won_and_closed_leads_are_closed_and_open_leads_kept(agent):
    from telesales.calls.demo import seed_calls_after_sales
    from telesales.core.setup_steps import demo_steps

    past = timezone.now() - dt.timedelta(days=5)
    sold = FollowUpFactory(lead=owned_lead(agent, state=LeadState.WON), agent=agent, due_at=past)
    service = FollowUpFactory(
        lead=owned_lead(agent, state=LeadState.WON),
        agent=agent,
        kind=FollowUpKind.SERVICE,
        due_at=past,
    )
    lost = FollowUpFactory(lead=owned_lead(agent, state=LeadState.LOST), agent=agent, due_at=past)
    working = FollowUpFactory(lead=owned_lead(agent), agent=agent, due_at=past, note="再联系")
    assert seed_calls_after_sales() == {"done": 1, "cancelled": 1, "presences_moved": 0}
    for fu in (sold, service, lost, working):
        fu.refresh_from_db()
    assert sold.status == FollowUpStatus.DONE and sold.note == services.won_followup_note()
    assert lost.status == FollowUpStatus.CANCELLED
    assert service.status == working.status == FollowUpStatus.OPEN
    assert working.note == "再联系"
    again = seed_calls_after_sales()  # idempotent
    assert again == {"done": 0, "cancelled": 0, "presences_moved": 0}
    order = {s.name: s.order for s in demo_steps()}
    assert order["operations.demo"] < order["calls.followups_after_sales"]


# --- 4. A won lead of the agent's own: a callback is refused as a won lead's, not "not yours" --
@pytest.mark.parametrize("kind", ["callback", "follow_up"])
def test_a_callback_booked_on_my_won_lead_says_to_book_a_service_call(agent, api_for, kind):
    from telesales.core.tests.api_helpers import assert_error_shape

    _all_day(min_minutes_between_attempts=0)
    lead = owned_lead(agent, state=LeadState.WON)
    due = timezone.now() + dt.timedelta(days=1)
    client = api_for(agent.user)

    r = client.post_json(
        "/api/v1/workspace/followups",
        {"lead_id": lead.pk, "due_at": due.isoformat(), "kind": kind},
    )

    body = assert_error_shape(r, 409, "won_lead_needs_service_followup")
    assert "服务" in body["message"] and "service" in body["message"]
    assert "不由" not in body["message"]  # not "this lead is not worked by you"
    assert not FollowUp.objects.filter(lead=lead).exists()
    # The service call it asks for is booked.
    ok = client.post_json(
        "/api/v1/workspace/followups",
        {"lead_id": lead.pk, "due_at": due.isoformat(), "kind": "service"},
    )
    assert ok.status_code == 201, ok.content


def test_the_workspace_followup_form_on_my_won_lead_shows_the_same_refusal(agent):
    from django.test import Client
    from django.urls import reverse

    _all_day(min_minutes_between_attempts=0)
    lead = owned_lead(agent, state=LeadState.WON)
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent.user)
    due = timezone.localtime() + dt.timedelta(days=1)

    r = client.post(
        reverse("calls:workspace_followup", args=[lead.pk]),
        {"fu-due_at": due.strftime("%Y-%m-%dT%H:%M"), "fu-kind": "callback"},
        HTTP_HX_REQUEST="true",
    )

    assert r.status_code == 409
    html = r.content.decode()
    assert 'data-testid="form-error"' in html
    assert services.won_lead_service_message("callback") in html.replace("&#x27;", "'").replace(
        "&quot;", '"'
    )
    assert not FollowUp.objects.filter(lead=lead).exists()


# --- 5. A cadence that runs out: the agent is told the lead went back to the public pool -------
def test_the_workspace_says_the_lead_went_back_to_the_pool_when_the_cadence_ran_out(agent):
    from django.test import Client
    from django.urls import reverse

    from telesales.leads.choices import LeadAction
    from telesales.leads.models import LeadEvent

    _all_day(min_minutes_between_attempts=0, cadence_min_followups=1, cadence_max_followups=2)
    lead = owned_lead(agent)
    FollowUpFactory(
        lead=lead, agent=agent, sequence=2, due_at=timezone.now() - dt.timedelta(hours=1)
    )
    attempt = services.call_start(lead=lead, agent=agent, actor=agent.user)
    services.call_answer(attempt=attempt, actor=agent.user)
    client = Client(HTTP_HOST="localhost")
    client.force_login(agent.user)

    r = client.post(
        reverse("calls:workspace_disposition", args=[attempt.pk]),
        {"dispo-disposition": "interested", "dispo-note": "再想想"},
        HTTP_HX_REQUEST="true",
    )

    assert r.status_code == 200, r.content.decode()[:800]
    html = r.content.decode()
    assert "通话结果已记录：有意向。" in html
    assert "跟进 2 次后仍未成交，该线索已退回公海。" in html
    lead.refresh_from_db()
    assert (lead.state, lead.owner_id) == (LeadState.PUBLIC, None)
    event = LeadEvent.objects.get(lead=lead, action=LeadAction.RECYCLE)
    assert event.reason == "跟进 2 次后仍未成交"
