"""The pay-run JSON endpoints over the center of payrun_world.py: HR computes, approves and
exports; a person reads their own payslip only; a team lead reads their team's totals only;
missing data is a 422 listing each record."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
from django.conf import settings
from openpyxl import load_workbook

from telesales.compensation.models import Attendance, PayRun
from telesales.compensation.tests.payrun_world import MAR
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape

pytestmark = pytest.mark.django_db
BASE = "/api/v1/compensation/payruns"


def client_for(user) -> JsonClient:
    client = JsonClient()
    client.force_login(user)
    return client


def test_hr_computes_approves_and_exports_and_people_read_what_they_may(march):
    c = march
    hr = client_for(c.hr)
    assert_error_shape(client_for(c.tina.user).post_json(BASE, {"period_start": "2026-03-01"}), 403)
    response = hr.post_json(BASE, {"period_start": "2026-03-01"})
    assert response.status_code == 200, response.content
    run = response.json()
    assert (run["label"], run["status"], run["run_count"]) == ("2026-03", "open", 1)
    assert D(run["total"]) == D("23297.72")
    again = hr.post_json(BASE, {"period_start": "2026-03-01"}).json()
    assert again["input_fingerprint"] == run["input_fingerprint"] and again["run_count"] == 2

    tina = client_for(c.tina.user)
    assert_error_shape(tina.get(f"{BASE}/{run['id']}/payslip"), 404)  # open: not listed
    approved = hr.post_json(f"{BASE}/{run['id']}/approve", {}).json()
    assert approved["status"] == "approved"
    assert_error_shape(hr.post_json(BASE, {"period_start": "2026-03-01"}), 409, "invalid_state")

    slip = tina.get(f"{BASE}/{run['id']}/payslip").json()
    assert D(slip["total"]) == D("3023.55")
    assert [(ln["kind"], D(ln["amount"])) for ln in slip["lines"]] == [
        ("base_pay", D("2727.27")),
        ("commission", D("296.28")),
    ]
    assert_error_shape(tina.get(f"{BASE}/{run['id']}/payslips/{c.sam.pk}"), 403)
    listed = tina.get(BASE).json()
    assert {r["label"] for r in listed} == {"2026-02", "2026-03"}
    assert all(r["total"] is None for r in listed)  # the center's total is HR's

    lee = client_for(c.lee.user)
    totals = lee.get(f"{BASE}/{run['id']}/teams/{c.team_a.pk}/totals").json()
    assert D(totals["total"]) == D("13647.72") and len(totals["people"]) == 3
    # Money in cents, as the payslip gives it (SQLite's SUM has a floating-point tail)
    assert totals["total"] == "13647.72"
    assert all(len(str(p["total"]).split(".")[1]) == 2 for p in totals["people"])
    assert_error_shape(lee.get(f"{BASE}/{run['id']}/teams/{c.team_b.pk}/totals"), 403)
    assert_error_shape(lee.get(f"{BASE}/{run['id']}/payslips/{c.tina.pk}"), 403)
    assert_error_shape(lee.get(f"{BASE}/{run['id']}/export.xlsx"), 403)

    exported = hr.get(f"{BASE}/{run['id']}/export.xlsx")
    assert exported.status_code == 200
    assert 'filename="payrun-2026-03.xlsx"' in exported["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(exported.content))["Lines"]
    assert sheet.max_row - 1 == PayRun.objects.get(pk=run["id"]).lines.count()


def test_missing_attendance_is_a_422_naming_the_person(march):
    c = march
    Attendance.objects.filter(person=c.kai, period_start=MAR).delete()
    hr = client_for(c.hr)
    body = assert_error_shape(hr.post_json(BASE, {"period_start": "2026-03-01"}), 422)
    assert body["details"]["fields"] == {f"person:{c.kai.pk}": ["2026-03 没有考勤记录"]}
    # In the language the caller chose (the stored lines are always in the center's).
    hr.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = assert_error_shape(hr.post_json(BASE, {"period_start": "2026-03-01"}), 422)
    assert body["details"]["fields"] == {f"person:{c.kai.pk}": ["no attendance for 2026-03"]}
    assert not PayRun.objects.filter(period_start=MAR).exists()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"period_start": ""},
        {"period_start": "2026-13-01"},
        {"period_start": "'; DROP TABLE compensation_payrun; --"},
        {"period_start": "2026-03-01" * 10_000},
        {"period_start": ["2026-03-01"]},
    ],
    ids=["empty", "blank", "impossible-date", "hostile", "huge", "wrong-type"],
)
def test_bad_compute_requests_are_clear_errors_and_create_nothing(march, payload):
    before = PayRun.objects.count()
    body = assert_error_shape(client_for(march.hr).post_json(BASE, payload), 422)
    assert body["message"]
    assert PayRun.objects.count() == before
    assert not PayRun.objects.filter(period_start=MAR).exists()


def test_a_period_that_does_not_start_a_pay_period_is_refused(march):
    before = PayRun.objects.count()
    body = assert_error_shape(
        client_for(march.hr).post_json(BASE, {"period_start": "2026-03-02"}), 422
    )
    assert body["message"]
    assert PayRun.objects.count() == before


def test_unknown_runs_are_404_and_a_double_approval_is_a_conflict(march):
    hr = client_for(march.hr)
    assert_error_shape(hr.post_json(f"{BASE}/999999/approve", {"reason": ""}), 404)
    assert_error_shape(hr.get(f"{BASE}/999999/export.xlsx"), 404)
    run = hr.post_json(BASE, {"period_start": "2026-03-01"}).json()
    assert hr.post_json(f"{BASE}/{run['id']}/approve", {"reason": ""}).status_code == 200
    # The same approval posted twice: a clear conflict, and the run stays as approved.
    assert_error_shape(hr.post_json(f"{BASE}/{run['id']}/approve", {"reason": ""}), 409)
    assert PayRun.objects.get(pk=run["id"]).status == "approved"
