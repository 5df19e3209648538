"""The API's field messages in the user's language.

pydantic words its validation errors in English ("Field required", "Input should be a valid
integer"); the API answers them in the language the rest of the application speaks to the
user (Chinese by default). Each error's ``type`` picks a translated message, filled from the
error's ``ctx`` (the limit it broke); a type not listed keeps pydantic's own words. Messages our
validators raise (``ValueError``) are already translated: only pydantic's "Value error, "
prefix is taken off.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

_VALUE_ERROR_PREFIXES = ("Value error, ", "Assertion failed, ")

#: pydantic error type → message; ``%(name)s`` comes from the error's ``ctx``.
_MESSAGES: dict[str, Any] = {
    "missing": _("This field is required."),
    "extra_forbidden": _("This field is not accepted here."),
    "int_parsing": _("Enter a whole number."),
    "int_type": _("Enter a whole number."),
    "int_from_float": _("Enter a whole number."),
    "float_parsing": _("Enter a number."),
    "float_type": _("Enter a number."),
    "finite_number": _("Enter a finite number."),
    "decimal_parsing": _("Enter a number."),
    "decimal_type": _("Enter a number."),
    "decimal_max_digits": _("Enter a number with at most %(max_digits)s digits."),
    "decimal_max_places": _("Enter a number with at most %(decimal_places)s decimal places."),
    "decimal_whole_digits": _(
        "Enter a number with at most %(whole_digits)s digits before the decimal point."
    ),
    "bool_parsing": _("Enter true or false."),
    "bool_type": _("Enter true or false."),
    "string_type": _("Enter text."),
    "string_too_short": _("Enter at least %(min_length)s character(s)."),
    "string_too_long": _("Enter at most %(max_length)s characters."),
    "string_pattern_mismatch": _("This value is not in the expected format."),
    "greater_than": _("Enter a value greater than %(gt)s."),
    "greater_than_equal": _("Enter a value of at least %(ge)s."),
    "less_than": _("Enter a value less than %(lt)s."),
    "less_than_equal": _("Enter a value of at most %(le)s."),
    "multiple_of": _("Enter a multiple of %(multiple_of)s."),
    "date_parsing": _("Enter a valid date (YYYY-MM-DD)."),
    "date_type": _("Enter a valid date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": _("Enter a valid date (YYYY-MM-DD)."),
    "date_from_datetime_inexact": _("Enter a date without a time (YYYY-MM-DD)."),
    "datetime_parsing": _("Enter a valid date and time (ISO 8601, e.g. 2026-05-01T09:30+08:00)."),
    "datetime_type": _("Enter a valid date and time (ISO 8601, e.g. 2026-05-01T09:30+08:00)."),
    "datetime_from_date_parsing": _(
        "Enter a valid date and time (ISO 8601, e.g. 2026-05-01T09:30+08:00)."
    ),
    "timezone_aware": _("Give the time with its time zone (e.g. +08:00)."),
    "time_parsing": _("Enter a valid time (HH:MM)."),
    "time_type": _("Enter a valid time (HH:MM)."),
    "literal_error": _("Choose one of: %(expected)s."),
    "enum": _("Choose one of: %(expected)s."),
    "list_type": _("Enter a list."),
    "too_short": _("Give at least %(min_length)s item(s)."),
    "too_long": _("Give at most %(max_length)s item(s)."),
    "dict_type": _("Enter an object."),
    "model_type": _("Enter an object."),
    "model_attributes_type": _("Enter an object."),
    "json_invalid": _("The body is not valid JSON."),
    "json_type": _("The body is not valid JSON."),
    "uuid_parsing": _("Enter a valid UUID."),
    "url_parsing": _("Enter a valid URL."),
}


def field_message(error: dict) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as the user reads it."""
    kind = error.get("type", "")
    raw = str(error.get("msg", ""))
    if kind in ("value_error", "assertion_error"):
        for prefix in _VALUE_ERROR_PREFIXES:
            if raw.startswith(prefix):
                return raw[len(prefix) :]
        return raw
    if kind in ("too_long", "too_short") and isinstance(error.get("input"), str):
        # A text whose length pydantic checks after a validator that reads it first (a note
        # normalised before its limit): "items" would be the wrong word for characters.
        kind = f"string_{kind}"
    template = _MESSAGES.get(kind)
    if template is None:
        return raw
    context = {key: str(value) for key, value in (error.get("ctx") or {}).items()}
    if "expected" in context:  # pydantic's "'a', 'b' or 'c'": a list, in no one language
        context["expected"] = context["expected"].replace("' or '", "', '")
    try:
        return str(template) % context if "%(" in str(template) else str(template)
    except (KeyError, ValueError, TypeError):
        return raw
