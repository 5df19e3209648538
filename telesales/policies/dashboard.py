"""The policies app's card on the role home pages (``telesales.core.dashboard``): the
stabilisation rate — policies kept past the free-look window, as a percentage of the settled
ones (kept + cancelled inside the window), over what the user may see
(``selectors.stabilisation_rate``). Registered in ``PoliciesConfig.ready``.

The cohort is not the dashboard's period (the month to date) but the policies issued in the
``COHORT_MONTHS`` calendar months before it: a policy issued this month is rarely settled yet,
and the ones that are settled early are the cancellations, so a month-to-date cohort would
show every center as badly stabilised."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.core.dashboard import Indicator, Period, status_for
from telesales.core.roles import Role, has_role
from telesales.policies import permissions, selectors

STABILISATION_RATE = "policies.stabilisation_rate"
STABILISATION_RATE_LABEL = gettext_lazy("Stabilisation rate")
COHORT_MONTHS = 3


def cohort(period: Period) -> Period:
    """The ``COHORT_MONTHS`` whole calendar months before the month ``period`` starts in."""
    until = period.since.replace(day=1) - dt.timedelta(days=1)
    since = until.replace(day=1)
    for _month in range(COHORT_MONTHS - 1):
        since = (since - dt.timedelta(days=1)).replace(day=1)
    return Period(since=since, until=until)


def stabilisation_rate_visible(user) -> bool:
    return permissions.sees_all_policies(user) or has_role(user, Role.TEAM_LEAD)


def stabilisation_rate_indicator(*, user, period: Period) -> Indicator | None:
    if not permissions.can_view_reports(user):
        return None
    issued = cohort(period)
    rows = selectors.stabilisation_rate(
        user=user, by="team", since=issued.since, until=issued.until
    )
    total = selectors.stabilisation_total(rows)
    kept, settled = total["numerator"], total["denominator"]
    value = (Decimal(kept) * 100 / settled).quantize(Decimal("0.1")) if settled else None
    query = urlencode(
        {"by": "team", "since": issued.since.isoformat(), "until": issued.until.isoformat()}
    )
    return Indicator(
        key=STABILISATION_RATE,
        label=STABILISATION_RATE_LABEL,
        value=value,
        unit="%",
        numerator=kept,
        denominator=settled,
        numerator_label=_("kept"),
        denominator_label=_("settled"),
        help_text=_(
            "Policies issued from %(since)s to %(until)s and kept past the free-look window, "
            "of those whose window has closed; %(pending)s still inside it."
        )
        % {
            "since": issued.since.isoformat(),
            "until": issued.until.isoformat(),
            "pending": total["pending"],
        },
        url=f"{reverse('policies:stabilisation_report')}?{query}",
        scope=_("Center") if permissions.sees_all_policies(user) else _("Your teams"),
        status=status_for(STABILISATION_RATE, value),
    )
