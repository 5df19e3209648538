"""The ``assessment`` section of the rule-set format: the default is valid, and each bad case
is rejected with its path, line and reason."""

from __future__ import annotations

from decimal import Decimal

import pytest

from telesales.compensation.rules_format import RuleSetInvalid, ruleset_parse
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH

BASE = """\
format: 1
name: test law
period:
  calendar: calendar_month
levels:
  - {code: T0, series: sales, rank: 0, trainee: true, promotes_to: S1}
  - {code: S1, series: sales, rank: 1}
  - {code: M1, series: mgmt, rank: 1}
fyc_commission:
  - id: fyc.all
    categories: [medical]
    payment_modes: [annual]
    terms:
      - {from: 1, to: null, rates: {T0: 0.3, S1: 0.3, M1: 0.3}}
assessment:
  id: assessment
  persistency_waived_below_months: 14
  levels:
    T0:
      period: monthly
      probation_months: 3
      promote:
        need: 2
        window: 3
        criteria:
          - {measure: fyc, min: "3000.00"}
          - {measure: cases, min: 3}
    S1:
      period: quarterly
      maintain:
        need: 2
        window: 3
        criteria:
          - {measure: fyc, min: "1500.00"}
          - {measure: cases, min: 3}
          - {measure: persistency13, min: 0.80}
"""
# Line numbers in the file above.
T0_LINE, T0_NEED_LINE, T0_WINDOW_LINE, T0_FYC_LINE = 19, 23, 24, 26
S1_LINE, S1_PERSISTENCY_LINE = 28, 36


def swap(old: str, new: str, nth: int = 1) -> str:
    """BASE with the ``nth`` occurrence of ``old`` replaced by ``new``."""
    at = -1
    for _ in range(nth):
        at = BASE.index(old, at + 1)
    return BASE[:at] + new + BASE[at + len(old) :]


