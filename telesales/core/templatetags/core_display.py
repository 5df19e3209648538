"""Template filters shared by every app's pages."""

from __future__ import annotations

from django import template

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
