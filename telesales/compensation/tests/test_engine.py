"""Golden tests of the pay calculation core: payslips computed by hand from the default basic
law (defaults/basic_law.yaml) and matched to the cent. The same worked examples, with the same
numbers, are in docs/domains/compensation.md ("Worked examples").

The center for March 2026 (a calendar month, 2026-03-01 to 2026-03-31):

    Mia   person:1   M2 manager; developed Lee's group on 2024-01-01
    ├── Lee   person:10  M1 team lead, 21 of 22 days      (developer: Mia)
    │   ├── Tina  person:11  T0 trainee, 20 of 22 days
    │   └── Sam   person:12  S2 senior agent, 22 of 22 days
    └── Kai   person:20  M1 team lead; his group was developed by Lee on 2025-10-01
        └── Ann   person:21  S1 agent

The development chain is Kai → Lee → Mia: Lee is Kai's 1st generation, Mia his 2nd.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal as D

import pytest

from telesales.compensation.engine import (
    PayInputInvalid,
    PersonIn,
    PolicyIn,
    cents,
    compute_pay,
    months_between,
    payslip_totals,
    period_for,
)
from telesales.compensation.notes import note_text
from telesales.compensation.rules_format import ruleset_parse
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH

d = dt.date
VERSION = 7


@pytest.fixture(scope="module")
def book():
    rules, _ = ruleset_parse(DEFAULT_RULESET_PATH.read_text(encoding="utf-8"))
    return rules


def center_people() -> list[PersonIn]:
    return [
        PersonIn(1, "M2", d(2020, 1, 1), attendance=(22, 22)),
        PersonIn(
            10,
            "M1",
            d(2022, 5, 1),
            leader_id=1,
            developer_id=1,
            developed_on=d(2024, 1, 1),
            attendance=(21, 22),
        ),
        PersonIn(11, "T0", d(2026, 2, 2), leader_id=10, attendance=(20, 22)),
        PersonIn(12, "S2", d(2021, 3, 1), leader_id=10, attendance=(22, 22)),
        PersonIn(
            20,
            "M1",
            d(2023, 4, 1),
            leader_id=1,
            developer_id=10,
            developed_on=d(2025, 10, 1),
            attendance=(22, 22),
        ),
        PersonIn(21, "S1", d(2025, 1, 6), leader_id=20, attendance=(22, 22)),
    ]


def center_policies() -> list[PolicyIn]:
    return [
        # Tina (trainee)
        PolicyIn(101, 11, "medical", 1, "monthly", D("1234.50"), d(2026, 3, 5)),
        PolicyIn(102, 11, "critical_illness", 20, "annual", D("2000.00"), d(2026, 3, 12)),
        PolicyIn(
            103,
            11,
            "accident",
            1,
            "annual",
            D("300.00"),
            d(2026, 3, 28),
            cancelled_on=d(2026, 3, 30),
            cancel_kind="free_look",
        ),
        # Sam (senior agent)
        PolicyIn(201, 12, "medical", 3, "annual", D("1234.30"), d(2026, 3, 2)),
        PolicyIn(
            202,
            12,
            "critical_illness",
            20,
            "annual",
            D("1500.00"),
            d(2026, 2, 20),
            cancelled_on=d(2026, 3, 8),
            cancel_kind="free_look",
            paid_commission=D("600.00"),
        ),
        PolicyIn(203, 12, "life", 20, "annual", D("5000.00"), d(2026, 3, 15)),
        PolicyIn(204, 12, "pension", 10, "single", D("800.00"), d(2026, 3, 20)),
        # Lee, Kai, Ann
        PolicyIn(301, 10, "life", 10, "annual", D("3000.00"), d(2026, 3, 10)),
        PolicyIn(401, 20, "medical", 1, "annual", D("2000.00"), d(2026, 3, 3)),
        PolicyIn(402, 21, "critical_illness", 30, "annual", D("4000.00"), d(2026, 3, 6)),
        # Credited in April: not in March's pay.
        PolicyIn(501, 21, "medical", 1, "annual", D("999.00"), d(2026, 4, 1)),
    ]


def march(book, people=None, policies=None):
    return compute_pay(
        book,
        version=VERSION,
        period=period_for(book, year=2026, month=3),
        people=center_people() if people is None else people,
        policies=center_policies() if policies is None else policies,
    )


def slip(lines, person_id):
    return [
        (line.kind, line.rule_id, line.amount, line.sources[:1] if line.kind != "base_pay" else ())
        for line in lines
        if line.person_id == person_id
    ]


def test_trainee_payslip(book):
    """Tina, T0 trainee, 20 of 22 days.

    base pay         3,000.00 × 20/22 = 2,727.2727…               →  2,727.27
    policy:101       medical, 1 year, monthly: fyc.protection T0 30 % × trainee 0.8 = 24 %
                     1,234.50 × 0.24 = 296.28                      →    296.28
    policy:102       critical illness, 20 years: T0 35 % × 0.8 = 28 %
                     2,000.00 × 0.28                               →    560.00
    policy:103       sold 28 March, cancelled in free look 30 March: earns nothing, no line
    total                                                             3,583.55
    """
    lines = march(book)
    assert slip(lines, 11) == [
        ("base_pay", "base_pay", D("2727.27"), ()),
        ("commission", "fyc.protection", D("296.28"), ("policy:101",)),
        ("commission", "fyc.protection", D("560.00"), ("policy:102",)),
    ]
    commissions = [line for line in lines if line.person_id == 11 and line.kind == "commission"]
    assert {line.modifiers for line in commissions} == {("trainee_factor",)}
    assert [line.rate for line in commissions] == [D("0.24"), D("0.28")]
    assert payslip_totals(lines)[11] == D("3583.55")


def test_senior_agent_payslip_with_a_free_look_clawback(book):
    """Sam, S2 senior agent, full attendance.

    base pay         4,200.00 × 22/22                              →  4,200.00
    policy:201       medical, 3 years: fyc.protection S2 35 %
                     1,234.30 × 0.35 = 432.005 (half up)           →    432.01
    policy:203       life, 20 years, annual: fyc.savings.regular S2 35 %
                     5,000.00 × 0.35                               →  1,750.00
    policy:204       pension, single premium: fyc.savings.single S2 12 %
                     800.00 × 0.12                                 →     96.00
    policy:202       sold in February (600.00 paid), cancelled in free look on 8 March:
                     clawback 100 % × 600.00                       →   −600.00
    total                                                             5,878.01
    """
    lines = march(book)
    assert slip(lines, 12) == [
        ("base_pay", "base_pay", D("4200.00"), ()),
        ("commission", "fyc.protection", D("432.01"), ("policy:201",)),
        ("commission", "fyc.savings.regular", D("1750.00"), ("policy:203",)),
        ("commission", "fyc.savings.single", D("96.00"), ("policy:204",)),
        ("clawback", "clawback", D("-600.00"), ("policy:202",)),
    ]
    assert payslip_totals(lines)[12] == D("5878.01")


def test_team_lead_payslip_with_override_chain_and_clawback(book):
    """Lee, M1 team lead, 21 of 22 days; leads Tina and Sam; developed Kai's group.

    base pay         6,000.00 × 21/22 = 5,727.2727…               →  5,727.27
    policy:301       life, 10 years, annual: fyc.savings.regular M1 25 %
                     3,000.00 × 0.25                               →    750.00
    management       team FYC = Lee 3,000.00
                              + Tina 1,234.50 + 2,000.00 (policy:103 cancelled: 0)
                              + Sam 1,234.30 + 5,000.00 + 800.00
                              − Sam's clawed-back policy:202 1,500.00
                            = 11,768.80;  × M1 20 %               →  2,353.76
    development      Kai's group (Kai 2,000.00 + Ann 4,000.00 = 6,000.00), generation 1,
                     developed 2025-10-01, 5 months old < 12: 10 % →    600.00
    total                                                             9,431.03

    Mia, M2, above him: base 8,000.00; management 25 % × (Lee 3,000.00 + Kai 2,000.00)
    = 1,250.00; development generation 1 on Lee's group, 26 months old: 8 % × 11,768.80
    = 941.504 → 941.50; generation 2 on Kai's group: 6 % × 6,000.00 = 360.00;
    total 10,551.50. Ann's April policy:501 is in nobody's March pay.
    """
    lines = march(book)
    assert slip(lines, 10) == [
        ("base_pay", "base_pay", D("5727.27"), ()),
        ("commission", "fyc.savings.regular", D("750.00"), ("policy:301",)),
        ("management_allowance", "management_allowance", D("2353.76"), ("person:10",)),
        ("development_bonus", "development_bonus", D("600.00"), ("person:20",)),
    ]
    management = next(
        line for line in lines if line.person_id == 10 and line.kind == "management_allowance"
    )
    assert management.basis == D("11768.80")
    # The members, and the cancelled policy that took FYC off the group (each member's
    # policies are on their own commission lines).
    assert management.sources == ("person:10", "person:11", "person:12", "policy:202")
    assert payslip_totals(lines)[10] == D("9431.03")

    assert slip(lines, 1) == [
        ("base_pay", "base_pay", D("8000.00"), ()),
        ("management_allowance", "management_allowance", D("1250.00"), ("person:1",)),
        ("development_bonus", "development_bonus", D("941.50"), ("person:10",)),
        ("development_bonus", "development_bonus", D("360.00"), ("person:20",)),
    ]
    generations = [
        (line.rate, note_text(line.note).split(",")[0])
        for line in lines
        if line.person_id == 1 and line.kind == "development_bonus"
    ]
    assert generations == [(D("0.08"), "generation 1"), (D("0.06"), "generation 2")]
    assert payslip_totals(lines) == {
        1: D("10551.50"),
        10: D("9431.03"),
        11: D("3583.55"),
        12: D("5878.01"),
        20: D("7800.00"),
        21: D("4900.00"),
    }


def test_every_line_names_its_rule_version_and_sources(book):
    for line in march(book):
        assert line.rule_version == VERSION
        assert line.rule_id
        assert line.sources
        assert line.amount == cents(line.amount)


def test_the_result_does_not_depend_on_the_order_of_the_input(book):
    expected = march(book)
    shuffler = random.Random(6)
    for _ in range(5):
        people, policies = center_people(), center_policies()
        shuffler.shuffle(people)
        shuffler.shuffle(policies)
        assert march(book, people, policies) == expected


def test_rounding_is_half_up_to_the_cent():
    assert cents(D("432.005")) == D("432.01")
    assert cents(D("432.015")) == D("432.02")
    assert cents(D("-600.005")) == D("-600.01")
    assert cents(D("941.504")) == D("941.50")


def test_a_development_bonus_skips_an_ineligible_ancestor_but_pays_above_it(book):
    people = [
        PersonIn(1, "M2", d(2020, 1, 1), attendance=(1, 1)),
        # person:2 developed person:3's group but is now back in the sales series (S3).
        PersonIn(
            2, "S3", d(2020, 1, 1), developer_id=1, developed_on=d(2021, 1, 1), attendance=(1, 1)
        ),
        PersonIn(
            3, "M1", d(2022, 1, 1), developer_id=2, developed_on=d(2026, 1, 1), attendance=(1, 1)
        ),
    ]
    policies = [PolicyIn(1, 3, "medical", 1, "annual", D("1000.00"), d(2026, 3, 1))]
    bonuses = [
        (line.person_id, line.amount)
        for line in march(book, people, policies)
        if line.kind == "development_bonus"
    ]
    # Generation 1 (person:2, S3) is not eligible; generation 2 (person:1) gets 6 %.
    assert bonuses == [(1, D("60.00"))]


def test_an_early_surrender_claws_back_by_months_in_force_and_recomputes_when_unknown(book):
    people = [PersonIn(5, "S1", d(2024, 1, 1), attendance=(22, 22))]
    policies = [
        # 14 months in force → the 12–24 band, 50 %; commission recomputed: 1,000 × S1 30 %.
        PolicyIn(
            1,
            5,
            "medical",
            1,
            "annual",
            D("1000.00"),
            d(2025, 1, 10),
            cancelled_on=d(2026, 3, 20),
            cancel_kind="surrender",
        ),
        # 30 months in force → 0 %: no line.
        PolicyIn(
            2,
            5,
            "medical",
            1,
            "annual",
            D("1000.00"),
            d(2023, 9, 1),
            cancelled_on=d(2026, 3, 20),
            cancel_kind="surrender",
        ),
    ]
    [clawback] = [line for line in march(book, people, policies) if line.kind == "clawback"]
    assert (clawback.amount, clawback.rate, clawback.basis) == (D("-150.00"), D("0.5"), D("300.00"))
    assert clawback.modifiers == ("fyc.protection",)
    assert "after 14 month(s) in force" in note_text(clawback.note)


def test_work_month_calendar_runs_from_the_26th_to_the_25th(book):
    text = DEFAULT_RULESET_PATH.read_text(encoding="utf-8").replace(
        "calendar: calendar_month ", "calendar: work_month\n  start_day: 26 "
    )
    rules, _ = ruleset_parse(text)
    january = period_for(rules, year=2026, month=1)
    assert (january.start, january.end) == (d(2025, 12, 26), d(2026, 1, 25))
    march_ = period_for(rules, year=2026, month=3)
    assert (march_.start, march_.end) == (d(2026, 2, 26), d(2026, 3, 25))
    assert (period_for(book, year=2028, month=2).end) == d(2028, 2, 29)


def test_months_between_counts_whole_months():
    assert months_between(d(2025, 10, 1), d(2026, 3, 1)) == 5
    assert months_between(d(2026, 1, 31), d(2026, 2, 28)) == 0
    assert months_between(d(2024, 1, 1), d(2026, 3, 1)) == 26


# --- missing or inconsistent data is named, never paid as zero ----------------------------------


def problems(book, people, policies):
    with pytest.raises(PayInputInvalid) as caught:
        march(book, people, policies)
    return caught.value.problems


def test_missing_attendance_is_reported(book):
    people = [PersonIn(5, "S1", d(2024, 1, 1))]
    assert problems(book, people, []) == [("person:5", "no attendance for 2026-03")]


def test_a_policy_without_a_product_category_is_reported(book):
    people = [PersonIn(5, "S1", d(2024, 1, 1), attendance=(1, 1))]
    policies = [PolicyIn(9, 5, None, 1, "annual", D("100.00"), d(2026, 3, 2))]
    assert problems(book, people, policies) == [("policy:9", "has no product category")]


def test_a_policy_with_no_matching_rate_is_reported(book):
    people = [PersonIn(5, "S1", d(2024, 1, 1), attendance=(1, 1))]
    # Every term band of the default rules starts at 1 year: a 0-year term finds no rate.
    policies = [PolicyIn(9, 5, "education", 0, "annual", D("100.00"), d(2026, 3, 2))]
    assert problems(book, people, policies) == [
        (
            "policy:9",
            "no commission rate for category education, payment mode annual, term 0 years, "
            "level S1",
        )
    ]


def test_a_cycle_in_the_development_chain_is_reported(book):
    people = [
        PersonIn(
            1, "M1", d(2020, 1, 1), developer_id=2, developed_on=d(2024, 1, 1), attendance=(1, 1)
        ),
        PersonIn(
            2, "M1", d(2020, 1, 1), developer_id=3, developed_on=d(2024, 1, 1), attendance=(1, 1)
        ),
        PersonIn(
            3, "M2", d(2020, 1, 1), developer_id=1, developed_on=d(2024, 1, 1), attendance=(1, 1)
        ),
    ]
    assert problems(book, people, []) == [
        ("person:1", "cycle in the development chain: person:1 → person:2 → person:3 → person:1")
    ]


def test_a_level_outside_the_ladder_then_an_unknown_agent_are_reported(book):
    people = [PersonIn(5, "X9", d(2024, 1, 1), attendance=(1, 1))]
    policies = [PolicyIn(9, 77, "medical", 1, "annual", D("100.00"), d(2026, 3, 2))]
    with pytest.raises(PayInputInvalid) as caught:
        march(book, people, policies)
    assert caught.value.problems == [("person:5", "level 'X9' is not in the rule set's ladder")]
    people = [PersonIn(5, "S1", d(2024, 1, 1), attendance=(1, 1))]
    assert problems(book, people, policies) == [
        ("policy:9", "its agent person:77 is not among the people of this run")
    ]


# --- a pay case the project has never seen, written in the rule format -----------------------

NEW_CASE = """\
format: 1
name: 季度冲刺 / sprint law
period: {calendar: work_month, start_day: 26}
levels:
  - {code: A, series: sales, rank: 1}
  - {code: L, series: mgmt, rank: 1}
