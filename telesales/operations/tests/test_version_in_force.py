"""Which version of a rule set is in force (``core.rulesets.version_in_force``), on two apps' rule
sets: the lead rules (with stages) and the operations rules (without); here because core's own
tests may not import the apps."""

from __future__ import annotations

import datetime as dt

import pytest

from telesales.core.rulesets import version_in_force
from telesales.leads.models import LeadRuleSet
from telesales.operations.models import OperationsRuleSet

pytestmark = pytest.mark.django_db

D = dt.date


def _lead_rules(name, start, stage="", active=True, **kw):
    return LeadRuleSet.objects.create(
        name=name, effective_from=start, stage=stage, is_active=active, **kw
    )


def test_the_stage_own_version_comes_before_the_stage_less_one():
    LeadRuleSet.objects.all().delete()
    general = _lead_rules("general", D(2026, 3, 1), daily_claim_limit=17)
    _lead_rules("general, older", D(2026, 1, 1))
    startup = _lead_rules("start-up", D(2026, 2, 1), stage="start_up")
    _lead_rules("start-up, not yet", D(2026, 7, 1), stage="start_up")
    _lead_rules("start-up, switched off", D(2026, 4, 1), stage="start_up", active=False)
    on = D(2026, 6, 1)
    assert version_in_force(LeadRuleSet, on=on, stage="start_up") == startup
    assert version_in_force(LeadRuleSet, on=on, stage="plateau") == general
    found = version_in_force(LeadRuleSet, on=on, stage="")
    assert found == general
    # Read with the model's types, as the ORM reads it.
    assert found.effective_from == D(2026, 3, 1) and found.daily_claim_limit == 17
    assert found.is_active is True
    # Effective on its first day, not the day before; the latest id wins a tie.
    assert version_in_force(LeadRuleSet, on=D(2026, 2, 28), stage="") != general
    twin = _lead_rules("general, same day", D(2026, 3, 1))
    assert version_in_force(LeadRuleSet, on=D(2026, 3, 1), stage="") == twin
    assert version_in_force(LeadRuleSet, on=D(2025, 12, 31), stage="") is None


def test_a_rule_set_without_stages():
    OperationsRuleSet.objects.all().delete()
    assert version_in_force(OperationsRuleSet, on=D(2026, 6, 1)) is None
    first = OperationsRuleSet.objects.create(name="a", effective_from=D(2026, 1, 1))
    second = OperationsRuleSet.objects.create(name="b", effective_from=D(2026, 5, 1))
    OperationsRuleSet.objects.create(name="c", effective_from=D(2026, 5, 2), is_active=False)
    assert version_in_force(OperationsRuleSet, on=D(2026, 6, 1)) == second
    assert version_in_force(OperationsRuleSet, on=D(2026, 4, 30)) == first
