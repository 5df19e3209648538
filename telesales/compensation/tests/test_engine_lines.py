"""Golden tests of the later pay lines of the default basic law (defaults/basic_law.yaml):
new-hire allowance, withholding and its release, renewal commission, recruiting awards.
Every amount is computed by hand in the test's docstring or comments and matched to the
cent; each condition is tested on both sides of its boundary.

The period is March 2026, a calendar month (2026-03-01 to 2026-03-31). Everyone attended
22 of 22 days, so base pay is the level's amount and is left out of the comparisons.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal as D

import pytest

from telesales.compensation.engine import (
    PayInputInvalid,
    PersonExtra,
    PersonIn,
    PolicyClearance,
    PolicyIn,
    RenewalIn,
    compute_pay,
    payslip_totals,
    period_for,
)
from telesales.compensation.notes import note_text
from telesales.compensation.rules_format import ruleset_parse
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH

d = dt.date
VERSION = 3
DEFAULT_TEXT = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def book():
    rules, _ = ruleset_parse(DEFAULT_TEXT)
    return rules


@pytest.fixture(scope="module")
def work_month_book():
    text = DEFAULT_TEXT.replace(
        "  calendar: calendar_month", "  calendar: work_month\n  start_day: 26"
    )
    rules, _ = ruleset_parse(text)
    return rules


def person(pid, level, hired, **extra) -> PersonIn:
    return PersonIn(pid, level, hired, attendance=(22, 22), extra=PersonExtra(**extra))


def policy(pid, agent, fyc, credited, *, category="medical", term=3, **kw) -> PolicyIn:
    return PolicyIn(pid, agent, category, term, "annual", D(fyc), credited, **kw)


def run(book, people, policies=(), *, month=3):
    return compute_pay(
        book,
        version=VERSION,
        period=period_for(book, year=2026, month=month),
        people=people,
        policies=policies,
    )


def kind(lines, name, person_id=None):
    return [
        (line.person_id, line.rule_id, line.amount, line.sources)
        for line in lines
        if line.kind == name and (person_id is None or line.person_id == person_id)
    ]


# --- new-hire allowance ------------------------------------------------------------------------


def test_new_hire_allowance_in_the_first_month_needs_nothing(book):
    """Tom, T0, hired 10 March: month 1 of service, no policy; the month-1 row asks for
    FYC ≥ 0.00 and ≥ 0 cases → 1,000.00. Base 3,000.00; total 4,000.00."""
    lines = run(book, [person(1, "T0", d(2026, 3, 10))])
    assert kind(lines, "new_hire_allowance") == [
        (1, "new_hire_allowance", D("1000.00"), ("person:1",))
    ]
    (line,) = [ln for ln in lines if ln.kind == "new_hire_allowance"]
    assert line.rule_version == VERSION and line.basis == D("0")
    assert payslip_totals(lines) == {1: D("4000.00")}


@pytest.mark.parametrize(
    ("fyc", "expected"),
    [
        # month 2 (hired 2 February): FYC ≥ 1,500.00 and ≥ 1 case → 800.00
        ("1500.00", [(1, "new_hire_allowance", D("800.00"), ("person:1",))]),
        ("1499.99", []),
    ],
)
def test_new_hire_allowance_month_two_at_its_fyc_boundary(book, fyc, expected):
    lines = run(book, [person(1, "T0", d(2026, 2, 2))], [policy(11, 1, fyc, d(2026, 3, 5))])
    assert kind(lines, "new_hire_allowance") == expected


def test_new_hire_allowance_month_four_needs_two_cases(book):
    """Uma, S1, hired 1 December 2025: March is month 4; the row for months 4–6 asks for
    FYC ≥ 2,000.00 and ≥ 2 cases.

    one case of 2,500.00: FYC enough, 1 case < 2                 → no allowance
    two cases of 1,000.00 each: FYC 2,000.00, 2 cases             → 500.00
    """
    uma = person(1, "S1", d(2025, 12, 1))
    one = run(book, [uma], [policy(11, 1, "2500.00", d(2026, 3, 5))])
    assert kind(one, "new_hire_allowance") == []
    two = run(
        book,
        [uma],
        [policy(11, 1, "1000.00", d(2026, 3, 5)), policy(12, 1, "1000.00", d(2026, 3, 6))],
    )
    assert kind(two, "new_hire_allowance") == [
        (1, "new_hire_allowance", D("500.00"), ("person:1",))
    ]
    (line,) = [ln for ln in two if ln.kind == "new_hire_allowance"]
    assert line.basis == D("2000.00")
    # The amounts in the note are written as the pay pages write amounts: thousands grouped.
    assert (
        note_text(line.note)
        == "month 4 of service; FYC 2,000.00 (at least 2,000.00), 2 case(s) (at least 2)"
    )


def test_a_policy_cancelled_in_the_month_does_not_count_for_the_allowance(book):
    """Month 2 needs 1 case and 1,500.00 FYC; the only policy is sold and cancelled in free
    look in March: 0 cases → no allowance."""
    lines = run(
        book,
        [person(1, "T0", d(2026, 2, 2))],
        [
            policy(
                11,
                1,
                "3000.00",
                d(2026, 3, 5),
                cancelled_on=d(2026, 3, 9),
                cancel_kind="free_look",
            )
        ],
    )
    assert kind(lines, "new_hire_allowance") == []


@pytest.mark.parametrize(
    ("level", "hired", "months_in"),
    [
        ("T0", d(2025, 10, 31), 6),  # month 6: the last month of the table
        ("T0", d(2025, 9, 30), 7),  # month 7: no row
        ("S2", d(2026, 3, 1), 1),  # S2 is not a new-hire level
    ],
)
def test_new_hire_allowance_ends_after_month_six_and_only_for_its_levels(
    book, level, hired, months_in
):
    # months 4–6: 2 cases of 1,000.00 meet the row → 500.00 when a row applies
    lines = run(
        book,
        [person(1, level, hired)],
        [policy(11, 1, "1000.00", d(2026, 3, 5)), policy(12, 1, "1000.00", d(2026, 3, 6))],
    )
    expected = [D("500.00")] if months_in == 6 else []
    assert [line[2] for line in kind(lines, "new_hire_allowance")] == expected


def test_new_hire_allowance_is_not_assessed_without_extra_records(book):
    """A caller that reads only people and policies (``extra=None``) keeps its old lines."""
    lines = run(book, [PersonIn(1, "T0", d(2026, 3, 10), attendance=(22, 22))])
    assert [line.kind for line in lines] == ["base_pay"]


def test_months_of_service_follow_the_work_month_calendar(work_month_book):
    """Work months from the 26th: 2026-03 runs 26 February – 25 March. Hired 26 February:
    month 1 → 1,000.00; hired 25 February (in 2026-02): month 2, no policy → nothing."""
    first = run(work_month_book, [person(1, "T0", d(2026, 2, 26))])
    assert kind(first, "new_hire_allowance") == [
        (1, "new_hire_allowance", D("1000.00"), ("person:1",))
    ]
    second = run(work_month_book, [person(1, "T0", d(2026, 2, 25))])
    assert kind(second, "new_hire_allowance") == []


# --- withholding -------------------------------------------------------------------------------

SAM = 7  # S2, hired long ago: medical 3 years → fyc.protection S2 35 %


def sam():
    return person(SAM, "S2", d(2020, 1, 1))


def sold(pid, fyc="1000.00", **clearance):
    return policy(pid, SAM, fyc, d(2026, 3, 4), clearance=PolicyClearance(**clearance))


def test_half_the_commission_waits_for_the_receipt_and_the_return_visit(book):
    """policy:11 FYC 1,000.00 × S2 35 % = 350.00 commission; no receipt, no return visit:
    withheld 50 % × 350.00 = −175.00; the payslip nets 4,200.00 + 350.00 − 175.00."""
    lines = run(book, [sam()], [sold(11)])
    assert kind(lines, "commission") == [(SAM, "fyc.protection", D("350.00"), ("policy:11",))]
    assert kind(lines, "withheld") == [(SAM, "withholding", D("-175.00"), ("policy:11",))]
    (line,) = [ln for ln in lines if ln.kind == "withheld"]
    assert (line.basis, line.rate) == (D("350.00"), D("0.5"))
    assert note_text(line.note) == "waiting for: receipt, return visit"
    assert payslip_totals(lines) == {SAM: D("4375.00")}


def test_a_note_is_punctuated_in_the_language_it_is_written_in(book):
    """In Chinese the list in a withholding note is joined by 「、」, not ", "; the note is
    stored as its messages, so the same line reads in English to an English reader."""
    from django.utils import translation

    with translation.override("zh-hans"):
        lines = run(book, [sam()], [sold(11)])
        (line,) = [ln for ln in lines if ln.kind == "withheld"]
        assert note_text(line.note) == "等待：回执、回访"
    with translation.override("en"):
        assert note_text(line.note) == "waiting for: receipt, return visit"
    # the payslip order: base pay, commission, withheld
    assert [ln.kind for ln in lines] == ["base_pay", "commission", "withheld"]


@pytest.mark.parametrize(
    ("receipt", "visit", "withheld"),
    [
        # the deadline is day 13 of the month after the period: 2026-04-13
        (d(2026, 4, 13), d(2026, 3, 20), []),
        (d(2026, 4, 14), d(2026, 3, 20), [D("-175.00")]),
        (d(2026, 3, 20), d(2026, 4, 14), [D("-175.00")]),
        (d(2026, 3, 20), None, [D("-175.00")]),
    ],
)
def test_withholding_at_the_receipt_deadline(book, receipt, visit, withheld):
    lines = run(book, [sam()], [sold(11, receipt_on=receipt, return_visit_on=visit)])
    assert [line[2] for line in kind(lines, "withheld")] == withheld


def test_no_return_visit_required_means_only_the_receipt_counts(book):
    lines = run(
        book,
        [sam()],
        [
            sold(11, receipt_on=d(2026, 3, 20), return_visit_required=False),
            sold(12, receipt_on=None, return_visit_required=False),
        ],
    )
    withheld = [ln for ln in lines if ln.kind == "withheld"]
    assert [(ln.sources, ln.amount, note_text(ln.note)) for ln in withheld] == [
        (("policy:12",), D("-175.00"), "waiting for: receipt")
    ]


def test_withholding_rounds_half_up_on_its_own(book):
    """FYC 1,234.30 × 35 % = 432.005 → 432.01; × 50 % = 216.005 → 216.01 withheld."""
    lines = run(book, [sam()], [sold(11, fyc="1234.30")])
    assert kind(lines, "commission")[0][2] == D("432.01")
    assert kind(lines, "withheld")[0][2] == D("-216.01")


def test_a_trainee_has_half_of_the_reduced_commission_withheld(book):
    """Tina, T0 hired long ago (no new-hire allowance): FYC 1,000.00 × T0 30 % × trainee
    0.8 = 240.00 commission; 50 % → −120.00 withheld."""
    tina = person(5, "T0", d(2020, 1, 1))
    lines = run(
        book,
        [tina],
        [policy(11, 5, "1000.00", d(2026, 3, 4), clearance=PolicyClearance())],
    )
    assert kind(lines, "withheld") == [(5, "withholding", D("-120.00"), ("policy:11",))]


@pytest.mark.parametrize(
    ("receipt", "visit", "released"),
    [
        # both done by the end of March (the later one on 31 March) → 175.00 released
        (d(2026, 2, 20), d(2026, 3, 31), [D("175.00")]),
        # the return visit done on 1 April → released in April, not March
        (d(2026, 2, 20), d(2026, 4, 1), []),
        (None, d(2026, 3, 2), []),
    ],
)
def test_what_an_earlier_period_withheld_is_released_when_both_are_done(
    book, receipt, visit, released
):
    """policy:21, sold in February, had 175.00 of its commission withheld by February's
    approved run."""
    earlier = policy(
        21,
        SAM,
        "1000.00",
        d(2026, 2, 10),
        clearance=PolicyClearance(
            receipt_on=receipt, return_visit_on=visit, withheld_before=D("175.00")
        ),
    )
    lines = run(book, [sam()], [earlier])
    assert [line[2] for line in kind(lines, "released")] == released
    assert kind(lines, "withheld") == []


def test_a_cancellation_releases_the_withheld_part_and_claws_back_the_whole_commission(book):
    """policy:21, sold in February: 350.00 commission of which 175.00 was withheld (175.00
    paid). Cancelled in free look on 5 March: clawback −350.00, released +175.00: the net
    take-back is the 175.00 actually paid."""
    cancelled = policy(
        21,
        SAM,
        "1000.00",
        d(2026, 2, 10),
        cancelled_on=d(2026, 3, 5),
        cancel_kind="free_look",
        paid_commission=D("350.00"),
        clearance=PolicyClearance(withheld_before=D("175.00")),
    )
    lines = run(book, [sam()], [cancelled])
    assert kind(lines, "clawback") == [(SAM, "clawback", D("-350.00"), ("policy:21",))]
    assert kind(lines, "released") == [(SAM, "withholding", D("175.00"), ("policy:21",))]
    assert payslip_totals(lines) == {SAM: D("4200.00") - D("350.00") + D("175.00")}


def test_nothing_is_withheld_without_clearance_records(book):
    lines = run(book, [sam()], [policy(11, SAM, "1000.00", d(2026, 3, 4))])
    assert kind(lines, "withheld") == []


# --- renewal commission ------------------------------------------------------------------------


def renewals(*rows):
    return tuple(
        RenewalIn(premium_id=900 + i, policy_id=pid, policy_year=year, amount=D(amt), paid_on=day)
        for i, (pid, year, amt, day) in enumerate(rows)
    )


def test_renewal_commission_by_policy_year_and_persistency(book):
    """Ann, S1, 13-month persistency 85.00 % (band 0.80–0.90: factor 1.0):

    premium:900  policy year 2, 1,000.00 × 5 % × 1.0              →  50.00
    premium:901  policy year 3, 2,000.00 × 3 % × 1.0              →  60.00
    premium:902  policy year 5, 1,234.50 × 3 % = 37.035            →  37.04
    premium:903  policy year 6: no rate                            →  no line
    """
    ann = person(
        2,
        "S1",
        d(2020, 1, 1),
        persistency13=D("0.8500"),
        renewals=renewals(
            (31, 2, "1000.00", d(2026, 3, 1)),
            (32, 3, "2000.00", d(2026, 3, 31)),
            (33, 5, "1234.50", d(2026, 3, 15)),
            (34, 6, "5000.00", d(2026, 3, 15)),
        ),
    )
    lines = run(book, [ann])
    assert kind(lines, "renewal_commission") == [
        (2, "renewal_commission", D("50.00"), ("policy:31", "premium:900")),
        (2, "renewal_commission", D("60.00"), ("policy:32", "premium:901")),
        (2, "renewal_commission", D("37.04"), ("policy:33", "premium:902")),
    ]
    first = next(ln for ln in lines if ln.kind == "renewal_commission")
    assert first.modifiers == ("renewal_commission.persistency_factor",)
    assert note_text(first.note) == "policy year 2 at 0.05; 13-month persistency 85.00%: factor 1.0"
    assert payslip_totals(lines) == {2: D("3500.00") + D("147.04")}


@pytest.mark.parametrize(
    ("persistency", "amount"),
    [
        # 1,000.00 × 5 % = 50.00 × the factor of the band
        (D("0.6999"), None),  # below 70 %: factor 0 → no line
        (D("0.7000"), D("40.00")),  # 70–80 %: × 0.8
        (D("0.7999"), D("40.00")),
        (D("0.8000"), D("50.00")),  # 80–90 %: × 1.0
        (D("0.9000"), D("55.00")),  # from 90 %: × 1.1
        (None, D("50.00")),  # no cohort to measure: factor 1
    ],
)
def test_renewal_commission_at_the_persistency_band_boundaries(book, persistency, amount):
    ann = person(
        2,
        "S1",
        d(2020, 1, 1),
        persistency13=persistency,
        renewals=renewals((31, 2, "1000.00", d(2026, 3, 10))),
    )
    lines = run(book, [ann])
    assert [line[2] for line in kind(lines, "renewal_commission")] == (
        [amount] if amount is not None else []
    )


def test_a_renewal_paid_outside_the_period_is_a_problem(book):
    ann = person(2, "S1", d(2020, 1, 1), renewals=renewals((31, 2, "1000.00", d(2026, 4, 1))))
    with pytest.raises(PayInputInvalid) as caught:
        run(book, [ann])
    assert caught.value.problems == [
        ("premium:900", "paid on 2026-04-01, outside the period 2026-03")
    ]


# --- recruiting awards -------------------------------------------------------------------------


def recruiter_and(recruit_extra, *, level="S1"):
    return [person(1, "S2", d(2020, 1, 1)), person(2, level, d(2025, 12, 1), **recruit_extra)]


@pytest.mark.parametrize(
    ("confirmed", "fyc", "award"),
    [
        # confirmed in March with FYC to date ≥ 300.00 → 500.00 to the recruiter
        (d(2026, 3, 15), D("300.00"), D("500.00")),
        (d(2026, 3, 15), D("299.99"), None),
        (d(2026, 2, 28), D("5000.00"), None),  # confirmed in February: February's award
        (d(2026, 3, 31), D("5000.00"), D("500.00")),
    ],
)
def test_recruiting_award_when_a_recruit_is_confirmed(book, confirmed, fyc, award):
    people = recruiter_and({"recruiter_id": 1, "confirmed_on": confirmed, "fyc_to_date": fyc})
    lines = run(book, people)
    expected = [(1, "award.recruit", award, ("person:2",))] if award else []
    assert kind(lines, "recruiting_award") == expected


def test_referral_award_when_a_recruit_wins_the_new_talent_award(book):
    """700.00 to the recruiter, whatever the recruit's FYC; both awards in one month: 1,200."""
    people = recruiter_and(
        {
            "recruiter_id": 1,
            "confirmed_on": d(2026, 3, 2),
            "new_talent_on": d(2026, 3, 30),
            "fyc_to_date": D("800.00"),
        }
    )
    lines = run(book, people)
    assert kind(lines, "recruiting_award") == [
        (1, "award.recruit", D("500.00"), ("person:2",)),
        (1, "award.referral", D("700.00"), ("person:2",)),
    ]
    notes = [note_text(ln.note) for ln in lines if ln.kind == "recruiting_award"]
    assert notes == [
        "person:2 confirmed on 2026-03-02; FYC to date 800.00 (at least 300.00)",
        "person:2 won the new-talent award on 2026-03-30",
    ]
    assert payslip_totals(lines)[1] == D("4200.00") + D("1200.00")


