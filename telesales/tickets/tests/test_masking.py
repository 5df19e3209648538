"""Ticket text is masked more strictly than general text: letters touching a number do not
hide it."""

from __future__ import annotations

import pytest

from telesales.core.phone_numbers import PHONE_LIKE
from telesales.tickets.masking import mask_ticket_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("请拨13812345678", "请拨138****5678"),
        ("call 13812345678x now", "call 138****5678x now"),
        ("+86 138 1234 5678", "138****5678"),
        ("座机 010-62345678", "座机 010-****5678"),
        ("保单 TS2026110100000012", "保单 TS2026110100000012"),
        ("金额 13812.50 元", "金额 13812.50 元"),
        ("身份证 110105199001011234", "身份证 110105199001011234"),
        ("", ""),
        (None, ""),
    ],
)
def test_ticket_text_masking(text, expected):
    assert mask_ticket_text(text) == expected
    assert not PHONE_LIKE.search(mask_ticket_text(text))
