"""The rule-set format: the shipped default is valid, and every kind of bad file is rejected
with the precise path, line and reason (issue 6, "Bad input")."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from telesales.compensation.rules_format import (
    RuleSetInvalid,
    document_changes,
    document_to_json,
    ruleset_check,
    ruleset_parse,
    tier_apply,
)
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH

ORG_LADDER = {"T0", "S1", "S2", "S3", "M1", "M2"}
DEFAULT_TEXT = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")

# A small, complete rule file; the bad-input tests change one thing in it. Line numbers in the
# assertions refer to this text.
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
    categories: [medical, life]
    payment_modes: [annual]
    terms:
      - {from: 1, to: 10, rates: {T0: 0.3, S1: 0.3, M1: 0.3}}
      - {from: 10, to: null, rates: {T0: 0.4, S1: 0.4, M1: 0.4}}
management_allowance:
  id: mgmt
  include_own: true
  rates: {M1: 0.2}
clawback:
  id: clawback
  free_look: {share: 1, overrides: true}
  early_surrender:
    basis: months_in_force
    overrides: false
    method: banded
    bands:
      - {from: 0, to: 12, rate: 1}
      - {from: 12, to: null, rate: 0.5}
"""


def errors_of(text: str, **kwargs) -> list[tuple[str, int | None, str]]:
    with pytest.raises(RuleSetInvalid) as caught:
        ruleset_parse(text, **kwargs)
    return [(e.path, e.line, e.reason) for e in caught.value.errors]


def one_error(text: str, **kwargs) -> tuple[str, int | None, str]:
    found = errors_of(text, **kwargs)
    assert len(found) == 1, found
    return found[0]


def test_default_rule_set_is_valid_against_the_reference_ladder():
    book, raw = ruleset_parse(DEFAULT_TEXT, filename="basic_law.yaml", known_levels=ORG_LADDER)
    assert list(book.levels) == ["T0", "S1", "S2", "S3", "M1", "M2"]
    assert book.section("trainee_factor")["factor"] == Decimal("0.8")
    assert book.section("management_allowance")["rates"] == {
        "M1": Decimal("0.20"),
        "M2": Decimal("0.25"),
    }
    rates = [
        (g["generation"], g["rate"], g.get("later_rate"))
        for g in book.section("development_bonus")["generations"]
    ]
    assert rates == [
        (1, Decimal("0.10"), Decimal("0.08")),
        (2, Decimal("0.06"), None),
        (3, Decimal("0.03"), None),
    ]
    assert book.commission_rate(
        category="pension", payment_mode="single", term_years=10, level="S2"
    ) == (Decimal("0.12"), "fyc.savings.single")
    assert book.commission_rate(
        category="life", payment_mode="annual", term_years=20, level="S2"
    ) == (Decimal("0.35"), "fyc.savings.regular")
    # The stored (JSON) form of the document checks back to the same rules.
    stored = json.loads(json.dumps(document_to_json(raw)))
    assert ruleset_check(stored, known_levels=ORG_LADDER).document == book.document


def test_the_same_rules_as_json_parse_to_the_same_book():
    yaml_book, raw = ruleset_parse(DEFAULT_TEXT)
    as_json = json.dumps(document_to_json(raw), ensure_ascii=False, indent=2)
    json_book, _ = ruleset_parse(as_json, filename="basic_law.json")
    assert json_book.document == yaml_book.document


def test_base_file_is_valid():
    book, _ = ruleset_parse(BASE, known_levels=ORG_LADDER)
    assert book.name == "test law"


def test_unknown_key_is_rejected_with_path_and_line():
    text = BASE.replace("  include_own: true\n", "  include_own: true\n  inclde_own: false\n")
    path, line, reason = one_error(text)
    assert (path, line) == ("management_allowance.inclde_own", 19)
    assert reason.startswith("unknown key 'inclde_own'; expected one of: id, include_own, rates")


def test_unknown_top_level_key_is_rejected():
    path, line, reason = one_error(BASE + "bonuses: {}\n")
    assert (path, line) == ("bonuses", 30)
    assert "unknown key 'bonuses'" in reason


