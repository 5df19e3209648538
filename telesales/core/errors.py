"""The one family of domain errors. Interfaces map these once to HTTP answers or form errors."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


class DomainError(Exception):
    """A rule said no. ``code`` is stable and machine-readable; ``message`` is for people."""

    code = "domain_error"
    status = 400

    def __init__(self, message: str = "", *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message or self.code)
        self.message = str(message or self.code)
        self.details = details or {}

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": self.details}


class NotFound(DomainError):
    code = "not_found"
    status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    status = 403


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidState(DomainError):
    code = "invalid_state"
    status = 409


class ValidationFailed(DomainError):
    """Input broke a rule. ``fields`` maps a field name to a list of messages."""

    code = "validation_failed"
    status = 422

    def __init__(self, message: str = "", *, fields: dict[str, list[str]] | None = None) -> None:
        self.fields = {k: [str(m) for m in v] for k, v in (fields or {}).items()}
        super().__init__(message or _("Invalid input"), details={"fields": self.fields})


class AuthenticationFailed(DomainError):
    code = "authentication_failed"
    status = 401


class LockedOut(DomainError):
    code = "locked_out"
    status = 429


def deny_unless(allowed: bool, message: str) -> None:
    """A service's or an endpoint's permission check: ``PermissionDenied(message)`` unless
    ``allowed`` (``message`` already translated)."""
    if not allowed:
        raise PermissionDenied(message)
