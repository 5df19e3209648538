"""The compensation app's card on the agent's "My day" page (``telesales.core.dashboard``,
``personal``): their promotion early warning on the last day of the period given (today, on
the page) — the days left in the assessment period, what maintenance and the next level still
need, and a status from the maintenance flag (met or on track: good; at risk: watch; failing:
act), named as the early-warning page names it ("At risk", not the generic "Watch").
Registered in ``CompensationConfig.ready``."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from telesales.compensation.assessment import AT_RISK, FAILING, MET, ON_TRACK
from telesales.compensation.selectors import early_warning_list
from telesales.core.dashboard import BAD, GOOD, WARN, Indicator, Period
from telesales.core.roles import Role, has_role
from telesales.org.selectors import person_for_user

MY_WARNING = "compensation.my_warning"
MY_WARNING_LABEL = gettext_lazy("My promotion early warning")
_STATUS = {MET: GOOD, ON_TRACK: GOOD, AT_RISK: WARN, FAILING: BAD}
#: The flag's words on the early-warning page (compensation/warning_flag.html).
_FLAG_LABEL = {
    MET: gettext_lazy("Met"),
    ON_TRACK: gettext_lazy("On track"),
    AT_RISK: gettext_lazy("At risk"),
    FAILING: gettext_lazy("Failing"),
}


def personal_visible(user) -> bool:
    return has_role(user, Role.AGENT) and person_for_user(user) is not None


def my_warning_indicator(*, user, period: Period) -> Indicator | None:
    me = person_for_user(user)
    if me is None:
        return None
    rows = early_warning_list(user=user, day=period.until, person_id=me.pk)
    if not rows:
        return None
    row = rows[0]
    parts = []
    if "maintain" in row:
        parts.append(_("Keep %(level)s: %(summary)s") % {"level": row["level"], **row["maintain"]})
    if "promote" in row:
        parts.append(
            _("%(level)s: %(summary)s")
            % {"level": row["promote"].get("to_level") or "—", **row["promote"]}
        )
    flag = (row.get("maintain") or row.get("promote") or {}).get("flag")
    return Indicator(
        key=MY_WARNING,
        label=MY_WARNING_LABEL,
        value=row["days_left"],
        unit=ngettext("day left in the period", "days left in the period", row["days_left"]),
        help_text=pgettext("between two parts of a note", "; ").join(parts),
        url=reverse("compensation:warning_list"),
        scope=_("until %(end)s") % {"end": row["period_end"]},
        status=_STATUS.get(flag),
        status_label=_FLAG_LABEL.get(flag, ""),
    )
