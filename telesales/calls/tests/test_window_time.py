"""Calling-window time (``guards.window_time_reached``): only the time inside the calling
window counts, as follow-up escalation needs it. Pure: no database, no clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telesales.calls.guards import customer_zones, window_time_reached
from telesales.calls.tests.conftest import SHANGHAI, shanghai

NINE, NINE_PM = dt.time(9, 0), dt.time(21, 0)


def reached(since, hours=0, minutes=0, *, zones=(SHANGHAI,), start=NINE, end=NINE_PM):
    return window_time_reached(
        since=since,
        amount=dt.timedelta(hours=hours, minutes=minutes),
        zones=zones,
        window_start=start,
        window_end=end,
    )


@pytest.mark.parametrize(
    ("since", "hours", "expected"),
    [
        # Inside the window, and enough of it left that day: the clock.
        (shanghai(2026, 6, 1, 12, 0), 2, shanghai(2026, 6, 1, 14, 0)),
        # Due 20:30, 2 hours: 30 minutes that evening, 90 the next morning.
        (shanghai(2026, 6, 1, 20, 30), 2, shanghai(2026, 6, 2, 10, 30)),
        # Ends exactly at the close: that is the moment.
        (shanghai(2026, 6, 1, 19, 0), 2, shanghai(2026, 6, 1, 21, 0)),
        # Due at the close (its end is outside the window): counted from the next opening.
        (shanghai(2026, 6, 1, 21, 0), 2, shanghai(2026, 6, 2, 11, 0)),
        # Due in the night or before the window opens: counted from the opening.
        (shanghai(2026, 6, 1, 23, 45), 2, shanghai(2026, 6, 2, 11, 0)),
        (shanghai(2026, 6, 2, 7, 0), 2, shanghai(2026, 6, 2, 11, 0)),
        (shanghai(2026, 6, 2, 9, 0), 2, shanghai(2026, 6, 2, 11, 0)),
        # A whole window's worth: the next day at the same time.
        (shanghai(2026, 6, 1, 15, 0), 12, shanghai(2026, 6, 2, 15, 0)),
        # From the evening: an hour that day, then whole windows.
        (shanghai(2026, 6, 1, 20, 0), 24, shanghai(2026, 6, 3, 20, 0)),
        (shanghai(2026, 6, 1, 20, 0), 25, shanghai(2026, 6, 3, 21, 0)),
        (shanghai(2026, 6, 1, 20, 0), 26, shanghai(2026, 6, 4, 10, 0)),
        # The window is open every day (the dial guard has no working-day calendar): a Friday
        # evening's follow-up escalates on Saturday morning, not on Monday.
        (shanghai(2026, 6, 5, 20, 30), 2, shanghai(2026, 6, 6, 10, 30)),
        # Many days: whole windows are skipped, not walked.
        (shanghai(2026, 6, 1, 9, 0), 24 * 90, shanghai(2026, 11, 27, 21, 0)),
    ],
)
def test_only_time_inside_the_calling_window_counts(since, hours, expected):
    assert reached(since, hours) == expected


def test_no_time_is_the_start_itself():
    at = shanghai(2026, 6, 1, 23, 0)
    assert reached(at, 0) == at


def test_the_rule_sets_window_decides():
    since = shanghai(2026, 6, 1, 17, 0)
    assert reached(since, 2, start=dt.time(10, 0), end=dt.time(18, 0)) == shanghai(
        2026, 6, 2, 11, 0
    )


def test_the_customers_zone_counts_not_the_servers():
    """A Sydney number (UTC+10 in June): due 20:30 there (18:30 in Shanghai), 2 hours of its
    window end at 10:30 Sydney time the next day."""
    sydney = ZoneInfo("Australia/Sydney")
    since = dt.datetime(2026, 6, 1, 20, 30, tzinfo=sydney)
    assert reached(since, 2, zones=customer_zones("+61291234567")) == dt.datetime(
        2026, 6, 2, 10, 30, tzinfo=sydney
    )


def test_a_number_in_several_zones_counts_where_the_windows_overlap():
    """Two zones an hour apart (Shanghai and Tokyo): the common window is 09:00–20:00 in
    Shanghai time (10:00–21:00 in Tokyo)."""
    zones = (SHANGHAI, ZoneInfo("Asia/Tokyo"))
    assert reached(shanghai(2026, 6, 1, 19, 30), 1, zones=zones) == shanghai(2026, 6, 2, 9, 30)
    assert reached(shanghai(2026, 6, 1, 8, 0), 24, zones=zones) == shanghai(2026, 6, 3, 11, 0)


def test_zones_whose_windows_never_meet_fall_back_to_the_clock():
    zones = (SHANGHAI, ZoneInfo("America/New_York"))  # 12 hours apart: no common minute
    since = shanghai(2026, 6, 1, 12, 0)
    assert reached(since, 2, zones=zones) == since + dt.timedelta(hours=2)


@settings(max_examples=100, deadline=None)
@given(st.integers(9 * 60 + 1, 21 * 60 - 1))
def test_the_default_twelve_calling_hours_are_a_day_for_a_daytime_follow_up(minute):
    """The default ``overdue_escalate_hours`` (12) with the default window: due inside the
    window, a follow-up escalates a day later by the clock, as 24 clock hours used to (due at
    09:00 sharp, at that day's 21:00 close, when the whole window has passed)."""
    from telesales.calls.models import CallRuleSet

    rules = CallRuleSet()
    since = shanghai(2026, 6, 1) + dt.timedelta(minutes=minute)
    assert rules.overdue_escalate_hours == 12
    moment = reached(
        since, rules.overdue_escalate_hours, start=rules.window_start, end=rules.window_end
    )
    assert moment == since + dt.timedelta(days=1)


def _window_time(since: dt.datetime, until: dt.datetime, start: dt.time, end: dt.time):
    """Reference: the window time between two moments, day by day (Shanghai)."""
    total = dt.timedelta(0)
    day = since.astimezone(SHANGHAI).date() - dt.timedelta(days=1)
    while dt.datetime.combine(day, start, tzinfo=SHANGHAI) < until:
        opens = dt.datetime.combine(day, start, tzinfo=SHANGHAI)
        closes = dt.datetime.combine(day, end, tzinfo=SHANGHAI)
        total += max(dt.timedelta(0), min(closes, until) - max(opens, since))
        day += dt.timedelta(days=1)
    return total


@settings(max_examples=200, deadline=None)
@given(
    since_minutes=st.integers(0, 60 * 24 * 14),
    amount_minutes=st.integers(1, 60 * 24 * 20),
    start_minutes=st.integers(9 * 60, 20 * 60),
    length_minutes=st.integers(1, 12 * 60),
)
def test_the_moment_is_the_first_with_that_much_window_time(
    since_minutes, amount_minutes, start_minutes, length_minutes
):
    start_at = min(start_minutes, 21 * 60 - 1)
    end_at = min(start_at + length_minutes, 21 * 60)
    start = dt.time(start_at // 60, start_at % 60)
    end = dt.time(end_at // 60, end_at % 60)
    since = shanghai(2026, 6, 1) + dt.timedelta(minutes=since_minutes)
    amount = dt.timedelta(minutes=amount_minutes)
    moment = reached(since, minutes=amount_minutes, start=start, end=end)
    assert _window_time(since, moment, start, end) == amount
    assert _window_time(since, moment - dt.timedelta(minutes=1), start, end) < amount
