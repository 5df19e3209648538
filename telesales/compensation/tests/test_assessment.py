"""The assessment evaluator (pure): every criterion at its boundary, k of n, rolling windows,
persistency waived below a tenure, extend once then demote, trainee exit, team measures."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from telesales.compensation.assessment import (
    DEMOTE,
    EXIT,
    EXTEND,
    MAINTAIN,
    PROMOTE,
    Frame,
    MonthFigures,
    PersonRecord,
    assess,
    probation_end,
)
from telesales.compensation.rules_format import ruleset_parse

RULES = """\
format: 1
name: assessment test law
period: {calendar: calendar_month}
levels:
  - {code: T0, series: sales, rank: 0, trainee: true, promotes_to: S1}
  - {code: S1, series: sales, rank: 1, promotes_to: S2}
  - {code: S2, series: sales, rank: 2}
  - {code: M1, series: mgmt, rank: 1}
fyc_commission:
  - id: fyc
    categories: [medical]
    payment_modes: [annual]
    terms:
      - {from: 1, to: null, rates: {T0: 0.3, S1: 0.3, S2: 0.3, M1: 0.3}}
assessment:
  id: assessment
  persistency_waived_below_months: 14
  levels:
    T0:
      period: monthly
      probation_months: 3
      promote:
        window: 3
        criteria:
          - {measure: fyc, min: "3000.00"}
          - {measure: cases, min: 3}
    S1:
      period: quarterly
      promote:
        window: 6
        criteria:
          - {measure: months_in_grade, min: 6}
          - {measure: fyc, min: "20000.00"}
      maintain:
        need: 2
        window: 3
        criteria:
          - {measure: fyc, min: "1500.00"}
          - {measure: cases, min: 3}
          - {measure: persistency13, min: 0.80}
    M1:
      period: half_yearly
      demotes_to: S2
      maintain:
        window: 3
        criteria:
          - {measure: team_fyc, min: "10000.00"}
          - {measure: team_headcount, min: 2}
          - {measure: groups_developed, min: 1}
