"""The calls app's card on the role home pages (``telesales.core.dashboard``): conversion
(成交率) — policies sold ÷ leads connected over the month to date, as the call reports count
it (``selectors.conversion``), for the manager, the planner (the center) and team leads
(their teams). Registered in ``CallsConfig.ready``."""

from __future__ import annotations

from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.calls import permissions, selectors
from telesales.core.dashboard import Indicator, Period, status_for

CONVERSION = "calls.conversion"
CONVERSION_LABEL = gettext_lazy("Conversion")


def conversion_visible(user) -> bool:
    return permissions.can_view_board(user)


def conversion_indicator(*, user, period: Period) -> Indicator | None:
    if not conversion_visible(user):
        return None
    figures = selectors.conversion(user=user, since=period.since, until=period.until)
    rate = figures["rate"]
    value = (Decimal(rate) * 100).quantize(Decimal("0.1")) if rate is not None else None
    return Indicator(
        key=CONVERSION,
        label=CONVERSION_LABEL,
        value=value,
        unit="%",
        numerator=figures["sales"],
        denominator=figures["leads_connected"],
        numerator_label=_("sales"),
        denominator_label=_("leads connected"),
        help_text=_(
            "Policies sold in the period ÷ leads with an answered call in it; the call "
            "reports give it per agent."
        ),
        url=f"{reverse('calls:report')}?{period.query()}",
        scope=_("Center") if permissions.sees_all_calls(user) else _("Your teams"),
        status=status_for(CONVERSION, value),
    )
