"""Pay during an assessment extension (DOMAIN.md §3.2: the extra periods are paid "with FYC
and renewal commission at a discount"): ``extension_pay`` in the rule set; a person whose
latest approved assessment outcome is ``extend`` and whose extension covers the period has
their commission and renewal commission multiplied by its factors (a line modifier).

Worked example (hand-computed, default basic law: commission_factor 0.9, renewal_factor 0.9),
March 2026, Ann (S1) in an extension since 2026-01-01:

    medical policy, 1-year term, FYC 1,000.00; rate (fyc.protection, S1) 0.30
    commission = 1,000.00 × 0.30 × 0.9 = 1,000.00 × 0.27              270.00
    renewal premium 2,000.00, policy year 2 at 0.05, persistency 85 % → factor 1.0
    renewal commission = 2,000.00 × 0.05 × 1.0 × 0.9 = 2,000 × 0.045   90.00

Without the extension: 300.00 and 100.00.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from telesales.compensation.engine import (
    PersonExtra,
    PersonIn,
    PolicyIn,
    RenewalIn,
    compute_pay,
    period_for,
)
from telesales.compensation.models import (
    AssessmentOutcome,
    AssessmentRun,
    AssessmentRunStatus,
    HRDecision,
    RuleSet,
)
from telesales.compensation.payinputs import pay_inputs
from telesales.compensation.payrun import payrun_compute
from telesales.compensation.rules_format import ruleset_parse
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH
from telesales.compensation.tests.payrun_world import FEB, at, policy_part
from telesales.compensation.tests.test_rules_format import BASE, errors_of, one_error

d = dt.date
DEFAULT_TEXT = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def book():
    rules, _ = ruleset_parse(DEFAULT_TEXT)
    return rules


def ann(extension_since=None):
    return PersonIn(
        21,
        "S1",
        d(2025, 3, 1),
        attendance=(22, 22),
        extension_since=extension_since,
        extra=PersonExtra(
            persistency13=D("0.85"),
            renewals=(RenewalIn(900, 31, 2, D("2000.00"), d(2026, 3, 12)),),
        ),
    )


POLICY = PolicyIn(30, 21, "medical", 1, "annual", D("1000.00"), d(2026, 3, 9))


def lines_of(rules, person):
    period = period_for(rules, year=2026, month=3)
    lines = compute_pay(rules, version=1, period=period, people=[person], policies=[POLICY])
    return {line.kind: line for line in lines}


def test_the_extension_discounts_commission_and_renewals(book):
    lines = lines_of(book, ann(extension_since=d(2026, 1, 1)))
    commission = lines["commission"]
    assert (commission.rate, commission.amount) == (D("0.27"), D("270.00"))
    assert commission.modifiers == ("extension_pay.commission_factor",)
    renewal = lines["renewal_commission"]
    assert (renewal.rate, renewal.amount) == (D("0.045"), D("90.00"))
    assert renewal.modifiers == (
        "renewal_commission.persistency_factor",
        "extension_pay.renewal_factor",
    )
    assert "2026-01-01" in renewal.note
    # Base pay is not discounted.
    assert lines["base_pay"].amount == D("3500.00")


def test_without_an_extension_nothing_is_discounted(book):
    lines = lines_of(book, ann())
    assert lines["commission"].amount == D("300.00") and lines["commission"].modifiers == ()
    assert lines["renewal_commission"].amount == D("100.00")


def test_a_rule_set_without_extension_pay_pays_the_extension_in_full():
    text = DEFAULT_TEXT[: DEFAULT_TEXT.index("# Pay during an assessment extension")]
    rules, _ = ruleset_parse(text)
    lines = lines_of(rules, ann(extension_since=d(2026, 1, 1)))
    assert lines["commission"].amount == D("300.00")
    assert lines["renewal_commission"].amount == D("100.00")


def test_the_trainee_factor_and_the_extension_multiply(book):
    tina = PersonIn(11, "T0", d(2025, 12, 1), attendance=(22, 22), extension_since=d(2026, 3, 1))
    policy = PolicyIn(40, 11, "medical", 1, "annual", D("1000.00"), d(2026, 3, 9))
    period = period_for(book, year=2026, month=3)
    (line,) = [
        x
        for x in compute_pay(book, version=1, period=period, people=[tina], policies=[policy])
        if x.kind == "commission"
    ]
    # 0.30 × 0.8 × 0.9 = 0.216 → 216.00
    assert (line.rate, line.amount) == (D("0.216"), D("216.00"))
    assert line.modifiers == ("trainee_factor", "extension_pay.commission_factor")


# --- bad rule files ---------------------------------------------------------------------------

SECTION = "extension_pay:\n  id: ext\n  commission_factor: 0.9\n  renewal_factor: 0.9\n"


def test_the_section_is_valid():
    rules, _ = ruleset_parse(BASE + SECTION)
    assert rules.section("extension_pay")["commission_factor"] == D("0.9")


def test_a_negative_factor_is_rejected():
    path, line, reason = one_error(
        BASE + SECTION.replace("renewal_factor: 0.9", "renewal_factor: -1")
    )
    assert (path, line) == ("extension_pay.renewal_factor", 33)
    assert reason == "must not be negative (-1)"


def test_a_factor_above_one_is_rejected():
    path, line, reason = one_error(
        BASE + SECTION.replace("commission_factor: 0.9", "commission_factor: 1.2")
    )
    assert (path, line) == ("extension_pay.commission_factor", 32)
    assert reason == "must be at most 1 (1.2)"


def test_an_unknown_key_is_rejected():
    found = errors_of(BASE + SECTION.replace("  renewal_factor: 0.9\n", "  renewal_factr: 0.9\n"))
    assert found[0][:2] == ("extension_pay.renewal_factr", 33)
    assert found[0][2].startswith("unknown key 'renewal_factr'; expected one of: id,")


def test_a_missing_key_is_rejected():
    path, line, reason = one_error(BASE + SECTION.replace("  renewal_factor: 0.9\n", ""))
    assert (path, line) == ("extension_pay", 30)
    assert reason == "missing key 'renewal_factor'"


# --- from the database ------------------------------------------------------------------------


def approved_extension(center, person, *, label, period_end, effective):
    ruleset = RuleSet.objects.get()
    run = AssessmentRun.objects.create(
        label=label,
        period_end=period_end,
        ruleset=ruleset,
        ruleset_version=ruleset.version,
        status=AssessmentRunStatus.APPROVED,
        run_count=1,
        computed_at=timezone.now(),
        approved_at=timezone.now(),
    )
    return AssessmentOutcome.objects.create(
        run=run,
        person=person,
        from_level=person.level,
        outcome="extend",
        to_level=person.level,
        effective_date=effective,
        decision=HRDecision.APPROVED,
        decided_at=timezone.now(),
    )


def test_the_pay_run_discounts_the_commission_of_a_person_in_an_extension(center):
    """Ann (S1, assessed quarterly) was extended effective 2026-01-01: the extension covers
    January to March. Her February accident policy, premium 1,000.00, FYC 300.00, pays
    300.00 × 0.30 × 0.9 = 81.00."""
    c = center
    approved_extension(
        c, c.ann, label="2025-12", period_end=d(2025, 12, 31), effective=d(2026, 1, 1)
    )
    anns = c.policy(c.ann, "accident", 1, "1000.00", at(2026, 2, 10))
    run = payrun_compute(period_start=FEB, actor=c.hr)
    line, amount, basis = policy_part(run, anns)
    assert (basis, line.rate, amount) == (D("300.00"), D("0.27"), D("81.00"))
    assert line.modifiers == ["extension_pay.commission_factor"]
    # Sam, not in an extension, is paid in full: 5,000 × 0.30 FYC × 0.30 (critical illness,
    # 20 years, S2 at 0.40) → 1,500.00 × 0.40 = 600.00.
    sams, amount, _basis = policy_part(run, c.sams)
    assert sams.modifiers == [] and amount == D("600.00")


def test_the_extension_covers_one_assessment_period_and_a_later_outcome_ends_it(center, book):
    c = center
    approved_extension(
        c, c.ann, label="2025-12", period_end=d(2025, 12, 31), effective=d(2026, 1, 1)
    )

    def since(month):
        period = period_for(book, year=2026, month=month)
        people = {p.id: p for p in pay_inputs(period, book).people}
        return people[c.ann.pk].extension_since

    assert since(1) == d(2026, 1, 1)
    assert since(3) == d(2026, 1, 1)
    assert since(4) is None  # a quarter: January to March
    # A later approved outcome (maintain) ends it.
    outcome = approved_extension(
        c, c.ann, label="2026-01", period_end=d(2026, 1, 31), effective=d(2026, 2, 1)
    )
    AssessmentOutcome.objects.filter(pk=outcome.pk).update(outcome="maintain")
    assert since(1) == d(2026, 1, 1)
    assert since(2) is None
