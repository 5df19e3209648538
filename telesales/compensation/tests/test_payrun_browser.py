"""The pay run end to end in a real Chromium against the live server: the HR admin computes
March, watches the progress bar (htmx polling) until the computation finishes, opens a
payslip with its rule ids and sources, and approves the run.

The worker is the test itself: the queued task is caught instead of run eagerly, so the page
shows the queued computation and polls; the test then runs the task (as the worker would)
and the page finishes on its own."""

from __future__ import annotations

import re

import pytest
from django.utils import translation

from telesales.compensation import tasks
from telesales.compensation.models import PayRun, PayRunJob, PayRunJobStatus
from telesales.compensation.tests.payrun_world import MAR, build_center, build_march
from telesales.core.tests.browser_helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    with translation.override("en"):
        return build_march(build_center())


def test_hr_computes_a_period_follows_the_progress_opens_a_payslip_and_approves(
    world, page, monkeypatch
):
    queued: list[int] = []
    monkeypatch.setattr(tasks.payrun_compute_task, "delay", queued.append)
    sign_in(page, "hana")
    page.goto("/pay/payruns/")
    page.wait_for_function("typeof window.htmx === 'object'")
    form = page.locator("[data-testid=compute-form]")
    form.locator("input[name=period]").fill("2026-03")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()

    # Queued: the page polls the progress.
    progress = page.locator("[data-testid=payrun-progress]")
    assert progress.get_attribute("data-status") == PayRunJobStatus.QUEUED
    assert progress.get_attribute("hx-trigger")
    job = PayRunJob.objects.get(period_start=MAR)
    assert queued == [job.pk]
    tasks.payrun_compute_task(job.pk)  # the worker

    # The poll sees the end and reloads the page with the outcome.
    page.locator("[data-testid=job-done]").wait_for()
    assert page.locator("[data-testid=payrun-progress]").get_attribute("data-status") == "done"
    assert page.locator(".progress-bar").inner_text().strip() == "100%"
    with page.expect_navigation():
        page.click("[data-testid=open-run]")
    run = PayRun.objects.get(period_start=MAR)
    assert page.locator("[data-testid=run-total]").inner_text().strip() == f"¥{run.total:,.2f}"

    # A payslip: each line with its rule id and version, and its sources.
    with page.expect_navigation():
        page.click(f"[data-testid=payslip-{world.tina.pk}]")
    lines = page.locator("[data-testid=payslip-lines] tbody tr")
    assert lines.count() == run.lines.filter(person=world.tina).count() >= 1
    rules = page.locator("[data-testid=line-rule]").all_inner_texts()
    assert all(re.search(r"v\d+", text) for text in rules)
    # Its sources by name and number, the record kept in the attribute.
    person = page.locator(f"[data-testid=line-source][data-source='person:{world.tina.pk}']")
    assert person.first.inner_text().strip() == world.tina.name
    assert "person:" not in page.locator("[data-testid=payslip-lines]").inner_text()
    page.go_back()

    # Approve: the run is locked and the page says so.
    approve = page.locator("[data-testid=approve-form]")
    approve.locator("input[name=reason]").fill("checked against the attendance sheet")
    approvals: list[int] = []
    monkeypatch.setattr(tasks.payrun_approve_task, "delay", approvals.append)
    with page.expect_navigation():
        approve.locator("button[type=submit]").click()
    # The approval is a background job too: its page polls until the worker has run it.
    progress = page.locator("[data-testid=payrun-progress]")
    assert progress.get_attribute("data-status") == PayRunJobStatus.QUEUED
    approval = PayRunJob.objects.get(period_start=MAR, kind="approve")
    assert approvals == [approval.pk]
    run.refresh_from_db()
    assert run.status == "open"  # nothing approved before the worker runs
    tasks.payrun_approve_task(approval.pk)  # the worker
    page.locator("[data-testid=job-done]").wait_for()
    with page.expect_navigation():
        page.click("[data-testid=open-run]")
    assert page.locator("[data-testid=run-status]").first.inner_text().strip() in {
        "Approved",
        "已批准",
    }
    run.refresh_from_db()
    assert run.status == "approved" and run.approved_by.username == "hana"
    assert not page.locator("[data-testid=approve-form]").count()
    assert not page.problems
