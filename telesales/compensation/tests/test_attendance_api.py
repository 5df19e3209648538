"""The attendance JSON endpoints (api_attendance.py) over the center of payrun_world.py: HR
reads the period's sheet and records many rows at once; one bad row saves nothing (422 with
every row's problems); an approved period is 409; agents are 403; bad input is a 4xx, never a
500."""

from __future__ import annotations

import pytest
from django.conf import settings

from telesales.compensation.models import Attendance
from telesales.compensation.tests.payrun_world import APR, FEB
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape

pytestmark = pytest.mark.django_db
URL = "/api/v1/compensation/attendance"


def client_for(user) -> JsonClient:
    """Signed in, answers in English (the assertions read the English messages)."""
    client = JsonClient()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _rows(c, **days):
    return [
        {"employee_no": p.employee_no, "days_attended": days.get(p.name, 22), "days_required": 22}
        for p in (c.lee, c.tina, c.sam, c.kai, c.ann)
    ]


def test_hr_reads_the_sheet_and_records_it(center):
    c = center
    hr = client_for(c.hr)
    sheet = hr.get(URL, {"period": "2026-04"})
    assert sheet.status_code == 200, sheet.content
    body = sheet.json()
    assert (body["period"], body["period_start"], body["working_days"]) == (
        "2026-04",
        "2026-04-01",
        22,
    )
    assert (body["people"], body["recorded"], body["missing"], body["locked"]) == (5, 0, 5, False)
    assert {r["person_id"] for r in body["rows"]} == {
        p.pk for p in (c.lee, c.tina, c.sam, c.kai, c.ann)
    }
    assert all(r["days_attended"] is None and not r["recorded"] for r in body["rows"])

    saved = hr.put_json(f"{URL}?period=2026-04", _rows(c, tina=18))
    assert saved.status_code == 200, saved.content
    assert saved.json() == {
        "period": "2026-04",
        "period_start": "2026-04-01",
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "missing": 0,
    }
    assert Attendance.objects.get(person=c.tina, period_start=APR).days_attended == 18
    # By person id, with the name checked: one change.
    again = hr.put_json(
        f"{URL}?period=2026-04",
        [{"person_id": c.tina.pk, "name": "tina", "days_attended": 19, "days_required": 22}],
    )
    assert again.json()["updated"] == 1
    row = next(r for r in hr.get(URL, {"period": "2026-04"}).json()["rows"] if r["name"] == "tina")
    assert (row["days_attended"], row["days_required"], row["recorded"]) == (19, 22, True)


def test_one_bad_row_saves_nothing_and_each_problem_is_named(center):
    c = center
    rows = _rows(c, tina=23)
    rows.append({"employee_no": "X999", "days_attended": 1, "days_required": 22})
    rows.append({"person_id": 2**70, "days_attended": 1, "days_required": 22})
    response = client_for(c.hr).put_json(f"{URL}?period=2026-04", rows)
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["details"]["fields"]["rows[1].days_attended"] == [
        "More than the days required (22)."
    ]
    assert body["details"]["fields"]["rows[5].employee_no"] == [
        "No one has the employee number X999."
    ]
    assert "rows[6].person" in body["details"]["fields"]
    assert [r["index"] for r in body["details"]["rows"]] == [1, 5, 6]
    assert not Attendance.objects.filter(period_start=APR).exists()


def test_an_approved_period_is_409(march):
    c = march
    response = client_for(c.hr).put_json(
        f"{URL}?period=2026-02",
        [{"person_id": c.tina.pk, "days_attended": 10, "days_required": 20}],
    )
    assert_error_shape(response, 409, "invalid_state")
    assert Attendance.objects.get(person=c.tina, period_start=FEB).days_attended == 20
    assert client_for(c.hr).get(URL, {"period": "2026-02"}).json()["locked"] is True


def test_permissions(center):
    c = center
    assert_error_shape(JsonClient().get(URL, {"period": "2026-04"}), 401)
    assert_error_shape(client_for(c.tina.user).get(URL, {"period": "2026-04"}), 403)
    assert_error_shape(
        client_for(c.lee.user).put_json(f"{URL}?period=2026-04", _rows(c)), 403, "permission_denied"
    )
    assert not Attendance.objects.filter(period_start=APR).exists()


@pytest.mark.parametrize(
    ("query", "body", "status"),
    [
        ("period=2026-13", [], 422),
        ("period=abc", [], 422),
        ("period=2025-06", [], 422),  # no rule set in force
        ("", [], 422),
        ("period=2026-04", {"rows": []}, 422),  # not a list
        ("period=2026-04", [{"employee_no": "F1", "days_attended": "x", "days_required": 22}], 422),
        ("period=2026-04", [{"employee_no": "F1", "days_attended": 1.5, "days_required": 22}], 422),
        (
            "period=2026-04",
            [{"employee_no": "F1\u0000", "days_attended": 1, "days_required": 2}],
            422,
        ),
        ("period=2026-04", [{"employee_no": "F1", "days_attended": -1, "days_required": 22}], 422),
        ("period=2026-04", [{"days_attended": 1, "days_required": 22}], 422),
        ("period=2026-04", "not json", 400),
    ],
)
def test_bad_input_is_a_4xx(center, query, body, status):
    hr = client_for(center.hr)
    assert_error_shape(hr.put_json(f"{URL}?{query}", body), status)
    if not query.endswith("2026-04"):
        assert_error_shape(hr.get(f"{URL}?{query}"), status)
    assert not Attendance.objects.filter(period_start=APR).exists()
