"""Keep full phone numbers out of what leaves the leads app (pages, API answers, files).

Stored numbers go out as :func:`~telesales.core.phone_numbers.mask_phone`; free text that
people type (reasons, consent evidence, a rejected row's detail) goes through
:func:`mask_numbers_in`, which masks anything that looks like a full number in it.
"""

from __future__ import annotations

from telesales.core.phone_numbers import PHONE_LIKE, mask_phone


def mask_numbers_in(text: object) -> str:
    """``"call 13812345678 after 6"`` → ``"call 138****5678 after 6"``."""
    if text in (None, ""):
        return ""
    return PHONE_LIKE.sub(lambda m: mask_phone(m.group(0)), str(text))
