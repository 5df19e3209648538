"""What-if: a draft rule set over March 2026 of the pay-run center (payrun_world.py),
compared with the approved default basic law (version 1).

The draft raises the S1 rate of fyc.protection for terms of 1–4 years from 30 % to 40 %.
Only Ann (S1) sells such a policy in March: accident, 1 year, premium 1,000.00 × the
product's 30 % = FYC 300.00.

    approved   commission 300.00 × 30 % =  90.00; withheld 50 % (no receipt) = −45.00
    draft      commission 300.00 × 40 % = 120.00; withheld 50 %              = −60.00
    Ann's gain (120.00 − 60.00) − (90.00 − 45.00)                         = +15.00
    by kind:   commission +30.00, withheld −15.00; total cost +15.00; nobody else changes
               (management allowances count FYC, not commission).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from telesales.compensation.engine import PayInputInvalid
from telesales.compensation.models import PayLine, PayRun, RuleSet
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH, ruleset_import
from telesales.compensation.tests.lines_world import not_cleared
from telesales.compensation.tests.payrun_world import MAR, Center, at
from telesales.compensation.whatif import ruleset_whatif
from telesales.core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.org.models import Person
from telesales.policies.models import Policy

API = "/api/v1/compensation/whatif"
MARCH = "2026-03-01"
OLD = (
    "      - {from: 1, to: 5, rates: {T0: 0.30, S1: 0.30, S2: 0.35, S3: 0.40, M1: 0.30, M2: 0.30}}"
)
NEW = (
    "      - {from: 1, to: 5, rates: {T0: 0.30, S1: 0.40, S2: 0.35, S3: 0.40, M1: 0.30, M2: 0.30}}"
)


def import_draft(c, text=None):
    source = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
    assert source.count(OLD) == 1
    return ruleset_import(
        actor=c.hr,
        effective_from=dt.date(2026, 6, 1),
        text=text if text is not None else source.replace(OLD, NEW),
    )


@pytest.fixture(autouse=True)
def march_not_cleared(request):
    """March's policies wait for their receipt and return visit (half their commission is
    withheld), whatever the world's builder records."""
    if "march" in request.fixturenames:
        request.getfixturevalue("march")
        not_cleared(*Policy.objects.filter(issued_at__gte=at(2026, 3, 1, 0)))


@pytest.fixture
def draft(march):
    return import_draft(march)


def test_a_draft_raising_a_rate_gives_the_hand_computed_gain(march, draft):
    c = march
    counts = (PayRun.objects.count(), PayLine.objects.count(), AuditEntry.objects.count())
    result = ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=MAR)
    assert (result.label, result.period_start, result.period_end) == (
        "2026-03",
        MAR,
        dt.date(2026, 3, 31),
    )
    assert result.approved.version == 1 and result.draft.pk == draft.pk
    assert result.change == D("15.00")
    assert result.draft_total - result.approved_total == D("15.00")
    assert result.changed_people == 1
    first = result.people[0]
    assert (first.person_id, first.approved, first.draft, first.change) == (
        c.ann.pk,
        D("3545.00"),
        D("3560.00"),
        D("15.00"),
    )
    assert all(p.change == 0 for p in result.people[1:])
    assert [p.person_id for p in result.people[1:]] == sorted(
        [c.lee.pk, c.tina.pk, c.sam.pk, c.kai.pk]
    )
    changes = {k.kind: k.change for k in result.kinds}
    assert changes["commission"] == D("30.00") and changes["withheld"] == D("-15.00")
    assert {kind for kind, change in changes.items() if change} == {"commission", "withheld"}
    # Nothing written: no run, no line, no audit entry.
    assert (PayRun.objects.count(), PayLine.objects.count(), AuditEntry.objects.count()) == counts


def test_losses_sort_after_gains(march):
    """A draft lowering S2's fyc.savings.regular rates for 10–19 years (none sold in March)
    and raising S1's protection: Ann gains, nobody loses; the order is by change, then id."""
    c = march
    text = DEFAULT_RULESET_PATH.read_text(encoding="utf-8").replace(OLD, NEW)
    # Lee (M1) sells life 10 years: fyc.savings.regular M1 25 % → 20 %.
    text = text.replace(
        "      - {from: 10, to: 20, rates: {T0: 0.25, S1: 0.25, S2: 0.30, S3: 0.35, M1: 0.25,",
        "      - {from: 10, to: 20, rates: {T0: 0.25, S1: 0.25, S2: 0.30, S3: 0.35, M1: 0.20,",
    )
    draft = import_draft(c, text)
    result = ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=MAR)
    # Lee: FYC 10,000.00 × 30 % = 3,000.00; commission 25 % = 750.00 → 20 % = 600.00;
    # withheld half: −375.00 → −300.00; change −150.00 + 75.00 = −75.00.
    assert [(p.person_id, p.change) for p in (result.people[0], result.people[-1])] == [
        (c.ann.pk, D("15.00")),
        (c.lee.pk, D("-75.00")),
    ]
    assert result.change == D("-60.00")


