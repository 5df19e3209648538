"""Background work of the calls app. Tasks take ids (or nothing), not model instances."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="calls.followups_escalate_task")
def followups_escalate_task() -> dict:
    """Escalate follow-ups overdue past the rule set's hours to the team lead; every 15 min.
    First the follow-ups nobody can act on any more are closed (their lead won, closed, or
    no longer the agent's), so that none of them is escalated or counted."""
    from telesales.calls.services import followups_close_on_closed_leads, followups_escalate

    closed = followups_close_on_closed_leads()
    return {**followups_escalate(), "closed": closed}


@shared_task(name="calls.followups_reassign_task")
def followups_reassign_task() -> dict:
    """Move today's callbacks of absent or non-working agents to a teammate (when the rule set
    allows it); hourly, and early in the morning."""
    from telesales.calls.services import followups_reassign_absent

    return followups_reassign_absent()


@shared_task(name="calls.presences_reset_stale_task")
def presences_reset_stale_task() -> dict:
    """Set offline the agents last seen before today's start (yesterday evening's "ready" or
    open call is not today's state); hourly, so shortly after midnight."""
    from telesales.calls.services import presences_reset_stale

    return presences_reset_stale()