def test_recruiting_award_problems_are_reported_not_paid_as_zero(book):
    people = [
        person(2, "S1", d(2025, 12, 1), recruiter_id=99, confirmed_on=d(2026, 3, 2)),
        person(3, "S1", d(2025, 12, 1), recruiter_id=2, confirmed_on=d(2026, 3, 2)),
    ]
    with pytest.raises(PayInputInvalid) as caught:
        run(book, people)
    assert caught.value.problems == [
        ("person:2", "recruiter person:99 is not among the people of this run"),
        ("person:3", "no FYC to date for the recruiting award award.recruit"),
    ]


def test_a_recruiter_who_has_left_gets_no_award(book):
    people = recruiter_and(
        {"recruiter_id": 1, "confirmed_on": d(2026, 3, 2), "fyc_to_date": D(1000)}
    )
    people[0] = dataclasses.replace(people[0], in_service=False)
    assert kind(run(book, people), "recruiting_award") == []


def test_the_later_lines_are_deterministic_in_any_input_order(book):
    people = [
        person(1, "S2", d(2020, 1, 1)),
        person(
            2,
            "T0",
            d(2026, 2, 2),
            recruiter_id=1,
            confirmed_on=d(2026, 3, 2),
            fyc_to_date=D("900.00"),
            persistency13=D("0.95"),
            renewals=renewals((31, 2, "100.00", d(2026, 3, 3)), (32, 2, "200.00", d(2026, 3, 4))),
        ),
    ]
    policies = [
        policy(11, 2, "1600.00", d(2026, 3, 5), clearance=PolicyClearance()),
        policy(12, 1, "900.00", d(2026, 3, 6), clearance=PolicyClearance(receipt_on=d(2026, 3, 9))),
    ]
    forward = run(book, people, policies)
    backward = run(book, people[::-1], policies[::-1])
    assert forward == backward
    assert [ln.kind for ln in forward if ln.person_id == 2] == [
        "base_pay",
        "new_hire_allowance",
        "commission",
        "withheld",
        "renewal_commission",
        "renewal_commission",
    ]
