"""``telesales recordings-due [--on YYYY-MM-DD] [--mark-deleted] [--json]``.

Lists the calls whose recording is kept only until before the day (default today) and not yet
reported deleted — what the center's recording store must delete (``calls.services.
recordings_due``): one line per call with its id, start, recording reference and retention
date. Run by the store's cleanup job; with ``--mark-deleted`` after it has deleted them, the
same calls are recorded as deleted that day (audited), and are not listed again.
"""

from __future__ import annotations

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.calls.services import recordings_due, recordings_mark_deleted
from telesales.core.commands import JsonErrors


class Command(JsonErrors, BaseCommand):
    help = "List the call recordings past their retention date (and mark them deleted)."

    def add_arguments(self, parser):
        parser.add_argument("--on", default="", help="The day (YYYY-MM-DD; default today).")
        parser.add_argument(
            "--mark-deleted",
            action="store_true",
            help="Record the listed recordings as deleted today (after the store deleted them).",
        )
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")

    def handle(self, *args, **options):
        day = timezone.localdate()
        if options["on"]:
            try:
                day = dt.date.fromisoformat(options["on"])
            except ValueError as exc:
                raise CommandError(
                    _("--on takes a date as YYYY-MM-DD, not %(value)r") % {"value": options["on"]}
                ) from exc
        due = list(
            recordings_due(on=day).values_list(
                "pk", "started_at", "recording_ref", "recording_retain_until"
            )
        )
        for pk, started, ref, until in due:
            self.stdout.write(
                f"{pk}\t{timezone.localtime(started):%Y-%m-%d %H:%M}\t{ref}\t{until.isoformat()}"
            )
        marked = 0
        if options["mark_deleted"] and due:
            marked = recordings_mark_deleted(
                attempt_ids=[row[0] for row in due], on=timezone.localdate(), actor="cli"
            )
        self.stdout.write(
            _("%(n)d recording(s) past their retention on %(day)s; %(m)d marked deleted.")
            % {"n": len(due), "day": day.isoformat(), "m": marked}
        )
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "on": day.isoformat(),
                        "due": [
                            {
                                "call_id": pk,
                                "recording_ref": ref,
                                "retain_until": until.isoformat(),
                            }
                            for pk, _started, ref, until in due
                        ],
                        "marked_deleted": marked,
                    },
                    ensure_ascii=False,
                )
            )
