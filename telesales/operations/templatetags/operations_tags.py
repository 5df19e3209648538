"""Template filters of the operations screens."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()

GOOD = {"paid", "delivered", "done", "in_force", "reinstated", "confirmed", "matured"}
WAITING = {"in_grace", "sent", "pending", "open", "due", "misunderstanding", "unreachable"}
BAD = {"lapsed", "failed", "returned", "surrendered", "cancel_requested", "claim_terminated"}


@register.filter
def status_class(value) -> str:
    """The Bootstrap badge class for a status code."""
    value = str(value or "")
    if value in GOOD:
        return "text-bg-success"
    if value in WAITING:
        return "text-bg-warning"
    if value in BAD:
        return "text-bg-danger"
    return "text-bg-secondary"


@register.filter
def rate(value) -> str:
    """A rate (0–1) as a percentage with two decimals; a dash when there is none."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)) * 100:.2f}%"
