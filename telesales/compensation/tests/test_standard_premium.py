"""The standardised premium (标保, 折标): a product whose commission basis is ``standard`` has
FYC = annualised premium × the rule set's factor for the policy term × the product's
first-year commission rate (``standard_premium``, defaults/basic_law.yaml).

Worked example (hand-computed, docs/domains/compensation.md): Sam (S2) sells a regular-premium
life policy on a standard-basis product (FYC rate 30 %), 15-year term, annualised premium
¥10,000.00, on 2026-02-20:

    standardisation factor, term 15 (15–19 band)   0.80
    FYC = 10,000.00 × 0.80 × 0.30                  2,400.00
    commission rate (fyc.savings.regular, 10–19 years, S2)   0.30
    commission = 2,400.00 × 0.30                   720.00

The same policy on the first-year premium would have FYC 3,000.00 and commission 900.00.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from telesales.compensation.assessment_inputs import assessment_records
from telesales.compensation.engine import period_for
from telesales.compensation.payinputs import pay_inputs
from telesales.compensation.payrun import payrun_compute
from telesales.compensation.rules_format import policy_fyc, ruleset_parse
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH
from telesales.compensation.tests.payrun_world import FEB, at, policy_part
from telesales.compensation.tests.test_rules_format import BASE, ORG_LADDER, errors_of, one_error
from telesales.policies.choices import CommissionBasis, ProductCategory
from telesales.policies.tests.factories import ProductFactory

DEFAULT_TEXT = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def book():
    rules, _ = ruleset_parse(DEFAULT_TEXT)
    return rules


@pytest.mark.parametrize(
    ("term", "factor"),
    [
        (1, "0.10"),
        (2, "0.10"),
        (3, "0.20"),
        (9, "0.20"),
        (10, "0.60"),
        (14, "0.60"),
        (15, "0.80"),
        (19, "0.80"),
        (20, "1.00"),
        (30, "1.00"),
    ],
)
def test_the_default_factors_by_term(book, term, factor):
    assert book.standard_factor(category="life", term_years=term) == D(factor)
    assert policy_fyc(
        book,
        basis=CommissionBasis.STANDARD,
        premium=D("10000.00"),
        fyc_rate=D("0.3000"),
        category="life",
        term_years=term,
    ) == D("10000.00") * D(factor) * D("0.3000")


def test_the_first_year_premium_basis_ignores_the_factor(book):
    fyc = policy_fyc(
        book,
        basis=CommissionBasis.FYP,
        premium=D("10000.00"),
        fyc_rate=D("0.3000"),
        category="life",
        term_years=15,
    )
    assert fyc == D("3000.00")


def test_a_category_table_wins_over_the_table_without_categories():
    text = BASE + (
        "standard_premium:\n"
        "  id: std\n"
        "  tables:\n"
        "    - categories: [medical]\n"
        "      terms:\n"
        "        - {from: 1, to: null, factor: 0.5}\n"
        "    - terms:\n"
        "        - {from: 5, to: null, factor: 1}\n"
    )
    rules, _ = ruleset_parse(text, known_levels=ORG_LADDER)
    assert rules.standard_factor(category="medical", term_years=1) == D("0.5")
    assert rules.standard_factor(category="life", term_years=5) == D("1")
    # No band for a 4-year life policy: it cannot be valued.
    assert rules.standard_factor(category="life", term_years=4) is None
    assert (
        policy_fyc(
            rules,
            basis="standard",
            premium=D("100"),
            fyc_rate=D("0.3"),
            category="life",
            term_years=4,
        )
        is None
    )


def test_without_a_section_a_standard_policy_cannot_be_valued():
    rules, _ = ruleset_parse(BASE, known_levels=ORG_LADDER)
    assert rules.standard_factor(category="life", term_years=20) is None
    kwargs = {"premium": D("100"), "fyc_rate": D("0.3"), "category": "life", "term_years": 20}
    assert policy_fyc(rules, basis="standard", **kwargs) is None
    assert policy_fyc(rules, basis="fyp", **kwargs) == D("30.0")


# --- bad rule files ---------------------------------------------------------------------------

SECTION = """\
standard_premium:
  id: std
  tables:
    - categories: [medical, life]
      terms:
        - {from: 1, to: 10, factor: 0.2}
        - {from: 10, to: null, factor: 1}