fyc_commission:
  - id: flat
    categories: [accident, critical_illness, medical, life, pension, education]
    payment_modes: [single, annual, semi_annual, quarterly, monthly]
    terms:
      - {from: 1, to: null, rates: {A: 0.15, L: 0.15}}
management_allowance: {id: lead, include_own: false, rates: {L: 0.125}}
performance_bonus:
  id: sprint
  basis: fyc
  method: marginal
  bands:
    - {from: 0, to: 2000, rate: 0}
    - {from: 2000, to: 6000, rate: 0.05}
    - {from: 6000, to: null, rate: 0.075}
"""


def test_a_new_pay_case_gives_the_hand_computed_result():
    """Work month 2026-03 = 26 Feb to 25 March. Agent person:2 (A) sells 7,333.33 of FYC
    in it (26 Feb 3,333.33 and 25 March 4,000.00; a sale on 26 March belongs to April).

    commission     3,333.33 × 15 % = 499.9995 → 500.00; 4,000.00 × 15 % → 600.00
    sprint bonus   marginal on 7,333.33: 2,000 × 0 + 4,000 × 5 % + 1,333.33 × 7.5 %
                   = 0 + 200 + 99.99975 = 299.99975 → 300.00
    lead (L, person:1, not counting own): 12.5 % × 7,333.33 = 916.66625 → 916.67
    """
    rules, _ = ruleset_parse(NEW_CASE)
    people = [PersonIn(1, "L", d(2020, 1, 1)), PersonIn(2, "A", d(2025, 1, 1), leader_id=1)]
    policies = [
        PolicyIn(1, 2, "life", 5, "annual", D("3333.33"), d(2026, 2, 26)),
        PolicyIn(2, 2, "accident", 1, "monthly", D("4000.00"), d(2026, 3, 25)),
        PolicyIn(3, 2, "medical", 1, "monthly", D("5000.00"), d(2026, 3, 26)),
    ]
    lines = compute_pay(
        rules,
        version=1,
        period=period_for(rules, year=2026, month=3),
        people=people,
        policies=policies,
    )
    assert [(line.person_id, line.rule_id, line.amount) for line in lines] == [
        (1, "lead", D("916.67")),
        (2, "flat", D("500.00")),
        (2, "flat", D("600.00")),
        (2, "sprint", D("300.00")),
    ]
