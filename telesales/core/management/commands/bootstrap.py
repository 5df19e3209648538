"""``telesales bootstrap``: migrate, collect static files, first admin, reference data.

Idempotent: a second run changes nothing.
"""

from __future__ import annotations

import os
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from telesales.core.audit import audit_record
from telesales.core.roles import Role
from telesales.core.setup_steps import bootstrap_steps


class Command(BaseCommand):
    help = "Prepare the database and reference data (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--admin-username", default=os.environ.get("TELESALES_ADMIN_USER", "admin")
        )
        parser.add_argument("--no-static", action="store_true", help="Skip collectstatic.")

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        self.stdout.write("Applying migrations…")
        call_command("migrate", interactive=False, verbosity=max(0, verbosity - 1))
        if not options["no_static"]:
            self.stdout.write("Collecting static files…")
            call_command("collectstatic", interactive=False, verbosity=0)
        self._first_admin(options["admin_username"])
        for step in bootstrap_steps():
            self.stdout.write(f"Reference data: {step.name}")
            step.run(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Bootstrap complete."))

    @transaction.atomic
    def _first_admin(self, username: str) -> None:
        User = get_user_model()
        if User.objects.filter(is_superuser=True).exists():
            return
        if not username or len(username) > 150:
            raise CommandError("--admin-username must be 1 to 150 characters")
        password = os.environ.get("TELESALES_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user = User.objects.create_superuser(username=username, password=password)
        user.groups.add(Group.objects.get(name=Role.MANAGER.value))
        audit_record(
            actor=None,
            action="core.admin_create",
            object_type="auth.user",
            object_id=str(user.pk),
            object_repr=username,
            reason="bootstrap",
        )
        shown = (
            "(from TELESALES_ADMIN_PASSWORD)"
            if "TELESALES_ADMIN_PASSWORD" in os.environ
            else password
        )
        self.stdout.write(f"Created the first admin: {username} / {shown}  (shown once; change it)")
