"""Chinese resident identity numbers (公民身份号码, GB 11643-1999): validate, normalise, mask.

An ID number has 18 characters: a 6-digit region code (first two digits: the province),
an 8-digit birth date, a 3-digit sequence whose last digit is odd for men and even for
women, and a check character computed from the first 17 (ISO 7064 MOD 11-2: weights
7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, remainder mapped through ``10X98765432``).

Old 15-digit numbers (cards issued before 1999: 2-digit year, no check character) are
converted to 18 by inserting ``19`` before the year and computing the check character, as
the public-security system did; the result says so with ``converted_from_15``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = [
    "ID_NUMBER_ERRORS",
    "PROVINCE_CODES",
    "IdNumberResult",
    "id_number_check_character",
    "mask_id_number",
    "validate_id_number",
]

#: First two digits of a region code (GB/T 2260): the 31 mainland provinces, Taiwan (71),
#: and Hong Kong, Macao and Taiwan residents' residence permits (81, 82, 83).
# fmt: off
PROVINCE_CODES = frozenset({
    "11", "12", "13", "14", "15",                    # 华北
    "21", "22", "23",                                # 东北
    "31", "32", "33", "34", "35", "36", "37",        # 华东
    "41", "42", "43", "44", "45", "46",              # 中南
    "50", "51", "52", "53", "54",                    # 西南
    "61", "62", "63", "64", "65",                    # 西北
    "71", "81", "82", "83",                          # 台湾; 港澳台居民居住证
})
# fmt: on
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARACTERS = "10X98765432"
_EARLIEST_BIRTH = date(1850, 1, 1)  # GB 11643's own example is born in 1880
_SHAPE = re.compile(r"[0-9]{17}[0-9X]|[0-9]{15}", re.ASCII)
_ID_CHARACTERS = re.compile(r"[0-9]+X?", re.ASCII)
_IGNORED = re.compile(r"[\s\-]+")

#: Stable error codes and what they tell the person who typed the number.
ID_NUMBER_ERRORS: dict[str, Any] = {
    "empty": _("No ID number."),
    "not_an_id_number": _("An ID number holds digits only, with X allowed as the last one."),
    "wrong_length": _("An ID number has 18 characters (15 on a card from before 1999)."),
    "lost_digits": _(
        "The spreadsheet stored this ID number as a number and lost digits; "
        "format the column as text and export the file again."
    ),
    "unknown_region": _("The first two digits are not a Chinese province code."),
    "invalid_birth_date": _("Digits 7 to 14 are not a possible birth date."),
    "birth_date_in_future": _("The birth date in this ID number lies in the future."),
    "checksum_mismatch": _("The last character does not match the others: a digit is mistyped."),
}


@dataclass(frozen=True)
class IdNumberResult:
    """The outcome of validating one ID number.

    ``value`` is the normalised 18-character number (upper-case ``X``) exactly when
    ``error`` is None; ``birth_date`` and ``gender`` (``"M"``/``"F"``) come from it.
    """

    value: str | None
    birth_date: date | None
    gender: Literal["M", "F"] | None
    error: str | None
    converted_from_15: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def message(self) -> str:
        return "" if self.error is None else str(ID_NUMBER_ERRORS[self.error])

    @property
    def masked(self) -> str:
        return mask_id_number(self.value) if self.value else ""


def id_number_check_character(first17: str) -> str:
    """The GB 11643 check character (``0``–``9`` or ``X``) of 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError("id_number_check_character() takes exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS, strict=True))
    return _CHECK_CHARACTERS[total % 11]


def _failure(error: str) -> IdNumberResult:
    return IdNumberResult(value=None, birth_date=None, gender=None, error=error)


def validate_id_number(raw: object, *, today: date | None = None) -> IdNumberResult:
    """Validate and normalise an ID number from a form or a spreadsheet cell. Never raises.

    Full-width characters and a lower-case ``x`` are accepted; spaces and hyphens inside
    are ignored. ``today`` (default: today in the project's time zone) bounds the birth date.
    """
    text = _as_text(raw)
    if isinstance(text, IdNumberResult):
        return text
    if not _SHAPE.fullmatch(text):
        if _ID_CHARACTERS.fullmatch(text):
            return _failure("wrong_length")
        return _failure("not_an_id_number")
    converted = len(text) == 15
    if converted:
        first17 = text[:6] + "19" + text[6:]
        text = first17 + id_number_check_character(first17)
    if text[:2] not in PROVINCE_CODES:
        return _failure("unknown_region")
    try:
        birth_date = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        return _failure("invalid_birth_date")
    if birth_date < _EARLIEST_BIRTH:
        return _failure("invalid_birth_date")
    if birth_date > (today or timezone.localdate()):
        return _failure("birth_date_in_future")
    if id_number_check_character(text[:17]) != text[17]:
        return _failure("checksum_mismatch")
    return IdNumberResult(
        value=text,
        birth_date=birth_date,
        gender="M" if int(text[16]) % 2 else "F",
        error=None,
        converted_from_15=converted,
    )


def _as_text(raw: object) -> str | IdNumberResult:
    if raw is None:
        return _failure("empty")
    if isinstance(raw, bool):
        return _failure("not_an_id_number")
    if isinstance(raw, int):
        if raw <= 0:
            return _failure("not_an_id_number")
        return str(raw) if raw < 10**18 else _failure("wrong_length")
    if isinstance(raw, Decimal | float):
        # A spreadsheet number: exact only below 2**53 (15-digit numbers), never with an X.
        try:
            exact = Decimal(raw)
        except (ValueError, ArithmeticError):
            return _failure("not_an_id_number")
        if not exact.is_finite() or exact <= 0 or exact != exact.to_integral_value():
            return _failure("not_an_id_number")
        if exact >= 10**18:
            return _failure("wrong_length")
        if isinstance(raw, float) and exact >= 2**53:
            return _failure("lost_digits")
        if isinstance(raw, Decimal) and int(raw.as_tuple().exponent) > 0:
            return _failure("lost_digits")
        return str(int(exact))
    if not isinstance(raw, str):
        return _failure("not_an_id_number")
    text = raw if raw.isascii() else unicodedata.normalize("NFKC", raw)
    text = _IGNORED.sub("", text).upper()
    return text or _failure("empty")


def mask_id_number(value: object) -> str:
    """Keep the first 6 and last 4 characters: ``110105********1234``. Length-preserving;
    a value of 10 characters or fewer is all stars. Never raises."""
    try:
        text = "" if value is None else str(value).strip()
    except Exception:
        return ""
    if len(text) <= 10:
        return "*" * len(text)
    return text[:6] + "*" * (len(text) - 10) + text[-4:]
