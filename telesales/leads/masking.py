"""Keep full phone numbers out of what leaves the leads app (pages, API answers, files).

Stored numbers go out as :func:`~telesales.core.phone_numbers.mask_phone`; free text that
people type (reasons, consent evidence, a rejected row's detail) goes through
:func:`mask_numbers_in`, which masks anything that looks like a full number in it.
"""

from __future__ import annotations

from telesales.core.phone_numbers import mask_numbers_in, mask_phone

__all__ = ["mask_numbers_in", "mask_phone"]