def errors_of(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(RuleSetInvalid) as caught:
        ruleset_parse(text, filename="law.yaml")
    return [(e.path, e.line, e.reason) for e in caught.value.errors]


def one_error(text: str) -> tuple[str, int | None, str]:
    found = errors_of(text)
    assert len(found) == 1, found
    return found[0]


def test_base_and_default_rule_sets_are_valid():
    book, _raw = ruleset_parse(BASE)
    assert book.section("assessment")["levels"]["S1"]["maintain"]["need"] == 2
    default, _raw = ruleset_parse(DEFAULT_RULESET_PATH.read_text(encoding="utf-8"))
    levels = default.section("assessment")["levels"]
    assert set(levels) == {"T0", "S1", "S2", "S3", "M1", "M2"}
    assert levels["S1"]["maintain"]["criteria"][2] == {
        "measure": "persistency13",
        "min": Decimal("0.80"),
    }


def test_unknown_measure_is_rejected_with_path_and_line():
    path, line, reason = one_error(
        BASE.replace("measure: cases, min: 3}\n    S1", "measure: calls, min: 3}\n    S1")
    )
    assert path == "assessment.levels.T0.promote.criteria[1].measure"
    assert line == T0_FYC_LINE + 1
    assert "unknown value 'calls'" in reason and "persistency13" in reason


def test_need_more_than_criteria_is_rejected():
    path, line, reason = one_error(swap("need: 2", "need: 3"))
    assert path == "assessment.levels.T0.promote.need"
    assert line == T0_NEED_LINE
    assert "need 3 of 2" in reason


def test_need_zero_is_rejected():
    path, _line, reason = one_error(swap("need: 2", "need: 0", 2))
    assert path == "assessment.levels.S1.maintain.need"
    assert "between 1 and 3" in reason


def test_window_outside_the_allowed_months_is_rejected():
    text = BASE.replace(
        'window: 3\n        criteria:\n          - {measure: fyc, min: "3000.00"}',
        'window: 4\n        criteria:\n          - {measure: fyc, min: "3000.00"}',
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("assessment.levels.T0.promote.window", T0_WINDOW_LINE)
    assert "window of 4 months" in reason and "1, 3, 6, 12" in reason


def test_level_not_in_the_ladder_is_rejected():
    path, line, reason = one_error(BASE.replace("    S1:\n      period", "    S9:\n      period"))
    assert path == "assessment.levels.S9"
    assert line == S1_LINE
    assert "level 'S9' does not exist" in reason


def test_negative_threshold_is_rejected():
    path, line, reason = one_error(BASE.replace('min: "3000.00"', 'min: "-1"'))
    assert (path, line) == ("assessment.levels.T0.promote.criteria[0].min", T0_FYC_LINE)
    assert "must not be negative" in reason


def test_threshold_of_the_wrong_kind_is_rejected():
    found = errors_of(
        BASE.replace("min: 0.80", "min: 80").replace(
            "measure: cases, min: 3}\n    S1", "measure: cases, min: 2.5}\n    S1"
        )
    )
    assert found[0][:2] == ("assessment.levels.T0.promote.criteria[1].min", T0_FYC_LINE + 1)
    assert "whole number" in found[0][2]
    assert found[1][:2] == ("assessment.levels.S1.maintain.criteria[2].min", S1_PERSISTENCY_LINE)
    assert "between 0 and 1" in found[1][2]


def test_money_threshold_with_three_decimals_is_rejected():
    path, _line, reason = one_error(BASE.replace('min: "3000.00"', 'min: "3000.005"'))
    assert path == "assessment.levels.T0.promote.criteria[0].min"
    assert "two decimals" in reason


def test_same_measure_twice_is_rejected():
    path, _line, reason = one_error(
        BASE.replace("measure: cases, min: 3}\n    S1", "measure: fyc, min: 3}\n    S1")
    )
    assert path == "assessment.levels.T0.promote.criteria[1].measure"
    assert "listed twice" in reason


def test_unknown_period_is_rejected():
    path, _line, reason = one_error(BASE.replace("period: quarterly", "period: weekly"))
    assert path == "assessment.levels.S1.period"
    assert "half_yearly" in reason


def test_trainee_level_without_probation_is_rejected():
    path, line, reason = one_error(BASE.replace("      probation_months: 3\n", ""))
    assert (path, line) == ("assessment.levels.T0", T0_LINE)
    assert "probation_months" in reason


def test_probation_on_a_confirmed_level_is_rejected():
    path, _line, reason = one_error(
        BASE.replace("period: quarterly", "period: quarterly\n      probation_months: 3")
    )
    assert path == "assessment.levels.S1.probation_months"
    assert "trainee" in reason


def test_promotion_from_the_top_of_a_chain_is_rejected():
    path, _line, reason = one_error(
        BASE.replace(
            "      maintain:",
            "      promote:\n        window: 3\n        criteria:\n"
            "          - {measure: fyc, min: 1}\n      maintain:",
        )
    )
    assert path == "assessment.levels.S1.promote"
    assert "no promotes_to" in reason


def test_maintenance_without_a_level_to_demote_to_is_rejected():
    text = BASE.replace("    S1:\n      period", "    M1:\n      period")
    path, _line, reason = one_error(text)
    assert path == "assessment.levels.M1"
    assert "demotes_to" in reason
    assert ruleset_parse(
        text.replace("period: quarterly", "period: quarterly\n      demotes_to: S1")
    )


def test_demotes_to_unknown_level_is_rejected():
    path, _line, reason = one_error(
        BASE.replace("period: quarterly", "period: quarterly\n      demotes_to: X9")
    )
    assert path == "assessment.levels.S1.demotes_to"
    assert "'X9' does not exist" in reason


def test_unknown_key_in_a_level_entry_is_rejected():
    path, _line, reason = one_error(
        BASE.replace("period: quarterly", "period: quarterly\n      extend: 1")
    )
    assert path == "assessment.levels.S1.extend"
    assert "unknown key" in reason


def test_persistency_in_grace_takes_lapsed_or_pending_only():
    marker = "  persistency_waived_below_months: 14\n"
    for value in ("lapsed", "pending"):
        book, _raw = ruleset_parse(
            BASE.replace(marker, f"{marker}  persistency_in_grace: {value}\n")
        )
        assert book.section("assessment")["persistency_in_grace"] == value
    path, line, reason = one_error(BASE.replace(marker, f"{marker}  persistency_in_grace: wait\n"))
    assert path == "assessment.persistency_in_grace"
    assert line == BASE.splitlines().index(marker.rstrip("\n")) + 2
    assert "unknown value 'wait'" in reason and "pending" in reason


def test_demotes_to_a_level_that_is_not_lower_is_rejected():
    """QA (session 20): S1 demoting to S2 was saved; a failed assessment would have paid
    more, and S1 and S2 would demote into each other."""
    text = BASE.replace(
        "  - {code: S1, series: sales, rank: 1}",
        "  - {code: S1, series: sales, rank: 1, promotes_to: M1}",
    )
    path, _line, reason = one_error(
        text.replace("period: quarterly", "period: quarterly\n      demotes_to: M1")
    )
    assert path == "assessment.levels.S1.demotes_to"
    assert "M1" in reason and "lower" in reason
    # A level outside the chain above it stays possible (a team lead back to an agent level).
    assert ruleset_parse(
        text.replace("period: quarterly", "period: quarterly\n      demotes_to: T0")
    )


def test_a_problem_across_sections_says_every_check_ran():
    """A file whose every part has its shape went through every check: no "more may follow"."""
    from telesales.compensation.rules_format import RuleSetInvalid

    text = BASE.replace(
        "  - {code: S1, series: sales, rank: 1}",
        "  - {code: S1, series: sales, rank: 1, promotes_to: M1}",
    )
    with pytest.raises(RuleSetInvalid) as exc:
        ruleset_parse(text.replace("period: quarterly", "period: quarterly\n      demotes_to: M1"))
    assert exc.value.details["partial"] is False
    assert "run once these are fixed" not in exc.value.message
