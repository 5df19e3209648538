"""Which operations rule set is in force on a day, and what it says about a policy."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import pgettext_lazy

from telesales.core.rulesets import default_name, version_in_force
from telesales.operations.models import OperationsRuleSet

#: The default version's name: stored in the center's language (``core.rulesets.default_name``).
DEFAULT_RULESET_NAME = pgettext_lazy("rule set name", "Default operations rules")


def ruleset_in_force(*, on: dt.date | None = None) -> OperationsRuleSet:
    """The latest active version effective on ``on``.

    When none exists yet, an unsaved rule set with the documented defaults is returned, so a
    fresh center works before the manager configures anything."""
    on = on or timezone.localdate()
    found = version_in_force(OperationsRuleSet, on=on)
    return found or OperationsRuleSet(name=str(DEFAULT_RULESET_NAME), effective_from=on)


def default_ruleset_ensure(**_kwargs) -> OperationsRuleSet:
    """Bootstrap step: the default version, effective from 2000-01-01, once (idempotent)."""
    existing = OperationsRuleSet.objects.order_by("effective_from", "id").first()
    if existing is not None:
        return existing
    return OperationsRuleSet.objects.create(
        name=default_name(DEFAULT_RULESET_NAME), effective_from=dt.date(2000, 1, 1)
    )


def return_visit_required(*, product_code: str, category: str, rules: OperationsRuleSet) -> bool:
    """A policy of this product needs a return visit: its code is listed, or its category is
    and the product is not excluded."""
    if product_code in (rules.return_visit_excluded_products or []):
        return False
    if product_code in (rules.return_visit_products or []):
        return True
    return category in (rules.return_visit_categories or [])
