"""Amounts in yuan as people type them: the sale's annualised premium from the workspace
form, the softphone and the API.

Read: plain digits with at most one decimal point ("12000", "1200.50"), digits grouped by
thousands ("12,000", "1,200.50"), a yuan sign before ("¥12000", "￥12000") or 元 after
("12000元"), and the full-width forms a Chinese input method types ("１２，０００元"). Anything
else ("12k", "1,20", "1e5", "一万") is refused with what to type, never guessed at. The range
(more than zero, the product's least and most) is the sale's check, not this one's.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

_PLAIN = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_YUAN_BEFORE = ("¥", "￥", "RMB", "CNY")
_YUAN_AFTER = ("元整", "元", "RMB", "CNY")


def amount_text(text: str) -> str:
    """Typed text made plain: NFKC (full-width digits, comma and point to ASCII), spaces,
    a yuan sign before or 元 after dropped, proper thousands separators taken out."""
    text = unicodedata.normalize("NFKC", text).strip()
    sign = text[:1] if text[:1] in "+-" else ""
    rest = text[len(sign) :].strip()
    for mark in _YUAN_BEFORE:
        if rest.upper().startswith(mark):
            rest = rest[len(mark) :].strip()
            break
    for mark in _YUAN_AFTER:
        if rest.upper().endswith(mark):
            rest = rest[: -len(mark)].strip()
            break
    text = sign + rest
    if _GROUPED.fullmatch(text):
        text = text.replace(",", "")
    return text


def amount_example() -> str:
    return _("Enter the amount in yuan, such as 1200, 1200.50 or 12,000.")


def amount_parse(raw: object) -> Decimal:
    """``raw`` (text, an int, a Decimal, or a JSON number) as a Decimal; ``ValueError`` with
    a translated message saying what to type when it is not an amount."""
    if isinstance(raw, bool) or raw is None:
        raise ValueError(amount_example())
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise ValueError(amount_example())
        return raw
    if isinstance(raw, int):
        return Decimal(raw)
    if isinstance(raw, float):
        text = repr(raw)
    elif isinstance(raw, str):
        text = amount_text(raw)
    else:
        raise ValueError(amount_example())
    if not _PLAIN.fullmatch(text):
        if "," in text:
            raise ValueError(
                _("Group the digits by thousands (12,000.50) or write them plain (12000.50).")
            )
        raise ValueError(amount_example())
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain digits
        raise ValueError(amount_example()) from None
