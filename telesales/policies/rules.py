"""Which stabilisation rule set is in force on a given day."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import pgettext_lazy

from telesales.core.rulesets import default_name, version_in_force
from telesales.policies.models import StabilisationRuleSet

#: The default version's name: stored in the center's language (``core.rulesets.default_name``).
DEFAULT_RULESET_NAME = pgettext_lazy("rule set name", "Default stabilisation rules")


def ruleset_in_force(*, on: dt.date | None = None) -> StabilisationRuleSet:
    """The latest active version effective on ``on``.

    When none exists yet, an unsaved rule set with the documented defaults is returned, so a
    fresh center works before the manager configures anything."""
    on = on or timezone.localdate()
    found = version_in_force(StabilisationRuleSet, on=on)
    return found or StabilisationRuleSet(name=str(DEFAULT_RULESET_NAME), effective_from=on)


def default_ruleset_ensure(**_kwargs) -> StabilisationRuleSet:
    """Bootstrap step: the default version, effective from 2000-01-01, once (idempotent)."""
    existing = StabilisationRuleSet.objects.order_by("effective_from", "id").first()
    if existing is not None:
        return existing
    return StabilisationRuleSet.objects.create(
        name=default_name(DEFAULT_RULESET_NAME), effective_from=dt.date(2000, 1, 1)
    )
