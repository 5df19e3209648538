"""The sales-results panel (销售业绩) on the manager's and the team lead's home pages
(``telesales.core.dashboard.register_panel``), over the policies the viewer may see.

Sales are counted as the premium per seat card counts them: policies sold (applied) in the
days, net of the ones cancelled in free look or declined (``NOT_SOLD_STATUSES``), at their
annualised premium. The panel shows the month to date against the same days of the month
before (the 1st to the 29th against the 1st to the 29th, or to the last day of a shorter
month), the running total of both months day by day, each team's figures, and the agents
with the most premium (a team lead sees their own teams' policies only, so their ranking is
their team's)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.core.dashboard import Period
from telesales.policies import permissions, selectors
from telesales.policies.choices import NOT_SOLD_STATUSES

SALES_PANEL = "policies.sales"
SALES_PANEL_LABEL = gettext_lazy("Sales results")
#: How many agents the ranking lists.
TOP_AGENTS = 10


def previous_period(period: Period) -> Period:
    """The same days of the month before ``period``'s month (its first ``n`` days when
    ``period`` is a month's first ``n``), cut at that month's last day."""
    last_day = period.since.replace(day=1) - dt.timedelta(days=1)
    first_day = last_day.replace(day=1)
    since = min(first_day + (period.since - period.since.replace(day=1)), last_day)
    until = min(first_day + (period.until - period.since.replace(day=1)), last_day)
    return Period(since=since, until=until)


def _sold(user, period: Period):
    return (
        selectors.policy_list(user=user, since=period.since, until=period.until)
        .exclude(status__in=NOT_SOLD_STATUSES)
        .order_by()
    )


def _running(qs, since: dt.date, days: int) -> list[float]:
    """The running total of premium for each of ``days`` days from ``since``."""
    per_day = {
        r["day"]: Decimal(r["premium"] or 0)
        for r in qs.annotate(day=TruncDate("applied_at"))
        .values("day")
        .annotate(premium=Sum("annualised_premium"))
    }
    out, total = [], Decimal(0)
    for i in range(days):
        total += per_day.get(since + dt.timedelta(days=i), Decimal(0))
        out.append(float(total))
    return out


def _change(now: Decimal, before: Decimal) -> Decimal | None:
    """The change from ``before`` to ``now`` in per cent, one decimal; None without a base."""
    if not before:
        return None
    return ((now - before) * 100 / before).quantize(Decimal("0.1"))


def sales_summary(*, user, period: Period) -> dict:
    """The panel's figures (see the module's docstring), over what ``user`` may see."""
    before = previous_period(period)
    sold, sold_before = _sold(user, period), _sold(user, before)
    per_team = (
        sold.values("team_id", "team__name")
        .annotate(n=Count("id"), premium=Sum("annualised_premium"))
        .order_by()
    )
    rows = [{**r, "premium": Decimal(r["premium"] or 0)} for r in per_team]
    rows_before = {
        r["team_id"]: (r["n"], Decimal(r["premium"] or 0))
        for r in sold_before.values("team_id")
        .annotate(n=Count("id"), premium=Sum("annualised_premium"))
        .order_by()
    }
    count, premium = sum(r["n"] for r in rows), sum((r["premium"] for r in rows), Decimal(0))
    count_before = sum(n for n, _p in rows_before.values())
    premium_before = sum((p for _n, p in rows_before.values()), Decimal(0))
    teams = []
    for r in rows:
        amount = r["premium"]
        previous = rows_before.get(r["team_id"], (0, Decimal(0)))[1]
        teams.append(
            {
                "id": r["team_id"],
                "name": r["team__name"] or _("No team"),
                "policies": r["n"],
                "premium": amount,
                "premium_before": previous,
                "change": _change(amount, previous),
                "share": (amount * 100 / premium).quantize(Decimal("0.1")) if premium else None,
            }
        )
    teams.sort(key=lambda t: (-t["premium"], t["name"]))
    agents = [
        {
            "id": r["agent_id"],
            "name": r["agent__name"],
            "team": r["agent__team__name"] or "",
            "policies": r["n"],
            "premium": Decimal(r["premium"] or 0),
        }
        for r in sold.values("agent_id", "agent__name", "agent__team__name")
        .annotate(n=Count("id"), premium=Sum("annualised_premium"))
        .order_by("-premium", "agent__name", "agent_id")[:TOP_AGENTS]
    ]
    month_days = (period.until - period.since).days + 1
    before_month_start = before.since.replace(day=1)
    before_month_days = (period.since.replace(day=1) - before_month_start).days
    whole_before = _sold(
        user,
        Period(
            since=before_month_start,
            until=before_month_start + dt.timedelta(days=before_month_days - 1),
        ),
    )
    return {
        "period": period,
        "before": before,
        "policies": count,
        "policies_before": count_before,
        "premium": premium,
        "premium_before": premium_before,
        "change": _change(premium, premium_before),
        "average": (premium / count).quantize(Decimal("0.01")) if count else None,
        "teams": teams,
        "agents": agents,
        "chart": {
            "days": list(range(1, max(month_days, before_month_days) + 1)),
            "now": _running(sold, period.since, month_days),
            "before": _running(whole_before, before_month_start, before_month_days),
            "now_label": _("This month"),
            "before_label": _("Last month"),
        },
    }


def sales_panel(*, request, period: Period) -> str | None:
    user = request.user
    if not permissions.can_view_reports(user):
        return None
    summary = sales_summary(user=user, period=period)
    return render_to_string(
        "policies/_sales_panel.html",
        {
            "s": summary,
            "list_url": f"{reverse('policies:policy_list')}?{period.query()}",
            "scope": _("Center") if permissions.sees_all_policies(user) else _("Your teams"),
        },
        request=request,
    )
