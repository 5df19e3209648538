"""The calls app's card on the role home pages (``telesales.core.dashboard``): conversion
(成交率) — policies sold (net of free-look cancellations and declines, the sales panel's
figure) ÷ leads connected over the month to date, as the call reports count it
(``selectors.conversion``; its link opens the report of the same days, whose total reads the
card's numbers), for the manager, the planner (the center) and team leads
(their teams). And the agent's own cards on "My day" (``personal``): today's calls, the
follow-ups due, their conversion month to date. Registered in ``CallsConfig.ready``."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.calls import permissions, selectors
from telesales.calls.rules import callrules_for_person
from telesales.core.dashboard import Indicator, Period, status_for
from telesales.core.roles import Role, has_role
from telesales.org.selectors import person_for_user

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
            "Policies sold in the period, net of those cancelled in free look or declined "
            "(the sales results' count) ÷ leads with an answered call in it; the call report "
            "of the same days gives it per agent and team."
        ),
        url=f"{reverse('calls:report')}?{period.query()}",
        scope=_("Center") if permissions.sees_all_calls(user) else _("Your teams"),
        status=status_for(CONVERSION, value),
    )


ESCALATED = "calls.escalated"
ESCALATED_LABEL = gettext_lazy("Escalated follow-ups")


def escalated_indicator(*, user, period: Period) -> Indicator | None:
    """Overdue follow-ups escalated to the user (a team lead: their teams'; the manager and
    planner: all), still open now — not the period's: what is waiting today. The oldest is
    named; the link opens the board's list, where each can be reassigned or called."""
    if not permissions.can_view_board(user):
        return None
    waiting = selectors.escalated_followup_list(user=user)
    count = waiting.count()
    oldest = waiting.first() if count else None
    if oldest is None:
        help_text = _("No overdue follow-up is waiting for you.")
    else:
        help_text = _(
            "Overdue follow-ups of your agents, escalated to you: reassign or call them from "
            "the live board. The oldest was due %(due)s (%(agent)s)."
        ) % {
            "due": f"{timezone.localtime(oldest.due_at):%Y-%m-%d %H:%M}",
            "agent": oldest.agent.name,
        }
    return Indicator(
        key=ESCALATED,
        label=ESCALATED_LABEL,
        value=count,
        help_text=help_text,
        url=f"{reverse('calls:board')}#escalated",
        scope=_("Center") if permissions.sees_all_calls(user) else _("Your teams"),
        status=status_for(ESCALATED, count),
    )


# --- The agent's own cards on "My day" (registered with ``personal=True``) -----------------
MY_TODAY = "calls.my_today"
MY_TODAY_LABEL = gettext_lazy("My calls today")
MY_FOLLOWUPS = "calls.my_followups"
MY_FOLLOWUPS_LABEL = gettext_lazy("Follow-ups due")
MY_CONVERSION = "calls.my_conversion"
MY_CONVERSION_LABEL = gettext_lazy("My conversion")


def personal_visible(user) -> bool:
    return has_role(user, Role.AGENT) and person_for_user(user) is not None


def my_today_indicator(*, user, period: Period) -> Indicator | None:
    """Today's dials, with connects ÷ dials, talk time, effective calls and sales."""
    me = person_for_user(user)
    if me is None or not has_role(user, Role.AGENT):
        return None
    day = selectors.agent_day_figures(agent=me, day=period.until)
    return Indicator(
        key=MY_TODAY,
        label=MY_TODAY_LABEL,
        value=day["dials"],
        numerator=day["connects"],
        denominator=day["dials"],
        numerator_label=_("connected"),
        denominator_label=_("dials"),
        help_text=_(
            "%(day)s: talk time %(minutes)d min, effective calls: %(effective)d, sales: "
            "%(sales)d (¥%(premium)s)."
        )
        % {
            "minutes": day["talk_seconds"] // 60,
            "effective": day["effective"],
            "sales": day["sales"],
            "premium": f"{day['premium']:,.2f}",
            "day": period.until.isoformat(),
        },
        url=reverse("calls:workspace"),
    )


def my_followups_indicator(*, user, period: Period) -> Indicator | None:
    """Follow-ups due now (those already escalated to the team lead counted apart) and those
    still due later today."""
    me = person_for_user(user)
    if me is None or not has_role(user, Role.AGENT):
        return None
    now = timezone.now()
    counts = (
        selectors.followup_due_list(user=user, agent=me, until=now)
        .order_by()
        .aggregate(due=Count("id"), escalated=Count("id", filter=Q(escalated_at__isnull=False)))
    )
    later = (
        selectors.followup_day_list(user=user, day=timezone.localdate(now), agent=me)
        .filter(due_at__gt=now)
        .count()
    )
    hours = callrules_for_person(me, on=timezone.localdate(now)).overdue_escalate_hours
    return Indicator(
        key=MY_FOLLOWUPS,
        label=MY_FOLLOWUPS_LABEL,
        value=counts["due"],
        help_text=_(
            "%(escalated)d already escalated to your team lead (overdue more than %(hours)d "
            "calling hours); %(later)d more due later today. “Next lead” hands you the due "
            "ones first."
        )
        % {"escalated": counts["escalated"], "hours": hours, "later": later},
        url=reverse("calls:workspace"),
        status=status_for(MY_FOLLOWUPS, counts["escalated"]),
    )


def my_conversion_indicator(*, user, period: Period) -> Indicator | None:
    """The agent's own conversion over the period: their sales ÷ the leads they connected."""
    me = person_for_user(user)
    if me is None or not has_role(user, Role.AGENT):
        return None
    figures = selectors.conversion(
        user=user, since=period.since, until=period.until, agent_id=me.pk
    )
    sales, connected = figures["sales"], figures["leads_connected"]
    value = (Decimal(sales) * 100 / connected).quantize(Decimal("0.1")) if connected else None
    return Indicator(
        key=MY_CONVERSION,
        label=MY_CONVERSION_LABEL,
        value=value,
        unit="%",
        numerator=sales,
        denominator=connected,
        numerator_label=_("sales"),
        denominator_label=_("leads connected"),
        help_text=_("Your policies sold ÷ the leads you spoke with, month to date."),
        status=status_for(CONVERSION, value),
    )
