"""The screenshot script's working-day clock (``scripts/screenshots.py``): outside working
hours the demo center runs at 10:30 of the same local day, through ``faketime``."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[3] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import demo_server  # noqa: E402
import screenshots  # noqa: E402

sys.path.remove(str(SCRIPTS))
AT = dt.time(10, 30)


def utc(hour: int, minute: int = 0, day: int = 27) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("now", "offset"),
    [
        (utc(19, 15), 7 * 3600 + 15 * 60),  # 03:15 in Shanghai (the 28th) → 10:30 the 28th
        (utc(1, 29), 3660),  # 09:29 → 10:30
        (utc(1, 30), 0),  # 09:30: working hours
        (utc(6, 0), 0),  # 14:00
        (utc(11, 59), 0),  # 19:59
        (utc(12, 0), -(9 * 3600 + 30 * 60)),  # 20:00 → back to 10:30 the same day
        (utc(15, 45), -(13 * 3600 + 15 * 60)),  # 23:45
    ],
)
def test_the_clock_moves_to_a_working_hour_of_the_same_local_day(now, offset):
    assert screenshots.working_day_offset(now, "Asia/Shanghai", AT) == offset
    moved = (now + dt.timedelta(seconds=offset)).astimezone(screenshots.ZoneInfo("Asia/Shanghai"))
    local_day = now.astimezone(screenshots.ZoneInfo("Asia/Shanghai")).date()
    assert moved.date() == local_day
    assert screenshots.WORKING_HOURS[0] <= moved.time() < screenshots.WORKING_HOURS[1]


def test_the_center_runs_under_faketime_only_when_moved():
    assert demo_server.clock_prefix(0) == []
    assert demo_server.clock_prefix(-39600) == ["faketime", "-f", "-39600"]
    assert demo_server.clock_prefix(60) == ["faketime", "-f", "+60"]


@pytest.mark.parametrize("text", ["", "25:00", "10h30", "10:30:00", "111111", "1" * 5000])
def test_a_bad_at_is_refused_with_its_reason(text, capsys, tmp_path):
    # Refused while the arguments are read, before anything is made.
    out = tmp_path / "shots"
    with pytest.raises(SystemExit) as exit_:
        screenshots.main(["--at", text, "--out", str(out)])
    assert exit_.value.code == 2 and not out.exists()
    assert "is not a time of day; give it as HH:MM" in capsys.readouterr().err


def test_a_good_at_is_a_time():
    assert screenshots.local_time("09:05") == dt.time(9, 5)
    assert screenshots.local_time("9:05") == dt.time(9, 5)
    assert screenshots.local_time("23:59") == dt.time(23, 59)
