"""The organisation's card on the role home pages (``telesales.core.dashboard``): the monthly
attrition rate (月离职率, DOMAIN.md §4) — leavers ÷ average headcount of the sales force the
user may see (the center for the manager and HR, their teams for a team lead), the
manpower result beside sales (premium per seat) and brand (complaints, stabilisation).
Registered in ``OrgConfig.ready``."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.core.dashboard import Indicator, Period, status_for
from telesales.core.roles import Role, has_role
from telesales.org import permissions, selectors
from telesales.org.choices import PersonStatus, TeamKind

ATTRITION = "org.attrition_rate"
ATTRITION_LABEL = gettext_lazy("Attrition")


def attrition_visible(user) -> bool:
    return permissions.sees_all_people(user) or has_role(user, Role.TEAM_LEAD)


def leavers_url(period: Period) -> str:
    """The people list of the leavers the card counts: people of sales teams who left on a
    day of ``period`` (the list is scoped to the user as the card is)."""
    query = {
        "status": PersonStatus.LEFT.value,
        "team_kind": TeamKind.SALES.value,
        "left_since": period.since.isoformat(),
        "left_until": period.until.isoformat(),
    }
    return f"{reverse('org:person_list')}?{urlencode(query)}"


def attrition_indicator(*, user, period: Period) -> Indicator | None:
    if not attrition_visible(user):
        return None
    figures = selectors.sales_manpower(user=user, since=period.since, until=period.until)
    average = figures["average"]
    value = (
        (Decimal(figures["leavers"]) * 100 / average).quantize(Decimal("0.1")) if average else None
    )
    return Indicator(
        key=ATTRITION,
        label=ATTRITION_LABEL,
        value=value,
        unit="%",
        numerator=figures["leavers"],
        denominator=average,
        numerator_label=_("left"),
        denominator_label=_("average headcount"),
        help_text=_(
            "Sales people who left in the period ÷ (headcount when it began + headcount now) "
            "÷ 2; %(hires)d joined."
        )
        % {"hires": figures["hires"]},
        url=leavers_url(period),
        scope=_("Center") if permissions.sees_all_people(user) else _("Your teams"),
        status=status_for(ATTRITION, value),
    )
