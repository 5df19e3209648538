"""The Content-Disposition of downloads whose names may be Chinese (RFC 6266 / 5987)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from telesales.core.downloads import ascii_filename, attachment_disposition


def test_an_ascii_name_is_sent_as_it_is():
    assert attachment_disposition("payrun-2026-03.xlsx") == (
        'attachment; filename="payrun-2026-03.xlsx"'
    )


def test_a_chinese_name_travels_as_utf8_with_the_ascii_fallback_first():
    header = attachment_disposition("工资单-2026-03.xlsx", fallback="payrun-2026-03.xlsx")
    assert header == (
        'attachment; filename="payrun-2026-03.xlsx"; '
        "filename*=UTF-8''%E5%B7%A5%E8%B5%84%E5%8D%95-2026-03.xlsx"
    )
    header.encode("ascii")  # a header must be ASCII
    assert unquote(header.split("''", 1)[1]) == "工资单-2026-03.xlsx"


def test_without_a_fallback_the_name_is_made_ascii():
    assert ascii_filename("工资单-2026-03.xlsx") == "2026-03.xlsx"
    assert 'filename="2026-03.xlsx"' in attachment_disposition("工资单-2026-03.xlsx")
    assert ascii_filename("工资单.xlsx") == "download.xlsx"


@pytest.mark.parametrize("name", ['a"b.xlsx', "a\\b.xlsx", "a/b.xlsx", "a\r\nX-Evil: 1.xlsx"])
def test_quotes_separators_and_line_breaks_never_reach_the_header(name):
    header = attachment_disposition(name)
    assert "\r" not in header and "\n" not in header and "/" not in header.split("''")[0]
    quoted = header.split('filename="', 1)[1].split('"', 1)[0]
    assert '"' not in quoted and "\\" not in quoted
