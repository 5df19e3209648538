"""Background work on policies. Tasks take ids, not model instances."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="policies.policies_free_look_close_task")
def policies_free_look_close_task() -> dict:
    """Policies whose free-look window has passed become *free-look ended* (hourly)."""
    from telesales.policies.services import policies_free_look_close

    return {"ended": policies_free_look_close()}
