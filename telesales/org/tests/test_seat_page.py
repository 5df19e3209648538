"""The seats page: every status counted on screen (QA: "77 工位 / 72 已占用 / 4 空闲", the seat
in maintenance had no card), the month of its productivity figures in the month box, and the
seat-figures hook (``org.hooks.register_seat_figures``): a provider that fails leaves the page
standing."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from telesales.core.roles import Role
from telesales.org import hooks
from telesales.org.choices import SeatStatus
from telesales.org.tests.factories import CenterFactory, SeatFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def seats():
    center = CenterFactory()
    for n, status in enumerate(
        [SeatStatus.VACANT] * 4 + [SeatStatus.MAINTENANCE] + [SeatStatus.VACANT] * 2
    ):
        SeatFactory(center=center, code=f"Q{n:03d}", status=status)
    client = Client()
    client.force_login(UserFactory(username="boss", roles=[Role.MANAGER]))
    return client


def _metric(html: str, testid: str) -> int:
    return int(re.search(rf'data-testid="{testid}">(\d+)<', html).group(1))


def test_every_seat_status_has_its_count_and_they_add_up(seats):
    html = seats.get("/org/seats/").content.decode()
    total = _metric(html, "seats-total")
    parts = [_metric(html, f"seats-{s}") for s in ("occupied", "vacant", "maintenance")]
    assert (total, parts) == (7, [0, 6, 1])
    assert sum(parts) == total
    assert "维修中" in html.split('data-testid="seats-maintenance"', 1)[1][:200]


def test_the_month_box_shows_the_month_in_effect(seats):
    html = seats.get("/org/seats/").content.decode()
    box = re.search(r'<input[^>]*name="month"[^>]*>', html).group(0)
    assert f'value="{timezone.localdate():%Y-%m}"' in box
    bad = seats.get("/org/seats/?month=2026-99").content.decode()
    assert 'data-testid="month-error"' in bad and 'value="2026-99"' in bad


def test_a_failing_seat_figures_provider_leaves_the_page_standing(seats):
    def broken(**kwargs):
        raise RuntimeError("provider down")

    hooks.register_seat_figures(broken)
    try:
        response = seats.get("/org/seats/")
    finally:
        hooks._SEAT_FIGURES.remove(broken)
    assert response.status_code == 200
    assert _metric(response.content.decode(), "seats-maintenance") == 1
