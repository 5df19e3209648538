"""Which lead rule set is in force for a team or an agent on a given day."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import pgettext_lazy

from telesales.core.rulesets import version_in_force
from telesales.leads.models import LeadRuleSet

#: The name of the documented defaults (unsaved, shown in the reader's language).
DEFAULT_RULESET_NAME = pgettext_lazy("rule set name", "Default rules")


def ruleset_in_force(*, stage: str = "", on: dt.date | None = None) -> LeadRuleSet:
    """The latest active rule set effective on ``on`` for ``stage`` (or the stage-less one).

    When none exists yet, an unsaved rule set with the documented defaults is returned, so a
    fresh center works before the data officer configures anything.
    """
    on = on or timezone.localdate()
    found = version_in_force(LeadRuleSet, on=on, stage=stage)
    return found or LeadRuleSet(name=str(DEFAULT_RULESET_NAME), effective_from=on)


def ruleset_for_person(person, *, on: dt.date | None = None) -> LeadRuleSet:
    return ruleset_in_force(stage=person.team.stage if person.team_id else "", on=on)
