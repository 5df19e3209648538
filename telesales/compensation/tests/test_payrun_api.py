"""The pay-run JSON endpoints over the center of payrun_world.py: HR computes, approves and
exports; a person reads their own payslip only; a team lead reads their team's totals only;
missing data is a 422 listing each record."""

from __future__ import annotations

import io
from decimal import Decimal as D

import pytest
from django.conf import settings
from openpyxl import load_workbook

from telesales.compensation.models import Attendance, PayAdjustment, PayRun
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
    sheet = load_workbook(io.BytesIO(exported.content))["工资明细"]  # the caller's language
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


def test_a_period_that_has_not_started_is_a_clear_422(march):
    """2099-12 is a pay period of the shipped basic law (in force with no end), but nobody
    has worked it: refused before anything is read, with a translated reason instead of
    every person's missing attendance."""
    hr = client_for(march.hr)
    before = PayRun.objects.count()
    body = assert_error_shape(hr.post_json(BASE, {"period_start": "2099-12-01"}), 422)
    assert body["message"].startswith("2099-12 的计薪期尚未开始")
    assert list(body["details"]["fields"]) == ["period_start"]
    assert "person:" not in str(body)
    hr.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = assert_error_shape(hr.post_json(BASE, {"period_start": "2099-12-01"}), 422)
    assert body["message"] == "The pay period 2099-12 has not started yet: it starts on 2099-12-01"
    assert PayRun.objects.count() == before


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("1e5", "not as 1e5"),
        (1e7, "at most ¥1,000,000.00"),  # a JSON number: read as 10000000
        (120.555, "two decimals"),
        (1e300, "not as 1e5"),  # repr "1e+300": exponent form
        ("NaN", "is not an amount"),
        ("2000000", "at most ¥1,000,000.00"),
        ("1.234", "two decimals"),
        ("0", "not be zero"),
        (True, "amount in yuan"),
        (["1"], "amount in yuan"),
    ],
)
def test_an_adjustment_amount_must_be_plain_sane_decimals(march, amount, error):
    hr = client_for(march.hr)
    hr.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = f"{BASE}/{march.february.pk}/adjustments"
    payload = {"person_id": march.sam.pk, "amount": amount, "reason": "fix"}
    body = assert_error_shape(hr.post_json(url, payload), 422)
    assert error in " ".join(body["details"]["fields"]["amount"])
    assert not PayAdjustment.objects.exists()


@pytest.mark.parametrize(("sent", "kept"), [(120.5, "120.50"), (1e5, "100000.00"), (-80, "-80.00")])
def test_an_adjustment_amount_may_be_a_json_number_as_other_amounts_are(march, sent, kept):
    url = f"{BASE}/{march.february.pk}/adjustments"
    # Confirmed: 100,000 is far above Sam's pay (the confirmation is tested on its own).
    payload = {"person_id": march.sam.pk, "amount": sent, "reason": "fix", "confirm": True}
    made = client_for(march.hr).post_json(url, payload)
    assert made.status_code == 200, made.content
    assert PayAdjustment.objects.get().amount == D(kept)


def test_an_adjustment_recorded_through_the_api_is_listed_as_pending(march):
    hr = client_for(march.hr)
    url = f"{BASE}/{march.february.pk}/adjustments"
    assert hr.get(f"{BASE[: -len('/payruns')]}/adjustments/pending").json() == []
    made = hr.post_json(url, {"person_id": march.sam.pk, "amount": "-80.50", "reason": "fix"})
    assert made.status_code == 200, made.content
    body = made.json()
    assert D(body["amount"]) == D("-80.50") and body["corrects_run_id"] == march.february.pk
    assert body["applied_run_id"] is None
    whole = hr.post_json(url, {"person_id": march.sam.pk, "amount": 120, "reason": "bonus"})
    assert whole.status_code == 200 and D(whole.json()["amount"]) == D("120")
    pending = hr.get(f"{BASE[: -len('/payruns')]}/adjustments/pending").json()
    assert [p["id"] for p in pending] == [body["id"], whole.json()["id"]]
    # A person outside the run, and a person who may not adjust.
    outsider = {"person_id": 999999, "amount": "10", "reason": "x"}
    assert_error_shape(hr.post_json(url, outsider), 422)
    agent = client_for(march.tina.user)
    assert_error_shape(agent.post_json(url, {**outsider, "person_id": march.sam.pk}), 403)
    assert_error_shape(agent.get(f"{BASE[: -len('/payruns')]}/adjustments/pending"), 403)
    assert PayAdjustment.objects.count() == 2


