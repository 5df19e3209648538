"""The compensation endpoints' bodies go through the shared input checks
(``core.http_api.InputSchema``): a date beyond the center's years or a NUL character is a field
error (422), not a server error or a NUL that PostgreSQL cannot store."""

from __future__ import annotations

import pytest

from telesales.compensation.models import PayRun
from telesales.compensation.tests.test_whatif import client_for, import_draft
from telesales.core.tests.api_helpers import assert_error_shape

API = "/api/v1/compensation"


@pytest.mark.parametrize("day", ["9999-12-01", "9999-12-31", "0001-01-01"])
def test_a_what_if_or_a_computation_of_a_date_beyond_the_centers_years_is_a_field_error(march, day):
    """9999-12: the period after it would be in the year 10000 (a server error before)."""
    draft = import_draft(march)
    hr = client_for(march.hr)
    for path, body in (
        ("/whatif", {"draft_id": draft.pk, "period_start": day}),
        ("/payruns", {"period_start": day}),
    ):
        answer = assert_error_shape(hr.post_json(API + path, body), 422, "validation_failed")
        assert list(answer["details"]["fields"]) == ["period_start"], path


def test_a_nul_character_in_a_reason_or_a_label_is_a_field_error(march):
    hr = client_for(march.hr)
    feb = PayRun.objects.get(label="2026-02")
    for path, body, field in (
        ("/payruns", {"period_start": "2026-03-01", "reason": "a\x00b"}, "reason"),
        (f"/payruns/{feb.pk}/approve", {"reason": "a\x00b"}, "reason"),
        ("/assessments", {"label": "2026-03\x00"}, "label"),
    ):
        answer = assert_error_shape(hr.post_json(API + path, body), 422, "validation_failed")
        assert list(answer["details"]["fields"]) == [field], path
