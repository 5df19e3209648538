"""The agent's "My day" card of free-look cancellations (``policies.dashboard``; tested here,
where the agents' and policies' factories may both be used): it counts the
agent's own policies cancelled inside the window in the period, names the latest with its
reason, says how many are still inside the window, and is drawn for agents only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from telesales.calls.tests.factories import registered_agent
from telesales.core.dashboard import BAD, GOOD, WARN, Period, indicators_for
from telesales.operations.tests.factories import PolicyFactory
from telesales.policies.choices import CancelReason, PolicyStatus
from telesales.policies.dashboard import MY_FREE_LOOK, my_free_look_indicator

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _cancelled(agent, *, at, reason=CancelReason.CANNOT_AFFORD):
    return PolicyFactory(
        agent=agent,
        status=PolicyStatus.CANCELLED,
        cancelled_at=at,
        cancel_reason=reason,
        free_look_end=timezone.localdate(at) + dt.timedelta(days=5),
    )


def test_the_card_counts_the_agents_own_cancellations_of_the_period_and_names_the_latest():
    me, other = registered_agent(), registered_agent()
    now = timezone.now()
    period = Period.month_to_date(timezone.localdate(now))
    _cancelled(me, at=now - dt.timedelta(minutes=30), reason=CancelReason.CHANGED_MIND)
    latest = _cancelled(me, at=now - dt.timedelta(minutes=5), reason=CancelReason.FAMILY_OBJECTION)
    # Before the period, another agent's, and a policy kept: not counted.
    _cancelled(
        me,
        at=timezone.make_aware(dt.datetime.combine(period.since, dt.time.min))
        - (dt.timedelta(seconds=1)),
    )
    _cancelled(other, at=now)
    PolicyFactory(agent=me, status=PolicyStatus.FREE_LOOK_ENDED)
    # Two still inside their window (one with its receipt back), one whose window has passed.
    for status in (PolicyStatus.ISSUED, PolicyStatus.RECEIPT_CONFIRMED):
        PolicyFactory(
            agent=me, status=status, free_look_end=timezone.localdate() + dt.timedelta(days=3)
        )
    PolicyFactory(
        agent=me,
        status=PolicyStatus.ISSUED,
        free_look_end=timezone.localdate() - dt.timedelta(days=1),
    )

    card = my_free_look_indicator(user=me.user, period=period)

    assert (card.key, card.value, card.status) == (MY_FREE_LOOK, 2, BAD)
    assert latest.number in card.help_text and latest.holder.name in card.help_text
    assert "Family objected" in card.help_text
    assert "2 of your policies are still inside their free-look window" in card.help_text
    assert card.url == f"{reverse('policies:policy_list')}?status=cancelled"

    PolicyFactory(
        agent=other, status=PolicyStatus.ISSUED, free_look_end=timezone.localdate()
    )  # its last day
    quiet = my_free_look_indicator(user=other.user, period=period)
    assert (quiet.value, quiet.status) == (1, WARN)  # one is a warning, two are bad
    assert "1 of your policies is still inside its free-look window" in quiet.help_text
    nobody = registered_agent()
    empty = my_free_look_indicator(user=nobody.user, period=period)
    assert (empty.value, empty.status) == (0, GOOD)
    assert "None cancelled in this period." in empty.help_text
    # Nothing in its free-look window: no call to keep "0 policies" (QA: the card urged the
    # welcome calls of none).
    assert "None of your policies is inside its free-look window now." in empty.help_text
    assert "0 of your policies" not in empty.help_text


def test_my_day_draws_it_for_an_agent_and_not_for_the_manager():
    from telesales.calls.tests.factories import PersonFactory, UserFactory
    from telesales.core.roles import Role

    me = registered_agent()
    _cancelled(me, at=timezone.now())
    period = Period.month_to_date()
    keys = [c.key for c in indicators_for(user=me.user, period=period, personal=True)]
    assert MY_FREE_LOOK in keys
    boss = PersonFactory(user=UserFactory(username="boss-free-look", roles=[Role.MANAGER]))
    assert my_free_look_indicator(user=boss.user, period=period) is None

    client = Client(HTTP_HOST="localhost")
    client.force_login(me.user)
    page = client.get(reverse("org:agent_home"))
    assert page.status_code == 200
    assert f'data-testid="indicator-{MY_FREE_LOOK}"' in page.content.decode()
