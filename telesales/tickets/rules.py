"""Which SLA targets apply to a ticket, and when its targets fall due.

The targets are data (``SlaRuleSet`` versions with an effective date, one ``SlaTarget`` per
kind and priority). The version in force on the local day a ticket is opened gives its
targets; the ticket keeps the version it used, so later versions never change an open
ticket's due times.

**Calendar hours.** A target of 24 hours opened on Friday at 17:00 falls due on Saturday at
17:00: nights, weekends and public holidays count. Working-hour calendars are not modelled;
a center that wants them sets longer targets. (DOMAIN.md §8 R7 counts the regulator's 12321
deadlines in working days: 3 working days to forward, 15 to answer; the default complaint
targets stay well inside both.)

Before the first version exists (a fresh center before ``telesales bootstrap``), the
documented defaults below apply.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import pgettext_lazy

from telesales.core.rulesets import default_name
from telesales.tickets.choices import TicketKind, TicketPriority
from telesales.tickets.models import SlaRuleSet, SlaTarget

#: The default version's name: stored in the center's language (``core.rulesets.default_name``).
DEFAULT_RULESET_NAME = pgettext_lazy("rule set name", "Default service targets")
DEFAULT_MANAGER_ESCALATION_HOURS = 24

K, P = TicketKind, TicketPriority
#: (kind, priority) → (first response hours, resolution hours), calendar hours.
DEFAULT_TARGETS: dict[tuple[str, str], tuple[int, int]] = {
    (K.COMPLAINT, P.URGENT): (2, 24),
    (K.COMPLAINT, P.HIGH): (4, 48),
    (K.COMPLAINT, P.NORMAL): (8, 72),
    (K.COMPLAINT, P.LOW): (24, 120),
    (K.POLICY_CHANGE, P.URGENT): (4, 24),
    (K.POLICY_CHANGE, P.HIGH): (8, 48),
    (K.POLICY_CHANGE, P.NORMAL): (24, 120),
    (K.POLICY_CHANGE, P.LOW): (48, 240),
    (K.CLAIM_HELP, P.URGENT): (2, 24),
    (K.CLAIM_HELP, P.HIGH): (4, 48),
    (K.CLAIM_HELP, P.NORMAL): (8, 96),
    (K.CLAIM_HELP, P.LOW): (24, 168),
    (K.CANCELLATION, P.URGENT): (2, 24),
    (K.CANCELLATION, P.HIGH): (4, 48),
    (K.CANCELLATION, P.NORMAL): (8, 72),
    (K.CANCELLATION, P.LOW): (24, 120),
    (K.OTHER, P.URGENT): (4, 48),
    (K.OTHER, P.HIGH): (8, 72),
    (K.OTHER, P.NORMAL): (24, 120),
    (K.OTHER, P.LOW): (48, 240),
}
del K, P


@dataclass(frozen=True)
class Targets:
    response_hours: int
    resolution_hours: int
    manager_escalation_hours: int
    ruleset: SlaRuleSet | None


def ruleset_in_force(*, on: dt.date | None = None) -> SlaRuleSet | None:
    """The latest active version effective on ``on`` (a local date); None before the first."""
    on = on or timezone.localdate()
    return (
        SlaRuleSet.objects.filter(is_active=True, effective_from__lte=on)
        .order_by("-effective_from", "-id")
        .first()
    )


def targets_of(ruleset: SlaRuleSet | None, *, kind: str, priority: str) -> Targets:
    """The targets of one kind and priority in ``ruleset`` (the defaults when it has none)."""
    row = None
    if ruleset is not None:
        row = SlaTarget.objects.filter(ruleset=ruleset, kind=kind, priority=priority).first()
    if row is not None:
        response, resolution = row.response_hours, row.resolution_hours
    else:
        response, resolution = DEFAULT_TARGETS[(kind, priority)]
    manager = ruleset.manager_escalation_hours if ruleset else DEFAULT_MANAGER_ESCALATION_HOURS
    return Targets(response, resolution, manager, ruleset)


def targets_for(*, kind: str, priority: str, opened_at: dt.datetime) -> Targets:
    """The targets of a ticket opened at ``opened_at``: the version in force that local day."""
    return targets_of(
        ruleset_in_force(on=timezone.localdate(opened_at)), kind=kind, priority=priority
    )


def due_times(*, opened_at: dt.datetime, targets: Targets) -> tuple[dt.datetime, dt.datetime]:
    """(first response due, resolution due): the opening time plus calendar hours."""
    return (
        opened_at + dt.timedelta(hours=targets.response_hours),
        opened_at + dt.timedelta(hours=targets.resolution_hours),
    )


def manager_escalation_hours(ruleset: SlaRuleSet | None) -> int:
    return ruleset.manager_escalation_hours if ruleset else DEFAULT_MANAGER_ESCALATION_HOURS


def target_matrix(ruleset: SlaRuleSet | None) -> dict[tuple[str, str], tuple[int, int]]:
    """Every (kind, priority) → (response, resolution) of a version (defaults fill gaps)."""
    matrix = dict(DEFAULT_TARGETS)
    if ruleset is not None and ruleset.pk:
        for row in ruleset.targets.all():
            matrix[(row.kind, row.priority)] = (row.response_hours, row.resolution_hours)
    return matrix


def default_ruleset_ensure(**_kwargs) -> SlaRuleSet:
    """Bootstrap step: the default version (effective 2000-01-01) with every target, once."""
    existing = SlaRuleSet.objects.order_by("effective_from", "id").first()
    if existing is not None:
        return existing
    ruleset = SlaRuleSet.objects.create(
        name=default_name(DEFAULT_RULESET_NAME),
        effective_from=dt.date(2000, 1, 1),
        manager_escalation_hours=DEFAULT_MANAGER_ESCALATION_HOURS,
    )
    SlaTarget.objects.bulk_create(
        SlaTarget(
            ruleset=ruleset,
            kind=kind,
            priority=priority,
            response_hours=response,
            resolution_hours=resolution,
        )
        for (kind, priority), (response, resolution) in DEFAULT_TARGETS.items()
    )
    return ruleset
