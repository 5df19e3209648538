"""Issue 4 acceptance, end to end in a real Chromium against the live server.

An agent signs in, takes the next lead with the N key, calls it (simulated adapter), marks
the customer interested and books a callback for tomorrow 10:00 (Asia/Shanghai). The next
day the agent signs in again, takes the same lead with the "next lead" button as a due
callback, calls and closes a sale (product, premium, payment mode, term, the spouse insured
from the household). The policy is in the agent's policy list as *applied*; renewal
operations issue it on the policy page, and the page then shows the stabilisation tasks
(welcome call, free-look check-in) and the extended-service suggestions for the household.
Finally the team lead's live board shows the agent's call, the sale and the premium today.
Every step asserts what the user sees; the database is checked after the page.

**"The next day".** No service takes a time for the agent's dial, dispatch or sale (they use
the current time, as they must), and a follow-up can only be booked in the future. So the
test moves the server's clock instead, the way the demo's simulation does
(``calls.demo``): ``django.utils.timezone.now`` answers the real time plus a fixed offset,
from five minutes after the booked callback on. The live server runs in this process, so
every service, form and page sees the later time; nothing is written to the database by
hand. Sessions last 12 hours, so the agent signs in again the next day, as they would.

The calling window is data: the world uses a call rule set whose window is the whole day
(see ``test_workspace_views``), so the test does not depend on the hour it runs at.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy

from telesales.calls.choices import DispatchSource, FollowUpKind, FollowUpStatus
from telesales.calls.models import CallAttempt, FollowUp
from telesales.calls.tests.test_workspace_browser import assert_no_full_numbers, path_of, ready
from telesales.calls.tests.test_workspace_views import all_day_window, build_world, masked
from telesales.core.roles import Role
from telesales.core.tests.browser_helpers import sign_in
from telesales.leads.choices import LeadState
from telesales.org.tests.factories import UserFactory
from telesales.policies.choices import PolicyStatus, TaskKind
from telesales.policies.models import Policy, ServiceTask

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def world(transactional_db):
    all_day_window()
    w = build_world(username="acc-agent")
    w.ops = UserFactory(username="acc-ops", roles=[Role.RENEWAL_OPS])
    return w


LANG = {"lang": "en"}


def en(label) -> str:
    """A label in the language the pages are shown in (read from ``<html lang>``)."""
    with translation.override(LANG["lang"]):
        return str(label)


def move_clock_to(monkeypatch, moment: dt.datetime) -> None:
    """From now on the server's ``timezone.now()`` is ``moment`` and ticks on from there."""
    real_now = timezone.now
    offset = moment - real_now()
    monkeypatch.setattr(timezone, "now", lambda: real_now() + offset)


def switch_user(page, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, username)


def call_and_answer(page) -> None:
    page.click("[data-testid=call]")
    page.wait_for_selector("[data-testid=call-state][data-state=dialling]")
    page.click("[data-testid=answer]")
    page.wait_for_selector("[data-testid=call-state][data-state=talking]")
    page.wait_for_selector("[data-testid=presence-state][data-state=talking]")


