"""``telesales receipts-import FILE [--json]``: apply a file of premium receipts (CSV or XLSX:
policy number, period, amount, paid date) and print the per-row report.

Rejected rows are listed with their reason; nothing is half-applied, and importing the same
file again applies nothing (every row is then "already recorded as paid"). With ``--json`` the
last line is one JSON object (``batch_id``, ``rows``, ``applied``, ``rejected``, ``amount``,
``by_reason``, ``rejections``). The command acts as the system user.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from telesales.core.commands import JsonErrors
from telesales.core.errors import DomainError
from telesales.operations.choices import ReceiptRejectReason
from telesales.operations.importing import receipts_import


class Command(JsonErrors, BaseCommand):
    help = "Import premium receipts (renewal premiums received) from a CSV or XLSX file."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV or XLSX file.")
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(name)s") % {"name": path})
        try:
            result = receipts_import(file=path, actor="cli")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        batch = result.batch
        labels = dict(ReceiptRejectReason.choices)
        self.stdout.write(
            _(
                "Receipt import #%(id)s: %(rows)s rows, %(applied)s applied (%(amount)s), "
                "%(rejected)s rejected."
            )
            % {
                "id": batch.pk,
                "rows": batch.rows,
                "applied": batch.applied,
                "amount": batch.amount,
                "rejected": batch.rejected,
            }
        )
        for row, reason, detail in result.rejections:
            self.stdout.write(f"  {_('row')} {row}: {labels.get(reason, reason)} {detail}".rstrip())
        if options["json"]:
            out = result.as_dict()
            out["rejections"] = [
                {"row": row, "reason": reason, "detail": detail}
                for row, reason, detail in result.rejections
            ]
            self.stdout.write(json.dumps(out, ensure_ascii=False))
