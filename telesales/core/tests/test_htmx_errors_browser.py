"""In a real Chromium: what a page shows when an htmx request is refused, fails or gets no
answer. Before one shared htmx configuration in base.html, pages without their own copy
dropped 422 answers silently (the user pressed the button and nothing happened)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telesales.core.roles import Role
from telesales.core.tests.browser_helpers import sign_in
from telesales.core.tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_refusals_failures_and_silence_are_each_shown_on_the_page(page):
    UserFactory(username="auditor", roles=[Role.MANAGER])
    sign_in(page, "auditor")
    page.goto(reverse("leads:number_access"))
    problem = page.locator("[data-testid=request-problem]")
    assert problem.is_hidden()

    # 422: the form comes back with its errors in place (this page has no htmx set-up of its own).
    page.click("[data-testid=number-access-submit]")
    page.locator("[data-testid=field-error-phone]").wait_for()
    assert problem.is_hidden()

    # No answer at all (the network dropped the request): said above the content.
    url = page.url
    page.route(url, lambda route: route.abort())
    page.fill("#id_phone", "13800138000")
    page.click("[data-testid=number-access-submit]")
    problem.wait_for()
    assert page.locator("#id_phone").input_value() == "13800138000"  # the entry is kept
    network_text = problem.inner_text()
    assert "服务器没有响应" in network_text  # in the page's language
    page.unroute(url)

    # A status htmx does not swap (405 from a POST-only address): said, with the status.
    page.evaluate(
        "url => htmx.ajax('GET', url, {target: '#number-access', swap: 'none'})",
        reverse("compensation:payrun_compute"),
    )
    page.wait_for_function(
        "document.querySelector('[data-testid=request-problem]').innerText.includes('405')"
    )
    assert problem.inner_text() != network_text
    # In the page's language too (the message's placeholder kept it from being translated).
    assert "服务器未能完成此操作（错误 405）" in problem.inner_text()
    assert page.locator("[data-testid=number-access-submit]").count() == 1

    # A later answer that works clears the message.
    page.click("[data-testid=number-access-submit]")
    problem.wait_for(state="hidden")
    dropped = [p for p in page.problems if p[0] == "requestfailed"]
    assert len(dropped) == 1  # the one the test dropped
    page.problems.remove(dropped[0])
    page.problems.assert_none(allow_status={405, 422})
