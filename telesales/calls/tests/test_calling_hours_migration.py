"""Migration 0007: ``overdue_escalate_hours`` counts calling hours now. Each stored version's
clock hours become the calling hours they held from the window's opening, so a follow-up due
at the opening escalates when it did before; going back restores them."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest
from django.apps import apps as django_apps

from telesales.calls.models import CallRuleSet
from telesales.calls.tests.factories import CallRuleSetFactory

pytestmark = pytest.mark.django_db

MIGRATION = importlib.import_module(
    "telesales.calls.migrations.0007_overdue_escalate_in_calling_hours"
)


def test_stored_clock_hours_become_the_calling_hours_they_held():
    CallRuleSet.objects.all().delete()
    narrow = {"window_start": dt.time(10, 0), "window_end": dt.time(18, 0)}
    rows = {
        CallRuleSetFactory(overdue_escalate_hours=clock, **window).pk: (clock, calling)
        for clock, window, calling in [
            (24, {}, 12),  # the old default: one calling day
            (48, {}, 24),
            (30, {}, 18),  # a day and 6 hours: 12 + 6
            (2, {}, 2),  # within the day, clock hours were calling hours
            (24, narrow, 8),
            (20, narrow, 8),  # more than the window's length in a day: the window
            (1, {}, 1),
        ]
    }
    MIGRATION.to_calling_hours(django_apps, None)
    stored = dict(CallRuleSet.objects.values_list("pk", "overdue_escalate_hours"))
    assert stored == {pk: calling for pk, (_clock, calling) in rows.items()}
    MIGRATION.to_clock_hours(django_apps, None)
    stored = dict(CallRuleSet.objects.values_list("pk", "overdue_escalate_hours"))
    back = {pk: clock for pk, (clock, _calling) in rows.items()}
    # The whole 8-hour window held by 20 clock hours goes back as a day, as 24 does.
    back[next(pk for pk, (clock, _c) in rows.items() if clock == 20)] = 24
    assert stored == back