def test_the_pending_adjustments_say_who_recorded_each_by_name(
    march, django_assert_max_num_queries
):
    """As the page does: the recorder's employee name ("Hana"), else the login's full name,
    else the login name; their login id beside it; read with the rows, not a query each."""
    from telesales.compensation.payrun import payadjustment_create
    from telesales.core.roles import Role
    from telesales.org.tests.factories import UserFactory

    url = f"{BASE}/{march.february.pk}/adjustments"
    hr = client_for(march.hr)
    made = hr.post_json(url, {"person_id": march.sam.pk, "amount": "-80.50", "reason": "fix"})
    assert made.status_code == 200, made.content
    assert (made.json()["created_by_id"], made.json()["created_by_name"]) == (march.hr.pk, "Hana")
    boss = UserFactory(username="boss", first_name="", last_name="", roles=[Role.MANAGER])
    payadjustment_create(person=march.sam, amount=D("5"), reason="x", actor=boss, corrects_run=None)
    with django_assert_max_num_queries(6):
        pending = hr.get(f"{BASE[: -len('/payruns')]}/adjustments/pending")
    rows = [(p["created_by_id"], p["created_by_name"]) for p in pending.json()]
    assert rows == [(march.hr.pk, "Hana"), (boss.pk, "boss")]
    schema = hr.get("/api/v1/openapi.json").json()["components"]["schemas"]["AdjustmentOut"]
    assert {"created_by_id", "created_by_name"} <= set(schema["required"])


def test_the_adjustment_limit_is_a_setting(settings):
    from telesales.compensation.payrun import adjustment_limit

    settings.TELESALES_PAY_ADJUSTMENT_LIMIT = "50000.00"
    assert adjustment_limit() == D("50000.00")


RUN_WIDE = ("total", "line_count", "run_count", "computed_at", "input_fingerprint")


def test_an_agent_or_a_team_lead_lists_runs_without_run_wide_figures(march):
    """An agent may read only their own payslip: the list gives them which runs exist, not
    how many lines the whole center has, how often it was computed or its fingerprint. HR
    keeps every figure."""
    feb = march.february
    everything = client_for(march.hr).get(BASE).json()
    [row] = [r for r in everything if r["id"] == feb.pk]
    assert row["line_count"] == feb.line_count > 0 and row["run_count"] == feb.run_count
    assert row["input_fingerprint"] == feb.input_fingerprint != ""
    assert row["computed_at"] is not None and D(row["total"]) == feb.total
    for user in (march.tina.user, march.lee.user):
        [row] = client_for(user).get(BASE).json()
        assert (row["id"], row["label"], row["status"]) == (feb.pk, "2026-02", "approved")
        assert row["period_start"] == "2026-02-01" and row["approved_at"] is not None
        assert {field: row[field] for field in RUN_WIDE} == dict.fromkeys(RUN_WIDE)


def test_the_api_export_is_named_in_the_callers_language(march):
    hr = client_for(march.hr)
    url = f"{BASE}/{march.february.pk}/export.xlsx"
    chinese = hr.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")["Content-Disposition"]
    assert chinese == (
        'attachment; filename="payrun-2026-02.xlsx"; '
        "filename*=UTF-8''%E5%B7%A5%E8%B5%84%E5%8D%95-2026-02.xlsx"
    )
    hr.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert hr.get(url)["Content-Disposition"] == 'attachment; filename="payrun-2026-02.xlsx"'


def test_the_api_computes_the_month_in_progress_but_will_not_approve_it(march):
    import datetime as dt

    from django.utils import timezone

    start = timezone.localdate().replace(day=1)
    people = (march.lee, march.tina, march.sam, march.kai, march.ann)
    march.attend(start, dict.fromkeys(people, (10, 22)))
    hr = client_for(march.hr)
    run = hr.post_json(BASE, {"period_start": start.isoformat()}).json()
    assert run["status"] == "open" and run["run_count"] == 1
    day = (dt.date.fromisoformat(run["period_end"]) + dt.timedelta(days=1)).isoformat()
    body = assert_error_shape(hr.post_json(f"{BASE}/{run['id']}/approve", {}), 409)
    assert day in body["message"]
    assert PayRun.objects.get(pk=run["id"]).status == "open"
