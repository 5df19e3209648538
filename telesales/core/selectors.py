"""Reads with no domain: the caller's API tokens."""

from __future__ import annotations

from django.db.models import QuerySet

from telesales.core.models import ApiToken


def token_list(*, user) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked and expired ones included, until the
    purge task deletes them)."""
    return ApiToken.objects.filter(user_id=user.pk).order_by("-created_at", "-pk")
