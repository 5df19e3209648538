"""Template filters that keep full phone numbers off the screen."""

from __future__ import annotations

from django import template

from telesales.core.formatting import percent
from telesales.core.phone_numbers import mask_phone
from telesales.leads.masking import mask_numbers_in
from telesales.leads.recycling import RULE_LABELS

register = template.Library()
register.filter("percent", percent)


@register.filter
def masked(value) -> str:
    """A stored number (E.164) as ``138****1234``."""
    return mask_phone(value) if value else ""


@register.filter
def mask_numbers(value) -> str:
    """Free text (a reason, a note, a rejected row's detail) with every full phone number
    in it masked: people type numbers into reasons."""
    return mask_numbers_in(value)


@register.filter
def without_rule_code(value) -> str:
    """A lead event's reason for the screen. Recycling stores "<rule code>: <words>" (the code
    is for machines, e.g. "no_dial: …"); people read only the words."""
    text = "" if value is None else str(value)
    code, sep, words = text.partition(": ")
    return words if sep and code in RULE_LABELS else text
