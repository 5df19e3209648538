"""The persistency page as QA read it: a one-policy provisional 0.00% shown as a headline with
a small 暂定, a trend line drawn across months with no data and down to 0 at a provisional
month, and a blank month box on the default view.

World: alice's annual policies. ``early``: issued 20 months ago, its 2nd-year premium paid in
time (measured 8 months ago: 100%, final). ``late``: issued 13 months ago, its 2nd-year premium
due a month ago, unpaid, its grace period still running (measured at the default month, last
month: 0.00%, provisional, 1 policy pending). Every other month: no policy to measure."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from telesales.core.tests.browser_helpers import sign_in
from telesales.operations.models import PremiumDue
from telesales.operations.scheduling import add_months, operations_sync
from telesales.operations.services import premium_payment_record

TODAY = timezone.localdate()


@pytest.fixture
def two_cohorts(world, policy):
    early = policy(issued_on=add_months(TODAY, -20), annualised_premium=Decimal("1000"))
    policy(issued_on=add_months(TODAY, -13), annualised_premium=Decimal("1200"))
    operations_sync(today=TODAY)
    due = PremiumDue.objects.get(policy=early, period=2)
    premium_payment_record(due=due, paid_date=due.due_date, amount=due.amount, actor="test")
    return world


def _chart(html: str) -> dict:
    found = re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html)
    return json.loads(found.group(1))


@pytest.mark.django_db
def test_the_default_view_shows_its_month_in_the_month_box(two_cohorts, page_for):
    default = f"{add_months(TODAY.replace(day=1), -1):%Y-%m}"
    html = page_for(two_cohorts.manager).get(reverse("operations:persistency")).content.decode()
    box = re.search(r'<input[^>]*name="month"[^>]*>', html).group(0)
    assert f'value="{default}"' in box
    # a query that leaves the box blank shows the month in effect too
    html = page_for(two_cohorts.manager).get(reverse("operations:persistency") + "?month=&by=agent")
    box = re.search(r'<input[^>]*name="month"[^>]*>', html.content.decode()).group(0)
    assert f'value="{default}"' in box


@pytest.mark.django_db
def test_a_provisional_headline_says_so_with_what_it_rests_on(two_cohorts, page_for):
    response = page_for(two_cohorts.manager).get(reverse("operations:persistency"))
    figure = response.context["figures"]["13m"]
    assert (figure["rate"], figure["policies"], figure["pending"], figure["final"]) == (
        Decimal("0.0000"),
        1,
        1,
        False,
    )
    html = response.content.decode()
    assert 'data-testid="provisional-13m"' in html  # a badge next to the figure itself
    note = html.split('data-testid="provisional-note-13m">', 1)[1].split("</div>", 1)[0]
    assert "暂定" in note and "1 件保单中仍有 1 件未缴费且在宽限期内" in note


@pytest.mark.django_db
def test_the_trend_leaves_months_without_data_empty_and_marks_provisional_ones(
    two_cohorts, page_for
):
    html = page_for(two_cohorts.manager).get(reverse("operations:persistency")).content.decode()
    chart = _chart(html)
    assert len(chart["m13"]) == 12
    # measured 8 months ago (index 4 of the 12 ending last month): final, 100 %
    assert (chart["m13"][4], chart["m13_final"][4]) == (1.0, True)
    # last month: 0 %, provisional
    assert (chart["m13"][11], chart["m13_final"][11]) == (0.0, False)
    # nothing to measure elsewhere: gaps, not zeros
    assert [v for i, v in enumerate(chart["m13"]) if i not in (4, 11)] == [None] * 10
    assert "connectNulls: true" not in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_chart_draws_provisional_points_apart_from_the_line(two_cohorts, page):
    sign_in(page, "boss")
    page.goto(reverse("operations:persistency"))
    page.wait_for_selector("#chart-persistency[data-rendered='1']")
    series = page.evaluate(
        "() => document.getElementById('chart-persistency').chart.getOption().series"
        ".map(s => ({name: s.name, type: s.type, connectNulls: !!s.connectNulls,"
        " data: s.data.map(v => v === null || v === undefined || v === '-' ? null : v)}))"
    )
    line, provisional = series[0], series[1]
    assert line["type"] == "line" and not line["connectNulls"]
    assert line["data"][4] == 100 and line["data"][11] is None  # not drawn down to 0
    assert provisional["type"] == "scatter" and "暂定" in provisional["name"]
    assert provisional["data"][11] == 0 and provisional["data"][4] is None
    assert all(v is None for i, v in enumerate(line["data"]) if i != 4)
    page.problems.assert_none()


@pytest.mark.django_db
def test_only_a_figure_that_can_still_change_is_called_provisional(two_cohorts, page_for):
    """A row of the breakdown with an unpaid policy in grace is marked too (it read 0.00% like a
    final figure); once every policy measured is paid, nothing can change: no 暂定, although a
    grace period is still running (it read "100.00% 暂定 … 仍有 0 件未缴费")."""
    url = reverse("operations:persistency") + "?by=agent"
    html = page_for(two_cohorts.manager).get(url).content.decode()
    assert 'data-testid="row-provisional-13m"' in html
    late = PremiumDue.objects.filter(period=2, status="due").get()
    premium_payment_record(due=late, paid_date=TODAY, amount=late.amount, actor="test")
    response = page_for(two_cohorts.manager).get(url)
    figure = response.context["figures"]["13m"]
    assert (figure["final"], figure["pending"]) == (False, 0)  # a grace period still runs
    html = response.content.decode()
    assert 'data-testid="provisional-13m"' not in html
    assert 'data-testid="provisional-note-13m"' not in html
    assert 'data-testid="row-provisional-13m"' not in html