def test_overlapping_bands_are_rejected():
    text = BASE.replace(
        "- {from: 10, to: null, rates: {T0: 0.4", "- {from: 8, to: null, rates: {T0: 0.4"
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("fyc_commission[0].terms[1].from", 15)
    assert reason == "overlap: starts at 8 but the previous band runs to 10"


def test_gapped_bands_are_rejected():
    text = BASE.replace("- {from: 12, to: null, rate: 0.5}", "- {from: 13, to: null, rate: 0.5}")
    path, line, reason = one_error(text)
    assert (path, line) == ("clawback.early_surrender.bands[1].from", 29)
    assert reason == "gap: starts at 13 but the previous band ends at 12"


def test_a_tier_table_must_start_at_zero():
    text = BASE.replace("- {from: 0, to: 12, rate: 1}", "- {from: 1, to: 12, rate: 1}")
    path, _line, reason = one_error(text)
    assert path == "clawback.early_surrender.bands[0].from"
    assert reason == "gap: the first band must start at 0, not 1"


def test_a_band_after_an_open_band_is_an_overlap():
    text = BASE.replace(
        "      - {from: 12, to: null, rate: 0.5}\n",
        "      - {from: 12, to: null, rate: 0.5}\n      - {from: 24, to: 36, rate: 0}\n",
    )
    path, _line, reason = one_error(text)
    assert path == "clawback.early_surrender.bands[2].from"
    assert reason.startswith("overlap: band 1 is open-ended")


def test_two_commission_rules_for_the_same_case_overlap():
    text = BASE.replace(
        "management_allowance:",
        "  - id: fyc.life\n    categories: [life]\n    payment_modes: [annual, monthly]\n"
        "    terms:\n      - {from: 15, to: 20, rates: {T0: 0.1, S1: 0.1, M1: 0.1}}\n"
        "management_allowance:",
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("fyc_commission[1].categories", 17)
    assert reason == (
        "overlap: fyc_commission[0] already gives a rate for category life, payment mode "
        "annual on these terms"
    )


def test_a_level_that_does_not_exist_is_rejected():
    text = BASE.replace("rates: {M1: 0.2}", "rates: {M1: 0.2, M3: 0.3}")
    path, line, reason = one_error(text)
    assert (path, line) == ("management_allowance.rates.M3", 19)
    assert reason == "level 'M3' does not exist; the ladder has: T0, S1, M1"


def test_a_level_missing_from_the_organisation_ladder_is_rejected():
    path, line, reason = one_error(BASE, known_levels={"T0", "S1"})
    assert (path, line) == ("levels[2].code", 8)
    assert reason == "level 'M1' does not exist in the organisation's ladder (S1, T0)"


def test_a_rate_table_must_cover_every_level():
    text = BASE.replace("rates: {T0: 0.4, S1: 0.4, M1: 0.4}", "rates: {T0: 0.4, S1: 0.4}")
    path, line, reason = one_error(text)
    assert (path, line) == ("fyc_commission[0].terms[1].rates", 15)
    assert reason == "no rate for level(s): M1"


def test_a_negative_rate_is_rejected():
    text = BASE.replace("rates: {M1: 0.2}", "rates: {M1: -0.2}")
    path, line, reason = one_error(text)
    assert (path, line) == ("management_allowance.rates.M1", 19)
    assert reason == "must not be negative (-0.2)"


def test_a_rate_above_one_is_rejected():
    text = BASE.replace("{T0: 0.3, S1: 0.3", "{T0: 3, S1: 0.3")
    path, _line, reason = one_error(text)
    assert path == "fyc_commission[0].terms[0].rates.T0"
    assert reason == "must be at most 1 (3)"


def test_a_cycle_in_the_promotion_chain_is_rejected():
    text = BASE.replace(
        "{code: S1, series: sales, rank: 1}", "{code: S1, series: sales, rank: 1, promotes_to: M1}"
    ).replace(
        "{code: M1, series: mgmt, rank: 1}", "{code: M1, series: mgmt, rank: 1, promotes_to: T0}"
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("levels[2].promotes_to", 8)
    assert reason == "cycle in the promotion chain: T0 → S1 → M1 → T0"


def test_development_generations_must_follow_each_other():
    text = BASE + (
        "development_bonus:\n  id: dev\n  eligible_levels: [M1]\n  generations:\n"
        "    - {generation: 1, rate: 0.1}\n    - {generation: 3, rate: 0.03}\n"
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("development_bonus.generations[1].generation", 35)
    assert reason == "generations are numbered 1, 2, 3 … in order; expected 2, got 3"


@pytest.mark.parametrize(
    ("old", "new", "path", "reason"),
    [
        (
            "rank: 1}\n  - {code: M1",
            'rank: "one"}\n  - {code: M1',
            "levels[1].rank",
            "expected a number, got 'one'",
        ),
        (
            "include_own: true",
            "include_own: 1",
            "management_allowance.include_own",
            "expected true or false, got a number",
        ),
        (
            "categories: [medical, life]",
            "categories: medical",
            "fyc_commission[0].categories",
            "expected a list, got text",
        ),
        (
            "  calendar: calendar_month",
            "  calendar: [calendar_month]",
            "period.calendar",
            "expected text, got a list",
        ),
        (
            "payment_modes: [annual]",
            "payment_modes: [yearly]",
            "fyc_commission[0].payment_modes[0]",
            "unknown value 'yearly'; expected one of: single, annual, semi_annual, quarterly, "
            "monthly",
        ),
        (
            "free_look: {share: 1, overrides: true}",
            "free_look: {share: 1}",
            "clawback.free_look",
            "missing key 'overrides'",
        ),
    ],
)
def test_wrong_types_are_rejected(old, new, path, reason):
    assert old in BASE
    found_path, _line, found_reason = one_error(BASE.replace(old, new, 1))
    assert (found_path, found_reason) == (path, reason)


def test_money_with_three_decimals_is_rejected():
    text = (
        BASE
        + 'base_pay:\n  id: base\n  attendance: none\n  amounts: {T0: "3000.005", S1: 1, M1: 1}\n'
    )
    path, line, reason = one_error(text)
    assert (path, line) == ("base_pay.amounts.T0", 33)
    assert reason == "money has at most two decimals (3000.005)"


def test_a_duplicate_key_is_rejected_instead_of_silently_overwritten():
    text = BASE.replace("  rates: {M1: 0.2}\n", "  rates: {M1: 0.2}\n  rates: {M1: 0.9}\n")
    assert errors_of(text) == [("management_allowance.rates", 20, "duplicate key")]


def test_duplicate_rule_ids_are_rejected():
    text = BASE.replace("  id: mgmt\n", "  id: fyc.all\n")
    path, _line, reason = one_error(text)
    assert path == "management_allowance.id"
    assert reason == "duplicate rule id 'fyc.all' (also at fyc_commission[0].id)"


def test_a_work_month_needs_a_start_day():
    text = BASE.replace("calendar: calendar_month", "calendar: work_month")
    assert one_error(text) == ("period", 3, "a work month needs start_day (for example 26)")


def test_a_yaml_syntax_error_gives_the_line():
    text = BASE.replace("  rates: {M1: 0.2}", "  rates: {M1: 0.2")
    [(path, line, reason)] = errors_of(text)
    assert path == ""
    assert line == 20
    # What the parser found, explained (not PyYAML's "expected ',' or '}'").
    assert reason == "not valid YAML: a mapping in braces { } is not closed, or lacks a comma"


def test_a_json_syntax_error_gives_the_line():
    text = '{\n  "format": 1,\n  "name": "x",\n}\n'
    assert errors_of(text, filename="rules.json") == [
        ("", 4, "not valid JSON: Expecting property name enclosed in double quotes")
    ]


@pytest.mark.parametrize(
    ("text", "filename"),
    [("[" * 5000, "rules.yaml"), ('{"a": ' * 5000, "rules.json"), ("- " * 3000 + "x", "")],
)
def test_a_file_nested_thousands_deep_is_refused_not_a_crash(text, filename):
    # Such a file used to end in RecursionError (a server error on the import page).
    assert errors_of(text, filename=filename) == [
        ("", None, "the file is nested too deeply to be a rule file")
    ]


def test_json_errors_carry_paths_and_lines_too():
    data = yaml.safe_load(BASE)
    data["management_allowance"]["rates"]["M1"] = -1
    text = json.dumps(data, indent=2)
    [(path, line, reason)] = errors_of(text, filename="rules.json")
    assert path == "management_allowance.rates.M1"
    assert reason == "must not be negative (-1)"
    assert text.splitlines()[line - 1].strip() == '"M1": -1'


def test_all_problems_of_a_part_are_listed_together():
    text = BASE.replace("rates: {M1: 0.2}", "rates: {M1: -0.2}").replace(
        "include_own: true", "include_own: yes please"
    )
    paths = [p for p, _l, _r in errors_of(text)]
    assert paths == ["management_allowance.include_own", "management_allowance.rates.M1"]


def test_the_error_is_a_validation_failure_with_fields_for_interfaces():
    text = BASE.replace("rates: {M1: 0.2}", "rates: {M1: -0.2}")
    with pytest.raises(RuleSetInvalid) as caught:
        ruleset_parse(text, filename="law.yaml")
    error = caught.value
    assert error.code == "validation_failed"
    assert error.fields == {
        "management_allowance.rates.M1": ["must not be negative (-0.2) (line 19)"]
    }
    assert error.details["errors"] == [
        {
            "path": "management_allowance.rates.M1",
            "line": 19,
            "reason": "must not be negative (-0.2)",
        }
    ]
    assert error.message.startswith("law.yaml: ")


# --- tier tables -------------------------------------------------------------------------------

TIERS = [
    {"from": Decimal(0), "to": Decimal(5000), "rate": Decimal("0")},
    {"from": Decimal(5000), "to": Decimal(10000), "rate": Decimal("0.05")},
    {"from": Decimal(10000), "to": None, "rate": Decimal("0.10")},
]


def test_banded_and_marginal_tiers_differ_as_documented():
    value = Decimal("12000")
    # Banded: the whole 12,000 at the band's 10 %.
    assert tier_apply(method="banded", bands=TIERS, value=value) == Decimal("1200.00")
    # Marginal: 5,000 × 0 + 5,000 × 5 % + 2,000 × 10 % = 450.
    assert tier_apply(method="marginal", bands=TIERS, value=value) == Decimal("450.00")
    assert tier_apply(method="marginal", bands=TIERS, value=Decimal("5000")) == 0
    assert tier_apply(method="banded", bands=TIERS, value=Decimal("9999.99")) == Decimal("499.9995")


@given(
    st.decimals(min_value=0, max_value=10**7, places=2),
    st.decimals(min_value=0, max_value=10**7, places=2),
)
def test_marginal_tiers_never_pay_less_for_more_and_never_exceed_banded(a, b):
    low, high = sorted((a, b))
    marginal_low = tier_apply(method="marginal", bands=TIERS, value=low)
    marginal_high = tier_apply(method="marginal", bands=TIERS, value=high)
    assert marginal_low <= marginal_high
    assert marginal_high <= tier_apply(method="banded", bands=TIERS, value=high)


# --- robustness: any document gives a rule book or RuleSetInvalid, never a crash --------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 40),
    st.decimals(min_value=-2, max_value=2, places=2),
    st.sampled_from(["T0", "S1", "M1", "medical", "annual", "banded", "x", ""]),
)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["from", "to", "rate", "rates", "id", "code", "levels", "share"]),
            inner,
            max_size=3,
        )
    ),
    max_leaves=8,
)
_BASE_DATA = yaml.safe_load(BASE)