def test_the_assessment_outcomes_are_compared(march, draft):
    result = ruleset_whatif(user=march.hr, draft_id=draft.pk, period_start=MAR)
    assert result.assessment == []  # the draft changes no assessment rule
    assert result.assessment_note == ""


def test_an_unknown_rule_set_is_not_found(march):
    with pytest.raises(NotFound):
        ruleset_whatif(user=march.hr, draft_id=999999, period_start=MAR)


def test_an_approved_rule_set_is_not_a_draft(march):
    approved = RuleSet.objects.get(version=1)
    with pytest.raises(InvalidState, match="approved"):
        ruleset_whatif(user=march.hr, draft_id=approved.pk, period_start=MAR)


def test_a_period_without_data_or_rule_set_or_in_the_future_is_refused(db):
    c = Center()
    draft = import_draft(c)
    with pytest.raises(ValidationFailed, match="No approved rule set"):
        ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=dt.date(2025, 12, 1))
    Person.objects.update(hire_date=dt.date(2026, 2, 1))
    with pytest.raises(ValidationFailed, match="no pay data for 2026-01") as caught:
        ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=dt.date(2026, 1, 1))
    assert "period_start" in caught.value.fields
    with pytest.raises(ValidationFailed, match="2999-01 has not begun yet"):
        ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=dt.date(2999, 1, 1))
    with pytest.raises(ValidationFailed, match="first day"):
        ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=dt.date(2026, 1, 2))


def test_only_hr_and_the_manager_may_run_a_what_if(march, draft):
    with pytest.raises(PermissionDenied):
        ruleset_whatif(user=march.lee.user, draft_id=draft.pk, period_start=MAR)


# --- API and page ------------------------------------------------------------------------------


def client_for(user) -> JsonClient:
    client = JsonClient()
    client.force_login(user)
    return client