"""  # lines 30-36 of BASE + SECTION


def test_the_section_is_valid():
    rules, _ = ruleset_parse(BASE + SECTION, known_levels=ORG_LADDER)
    assert rules.standard_factor(category="medical", term_years=10) == D("1")


def test_a_gap_between_term_bands_is_rejected():
    text = BASE + SECTION.replace(
        "{from: 10, to: null, factor: 1}", "{from: 12, to: null, factor: 1}"
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("standard_premium.tables[0].terms[1].from", 36)
    assert reason == "gap: starts at 12 but the previous band ends at 10"


def test_overlapping_term_bands_are_rejected():
    text = BASE + SECTION.replace(
        "{from: 10, to: null, factor: 1}", "{from: 8, to: null, factor: 1}"
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("standard_premium.tables[0].terms[1].from", 36)
    assert reason == "overlap: starts at 8 but the previous band runs to 10"


def test_a_negative_factor_is_rejected():
    text = BASE + SECTION.replace("factor: 0.2}", "factor: -0.2}")
    path, line, reason = one_error(text)
    assert (path, line) == ("standard_premium.tables[0].terms[0].factor", 35)
    assert reason == "must not be negative (-0.2)"


def test_a_factor_above_one_is_rejected():
    text = BASE + SECTION.replace("factor: 1}", "factor: 1.5}")
    path, line, reason = one_error(text)
    assert (path, line) == ("standard_premium.tables[0].terms[1].factor", 36)
    assert reason == "must be at most 1 (1.5)"


def test_an_unknown_category_is_rejected():
    text = BASE + SECTION.replace("[medical, life]", "[medical, lief]")
    path, line, reason = one_error(text)
    assert (path, line) == ("standard_premium.tables[0].categories[1]", 33)
    assert reason.startswith("unknown value 'lief'; expected one of: accident,")


def test_a_category_in_two_tables_is_rejected():
    text = (
        BASE
        + SECTION
        + ("    - categories: [life]\n      terms:\n        - {from: 1, to: null, factor: 1}\n")
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("standard_premium.tables[1].categories[0]", 37)
    assert reason == "overlap: standard_premium.tables[0] already lists life"


def test_two_tables_without_categories_are_rejected():
    text = BASE + (
        "standard_premium:\n"
        "  id: std\n"
        "  tables:\n"
        "    - terms:\n"
        "        - {from: 1, to: null, factor: 1}\n"
        "    - terms:\n"
        "        - {from: 1, to: null, factor: 0.5}\n"
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("standard_premium.tables[1]", 35)
    assert reason.startswith("overlap: standard_premium.tables[0] already has no categories")


def test_a_term_that_is_not_whole_years_is_rejected():
    text = BASE + SECTION.replace("to: 10, factor", "to: 10.5, factor").replace(
        "{from: 10, to: null", "{from: 10.5, to: null"
    )
    found = errors_of(text)
    assert found == [
        ("standard_premium.tables[0].terms[0]", 35, "terms are whole years"),
        ("standard_premium.tables[0].terms[1]", 36, "terms are whole years"),
    ]


def test_the_section_id_must_be_unique():
    text = BASE + SECTION.replace("  id: std", "  id: mgmt")
    path, _line, reason = one_error(text)
    assert path == "standard_premium.id"
    assert reason.startswith("duplicate rule id 'mgmt'")


# --- the pay run and the assessment value it the same way -------------------------------------


@pytest.fixture
def standard_sale(center):
    product = ProductFactory(
        category=ProductCategory.LIFE,
        commission_basis=CommissionBasis.STANDARD,
        first_year_commission_rate=D("0.3000"),
    )
    center.products["standard_life"] = product
    center.std = center.policy(center.sam, "standard_life", 15, "10000.00", at(2026, 2, 20))
    return center


def test_the_pay_run_pays_commission_on_the_standardised_premium(standard_sale):
    c = standard_sale
    run = payrun_compute(period_start=FEB, actor=c.hr)
    line, amount, basis = policy_part(run, c.std)
    assert basis == D("2400.00")
    assert line.rate == D("0.30")
    assert amount == D("720.00")
    assert line.person_id == c.sam.pk
    assert line.rule_id == "fyc.savings.regular"


def test_a_standard_policy_without_a_factor_is_a_listed_problem(standard_sale, book):
    c = standard_sale
    text = DEFAULT_TEXT.replace("        - {from: 15, to: 20, factor: 0.80}\n", "").replace(
        "{from: 20, to: null, factor: 1.00}", "{from: 16, to: null, factor: 1.00}"
    )
    text = text.replace("{from: 10, to: 15, factor: 0.60}", "{from: 10, to: 16, factor: 0.60}")
    rules, _ = ruleset_parse(text)
    assert rules.standard_factor(category="life", term_years=15) == D("0.60")
    text = text.replace("{from: 10, to: 16, factor: 0.60}", "{from: 10, to: 15, factor: 0.60}")
    text = text.replace("{from: 16, to: null", "{from: 15, to: null").replace(
        "  tables:\n    - terms:", "  tables:\n    - categories: [medical]\n      terms:"
    )
    rules, _ = ruleset_parse(text)
    period = period_for(rules, year=2026, month=2)
    inputs = pay_inputs(period, rules)
    record = f"policy:{c.std.pk}"
    reasons = [reason for r, reason in inputs.problems if r == record]
    assert reasons and "no standardisation factor for category life, term 15 years" in reasons[0]
    assert c.std.pk not in {p.id for p in inputs.policies}
    # Under the shipped rule set it is valued.
    valued = {p.id: p.fyc for p in pay_inputs(period, book).policies}
    assert valued[c.std.pk] == D("2400.00")


def test_the_assessment_counts_the_same_fyc(standard_sale, book):
    c = standard_sale
    _frame, records = assessment_records(book, year=2026, month=2)
    sam = next(r for r in records if r.id == c.sam.pk)
    # Sam's February: the FYP critical-illness policy (5,000 × 0.30) and the standard one.
    assert sam.months[0].fyc == D("1500.00") + D("2400.00")
    assert sam.months[0].cases == 2
