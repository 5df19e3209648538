"""Writes to the lead rule sets: every change is a NEW version with an effective date.

A rule set that is or was in force is never edited in place: the lead history, the recycling
decisions and the allocations made under it must stay explainable. ``ruleset_version_create``
copies the version it is based on, applies the changes, checks them (with a message per
field) and saves the result as a new row effective from the given day (today or later).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.audit import audit_record, model_snapshot
from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.model_updates import save_or_conflict, validate_instance
from telesales.leads import permissions
from telesales.leads.models import LeadRuleSet
from telesales.org.choices import TeamStage
from telesales.org.models import Level

#: The parameters a version carries (everything but its name, stage and effective date).
PARAMETER_FIELDS = (
    "default_private_cap",
    "private_cap_by_level",
    "daily_claim_limit",
    "protection_days",
    "protection_extend_days",
    "protection_max_days",
    "former_owner_bar_days",
    "recycle_warning_days",
    "recycle_no_dial_days",
    "recycle_no_connect_attempts",
    "recycle_no_connect_days",
    "recycle_no_followup_days",
    "recycle_on_owner_leaving",
    "daily_allocation_quota",
    "level_weights",
    "new_hire_weeks",
    "new_hire_ab_share",
    "dnc_days",
)
#: A refusal blocks calls for at least this many days (issue: "at least 180 days").
DNC_MIN_DAYS = 180
#: Upper bounds that keep a typo (an extra zero or three) from becoming a rule.
LIMITS = {
    "default_private_cap": 100_000,
    "daily_claim_limit": 10_000,
    "protection_days": 3650,
    "protection_extend_days": 3650,
    "protection_max_days": 3650,
    "former_owner_bar_days": 3650,
    "recycle_warning_days": 365,
    "recycle_no_dial_days": 3650,
    "recycle_no_connect_attempts": 1000,
    "recycle_no_connect_days": 3650,
    "recycle_no_followup_days": 3650,
    "daily_allocation_quota": 10_000,
    "new_hire_weeks": 520,
    "dnc_days": 36_500,
}
MAX_WEIGHT = Decimal("10")


def _level_codes() -> set[str]:
    return set(Level.objects.values_list("code", flat=True))


def _check_level_map(
    value: Any, *, name: str, codes: set[str], errors: dict, number
) -> dict[str, Any]:
    """A JSON object of level code → number; unknown codes and bad numbers are field errors."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        errors.setdefault(name, []).append(_('a JSON object such as {"S1": 300}'))
        return {}
    clean: dict[str, Any] = {}
    for code, raw in value.items():
        if str(code) not in codes:
            errors.setdefault(name, []).append(
                _("unknown level code %(code)s") % {"code": str(code)[:20]}
            )
            continue
        try:
            clean[str(code)] = number(raw)
        except ValueError as exc:
            errors.setdefault(name, []).append(f"{str(code)[:20]}: {exc}")
    return clean


def _cap(raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | str):
        raise ValueError(_("a whole number"))
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(_("a whole number")) from None
    if not 0 <= value <= LIMITS["default_private_cap"]:
        raise ValueError(_("between 0 and %(max)d") % {"max": LIMITS["default_private_cap"]})
    return value


def _weight(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ValueError(_("a number"))
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ValueError(_("a number")) from None
    if not value.is_finite() or not Decimal("0") < value <= MAX_WEIGHT:
        raise ValueError(_("more than 0 and at most %(max)s") % {"max": MAX_WEIGHT})
    return float(value)


@transaction.atomic
def ruleset_version_create(
    *,
    actor,
    name: str,
    effective_from: dt.date,
    stage: str = "",
    based_on: LeadRuleSet | None = None,
    reason: str = "",
    **parameters: Any,
) -> LeadRuleSet:
    """Save a new version of the lead rules, effective from ``effective_from`` (≥ today).

    Parameters not given are copied from ``based_on`` (or are the documented defaults).
    Raises ``ValidationFailed`` with a message for each field that breaks a rule.
    """
    if not permissions.can_manage_leads(actor):
        raise PermissionDenied(_("Only the data officer or the center manager may change rules"))
    unknown = sorted(set(parameters) - set(PARAMETER_FIELDS))
    if unknown:
        raise ValidationFailed(
            _("Unknown fields"), fields={n: [_("cannot be changed here")] for n in unknown}
        )
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("A name is required."))
    if stage and stage not in TeamStage.values:
        errors.setdefault("stage", []).append(_("Unknown life-cycle stage."))
    today = timezone.localdate()
    if not isinstance(effective_from, dt.date):
        errors.setdefault("effective_from", []).append(_("A date is required."))
    elif effective_from < today:
        errors.setdefault("effective_from", []).append(
            _(
                "Must be today (%(today)s) or later: the rules in force in the past stay as "
                "they were."
            )
            % {"today": today.isoformat()}
        )

    values = {f: getattr(based_on, f) for f in PARAMETER_FIELDS} if based_on else {}
    values.update(parameters)
    codes = _level_codes()
    if "private_cap_by_level" in values:
        values["private_cap_by_level"] = _check_level_map(
            values["private_cap_by_level"],
            name="private_cap_by_level",
            codes=codes,
            errors=errors,
            number=_cap,
        )
    if "level_weights" in values:
        values["level_weights"] = _check_level_map(
            values["level_weights"],
            name="level_weights",
            codes=codes,
            errors=errors,
            number=_weight,
        )
    for field, limit in LIMITS.items():
        value = values.get(field)
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            errors.setdefault(field, []).append(_("At most %(max)d.") % {"max": limit})

    ruleset = LeadRuleSet(
        name=name[:100],
        stage=stage or "",
        effective_from=effective_from if isinstance(effective_from, dt.date) else today,
        is_active=True,
        **values,
    )
    try:
        validate_instance(ruleset)
    except ValidationFailed as exc:
        for field, messages in exc.fields.items():
            errors.setdefault(field, []).extend(messages)
    days, max_days = ruleset.protection_days, ruleset.protection_max_days
    if isinstance(days, int) and isinstance(max_days, int) and max_days < days:
        errors.setdefault("protection_max_days", []).append(
            _("Must be at least the protection period (%(days)d days).") % {"days": days}
        )
    if isinstance(ruleset.dnc_days, int) and ruleset.dnc_days < DNC_MIN_DAYS:
        errors.setdefault("dnc_days", []).append(
            _("A refusal blocks calls for at least %(days)d days.") % {"days": DNC_MIN_DAYS}
        )
    if errors:
        # "__all__" from the model's own check constraints repeats what the fields say.
        if len(errors) > 1:
            errors.pop("__all__", None)
        raise ValidationFailed(_("The rule set is not valid"), fields=errors)
    save_or_conflict(ruleset)
    audit_record(
        actor=actor,
        action="leads.ruleset_create",
        instance=ruleset,
        before=model_snapshot(based_on) if based_on else None,
        after=model_snapshot(ruleset),
        reason=reason,
    )
    return ruleset
