"""The development chain (育成) from the data: an approved promotion from the sales into the
management series records who developed the new group (the person's leader, when a manager)
and when; the pay run reads it and pays the development bonus.

Worked example (hand-computed, default basic law, February 2026): Kai (M1, leading Ann) was
developed by Lee (M1) on 2025-10-01. Ann (S1) sells an accident policy, 1-year term,
annualised premium ¥1,000.00, FYC rate 30 %: FYC 300.00. Kai's group FYC (Kai's own + Ann's)
is 300.00; Lee is Kai's 1st generation, the group is 4 months old (< 12): 10 %.

    Lee's development bonus = 300.00 × 0.10 = 30.00
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from telesales.compensation.assessing import assessment_run_approve
from telesales.compensation.models import (
    AssessmentOutcome,
    AssessmentRun,
    AssessmentRunStatus,
    HRDecision,
    PayLine,
    RuleSet,
)
from telesales.compensation.payrun import payrun_compute
from telesales.compensation.tests.payrun_world import FEB, at
from telesales.core.models import AuditEntry
from telesales.org.choices import PersonStatus
from telesales.org.models import Person
from telesales.org.services import person_update

EFFECTIVE = dt.date(2026, 4, 1)


def draft_run(center, rows):
    """A computed draft assessment run of 2026-03 whose outcomes HR approved:
    ``rows`` = [(person, from level, outcome, to level)]."""
    ruleset = RuleSet.objects.get()
    run = AssessmentRun.objects.create(
        label="2026-03",
        period_end=dt.date(2026, 3, 31),
        ruleset=ruleset,
        ruleset_version=ruleset.version,
        status=AssessmentRunStatus.DRAFT,
        run_count=1,
        computed_at=timezone.now(),
    )
    for person, from_level, outcome, to_level in rows:
        AssessmentOutcome.objects.create(
            run=run,
            person=person,
            from_level=center.levels[from_level],
            outcome=outcome,
            to_level=center.levels[to_level] if to_level else None,
            effective_date=EFFECTIVE,
            decision=HRDecision.APPROVED,
            decided_at=timezone.now(),
        )
    return run


def test_a_promotion_into_management_records_the_leader_as_developer(center):
    c = center
    Person.objects.filter(pk=c.sam.pk).update(level=c.levels["S3"])
    run = draft_run(c, [(c.sam, "S3", "promote", "M1"), (c.tina, "T0", "promote", "S1")])
    assessment_run_approve(run=run, actor=c.hr)
    sam, tina = Person.objects.get(pk=c.sam.pk), Person.objects.get(pk=c.tina.pk)
    assert sam.level.code == "M1"
    assert (sam.developed_by_id, sam.developed_on) == (c.lee.pk, EFFECTIVE)
    # A promotion inside the sales series develops no group.
    assert tina.level.code == "S1" and tina.developed_by_id is None
    entry = AuditEntry.objects.filter(action="org.person_update", object_id=str(c.sam.pk)).latest(
        "id"
    )
    assert entry.before["developed_by"] is None
    assert entry.after["developed_by"] == c.lee.pk
    assert entry.after["developed_on"] == "2026-04-01"


def test_a_leader_outside_the_management_series_records_no_developer(center):
    c = center
    Person.objects.filter(pk=c.sam.pk).update(level=c.levels["S3"])
    Person.objects.filter(pk=c.lee.pk).update(level=c.levels["S3"])
    run = draft_run(c, [(c.sam, "S3", "promote", "M1")])
    assessment_run_approve(run=run, actor=c.hr)
    sam = Person.objects.get(pk=c.sam.pk)
    assert sam.level.code == "M1" and sam.developed_by_id is None


@pytest.fixture
def developed(center):
    c = center
    person_update(person=c.kai, actor=c.hr, developed_by=c.lee, developed_on=dt.date(2025, 10, 1))
    c.anns = c.policy(c.ann, "accident", 1, "1000.00", at(2026, 2, 10))
    return c


def test_the_pay_run_pays_the_development_bonus_of_the_first_generation(developed):
    c = developed
    run = payrun_compute(period_start=FEB, actor=c.hr)
    (line,) = PayLine.objects.filter(run=run, kind="development_bonus")
    assert line.person_id == c.lee.pk
    assert line.rule_id == "development_bonus"
    assert line.basis == D("300.00")
    assert line.rate == D("0.10")
    assert line.amount == D("30.00")
    # The group's members; each member's policies are on their own commission lines.
    assert f"person:{c.kai.pk}" in line.sources and f"policy:{c.anns.pk}" not in line.sources
    assert "2025-10-01" in line.note  # "generation 1, group of person:… developed on …"


def test_a_developer_who_is_not_paid_in_the_run_is_left_out(developed):
    c = developed
    Person.objects.filter(pk=c.lee.pk).update(
        status=PersonStatus.LEFT, left_on=dt.date(2026, 1, 31)
    )
    run = payrun_compute(period_start=FEB, actor=c.hr)
    assert not PayLine.objects.filter(run=run, kind="development_bonus").exists()
