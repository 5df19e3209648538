"""The ``Content-Disposition`` of a file download whose name may be in Chinese.

A header must be ASCII, so a name such as ``工资单-2026-03.xlsx`` travels as RFC 5987's
``filename*=UTF-8''…`` (percent-encoded UTF-8, RFC 6266 §4.3), which every current browser
reads; an ASCII ``filename="…"`` comes first for the clients that do not (and for curl's
``-J``). Both are cleaned: no quote, backslash, control character or path separator gets
into the header or a saved file's name."""

from __future__ import annotations

import re
from urllib.parse import quote

#: What an ASCII fallback may keep; anything else becomes "_".
_ASCII_UNSAFE = re.compile(r"[^A-Za-z0-9._ ()\[\]+-]")
#: What a name may not hold in any form: control characters, path separators, quotes.
_NEVER = re.compile(r'[\x00-\x1f\x7f/\\"]')


def _clean(name: str) -> str:
    return _NEVER.sub("_", name).strip() or "download"


def ascii_filename(name: str) -> str:
    """``name`` with everything outside plain ASCII replaced by "_" (runs merged, none at
    either end): ``工资单-2026-03.xlsx`` → ``2026-03.xlsx``, ``工资单.xlsx`` →
    ``download.xlsx``."""
    text = re.sub(r"_+", "_", _ASCII_UNSAFE.sub("_", _clean(name))).strip(" _-")
    if not text or text.startswith("."):  # nothing left but the extension
        text = f"download{text}"
    return text


def attachment_disposition(filename: str, *, fallback: str = "") -> str:
    """``attachment; filename="<fallback>"; filename*=UTF-8''<filename>``: the name in full
    for browsers, ``fallback`` (an ASCII name chosen by the caller, such as the English one,
    else ``filename`` made ASCII) for the others. A plain ASCII name is sent as it is."""
    name = _clean(filename)
    plain = ascii_filename(fallback or name)
    if name == plain:
        return f'attachment; filename="{plain}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"
