"""Explicit extension points of the organisation app.

Apps above ``org`` (leads, later policies) must react when someone stops working — their
leads go back to the pool, their customers get a new servant — but ``org`` may not import
them. They register a function here in ``AppConfig.ready``; the org service calls every
registered function inside its own transaction, so both writes land or neither does.

Apps above ``org`` (calls) also give the seats page its per-seat productivity figures
(``register_seat_figures``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

_ON_STOPS_WORKING: list[Callable[..., object]] = []


def on_person_stops_working(fn: Callable[..., object]) -> Callable[..., object]:
    """Register ``fn(*, person, actor)``, called when a person leaves or is suspended."""
    if fn not in _ON_STOPS_WORKING:
        _ON_STOPS_WORKING.append(fn)
    return fn


def person_stops_working_run(*, person, actor) -> None:
    for fn in list(_ON_STOPS_WORKING):
        fn(person=person, actor=actor)


# --- Figures per seat ------------------------------------------------------------------------
# Seats are one of the center's resources: capacity (org) and per-seat productivity, which
# the apps above org compute (calls: dials, connects, talk time, sales and premium). They
# register a provider here; the seats page shows its figures per seat, in total and per
# occupied seat without importing them.
@dataclass(frozen=True)
class SeatFigure:
    """One column of figures: ``kind`` says how to show and average it: ``count`` (a number
    of things), ``seconds`` (a duration) or ``money`` (a Decimal amount)."""

    key: str
    label: Any
    kind: str = "count"


@dataclass(frozen=True)
class SeatFigures:
    """What one provider says about the seats for a period: ``per_seat`` maps a seat's id to
    ``{key: value}`` for the figures in ``figures``; ``elsewhere`` holds the same figures for
    the work done by the people in scope but at no seat listed (no seat, or another one),
    labelled ``elsewhere_label``, so that the seats' rows and it add up to the total;
    ``note`` says how the figures are counted."""

    figures: list[SeatFigure]
    per_seat: dict[int, dict[str, Any]]
    elsewhere: dict[str, Any] = field(default_factory=dict)
    elsewhere_label: Any = ""
    note: Any = ""


_SEAT_FIGURES: list[Callable[..., SeatFigures | None]] = []


def register_seat_figures(
    fn: Callable[..., SeatFigures | None],
) -> Callable[..., SeatFigures | None]:
    """Register ``fn(*, user, seats, people, since, until) -> SeatFigures | None``: ``seats``
    the seats the user may see, ``people`` a queryset of the people whose work the page
    covers, ``since``/``until`` local days, both included; None: nothing for this user."""
    if fn not in _SEAT_FIGURES:
        _SEAT_FIGURES.append(fn)
    return fn


def seat_figures(*, user, seats, people, since, until) -> list[SeatFigures]:
    """Every provider's figures, in registration order. A provider that fails is logged and
    left out; the page still renders."""
    out = []
    for fn in list(_SEAT_FIGURES):
        try:
            found = fn(user=user, seats=seats, people=people, since=since, until=until)
        except Exception:
            logger.exception("Seat figures %s failed", getattr(fn, "__name__", fn))
            continue
        if found is not None:
            out.append(found)
    return out
