"""The HR admin changes the basic law in a real Chromium: a new version from the one in force,
edited in the page (a typo first: every problem is listed and the text stays to be fixed),
checked with a what-if over March, then approved."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from telesales.compensation.choices import RuleSetStatus
from telesales.compensation.models import RuleSet
from telesales.compensation.tests.payrun_world import build_center, build_march
from telesales.compensation.tests.test_whatif import NEW, OLD
from telesales.core.tests.browser_helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(transactional_db):
    with translation.override("en"):
        return build_march(build_center())


def test_hr_edits_a_new_version_checks_it_with_a_what_if_and_approves_it(world, page):
    in_force = RuleSet.objects.get(status=RuleSetStatus.APPROVED)
    sign_in(page, "hana")
    page.goto("/pay/rulesets/")
    with page.expect_navigation():
        page.click(f"[data-testid=ruleset-{in_force.version}] a")
    with page.expect_navigation():
        page.click("[data-testid=ruleset-new-from]")
    editor = page.locator("textarea[name=text]")
    text = editor.input_value()
    assert text == in_force.source_text and text.count(OLD) == 1

    # A typo in a key: refused, every problem named with its place, the text kept.
    typo = text.replace(OLD, NEW).replace("  include_own:", "  inclde_own:", 1)
    editor.fill(typo)
    page.fill("input[name=effective_from]", "2026-06-01")
    with page.expect_navigation():
        page.click("[data-testid=ruleset-import-form] button[type=submit]")
    problems = page.locator("[data-testid=rule-problems]")
    assert "management_allowance.inclde_own" in problems.inner_text()
    assert page.locator("textarea[name=text]").input_value() == typo
    assert RuleSet.objects.count() == 1

    # Fixed in place and saved as a draft.
    page.locator("textarea[name=text]").fill(typo.replace("  inclde_own:", "  include_own:"))
    with page.expect_navigation():
        page.click("[data-testid=ruleset-import-form] button[type=submit]")
    draft = RuleSet.objects.get(status=RuleSetStatus.DRAFT)
    assert page.url.endswith(f"/pay/rulesets/{draft.pk}/")

    # The what-if, the draft already chosen: S1's rate raised from 30 % to 40 %.
    with page.expect_navigation():
        page.click("[data-testid=ruleset-whatif]")
    assert page.locator("select[name=draft]").input_value() == str(draft.pk)
    page.fill("input[name=period]", "2026-03")
    page.click("[data-testid=whatif-form] button[type=submit]")
    people = page.locator("[data-testid=whatif-people]")
    people.wait_for()
    # Ann (S1) sold FYC 300.00 in March, nothing withheld here: 300.00 × (0.40 − 0.30).
    ann = people.locator("tbody tr", has_text=world.ann.name)
    _name, approved, drafted, change, adjustments = ann.locator("td").all_inner_texts()
    assert change == "+¥30.00"  # a gain is signed before the "¥"; grouped, as on every pay page
    gain = Decimal(drafted.replace(",", "").lstrip("¥")) - Decimal(
        approved.replace(",", "").lstrip("¥")
    )
    assert gain == Decimal("30.00")
    assert adjustments == "—"  # nothing paid by hand in March

    # Approved from its page.
    page.goto(f"/pay/rulesets/{draft.pk}/")
    page.fill("[data-testid=ruleset-approve-form] input[name=reason]", "board decision")
    page.check("[data-testid=ruleset-approve-form] input[name=confirm]")  # approving changes pay
    with page.expect_navigation():
        page.click("[data-testid=ruleset-approve-form] button[type=submit]")
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.APPROVED
    assert page.locator("[data-testid=ruleset-approve-form]").count() == 0
    in_force.refresh_from_db()
    assert in_force.effective_to is not None and in_force.effective_to.isoformat() == "2026-05-31"
