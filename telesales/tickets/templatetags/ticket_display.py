"""Template filters of the ticket pages."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from telesales.core.formatting import percent
from telesales.tickets.choices import EscalationLevel
from telesales.tickets.masking import mask_ticket_text

register = template.Library()
register.filter("percent", percent)


@register.filter
def hours(value) -> str:
    """A duration as hours with one decimal ("3.5 h"); a dash when there is none."""
    if not isinstance(value, dt.timedelta):
        return "—"
    return _("%(hours)s h") % {"hours": f"{value.total_seconds() / 3600:.1f}"}


@register.filter
def number_or_dash(value) -> str:
    return "—" if value is None else str(value)


@register.filter
def masked_text(value) -> str:
    """Ticket text with every full phone number masked (see ``tickets.masking``)."""
    return mask_ticket_text(value)


@register.filter
def escalation_label(value) -> str:
    """An escalation level's name ("Team lead", "Center manager"); "" for none or unknown."""
    try:
        return str(EscalationLevel(int(value)).label) if value else ""
    except (TypeError, ValueError):
        return ""


@register.filter
def nowrap_words(value) -> str:
    """A short label that may break only between its " / "-separated parts ("监管 / 12321"),
    never inside a word: a narrow table column then wraps it in two lines, not one character
    per line."""
    parts = [p.strip() for p in str(value or "").split("/")]
    return mark_safe(  # noqa: S308 - every part is escaped
        " / ".join(format_html('<span class="text-nowrap">{}</span>', p) for p in parts if p)
    )
