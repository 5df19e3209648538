"""Keep full phone numbers out of what the tickets app shows.

Ticket text is typed by people (and forwarded by the regulator): a customer's new number, a
callback number. It is stored as received and masked on the way out, more strictly than
general text: besides everything ``core.phone_numbers.PHONE_LIKE`` finds, any run of eleven
digits that reads as a mainland mobile (``1[3-9]`` …) is masked even when letters touch it
(``13812345678x``)."""

from __future__ import annotations

import re

from telesales.core.phone_numbers import mask_phone
from telesales.leads.masking import mask_numbers_in

MOBILE_RUN = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_ticket_text(text: object) -> str:
    """``"请拨13812345678x"`` → ``"请拨138****5678x"``."""
    masked = mask_numbers_in(text)
    return MOBILE_RUN.sub(lambda m: mask_phone(m.group(0)), masked)
