"""Small display helpers shared by the apps' template filters."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


def percent(value) -> str:
    """A share (0–1) as a percentage with one decimal; a dash when there is none."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.1f}%"


def money(value, *, signed: bool = False, currency: str = "") -> str:
    """An amount with two decimals and its thousands grouped by three, as Chinese business
    documents write amounts whatever the locale's own grouping (Django's zh-Hans formats group
    by four): ``Decimal("291898.88")`` → ``"291,898.88"``; ``signed`` puts a ``+`` before a
    gain. ``currency`` (``"¥"``) goes between the sign and the digits, as Chinese financial
    documents write it: ``-¥238.00``, ``+¥1,200.00``, never ``¥-238.00``. A dash for no value
    (without the currency mark); anything that is not a finite number as it is. Display only:
    form fields keep plain digits, which is what they accept."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if not number.is_finite():
        return str(value)
    text = f"{abs(number):,.2f}"
    if text == "0.00":
        return f"{currency}{text}"  # never "-0.00" nor "+0.00"
    sign = "-" if number < 0 else "+" if signed else ""
    return f"{sign}{currency}{text}"


def yuan(value, *, signed: bool = False) -> str:
    """An amount in yuan as the pages show it: ``money`` with the ``¥`` after the sign
    (``-¥238.00``, ``¥291,898.88``; ``signed``: ``+¥1,200.00``)."""
    return money(value, signed=signed, currency="¥")


def line_breaks_normalised(text: str | None) -> str:
    """Free text as it is counted and stored: every line break one LF (a browser posts CR LF,
    Windows clients send it too), ends trimmed."""
    return (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()


def figure(value) -> str:
    """A dashboard figure with its thousands grouped and the decimals it has: 713120.00 →
    "713,120.00", 1089 → "1,089", Decimal("11.2") → "11.2"; anything else as it is."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal) and value.is_finite():
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return f"{value:,.{places}f}"
    return str(value)


def hours_minutes_seconds(seconds) -> str:
    """A talk time as every page shows it: ``H:MM:SS`` with the hours running on past a day
    (``0:01:30``, ``25:03:50``) — never ``1:30``, which reads as an hour and a half, and never
    days, which would drop the minutes of a month's total; a dash for none."""
    if seconds is None or seconds == "":
        return "—"
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"
