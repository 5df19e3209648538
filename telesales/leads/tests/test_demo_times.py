"""The demo's leads are taken during the floor's hours (``demo._in_working_hours``)."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from telesales.leads.demo import _in_working_hours
from telesales.leads.models import Lead

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 15) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize(
    ("when", "day"),
    [(at(20, 3), 20), (at(20, 8, 59), 20), (at(20, 20), 21), (at(20, 23, 40), 21)],
)
def test_a_night_time_is_moved_into_the_floors_hours(when, day, settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    moved = _in_working_hours(when, at(27, 12), random.Random(1)).astimezone(SH)
    assert moved.day == day and 9 <= moved.hour < 20 and moved.minute == when.minute
    assert moved > when


def test_a_working_time_and_a_move_past_now_stay(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    rng = random.Random(1)
    assert _in_working_hours(at(20, 9), at(27, 12), rng) == at(20, 9)
    assert _in_working_hours(at(20, 19, 59), at(27, 12), rng) == at(20, 19, 59)
    assert _in_working_hours(at(27, 2), at(27, 4), rng) == at(27, 2)  # now is 04:00


def test_demo_leads_are_taken_in_working_hours_except_in_the_last_day(leads_demo):
    now = timezone.now()
    owned = list(Lead.objects.exclude(owned_since=None).values_list("owned_since", flat=True))
    assert owned
    for since in owned:
        hour = timezone.localtime(since).hour
        assert 9 <= hour < 20 or now - since < dt.timedelta(days=1), since