def test_the_api_compares_and_maps_errors(march, draft):
    c = march
    hr = client_for(c.hr)
    response = hr.post_json(API, {"draft_id": draft.pk, "period_start": "2026-03-01"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert D(body["change"]) == D("15.00") and body["period"] == "2026-03"
    assert body["people"][0]["person_id"] == c.ann.pk
    assert D(body["people"][0]["change"]) == D("15.00")
    assert body["draft"]["id"] == draft.pk and body["approved"]["version"] == 1
    assert body["assessment"] == []
    labels = {k["kind"]: k["label"] for k in body["kinds"]}
    assert labels["commission"] not in ("", "commission")  # the translated label
    assert_error_shape(
        client_for(c.tina.user).post_json(
            API, {"draft_id": draft.pk, "period_start": "2026-03-01"}
        ),
        403,
    )
    assert_error_shape(hr.post_json(API, {"draft_id": 999999, "period_start": "2026-03-01"}), 404)
    approved = RuleSet.objects.get(version=1)
    assert_error_shape(
        hr.post_json(API, {"draft_id": approved.pk, "period_start": "2026-03-01"}),
        409,
        "invalid_state",
    )
    assert_error_shape(hr.post_json(API, {"draft_id": draft.pk, "period_start": "2025-06-01"}), 422)
    bad = hr.post_json(API, {"draft_id": "x", "period_start": "March"})
    assert bad.status_code == 422


def test_the_page_shows_the_comparison_to_hr_only(march, draft):
    c = march
    PAGE = reverse("compensation:whatif")
    hr = client_for(c.hr)
    empty = hr.get(PAGE)
    assert empty.status_code == 200 and b'data-testid="empty-state"' in empty.content
    chosen = hr.get(PAGE, {"draft": draft.pk})  # the link on the draft's page: no error yet
    assert chosen.status_code == 200 and b'data-testid="form-errors"' not in chosen.content
    assert chosen.context["form"]["draft"].value() == draft.pk
    page = hr.get(PAGE, {"draft": draft.pk, "period": "2026-03"})
    assert page.status_code == 200
    assert b'data-testid="whatif-people"' in page.content and b"15.00" in page.content
    partial = hr.get(PAGE, {"draft": draft.pk, "period": "2026-03"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and b"<html" not in partial.content
    assert b'id="whatif-result"' in partial.content
    wrong = hr.get(PAGE, {"draft": draft.pk, "period": "2025-06"})
    assert wrong.status_code == 422 and b'data-testid="form-errors"' in wrong.content
    # The service's hint goes under the month, without its field code.
    assert "请先为该期间批准规则集。" in wrong.context["form"].errors["period"]
    assert b"period_start" not in wrong.content
    future = hr.get(PAGE, {"draft": draft.pk, "period": "2199-01"})
    assert future.status_code == 422 and b"period_start" not in future.content
    [error] = future.context["form"].errors["period"]  # one error (test_money_display.py)
    assert error.startswith("2199-01 的计薪期尚未开始") and "或更早的月份。" in error
    approved = RuleSet.objects.get(version=1)
    refused = hr.get(PAGE, {"draft": approved.pk, "period": "2026-03"})
    assert refused.status_code == 422  # not offered: only drafts are choices
    assert client_for(c.lee.user).get(PAGE).status_code == 403


def test_a_draft_lowering_a_maintenance_bar_changes_an_assessment_outcome(march):
    """March closes S1's quarter. Ann (S1) has FYC 300.00 and 1 case over January–March and
    no 13-month cohort (waived): 0 of the 2 remaining criteria ≥ 3,000.00 / ≥ 3 cases are met,
    so the approved rules extend her. The draft asks ≥ 300.00 and ≥ 1 case: both met, she is
    maintained. Pay does not change."""
    c = march
    block = '"3000.00"}\n          - {measure: cases, min: 3}\n          - {measure: persistency13'
    text = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
    assert text.count(block) == 1
    lowered = block.replace('"3000.00"', '"300.00"').replace("min: 3}", "min: 1}")
    draft = import_draft(c, text.replace(block, lowered))
    result = ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=MAR)
    assert result.change == 0
    assert [
        (a.person_id, a.level, a.approved_outcome, a.draft_outcome) for a in result.assessment
    ] == [(c.ann.pk, "S1", "extend", "maintain")]
    # The page names the outcomes in the reader's words (QA: "extend → S2" on a Chinese page).
    page = client_for(c.hr).get(
        reverse("compensation:whatif"), {"draft": draft.pk, "period": "2026-03"}
    )
    body = page.content.decode()
    assert page.status_code == 200
    assert "<td>延期考核</td><td>维持</td>" in body.replace(" → S1", "")
    assert ">extend" not in body and ">maintain" not in body


def test_a_draft_with_another_calendar_reads_its_own_period_and_says_what_is_missing(march):
    """A work-month draft's 2026-03 runs from 26 February: nobody has attendance for it, and
    the what-if lists each person instead of paying zero."""
    c = march
    text = DEFAULT_RULESET_PATH.read_text(encoding="utf-8").replace(
        "  calendar: calendar_month", "  calendar: work_month\n  start_day: 26"
    )
    draft = import_draft(c, text)
    with pytest.raises(PayInputInvalid) as caught:
        ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=MAR)
    assert {record for record, _reason in caught.value.problems} == {
        f"person:{p.pk}" for p in (c.lee, c.tina, c.sam, c.kai, c.ann)
    }
    assert all("no attendance for 2026-03" in reason for _r, reason in caught.value.problems)


def test_a_draft_changing_only_a_standardisation_factor_values_the_records_with_it(march):
    """The draft side reads the records with its own rule set: raising the 15–19-year
    standardisation factor from 0.80 to 1.00 raises a standard-basis policy's FYC.

    Ann (S1) sells a regular-premium life policy on a standard-basis product (FYC rate 30 %),
    15 years, ¥10,000 a year, on 03-10: FYC 10,000 × 0.80 × 0.30 = 2,400 → 3,000 in the draft.
    Commission at S1's 10–19-year rate 0.25: 600.00 → 750.00 (+150.00); half withheld until
    the receipt and return visit: −300.00 → −375.00 (−75.00). Kai (M1) leads Ann: management
    allowance 20 % of the team's FYC, +600 × 0.20 = +120.00. Total +195.00."""
    from telesales.policies.choices import CommissionBasis, ProductCategory
    from telesales.policies.tests.factories import ProductFactory

    c = march
    c.products["standard_life"] = ProductFactory(
        category=ProductCategory.LIFE,
        commission_basis=CommissionBasis.STANDARD,
        first_year_commission_rate=D("0.3000"),
    )
    policy = c.policy(c.ann, "standard_life", 15, "10000.00", at(2026, 3, 10))
    not_cleared(policy)
    source = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
    old = "{from: 15, to: 20, factor: 0.80}"
    assert source.count(old) == 1
    draft = import_draft(c, text=source.replace(old, "{from: 15, to: 20, factor: 1.00}"))

    result = ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=MAR)

    changes = {k.kind: k.change for k in result.kinds if k.change}
    assert changes == {
        "commission": D("150.00"),
        "withheld": D("-75.00"),
        "management_allowance": D("120.00"),
    }
    assert result.change == D("195.00")
    by_person = {p.person_id: p.change for p in result.people}
    assert (by_person[c.ann.pk], by_person[c.kai.pk]) == (D("75.00"), D("120.00"))


def test_the_approved_column_includes_the_runs_adjustments_as_its_payslips_do(march, draft):
    """March's run pays Ann a correction of February (+100.00) and Sam one entered on the
    open run (−20.50). The approved column is what each payslip of the approved March run
    totals, adjustments included; the draft side carries the same adjustments, so the change
    is still the rules' alone (Ann +15.00) and the adjustments' own change is zero."""
    from telesales.compensation.payrun import (
        payadjustment_create,
        payrun_approve,
        payrun_compute,
    )
    from telesales.compensation.selectors import payslip_get

    c = march
    february = PayRun.objects.get(label="2026-02")
    payadjustment_create(
        person=c.ann, amount=D("100.00"), reason="February", actor=c.hr, corrects_run=february
    )
    payadjustment_create(person=c.sam, amount=D("-20.50"), reason="overpaid", actor=c.hr)
    run = payrun_approve(run=payrun_compute(period_start=MAR, actor=c.hr), actor=c.hr)

    result = ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=MAR)

    by_person = {p.person_id: p for p in result.people}
    for person in (c.lee, c.tina, c.sam, c.kai, c.ann):
        slip = payslip_get(user=c.hr, run=run, person=person)
        assert by_person[person.pk].approved == slip.total, person.name
    assert (by_person[c.ann.pk].adjustments, by_person[c.sam.pk].adjustments) == (
        D("100.00"),
        D("-20.50"),
    )
    assert by_person[c.ann.pk].change == D("15.00") and by_person[c.sam.pk].change == 0
    assert result.approved_total == run.total and not result.payrun_differs
    assert result.change == D("15.00") and result.adjustments_total == D("79.50")
    [adjusted] = [k for k in result.kinds if k.kind == "adjustment"]
    assert (adjusted.approved, adjusted.draft, adjusted.change) == (
        D("79.50"),
        D("79.50"),
        D("0"),
    )
    assert result.kinds[-1] is adjusted  # the payslip's order: adjustments last

    body = client_for(c.hr).post_json(API, {"draft_id": draft.pk, "period_start": MARCH}).json()
    ann = next(p for p in body["people"] if p["person_id"] == c.ann.pk)
    assert (
        D(ann["adjustments"]) == D("100.00") and D(ann["approved"]) == by_person[c.ann.pk].approved
    )
    assert body["payrun"]["id"] == run.pk and body["payrun_differs"] is False
    assert D(body["adjustments_total"]) == D("79.50")
    page = client_for(c.hr).get(
        reverse("compensation:whatif"), {"draft": draft.pk, "period": "2026-03"}
    )
    html = page.content.decode()
    assert 'data-testid="whatif-payrun"' in html and "79.50" in html
    row = html.split(f'data-testid="whatif-person-{c.ann.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "100.00" in row


def test_the_page_warns_when_the_records_changed_after_the_run(march, draft):
    """The approved side is recomputed from today's records: a policy issued in March after
    the run was computed makes it differ from the run's total, and the page says so."""
    from telesales.compensation.payrun import payrun_compute

    c = march
    run = payrun_compute(period_start=MAR, actor=c.hr)
    not_cleared(c.policy(c.sam, "medical", 1, "1000.00", at(2026, 3, 20)))
    result = ruleset_whatif(user=c.hr, draft_id=draft.pk, period_start=MAR)
    assert result.payrun == run and result.payrun_differs
    page = client_for(c.hr).get(
        reverse("compensation:whatif"), {"draft": draft.pk, "period": "2026-03"}
    )
    assert b'data-testid="whatif-payrun-differs"' in page.content
