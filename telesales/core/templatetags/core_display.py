"""Template filters shared by every app's pages."""

from __future__ import annotations

from django import template
from django.utils import timezone

from telesales.core import formatting
from telesales.core.formatting import figure
from telesales.core.phone_numbers import mask_numbers_in

register = template.Library()
register.filter("figure", figure)


@register.filter
def yuan(value, signed="") -> str:
    """An amount in yuan as every page shows it (``core.formatting.yuan``): ``¥190,770.00``,
    ``-¥238.00``; ``|yuan:"signed"`` puts a ``+`` before a gain; a dash for no value."""
    return formatting.yuan(value, signed=bool(signed))


@register.filter
def numbers_masked(value) -> str:
    """Free text with every full phone number in it masked (``138****5678``)."""
    return mask_numbers_in(value)


@register.filter
def clock(value) -> str:
    """A moment as a time of day when it is today in the center ("14:05"), with its date when
    it is not ("2026-11-29 13:50"): "offline since 13:50" read as today when it was
    yesterday (QA, session 20)."""
    if value is None:
        return ""
    local = timezone.localtime(value)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
