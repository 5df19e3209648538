"""``telesales leads-import FILE --channel C --batch NAME``: import a lead file in the foreground.

Shows the progress on stderr and prints the summary; with ``--json`` the last line is one JSON
object (``rows``, ``imported``, ``duplicate``, ``invalid``, ``dnc_blocked``, ``batch_id``, …).
``--resume BATCH_ID`` runs a batch again that a killed process left in status ``running`` (or
one that waits for its column mapping, with ``--map``). The command acts as the system user.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from telesales.core.commands import JsonErrors
from telesales.core.errors import DomainError
from telesales.leads import importing
from telesales.leads.choices import BatchStatus, LeadGrade
from telesales.leads.models import LeadBatch


class Command(JsonErrors, BaseCommand):
    help = "Import leads from a CSV or XLSX file into the public pool."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="The CSV or XLSX file.")
        parser.add_argument("--channel", help="Source channel code.")
        parser.add_argument("--batch", help="A name for the batch (unique).")
        parser.add_argument("--cost", default="0", help="What the batch cost (default 0).")
        parser.add_argument(
            "--grade", default=LeadGrade.C, choices=LeadGrade.values, help="Default grade."
        )
        parser.add_argument(
            "--required-grade",
            type=int,
            default=1,
            help="Sales-capability grade an agent needs for these leads (1-4).",
        )
        parser.add_argument(
            "--create-channel", action="store_true", help="Create the channel if it is unknown."
        )
        parser.add_argument(
            "--again",
            action="store_true",
            help="Import a file that was imported before (it then adds only new numbers).",
        )
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=FIELD",
            help="Map a column (header or 0-based index) to a field, or to 'ignore'. Repeatable.",
        )
        parser.add_argument("--resume", type=int, metavar="BATCH_ID", help="Run a batch again.")
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")

    def handle(self, *args, **options):
        started = time.perf_counter()
        progress = _Progress(self.stderr if options["verbosity"] > 0 else None)
        if options["file"] and not Path(options["file"]).is_file():
            raise CommandError(_("No such file: %(name)s") % {"name": options["file"]})
        try:
            mapping = _parse_map(options["map"])
            if options["resume"]:
                batch = LeadBatch.objects.filter(pk=options["resume"]).first()
                if batch is None:
                    raise CommandError(_("No batch #%(id)s") % {"id": options["resume"]})
            else:
                if not options["file"] or not options["channel"] or not options["batch"]:
                    raise CommandError(_("FILE, --channel and --batch are required"))
                batch = importing.batch_create(
                    file=options["file"],
                    name=options["batch"],
                    channel_code=options["channel"],
                    actor=None,
                    cost=options["cost"],
                    default_grade=options["grade"],
                    required_grade=options["required_grade"],
                    create_channel=options["create_channel"],
                    allow_repeat=options["again"],
                )
                if batch.mapping.get("channel_created"):
                    self.stderr.write(
                        _("Channel “%(code)s” did not exist and was created.")
                        % {"code": batch.channel.code}
                    )
            if mapping:
                batch = importing.batch_import_with_mapping(
                    batch=batch, mapping=mapping, actor=None, run=False
                )
            if batch.status == BatchStatus.MAPPING:
                raise CommandError(_mapping_help(batch))
            batch = importing.batch_import_run(batch_id=batch.pk, progress=progress)
        except DomainError as exc:
            progress.end()
            raise CommandError(_error_text(exc)) from exc
        progress.end()
        self._summary(batch, time.perf_counter() - started, options["json"])

    def _summary(self, batch: LeadBatch, seconds: float, as_json: bool) -> None:
        summary = (batch.mapping or {}).get("summary", {})
        self.stdout.write(
            _(
                "Batch #%(id)s “%(name)s”: %(rows)s rows, %(imported)s imported, "
                "%(duplicate)s duplicates, %(invalid)s invalid, %(dnc)s on the do-not-call "
                "list; %(blank)s blank rows skipped, %(warnings)s warnings."
            )
            % {
                "id": batch.pk,
                "name": batch.name,
                "rows": batch.rows,
                "imported": batch.imported,
                "duplicate": batch.duplicate,
                "invalid": batch.invalid,
                "dnc": batch.dnc_blocked,
                "blank": summary.get("blank_rows", 0),
                "warnings": summary.get("warnings", 0),
            }
        )
        if as_json:
            figures = {
                "batch_id": batch.pk,
                "status": batch.status,
                "rows": batch.rows,
                "imported": batch.imported,
                "duplicate": batch.duplicate,
                "invalid": batch.invalid,
                "dnc_blocked": batch.dnc_blocked,
                "blank_rows": summary.get("blank_rows", 0),
                "warnings": summary.get("warnings", 0),
                "by_reason": summary.get("by_reason", {}),
                "seconds": round(seconds, 2),
            }
            self.stdout.write(json.dumps(figures, ensure_ascii=False))


class _Progress:
    """A percentage line on stderr, rewritten in place, at most a few times a second."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def __call__(self, processed: int, total: int) -> None:
        if self.stream is None:
            return
        now = time.monotonic()
        if now - self.last < 0.25 and processed < total:
            return
        self.last = now
        percent = 100 * processed // total if total else 100
        self.stream.write(f"\r{_('Importing')} {percent:3d}% ({processed}/{total})", ending="")
        self.stream.flush()
        self.shown = True

    def end(self) -> None:
        if self.stream is not None and self.shown:
            self.stream.write("")
            self.stream.flush()
            self.shown = False


def _parse_map(items: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items:
        column, sep, target = item.rpartition("=")
        if not sep or not column:
            raise CommandError(_("--map takes COLUMN=FIELD, not “%(item)s”") % {"item": item})
        mapping[column] = target
    return mapping


def _mapping_help(batch: LeadBatch) -> str:
    info = batch.mapping or {}
    headers = info.get("headers", [])
    unknown = [headers[i] or str(i) for i in info.get("unknown", []) if i < len(headers)]
    fields = ", ".join(importing.FIELDS)
    return _(
        "Batch #%(id)s waits for a column mapping: these columns are not recognised: "
        "%(unknown)s. Map them on the batch page, or run "
        "'telesales leads-import --resume %(id)s --map COLUMN=FIELD …' "
        "(fields: %(fields)s, or ignore)."
    ) % {"id": batch.pk, "unknown": ", ".join(unknown) or "-", "fields": fields}


def _error_text(exc: DomainError) -> str:
    fields = exc.details.get("fields", {}) if isinstance(exc.details, dict) else {}
    extra = [m for messages in fields.values() for m in messages if m != exc.message]
    return exc.message + (" (" + "; ".join(extra) + ")" if extra else "")
