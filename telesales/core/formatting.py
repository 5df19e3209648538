"""Small display helpers shared by the apps' template filters."""

from __future__ import annotations


def percent(value) -> str:
    """A share (0–1) as a percentage with one decimal; a dash when there is none."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"
