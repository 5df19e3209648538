"""Explicit extension points of the organisation app.

Apps above ``org`` (leads, later policies) must react when someone stops working — their
leads go back to the pool, their customers get a new servant — but ``org`` may not import
them. They register a function here in ``AppConfig.ready``; the org service calls every
registered function inside its own transaction, so both writes land or neither does.
"""

from __future__ import annotations

from collections.abc import Callable

_ON_STOPS_WORKING: list[Callable[..., object]] = []


def on_person_stops_working(fn: Callable[..., object]) -> Callable[..., object]:
    """Register ``fn(*, person, actor)``, called when a person leaves or is suspended."""
    if fn not in _ON_STOPS_WORKING:
        _ON_STOPS_WORKING.append(fn)
    return fn


def person_stops_working_run(*, person, actor) -> None:
    for fn in list(_ON_STOPS_WORKING):
        fn(person=person, actor=actor)
