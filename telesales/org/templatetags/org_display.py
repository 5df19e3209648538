"""Display filters of the org pages and of the pages that name people: a login is shown as
the person behind it; a seat figure as its kind says."""

from __future__ import annotations

from django import template
from django.core.exceptions import ObjectDoesNotExist

from telesales.core import formatting

register = template.Library()


@register.filter
def person_name(user, default: str = "") -> str:
    """The name of the person whose login ``user`` is (``user.person.name``); the login name
    only when no person record exists (an admin, a command's login); ``default`` without a
    user (``{{ e.actor|person_name:_("system") }}``). Select ``…__person`` with the user to
    avoid a query per row."""
    if user is None or not getattr(user, "pk", None):
        return default
    try:
        person = user.person
    except ObjectDoesNotExist:  # no person record behind this login
        person = None
    if person is not None and person.name:
        return person.name
    return user.get_username() or default


@register.filter
def seat_figure(value, kind: str = "count") -> str:
    """A seat figure as the seats page shows it (``hooks.SeatFigure.kind``): money in yuan
    (``¥12,300.00``), a duration as hours, minutes and seconds (``3:05:09``), a count with
    its thousands grouped; a dash for none."""
    if value is None or value == "":
        return "—"
    if kind == "money":
        return formatting.yuan(value)
    if kind == "seconds":
        return formatting.hours_minutes_seconds(value)
    return formatting.figure(value)


@register.filter
def figure_of(values, key: str):
    """``values[key]`` (a seat's figures), None when it has none."""
    return (values or {}).get(key)
