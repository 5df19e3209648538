from decimal import Decimal

import pytest
from django.template import Context, Template

from telesales.core.formatting import money, percent, yuan


@pytest.mark.parametrize(
    ("value", "shown"),
    [(None, "—"), ("", "—"), (0, "0.0%"), (0.3456, "34.6%"), (Decimal("1"), "100.0%")],
)
def test_percent(value, shown):
    assert percent(value) == shown


@pytest.mark.parametrize("library", ["lead_masking", "ticket_display"])
def test_the_apps_filters_are_the_shared_one(library):
    rendered = Template("{% load " + library + " %}{{ v|percent }}").render(Context({"v": 0.5}))
    assert rendered == "50.0%"


@pytest.mark.parametrize(
    ("value", "plain", "signed", "in_yuan", "signed_yuan"),
    [
        (Decimal("-238"), "-238.00", "-238.00", "-¥238.00", "-¥238.00"),
        (Decimal("1200"), "1,200.00", "+1,200.00", "¥1,200.00", "+¥1,200.00"),
        (Decimal("291898.88"), "291,898.88", "+291,898.88", "¥291,898.88", "+¥291,898.88"),
        (Decimal("-1234567.5"), "-1,234,567.50", "-1,234,567.50", "-¥1,234,567.50", None),
        (0, "0.00", "0.00", "¥0.00", "¥0.00"),
        (Decimal("-0"), "0.00", "0.00", "¥0.00", "¥0.00"),
        (Decimal("-0.001"), "0.00", "0.00", "¥0.00", "¥0.00"),  # rounds to nothing: no sign
        (None, "—", "—", "—", "—"),
        ("", "—", "—", "—", "—"),
        ("n/a", "n/a", "n/a", "n/a", "n/a"),
    ],
)
def test_money_puts_the_sign_before_the_currency_mark(value, plain, signed, in_yuan, signed_yuan):
    """Chinese financial documents write -¥238.00 and +¥1,200.00, never ¥-238.00."""
    assert money(value) == plain
    assert money(value, signed=True) == signed
    assert yuan(value) == in_yuan == money(value, currency="¥")
    if signed_yuan is not None:
        assert yuan(value, signed=True) == signed_yuan


def test_clock_gives_the_date_of_a_moment_not_today():
    import datetime as dt

    from django.utils import timezone

    from telesales.core.templatetags.core_display import clock

    now = timezone.localtime()
    today = now.replace(hour=9, minute=5, second=0, microsecond=0)
    assert clock(today) == "09:05"
    yesterday = today - dt.timedelta(days=1)
    assert clock(yesterday) == f"{yesterday:%Y-%m-%d} 09:05"
    assert clock(None) == ""
