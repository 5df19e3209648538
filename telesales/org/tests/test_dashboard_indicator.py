"""The attrition card on the role home pages (``telesales.org.dashboard``) and the manpower
figures under it (``selectors.sales_manpower``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from telesales.core.dashboard import Period, indicators_for
from telesales.core.roles import Role
from telesales.org import selectors
from telesales.org.choices import PersonStatus, TeamKind
from telesales.org.tests.factories import PersonFactory, TeamFactory, UserFactory

KEY = "org.attrition_rate"
MARCH = Period(since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 31))


def _person(team, *, hired, left=None, role=None, name=""):
    user = UserFactory(roles=[role]) if role else None
    return PersonFactory(
        team=team,
        user=user,
        name=name or f"p{PersonFactory._meta.model.objects.count()}",
        hire_date=hired,
        left_on=left,
        status=PersonStatus.LEFT if left else PersonStatus.ACTIVE,
    )


@pytest.fixture
def staff(db):
    """Team A: 8 on the books all March, one left on 1 March, one on 31 March, one hired on
    10 March, one hired 2 March and left 20 March, one left in February, one hired in April.
    Team B: 3 all month, one left 15 March. The back office: one left in March (not sales)."""
    a = TeamFactory(name="A组")
    b = TeamFactory(name="B组", center=a.center)
    office = TeamFactory(name="人事", center=a.center, kind=TeamKind.BACK_OFFICE)
    old = dt.date(2025, 6, 1)
    lead_a = _person(a, hired=old, role=Role.TEAM_LEAD, name="lead_a")
    a.leader = lead_a
    a.save()
    for _i in range(7):
        _person(a, hired=old)
    _person(a, hired=old, left=dt.date(2026, 3, 1))
    _person(a, hired=old, left=dt.date(2026, 3, 31))
    _person(a, hired=dt.date(2026, 3, 10))
    _person(a, hired=dt.date(2026, 3, 2), left=dt.date(2026, 3, 20))
    _person(a, hired=old, left=dt.date(2026, 2, 27))
    _person(a, hired=dt.date(2026, 4, 1))
    lead_b = _person(b, hired=old, role=Role.TEAM_LEAD, name="lead_b")
    b.leader = lead_b
    b.save()
    for _i in range(2):
        _person(b, hired=old)
    _person(b, hired=old, left=dt.date(2026, 3, 15))
    manager = _person(office, hired=old, role=Role.MANAGER, name="boss")
    _person(office, hired=old, left=dt.date(2026, 3, 5))
    agent = _person(a, hired=old, role=Role.AGENT, name="agent")
    return {"manager": manager, "lead_a": lead_a, "lead_b": lead_b, "agent": agent}


def test_manpower_counts_by_hand(staff):
    # Team A opening: lead + 7 + agent + left 1 Mar + left 31 Mar = 11 (hired before March,
    # not gone before it); closing: lead + 7 + agent + hired 10 Mar = 10; leavers 3; hires 2.
    # Team B: opening 4, closing 3, leavers 1. The back office is not the sales force.
    figures = selectors.sales_manpower(
        user=staff["manager"].user, since=MARCH.since, until=MARCH.until
    )
    assert figures == {
        "opening": 15,
        "closing": 13,
        "leavers": 4,
        "hires": 2,
        "average": Decimal(14),
    }
    assert figures["closing"] == figures["opening"] + figures["hires"] - figures["leavers"]
    team_a = selectors.sales_manpower(
        user=staff["lead_a"].user, since=MARCH.since, until=MARCH.until
    )
    assert (team_a["opening"], team_a["closing"], team_a["leavers"]) == (11, 10, 3)


def _card(user, period=MARCH):
    return [i for i in indicators_for(user=user, period=period) if i.key == KEY]


def test_the_card_gives_leavers_over_average_headcount(staff):
    [card] = _card(staff["manager"].user)  # 4 ÷ 14 = 28.6 %
    assert (card.numerator, card.denominator, card.value) == (4, Decimal(14), Decimal("28.6"))
    assert card.unit == "%" and "2" in str(card.help_text)
    [card] = _card(staff["lead_a"].user)  # 3 ÷ 10.5 = 28.6 %
    assert (card.numerator, card.denominator, card.value) == (3, Decimal("10.5"), Decimal("28.6"))
    [card] = _card(staff["lead_b"].user)  # 1 ÷ 3.5 = 28.6 %
    assert (card.numerator, card.value) == (1, Decimal("28.6"))
    assert _card(staff["agent"].user) == []


def test_no_one_on_the_books_gives_no_figure(staff):
    before = Period(since=dt.date(2020, 1, 1), until=dt.date(2020, 1, 31))
    [card] = _card(staff["manager"].user, before)
    assert card.value is None and card.numerator == 0


def test_the_card_is_on_the_manager_dashboard_after_sales(staff):
    client = Client()
    client.force_login(staff["manager"].user)
    response = client.get("/org/dashboard/")
    assert response.status_code == 200
    keys = [i.key for i in response.context["indicators"]]
    assert KEY in keys
    if "policies.premium_per_seat" in keys:
        assert keys.index("policies.premium_per_seat") < keys.index(KEY)
    html = response.content.decode()
    assert f'data-testid="indicator-{KEY}"' in html and "/org/people/?status=left" in html
    [card] = [i for i in response.context["indicators"] if i.key == KEY]
    assert html.count(card.url.replace("&", "&amp;")) == 1  # the link the card gives


@pytest.mark.parametrize("who", ["manager", "lead_a", "lead_b"])
def test_the_card_links_to_the_leavers_it_counts(staff, who):
    """The card's link lists the sales people who left in the card's period, as many as the
    card counts: not the leavers of other months, nor the back office's."""
    user = staff[who].user
    [card] = _card(user)
    client = Client()
    client.force_login(user)
    response = client.get(card.url)
    assert response.status_code == 200
    people = list(response.context["page"].object_list)
    assert response.context["page"].paginator.count == card.numerator == len(people)
    assert all(
        p.status == PersonStatus.LEFT
        and MARCH.since <= p.left_on <= MARCH.until
        and p.team.kind == TeamKind.SALES
        for p in people
    )
    form = response.context["form"]  # the filters show on the page, to widen or clear them
    assert form["left_since"].value() == "2026-03-01" and form["team_kind"].value() == "sales"
    # Other filters, other counts: the whole of 2026 (team A's February leaver too) and,
    # without the kind, the back office's leaver (the manager sees them).
    year = client.get(
        "/org/people/", {"status": "left", "left_since": "2026-01-01", "left_until": "2026-12-31"}
    )
    assert year.context["page"].paginator.count == {"manager": 6, "lead_a": 4, "lead_b": 1}[who]


def test_hr_and_the_planner_see_their_cards_on_the_back_office_home(staff):
    """HR (manpower) sees attrition there; the planner (KPI tracking) the sales cards the
    other apps give planners, not attrition (people of the center are HR's)."""
    hr = UserFactory(username="hr-x", roles=[Role.HR_ADMIN])
    client = Client()
    client.force_login(hr)
    keys = [i.key for i in client.get("/org/back-office/").context["indicators"]]
    assert KEY in keys
    planner = UserFactory(username="planner-x", roles=[Role.PLANNER])
    client.force_login(planner)
    response = client.get("/org/back-office/")
    assert response.status_code == 200
    planner_keys = [i.key for i in response.context["indicators"]]
    assert KEY not in planner_keys and "calls.conversion" in planner_keys
