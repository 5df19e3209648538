"""The workspace page: a callback time the dial guards refuse, a callback on a won lead, and
the sale form's premium as people type it (helpers from ``test_workspace_views``)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from telesales.calls.choices import FollowUpKind, FollowUpStatus
from telesales.calls.models import FollowUp
from telesales.calls.tests import test_workspace_views as views
from telesales.calls.tests.factories import FollowUpFactory
from telesales.calls.tests.test_workspace_views import (
    HX,
    answered_call,
    local_input,
    sale_data,
    url,
)
from telesales.leads.choices import LeadState
from telesales.policies.models import Policy

pytestmark = pytest.mark.django_db

# The page tests' world, clients and leak check (fixtures), shared.
world = views.world
recorder = views.recorder
no_leaks = views.no_leaks
agent_client = views.agent_client


def _field_error(html: str, field: str) -> list[str]:
    return re.findall(rf'data-testid="field-error-{field}">(.*?)</div>', html, re.S)


# --- 1. A callback inside the gap between dials -----------------------------------------------
def test_a_callback_inside_the_gap_between_dials_is_refused_with_the_earliest_time(
    world, agent_client
):
    """The page's own rule set asks 30 minutes between dials: a callback 10 minutes after
    the call is refused next to the field with the earliest time, and nothing is booked."""
    attempt = answered_call(agent_client, world.lead)
    soon = timezone.now() + dt.timedelta(minutes=10)
    response = agent_client.post(
        url("workspace_disposition", attempt.pk),
        {"dispo-disposition": "callback", "dispo-callback_at": local_input(soon)},
        **HX,
    )
    assert response.status_code == 422
    (error,) = _field_error(response.content.decode(), "callback_at")
    earliest = timezone.localtime(attempt.started_at + dt.timedelta(minutes=30))
    assert "最早可约" in error
    assert earliest.strftime("%Y-%m-%d %H:%M") in error
    assert not FollowUp.objects.filter(lead=world.lead).exists()


# --- 2. A callback on a won lead --------------------------------------------------------------
@pytest.fixture
def won(world):
    world.lead.state = LeadState.WON
    world.lead.save(update_fields=["state"])
    return FollowUpFactory(
        lead=world.lead,
        agent=world.me,
        kind=FollowUpKind.FOLLOW_UP,
        due_at=timezone.now() - dt.timedelta(days=2),
    )


def test_a_callback_on_a_won_lead_books_a_service_call_and_says_so(world, agent_client, won):
    attempt = answered_call(agent_client, world.lead)
    when = (timezone.localtime() + dt.timedelta(days=2)).replace(hour=10, minute=0)
    response = agent_client.post(
        url("workspace_disposition", attempt.pk),
        {"dispo-disposition": "callback", "dispo-callback_at": local_input(when)},
        **HX,
    )
    assert response.status_code == 200, response.content.decode()[:800]
    booked = FollowUp.objects.get(lead=world.lead, status=FollowUpStatus.OPEN)
    assert booked.kind == FollowUpKind.SERVICE
    won.refresh_from_db()
    assert won.status == FollowUpStatus.DONE
    html = response.content.decode()
    assert str(FollowUpKind.SERVICE.label) in html
    assert when.strftime("%Y-%m-%d %H:%M") in html


def test_a_callback_on_a_won_lead_without_a_time_is_refused_with_the_reason(
    world, agent_client, won
):
    attempt = answered_call(agent_client, world.lead)
    response = agent_client.post(
        url("workspace_disposition", attempt.pk), {"dispo-disposition": "callback"}, **HX
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "已成交" in html
    attempt.refresh_from_db()
    assert attempt.disposition_id is None
    won.refresh_from_db()
    assert won.status == FollowUpStatus.OPEN


# --- 4. The premium as typed --------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["0", "-5", "0.00", "99999999999999999", "50"])
def test_a_premium_out_of_range_gets_one_error_naming_the_products_range(
    world, agent_client, typed
):
    attempt = answered_call(agent_client, world.lead)
    response = agent_client.post(
        url("workspace_sale", attempt.pk),
        sale_data(world, **{"sale-annualised_premium": typed}),
        **HX,
    )
    assert response.status_code == 422
    errors = _field_error(response.content.decode(), "annualised_premium")
    assert len(errors) == 1, errors
    (error,) = errors
    assert "综合意外险的年化保费须在 100.00 至 5000.00 元之间" in error
    assert "0.01" not in error and "12 个数字" not in error
    assert not Policy.objects.exists()


@pytest.mark.parametrize("typed", ["1,200", "1200元", "１，２００元", "¥1,200.00", " 1200 "])
def test_a_premium_with_grouped_digits_or_yuan_is_read(world, agent_client, typed):
    attempt = answered_call(agent_client, world.lead)
    response = agent_client.post(
        url("workspace_sale", attempt.pk),
        sale_data(world, **{"sale-annualised_premium": typed}),
        **HX,
    )
    assert response.status_code == 200, response.content.decode()[:800]
    assert Policy.objects.get(lead=world.lead).annualised_premium == Decimal("1200.00")


@pytest.mark.parametrize("typed", ["1,20", "12k", "一千二", "1.2e3", "12,00.5"])
def test_a_premium_that_is_no_amount_says_what_to_type(world, agent_client, typed):
    attempt = answered_call(agent_client, world.lead)
    response = agent_client.post(
        url("workspace_sale", attempt.pk),
        sale_data(world, **{"sale-annualised_premium": typed}),
        **HX,
    )
    assert response.status_code == 422
    (error,) = _field_error(response.content.decode(), "annualised_premium")
    assert "1200" in error  # an example of what to type, not a bare "enter a number"
    assert typed in response.content.decode()  # what was typed stays in the field
    assert not Policy.objects.exists()


# --- 6. Times and words in the workspace ----------------------------------------------------------
def test_talk_clock_shows_hours_past_an_hour():
    from telesales.calls.views.workspace import talk_clock

    assert talk_clock(0) == "00:00"
    assert talk_clock(90) == "01:30"
    assert talk_clock(1666 * 60 + 57) == "27:46:57"
    assert talk_clock(None) == ""


def test_a_call_answered_yesterday_shows_its_date_and_hours(world, agent_client):
    from telesales.calls.models import AgentPresence, CallAttempt

    answered = timezone.localtime() - dt.timedelta(days=1, hours=3)
    attempt = CallAttempt.objects.create(
        lead=world.lead,
        agent=world.me,
        started_at=answered - dt.timedelta(seconds=20),
        answered_at=answered,
    )
    AgentPresence.objects.update_or_create(
        person=world.me,
        defaults={"state": "talking", "since": answered, "attempt": attempt, "lead": world.lead},
    )
    html = agent_client.get(url("workspace_lead", world.lead.pk), **HX).content.decode()
    since = re.search(r'data-testid="talk-since">(.*?)</span></span>', html, re.S).group(1)
    assert answered.strftime("%Y-%m-%d %H:%M:%S") in since
    timer = re.search(r'data-testid="call-timer"[^>]*>([^<]*)<', html).group(1)
    assert re.fullmatch(r"2[67]:\d\d:\d\d", timer), timer


def test_the_workspace_counts_talk_minutes_as_the_home_card_does(
    center_afternoon, world, agent_client
):
    """90 s of talk: 1 minute in the workspace, as in 我的今日 (whole minutes)."""
    from telesales.calls.dashboard import my_today_indicator
    from telesales.calls.models import CallAttempt
    from telesales.core.dashboard import Period

    started = timezone.now() - dt.timedelta(minutes=5)
    CallAttempt.objects.create(
        lead=world.lead,
        agent=world.me,
        started_at=started,
        answered_at=started + dt.timedelta(seconds=5),
        ended_at=started + dt.timedelta(seconds=95),
        talk_seconds=90,
    )
    html = agent_client.get("/calls/workspace/").content.decode()
    minutes = re.search(r'data-testid="figure-talk-minutes">(\d+)<', html).group(1)
    assert minutes == "1"
    today = timezone.localdate()
    card = my_today_indicator(user=world.me.user, period=Period(since=today, until=today))
    assert "通话 1 分钟" in str(card.help_text)


def test_follow_ups_booked_for_later_say_what_they_are(db, recorder):
    from telesales.calls.tests.factories import CallRuleSetFactory, owned_lead, registered_agent

    CallRuleSetFactory(window_start=dt.time(0, 0), window_end=dt.time(23, 59, 59, 999999))
    agent = registered_agent(username="ws-later")
    for _i in range(2):
        FollowUpFactory(
            lead=owned_lead(agent), agent=agent, due_at=timezone.now() + dt.timedelta(days=1)
        )
    client = recorder.client(agent.user)
    html = client.post(url("workspace_next"), **HX).content.decode()
    row = re.search(r'data-code="callbacks_later"><td>(.*?)</td>', html, re.S).group(1)
    assert row == "2 条线索已约好稍后跟进（时间未到）"
    assert "次后续跟进" not in html
    assert '<th class="text-end text-nowrap">线索</th>' in html
