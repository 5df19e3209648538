"""The tickets app's card on the role home pages (``telesales.core.dashboard``): the
complaint rate per 1,000 policies in force, the center's brand indicator. The manager (and
renewal operations) see the center's figure, a team lead the figure of the teams they lead
(``selectors.complaint_rate_for_user``). Registered in ``TicketsConfig.ready``."""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.core.dashboard import Indicator, Period, status_for
from telesales.tickets import permissions, selectors

COMPLAINT_RATE = "tickets.complaint_rate"
COMPLAINT_RATE_LABEL = gettext_lazy("Complaints per 1,000 policies")


def complaint_rate_visible(user) -> bool:
    return permissions.can_view_complaint_rate(user) or permissions.can_view_team_complaint_rate(
        user
    )


def complaint_rate_indicator(*, user, period: Period) -> Indicator | None:
    figure = selectors.complaint_rate_for_user(user=user, since=period.since, until=period.until)
    if figure is None:
        return None
    if figure["teams"] is None:
        scope = _("Center")
        url = f"{reverse('tickets:sla_report')}?{period.query()}"
    else:
        # "Your teams", as every other card on a team lead's home says (not the team names)
        scope = _("Your teams")
        # the complaints the card counts: about the teams' agents or policies, opened in the
        # card's days, whatever their status now
        query = urlencode(
            {
                "kind": "complaint",
                "status": "all",
                "queue": "teams",
                "since": period.since.isoformat(),
                "until": period.until.isoformat(),
            }
        )
        url = f"{reverse('tickets:ticket_list')}?{query}"
    rate = figure["rate_per_1000"]
    return Indicator(
        key=COMPLAINT_RATE,
        label=COMPLAINT_RATE_LABEL,
        value=rate,
        unit="‰",
        numerator=figure["complaints"],
        denominator=figure["policies_in_force"],
        numerator_label=_("complaints"),
        denominator_label=_("policies in force"),
        help_text=_(
            "Complaints opened in the period, every channel, per 1,000 policies in force in it."
        ),
        url=url,
        scope=scope,
        status=status_for(COMPLAINT_RATE, rate),
    )
