"""Numbers and dates beyond any real range, found by schemathesis as server errors: an id in
the path larger than any table can hold answers 404 on pages and in the API (SQLite cannot
even bind it; POST /api/v1/operations/policies/{policy_id}/end), and a date outside
1900–2200 in an API input is a field error (year 1 or 9999 overflowed when shifted by a day
or a time zone; GET /api/v1/calls/attempts?day=0001-01-01)."""

from __future__ import annotations

import pytest

from telesales.core.http_api import ID_MAX

pytestmark = pytest.mark.django_db

HUGE = str(ID_MAX + 1)
HUGER = "8057629229872555175647903744"


@pytest.mark.parametrize("number", [HUGE, HUGER])
def test_the_api_answers_not_found_in_its_error_shape(client_for, number):
    response = client_for("renewal").post(
        f"/api/v1/operations/policies/{number}/end",
        {"on": "2026-01-05", "status": "transferred_out", "note": "转出"},
        content_type="application/json",
    )
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "not_found" and set(body) == {"code", "message", "details"}
    assert body["message"] and body["message"] != "Not Found"  # the guard, in the page's words


@pytest.mark.parametrize("number", [HUGE, HUGER])
def test_pages_answer_not_found(client_for, number):
    assert client_for("renewal").get(f"/operations/policies/{number}/").status_code == 404
    assert client_for("manager").get(f"/leads/{number}/").status_code == 404


def test_the_largest_possible_id_still_reaches_the_view(client_for):
    """ID_MAX itself is a valid id (nothing has it here): the view answers, not the guard."""
    response = client_for("renewal").post(
        f"/api/v1/operations/policies/{ID_MAX}/end",
        {"on": "2026-01-05", "status": "transferred_out", "note": "转出"},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["message"] != "Not Found"  # the view's own answer, not the guard's


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/calls/attempts?day=0001-01-01",
        "/api/v1/calls/attempts?day=9999-12-31",
        "/api/v1/policies/policies?since=0001-01-01",
        "/api/v1/policies/policies?until=9999-12-31",
        "/api/v1/tickets/reports/sla?since=1899-12-31",
    ],
)
def test_dates_outside_the_centers_years_are_a_field_error(client_for, path):
    response = client_for("manager").get(path)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_failed"
    assert any(
        "1900 年至 2200 年之间" in m for ms in body["details"]["fields"].values() for m in ms
    )


def test_dates_inside_the_range_still_pass(client_for):
    assert client_for("manager").get("/api/v1/calls/attempts?day=1900-01-02").status_code == 200
    assert client_for("manager").get("/api/v1/calls/attempts?day=2200-12-30").status_code == 200


@pytest.mark.parametrize(
    ("username", "path"),
    [
        ("manager", "/policies/stabilisation/?until=0001-01-01"),
        ("manager", "/tickets/sla/?until=9999-12-31"),
        ("agent1", "/pay/early-warning/?day=9999-12-31"),
    ],
)
def test_pages_say_a_date_is_out_of_range_instead_of_failing(client_for, username, path):
    """Each was a server error ("date value out of range") before the forms checked years."""
    response = client_for(username).get(path)
    assert response.status_code in (200, 422)
    assert "1900" in response.content.decode()  # the field error names the years


def test_a_forged_oversized_choice_is_a_field_error_not_a_server_error(client_for):
    """A record id beyond 2⁶³ − 1 posted to a model choice field (found by fuzzing the
    allocation form): "not one of the choices", as for any unknown id."""
    response = client_for("data").post(
        "/leads/allocation/", {"strategy": "round_robin", "teams": [HUGER], "batch": HUGE}
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) >= {"teams", "batch"}
