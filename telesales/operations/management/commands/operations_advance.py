"""``telesales operations-advance [--date YYYY-MM-DD] [--json]``: run the daily work of
operations now (what the periodic task ``operations.operations_daily_task`` does): take newly
issued policies into servicing, extend premium schedules, then apply the calendar (grace,
lapse, renewal tasks and reminders, overdue deliveries, maturities). Idempotent.

``--date`` runs the calendar as of another day (to catch up after a stop, or to rehearse).
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from telesales.core.commands import JsonErrors
from telesales.operations.scheduling import operations_daily


class Command(JsonErrors, BaseCommand):
    help = "Run the daily operations work now (sync, grace, lapse, renewal tasks, reminders)."

    def add_arguments(self, parser):
        parser.add_argument("--date", help="The day to run as (YYYY-MM-DD); default today.")
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")

    def handle(self, *args, **options):
        day = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(_("A date such as 2026-11-30")) from exc
        result = operations_daily(today=day)
        for part, counts in result.items():
            text = ", ".join(f"{k} {v}" for k, v in counts.items())
            self.stdout.write(f"{part}: {text}")
        if options["json"]:
            self.stdout.write(json.dumps(result))
