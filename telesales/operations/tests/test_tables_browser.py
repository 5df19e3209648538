"""The renewal tables on the operations home page in a real Chromium at 1280 px: the two
tables stand side by side, and their policyholder and owner columns were squeezed to one
character per line (QA, with the ticket queue)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from telesales.core.tests.browser_helpers import sign_in
from telesales.operations.scheduling import add_months, operations_advance, operations_sync
from telesales.org.tests.table_widths import narrow_cells

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TODAY = timezone.localdate()


@pytest.mark.parametrize("width", [1280, 1400])
def test_no_renewal_table_column_is_squeezed_to_one_character(world, policy, page, width):
    for n, days in enumerate((0, 0, 10, 20, 30)):  # due today, and in their grace period
        policy(
            issued_on=add_months(TODAY - dt.timedelta(days=days), -12),
            number=f"KF2025110300{n:05d}",  # as long as the demo center's numbers
            annualised_premium=Decimal("12300.00"),
        )
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "ops")
    page.goto(reverse("operations:home"))
    assert page.locator("[data-testid=renewal-table]").count() == 2
    assert page.locator("[data-testid=renewal-table] tbody tr").count() == 5

    assert narrow_cells(page, "[data-testid=renewal-table]") == []
    page.problems.assert_none()
