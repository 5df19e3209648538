"""Writes to the SLA targets: every change is a NEW version with an effective date.

A version that is or was in force is never edited: the due times of the tickets opened under
it must stay explainable (each ticket keeps the version it used). ``sla_ruleset_create``
copies the version it is based on (or the documented defaults), applies the changed targets,
checks them with a message per field, and saves a new version effective from today or later.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.tickets import permissions
from telesales.tickets.choices import TicketKind, TicketPriority
from telesales.tickets.models import (
    MAX_MANAGER_HOURS,
    MAX_TARGET_HOURS,
    SlaRuleSet,
    SlaTarget,
)
from telesales.tickets.rules import manager_escalation_hours as manager_hours_of
from telesales.tickets.rules import target_matrix


def field_name(kind: str, priority: str, which: str) -> str:
    """The name of one target in forms and error messages: ``complaint__urgent__response``."""
    return f"{kind}__{priority}__{which}"


def _hours(value: Any, *, name: str, errors: dict, maximum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors.setdefault(name, []).append(_("A whole number of hours."))
        return None
    try:
        number = int(value)
    except ValueError:
        errors.setdefault(name, []).append(_("A whole number of hours."))
        return None
    if not 1 <= number <= maximum:
        errors.setdefault(name, []).append(_("From 1 to %(max)d hours.") % {"max": maximum})
        return None
    return number


@transaction.atomic
def sla_ruleset_create(
    *,
    actor,
    name: str,
    effective_from: dt.date,
    targets: dict[str, dict[str, dict[str, Any]]] | None = None,
    manager_escalation_hours: Any = None,
    based_on: SlaRuleSet | None = None,
    reason: str = "",
) -> SlaRuleSet:
    """Save a new version of the SLA targets, effective from ``effective_from`` (≥ today).

    ``targets`` maps kind → priority → ``{"response_hours": n, "resolution_hours": m}``;
    whatever is not given is copied from ``based_on`` (or the defaults). The resolution target
    may not be shorter than the first-response target."""
    if not permissions.can_manage_sla_rules(actor):
        raise PermissionDenied(_("Only the center manager may change the service targets"))
    errors: dict[str, list[str]] = {}
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        errors.setdefault("name", []).append(_("A name is required."))
    elif "\x00" in name or len(name) > 100:
        errors.setdefault("name", []).append(_("At most 100 characters, no NUL characters."))
    today = timezone.localdate()
    if not isinstance(effective_from, dt.date) or isinstance(effective_from, dt.datetime):
        errors.setdefault("effective_from", []).append(_("A date is required."))
        effective_from = today
    elif effective_from < today:
        errors.setdefault("effective_from", []).append(
            _("Must be today (%(today)s) or later: past targets stay as they were.")
            % {"today": today.isoformat()}
        )
    manager_hours = manager_hours_of(based_on)
    if manager_escalation_hours not in (None, ""):
        manager_hours = _hours(
            manager_escalation_hours,
            name="manager_escalation_hours",
            errors=errors,
            maximum=MAX_MANAGER_HOURS,
        )
    matrix = target_matrix(based_on)
    targets = targets or {}
    if not isinstance(targets, dict):
        errors.setdefault("targets", []).append(_("An object: kind → priority → hours."))
        targets = {}
    for kind, by_priority in targets.items():
        if kind not in TicketKind.values:
            errors.setdefault("targets", []).append(
                _("Unknown kind %(kind)s.") % {"kind": str(kind)[:30]}
            )
            continue
        if not isinstance(by_priority, dict):
            errors.setdefault("targets", []).append(
                _("%(kind)s: an object of priorities.") % {"kind": kind}
            )
            continue
        for priority, hours in by_priority.items():
            if priority not in TicketPriority.values:
                errors.setdefault("targets", []).append(
                    _("Unknown priority %(priority)s.") % {"priority": str(priority)[:30]}
                )
                continue
            if not isinstance(hours, dict):
                errors.setdefault("targets", []).append(
                    _("%(kind)s/%(priority)s: response_hours and resolution_hours.")
                    % {"kind": kind, "priority": priority}
                )
                continue
            unknown = set(hours) - {"response_hours", "resolution_hours"}
            if unknown:
                errors.setdefault("targets", []).append(
                    _("Unknown fields: %(names)s.")
                    % {"names": ", ".join(sorted(map(str, unknown)))}
                )
            response, resolution = matrix[(kind, priority)]
            if "response_hours" in hours:
                response = _hours(
                    hours["response_hours"],
                    name=field_name(kind, priority, "response"),
                    errors=errors,
                    maximum=MAX_TARGET_HOURS,
                )
            if "resolution_hours" in hours:
                resolution = _hours(
                    hours["resolution_hours"],
                    name=field_name(kind, priority, "resolution"),
                    errors=errors,
                    maximum=MAX_TARGET_HOURS,
                )
            matrix[(kind, priority)] = (response, resolution)
    for (kind, priority), (response, resolution) in matrix.items():
        if response is not None and resolution is not None and resolution < response:
            errors.setdefault(field_name(kind, priority, "resolution"), []).append(
                _("Cannot be shorter than the first-response target (%(hours)d hours).")
                % {"hours": response}
            )
    if errors:
        raise ValidationFailed(_("The service targets are not valid"), fields=errors)
    ruleset = SlaRuleSet.objects.create(
        name=name,
        effective_from=effective_from,
        manager_escalation_hours=manager_hours,
        created_by=user_or_none(actor),
    )
    SlaTarget.objects.bulk_create(
        SlaTarget(
            ruleset=ruleset,
            kind=kind,
            priority=priority,
            response_hours=response,
            resolution_hours=resolution,
        )
        for (kind, priority), (response, resolution) in matrix.items()
    )
    audit_record(
        actor=actor,
        action="tickets.sla_ruleset_create",
        instance=ruleset,
        after={
            "effective_from": effective_from,
            "manager_escalation_hours": manager_hours,
            "based_on": based_on.pk if based_on else None,
            "targets": {f"{k}/{p}": list(v) for (k, p), v in matrix.items()},
        },
        reason=reason,
    )
    return ruleset
