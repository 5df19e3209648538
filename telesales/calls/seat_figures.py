"""Per-seat productivity for the seats page (``org.hooks.register_seat_figures``; registered
in ``CallsConfig.ready``).

Over the days of the period, per seat: the dials made at the seat, the connects (answered
calls), the talk time, the sales — policies sold in the period net of the ones cancelled in
free look or declined by underwriting (``NOT_SOLD_STATUSES``), as the sales panel, the
conversion card and the premium-per-seat card count them — and their premium (annualised,
the first-year premium: 每工位产能 = FYP ÷ occupied seats, DOMAIN.md §6). As on the live
board, a call counts for the seat it was made at and a sale for the seat of the agent who
sold it (the seat they are assigned to now). Work by the people in scope at no seat listed
(no seat, another one, or since left) is reported apart, so that the rows add up to the
total.

Importing this module registers the provider (``CallsConfig.ready`` imports it).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.calls.models import CallAttempt
from telesales.org.hooks import SeatFigure, SeatFigures, register_seat_figures
from telesales.policies.choices import NOT_SOLD_STATUSES
from telesales.policies.models import Policy

DIALS, CONNECTS, TALK, SALES, PREMIUM = "dials", "connects", "talk_seconds", "sales", "premium"


def _empty() -> dict:
    return {DIALS: 0, CONNECTS: 0, TALK: 0, SALES: 0, PREMIUM: Decimal("0.00")}


def _midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@register_seat_figures
def calls_seat_figures(*, user, seats, people, since, until) -> SeatFigures:
    """Dials, connects, talk time, sales and premium per seat over ``since``–``until``."""
    start, end = _midnight(since), _midnight(until + dt.timedelta(days=1))
    seat_ids = {seat.pk for seat in seats}
    seat_of_agent = {seat.person_id: seat.pk for seat in seats if seat.person_id}
    per_seat: dict[int, dict] = defaultdict(_empty)
    elsewhere = _empty()

    attempts = (
        CallAttempt.objects.filter(agent__in=people, started_at__gte=start, started_at__lt=end)
        .order_by()
        .values("seat_id")
        .annotate(
            dials=Count("id"),
            connects=Count("id", filter=Q(answered_at__isnull=False)),
            talk=Sum("talk_seconds"),
        )
    )
    for row in attempts:
        target = per_seat[row["seat_id"]] if row["seat_id"] in seat_ids else elsewhere
        target[DIALS] += row["dials"]
        target[CONNECTS] += row["connects"]
        target[TALK] += row["talk"] or 0

    sales = (
        Policy.objects.filter(
            agent__in=people, applied_at__date__gte=since, applied_at__date__lte=until
        )
        .exclude(status__in=NOT_SOLD_STATUSES)
        .order_by()
        .values("agent_id")
        .annotate(n=Count("id"), premium=Sum("annualised_premium"))
    )
    for row in sales:
        seat_id = seat_of_agent.get(row["agent_id"])
        target = per_seat[seat_id] if seat_id is not None else elsewhere
        target[SALES] += row["n"]
        target[PREMIUM] += Decimal(row["premium"] or 0).quantize(Decimal("0.01"))

    return SeatFigures(
        figures=[
            SeatFigure(DIALS, _("Dials")),
            SeatFigure(CONNECTS, _("Connects")),
            SeatFigure(TALK, _("Talk time"), kind="seconds"),
            SeatFigure(SALES, _("Sales")),
            SeatFigure(PREMIUM, _("Premium (FYP)"), kind="money"),
        ],
        per_seat={pk: dict(values) for pk, values in per_seat.items()},
        elsewhere=elsewhere,
        elsewhere_label=_("Not at a listed seat (no seat, or left)"),
        note=_(
            "Calls count for the seat they were made at; sales (policies sold in the period, "
            "net of free-look cancellations and declines) and their annualised premium for "
            "the seat of the agent who sold them. Per occupied seat: the total ÷ the occupied "
            "seats (每工位产能 = FYP ÷ occupied seats)."
        ),
    )
