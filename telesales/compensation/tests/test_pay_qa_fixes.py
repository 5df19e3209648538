"""The QA findings on the pay module (issue 6), each held by a test: back-dated rule sets over
locked months, negative totals, far dates in the early-warning API, cancelling and
confirming adjustments, the provisional month, the xlsx, typed amounts, API messages and the
small texts."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from telesales.compensation.choices import PayRunStatus, RuleSetStatus
from telesales.compensation.exporting import payrun_export_xlsx
from telesales.compensation.models import (
    AssessmentRun,
    AssessmentRunStatus,
    PayAdjustment,
    PayRun,
    RuleSet,
)
from telesales.compensation.payrun import (
    adjustment_amount_parse,
    payadjustment_cancel,
    payadjustment_create,
    payrun_approve,
    payrun_compute,
)
from telesales.compensation.rules_format import RuleSetInvalid, ruleset_parse
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH, ruleset_approve, ruleset_import
from telesales.compensation.tests.payrun_world import MAR, at
from telesales.core.errors import Conflict, InvalidState, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape

TEXT = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
API = "/api/v1/compensation"


def page_client(user, language="en") -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def api_client(user, language="en") -> JsonClient:
    client = JsonClient()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def _draft(c, day: dt.date) -> RuleSet:
    return ruleset_import(actor=c.hr, effective_from=day, text=TEXT.replace("0.8", "0.85", 1))


def _approved_february(c) -> PayRun:
    c.february.refresh_from_db()  # payrun_world keeps the instance it computed (open)
    return c.february


def _march_run(c) -> PayRun:
    return payrun_compute(period_start=MAR, actor=c.hr)


# --- 1. a rule set back-dated over approved (locked) months ----------------------------------


def test_a_rule_set_cannot_start_inside_approved_pay_runs(march):
    c = march
    draft = _draft(c, dt.date(2026, 3, 1))  # imported while March is open (February approved)
    payrun_approve(run=_march_run(c), actor=c.hr)  # February and March approved under v1
    v1 = RuleSet.objects.get(version=1)
    with pytest.raises(Conflict) as refused:
        ruleset_approve(ruleset=draft, actor=c.hr)
    assert refused.value.message == (
        "pay runs 2026-03 are approved under v1; the effective date must be after 2026-03-31"
    )
    v1.refresh_from_db()
    draft.refresh_from_db()
    assert v1.effective_to is None and draft.status == RuleSetStatus.DRAFT
    # In Chinese, as the QA tester read it.
    with translation.override("zh-hans"), pytest.raises(Conflict) as zh:
        ruleset_approve(ruleset=draft, actor=c.hr)
    assert "2026-03" in zh.value.message and "2026-03-31" in zh.value.message
    # A new version dated inside approved months is refused at its import, not kept as a
    # draft nobody could approve or remove (QA, session 20).
    versions = RuleSet.objects.count()
    with pytest.raises(ValidationFailed) as at_import:
        _draft(c, dt.date(2026, 2, 1))
    assert at_import.value.message == (
        "Pay runs 2026-02, 2026-03 are approved under v1; "
        "the effective date must be after 2026-03-31"
    )
    assert list(at_import.value.fields) == ["effective_from"]
    assert RuleSet.objects.count() == versions
    # The API refuses the same way (409), the page shows why and offers no approval.
    answer = api_client(c.hr).post_json(f"{API}/rulesets/{draft.pk}/approve", {})
    assert assert_error_shape(answer, 409)["message"] == refused.value.message
    page = page_client(c.hr).get(reverse("compensation:ruleset_detail", args=[draft.pk]))
    html = page.content.decode()
    assert 'data-testid="ruleset-locked-periods"' in html
    assert 'data-testid="ruleset-approve-form"' not in html
    # After the last approved period it is approved, and v1 ends the day before.
    later = _draft(c, dt.date(2026, 4, 1))
    ruleset_approve(ruleset=later, actor=c.hr)
    v1.refresh_from_db()
    assert v1.effective_to == dt.date(2026, 3, 31)


def test_an_approved_assessment_period_is_protected_too(center):
    c = center
    AssessmentRun.objects.create(
        label="2026-06",
        period_end=dt.date(2026, 6, 30),
        ruleset=RuleSet.objects.get(version=1),
        ruleset_version=1,
        status=AssessmentRunStatus.APPROVED,
        approved_at=at(2026, 7, 2),
    )
    with pytest.raises(ValidationFailed) as refused:
        _draft(c, dt.date(2026, 5, 1))
    assert refused.value.message == (
        "Assessments 2026-06 are approved under v1; the effective date must be after 2026-06-30"
    )


def test_the_page_asks_to_confirm_the_approval(center):
    c = center
    draft = _draft(c, dt.date(2026, 9, 1))
    hr = page_client(c.hr)
    url = reverse("compensation:ruleset_approve", args=[draft.pk])
    unconfirmed = hr.post(url, {"reason": "new rates"})
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm: approving changes pay." in unconfirmed.content.decode()
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.DRAFT
    confirmed = hr.post(url, {"reason": "new rates", "confirm": "on"})
    assert confirmed.status_code == 302
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.APPROVED


# --- 2. negative totals ------------------------------------------------------------------------


@pytest.fixture
def negative(march):
    """March computed with a -50,000.00 adjustment for Tina: her total is negative."""
    c = march
    payadjustment_create(
        person=c.tina,
        amount=D("-50000"),
        reason="overpaid",
        actor=c.hr,
        corrects_run=_approved_february(c),
        confirmed=True,
    )
    c.march_run = _march_run(c)
    return c


def test_a_negative_total_is_flagged_and_needs_an_acknowledgement(negative):
    c = negative
    run = c.march_run
    hr = page_client(c.hr)
    html = hr.get(reverse("compensation:payrun_detail", args=[run.pk])).content.decode()
    assert 'data-testid="negative-totals"' in html and "1 person's total is negative" in html
    assert f'data-testid="negative-row-{c.tina.pk}"' in html
    assert 'data-testid="approve-negatives"' in html and 'name="acknowledge_negative"' in html
    slip = hr.get(reverse("compensation:payslip_detail", args=[run.pk, c.tina.pk]))
    assert 'data-testid="payslip-negative"' in slip.content.decode()
    sam = hr.get(reverse("compensation:payslip_detail", args=[run.pk, c.sam.pk]))
    assert 'data-testid="payslip-negative"' not in sam.content.decode()
    # The page, the API and the service refuse without the acknowledgement.
    refused = hr.post(reverse("compensation:payrun_approve", args=[run.pk]), {"reason": "x"})
    assert refused.status_code == 422 and "confirm that you approve it anyway" in (
        refused.content.decode()
    )
    api = api_client(c.hr)
    listed = api.get(f"{API}/payruns").json()
    assert next(r for r in listed if r["id"] == run.pk)["negative_totals"] == 1
    body = assert_error_shape(api.post_json(f"{API}/payruns/{run.pk}/approve", {}), 422)
    assert "acknowledge_negative" in body["details"]["fields"]
    with pytest.raises(ValidationFailed):
        payrun_approve(run=run, actor=c.hr)
    run.refresh_from_db()
    assert run.status == PayRunStatus.OPEN
    answer = api.post_json(f"{API}/payruns/{run.pk}/approve", {"acknowledge_negative": True})
    assert answer.status_code == 200 and answer.json()["status"] == "approved"


def test_the_page_approves_a_negative_total_once_ticked(negative):
    c = negative
    hr = page_client(c.hr)
    url = reverse("compensation:payrun_approve", args=[c.march_run.pk])
    response = hr.post(url, {"reason": "x", "acknowledge_negative": "on"})
    assert response.status_code == 302 and "/jobs/" in response["Location"]


def test_the_export_counts_the_negative_totals(negative):
    c = negative
    book = load_workbook(io.BytesIO(payrun_export_xlsx(run=c.march_run, actor=c.hr).content))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Negative totals"] == 1


# --- 3. far dates in the early-warning API -----------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/early-warning?day=9999-12-01",
        "/early-warning/me?day=9999-12-31",
        "/early-warning?day=5000-01-01",
        "/early-warning?day=1899-12-31",
    ],
)
def test_the_early_warning_api_refuses_a_day_outside_the_centers_years(center, path):
    body = assert_error_shape(api_client(center.hr, "zh-hans").get(API + path), 422)
    assert body["message"] == "请输入 1900 至 2200 年之间的日期。"
    assert body["details"]["fields"] == {"day": ["请输入 1900 至 2200 年之间的日期。"]}


# --- 4. cancelling an adjustment; confirming a large one ---------------------------------------


def test_a_pending_adjustment_is_cancelled_with_a_reason_and_audited(march):
    c = march
    adjustment = payadjustment_create(
        person=c.ann, amount=D("100"), reason="typo", actor=c.hr, corrects_run=_approved_february(c)
    )
    api = api_client(c.hr)
    url = f"{API}/adjustments/{adjustment.pk}/cancel"
    assert_error_shape(api.post_json(url, {"reason": ""}), 422)
    answer = api.post_json(url, {"reason": "wrong person"})
    assert answer.status_code == 200 and answer.json()["cancel_reason"] == "wrong person"
    assert answer.json()["cancelled_at"]
    entry = AuditEntry.objects.get(action="compensation.adjustment_cancel")
    assert entry.reason == "wrong person"
    assert api.get(f"{API}/adjustments/pending").json() == []
    assert_error_shape(api.post_json(url, {"reason": "again"}), 409)  # cancelled already
    run = _march_run(c)
    assert not run.lines.filter(kind="adjustment").exists()


def test_an_adjustment_paid_by_an_approved_run_cannot_be_cancelled(march):
    c = march
    adjustment = payadjustment_create(
        person=c.ann,
        amount=D("100"),
        reason="bonus",
        actor=c.hr,
        corrects_run=_approved_february(c),
    )
    run = _march_run(c)
    payrun_approve(run=run, actor=c.hr)
    with pytest.raises(InvalidState, match="which is approved"):
        payadjustment_cancel(adjustment=adjustment, actor=c.hr, reason="late")
    answer = api_client(c.hr).post_json(
        f"{API}/adjustments/{adjustment.pk}/cancel", {"reason": "late"}
    )
    assert_error_shape(answer, 409)


def test_a_run_computed_with_a_cancelled_adjustment_is_computed_again_before_approval(march):
    c = march
    adjustment = payadjustment_create(
        person=c.ann,
        amount=D("100"),
        reason="bonus",
        actor=c.hr,
        corrects_run=_approved_february(c),
    )
    run = _march_run(c)
    hr = page_client(c.hr)
    url = reverse("compensation:adjustment_cancel", args=[run.pk, adjustment.pk])
    html = hr.get(reverse("compensation:payrun_detail", args=[run.pk])).content.decode()
    assert f'action="{url}"' in html
    assert hr.post(url, {"reason": ""}).status_code == 422
    response = hr.post(url, {"reason": "not owed"})
    assert response.status_code == 302
    with pytest.raises(InvalidState, match="compute it again"):
        payrun_approve(run=run, actor=c.hr)
    run = _march_run(c)
    assert not run.lines.filter(kind="adjustment").exists()
    adjustment.refresh_from_db()
    assert adjustment.applied_run is None and adjustment.cancelled_at is not None
    payrun_approve(run=run, actor=c.hr)


def _feb_total(c, person) -> D:
    return sum(line.amount for line in c.february.lines.filter(person=person))


def test_an_adjustment_far_above_the_persons_pay_asks_for_a_confirmation(march):
    c = march
    usual = _feb_total(c, c.tina)
    assert usual > 0
    big = (usual * 3 + D("0.01")).quantize(D("0.01"))
    with pytest.raises(ValidationFailed) as refused:
        payadjustment_create(person=c.tina, amount=big, reason="x", actor=c.hr)
    assert "more than 3 times tina's pay in 2026-02" in refused.value.fields["amount"][0]
    assert "confirm" in refused.value.fields
    # Three times is fine; beyond it with the confirmation too.
    payadjustment_create(person=c.tina, amount=usual * 3, reason="x", actor=c.hr)
    payadjustment_create(person=c.tina, amount=-big, reason="x", actor=c.hr, confirmed=True)
    # The API: 422 with the reason, 200 with "confirm": true.
    api = api_client(c.hr)
    url = f"{API}/payruns/{c.february.pk}/adjustments"
    payload = {"person_id": c.tina.pk, "amount": "999999", "reason": "typo?"}
    body = assert_error_shape(api.post_json(url, payload), 422)
    assert "confirm" in body["details"]["fields"]
    assert api.post_json(url, {**payload, "confirm": True}).status_code == 200


@override_settings(
    TELESALES_PAY_ADJUSTMENT_CONFIRM_FACTOR=1, TELESALES_PAY_ADJUSTMENT_CONFIRM_CEILING=500
)
def test_the_factor_and_the_ceiling_are_settings(march):
    c = march
    usual = _feb_total(c, c.tina)
    with pytest.raises(ValidationFailed, match="Invalid adjustment"):
        payadjustment_create(person=c.tina, amount=usual + D("1"), reason="x", actor=c.hr)
    nobody = c.person(c.team_a, "newbie", "agent", "T0")  # no approved pay yet
    with pytest.raises(ValidationFailed) as refused:
        payadjustment_create(person=nobody, amount=D("500.01"), reason="x", actor=c.hr)
    assert "no approved pay to compare" in refused.value.fields["amount"][0]
    payadjustment_create(person=nobody, amount=D("500"), reason="x", actor=c.hr)
    # A negative amount reads as the take-back it is (QA, session 20: "¥20,000.00 … pay").
    with pytest.raises(ValidationFailed) as back:
        payadjustment_create(person=c.tina, amount=-(usual + D("1")), reason="x", actor=c.hr)
    assert back.value.fields["amount"][0].startswith("A take-back of ¥")


def test_the_page_offers_the_confirmation_when_the_amount_is_large(march):
    c = march
    hr = page_client(c.hr)
    url = reverse("compensation:payrun_adjust", args=[c.february.pk])
    data = {"person": c.tina.pk, "amount": "999999", "reason": "typo?"}
    first = hr.post(url, data)
    html = first.content.decode()
    assert first.status_code == 422 and 'type="checkbox" name="confirm"' in html
    assert "confirm that the amount is right" in html
    assert not PayAdjustment.objects.exists()
    assert hr.post(url, {**data, "confirm": "on"}).status_code == 302
    assert PayAdjustment.objects.get().amount == D("999999")


# --- 5. the month in progress is a preview -----------------------------------------------------


def test_a_run_computed_during_its_month_is_shown_as_provisional(march):
    c = march
    run = _march_run(c)
    PayRun.objects.filter(pk=run.pk).update(computed_at=at(2026, 3, 20))  # computed mid-month
    run.refresh_from_db()
    assert run.provisional and run.approvable_from == dt.date(2026, 4, 1)
    c.february.refresh_from_db()
    assert not c.february.provisional
    hr = page_client(c.hr)
    listing = hr.get(reverse("compensation:payrun_list")).content.decode()
    assert listing.count('data-testid="run-provisional"') == 1
    assert "In progress · provisional" in listing
    header = hr.get(reverse("compensation:payrun_detail", args=[run.pk])).content.decode()
    assert 'data-testid="run-provisional"' in header
    slip = hr.get(reverse("compensation:payslip_detail", args=[run.pk, c.ann.pk]))
    assert 'data-testid="run-provisional"' in slip.content.decode()
    runs = {r["label"]: r for r in api_client(c.hr).get(f"{API}/payruns").json()}
    assert runs["2026-03"]["provisional"] is True
    assert runs["2026-03"]["approvable_from"] == "2026-04-01"
    assert runs["2026-02"]["provisional"] is False
    book = load_workbook(io.BytesIO(payrun_export_xlsx(run=run, actor=c.hr).content))
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Status"] == "Open · in progress, provisional (figures so far)"
    with translation.override("zh-hans"):
        assert "进行中·暂估" in (
            page_client(c.hr, "zh-hans").get(reverse("compensation:payrun_list")).content.decode()
        )


# --- 6. the xlsx -------------------------------------------------------------------------------


def test_the_export_is_readable_in_a_spreadsheet(march):
    c = march
    payadjustment_create(
        person=c.ann,
        amount=D("100"),
        reason="bonus",
        actor=c.hr,
        corrects_run=_approved_february(c),
    )
    run = payrun_approve(run=_march_run(c), actor=c.hr)
    book = load_workbook(io.BytesIO(payrun_export_xlsx(run=run, actor=c.hr).content))
    assert book.sheetnames == ["Summary", "Lines", "Policies", "Totals"]
    summary = {row[0]: row[1] for row in book["Summary"].iter_rows(values_only=True)}
    assert summary["Pay run"] == "2026-03" and summary["Status"] == "Approved"
    assert D(str(summary["Total"])) == run.total and summary["Rule set version"] == "v1"
    lines = book["Lines"]
    header = list(next(lines.iter_rows(min_row=1, max_row=1)))
    assert all(cell.font.b for cell in header)
    assert lines.freeze_panes == "A2"
    assert lines.auto_filter.ref == f"A1:M{run.line_count + 1}"
    assert lines.column_dimensions["L"].width >= 30  # the note
    rows = list(lines.iter_rows(min_row=2))
    rated = [row for row in rows if row[6].value is not None]
    assert rated and all(row[6].number_format == "0.00%" for row in rated)
    assert any(row[6].value == pytest.approx(0.3) for row in rated)
    assert all(row[4].number_format == "#,##0.00" for row in rows)
    sources = " ".join(str(row[10].value or "") for row in rows)
    assert "policy:" not in sources and "person:" not in sources
    assert "P0002" in sources and "adjustment #" in sources and "pay run 2026-02" in sources
    policies = list(book["Policies"].iter_rows(values_only=True))
    assert "Policy" not in policies[0] and "Policy number" in policies[0]
    assert len(policies[0]) == len(set(policies[0]))
    assert all(not str(value).startswith("policy:") for row in policies[1:] for value in row)
    totals = list(book["Totals"].iter_rows(values_only=True))
    assert totals[0] == ("Period", "Employee no.", "Name", "Team", "Total")
    people = totals[1:-1]
    assert {row[3] for row in people} == {"A组", "B组"}
    assert totals[-1][0] == "Total" and D(str(totals[-1][4])) == run.total
    assert sum(D(str(row[4])) for row in people) == run.total
    assert book["Totals"].auto_filter.ref == f"A1:E{len(people) + 1}"


# --- 7. typed amounts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("１００", D("100")),
        ("１００．５０", D("100.50")),
        ("1,000", D("1000")),
        ("１，２３４．５", D("1234.5")),
        ("－８０", D("-80")),
        ("-1,000.25", D("-1000.25")),
        ("￥1,200", D("1200")),
        ("　１２０　", D("120")),
    ],
)
def test_full_width_digits_and_grouped_numbers_are_read(typed, amount):
    assert adjustment_amount_parse(typed) == amount


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "“abc” is not an amount: write it in digits, such as 120.50 or -80."),
        ("1,00", "Group the digits by thousands (1,000.50) or write them plain (1000.50)."),
        ("1,0000", "Group the digits by thousands (1,000.50) or write them plain (1000.50)."),
        ("１e５", "Write the amount in plain digits, such as 120.50 or -80, not as 1e5."),
        ("100.555", "At most two decimals."),
    ],
)
def test_garbage_is_still_refused_with_a_clear_message(typed, message):
    with pytest.raises(ValidationFailed) as refused:
        adjustment_amount_parse(typed)
    assert refused.value.fields["amount"] == [message]


def test_the_page_takes_a_full_width_amount(march):
    c = march
    hr = page_client(c.hr)
    url = reverse("compensation:payrun_adjust", args=[c.february.pk])
    response = hr.post(url, {"person": c.ann.pk, "amount": "１，０００．５０", "reason": "r"})
    assert response.status_code == 302
    assert PayAdjustment.objects.get().amount == D("1000.50")


# --- 8. API messages ---------------------------------------------------------------------------


def test_a_file_and_text_together_say_only_one(center):
    answer = api_client(center.hr).post(
        f"{API}/rulesets",
        {
            "effective_from": "2026-09-01",
            "text": TEXT,
            "file": SimpleUploadedFile("law.yaml", TEXT.encode()),
        },
    )
    body = assert_error_shape(answer, 422)
    assert body["message"] == "Give the rules as a file or as text, not both."
    assert "Required." not in json.dumps(body)


def test_a_payslip_of_someone_not_in_the_run_is_not_found(march):
    c = march
    outsider = c.person(c.team_a, "later", "agent", "T0")
    api = api_client(c.hr)
    body = assert_error_shape(api.get(f"{API}/payruns/{c.february.pk}/payslips/{outsider.pk}"), 404)
    assert body["message"] == "later is not paid in the pay run 2026-02"
    assert api.get(f"{API}/payruns/{c.february.pk}/payslips/{c.ann.pk}").status_code == 200
    # Their own payslip too; and someone who may not read it still gets 403 first.
    assert_error_shape(api_client(outsider.user).get(f"{API}/payruns/{c.february.pk}/payslip"), 404)
    other = api_client(c.ann.user).get(f"{API}/payruns/{c.february.pk}/payslips/{outsider.pk}")
    assert_error_shape(other, 403)


def test_an_assessment_month_before_any_rule_set_says_so(center):
    answer = api_client(center.hr).post_json(f"{API}/assessments", {"label": "1999-01"})
    body = assert_error_shape(answer, 422)
    assert body["message"] == "No approved rule set is in force in 1999-01"
    bad = api_client(center.hr).post_json(f"{API}/assessments", {"label": "1999-13"})
    assert assert_error_shape(bad, 422)["details"]["fields"] == {"label": ["Expected YYYY-MM"]}


@pytest.mark.parametrize(
    ("amount", "status", "stored"),
    [
        (100.5, 200, D("100.50")),
        (1e5, 200, D("100000")),
        ("１００", 200, D("100")),
        (100.555, 422, None),
        (0.001, 422, None),
    ],
)
def test_json_numbers_are_taken_as_the_schema_says(march, amount, status, stored):
    c = march
    answer = api_client(c.hr).post_json(
        f"{API}/payruns/{c.february.pk}/adjustments",
        {"person_id": c.ann.pk, "amount": amount, "reason": "r", "confirm": True},
    )
    assert answer.status_code == status, answer.content
    if stored is not None:
        assert D(answer.json()["amount"]) == stored


def test_the_adjustment_schema_documents_numbers(center):
    schema = JsonClient().get("/api/v1/openapi.json").json()["components"]["schemas"]
    adjustment = schema["AdjustmentIn"]
    assert {"type": "number"} in adjustment["properties"]["amount"]["anyOf"]
    assert "refused (422), since" not in adjustment["description"]
    assert "confirm" in adjustment["properties"]


# --- 9. small texts ----------------------------------------------------------------------------


def test_a_yaml_error_names_the_file_and_explains_in_the_readers_language(center):
    broken = TEXT.replace("name:", "name: a: b", 1)
    with translation.override("zh-hans"), pytest.raises(RuleSetInvalid) as refused:
        ruleset_parse(broken, filename="law.yaml")
    assert refused.value.message.startswith("law.yaml")
    [error] = refused.value.errors
    assert error.line == next(
        n for n, line in enumerate(broken.splitlines(), start=1) if "name: a: b" in line
    )
    assert error.reason.startswith("不是有效的 YAML：") and "mapping values" not in error.reason
    with pytest.raises(RuleSetInvalid) as english:
        ruleset_parse(broken, filename="law.yaml")
    assert english.value.errors[0].reason == (
        "not valid YAML: a colon where no key can start (check the indentation, or quote the value)"
    )


def test_an_empty_file_says_the_same_in_the_api_and_on_the_page(center):
    api = api_client(center.hr, "zh-hans").post(
        f"{API}/rulesets",
        {"effective_from": "2026-09-01", "file": SimpleUploadedFile("law.yaml", b"")},
    )
    body = assert_error_shape(api, 422)
    page = page_client(center.hr, "zh-hans").post(
        reverse("compensation:ruleset_list"),
        {"effective_from": "2026-09-01", "file": SimpleUploadedFile("law.yaml", b"")},
    )
    assert page.status_code == 422
    assert body["details"]["fields"]["file"][0] in page.content.decode()
    assert "null" not in body["message"]


def test_help_text_names_gbk_and_headers_do_not_wrap(center):
    hr = page_client(center.hr)
    html = hr.get(reverse("compensation:ruleset_list")).content.decode()
    assert "UTF-8 or GBK text." in html
    assert '<thead class="text-nowrap">' in html


def test_the_what_if_says_what_it_compares_against(march):
    c = march
    draft = _draft(c, dt.date(2026, 12, 1))
    html = (
        page_client(c.hr)
        .get(reverse("compensation:whatif"), {"draft": draft.pk, "period": "2026-03"})
        .content.decode()
    )
    assert 'data-testid="whatif-approved-header"' in html
    assert "Rules in force (v1)" in html and f"Draft (v{draft.version})" in html


def test_a_payslip_note_reads_in_the_readers_language_on_the_page_the_export_and_the_api(
    march,
):
    """QA (session 20): notes were stored in the language of the center when the run was
    computed, so an English payslip and its export read "应出勤 22 天，实出勤 20 天". They are
    stored as messages and values and put into words for each reader."""
    from telesales.compensation.models import PayLine

    run = payrun_compute(period_start=MAR, actor=march.hr)
    base = PayLine.objects.get(run=run, person=march.tina, kind="base_pay")
    assert "应出勤" not in base.note and "attended" in base.note  # the message id is stored
    page = reverse("compensation:payslip_detail", args=[run.pk, march.tina.pk])
    api = f"/api/v1/compensation/payruns/{run.pk}/payslips/{march.tina.pk}"
    shown = {}
    for language in ("en", "zh-hans"):
        client = JsonClient()
        client.force_login(march.hr)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        html = client.get(page).content.decode()
        cell = html[html.index('data-testid="line-note"') :]
        lines = client.get(api).json()["lines"]
        with translation.override(language):
            book = load_workbook(io.BytesIO(payrun_export_xlsx(run=run, actor=march.hr).content))
        sheet = book.worksheets[1]
        notes = [row[-2] for row in sheet.iter_rows(values_only=True)]
        shown[language] = (cell[: cell.index("</td>")], [ln["note"] for ln in lines], notes)
    english, chinese = shown["en"], shown["zh-hans"]
    assert "20 of 22 days attended" in english[0] and "20 of 22 days attended" in english[1]
    assert "20 of 22 days attended" in english[2]
    assert "应出勤 22 天，实出勤 20 天" in chinese[0] and "应出勤 22 天，实出勤 20 天" in chinese[1]
    assert "应出勤 22 天，实出勤 20 天" in chinese[2]


def test_an_adjustment_names_the_pay_run_it_corrects_on_the_payslip(march):
    """QA (session 20): the payslip's sources read "payrun:3" where the export said "pay run
    2026-10"."""
    february = _approved_february(march)
    payadjustment_create(
        person=march.tina, amount=D("120"), reason="漏发", actor=march.hr, corrects_run=february
    )
    run = _march_run(march)
    client = Client()
    client.force_login(march.hr)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(
        reverse("compensation:payslip_detail", args=[run.pk, march.tina.pk])
    ).content.decode()
    assert f"pay run {february.label}" in html
    assert f"payrun:{february.pk}<" not in html and f">payrun:{february.pk}" not in html


