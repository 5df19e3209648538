"""The call report in a real Chromium on a laptop-sized screen: all thirteen columns of each
table fit without scrolling sideways (QA: at 1440 px conversion, premium and stabilisation
were off-screen, the columns the conversion card links to), and no column is squeezed to one
character a line by the wrapping headers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telesales.calls.tests.test_board_views import floor  # noqa: F401  (the fixture)
from telesales.core.tests.browser_helpers import sign_in
from telesales.org.tests.table_widths import narrow_cells, overflowing_tables

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 1366])
def test_the_report_tables_fit_a_laptop_screen(floor, page, width):  # noqa: F811
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "boss")
    page.goto(reverse("calls:report"))
    tables = "[data-testid=report-teams], [data-testid=report-agents]"
    page.locator("[data-testid=report-agents]").wait_for()
    assert "王甲一" in page.locator("[data-testid=report-agents]").inner_text()

    assert overflowing_tables(page, tables) == []
    assert narrow_cells(page, tables) == []
    page.problems.assert_none()
