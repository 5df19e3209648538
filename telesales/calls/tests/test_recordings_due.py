"""Recordings past their retention (QA, session 20: the retention dates were computed but shown
nowhere and acted on by nothing, so a non-sale recording's 90 days were never applied)."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from telesales.calls.models import CallAttempt
from telesales.calls.tests.factories import owned_lead
from telesales.core.models import AuditEntry

pytestmark = pytest.mark.django_db


def _call(agent, *, ref: str, until: dt.date | None) -> CallAttempt:
    return CallAttempt.objects.create(
        lead=owned_lead(agent),
        agent=agent,
        started_at=timezone.now() - dt.timedelta(days=100),
        recording_ref=ref,
        recording_retain_until=until,
    )


def test_the_command_lists_what_is_due_and_marks_it_deleted_once(agent):
    today = timezone.localdate()
    due = _call(agent, ref="sim://recordings/1.wav", until=today - dt.timedelta(days=1))
    kept = _call(agent, ref="sim://recordings/2.wav", until=today)
    _call(agent, ref="", until=today - dt.timedelta(days=5))  # nothing recorded

    out = StringIO()
    call_command("recordings_due", "--json", stdout=out)
    answer = json.loads(out.getvalue().strip().splitlines()[-1])
    assert [row["call_id"] for row in answer["due"]] == [due.pk]
    assert answer["marked_deleted"] == 0

    out = StringIO()
    call_command("recordings_due", "--mark-deleted", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["marked_deleted"] == 1
    due.refresh_from_db()
    kept.refresh_from_db()
    assert due.recording_deleted_on == today and kept.recording_deleted_on is None
    assert due.recording_ref == "sim://recordings/1.wav"  # the trace stays
    entry = AuditEntry.objects.get(action="calls.recordings_deleted")
    assert entry.after["calls"] == [due.pk]

    out = StringIO()
    call_command("recordings_due", "--json", stdout=out)
    assert json.loads(out.getvalue().strip().splitlines()[-1])["due"] == []
    # A later day lists the one kept until today.
    out = StringIO()
    tomorrow = (today + dt.timedelta(days=1)).isoformat()
    call_command("recordings_due", "--on", tomorrow, "--json", stdout=out)
    assert [r["call_id"] for r in json.loads(out.getvalue().strip().splitlines()[-1])["due"]] == [
        kept.pk
    ]


def test_a_bad_day_is_a_clear_error(agent):
    out = StringIO()
    with pytest.raises(Exception, match="YYYY-MM-DD"):
        call_command("recordings_due", "--on", "2026-13-40", "--json", stdout=out)
    assert json.loads(out.getvalue().strip())["error"]["code"] == "command_error"
