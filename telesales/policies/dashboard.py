"""The policies app's cards on the role home pages (``telesales.core.dashboard``), over what
the user may see (the center for the manager, their teams for a team lead); registered in
``PoliciesConfig.ready``:

- **premium per seat** (每工位产能, DOMAIN.md §6): the annualised premium of the policies sold
  in the period and not cancelled (net of free-look cancellations, as the call reports count
  it) ÷ the occupied seats the user may see — the sales result against the seat resource;
- **stabilisation rate**: policies kept past the free-look window, as a percentage of the
  settled ones (kept + cancelled inside the window) (``selectors.stabilisation_rate``);
- the agent's own card on "My day" (``personal``): **my free-look cancellations** in the
  period, the latest named with its reason, and how many of their policies are still inside
  the window — so the seller hears of a cancellation without waiting for the payslip's
  clawback.

The cohort is not the dashboard's period (the month to date) but the policies issued in the
``COHORT_MONTHS`` calendar months before it: a policy issued this month is rarely settled yet,
and the ones that are settled early are the cancellations, so a month-to-date cohort would
show every center as badly stabilised."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from telesales.core.dashboard import Indicator, Period, status_for
from telesales.core.roles import Role, has_role
from telesales.org.choices import SeatStatus
from telesales.org.selectors import person_for_user, seat_list
from telesales.policies import permissions, selectors
from telesales.policies.choices import NOT_SOLD_STATUSES, PolicyStatus

PREMIUM_PER_SEAT = "policies.premium_per_seat"
PREMIUM_PER_SEAT_LABEL = gettext_lazy("Premium per seat")
STABILISATION_RATE = "policies.stabilisation_rate"
STABILISATION_RATE_LABEL = gettext_lazy("Stabilisation rate")
MY_FREE_LOOK = "policies.my_free_look"
MY_FREE_LOOK_LABEL = gettext_lazy("My free-look cancellations")
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
        # Not the dashboard's period: the card says which months it covers, next to its name.
        scope=_("%(who)s · issued %(since)s – %(until)s")
        % {
            "who": _("Center") if permissions.sees_all_policies(user) else _("Your teams"),
            "since": f"{issued.since:%Y-%m-%d}",
            "until": f"{issued.until:%Y-%m-%d}",
        },
        status=status_for(STABILISATION_RATE, value),
    )


def premium_per_seat_indicator(*, user, period: Period) -> Indicator | None:
    if not permissions.can_view_reports(user):
        return None
    sold = selectors.policy_list(user=user, since=period.since, until=period.until)
    premium = (
        sold.exclude(status__in=NOT_SOLD_STATUSES)
        .order_by()
        .aggregate(total=Sum("annualised_premium"))["total"]
    ) or Decimal(0)
    premium = Decimal(premium).quantize(Decimal("0.01"))
    seats = seat_list(user=user, status=SeatStatus.OCCUPIED).count()
    # To the fen, as the seats page shows it (QA: the card said 10,000, the seats page
    # ¥9,999.58 for the same 719,970 ÷ 72).
    value = (premium / seats).quantize(Decimal("0.01")) if seats else None
    return Indicator(
        key=PREMIUM_PER_SEAT,
        label=PREMIUM_PER_SEAT_LABEL,
        value=value,
        unit=_("yuan"),
        numerator=premium,
        denominator=seats,
        numerator_label=_("yuan premium"),
        denominator_label=_("occupied seats"),
        help_text=_(
            "Annualised premium of the policies sold in the period and not cancelled (net of "
            "free-look cancellations), per occupied seat."
        ),
        url=f"{reverse('policies:policy_list')}?{period.query()}",
        scope=_("Center") if permissions.sees_all_policies(user) else _("Your teams"),
        status=status_for(PREMIUM_PER_SEAT, value),
    )


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def my_free_look_indicator(*, user, period: Period) -> Indicator | None:
    """The agent's own policies cancelled inside the free-look window (犹豫期退保) in the
    period: how many, the latest with its reason, and how many are still inside the window."""
    me = person_for_user(user)
    if me is None or not has_role(user, Role.AGENT):
        return None
    mine = selectors.policy_list(user=user, agent_id=me.pk)
    cancelled = mine.filter(
        status=PolicyStatus.CANCELLED,
        cancelled_at__gte=_local_midnight(period.since),
        cancelled_at__lt=_local_midnight(period.until + dt.timedelta(days=1)),
    ).order_by("-cancelled_at", "-pk")
    count = cancelled.count()
    still_open = mine.filter(
        status__in=(PolicyStatus.ISSUED, PolicyStatus.RECEIPT_CONFIRMED),
        free_look_end__gte=timezone.localdate(),
    ).count()
    if still_open:
        keep = ngettext(
            "%(open)d of your policies is still inside its free-look window: the welcome and "
            "check-in calls keep it.",
            "%(open)d of your policies are still inside their free-look window: the welcome and "
            "check-in calls keep them.",
            still_open,
        ) % {"open": still_open}
    else:
        keep = _("None of your policies is inside its free-look window now.")
    latest = cancelled.first() if count else None
    if latest is None:
        help_text = _("None cancelled in this period.") + " " + keep
    else:
        help_text = (
            _("Latest: %(number)s (%(holder)s), cancelled on %(day)s — %(reason)s.")
            % {
                "number": latest.number,
                "holder": latest.holder.name,
                "day": f"{timezone.localdate(latest.cancelled_at):%Y-%m-%d}",
                "reason": latest.get_cancel_reason_display(),
            }
            + " "
            + keep
        )
    query = urlencode({"status": PolicyStatus.CANCELLED})
    return Indicator(
        key=MY_FREE_LOOK,
        label=MY_FREE_LOOK_LABEL,
        value=count,
        help_text=help_text,
        url=f"{reverse('policies:policy_list')}?{query}",
        status=status_for(MY_FREE_LOOK, count),
    )