"""
BOOK, _RAW = ruleset_parse(RULES)
END = dt.date(2026, 6, 30)
STARTS = tuple(dt.date(2026 - (i >= 6), (6 - i - 1) % 12 + 1, 1) for i in range(12))
FRAME = Frame(period_end=END, label_month=6, month_starts=STARTS)
OLD_HAND = dt.date(2024, 1, 1)


def months(*figures: tuple) -> tuple[MonthFigures, ...]:
    """``months((fyc, cases[, num, den]), ...)``, newest first, padded to 12."""
    out = []
    for fig in figures:
        fyc, cases, *rest = fig
        num, den = rest if rest else (D(0), D(0))
        out.append(
            MonthFigures(fyc=D(fyc), cases=cases, persistency_num=D(num), persistency_den=D(den))
        )
    return tuple(out) + (MonthFigures(),) * (12 - len(out))


def person(pid=1, level="S1", figures=(), hire=OLD_HAND, since=None, **kw) -> PersonRecord:
    return PersonRecord(
        id=pid,
        level=level,
        hire_date=hire,
        grade_since=since or hire,
        months=months(*figures),
        **kw,
    )


def one(record, *others, frame=FRAME):
    found = [
        o
        for o in assess(book=BOOK, people=[record, *others], frame=frame)
        if o.person_id == record.id
    ]
    assert len(found) == 1
    return found[0]


def crit(outcome, key, measure):
    return next(c for c in outcome.criteria[key]["criteria"] if c["measure"] == measure)


# --- k of n at the boundaries -------------------------------------------------------------------


def test_maintain_when_exactly_at_two_thresholds():
    # 1500.00 FYC and 3 cases over 3 months; persistency 0.79 fails: 2 of 3 met.
    out = one(person(figures=[("500.00", 1, "79", "100"), ("500.00", 1), ("500.00", 1)]))
    assert out.outcome == MAINTAIN
    fyc = crit(out, "maintain", "fyc")
    assert (fyc["value"], fyc["threshold"], fyc["met"]) == ("1500.00", "1500.00", True)
    assert crit(out, "maintain", "cases")["met"] is True
    per = crit(out, "maintain", "persistency13")
    assert (per["value"], per["met"]) == ("0.7900", False)
    assert out.criteria["maintain"]["met_count"] == 2


def test_one_cent_below_fails_the_criterion():
    out = one(person(figures=[("499.99", 1, "79", "100"), ("500.00", 1), ("500.00", 1)]))
    fyc = crit(out, "maintain", "fyc")
    assert (fyc["value"], fyc["met"], fyc["gap"]) == ("1499.99", False, "0.01")
    assert out.outcome == EXTEND


def test_one_case_below_fails_the_criterion():
    out = one(person(figures=[("1500.00", 2, "79", "100")]))
    assert crit(out, "maintain", "cases")["met"] is False
    assert crit(out, "maintain", "cases")["gap"] == "1"
    assert out.outcome == EXTEND


def test_persistency_exactly_at_threshold_counts_as_met():
    out = one(person(figures=[("1500.00", 0, "80", "100")]))
    assert crit(out, "maintain", "persistency13")["met"] is True
    assert out.outcome == MAINTAIN


def test_window_only_counts_its_months():
    # 1500 FYC in month 4 back: outside the 3-month window.
    out = one(person(figures=[("0", 1), ("0", 1), ("0", 1), ("1500.00", 0)]))
    assert crit(out, "maintain", "fyc")["value"] == "0.00"
    assert crit(out, "maintain", "fyc")["met"] is False


def test_promotion_uses_its_own_six_month_window_and_months_in_grade():
    since = dt.date(2026, 1, 1)  # exactly 6 months in grade at 06-30
    # 19999.99 inside the 6 months; the 7th month back is outside the window.
    figures = [("3999.99", 3)] + [("4000.00", 3)] * 4 + [("0", 0), ("5000.00", 0)]
    out = one(person(figures=figures, since=since))
    assert crit(out, "promote", "months_in_grade")["value"] == "6"
    assert crit(out, "promote", "fyc")["value"] == "19999.99"
    assert out.outcome == MAINTAIN


def test_promote_when_every_promotion_criterion_is_met():
    out = one(person(figures=[("4000.00", 3)] * 5, since=dt.date(2026, 1, 1)))
    assert (out.outcome, out.to_level) == (PROMOTE, "S2")


def test_no_promotion_one_day_short_of_months_in_grade():
    out = one(person(figures=[("4000.00", 3)] * 5, since=dt.date(2026, 1, 2)))
    assert crit(out, "promote", "months_in_grade")["value"] == "5"
    assert out.outcome == MAINTAIN


# --- persistency waiver -----------------------------------------------------------------------


def test_persistency_waived_below_tenure_and_need_capped():
    hire = dt.date(2025, 5, 1)  # 14 months at 06-30 → not waived
    assert (
        crit(
            one(person(hire=hire, figures=[("1500.00", 3, "0", "100")])),
            "maintain",
            "persistency13",
        )["waived"]
        is None
    )
    hire = dt.date(2025, 5, 2)  # 13 months → waived; need 2 of the remaining 2
    out = one(person(hire=hire, figures=[("1500.00", 2, "0", "100")]))
    per = crit(out, "maintain", "persistency13")
    assert (per["waived"], per["met"], per["flag"]) == ("tenure", None, "waived")
    assert (out.criteria["maintain"]["need"], out.criteria["maintain"]["of"]) == (2, 2)
    assert out.outcome == EXTEND


def test_persistency_without_a_cohort_is_waived():
    out = one(person(figures=[("1500.00", 3)]))
    assert crit(out, "maintain", "persistency13")["waived"] == "no_cohort"
    assert out.outcome == MAINTAIN


# --- extend once, then demote -------------------------------------------------------------------


def test_first_failure_extends_then_second_demotes():
    failing = [("0", 0, "0", "100")]
    assert one(person(figures=failing)).outcome == EXTEND
    out = one(person(figures=failing, previous=(EXTEND,)))
    assert (out.outcome, out.to_level) == (DEMOTE, "T0")
    assert out.criteria["extensions_used"] == 1


def test_a_pass_between_failures_resets_the_extension():
    out = one(person(figures=[("0", 0, "0", "100")], previous=(MAINTAIN, EXTEND)))
    assert out.outcome == EXTEND


def test_demotes_to_is_used_for_a_management_level():
    assert one(person(pid=9, level="M1")).outcome == EXTEND
    out = one(person(pid=9, level="M1", previous=(EXTEND,)))
    assert (out.outcome, out.to_level) == (DEMOTE, "S2")


# --- trainee --------------------------------------------------------------------------------------


def test_trainee_promoted_at_thresholds():
    t = person(level="T0", hire=dt.date(2026, 5, 1), figures=[("1000.00", 1), ("2000.00", 2)])
    out = one(t)
    assert (out.outcome, out.to_level) == (PROMOTE, "S1")


def test_trainee_in_probation_is_kept_and_after_probation_exits():
    in_probation = person(level="T0", hire=dt.date(2026, 4, 2), figures=[("2999.99", 3)])
    assert probation_end(dt.date(2026, 4, 2), 3) == dt.date(2026, 7, 1)
    assert one(in_probation).outcome == MAINTAIN
    ended = person(level="T0", hire=dt.date(2026, 4, 1), figures=[("2999.99", 3)])
    out = one(ended)
    assert (out.outcome, out.to_level) == (EXIT, None)
    assert out.criteria["probation_end"] == "2026-06-30"


# --- due levels and team measures -----------------------------------------------------------------


def test_only_levels_due_this_month_are_assessed():
    may = Frame(
        period_end=dt.date(2026, 5, 31),
        label_month=5,
        month_starts=(*STARTS[1:], dt.date(2025, 6, 1)),
    )
    people = [
        person(pid=1, level="S1"),
        person(pid=2, level="T0", hire=dt.date(2026, 4, 1)),
        person(pid=3, level="S2"),
    ]
    assert [o.person_id for o in assess(book=BOOK, people=people, frame=may)] == [2]
    assert [o.person_id for o in assess(book=BOOK, people=people, frame=FRAME)] == [1, 2]


@pytest.mark.parametrize(
    ("team_fyc", "recruit_level", "expected"),
    [("2000.00", "M1", MAINTAIN), ("1999.99", "M1", EXTEND), ("2000.00", "S1", EXTEND)],
)
def test_team_measures(team_fyc, recruit_level, expected):
    lead = person(pid=10, level="M1", figures=[("8000.00", 0)])
    a = person(pid=11, level="S1", leader_id=10, figures=[(team_fyc, 0)])
    b = person(pid=12, level="S2", leader_id=10)
    grown = person(pid=13, level=recruit_level, recruiter_id=10)
    out = one(lead, a, b, grown)
    assert crit(out, "maintain", "team_headcount")["value"] == "2"
    assert out.outcome == expected


def test_outcomes_are_deterministic():
    people = [person(pid=i, figures=[(f"{i * 400}.00", i)]) for i in range(1, 8)]
    assert assess(book=BOOK, people=people, frame=FRAME) == assess(
        book=BOOK, people=list(reversed(people)), frame=FRAME
    )


DEPT_RULES = RULES.replace(
    "  - {code: M1, series: mgmt, rank: 1}\n",
    "  - {code: M1, series: mgmt, rank: 1, promotes_to: M2}\n"
    "  - {code: M2, series: mgmt, rank: 2}\n",
).replace("M1: 0.3}}", "M1: 0.3, M2: 0.3}}") + (
    "    M2:\n"
    "      period: half_yearly\n"
    "      maintain:\n"
    "        window: 3\n"
    "        criteria:\n"
    '          - {measure: dept_fyc, min: "10000.00"}\n'
    "          - {measure: dept_headcount, min: 5}\n"
)


@pytest.mark.parametrize(("agent_fyc", "expected"), [("8000.00", MAINTAIN), ("7999.99", EXTEND)])
def test_department_measures_read_everyone_under_the_manager(agent_fyc, expected):
    """A manager (M2) leads team leads who lead agents: the department's FYC and headcount
    count them all (QA: the manager's team measures read only the team leads, so a center's
    manager was proposed for extension with a department of 73 people). A cycle in the
    reporting lines elsewhere changes nothing."""
    book, _raw = ruleset_parse(DEPT_RULES)
    head = person(pid=20, level="M2", figures=[("1000.00", 0)])
    people = [
        head,
        person(pid=21, level="M1", leader_id=20, figures=[("1000.00", 0)]),
        person(pid=22, level="M1", leader_id=20),
        person(pid=23, level="S1", leader_id=21, figures=[(agent_fyc, 0)]),
        person(pid=24, level="S1", leader_id=21),
        person(pid=25, level="S1", leader_id=22),
        person(pid=26, level="S1", leader_id=27),
        person(pid=27, level="S1", leader_id=26),
    ]
    [out] = [o for o in assess(book=book, people=people, frame=FRAME) if o.person_id == 20]
    assert crit(out, "maintain", "dept_headcount")["value"] == "5"
    assert crit(out, "maintain", "dept_fyc")["value"] == str(
        (D("2000.00") + D(agent_fyc)).quantize(D("0.01"))
    )
    assert out.outcome == expected
