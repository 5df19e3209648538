"""Template filters of the compensation pages."""

from __future__ import annotations

from django import template

from telesales.compensation.rules_format import MEASURE_LABELS

register = template.Library()


@register.filter
def measure_label(code) -> str:
    """An assessment measure's name in the reader's language (``fyc`` → "FYC"); an unknown
    code as it is."""
    label = MEASURE_LABELS.get(str(code))
    return str(label) if label is not None else str(code)
