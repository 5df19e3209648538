"""Background work on tickets. Tasks take ids, not model instances."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="tickets.tickets_escalate_task")
def tickets_escalate_task() -> dict:
    """Escalate active tickets whose SLA target was missed (every few minutes)."""
    from telesales.tickets.escalation import tickets_escalate

    return tickets_escalate()
