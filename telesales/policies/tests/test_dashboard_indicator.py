"""The stabilisation rate card on the role home pages (``telesales.policies.dashboard``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from telesales.core.dashboard import Period, indicators_for
from telesales.leads.choices import LeadState
from telesales.policies import services
from telesales.policies.choices import CancelReason
from telesales.policies.dashboard import cohort
from telesales.policies.tests.factories import CustomerFactory, LeadFactory

KEY = "policies.stabilisation_rate"


def _issued(world, sell, *, outcome: str, days_ago: int, agent=None, lead=None):
    """A policy issued ``days_ago`` days ago, then kept past the window, cancelled inside it,
    or left pending (no receipt yet)."""
    kw = {}
    if agent is not None:
        kw = {"lead": lead, "agent": agent, "actor": agent.user, "insured_ids": [lead.customer_id]}
    now = timezone.now()
    policy = sell(at=now - dt.timedelta(days=days_ago + 1), **kw)
    policy = services.policy_issue(
        policy=policy, issued_at=now - dt.timedelta(days=days_ago), actor=world.renewal.user
    )
    if outcome == "cancelled":
        services.policy_free_look_cancel(
            policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
        )
    elif outcome == "kept":
        receipt = timezone.localdate() - dt.timedelta(days=days_ago - 1)
        services.policy_receipt_confirm(
            policy=policy, receipt_date=receipt, actor=world.renewal.user
        )
        services.policies_free_look_close()


def test_cohort_is_the_three_whole_months_before_the_period():
    period = Period(since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 17))
    assert cohort(period) == Period(since=dt.date(2025, 12, 1), until=dt.date(2026, 2, 28))


@pytest.fixture
def bob_lead(world):
    return LeadFactory(
        customer=CustomerFactory(name="赵六"), owner=world.bob, state=LeadState.OWNED
    )


@pytest.fixture
def cohort_world(world, sell, bob_lead):
    """In the cohort (issued 40 days ago, always inside the three months before this one):
    alice 3 kept, 1 cancelled, 1 pending; bob 1 kept, 1 cancelled. Outside: alice kept 130
    days ago (before the cohort) and cancelled today (this month)."""
    for outcome in ("kept", "kept", "kept", "cancelled", "pending"):
        _issued(world, sell, outcome=outcome, days_ago=40)
    for outcome in ("kept", "cancelled"):
        _issued(world, sell, outcome=outcome, days_ago=40, agent=world.bob, lead=bob_lead)
    _issued(world, sell, outcome="kept", days_ago=130)
    _issued(world, sell, outcome="cancelled", days_ago=0)
    return world


def _card(user):
    return [i for i in indicators_for(user=user, period=Period.month_to_date()) if i.key == KEY]


def test_manager_sees_the_center_stabilisation_rate_by_hand(cohort_world):
    # center: kept 3 + 1 = 4 of settled 4 + 2 = 6 → 66.7 %, below the warn threshold (80)
    [card] = _card(cohort_world.manager.user)
    assert (card.numerator, card.denominator, card.value) == (4, 6, Decimal("66.7"))
    assert card.unit == "%" and card.status == "bad"


def test_team_lead_sees_their_team(cohort_world):
    [card] = _card(cohort_world.lead_a.user)  # alice: 3 of 4 → 75.0 %
    assert (card.numerator, card.denominator, card.value) == (3, 4, Decimal("75.0"))
    [card] = _card(cohort_world.lead_b.user)  # bob: 1 of 2 → 50.0 %
    assert (card.numerator, card.denominator, card.value) == (1, 2, Decimal("50.0"))


def test_agents_and_hr_get_no_stabilisation_card(cohort_world):
    assert _card(cohort_world.alice.user) == []
    assert _card(cohort_world.hr.user) == []


def test_the_card_is_on_the_manager_dashboard_with_its_drill_down(cohort_world):
    client = Client()
    client.force_login(cohort_world.manager.user)
    response = client.get("/org/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    card = html.split(f'data-testid="indicator-{KEY}"', 1)[1].split("</div></div></div>")[0]
    assert "66.7 %" in card and "/policies/stabilisation/?by=team" in card
    keys = [i.key for i in response.context["indicators"]]
    assert keys.index("tickets.complaint_rate") < keys.index(KEY)


# --- Premium per seat --------------------------------------------------------------------------
PER_SEAT = "policies.premium_per_seat"


def _per_seat(user):
    cards = indicators_for(user=user, period=Period.month_to_date())
    return [i for i in cards if i.key == PER_SEAT]


@pytest.fixture
def seated_world(world, sell, bob_lead):
    """Seats: alice, the trainee (team A), bob (team B) and the manager occupied, one vacant.
    Sold this month: alice 1,200 kept and 2,400 cancelled in free look, bob 3,000; alice 5,000
    forty days ago (another month)."""
    from telesales.org.choices import SeatStatus
    from telesales.org.tests.factories import SeatFactory

    center = world.alice.team.center
    for person in (world.alice, world.trainee, world.bob, world.manager):
        SeatFactory(center=center, person=person, status=SeatStatus.OCCUPIED)
    SeatFactory(center=center, status=SeatStatus.VACANT)
    sell()
    cancelled = services.policy_issue(
        policy=sell(annualised_premium=Decimal("2400.00")),
        issued_at=timezone.now(),
        actor=world.renewal.user,
    )
    services.policy_free_look_cancel(
        policy=cancelled, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
    )
    sell(
        lead=bob_lead,
        agent=world.bob,
        actor=world.bob.user,
        insured_ids=[bob_lead.customer_id],
        annualised_premium=Decimal("3000.00"),
    )
    sell(annualised_premium=Decimal("5000.00"), at=timezone.now() - dt.timedelta(days=40))
    return world


def test_manager_sees_the_premium_per_occupied_seat_of_the_center(seated_world):
    # (1,200 + 3,000) ÷ 4 occupied seats = 1,050 (the cancelled sale, last month's and the
    # vacant seat do not count)
    [card] = _per_seat(seated_world.manager.user)
    assert (card.numerator, card.denominator, card.value) == (Decimal("4200.00"), 4, 1050)
    assert card.url.startswith("/policies/?since=")


def test_team_leads_see_their_teams_premium_per_seat(seated_world):
    [card] = _per_seat(seated_world.lead_a.user)  # 1,200 ÷ 2 (alice, the trainee)
    assert (card.numerator, card.denominator, card.value) == (Decimal("1200.00"), 2, 600)
    [card] = _per_seat(seated_world.lead_b.user)  # 3,000 ÷ 1
    assert (card.numerator, card.denominator, card.value) == (Decimal("3000.00"), 1, 3000)


def test_no_occupied_seat_gives_no_figure_and_agents_get_no_card(world):
    [card] = _per_seat(world.manager.user)
    assert card.value is None and card.denominator == 0
    assert _per_seat(world.alice.user) == []


def test_the_sales_card_leads_the_manager_dashboard(seated_world):
    client = Client()
    client.force_login(seated_world.manager.user)
    response = client.get("/org/dashboard/")
    html = response.content.decode()
    card = html.split(f'data-testid="indicator-{PER_SEAT}"', 1)[1].split("</div></div></div>")[0]
    assert "1,050.00 元" in card and "4,200.00 元保费" in card  # grouped, to the fen
    keys = [i.key for i in response.context["indicators"]]
    assert keys[0] == PER_SEAT


def test_the_report_shows_the_rate_as_the_card_does(cohort_world, page_for):
    """The card says 66.7 %; the page it links to said 67% (rounded to a whole per cent)."""
    period = Period.month_to_date()
    issued = cohort(period)
    page = (
        page_for(cohort_world.manager)
        .get(
            "/policies/stabilisation/",
            {"by": "team", "since": issued.since.isoformat(), "until": issued.until.isoformat()},
        )
        .content.decode()
    )
    assert "66.7%" in page and "67%" not in page


def _box_value(html: str, name: str) -> str | None:
    import re

    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert tag, f"no {name} box"
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


def test_the_report_fills_its_date_boxes_with_the_period_it_reports(cohort_world, page_for):
    """The default view reported a period while its date boxes were blank (QA)."""
    today = timezone.localdate()
    response = page_for(cohort_world.manager).get("/policies/stabilisation/")
    html = response.content.decode()
    since, until = response.context["since"], response.context["until"]
    assert until == today
    assert _box_value(html, "since") == since.isoformat()
    assert _box_value(html, "until") == until.isoformat()
    # A box left blank in a query is filled too; a refused value is kept with its error.
    html = page_for(cohort_world.manager).get("/policies/stabilisation/?since=&by=team")
    assert _box_value(html.content.decode(), "until") == today.isoformat()
    html = page_for(cohort_world.manager).get("/policies/stabilisation/?since=2026-02-30")
    assert _box_value(html.content.decode(), "since") == "2026-02-30"


def test_the_card_states_its_months_and_its_link_shows_its_figure(cohort_world, page_for):
    """The card (three whole months before this one) and the report's default (90 days to
    today) cover different periods: the card says which, and its link opens the report on the
    card's period, with the card's figure and those days in the boxes."""
    client = page_for(cohort_world.manager)
    dashboard = client.get("/org/dashboard/")
    [card] = [i for i in dashboard.context["indicators"] if i.key == KEY]
    issued = cohort(Period.month_to_date())
    html = dashboard.content.decode()
    card_html = html.split(f'data-testid="indicator-{KEY}"', 1)[1].split("</div></div></div>")[0]
    assert f"{issued.since:%Y-%m-%d} 至 {issued.until:%Y-%m-%d} 承保" in card_html

    report = client.get(card.url)
    page = report.content.decode()
    assert f"{card.value}%" in page  # 66.7%
    assert report.context["total"]["numerator"] == card.numerator
    assert _box_value(page, "since") == issued.since.isoformat()
    assert _box_value(page, "until") == issued.until.isoformat()


def test_premium_per_seat_is_to_the_fen_as_the_seats_page_shows_it(seated_world, world):
    """QA: the card rounded to whole yuan (10,000) where the seats page read ¥9,999.58."""
    from telesales.org.choices import SeatStatus
    from telesales.org.tests.factories import PersonFactory, SeatFactory

    center = world.alice.team.center
    for _n in range(5):  # 4,200 ÷ 9 occupied seats
        SeatFactory(
            center=center,
            person=PersonFactory(team=world.alice.team, center=center),
            status=SeatStatus.OCCUPIED,
        )
    [card] = _per_seat(world.manager.user)
    assert card.denominator == 9 and card.value == Decimal("466.67")
