"""What the project's management commands share.

``JsonErrors``: a command with ``--json`` promises one JSON object as the last line of its
output, for the scripts that run it. A refusal keeps that promise: before the error goes to
stderr (and the exit status is non-zero, as without ``--json``), stdout's last line is
``{"error": {"code": …, "message": …}}`` — the domain error's stable code when a domain
service refused (``DomainError.code``), else ``command_error``.
"""

from __future__ import annotations

import json

from django.core.management.base import CommandError


class JsonErrors:
    """Mix into a ``BaseCommand`` (before it) whose parser has a ``--json`` flag."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            if options.get("json"):
                cause = exc.__cause__
                code = getattr(cause, "code", None) or "command_error"
                error = {"code": str(code), "message": str(exc)}
                self.stdout.write(json.dumps({"error": error}, ensure_ascii=False))
            raise
