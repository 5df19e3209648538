"""The agent's own cards on "My day" (``calls.dashboard``, registered ``personal``): today's
calls, the follow-ups due and the conversion month to date count the agent's own records
only, and the page draws them for an agent but not the center's cards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from telesales.calls.dashboard import (
    MY_CONVERSION,
    MY_FOLLOWUPS,
    MY_TODAY,
    my_conversion_indicator,
    my_followups_indicator,
    my_today_indicator,
)
from telesales.calls.tests.factories import (
    CallAttemptFactory,
    CallRuleSetFactory,
    FollowUpFactory,
    owned_lead,
    registered_agent,
)
from telesales.core.dashboard import Period, indicators_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def agents():
    CallRuleSetFactory(effective_call_seconds=30, overdue_escalate_hours=24)
    return registered_agent(), registered_agent()


def _today():
    return Period.month_to_date(timezone.localdate())


def test_todays_calls_count_the_agents_own_calls_of_today(agents):
    me, other = agents
    now = timezone.now()
    lead = owned_lead(me)
    CallAttemptFactory(lead=lead, agent=me, started_at=now, answered_at=now, talk_seconds=125)
    CallAttemptFactory(lead=lead, agent=me, started_at=now, answered_at=now, talk_seconds=10)
    CallAttemptFactory(lead=lead, agent=me, started_at=now)  # not answered
    CallAttemptFactory(lead=lead, agent=me, started_at=now - dt.timedelta(days=1))  # yesterday
    CallAttemptFactory(lead=owned_lead(other), agent=other, started_at=now, answered_at=now)
    card = my_today_indicator(user=me.user, period=_today())
    assert (card.key, card.value, card.numerator, card.denominator) == (MY_TODAY, 3, 2, 3)
    assert "2 min" in card.help_text and "effective calls: 1," in card.help_text


def test_follow_ups_due_count_escalated_ones_and_those_later_today(agents):
    me, other = agents
    now = timezone.now()

    def mine(due_at, **kw):  # one open follow-up per lead
        return FollowUpFactory(lead=owned_lead(me), agent=me, due_at=due_at, **kw)

    mine(now - dt.timedelta(minutes=5))
    mine(now - dt.timedelta(hours=30), escalated_at=now)
    FollowUpFactory(lead=owned_lead(other), agent=other, due_at=now - dt.timedelta(hours=1))
    end_of_day = timezone.make_aware(
        dt.datetime.combine(timezone.localdate(now) + dt.timedelta(days=1), dt.time())
    )
    mine(now + (end_of_day - now) / 2)  # later today
    mine(end_of_day + dt.timedelta(hours=2))  # tomorrow
    card = my_followups_indicator(user=me.user, period=_today())
    assert (card.key, card.value) == (MY_FOLLOWUPS, 2)
    assert card.help_text.startswith("1 already escalated")
    assert "1 more due later today" in card.help_text


def test_conversion_is_the_agents_own_month_to_date(agents):
    me, other = agents
    now = timezone.now()
    for _ in range(4):  # four leads spoken with
        CallAttemptFactory(lead=owned_lead(me), agent=me, started_at=now, answered_at=now)
    CallAttemptFactory(lead=owned_lead(other), agent=other, started_at=now, answered_at=now)
    card = my_conversion_indicator(user=me.user, period=_today())
    assert (card.key, card.numerator, card.denominator, str(card.value)) == (
        MY_CONVERSION,
        0,
        4,
        "0.0",
    )


def test_only_an_agent_gets_personal_cards(agents):
    from telesales.calls.tests.factories import UserFactory
    from telesales.core.roles import Role

    me, _other = agents
    keys = {c.key for c in indicators_for(user=me.user, period=_today(), personal=True)}
    assert {MY_TODAY, MY_FOLLOWUPS, MY_CONVERSION} <= keys
    manager = UserFactory(username="mgr-cards", roles=[Role.MANAGER])
    assert not {MY_TODAY, MY_FOLLOWUPS, MY_CONVERSION} & {
        c.key for c in indicators_for(user=manager, period=_today(), personal=True)
    }
    assert MY_TODAY not in {c.key for c in indicators_for(user=me.user, period=_today())}


def test_my_day_page_shows_the_cards(agents, client):
    me, _other = agents
    client.force_login(me.user)
    html = client.get("/org/my-day/").content.decode()
    assert f'data-testid="indicator-{MY_TODAY}"' in html
    assert f'data-testid="indicator-{MY_FOLLOWUPS}"' in html