def test_an_open_run_computed_under_an_older_rule_set_says_to_compute_it_again(march):
    """QA (session 20): after a new version was approved for the month, the open run still
    read "rule set v1" with nothing to say that its figures were stale."""
    run = _march_run(march)
    page = reverse("compensation:payrun_detail", args=[run.pk])
    assert 'data-testid="stale-ruleset"' not in page_client(march.hr).get(page).content.decode()
    draft = _draft(march, MAR)
    ruleset_approve(ruleset=draft, actor=march.hr)
    html = page_client(march.hr).get(page).content.decode()
    assert 'data-testid="stale-ruleset"' in html
    assert f"v{draft.version} now applies to 2026-03" in html
    _march_run(march)
    again = page_client(march.hr).get(page).content.decode()
    assert 'data-testid="stale-ruleset"' not in again


def test_a_team_leads_allowance_shows_each_members_fyc_and_what_cancellations_took(march):
    """QA (session 20): the management allowance listed its sources without an amount; a
    free-look cancellation took FYC off the team's basis with nothing to say so, and the team
    lead may not open the members' policies."""
    run = _march_run(march)
    client = page_client(march.hr)
    page = client.get(reverse("compensation:payslip_detail", args=[run.pk, march.lee.pk]))
    lines = [ln for ln in page.context["slip"].lines if ln.kind == "management_allowance"]
    assert lines, [ln.kind for ln in page.context["slip"].lines]
    from django.db.models import Sum

    from telesales.compensation.models import PayLine

    by_name = {
        row["person__name"]: row["fyc"]
        for row in PayLine.objects.filter(run=run, kind="commission")
        .values("person__name")
        .annotate(fyc=Sum("basis"))
    }
    for line in lines:
        assert line.member_fyc
        for name, fyc in line.member_fyc:  # each member's own FYC of the month
            assert fyc == by_name.get(name, D("0")), name
        taken = line.fyc_taken_back or D("0")
        assert sum((fyc for _name, fyc in line.member_fyc), D("0")) + taken == line.basis
    html = page.content.decode()
    assert 'data-testid="line-member-fyc"' in html