@given(
    section=st.sampled_from(sorted(_BASE_DATA)),
    value=_values,
)
def test_any_replacement_of_a_section_is_either_valid_or_a_rule_error(section, value):
    data = {**_BASE_DATA, section: value}
    try:
        ruleset_check(data)
    except RuleSetInvalid as exc:
        assert exc.errors
        assert all(error.path and error.reason for error in exc.errors)


def test_anchors_and_aliases_are_refused():
    text = BASE.replace(
        "rates: {T0: 0.3, S1: 0.3, M1: 0.3}", "rates: &low {T0: 0.3, S1: 0.3, M1: 0.3}"
    ).replace("rates: {T0: 0.4, S1: 0.4, M1: 0.4}", "rates: *low")
    assert errors_of(text) == [
        (
            "fyc_commission[0].terms[1].rates",
            15,
            "anchors and aliases (&, *) are not allowed in a rule file",
        )
    ]


def test_a_key_that_is_not_text_is_refused():
    text = BASE + "? [a, b]\n: 1\n"
    [(path, _line, reason)] = errors_of(text)
    assert path == ""
    assert reason in ("a key must be plain text", "not valid YAML: a key must be plain text")


def test_a_full_width_colon_after_a_key_names_its_line_and_the_fix():
    """QA: ``factor：0.8`` (a Chinese input method's colon) on line 39 gave "line 40: a key
    without its colon" — another line, and no word of the full-width colon."""
    text = BASE.replace("  include_own: true\n", "  include_own：true\n")
    _path, line, reason = one_error(text)
    assert line == BASE.splitlines().index("  include_own: true") + 1
    assert "full-width colon" in reason and "':'" in reason
    # Text that only mentions one (a name) is no problem.
    assert ruleset_parse(BASE.replace("name: test law", "name: 规则：2027 版"))[0].name


