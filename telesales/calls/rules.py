"""Which call rule set is in force for a team or an agent on a given day."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import pgettext_lazy

from telesales.calls.models import CallRuleSet
from telesales.core.rulesets import version_in_force

#: The default version's name: stored in the center's language (``core.rulesets.default_name``).
DEFAULT_CALLRULES_NAME = pgettext_lazy("rule set name", "Default call rules")


def callrules_in_force(*, stage: str = "", on: dt.date | None = None) -> CallRuleSet:
    """The latest active call rule set effective on ``on`` for ``stage`` (else the stage-less
    one). With none at all, an unsaved rule set with the documented defaults."""
    on = on or timezone.localdate()
    found = version_in_force(CallRuleSet, on=on, stage=stage)
    return found or CallRuleSet(name=str(DEFAULT_CALLRULES_NAME), effective_from=on)


def callrules_for_person(person, *, on: dt.date | None = None) -> CallRuleSet:
    return callrules_in_force(stage=person.team.stage if person.team_id else "", on=on)
