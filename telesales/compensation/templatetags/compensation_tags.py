"""Template filters of the compensation pages."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import template

from telesales.compensation.notes import note_text
from telesales.compensation.rules_format import MEASURE_LABELS
from telesales.compensation.selectors import user_display_name
from telesales.core.formatting import money as money_text
from telesales.core.formatting import percent
from telesales.core.templatetags.core_display import yuan as core_yuan

register = template.Library()


@register.filter
def measure_label(code) -> str:
    """An assessment measure's name in the reader's language (``fyc`` → "FYC"); an unknown
    code as it is."""
    label = MEASURE_LABELS.get(str(code))
    return str(label) if label is not None else str(code)


#: Measures that are shares (0–1), shown as percentages; money measures are shown as the pay
#: pages show amounts (``core.formatting.money``: thousands grouped, two decimals).
_SHARES = frozenset({"persistency13"})
_MONEY = frozenset({"fyc", "team_fyc"})


@register.filter
def measure_value(value, code) -> str:
    """An assessment figure as people read it: a share as a percentage (0.85 → "85.0%"),
    money as the pay pages show it (3000 → "3,000.00"), counts as whole numbers; "—" when
    there is none."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    if str(code) in _SHARES:
        return percent(number)
    if str(code) in _MONEY:
        return money_text(number)
    return f"{number.normalize():f}" if number == number.to_integral_value() else f"{number}"


@register.filter
def money(value, signed="") -> str:
    """An amount without its currency mark: thousands grouped, two decimals, the sign first
    (291898.88 → "291,898.88", -238 → "-238.00"), like the early warning's texts
    (``core.formatting.money``). ``|money:"signed"`` puts a "+" before a gain. For a column
    of bases; an amount of pay is shown with ``|yuan``."""
    return money_text(value, signed=signed == "signed")


# An amount of pay as every page shows it ("¥291,898.88", "-¥238.00", ``|yuan:"signed"``:
# "+¥1,200.00"): the shared filter, offered here too so the pay templates load one library.
register.filter("yuan", core_yuan)


@register.filter
def user_name(user) -> str:
    """Who a login is, as people know them: the name of the login's employee record, else
    the user's full name, else the login name; "" for nobody. Select ``<user>__person`` with
    the rows to read the names in the same query."""
    return user_display_name(user)


@register.filter
def pay_note(stored) -> str:
    """A pay line's note in the reader's language (``compensation.notes``)."""
    return note_text(stored or "")
