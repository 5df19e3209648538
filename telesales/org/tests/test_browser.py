"""The organisation screens in a real Chromium, through the real login form.

One browser per session (``browser`` in the root conftest), a fresh context per test, the
live server serving the static files (CSS, htmx, ECharts) as they are in the repository.
Every test also checks that the page had no failed request, no error status it did not
expect, no JavaScript error and no request leaving the server.
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from telesales.core.navigation import home_url_name
from telesales.core.roles import Role
from telesales.core.tests.browser_helpers import sign_in
from telesales.org.demo import DEMO_PASSWORD
from telesales.org.models import Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def path_of(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def test_manager_signs_in_and_the_dashboard_chart_renders(demo, page):
    sign_in(page, "manager", DEMO_PASSWORD)

    assert path_of(page) == "/org/dashboard/"
    assert page.locator("[data-testid=role]").inner_text().strip()
    assert int(page.inner_text("[data-testid=metric-headcount]")) > 0
    page.wait_for_selector("#chart-headcount[data-rendered='1']")
    page.wait_for_selector("#chart-headcount canvas", state="attached")
    # The vendored assets really loaded: Bootstrap styles the page, htmx and ECharts run.
    assert page.evaluate("typeof window.htmx") == "object"
    assert page.evaluate("typeof window.echarts") == "object"
    assert page.evaluate(
        "getComputedStyle(document.querySelector('.btn-outline-secondary')).borderStyle"
    ) == ("solid")
    page.problems.assert_none()


def test_agent_lands_on_their_home_and_cannot_open_another_teams_person(demo, page):
    me = Person.objects.select_related("team").get(user__username="agent1")
    stranger = (
        Person.objects.filter(team__kind=me.team.kind).exclude(team=me.team).order_by("pk").first()
    )
    assert stranger is not None

    sign_in(page, "agent1", DEMO_PASSWORD)
    # The agent's registered home page (the leads app registers "My leads" for agents).
    assert path_of(page) == reverse(home_url_name(Role.AGENT))
    page.goto("/org/my-day/")
    assert me.name in page.inner_text("main")

    response = page.goto(f"/org/people/{stranger.pk}/")
    assert response.status in (403, 404)
    assert stranger.name not in page.content()
    assert page.locator(".empty-state").count() == 1

    response = page.goto(f"/org/people/{me.pk}/")
    assert response.status == 200
    assert me.name in page.inner_text("body")
    page.problems.assert_none(allow_status={403, 404})


def test_wrong_password_shows_the_error_and_stays_on_the_form(demo, page):
    sign_in(page, "manager", "not-the-password")

    assert path_of(page).startswith("/accounts/login/")
    error = page.locator("[data-testid=login-error]")
    assert error.is_visible()
    assert error.inner_text().strip()
    assert page.input_value("#id_username") == "manager"
    page.problems.assert_none()


def test_people_filter_updates_the_table_through_htmx(demo, page):
    target = Person.objects.filter(user__username="agent3").get()
    sign_in(page, "manager", DEMO_PASSWORD)
    page.goto("/org/people/")
    rows = page.locator("[data-testid=people-table] tbody tr")
    before = rows.count()
    assert before > 1
    page.evaluate("window.__noReload = 'still here'")

    with page.expect_response(lambda r: "/org/people/?" in r.url and "q=" in r.url) as info:
        page.locator("input[name=q]").press_sequentially(target.employee_no, delay=20)
    assert info.value.request.headers.get("hx-request") == "true"
    page.wait_for_function(
        "document.querySelectorAll('[data-testid=people-table] tbody tr').length === 1"
    )

    assert target.name in rows.first.inner_text()
    assert page.evaluate("window.__noReload") == "still here"  # no full page load
    assert f"q={target.employee_no}" in page.url  # hx-push-url
    page.problems.assert_none()


def test_switching_to_english_changes_the_interface(demo, page):
    sign_in(page, "manager", DEMO_PASSWORD)
    heading = page.locator("header h1")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert heading.inner_text().strip() != "Center dashboard", "the default UI is not Chinese"

    with page.expect_navigation():
        page.select_option("select[name=language]", "en")

    assert page.get_attribute("html", "lang") == "en"
    assert heading.inner_text().strip() == "Center dashboard"
    # The choice is the user's: it survives a new sign-in in a fresh page.
    page.context.clear_cookies()
    sign_in(page, "manager", DEMO_PASSWORD)
    assert heading.inner_text().strip() == "Center dashboard"
    page.problems.assert_none()
