"""``telesales dnc-import FILE [--days N | --permanent] [--reason R] [--json]``.

Loads do-not-call numbers, one per row (CSV, TXT or XLSX; the phone column if a header names
one, else the first column holding numbers), normalised like lead imports. A refusal blocks for
the rule set's DNC period (at least 180 days by default) unless ``--days`` or ``--permanent``
says otherwise. The command acts as the system user.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from telesales.core.commands import JsonErrors
from telesales.core.errors import DomainError
from telesales.leads import importing
from telesales.leads.choices import DncSource


class Command(JsonErrors, BaseCommand):
    help = "Load do-not-call numbers from a file (one number per row)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        duration = parser.add_mutually_exclusive_group()
        duration.add_argument("--days", type=int, help="Block for N days.")
        duration.add_argument("--permanent", action="store_true", help="Block for good.")
        parser.add_argument("--reason", default="", help="Why these numbers are blocked.")
        parser.add_argument(
            "--source",
            default=DncSource.IMPORT,
            choices=DncSource.values,
            help="Where the numbers come from (default: import).",
        )
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")

    def handle(self, *args, **options):
        try:
            result = importing.dnc_import(
                file=options["file"],
                actor=None,
                source=options["source"],
                days=options["days"],
                permanent=options["permanent"],
                reason=options["reason"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            _(
                "%(rows)s rows: %(added)s numbers added, %(invalid)s invalid, "
                "%(already)s already listed; %(leads)s leads blocked."
            )
            % {
                "rows": result.rows,
                "added": result.added,
                "invalid": result.invalid,
                "already": result.already_listed,
                "leads": result.leads_blocked,
            }
        )
        if result.invalid_rows:
            shown = ", ".join(str(n) for n in result.invalid_rows[:20])
            more = "…" if len(result.invalid_rows) > 20 else ""
            self.stdout.write(_("Invalid rows: %(rows)s") % {"rows": shown + more})
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
