"""``telesales cdr-import FILE [--tz ZONE] [--match-seconds N] [--json]``.

Imports call detail records in the Asterisk ``Master.csv`` layout (with or without a header)
and matches them to call attempts (``telesales.calls.cdr``). A file in another layout is
refused whole; rows that cannot be matched are listed with their row number and reason (the
destination masked). Running it again on the same file changes nothing. Acts as the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from telesales.calls.cdr import cdr_import
from telesales.core.commands import JsonErrors
from telesales.core.errors import DomainError


class Command(JsonErrors, BaseCommand):
    help = "Import call detail records (Asterisk Master.csv) and match them to calls."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--tz", default="", help="The switch's time zone (default: TIME_ZONE).")
        parser.add_argument(
            "--match-seconds",
            type=int,
            default=None,
            help="How far apart a CDR and a call may start and still match (default 120).",
        )
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(err)s") % {"file": path, "err": exc.strerror}
            ) from exc
        try:
            record = cdr_import(
                content=content,
                file_name=path.name,
                actor="cli",
                zone=options["tz"] or None,
                match_seconds=options["match_seconds"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            _(
                "%(rows)d rows: %(matched)d matched, %(already)d matched before, "
                "%(rejected)d rejected."
            )
            % {
                "rows": record.rows,
                "matched": record.matched,
                "already": record.already,
                "rejected": record.rejected,
            }
        )
        for r in record.rejections[:50]:
            self.stdout.write(
                _("row %(row)d: %(label)s %(dst)s %(detail)s")
                % {"row": r["row"], "label": r["label"], "dst": r["dst"], "detail": r["detail"]}
            )
        if record.rejected > 50:
            # ``rejected`` counts every rejected row; the record keeps the first 5,000.
            self.stdout.write(_("… and %(n)d more") % {"n": record.rejected - 50})
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "import_id": record.pk,
                        "rows": record.rows,
                        "matched": record.matched,
                        "already": record.already,
                        "rejected": record.rejected,
                        "rejections": record.rejections,
                    },
                    ensure_ascii=False,
                )
            )
