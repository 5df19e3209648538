"""What every form of the apps refuses alike (``telesales.core.forms.StyledForm``)."""

from decimal import Decimal

import pytest
from django import forms
from django.utils import translation

from telesales.core.forms import StyledForm


class AmountForm(StyledForm, forms.Form):
    amount = forms.DecimalField(max_digits=12, decimal_places=2)
    note = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


@pytest.mark.parametrize("typed", ["1e3", "1.2E3", "5e+2"])
def test_an_amount_typed_in_exponent_form_is_a_field_error(typed):
    with translation.override("en"):
        form = AmountForm({"amount": typed})
        assert not form.is_valid()
        assert form.errors["amount"] == ["write the number in plain digits, such as 1000 or 120.50"]


@pytest.mark.parametrize(
    ("typed", "kept"), [("1000", "1000"), ("120.50", "120.50"), ("0.01", "0.01")]
)
def test_plain_amounts_pass(typed, kept):
    form = AmountForm({"amount": typed})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["amount"] == Decimal(kept)


def test_nul_characters_are_a_field_error():
    form = AmountForm({"amount": "1", "note": "a\x00b"})
    assert not form.is_valid() and "note" in form.errors
