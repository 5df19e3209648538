"""Background work with no domain."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import connection
from django.utils import timezone

from telesales.core.models import ApiToken


@shared_task(name="core.health_ping_task")
def health_ping_task(echo: str = "") -> dict:
    """Prove that a worker runs, reaches the database and returns results."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        row = cursor.fetchone()
    return {"echo": echo, "db": "ok" if row and row[0] == 1 else "error"}


@shared_task(name="core.api_token_purge_task")
def api_token_purge_task(days_after_expiry: int = 30) -> int:
    """Delete tokens that expired or were revoked more than ``days_after_expiry`` days ago."""
    cutoff = timezone.now() - timedelta(days=days_after_expiry)
    expired = ApiToken.objects.filter(expires_at__lt=cutoff)
    revoked = ApiToken.objects.filter(revoked_at__lt=cutoff)
    count = expired.count() + revoked.exclude(pk__in=expired.values("pk")).count()
    expired.delete()
    revoked.delete()
    return count
