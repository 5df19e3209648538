"""Reads of compensation data, scoped to what the user may see."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from telesales.compensation import permissions
from telesales.compensation.choices import RuleSetStatus
from telesales.compensation.models import RuleSet


def ruleset_list(*, user) -> QuerySet[RuleSet]:
    """Every version, newest first, for the HR admin and the manager; nothing for others."""
    if not permissions.can_manage_rulesets(user):
        return RuleSet.objects.none()
    return RuleSet.objects.all()


def ruleset_in_force(*, on: dt.date) -> RuleSet | None:
    """The approved version in force on a day (pay runs use it for the period's last day)."""
    return (
        RuleSet.objects.filter(status=RuleSetStatus.APPROVED, effective_from__lte=on)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        .order_by("-effective_from")
        .first()
    )
