"""Pay-line notes: stored as what they say, read in the reader's language.

The engine writes a line's note once, whoever computes the run (the same inputs must give
the same lines), but the HR admin may read the payslip in Chinese and the agent in English.
So a note is stored as its parts — each a message (an English message id, marked for
translation where it is written) with its values — and put into words when it is shown
(``note_text``): on the payslip page, in its export and in the API. A note stored as plain
text (runs computed before notes were stored this way, an adjustment's reason) reads as it
is.

Values are text (days as ISO dates, amounts already formatted as the pay pages show them),
whole numbers, or a list of message ids, translated and listed with the language's list
separator ("receipt, return visit" / "回执、回访").
"""

from __future__ import annotations

import json

from django.utils.translation import gettext, gettext_noop, pgettext

#: Messages that only the notes of runs computed before are stored with: kept translated.
FORMER_MESSAGES = (
    # One withheld line per day a policy was done after the deadline (before ADR 0018).
    gettext_noop("done on %(day)s, after the deadline %(deadline)s"),
)

#: How a stored note starts: a JSON list of [message, values] parts.
_START = '[["'


#: One encoder for every note (``json.dumps`` with these options builds one per call: a
#: pay run writes tens of thousands of notes).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _dumps(parts: list) -> str:
    return _ENCODER.encode(parts)


def note(message: str, /, **values: str | int | list[str]) -> str:
    """A note of one part: ``message`` with ``values`` for its ``%(name)s`` placeholders."""
    return _dumps([[message, values]])


def joined(*notes: str) -> str:
    """Notes made by ``note`` (or ``joined``) as one, their parts in order; "" for none."""
    parts: list = []
    for stored in notes:
        if stored:
            parts.extend(json.loads(stored))
    return _dumps(parts) if parts else ""


def note_text(stored: str) -> str:
    """A stored note in the current language (a plain-text note as it is)."""
    if not stored or not stored.startswith(_START):
        return stored
    try:
        parts = json.loads(stored)
        words = []
        for message, values in parts:
            shown = {
                key: (
                    gettext(", ").join(gettext(item) for item in value)
                    if isinstance(value, list)
                    else value
                )
                for key, value in values.items()
            }
            words.append(gettext(message) % shown)
    except (ValueError, TypeError, KeyError):
        # Cut short (a note is stored in at most 500 characters) or not a note after all.
        return stored
    return pgettext("between two parts of a note", "; ").join(words)
