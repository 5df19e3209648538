"""The sales-results panel on the manager's and the team lead's home pages
(``telesales.policies.sales_panel``), figures worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from telesales.core import dashboard
from telesales.core.dashboard import Period
from telesales.leads.choices import LeadState
from telesales.policies import services
from telesales.policies.choices import CancelReason
from telesales.policies.sales_panel import previous_period, sales_summary
from telesales.policies.tests.factories import CustomerFactory, LeadFactory

BEIJING = ZoneInfo("Asia/Shanghai")
MARCH = Period(since=dt.date(2026, 3, 1), until=dt.date(2026, 3, 15))


@pytest.mark.parametrize(
    ("since", "until", "before_since", "before_until"),
    [
        ("2026-03-01", "2026-03-15", "2026-02-01", "2026-02-15"),
        ("2026-03-01", "2026-03-31", "2026-02-01", "2026-02-28"),  # cut at February's end
        ("2026-03-01", "2026-03-30", "2026-02-01", "2026-02-28"),
        ("2026-01-01", "2026-01-29", "2025-12-01", "2025-12-29"),  # across the year
        ("2026-11-01", "2026-11-01", "2026-10-01", "2026-10-01"),  # the 1st: one day
    ],
)
def test_previous_period_is_the_same_days_of_the_month_before(
    since, until, before_since, before_until
):
    period = Period(since=dt.date.fromisoformat(since), until=dt.date.fromisoformat(until))
    assert previous_period(period) == Period(
        since=dt.date.fromisoformat(before_since), until=dt.date.fromisoformat(before_until)
    )


def _at(day: str, hour: int = 10) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=BEIJING)


@pytest.fixture
def sales(world, sell):
    """March 1–15 (the period): alice 1,200 (03-02) and 3,000 (03-15, 23:30 Beijing — still
    the 15th locally), bob 5,000 (03-10); alice's 800 of 03-05 cancelled in free look (not
    counted); alice 2,000 at 00:00 on 03-16 Beijing time (after the period, although still
    the 15th in UTC). February 1–15: alice 1,000 (02-03),
    bob 10,000 (02-14); bob 4,000 on 02-20 (after the same days)."""
    bob_lead = LeadFactory(
        customer=CustomerFactory(name="赵六"), owner=world.bob, state=LeadState.OWNED
    )
    bob = {
        "lead": bob_lead,
        "agent": world.bob,
        "actor": world.bob.user,
        "insured_ids": [bob_lead.customer_id],
    }
    ci = {"product": world.products["ci"], "term_years": 10}
    sell(at=_at("2026-03-02"), annualised_premium=Decimal("1200"))
    sell(at=_at("2026-03-15", 23), annualised_premium=Decimal("3000"))
    sell(at=_at("2026-03-10"), annualised_premium=Decimal("5000"), **bob)
    cancelled = sell(at=_at("2026-03-05"), annualised_premium=Decimal("800"))
    services.policy_issue(policy=cancelled, issued_at=_at("2026-03-06"), actor=world.renewal.user)
    cancelled.refresh_from_db()
    services.policy_free_look_cancel(
        policy=cancelled, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
    )
    sell(at=_at("2026-03-16", 0), annualised_premium=Decimal("2000"))  # 03-15 16:00 UTC
    sell(at=_at("2026-02-03"), annualised_premium=Decimal("1000"))
    sell(at=_at("2026-02-14"), annualised_premium=Decimal("10000"), **bob, **ci)
    sell(at=_at("2026-02-20"), annualised_premium=Decimal("4000"), **bob)
    return world


def test_manager_sees_the_center_against_the_same_days_of_last_month(sales):
    s = sales_summary(user=sales.manager.user, period=MARCH)
    # March 1–15: 1,200 + 3,000 + 5,000 = 9,200 in 3 policies; February 1–15: 11,000 in 2
    assert (s["policies"], s["premium"]) == (3, Decimal("9200"))
    assert (s["policies_before"], s["premium_before"]) == (2, Decimal("11000"))
    assert s["change"] == Decimal("-16.4")  # (9,200 − 11,000) ÷ 11,000 = −16.36 %
    assert s["average"] == Decimal("3066.67")
    # teams by premium: B 5,000 (54.3 %, from 10,000: −50 %), A 4,200 (45.7 %, from 1,000: +320 %)
    assert [(t["name"], t["policies"], t["premium"]) for t in s["teams"]] == [
        ("B组", 1, Decimal("5000")),
        ("A组", 2, Decimal("4200")),
    ]
    assert [(t["share"], t["premium_before"], t["change"]) for t in s["teams"]] == [
        (Decimal("54.3"), Decimal("10000"), Decimal("-50.0")),
        (Decimal("45.7"), Decimal("1000"), Decimal("320.0")),
    ]
    assert [(a["name"], a["policies"], a["premium"]) for a in s["agents"]] == [
        ("bob", 1, Decimal("5000")),
        ("alice", 2, Decimal("4200")),
    ]
    # the running totals: March day by day for 15 days, February's whole month (28 days)
    chart = s["chart"]
    assert chart["now"][0] == 0 and chart["now"][1] == 1200.0 and chart["now"][9] == 6200.0
    assert chart["now"][-1] == 9200.0 and len(chart["now"]) == 15
    assert len(chart["before"]) == 28 and chart["before"][-1] == 15000.0
    assert chart["days"] == list(range(1, 29))


def test_team_lead_sees_only_their_teams(sales):
    s = sales_summary(user=sales.lead_a.user, period=MARCH)
    assert (s["policies"], s["premium"], s["premium_before"]) == (
        2,
        Decimal("4200"),
        Decimal("1000"),
    )
    assert [t["name"] for t in s["teams"]] == ["A组"]
    assert [a["name"] for a in s["agents"]] == ["alice"]


def test_no_base_month_gives_no_change(world):
    s = sales_summary(user=world.manager.user, period=MARCH)
    assert (s["policies"], s["premium"], s["change"], s["average"]) == (0, 0, None, None)
    assert s["teams"] == [] and s["agents"] == []


def test_the_panel_is_on_the_manager_and_team_lead_homes_only(world, sell, page_for):
    sell(annualised_premium=Decimal("12345.60"), product=world.products["ci"], term_years=10)
    body = page_for(world.manager).get("/org/dashboard/").content.decode()
    assert 'data-testid="panel-policies.sales"' in body
    assert "销售业绩" in body and "¥12,345.60" in body  # grouped by three, in Chinese
    assert 'id="sales-chart-data"' in body
    lead_page = page_for(world.lead_a).get("/org/my-team/").content.decode()
    assert 'data-testid="panel-policies.sales"' in lead_page and "¥12,345.60" in lead_page
    assert "echarts.min.js" in lead_page
    other_lead = page_for(world.lead_b).get("/org/my-team/").content.decode()
    assert 'data-testid="sales-empty"' in other_lead and "12,345.60" not in other_lead
    agent_home = page_for(world.alice).get("/org/my-day/").content.decode()
    assert "panel-policies.sales" not in agent_home


def test_a_failing_panel_is_shown_unavailable_and_the_page_still_renders(
    world, page_for, monkeypatch
):
    def broken(*, request, period):
        raise RuntimeError("boom")

    monkeypatch.setitem(
        dashboard._PANELS, "test.broken", (999, dashboard.PanelProvider("test.broken", "X", broken))
    )
    response = page_for(world.manager).get("/org/dashboard/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="panel-test.broken"' in body and 'data-testid="panel-unavailable"' in body
    assert 'data-testid="panel-policies.sales"' in body


def test_the_panel_punctuates_chinese_with_full_width_marks(world, sell, page_for):
    sell(annualised_premium=Decimal("1000"))
    body = page_for(world.manager).get("/org/dashboard/").content.decode()
    assert "，对比 " in body and "（上月同期 0）" in body
    assert ", 对比" not in body and "(上月同期" not in body
