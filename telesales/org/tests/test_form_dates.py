"""Model forms get the center's years on their date fields too (telesales.core.dates)."""

from __future__ import annotations

import pytest

from telesales.org.forms import PersonForm, TeamForm


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("form_class", "field", "value"),
    [
        (PersonForm, "hire_date", "0001-01-01"),
        (PersonForm, "left_on", "9999-12-31"),
        (TeamForm, "founded_on", "1899-12-31"),
    ],
)
def test_a_model_form_refuses_a_date_out_of_range(form_class, field, value):
    form = form_class(data={field: value})
    assert not form.is_valid()
    assert "1900" in str(form.errors[field])


@pytest.mark.django_db
def test_a_date_in_range_is_not_refused_for_its_year():
    form = PersonForm(data={"hire_date": "2026-03-01"})
    form.is_valid()
    assert "hire_date" not in form.errors
