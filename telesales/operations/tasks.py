"""Background work of operations and renewal. Tasks take ids, not model instances."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="operations.operations_daily_task")
def operations_daily_task() -> dict:
    """Take newly issued policies into servicing, then apply the calendar: grace, lapse,
    renewal tasks and reminders, overdue deliveries, maturities (hourly; idempotent)."""
    from telesales.operations.scheduling import operations_daily

    return operations_daily()