def test_agent_follows_up_and_sells_policy_is_issued_and_the_board_shows_it(
    world, page, monkeypatch
):
    # --- Day 1: the N key hands out the lead; call; interested; a callback is booked. ------
    sign_in(page, "acc-agent")
    assert path_of(page) == "/calls/workspace/"
    ready(page)
    assert page.locator("[data-testid=no-lead]").is_visible()
    LANG["lang"] = page.get_attribute("html", "lang") or "en"
    page.locator("header h1").click()  # focus on the page, not in a field
    page.keyboard.press("n")
    page.wait_for_selector(f"[data-testid=lead-header][data-lead='{world.lead.pk}']")
    assert page.inner_text("[data-testid=lead-mobile]").strip() == masked(world.holder)
    assert page.inner_text("[data-testid=lead-source]").strip() == en(DispatchSource.PRIVATE.label)
    household = page.inner_text("[data-testid=household-table]")
    assert world.spouse.name in household and world.child.name in household

    call_and_answer(page)
    page.click("[data-testid=hangup]")
    page.wait_for_selector("[data-testid=call-state][data-state=ended]")
    page.select_option("select[name=dispo-disposition]", "interested")
    page.fill("textarea[name=dispo-note]", "想给爱人买意外险，明早十点再打")
    page.click("[data-testid=save-disposition]")
    page.wait_for_selector("[data-testid=panel-message]")
    # The cadence booked the first follow-up already ...
    page.wait_for_selector("[data-testid=open-followup]")
    assert en(gettext_lazy("follow-up %(n)s")) % {"n": 1} in page.inner_text(
        "[data-testid=open-followup]"
    )

    # ... and the agent books the time the customer asked for: tomorrow 10:00, their time.
    tomorrow = dt.datetime.now(SHANGHAI).date() + dt.timedelta(days=1)
    due = dt.datetime.combine(tomorrow, dt.time(10, 0), tzinfo=SHANGHAI)
    page.fill("input[name=fu-due_at]", due.strftime("%Y-%m-%dT%H:%M"))
    page.select_option("select[name=fu-kind]", FollowUpKind.CALLBACK)
    page.fill("[name=fu-note]", "客户约的时间")
    page.click("[data-testid=save-followup]")
    page.wait_for_function(
        "(t) => { const e = document.querySelector('[data-testid=open-followup]');"
        " return e && e.textContent.includes(t); }",
        arg=due.strftime("%Y-%m-%d 10:00"),
    )
    booked = page.inner_text("[data-testid=open-followup]")
    assert en(FollowUpKind.CALLBACK.label) in booked
    page.wait_for_selector("[data-testid=presence-state][data-state=idle]")
    # Nothing is due now: the queue due now does not hold the lead.
    assert page.locator(f"[data-testid=queue-item][data-lead='{world.lead.pk}']").count() == 0
    assert_no_full_numbers(page, world)
    page.problems.assert_none()

    with page.quiet():  # the workspace's panels may still be refreshing
        followup = FollowUp.objects.get(lead=world.lead, status=FollowUpStatus.OPEN)
        first_call = CallAttempt.objects.get(lead=world.lead)
        first_code = first_call.disposition.code
    assert (followup.due_at, followup.kind) == (due, FollowUpKind.CALLBACK)
    assert first_code == "interested"

    # --- Day 2, 10:05: the callback is due and leads the queue. ----------------------------
    move_clock_to(monkeypatch, due + dt.timedelta(minutes=5))
    switch_user(page, "acc-agent")
    assert path_of(page) == "/calls/workspace/"
    ready(page)
    item = page.locator(f"[data-testid=queue-item][data-lead='{world.lead.pk}']")
    item.wait_for()
    assert "10:00" in item.inner_text()

    page.click("[data-testid=next-lead]")
    page.wait_for_selector(f"[data-testid=lead-header][data-lead='{world.lead.pk}']")
    assert page.inner_text("[data-testid=lead-source]").strip() == en(DispatchSource.CALLBACK.label)
    assert page.locator("[data-testid=attempts-table] tbody tr").count() == 1  # yesterday's
    call_and_answer(page)

    # The sale: accident cover, monthly, one year, the customer and the spouse insured.
    page.click("[data-testid=sale-section] summary")
    page.select_option("select[name=sale-product]", str(world.products.accident.pk))
    page.fill("input[name=sale-annualised_premium]", "2400")
    page.select_option("select[name=sale-payment_mode]", "monthly")
    page.select_option("select[name=sale-term_years]", "1")
    assert page.is_checked(f"input[name=sale-insured_ids][value='{world.holder.pk}']")
    page.check(f"input[name=sale-insured_ids][value='{world.spouse.pk}']")
    page.click("[data-testid=save-sale]")
    page.wait_for_selector("[data-testid=panel-message]")
    assert "综合意外险" in page.inner_text("[data-testid=panel-message]")
    holdings = page.inner_text("[data-testid=holdings-table]")
    assert "综合意外险" in holdings and "¥2,400.00" in holdings
    assert world.spouse.name in holdings
    # The household suggestions for what it does not hold yet (the child has no cover).
    page.wait_for_selector("[data-testid=suggestions]")
    assert world.child.name in page.inner_text("[data-testid=suggestions]")
    page.wait_for_selector("[data-testid=call-outcome]")
    page.click("[data-testid=hangup]")
    page.wait_for_selector("[data-testid=call-state]", state="detached")
    page.wait_for_function(
        "document.querySelector('[data-testid=figure-sales]').textContent.trim().startsWith('1 ')"
    )
    assert_no_full_numbers(page, world)
    page.problems.assert_none(allow_status={422})

    with page.quiet():
        policy = Policy.objects.get(lead=world.lead)
        insured = set(policy.insured.values_list("pk", flat=True))
        world.lead.refresh_from_db()
        followup.refresh_from_db()
    assert policy.status == PolicyStatus.APPLIED
    assert (policy.annualised_premium, policy.payment_mode, policy.term_years) == (
        Decimal("2400.00"),
        "monthly",
        1,
    )
    assert insured == {world.holder.pk, world.spouse.pk}
    assert world.lead.state == LeadState.WON
    assert followup.status == FollowUpStatus.DONE

    # --- The agent's policy list holds the policy, applied, without tasks yet. -------------
    page.goto("/policies/")
    page.click("[data-testid=policies-table] a")
    page.wait_for_url(f"**/policies/{policy.pk}/")
    assert page.inner_text("[data-testid=premium]").strip() == "¥2,400.00"
    assert en(PolicyStatus.APPLIED.label) in page.inner_text("h1")
    assert page.locator("[data-testid=policy-tasks]").count() == 0
    assert page.locator("[data-testid=issue-form]").count() == 0  # agents do not issue

    # --- Renewal operations issue it on the policy page. ------------------------------------
    switch_user(page, "acc-ops")
    page.goto(f"/policies/{policy.pk}/")
    with page.expect_navigation():
        page.click("[data-testid=issue-form] button[type=submit]")
    assert path_of(page) == f"/policies/{policy.pk}/"
    assert en(PolicyStatus.ISSUED.label) in page.inner_text("h1")
    tasks = page.inner_text("[data-testid=policy-tasks]")
    assert en(TaskKind.WELCOME_CALL.label) in tasks
    assert en(TaskKind.FREE_LOOK_CHECKIN.label) in tasks
    assert en(TaskKind.EXTENDED_SERVICE.label) in tasks
    assert world.child.name in tasks  # a suggestion for the child of the household
    page.problems.assert_none(allow_status={422})

    policy.refresh_from_db()
    assert policy.status == PolicyStatus.ISSUED and policy.number
    kinds = set(ServiceTask.objects.filter(policy=policy).values_list("kind", flat=True))
    assert {TaskKind.WELCOME_CALL, TaskKind.FREE_LOOK_CHECKIN, TaskKind.EXTENDED_SERVICE} <= kinds
    assert set(ServiceTask.objects.filter(policy=policy).values_list("agent_id", flat=True)) == {
        world.me.pk
    }

    # --- The team lead's live board: today's call, the sale and the premium. ---------------
    switch_user(page, world.leader.user.username)
    page.goto("/calls/board/")
    row = page.locator(f"[data-testid=board-table] tr[data-agent='{world.me.pk}']")
    row.wait_for()
    assert world.me.name in row.inner_text()
    assert row.locator("[data-col=dials]").inner_text().strip() == "1"  # today: the sale call
    assert row.locator("[data-col=connects]").inner_text().strip() == "1"
    assert row.locator("[data-col=sales]").inner_text().strip() == "1"
    assert row.locator("[data-col=premium]").inner_text().strip() == "¥2,400.00"
    totals = page.inner_text("[data-testid=board-totals]")
    assert "¥2,400.00" in totals
    page.problems.assert_none(allow_status={422})
