"""The assessment and early-warning JSON endpoints: HR runs, decides and approves; others get
403; unknown ids 404; wrong types 422; a second decision or approval 409."""

from __future__ import annotations

import datetime as dt

import pytest

from telesales.compensation.tests.assessment_world import AssessmentCenter
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape

BASE = "/api/v1/compensation/assessments"
OUTCOMES = "/api/v1/compensation/assessment-outcomes"
WARNING = "/api/v1/compensation/early-warning"


@pytest.fixture
def c(db):
    return AssessmentCenter()


def client_for(user) -> JsonClient:
    client = JsonClient()
    client.force_login(user)
    return client


def test_hr_runs_decides_and_approves(c):
    c.sale(c.ann, "3000.00", dt.date(2026, 5, 5))
    hr = client_for(c.hr)
    response = hr.post_json(BASE, {"label": "2026-06"})
    assert response.status_code == 200, response.content
    run = response.json()
    assert (run["label"], run["status"], run["run_count"]) == ("2026-06", "draft", 1)
    by_name = {o["person_name"]: o for o in run["outcomes"]}
    ann = by_name["ann"]
    assert (ann["from_level"], ann["outcome"], ann["to_level"]) == ("S1", "extend", "S1")
    fyc = next(x for x in ann["criteria"]["maintain"]["criteria"] if x["measure"] == "fyc")
    assert (fyc["value"], fyc["threshold"], fyc["met"]) == ("3000.00", "3000.00", True)
    assert [r["id"] for r in hr.get(BASE).json()] == [run["id"]]
    assert hr.get(f"{BASE}/{run['id']}").json()["outcomes"] == run["outcomes"]

    for outcome in run["outcomes"]:
        answer = hr.post_json(f"{OUTCOMES}/{outcome['id']}/decide", {"decision": "approved"})
        assert answer.status_code == 200, answer.content
        assert answer.json()["decision"] == "approved"
    again = hr.post_json(f"{OUTCOMES}/{ann['id']}/decide", {"decision": "rejected"})
    assert_error_shape(again, 409, "invalid_state")
    approved = hr.post_json(f"{BASE}/{run['id']}/approve", {})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert_error_shape(hr.post_json(f"{BASE}/{run['id']}/approve", {}), 409)
    assert_error_shape(hr.post_json(BASE, {"label": "2026-06"}), 409)


def test_others_are_refused(c):
    hr = client_for(c.hr)
    run = hr.post_json(BASE, {"label": "2026-06"}).json()
    outcome = run["outcomes"][0]["id"]
    for user in (c.ann.user, c.lee.user):
        client = client_for(user)
        assert_error_shape(client.post_json(BASE, {"label": "2026-06"}), 403)
        assert_error_shape(client.get(f"{BASE}/{run['id']}"), 403)
        assert_error_shape(client.post_json(f"{BASE}/{run['id']}/approve", {}), 403)
        decide = client.post_json(f"{OUTCOMES}/{outcome}/decide", {"decision": "approved"})
        assert_error_shape(decide, 403)
        assert client.get(BASE).json() == []
    assert JsonClient().get(BASE).status_code == 401


def test_bad_input(c):
    hr = client_for(c.hr)
    assert_error_shape(hr.get(f"{BASE}/999999"), 404)
    assert_error_shape(hr.post_json(f"{BASE}/999999/approve", {}), 404)
    assert_error_shape(hr.post_json(f"{OUTCOMES}/999999/decide", {"decision": "approved"}), 404)
    assert_error_shape(hr.post_json(BASE, {"label": "June"}), 422, "validation_failed")
    assert_error_shape(hr.post_json(BASE, {"label": 202606}), 422)
    assert_error_shape(hr.post_json(BASE, "not json"), (400, 422))
    assert_error_shape(hr.get(f"{BASE}/abc"), (404, 422))
    run = hr.post_json(BASE, {"label": "2026-06"}).json()
    outcome = run["outcomes"][0]["id"]
    assert_error_shape(hr.post_json(f"{OUTCOMES}/{outcome}/decide", {"decision": "yes"}), 422)
    assert_error_shape(hr.post_json(f"{OUTCOMES}/{outcome}/decide", {}), 422)
    assert_error_shape(hr.post_json(f"{BASE}/{run['id']}/approve", {}), 409)  # pending


def test_early_warning_endpoints(c):
    c.sale(c.ann, "1500.00", dt.date(2026, 5, 3))
    ann = client_for(c.ann.user)
    mine = ann.get(f"{WARNING}/me", {"day": "2026-05-16"})
    assert mine.status_code == 200, mine.content
    (row,) = mine.json()
    assert row["person_id"] == c.ann.pk and row["days_left"] == 46
    assert_error_shape(ann.get(WARNING, {"day": "2026-05-16", "person_id": c.sam.pk}), 404)
    assert_error_shape(ann.get(WARNING, {"day": "16/05/2026"}), 422)
    lead = client_for(c.kai.user).get(WARNING, {"day": "2026-05-16"}).json()
    assert {r["person_id"] for r in lead} == {c.kai.pk, c.ann.pk}
    everyone = client_for(c.hr).get(WARNING, {"day": "2026-05-16"}).json()
    assert len(everyone) == 5


def test_the_month_in_progress_is_a_provisional_preview_the_api_will_not_approve(c):
    from django.utils import timezone

    today = timezone.localdate()
    hr = client_for(c.hr)
    response = hr.post_json(BASE, {"label": f"{today:%Y-%m}"})
    assert response.status_code == 200, response.content
    run = response.json()
    assert run["provisional"] is True
    ends = dt.date.fromisoformat(run["period_end"])
    assert ends >= today and run["approvable_from"] == (ends + dt.timedelta(days=1)).isoformat()
    for outcome in run["outcomes"]:
        hr.post_json(f"{OUTCOMES}/{outcome['id']}/decide", {"decision": "approved"})
    body = assert_error_shape(hr.post_json(f"{BASE}/{run['id']}/approve", {}), 409)
    assert run["approvable_from"] in body["message"]
    assert hr.get(f"{BASE}/{run['id']}").json()["status"] == "draft"
    past = hr.post_json(BASE, {"label": "2026-06"}).json()
    assert past["provisional"] is False


def test_the_early_warning_is_documented_field_by_field(db):
    """QA (session 20): the answer was documented as "an array of objects", its fields named
    nowhere; an integrator had to reverse-engineer them."""
    from django.test import Client

    schema = Client().get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    answer = schema["paths"][WARNING]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["items"]["$ref"].endswith("/EarlyWarningOut")
    assert {"person_id", "days_left", "flag", "promote", "maintain"} <= set(
        components["EarlyWarningOut"]["properties"]
    )
    assert {"measure", "value", "threshold", "gap", "projected", "flag"} <= set(
        components["WarningCriterionOut"]["properties"]
    )
