"""The renewal-operations screens in a real Chromium, through the real login form."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import timezone

from telesales.core.tests.browser_helpers import sign_in
from telesales.operations.choices import PremiumStatus, TaskStatus
from telesales.operations.models import RenewalTask
from telesales.operations.scheduling import add_months, operations_advance, operations_sync
from telesales.operations.tests.factories import PolicyFactory, ProductFactory
from telesales.org.demo import DEMO_PASSWORD
from telesales.org.models import Person
from telesales.policies.choices import ProductCategory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def path_of(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def test_the_renewal_role_works_a_due_renewal_from_the_queue_to_paid(demo, page):
    today = timezone.localdate()
    agent = Person.objects.get(user__username="agent1")
    product = ProductFactory(code="pw-ci", category=ProductCategory.CRITICAL_ILLNESS)
    policy = PolicyFactory(
        agent=agent, product=product, issued_on=add_months(today, -12), number="PW-RENEW-0001"
    )
    operations_sync(today=today)
    operations_advance(today=today)
    task = RenewalTask.objects.get(policy=policy)
    assert task.due_date == today and task.status == TaskStatus.OPEN

    sign_in(page, "renewal", DEMO_PASSWORD)

    assert path_of(page) == reverse("operations:home")
    assert page.inner_text("[data-testid=metric-due-today]").strip() == "1"
    page.goto(reverse("operations:renewal_list"))  # the queue opens on "due today"
    row = page.locator(f"[data-testid=renewal-row-{task.pk}]")
    assert "PW-RENEW-0001" in row.inner_text()
    with page.expect_navigation():
        row.locator("[data-testid=renewal-link]").click()
    assert path_of(page) == reverse("operations:renewal_detail", args=[task.pk])
    form = page.locator("[data-testid=pay-form]")
    assert form.locator("input[name=amount]").input_value() == "1200.00"
    assert form.locator("input[name=paid_date]").input_value() == today.isoformat()
    with page.expect_navigation():
        form.locator("button[type=submit]").click()

    assert page.locator("[data-testid=premium-status] [data-status=paid]").count() == 1
    assert page.locator("[data-testid=task-status] [data-status=done]").count() == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.premium_due.status == PremiumStatus.PAID
    page.goto(reverse("operations:renewal_list") + "?queue=today")
    assert page.locator(f"[data-testid=renewal-row-{task.pk}]").count() == 0
    page.problems.assert_none()


def test_the_persistency_chart_renders(demo, page):
    sign_in(page, "renewal", DEMO_PASSWORD)
    page.goto(reverse("operations:persistency"))
    page.wait_for_selector("#chart-persistency[data-rendered='1']")
    page.wait_for_selector("#chart-persistency canvas", state="attached")
    page.problems.assert_none()
