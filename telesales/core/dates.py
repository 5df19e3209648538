"""The years a center's dates fall in, and the check every date input goes through.

Birth dates reach back to 1900, policies and schedules forward to 2200. A date beyond is a
typing slip or an attack, and shifting it by a day or a time zone overflows Python's date
range (year 1 or 9999 in a filter used to be a server error), so forms and the API refuse it
as a field error.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

YEAR_MIN, YEAR_MAX = 1900, 2200


def date_out_of_range(value: Any) -> bool:
    """A date or time (or one inside a list or dict) outside ``YEAR_MIN``–``YEAR_MAX``."""
    if isinstance(value, dt.date):  # a datetime is a date too
        return not YEAR_MIN <= value.year <= YEAR_MAX
    if isinstance(value, list | tuple | set):
        return any(date_out_of_range(v) for v in value)
    if isinstance(value, dict):
        return any(date_out_of_range(v) for v in value.values())
    return False


def validate_center_year(value: Any) -> None:
    """Form field validator: the date's year must be within the center's years."""
    if date_out_of_range(value):
        raise ValidationError(
            _("Enter a date between %(a)d and %(b)d.") % {"a": YEAR_MIN, "b": YEAR_MAX},
            code="out_of_range",
        )


def guard_date_fields(form) -> None:
    """Give every date and date-time field of ``form`` (a model form's too) the check."""
    from django import forms

    for field in form.fields.values():
        dated = isinstance(field, forms.DateField | forms.DateTimeField)
        if dated and validate_center_year not in field.validators:
            field.validators.append(validate_center_year)
