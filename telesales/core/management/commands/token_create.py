"""``telesales token-create USERNAME``: issue a bearer token for an integration."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from telesales.core import services
from telesales.core.errors import DomainError


class Command(BaseCommand):
    help = "Issue an API bearer token for USERNAME and print it (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="cli", help="A label for the token.")
        parser.add_argument("--days", type=int, default=None, help="Lifetime in days.")

    def handle(self, *args, **options):
        try:
            user = services.user_by_username(options["username"])
            _token, secret = services.token_create(
                user=user, actor="cli", name=options["name"], days=options["days"]
            )
        except DomainError as exc:
            detail = "; ".join(
                f"{k}: {', '.join(v)}" for k, v in exc.details.get("fields", {}).items()
            )
            raise CommandError(f"{exc.message}{' (' + detail + ')' if detail else ''}") from exc
        self.stdout.write(secret)
