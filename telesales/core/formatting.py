"""Small display helpers shared by the apps' template filters."""

from __future__ import annotations

from decimal import Decimal


def percent(value) -> str:
    """A share (0–1) as a percentage with one decimal; a dash when there is none."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"


def money(value) -> str:
    """An amount with two decimals and its thousands grouped ("94,420.00"); a dash when there
    is none. Grouped by three, as Chinese business documents write amounts, whatever the
    locale's own grouping (Django's zh-Hans formats group by four)."""
    if value is None or value == "":
        return "—"
    return f"{Decimal(str(value)):,.2f}"
