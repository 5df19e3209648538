"""What QA saw on the policy pages: half-width brackets around the payment in the Chinese
policy page, and a monthly or quarterly payment called 月度 / 季度 (the words of an assessment
period) instead of 月交 / 季交."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from telesales.policies.choices import PaymentMode

pytestmark = pytest.mark.django_db


def test_the_payment_mode_and_each_payment_read_in_chinese_with_full_width_brackets(
    world, sell, page_for
):
    policy = sell(payment_mode="monthly", product=world.products["ci"], term_years=10)
    assert policy.instalment_premium == Decimal("100.00")
    page = page_for(world.alice).get(f"/policies/{policy.pk}/").content.decode()
    cell = page[page.index('data-testid="payment-mode"') :]
    cell = cell[: cell.index("</dd>")]
    assert "月交（每次缴费 ¥100.00）" in cell
    assert " (" not in cell


def test_payment_modes_are_named_as_payments_not_as_periods():
    with translation.override("zh-hans"):
        assert [str(label) for _value, label in PaymentMode.choices] == [
            "趸交",
            "年交",
            "半年交",
            "季交",
            "月交",
        ]
        assert translation.gettext("Monthly") == "月度"  # the assessment period keeps its word
