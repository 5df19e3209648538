"""``telesales doctor``: check configuration, database and migrations; say what is wrong."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from telesales.core.doctor import print_report


class Command(BaseCommand):
    help = "Check the configuration, the database and pending migrations."

    def handle(self, *args, **options):
        code = print_report(env_problems=[], stdout=self.stdout)
        if code:
            sys.exit(code)