def test_a_file_of_comments_only_says_it_holds_no_rules():
    path, line, reason = one_error("# 基本法\n# (draft)\n\n")
    assert (path, line) == ("", None)
    assert reason == "the file holds no rules, only comments or blank lines"


# --- what changes between two versions ----------------------------------------------------------


def test_document_changes_name_entries_by_their_id_or_code_and_compare_numbers_as_numbers():
    before = {
        "name": "v1",
        "levels": [{"code": "T0", "rank": 0}, {"code": "S1", "rank": 1}],
        "fyc_commission": [
            {
                "id": "fyc.protection",
                "categories": ["accident", "medical"],
                "terms": [{"from": 1, "to": 5, "rates": {"T0": "0.30", "S1": "0.30"}}],
            }
        ],
        "trainee_factor": {"id": "trainee_factor", "factor": "0.8"},
    }
    after = {
        "name": "v2",
        "levels": [{"code": "S1", "rank": 1}, {"code": "S2", "rank": 2}],
        "fyc_commission": [
            {
                "id": "fyc.protection",
                "categories": ["accident", "medical", "critical_illness"],
                "terms": [{"from": 1, "to": 5, "rates": {"T0": "0.3", "S1": "0.32"}}],
            }
        ],
        "trainee_factor": {"id": "trainee_factor", "factor": "0.80"},
        "performance_bonus": {"id": "perf"},
    }
    assert document_changes(before, after) == [
        ("name", "v1", "v2"),
        ("levels[T0].code", "T0", "—"),
        ("levels[T0].rank", "0", "—"),
        ("levels[S2].code", "—", "S2"),
        ("levels[S2].rank", "—", "2"),
        (
            "fyc_commission[fyc.protection].categories",
            "accident, medical",
            "accident, medical, critical_illness",
        ),
        ("fyc_commission[fyc.protection].terms[0].rates.S1", "0.30", "0.32"),
        ("performance_bonus.id", "—", "perf"),
    ]
    assert document_changes(after, after) == []


def test_the_default_rule_set_against_itself_with_one_rate_changed():
    book, _errors = ruleset_parse(DEFAULT_TEXT)
    document = document_to_json(book.document)
    changed = json.loads(json.dumps(document))
    changed["fyc_commission"][0]["terms"][1]["rates"]["S3"] = "0.50"
    assert document_changes(document, changed) == [
        ("fyc_commission[fyc.protection].terms[1].rates.S3", "0.45", "0.50")
    ]
