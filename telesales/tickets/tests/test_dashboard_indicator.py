"""The complaint rate per 1,000 policies as a card on the role home pages
(``telesales.tickets.dashboard``, drawn through ``telesales.core.dashboard``).

The ``center`` fixture, month to date (the dashboard's period), by hand:

- team A (lead_a; alice, carol): the world's policy of alice + 599 more = 600 in force;
- team B (lead_b; bob): the world's policy of bob + 899 more = 900 in force;
- the center: 600 + 900 = 1,500 in force. Not counted: a team A policy cancelled before the
  month began, and one that was applied for but never issued.
- complaints opened this month: two about alice (team A) and one about bob's policy with no
  agent named (team B) = 3. Not counted: a complaint about alice opened before the month, and
  a policy-change ticket about bob this month.

Center: 3 × 1000 ÷ 1,500 = 2.00 ‰. Team A: 2 × 1000 ÷ 600 = 3.33 ‰. Team B: 1 × 1000 ÷ 900
= 1.11 ‰. With the default thresholds (good ≤ 1.00, warn ≤ 3.00): warn, bad, warn.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from telesales.core.dashboard import BAD, WARN, Period, indicators_for
from telesales.policies.models import Policy
from telesales.tickets import selectors
from telesales.tickets.tests.factories import PolicyFactory, TicketFactory

KEY = "tickets.complaint_rate"


def _bulk_policies(world, agent, count, prefix):
    issued = timezone.now() - dt.timedelta(days=40)
    Policy.objects.bulk_create(
        [
            Policy(
                number=f"{prefix}{n:08d}",
                lead=world.lead,
                holder=world.holder,
                agent=agent,
                team=agent.team,
                product=world.policy.product,
                annualised_premium=Decimal("1200.00"),
                payment_mode="annual",
                term_years=1,
                status="issued",
                applied_at=issued,
                issued_at=issued,
            )
            for n in range(count)
        ],
        batch_size=500,
    )


@pytest.fixture
def center(world):
    month_start = timezone.localdate().replace(day=1)
    before_month = timezone.make_aware(
        dt.datetime.combine(month_start - dt.timedelta(days=2), dt.time(10, 0))
    )
    _bulk_policies(world, world.alice, 300, "TSA")
    _bulk_policies(world, world.carol, 299, "TSC")
    _bulk_policies(world, world.bob, 899, "TSB")
    PolicyFactory(
        agent=world.alice,
        lead=world.lead,
        issued_at=before_month - dt.timedelta(days=20),
        cancelled_at=before_month,
        cancel_reason="changed_mind",
        status="cancelled",
    )
    PolicyFactory(agent=world.alice, lead=world.lead, issued_at=None, number="", status="applied")

    now = timezone.now()
    # Minutes ago, but never before the month began (the first minutes of a month).
    month_began = timezone.make_aware(dt.datetime.combine(month_start, dt.time(0, 0)))
    TicketFactory(
        kind="complaint",
        agent=world.alice,
        opened_at=max(now - dt.timedelta(minutes=5), month_began),
    )
    TicketFactory(
        kind="complaint",
        channel="regulator",
        agent=world.alice,
        opened_at=max(now - dt.timedelta(minutes=3), month_began),
    )
    TicketFactory(kind="complaint", policy=world.other_policy, opened_at=now)
    TicketFactory(kind="complaint", agent=world.alice, opened_at=before_month)
    TicketFactory(kind="policy_change", agent=world.bob, opened_at=now)
    return world


def _card(html: str, key: str = KEY) -> str:
    marker = f'data-testid="indicator-{key}"'
    assert marker in html, "the card is not on the page"
    return html.split(marker, 1)[1].split("</div></div></div>", 1)[0]


def _indicator(response, key: str = KEY):
    [found] = [i for i in response.context["indicators"] if i.key == key]
    return found


def test_manager_dashboard_shows_the_center_complaint_rate_computed_by_hand(center, page_for):
    response = page_for(center.boss).get("/org/dashboard/")
    assert response.status_code == 200
    card = _indicator(response)
    assert (card.numerator, card.denominator, card.value) == (3, 1500, Decimal("2.00"))
    assert card.status == WARN and card.available and card.unit == "‰"
    html = _card(response.content.decode())
    assert "2.00 ‰" in html
    assert "3 " in html and "÷ 1,500 " in html  # grouped by thousands
    assert 'data-status="warn"' in html
    today = timezone.localdate()
    assert f"/tickets/sla/?since={today.replace(day=1).isoformat()}" in html


def test_the_drill_down_shows_the_same_figure(center, page_for):
    response = page_for(center.boss).get("/org/dashboard/")
    report = page_for(center.boss).get(_indicator(response).url)
    assert report.status_code == 200
    rate = report.context["rate"]
    assert (rate["complaints"], rate["policies_in_force"], rate["rate_per_1000"]) == (
        3,
        1500,
        Decimal("2.00"),
    )


def test_team_lead_sees_the_figure_of_their_team_on_their_home_page(center, page_for):
    response = page_for(center.lead_a).get("/org/my-team/")
    assert response.status_code == 200
    card = _indicator(response)
    assert (card.numerator, card.denominator, card.value) == (2, 600, Decimal("3.33"))
    assert card.status == BAD
    html = _card(response.content.decode())
    assert "3.33 ‰" in html and 'data-status="bad"' in html
    assert "/tickets/queue/?kind=complaint" in html

    other = _indicator(page_for(center.lead_b).get("/org/my-team/"))
    assert (other.numerator, other.denominator, other.value) == (1, 900, Decimal("1.11"))
    assert other.status == WARN


@pytest.mark.parametrize("lead", ["lead_a", "lead_b"])
def test_team_lead_drill_down_lists_the_complaints_the_card_counts(center, page_for, lead):
    """The month's complaints about the teams' agents or policies, whatever their status:
    not the one about alice from before the month (lead_a), and the one about bob's policy
    with no agent named (lead_b) although nobody of team B owns it."""
    client = page_for(getattr(center, lead))
    card = _indicator(client.get("/org/my-team/"))
    response = client.get(card.url)
    assert response.status_code == 200
    shown = list(response.context["page"].object_list)
    assert len(shown) == card.numerator == {"lead_a": 2, "lead_b": 1}[lead]
    month_start = timezone.localdate().replace(day=1)
    assert all(
        t.kind == "complaint" and timezone.localdate(t.opened_at) >= month_start for t in shown
    )
    # the page keeps the days in its filter
    html = response.content.decode()
    assert f'value="{month_start.isoformat()}"' in html
    assert f'value="{timezone.localdate().isoformat()}"' in html


def test_agent_does_not_see_the_manager_dashboard_nor_a_complaint_rate(center, page_for):
    client = page_for(center.alice)
    assert client.get("/org/dashboard/").status_code == 403
    assert client.get("/org/my-team/").status_code == 403
    assert KEY not in client.get("/org/my-day/").content.decode()
    period = Period.month_to_date()
    assert [i.key for i in indicators_for(user=center.alice.user, period=period)] == []
    assert (
        selectors.complaint_rate_for_user(
            user=center.alice.user, since=period.since, until=period.until
        )
        is None
    )


def test_other_back_office_roles_get_no_complaint_rate(center):
    period = Period.month_to_date()
    assert KEY not in [i.key for i in indicators_for(user=center.hr.user, period=period)]


def test_renewal_operations_get_the_center_figure(center):
    period = Period.month_to_date()
    [card] = [i for i in indicators_for(user=center.ops.user, period=period) if i.key == KEY]
    assert (card.numerator, card.denominator, card.value) == (3, 1500, Decimal("2.00"))


def test_the_thresholds_come_from_the_settings(center, page_for, settings):
    settings.TELESALES_DASHBOARD_THRESHOLDS = {
        KEY: {"better": "lower", "good": "2.00", "warn": "2.50"}
    }
    response = page_for(center.boss).get("/org/dashboard/")
    assert _indicator(response).status == "good"
    assert 'data-status="good"' in _card(response.content.decode())
    settings.TELESALES_DASHBOARD_THRESHOLDS = {}
    response = page_for(center.boss).get("/org/dashboard/")
    assert _indicator(response).status is None


def test_a_broken_threshold_shows_the_card_unavailable_and_keeps_the_page(
    center, page_for, settings
):
    settings.TELESALES_DASHBOARD_THRESHOLDS = {KEY: {"better": "lower", "good": "x", "warn": 1}}
    response = page_for(center.boss).get("/org/dashboard/")
    assert response.status_code == 200
    card = _indicator(response)
    assert not card.available and card.value is None
    assert 'data-testid="indicator-unavailable"' in _card(response.content.decode())


def test_team_lead_who_leads_no_team_gets_no_card(world, page_for):
    world.team_b.leader = None
    world.team_b.save()
    response = page_for(world.lead_b).get("/org/my-team/")
    assert response.status_code == 200
    assert KEY not in [i.key for i in response.context["indicators"]]
    assert KEY not in response.content.decode()


def test_no_policy_in_force_shows_a_dash_not_a_division_by_zero(world, page_for):
    Policy.objects.all().delete()
    TicketFactory(kind="complaint", agent=world.alice, opened_at=timezone.now())
    response = page_for(world.boss).get("/org/dashboard/")
    card = _indicator(response)
    assert (card.numerator, card.denominator, card.value, card.status) == (1, 0, None, None)
    assert "—" in _card(response.content.decode())


def test_team_figure_counts_a_policy_sold_in_the_team_by_an_agent_who_moved(world):
    """A policy keeps the team it was sold in: after alice moves to team B, her policy still
    counts for team A (sold there) and now for team B too (her team); so does a complaint
    about her."""
    TicketFactory(kind="complaint", agent=world.alice, opened_at=timezone.now())
    world.alice.team = world.team_b
    world.alice.save()
    today = timezone.localdate()
    since = today.replace(day=1)
    a = selectors.complaint_rate_for_user(user=world.lead_a.user, since=since, until=today)
    b = selectors.complaint_rate_for_user(user=world.lead_b.user, since=since, until=today)
    assert (a["complaints"], a["policies_in_force"]) == (0, 1)
    assert (b["complaints"], b["policies_in_force"]) == (1, 2)
    assert b["rate_per_1000"] == Decimal("500.00")


def test_team_lead_card_says_your_teams_like_the_other_cards(center, page_for):
    """The card names its scope as every other card on a team lead's home does ("· 您的团队"),
    not the team's name ("· A组")."""
    with translation.override("zh-hans"):
        response = page_for(center.lead_a).get("/org/my-team/")
        card = _indicator(response)
        assert str(card.scope) == "您的团队"
        html = _card(response.content.decode())
    assert "· 您的团队" in html and "· A组" not in html
