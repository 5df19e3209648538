"""The basic-law rule-set format: parse a YAML or JSON document, check it, and say exactly what
is wrong.

Pure Python: no database. ``ruleset_parse(text)`` returns a ``RuleBook`` (the checked,
normalised document: every number a ``Decimal``) or raises ``RuleSetInvalid`` with one
``RuleError`` per problem, each with the path in the document (``fyc_commission[1].terms[0].
from``), the line in the file when it can be known, and the reason.

The format (version 1) is described section by section in docs/domains/compensation.md; the
default rule set is ``defaults/basic_law.yaml``. Conventions:

- a **band** is half-open, ``from`` ≤ value < ``to``; ``to: null`` leaves the last band open;
  bands are listed in order, each starting where the previous one ends (no gap, no overlap);
- a **rate** is a fraction (0.30 is 30 %) between 0 and 1; a **factor** may exceed 1
  (a persistency multiplier of 1.1); **money** has at most two decimals; nothing is negative;
- a **tier table** is ``{method: banded | marginal, bands: [...]}``: banded applies the rate of
  the band the whole value falls in, marginal applies each band's rate to the slice of the
  value inside that band (like income tax);
- every rule that produces a pay line has an ``id``; ids are unique in the document and each
  pay line names the id (and the rule-set version) it came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext, pgettext_lazy

from telesales.core.errors import ValidationFailed
from telesales.org.choices import LevelSeries
from telesales.policies.choices import CommissionBasis, PaymentMode, ProductCategory

FORMAT_VERSION = 1
CALENDARS = ("calendar_month", "work_month")
ATTENDANCE_METHODS = ("pro_rata", "none")
TIER_METHODS = ("banded", "marginal")
AWARD_EVENTS = ("recruit_confirmed", "recruit_new_talent")
WITHHOLD_UNTIL = ("receipt", "return_visit")
MAX_FACTOR = Decimal("10")
#: Assessment (考核): how often a level is assessed, the measures a criterion may use and the
#: rolling windows (months) a criteria set may look back over.
ASSESSMENT_PERIODS = ("monthly", "quarterly", "half_yearly")
MONEY_MEASURES = ("fyc", "team_fyc", "dept_fyc")
COUNT_MEASURES = (
    "cases",
    "months_in_grade",
    "team_headcount",
    "dept_headcount",
    "groups_developed",
)
RATE_MEASURES = ("persistency13",)
MEASURES = (*MONEY_MEASURES, *COUNT_MEASURES, *RATE_MEASURES)
#: What each measure is called on the pages (the rule file uses the code).
MEASURE_LABELS = {
    "fyc": pgettext_lazy("assessment measure", "FYC"),
    "team_fyc": pgettext_lazy("assessment measure", "Team FYC"),
    "cases": pgettext_lazy("assessment measure", "Cases"),
    "months_in_grade": pgettext_lazy("assessment measure", "Months in grade"),
    "team_headcount": pgettext_lazy("assessment measure", "Team headcount"),
    "dept_fyc": pgettext_lazy("assessment measure", "Department FYC"),
    "dept_headcount": pgettext_lazy("assessment measure", "Department headcount"),
    "groups_developed": pgettext_lazy("assessment measure", "Groups developed"),
    "persistency13": pgettext_lazy("assessment measure", "13-month persistency"),
}
WINDOWS = (1, 3, 6, 12)
MAX_MONEY = Decimal("100000000")

Path = tuple[str | int, ...]


def path_text(path: Path) -> str:
    """``("fyc_commission", 1, "terms", 0, "from")`` → ``fyc_commission[1].terms[0].from``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True)
class RuleError:
    """One problem in a rule file: where (path and line when known) and why."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.path or _("(document)")
        if self.line is not None:
            where = _("%(path)s (line %(line)d)") % {"path": where, "line": self.line}
        return _("%(where)s: %(reason)s") % {"where": where, "reason": self.reason}


class RuleSetInvalid(ValidationFailed):
    """The rule file breaks the format. ``errors`` lists every problem found, in file order."""

    def __init__(
        self, errors: list[RuleError], *, source_name: str = "", partial: bool = False
    ) -> None:
        """``partial``: the checks across sections were not run (they need a document whose
        every part has its shape), so more problems may follow once these are fixed."""
        self.errors = errors
        self.source_name = source_name
        fields: dict[str, list[str]] = {}
        for error in errors:
            fields.setdefault(error.path or "document", []).append(
                error.reason
                if error.line is None
                else _("%(reason)s (line %(line)d)") % {"reason": error.reason, "line": error.line}
            )
        message = ngettext(
            "The rule set has %(count)d problem.",
            "The rule set has %(count)d problems.",
            len(errors),
        ) % {"count": len(errors)}
        if partial:
            # QA (session 20): "2 problems", then 4 more once those were fixed.
            message = _(
                "%(message)s The checks across sections (bands, levels, chains) run once these "
                "are fixed."
            ) % {"message": message}
        if source_name:
            # "law.yaml: …" / "law.yaml：…": the reader's language's colon.
            message = _("%(file)s: %(message)s") % {"file": source_name, "message": message}
        super().__init__(message, fields=fields)
        self.details["partial"] = partial
        self.details["errors"] = [
            {"path": e.path, "line": e.line, "reason": e.reason} for e in errors
        ]


# --- reading the text ----------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text (the rules hold no dates; effective dates are fields
    of the rule-set version) so that a stray date cannot sneak in as a non-JSON value."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _node_lines(
    node: yaml.Node,
    path: Path,
    lines: dict[Path, int],
    errors: list[RuleError],
    seen_nodes: set[int],
) -> None:
    """Record the 1-based line of every path in the composed YAML tree; flag duplicate keys
    (which plain YAML loading would silently resolve to the last one) and aliases (a node
    reached twice: ``&anchor`` / ``*alias`` would let a small file expand without bound)."""
    if id(node) in seen_nodes:
        errors.append(
            RuleError(
                path_text(path),
                _("anchors and aliases (&, *) are not allowed in a rule file"),
                lines.get(path, node.start_mark.line + 1),
            )
        )
        return
    seen_nodes.add(id(node))
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                errors.append(
                    RuleError(
                        path_text(path), _("a key must be plain text"), key_node.start_mark.line + 1
                    )
                )
                continue
            key = key_node.value
            child = (*path, key)
            if key in seen:
                errors.append(
                    RuleError(path_text(child), _("duplicate key"), key_node.start_mark.line + 1)
                )
                continue
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _node_lines(value_node, child, lines, errors, seen_nodes)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _node_lines(item, (*path, index), lines, errors, seen_nodes)


def _yaml_lines(text: str) -> tuple[dict[Path, int], list[RuleError]]:
    lines: dict[Path, int] = {}
    errors: list[RuleError] = []
    root = yaml.compose(text, Loader=_Loader)
    if root is not None:
        _node_lines(root, (), lines, errors, set())
    return lines, errors


def _read(text: str, fmt: str) -> tuple[Any, dict[Path, int], list[RuleError]]:
    try:
        return _read_document(text, fmt)
    except RecursionError:
        # Lists or mappings nested thousands deep ("[[[[…"): the parsers recurse per level.
        raise RuleSetInvalid(
            [RuleError("", _("the file is nested too deeply to be a rule file"), None)]
        ) from None


def yaml_problem_text(problem: str) -> str:
    """PyYAML's English problem ("mapping values are not allowed here") as a reason a person
    can act on, in their language; a problem not listed reads as a general one (the line
    still says where)."""
    known = (
        (
            "mapping values are not allowed",
            _("a colon where no key can start (check the indentation, or quote the value)"),
        ),
        ("could not find expected ':'", _("a key without its colon")),
        (
            "cannot start any token",
            _("a character that cannot start a value here (a tab? indent with spaces)"),
        ),
        ("did not find expected key", _("the indentation does not match the keys above")),
        ("expected <block end>", _("the indentation does not match the lines above")),
        ("did not find expected '-'", _("a list item without its '-'")),
        ("expected ',' or '}'", _("a mapping in braces { } is not closed, or lacks a comma")),
        ("expected ',' or ']'", _("a list in brackets [ ] is not closed, or lacks a comma")),
        ("found unexpected end of stream", _("the file ends inside quoted text")),
        ("found unknown escape character", _("an unknown escape (\\) in quoted text")),
        ("found undefined alias", _("an alias (*) without its anchor")),
        ("found unhashable key", _("a key must be plain text")),
        ("found duplicate anchor", _("anchors and aliases (&, *) are not allowed in a rule file")),
    )
    for words, reason in known:
        if words in problem:
            return str(reason)
    return _("the text cannot be read as YAML here")


def _read_document(text: str, fmt: str) -> tuple[Any, dict[Path, int], list[RuleError]]:
    if fmt == "json":
        try:
            data = json.loads(text, parse_float=Decimal)
        except json.JSONDecodeError as exc:
            reason = _("not valid JSON: %(reason)s") % {"reason": exc.msg}
            raise RuleSetInvalid([RuleError("", reason, exc.lineno)]) from None
        try:  # JSON is (nearly always) YAML too: borrow the YAML composer for line numbers.
            lines, duplicates = _yaml_lines(text)
        except yaml.YAMLError:
            lines, duplicates = {}, []
        return data, lines, duplicates
    try:
        lines, duplicates = _yaml_lines(text)
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        if found := _full_width_colon(text):
            raise RuleSetInvalid([found]) from None
        mark = exc.problem_mark or exc.context_mark
        # The parser's words explained in the reader's language, with the line.
        reason = _("not valid YAML: %(reason)s") % {
            "reason": yaml_problem_text(str(exc.problem or exc.context or ""))
        }
        raise RuleSetInvalid(
            [RuleError("", reason, mark.line + 1 if mark is not None else None)]
        ) from None
    except yaml.YAMLError as exc:
        reason = _("not valid YAML: %(reason)s") % {"reason": yaml_problem_text(str(exc))}
        raise RuleSetInvalid([RuleError("", reason)]) from None
    return data, lines, duplicates


#: A key followed by a full-width colon (typed with a Chinese input method): ``factor：0.8``.
_FULL_WIDTH_KEY = re.compile(r"^[ \t]*(?:-[ \t]+)?\{?[ \t]*[A-Za-z_][\w.]*[ \t]*：")


def _full_width_colon(text: str) -> RuleError | None:
    """The first line whose key ends with a full-width colon (：), which YAML does not read as
    a colon: the parser's own complaint names another line and another cause."""
    for number, line in enumerate(text.splitlines(), start=1):
        if _FULL_WIDTH_KEY.match(line.split("#", 1)[0]):
            return RuleError(
                "",
                _("a full-width colon (：) after a key: type the key's colon as ':'"),
                number,
            )
    return None


def detect_format(*, text: str, filename: str = "") -> str:
    """``json`` for a ``.json`` file (or text starting with ``{``), else ``yaml``."""
    name = filename.lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    return "json" if text.lstrip().startswith("{") else "yaml"


# --- the structural checker ------------------------------------------------------------------


class _Context:
    def __init__(self, lines: dict[Path, int]) -> None:
        self.lines = lines
        self.errors: list[RuleError] = []

    def error(self, path: Path, reason: str) -> None:
        line = None
        for cut in range(len(path), -1, -1):  # the nearest ancestor that has a line
            if path[:cut] in self.lines:
                line = self.lines[path[:cut]]
                break
        self.errors.append(RuleError(path_text(path), reason, line))


_INVALID = object()


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return pgettext("rule file value type", "a boolean")
    if isinstance(value, int | float | Decimal):
        return pgettext("rule file value type", "a number")
    if isinstance(value, str):
        return pgettext("rule file value type", "text")
    if isinstance(value, list):
        return pgettext("rule file value type", "a list")
    if isinstance(value, dict):
        return pgettext("rule file value type", "a mapping")
    return type(value).__name__


Spec = Callable[[Any, Path, _Context], Any]


def number(*, kind: str, maximum: Decimal | None = None, nullable: bool = False) -> Spec:
    """A decimal number: ``rate`` (0–1), ``factor`` (0–10), ``money`` (≥ 0, two decimals at
    most), ``int`` (a whole number ≥ 0) or ``bound`` (a band boundary ≥ 0)."""

    def check(value: Any, path: Path, ctx: _Context) -> Any:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
            ctx.error(path, _("expected a number, got %(type)s") % {"type": _type_name(value)})
            return _INVALID
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            ctx.error(path, _("expected a number, got %(value)r") % {"value": str(value)[:30]})
            return _INVALID
        if not result.is_finite():
            ctx.error(path, _("expected a finite number"))
            return _INVALID
        if result < 0:
            ctx.error(path, _("must not be negative (%(value)s)") % {"value": result})
            return _INVALID
        limit = maximum
        if limit is None:
            limit = {"rate": Decimal(1), "factor": MAX_FACTOR, "money": MAX_MONEY}.get(kind)
        if limit is not None and result > limit:
            ctx.error(
                path, _("must be at most %(max)s (%(value)s)") % {"max": limit, "value": result}
            )
            return _INVALID
        if kind == "money" and result != result.quantize(Decimal("0.01")):
            ctx.error(path, _("money has at most two decimals (%(value)s)") % {"value": result})
            return _INVALID
        if kind == "int":
            if result != result.to_integral_value():
                ctx.error(path, _("expected a whole number (%(value)s)") % {"value": result})
                return _INVALID
            return int(result)
        return result

    return check


def text(*, choices: Iterable[str] | None = None) -> Spec:
    allowed = tuple(choices) if choices is not None else None

    def check(value: Any, path: Path, ctx: _Context) -> Any:
        if not isinstance(value, str) or not value.strip():
            ctx.error(path, _("expected text, got %(type)s") % {"type": _type_name(value)})
            return _INVALID
        value = value.strip()
        if allowed is not None and value not in allowed:
            ctx.error(
                path,
                _("unknown value %(value)r; expected one of: %(choices)s")
                % {"value": value[:40], "choices": ", ".join(allowed)},
            )
            return _INVALID
        return value

    return check


def boolean(value: Any, path: Path, ctx: _Context) -> Any:
    if not isinstance(value, bool):
        ctx.error(path, _("expected true or false, got %(type)s") % {"type": _type_name(value)})
        return _INVALID
    return value


def seq(item: Spec, *, min_items: int = 1) -> Spec:
    def check(value: Any, path: Path, ctx: _Context) -> Any:
        if not isinstance(value, list):
            ctx.error(path, _("expected a list, got %(type)s") % {"type": _type_name(value)})
            return _INVALID
        if len(value) < min_items:
            ctx.error(path, _("needs at least %(count)d item(s)") % {"count": min_items})
            return _INVALID
        out = [item(element, (*path, index), ctx) for index, element in enumerate(value)]
        return _INVALID if any(o is _INVALID for o in out) else out

    return check


def mapping(fields: dict[str, tuple[Spec, bool]]) -> Spec:
    """A mapping with known keys: ``{key: (spec, required)}``. Unknown keys are errors."""

    def check(value: Any, path: Path, ctx: _Context) -> Any:
        if not isinstance(value, dict):
            ctx.error(path, _("expected a mapping, got %(type)s") % {"type": _type_name(value)})
            return _INVALID
        out: dict[str, Any] = {}
        bad = False
        for key in value:
            if key not in fields:
                ctx.error(
                    (*path, str(key)),
                    _("unknown key %(key)r; expected one of: %(keys)s")
                    % {"key": str(key)[:40], "keys": ", ".join(fields)},
                )
                bad = True
        for key, (spec, required) in fields.items():
            if key not in value:
                if required:
                    ctx.error(path, _("missing key %(key)r") % {"key": key})
                    bad = True
                continue
            result = spec(value[key], (*path, key), ctx)
            bad = bad or result is _INVALID
            out[key] = result
        return _INVALID if bad else out

    return check


def level_map(value_spec: Spec) -> Spec:
    """A mapping of level code → value; the codes are checked against the ladder later."""

    def check(value: Any, path: Path, ctx: _Context) -> Any:
        if not isinstance(value, dict) or not value:
            ctx.error(
                path,
                _("expected a mapping of level code to value, got %(type)s")
                % {"type": _type_name(value)},
            )
            return _INVALID
        out = {str(k): value_spec(v, (*path, str(k)), ctx) for k, v in value.items()}
        return _INVALID if any(v is _INVALID for v in out.values()) else out

    return check


def _band(value_spec: Spec, value_key: str = "rate") -> Spec:
    return mapping(
        {
            "from": (number(kind="bound"), True),
            "to": (number(kind="bound", nullable=True), True),
            value_key: (value_spec, True),
        }
    )


def tier_table(rate_kind: str = "rate") -> Spec:
    return mapping(
        {
            "method": (text(choices=TIER_METHODS), True),
            "bands": (seq(_band(number(kind=rate_kind))), True),
        }
    )


RULE_ID = text()
LEVEL = text()
LEVELS = seq(text())

CRITERIA_SET = mapping(
    {
        "need": (number(kind="int"), False),
        "window": (number(kind="int"), True),
        "criteria": (
            seq(
                mapping(
                    {
                        "measure": (text(choices=MEASURES), True),
                        "min": (number(kind="bound"), True),
                    }
                )
            ),
            True,
        ),
    }
)

#: How an assessment counts a 13-month premium unpaid while its grace period is still open on
#: the day the assessment is computed: as lapsed (the default), or left out until decided.
PERSISTENCY_IN_GRACE = ("lapsed", "pending")

ASSESSMENT = mapping(
    {
        "id": (RULE_ID, True),
        "persistency_waived_below_months": (number(kind="int"), False),
        "persistency_in_grace": (text(choices=PERSISTENCY_IN_GRACE), False),
        "warning": (mapping({"on_track_pace": (number(kind="factor"), True)}), False),
        "levels": (
            level_map(
                mapping(
                    {
                        "period": (text(choices=ASSESSMENT_PERIODS), True),
                        "promote": (CRITERIA_SET, False),
                        "maintain": (CRITERIA_SET, False),
                        "extensions": (number(kind="int", maximum=Decimal(12)), False),
                        "demotes_to": (text(), False),
                        "probation_months": (number(kind="int", maximum=Decimal(24)), False),
                    }
                )
            ),
            True,
        ),
    }
)

SCHEMA = mapping(
    {
        "format": (number(kind="int"), True),
        "name": (text(), True),
        "currency": (text(choices=("CNY",)), False),
        "period": (
            mapping(
                {
                    "calendar": (text(choices=CALENDARS), True),
                    "start_day": (number(kind="int", maximum=Decimal(28)), False),
                }
            ),
            True,
        ),
        "levels": (
            seq(
                mapping(
                    {
                        "code": (text(), True),
                        "name": (text(), False),
                        "series": (text(choices=LevelSeries.values), True),
                        "rank": (number(kind="int"), True),
                        "trainee": (boolean, False),
                        "promotes_to": (text(), False),
                    }
                )
            ),
            True,
        ),
        "base_pay": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "attendance": (text(choices=ATTENDANCE_METHODS), True),
                    "amounts": (level_map(number(kind="money")), True),
                }
            ),
            False,
        ),
        "trainee_factor": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "factor": (number(kind="rate"), True),
                    "levels": (LEVELS, True),
                }
            ),
            False,
        ),
        "fyc_commission": (
            seq(
                mapping(
                    {
                        "id": (RULE_ID, True),
                        "categories": (seq(text(choices=ProductCategory.values)), True),
                        "payment_modes": (seq(text(choices=PaymentMode.values)), True),
                        "terms": (seq(_band(level_map(number(kind="rate")), "rates")), True),
                    }
                )
            ),
            True,
        ),
        "new_hire_allowance": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "levels": (LEVELS, True),
                    "months": (
                        seq(
                            mapping(
                                {
                                    "first_month": (number(kind="int"), True),
                                    "last_month": (number(kind="int"), True),
                                    "amount": (number(kind="money"), True),
                                    "min_fyc": (number(kind="money"), False),
                                    "min_cases": (number(kind="int"), False),
                                }
                            )
                        ),
                        True,
                    ),
                }
            ),
            False,
        ),
        "renewal_commission": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "rates": (
                        seq(
                            mapping(
                                {
                                    "first_year": (number(kind="int"), True),
                                    "last_year": (number(kind="int"), True),
                                    "rate": (number(kind="rate"), True),
                                }
                            )
                        ),
                        True,
                    ),
                    "persistency_factor": (tier_table("factor"), False),
                }
            ),
            False,
        ),
        "management_allowance": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "include_own": (boolean, True),
                    "rates": (level_map(number(kind="rate")), True),
                }
            ),
            False,
        ),
        "development_bonus": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "eligible_levels": (LEVELS, True),
                    "generations": (
                        seq(
                            mapping(
                                {
                                    "generation": (number(kind="int"), True),
                                    "rate": (number(kind="rate"), True),
                                    "later_rate": (number(kind="rate"), False),
                                    "first_months": (number(kind="int"), False),
                                }
                            )
                        ),
                        True,
                    ),
                }
            ),
            False,
        ),
        "recruiting_awards": (
            seq(
                mapping(
                    {
                        "id": (RULE_ID, True),
                        "event": (text(choices=AWARD_EVENTS), True),
                        "amount": (number(kind="money"), True),
                        "min_recruit_fyc": (number(kind="money"), False),
                    }
                )
            ),
            False,
        ),
        "clawback": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "free_look": (
                        mapping(
                            {
                                "share": (number(kind="rate"), True),
                                "overrides": (boolean, True),
                            }
                        ),
                        True,
                    ),
                    "early_surrender": (
                        mapping(
                            {
                                "basis": (text(choices=("months_in_force",)), True),
                                "overrides": (boolean, True),
                                "method": (text(choices=("banded",)), True),
                                "bands": (seq(_band(number(kind="rate"))), True),
                            }
                        ),
                        False,
                    ),
                }
            ),
            False,
        ),
        "withholding": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "share": (number(kind="rate"), True),
                    "until": (seq(text(choices=WITHHOLD_UNTIL)), True),
                    "receipt_deadline_day": (number(kind="int", maximum=Decimal(28)), False),
                }
            ),
            False,
        ),
        "performance_bonus": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "basis": (text(choices=("fyc",)), True),
                    "method": (text(choices=TIER_METHODS), True),
                    "bands": (seq(_band(number(kind="rate"))), True),
                }
            ),
            False,
        ),
        "assessment": (ASSESSMENT, False),
        "standard_premium": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "tables": (
                        seq(
                            mapping(
                                {
                                    "categories": (
                                        seq(text(choices=ProductCategory.values)),
                                        False,
                                    ),
                                    "terms": (seq(_band(number(kind="rate"), "factor")), True),
                                }
                            )
                        ),
                        True,
                    ),
                }
            ),
            False,
        ),
        "extension_pay": (
            mapping(
                {
                    "id": (RULE_ID, True),
                    "commission_factor": (number(kind="rate"), True),
                    "renewal_factor": (number(kind="rate"), True),
                }
            ),
            False,
        ),
    }
)


# --- the semantic checks ---------------------------------------------------------------------


def _check_bands(bands: list[dict], path: Path, ctx: _Context, *, start: Decimal | None) -> None:
    """Bands in order, ``from`` < ``to``, each starting where the previous ended; only the last
    may be open (``to: null``); the first starts at ``start`` when one is required."""
    for index, band in enumerate(bands):
        here = (*path, index)
        low, high = band["from"], band["to"]
        if index == 0 and start is not None and low != start:
            ctx.error(
                (*here, "from"),
                _("gap: the first band must start at %(start)s, not %(from)s")
                % {"start": start, "from": low},
            )
        if high is not None and high <= low:
            ctx.error((*here, "to"), _("must be greater than from (%(from)s)") % {"from": low})
        if index == 0:
            continue
        previous_high = bands[index - 1]["to"]
        if previous_high is None:
            ctx.error(
                (*here, "from"),
                _("overlap: band %(prev)d is open-ended (to: null) so nothing can follow it")
                % {"prev": index - 1},
            )
        elif low < previous_high:
            ctx.error(
                (*here, "from"),
                _("overlap: starts at %(from)s but the previous band runs to %(to)s")
                % {"from": low, "to": previous_high},
            )
        elif low > previous_high:
            ctx.error(
                (*here, "from"),
                _("gap: starts at %(from)s but the previous band ends at %(to)s")
                % {"from": low, "to": previous_high},
            )


def _check_inclusive_runs(
    rows: list[dict], path: Path, ctx: _Context, *, first: str, last: str, start: int
) -> None:
    """Inclusive runs (months 1–3, 4–6 …): in order, contiguous, starting at ``start``."""
    expected = start
    for index, row in enumerate(rows):
        here = (*path, index)
        if row[last] < row[first]:
            ctx.error((*here, last), _("must not be before %(first)s") % {"first": first})
        if row[first] < expected:
            ctx.error(
                (*here, first),
                _("overlap: %(value)d is already covered (expected %(expected)d)")
                % {"value": row[first], "expected": expected},
            )
        elif row[first] > expected:
            ctx.error(
                (*here, first),
                _("gap: %(expected)d is not covered (this row starts at %(value)d)")
                % {"value": row[first], "expected": expected},
            )
        expected = max(expected, row[last] + 1)


def _check_level_refs(
    codes: Iterable[str], path: Path, ctx: _Context, ladder: list[str], *, by_key: bool
) -> None:
    for index, code in enumerate(codes):
        if code not in ladder:
            ctx.error(
                (*path, code) if by_key else (*path, index),
                _("level %(code)r does not exist; the ladder has: %(ladder)s")
                % {"code": code[:20], "ladder": ", ".join(ladder)},
            )


def _check_semantics(doc: dict, ctx: _Context, known_levels: Iterable[str] | None) -> None:
    if doc["format"] != FORMAT_VERSION:
        ctx.error(("format",), _("unsupported format %(v)s; expected 1") % {"v": doc["format"]})

    period = doc["period"]
    if period["calendar"] == "work_month" and "start_day" not in period:
        ctx.error(("period",), _("a work month needs start_day (for example 26)"))
    if period["calendar"] == "calendar_month" and period.get("start_day") not in (None, 1):
        ctx.error(("period", "start_day"), _("a calendar month starts on day 1"))
    if period.get("start_day") == 0:
        ctx.error(("period", "start_day"), _("must be between 1 and 28"))

    # The ladder: unique codes and ranks, known to the org app, promotion chain without cycles.
    ladder: list[str] = []
    ranks: dict[tuple[str, int], int] = {}
    known = set(known_levels) if known_levels is not None else None
    for index, level in enumerate(doc["levels"]):
        code = level["code"]
        if code in ladder:
            ctx.error(("levels", index, "code"), _("duplicate level %(code)r") % {"code": code})
            continue
        ladder.append(code)
        rank_key = (level["series"], level["rank"])
        if rank_key in ranks:
            ctx.error(
                ("levels", index, "rank"),
                _("rank %(rank)d is already used by levels[%(other)d] in the %(series)s series")
                % {"rank": level["rank"], "other": ranks[rank_key], "series": level["series"]},
            )
        ranks.setdefault(rank_key, index)
        if known is not None and code not in known:
            ctx.error(
                ("levels", index, "code"),
                _("level %(code)r does not exist in the organisation's ladder (%(known)s)")
                % {"code": code, "known": ", ".join(sorted(known)) or "-"},
            )
    promotes = {}
    for index, level in enumerate(doc["levels"]):
        target = level.get("promotes_to")
        if target is None:
            continue
        if target not in ladder:
            ctx.error(
                ("levels", index, "promotes_to"),
                _("level %(code)r does not exist; the ladder has: %(ladder)s")
                % {"code": target[:20], "ladder": ", ".join(ladder)},
            )
            continue
        promotes[level["code"]] = (target, index)
    reported: set[str] = set()
    for start in promotes:
        chain, code = [start], start
        while code in promotes:
            code = promotes[code][0]
            if code in chain:
                cycle = [*chain[chain.index(code) :], code]
                if not reported & set(cycle):
                    ctx.error(
                        ("levels", promotes[chain[-1]][1], "promotes_to"),
                        _("cycle in the promotion chain: %(chain)s") % {"chain": " → ".join(cycle)},
                    )
                reported.update(cycle)
                break
            chain.append(code)

    # Ids unique across the document.
    seen_ids: dict[str, str] = {}

    def claim(rule_id: str, path: Path) -> None:
        if rule_id in seen_ids:
            ctx.error(
                path,
                _("duplicate rule id %(id)r (also at %(other)s)")
                % {"id": rule_id, "other": seen_ids[rule_id]},
            )
        else:
            seen_ids[rule_id] = path_text(path)

    for key, section in doc.items():
        if isinstance(section, dict) and "id" in section:
            claim(section["id"], (key, "id"))
        elif key in ("fyc_commission", "recruiting_awards"):
            for index, row in enumerate(section):
                claim(row["id"], (key, index, "id"))

    if "base_pay" in doc:
        amounts = doc["base_pay"]["amounts"]
        _check_level_refs(amounts, ("base_pay", "amounts"), ctx, ladder, by_key=True)
        missing = [code for code in ladder if code not in amounts]
        if missing:
            ctx.error(
                ("base_pay", "amounts"),
                _("no amount for level(s): %(codes)s") % {"codes": ", ".join(missing)},
            )
    if "trainee_factor" in doc:
        _check_level_refs(
            doc["trainee_factor"]["levels"], ("trainee_factor", "levels"), ctx, ladder, by_key=False
        )

    # FYC commission: contiguous term bands, complete level tables, no two entries for the
    # same category, payment mode and term.
    covered: dict[tuple[str, str], list[tuple[Decimal, Decimal | None, int]]] = {}
    for index, entry in enumerate(doc["fyc_commission"]):
        path: Path = ("fyc_commission", index)
        _check_bands(entry["terms"], (*path, "terms"), ctx, start=None)
        for band_index, band in enumerate(entry["terms"]):
            rates_path = (*path, "terms", band_index, "rates")
            _check_level_refs(band["rates"], rates_path, ctx, ladder, by_key=True)
            missing = [code for code in ladder if code not in band["rates"]]
            if missing:
                ctx.error(
                    rates_path,
                    _("no rate for level(s): %(codes)s") % {"codes": ", ".join(missing)},
                )
            if band["from"] != band["from"].to_integral_value() or (
                band["to"] is not None and band["to"] != band["to"].to_integral_value()
            ):
                ctx.error((*path, "terms", band_index), _("terms are whole years"))
        low = entry["terms"][0]["from"]
        high = entry["terms"][-1]["to"]
        for category in entry["categories"]:
            for mode in entry["payment_modes"]:
                for other_low, other_high, other in covered.get((category, mode), []):
                    if (high is None or other_low < high) and (
                        other_high is None or low < other_high
                    ):
                        ctx.error(
                            (*path, "categories"),
                            _(
                                "overlap: fyc_commission[%(other)d] already gives a rate for "
                                "category %(category)s, payment mode %(mode)s on these terms"
                            )
                            % {"other": other, "category": category, "mode": mode},
                        )
                covered.setdefault((category, mode), []).append((low, high, index))

    if "new_hire_allowance" in doc:
        section = doc["new_hire_allowance"]
        _check_level_refs(
            section["levels"], ("new_hire_allowance", "levels"), ctx, ladder, by_key=False
        )
        _check_inclusive_runs(
            section["months"],
            ("new_hire_allowance", "months"),
            ctx,
            first="first_month",
            last="last_month",
            start=1,
        )
    if "renewal_commission" in doc:
        section = doc["renewal_commission"]
        _check_inclusive_runs(
            section["rates"],
            ("renewal_commission", "rates"),
            ctx,
            first="first_year",
            last="last_year",
            start=2,
        )
        if "persistency_factor" in section:
            _check_bands(
                section["persistency_factor"]["bands"],
                ("renewal_commission", "persistency_factor", "bands"),
                ctx,
                start=Decimal(0),
            )
    if "management_allowance" in doc:
        _check_level_refs(
            doc["management_allowance"]["rates"],
            ("management_allowance", "rates"),
            ctx,
            ladder,
            by_key=True,
        )
    if "development_bonus" in doc:
        section = doc["development_bonus"]
        _check_level_refs(
            section["eligible_levels"],
            ("development_bonus", "eligible_levels"),
            ctx,
            ladder,
            by_key=False,
        )
        for index, row in enumerate(section["generations"]):
            here: Path = ("development_bonus", "generations", index)
            if row["generation"] != index + 1:
                ctx.error(
                    (*here, "generation"),
                    _("generations are numbered 1, 2, 3 … in order; expected %(n)d, got %(got)d")
                    % {"n": index + 1, "got": row["generation"]},
                )
            if ("later_rate" in row) != ("first_months" in row):
                ctx.error(here, _("later_rate and first_months go together"))
            if row.get("first_months") == 0:
                ctx.error((*here, "first_months"), _("must be at least 1"))
    if "clawback" in doc and "early_surrender" in doc["clawback"]:
        _check_bands(
            doc["clawback"]["early_surrender"]["bands"],
            ("clawback", "early_surrender", "bands"),
            ctx,
            start=Decimal(0),
        )
    if "performance_bonus" in doc:
        _check_bands(
            doc["performance_bonus"]["bands"], ("performance_bonus", "bands"), ctx, start=Decimal(0)
        )
    if "assessment" in doc:
        _check_assessment(doc, ctx, ladder)
    if "standard_premium" in doc:
        _check_standard_premium(doc["standard_premium"], ctx)


def _check_standard_premium(section: dict, ctx: _Context) -> None:
    """Term bands in whole years, in order without gap or overlap; each category in one table
    at most, and at most one table without ``categories`` (the one for every other
    category)."""
    seen: dict[str, int] = {}
    default: int | None = None
    for index, table in enumerate(section["tables"]):
        path: Path = ("standard_premium", "tables", index)
        _check_bands(table["terms"], (*path, "terms"), ctx, start=None)
        for band_index, band in enumerate(table["terms"]):
            if band["from"] != band["from"].to_integral_value() or (
                band["to"] is not None and band["to"] != band["to"].to_integral_value()
            ):
                ctx.error((*path, "terms", band_index), _("terms are whole years"))
        if "categories" not in table:
            if default is not None:
                ctx.error(
                    path,
                    _(
                        "overlap: standard_premium.tables[%(other)d] already has no categories "
                        "(it applies to every category no other table lists)"
                    )
                    % {"other": default},
                )
            default = index if default is None else default
            continue
        for category_index, category in enumerate(table["categories"]):
            if category in seen:
                ctx.error(
                    (*path, "categories", category_index),
                    _("overlap: standard_premium.tables[%(other)d] already lists %(category)s")
                    % {"other": seen[category], "category": category},
                )
            seen.setdefault(category, index)


def _promotions_from(rows: dict[str, dict], code: str) -> set[str]:
    """The levels ``code`` is promoted towards (its ``promotes_to`` chain); a cycle ends it."""
    above: set[str] = set()
    step = rows[code].get("promotes_to")
    while step and step in rows and step not in above and step != code:
        above.add(step)
        step = rows[step].get("promotes_to")
    return above


def demote_target(levels: list[dict], code: str) -> str | None:
    """The level one below ``code`` in its series (the highest rank below it), or None."""
    own = next((row for row in levels if row["code"] == code), None)
    if own is None:
        return None
    lower = [row for row in levels if row["series"] == own["series"] and row["rank"] < own["rank"]]
    return max(lower, key=lambda row: row["rank"])["code"] if lower else None


def _check_criteria_set(section: dict, path: Path, ctx: _Context) -> None:
    """``need`` between 1 and the number of criteria, a known window, one criterion per
    measure, and each threshold of the measure's kind (money, whole number or rate)."""
    count = len(section["criteria"])
    need = section.get("need")
    if need is not None and not 1 <= need <= count:
        ctx.error(
            (*path, "need"),
            _("need %(need)d of %(count)d criteria: must be between 1 and %(count)d")
            % {"need": need, "count": count},
        )
    if section["window"] not in WINDOWS:
        ctx.error(
            (*path, "window"),
            _("window of %(value)d months; expected one of: %(windows)s")
            % {"value": section["window"], "windows": ", ".join(str(w) for w in WINDOWS)},
        )
    seen: set[str] = set()
    for index, criterion in enumerate(section["criteria"]):
        here: Path = (*path, "criteria", index)
        measure, threshold = criterion["measure"], criterion["min"]
        if measure in seen:
            ctx.error((*here, "measure"), _("measure %(m)r is listed twice") % {"m": measure})
        seen.add(measure)
        if measure in MONEY_MEASURES and threshold != threshold.quantize(Decimal("0.01")):
            ctx.error(
                (*here, "min"),
                _("money has at most two decimals (%(value)s)") % {"value": threshold},
            )
        elif measure in COUNT_MEASURES and threshold != threshold.to_integral_value():
            ctx.error(
                (*here, "min"), _("expected a whole number (%(value)s)") % {"value": threshold}
            )
        elif measure in RATE_MEASURES and threshold > 1:
            ctx.error(
                (*here, "min"),
                _("a rate is a fraction between 0 and 1 (%(value)s)") % {"value": threshold},
            )


def _check_assessment(doc: dict, ctx: _Context, ladder: list[str]) -> None:
    section = doc["assessment"]
    levels = section["levels"]
    _check_level_refs(levels, ("assessment", "levels"), ctx, ladder, by_key=True)
    rows = {row["code"]: row for row in doc["levels"]}
    for code, entry in levels.items():
        here: Path = ("assessment", "levels", code)
        level = rows.get(code)
        if level is None:
            continue
        for key in ("promote", "maintain"):
            if key in entry:
                _check_criteria_set(entry[key], (*here, key), ctx)
        if "promote" in entry and not level.get("promotes_to"):
            ctx.error(
                (*here, "promote"),
                _("level %(code)s has no promotes_to in the ladder, so it cannot be promoted")
                % {"code": code},
            )
        trainee = level.get("trainee", False)
        if "probation_months" in entry and not trainee:
            ctx.error(
                (*here, "probation_months"),
                _("only a trainee level has a probation period"),
            )
        if trainee and "probation_months" not in entry:
            ctx.error(here, _("a trainee level needs probation_months (exit when not confirmed)"))
        if entry.get("probation_months") == 0:
            ctx.error((*here, "probation_months"), _("must be at least 1"))
        target = entry.get("demotes_to")
        if target is not None and target not in ladder:
            ctx.error(
                (*here, "demotes_to"),
                _("level %(code)r does not exist; the ladder has: %(ladder)s")
                % {"code": target[:20], "ladder": ", ".join(ladder)},
            )
        elif target == code:
            ctx.error((*here, "demotes_to"), _("a level cannot be demoted to itself"))
        elif target is not None and target in _promotions_from(rows, code):
            # A "demotion" up the ladder (S1 → S2) would pay a failed assessment more, and two
            # such levels would demote into each other (QA, session 20). Another series is
            # fine: a team lead (M1) goes back to senior agent (S3), below it in the chain.
            ctx.error(
                (*here, "demotes_to"),
                _(
                    "%(target)s is above %(code)s (%(code)s is promoted towards it): demotes_to "
                    "must name a lower level"
                )
                % {"target": target, "code": code},
            )
        elif (
            "maintain" in entry
            and not trainee
            and target is None
            and demote_target(doc["levels"], code) is None
        ):
            ctx.error(
                here,
                _("no lower level in the %(series)s series to demote to; give demotes_to")
                % {"series": level["series"]},
            )


# --- what a rule is called -------------------------------------------------------------------

#: Each section of a rule set as a payslip names it (the section's key → its title).
SECTION_TITLES = {
    "base_pay": pgettext_lazy("rule section", "Base pay"),
    "trainee_factor": pgettext_lazy("rule section", "Trainee factor"),
    "fyc_commission": pgettext_lazy("rule section", "FYC commission rates"),
    "new_hire_allowance": pgettext_lazy("rule section", "New-hire allowance"),
    "renewal_commission": pgettext_lazy("rule section", "Renewal commission"),
    "management_allowance": pgettext_lazy("rule section", "Management allowance"),
    "development_bonus": pgettext_lazy("rule section", "Development bonus"),
    "recruiting_awards": pgettext_lazy("rule section", "Recruiting and referral awards"),
    "clawback": pgettext_lazy("rule section", "Clawback"),
    "withholding": pgettext_lazy("rule section", "Withholding"),
    "performance_bonus": pgettext_lazy("rule section", "Performance bonus"),
    "assessment": pgettext_lazy("rule section", "Assessment"),
    "standard_premium": pgettext_lazy("rule section", "Standardised premium"),
    "extension_pay": pgettext_lazy("rule section", "Pay during an extension"),
}


def rule_titles(document: dict[str, Any]) -> dict[str, str]:
    """Each rule id of a stored rule-set document → what a payslip calls it: its section's
    title, and for a commission rate table the categories it covers ("FYC commission rates:
    Accident, Critical illness"). Reads the document as stored (already checked); a section
    this code does not know is left out."""
    categories = dict(ProductCategory.choices)
    titles: dict[str, str] = {}
    for key, title in SECTION_TITLES.items():
        section = document.get(key)
        entries = section if isinstance(section, list) else [section]
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                continue
            text = str(title)
            covered = entry.get("categories") if key == "fyc_commission" else None
            if isinstance(covered, list) and covered:
                names = [str(categories.get(c, c)) for c in covered]
                text = pgettext("rule title", "%(section)s: %(categories)s") % {
                    "section": text,
                    "categories": pgettext("list separator", ", ").join(names),
                }
            titles.setdefault(entry["id"], text)
    return titles


def rule_title(titles: dict[str, str], rule_id: str) -> str:
    """What ``rule_titles`` calls ``rule_id``, or the rule a modifier belongs to
    (``extension_pay.commission_factor`` → the extension's title); "" when none."""
    if rule_id in titles:
        return titles[rule_id]
    head, dot, _tail = rule_id.rpartition(".")
    return titles.get(head, "") if dot else ""


# --- the result -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    code: str
    series: str
    rank: int
    trainee: bool = False
    promotes_to: str | None = None


@dataclass
class RuleBook:
    """A checked rule set: the normalised document (numbers are ``Decimal``) plus lookups."""

    document: dict[str, Any]
    levels: dict[str, Level] = field(default_factory=dict)
    _rates: dict[tuple, tuple[Decimal, str] | None] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        return self.document["name"]

    def section(self, key: str) -> dict[str, Any] | None:
        return self.document.get(key)

    def commission_rate(
        self, *, category: str, payment_mode: str, term_years: int, level: str
    ) -> tuple[Decimal, str] | None:
        """The FYC commission rate and the id of the rule that gives it, or None."""
        key = (category, payment_mode, term_years, level)
        if key not in self._rates:
            self._rates[key] = self._find_rate(*key)
        return self._rates[key]

    def _find_rate(
        self, category: str, payment_mode: str, term_years: int, level: str
    ) -> tuple[Decimal, str] | None:
        for entry in self.document["fyc_commission"]:
            if category not in entry["categories"] or payment_mode not in entry["payment_modes"]:
                continue
            for band in entry["terms"]:
                if band["from"] <= term_years and (band["to"] is None or term_years < band["to"]):
                    rate = band["rates"].get(level)
                    return (rate, entry["id"]) if rate is not None else None
        return None

    def standard_factor(self, *, category: str | None, term_years: int) -> Decimal | None:
        """The standardisation (折标) factor of a policy term for a product category: the band
        of the table listing the category, else of the table without categories; None when
        the rule set has no ``standard_premium`` section or no band covers the term."""
        section = self.document.get("standard_premium")
        if section is None:
            return None
        tables = section["tables"]
        table = next((t for t in tables if category in t.get("categories", ())), None)
        if table is None:
            table = next((t for t in tables if "categories" not in t), None)
        if table is None:
            return None
        for band in table["terms"]:
            if band["from"] <= term_years and (band["to"] is None or term_years < band["to"]):
                return band["factor"]
        return None


def policy_fyc(
    rules: RuleBook | None,
    *,
    basis: str,
    premium: Decimal,
    fyc_rate: Decimal | None,
    category: str | None,
    term_years: int,
) -> Decimal | None:
    """A policy's FYC, the one valuation the pay run and the assessment share: the annualised
    premium × the product's first-year commission rate, on the first-year premium (``fyp``)
    or on the standardised premium (标保, ``standard``: the premium × the rule set's
    standardisation factor for the term, ``standard_premium``). Not rounded. None when it
    cannot be valued: no first-year commission rate, or a standard basis with no factor."""
    if not fyc_rate:
        return None
    if basis == CommissionBasis.STANDARD:
        factor = rules.standard_factor(category=category, term_years=term_years) if rules else None
        if factor is None:
            return None
        return premium * factor * fyc_rate
    return premium * fyc_rate


def tier_apply(*, method: str, bands: list[dict], value: Decimal) -> Decimal:
    """The tier table's result for ``value``: the band's rate × value (banded), or the sum of
    each band's rate × the slice of value inside it (marginal). Not rounded."""
    if method == "banded":
        for band in bands:
            if band["from"] <= value and (band["to"] is None or value < band["to"]):
                return value * band["rate"]
        return Decimal(0)
    total = Decimal(0)
    for band in bands:
        if value <= band["from"]:
            break
        top = value if band["to"] is None else min(value, band["to"])
        total += (top - band["from"]) * band["rate"]
    return total


def tier_rate(*, bands: list[dict], value: Decimal) -> Decimal:
    """The rate of the band ``value`` falls in (0 when no band covers it)."""
    for band in bands:
        if band["from"] <= value and (band["to"] is None or value < band["to"]):
            return band["rate"]
    return Decimal(0)


def ruleset_check(
    data: Any,
    *,
    known_levels: Iterable[str] | None = None,
    lines: dict[Path, int] | None = None,
    source_name: str = "",
) -> RuleBook:
    """Check an already parsed document; raise ``RuleSetInvalid`` listing every problem."""
    ctx = _Context(lines or {})
    doc = SCHEMA(data, (), ctx)
    shaped = doc is not _INVALID and not ctx.errors
    if shaped:
        _check_semantics(doc, ctx, known_levels)
    if ctx.errors:
        raise RuleSetInvalid(ctx.errors, source_name=source_name, partial=not shaped)
    levels = {
        row["code"]: Level(
            code=row["code"],
            series=row["series"],
            rank=row["rank"],
            trainee=row.get("trainee", False),
            promotes_to=row.get("promotes_to"),
        )
        for row in doc["levels"]
    }
    return RuleBook(document=doc, levels=levels)


def ruleset_parse(
    text: str,
    *,
    fmt: str = "",
    filename: str = "",
    known_levels: Iterable[str] | None = None,
) -> tuple[RuleBook, Any]:
    """Parse and check a rule file. Returns the rule book and the raw document (JSON-safe
    once numbers are plain), or raises ``RuleSetInvalid`` with paths, lines and reasons."""
    fmt = fmt or detect_format(text=text, filename=filename)
    try:
        data, lines, duplicates = _read(text, fmt)
    except RuleSetInvalid as exc:  # the same errors, naming the file
        if not filename:
            raise
        raise RuleSetInvalid(
            exc.errors, source_name=filename, partial=exc.details.get("partial", False)
        ) from None
    if duplicates:
        raise RuleSetInvalid(duplicates, source_name=filename)
    if data is None:  # blank lines and comments only: "expected a mapping, got null" says less
        raise RuleSetInvalid(
            [RuleError("", _("the file holds no rules, only comments or blank lines"), None)],
            source_name=filename,
        )
    book = ruleset_check(data, known_levels=known_levels, lines=lines, source_name=filename)
    return book, data


#: The keys that name an entry of a list of mappings (a level by its code, a commission table
#: by its id, a development generation by its number), so that a change reads "the S2 rate of
#: fyc.protection" rather than "entry 0".
_ENTRY_KEYS = ("id", "code", "generation")


def _same_value(a: Any, b: Any) -> bool:
    """Equal as rules: 0.30 and 0.3 are the same rate."""
    if a == b:
        return True
    try:
        return Decimal(str(a)) == Decimal(str(b))
    except (ArithmeticError, ValueError, TypeError):
        return False


def _shown(value: Any) -> str:
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join("—" if v is None else str(v) for v in value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return "—" if value is None else str(value)


def _entry_key(items: list) -> str | None:
    """The key naming each entry of a list of mappings, when every entry has it, once."""
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in _ENTRY_KEYS:
        names = [item.get(key) for item in items]
        if None not in names and len(set(map(str, names))) == len(names):
            return key
    return None


def document_changes(before: Any, after: Any, path: str = "") -> list[tuple[str, str, str]]:
    """What changes from one rule document to another, as (path, before, after) texts in the
    documents' order: a mapping compared key by key, a list of named entries (``_ENTRY_KEYS``)
    entry by entry (``fyc_commission[fyc.protection].terms[0].rates.S2``), any other list
    item by item, a list of plain values as a whole; "—" where a value is absent. Numbers
    compare as numbers."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[tuple[str, str, str]] = []
        for key in [*before, *(k for k in after if k not in before)]:
            where = f"{path}.{key}" if path else str(key)
            out += document_changes(before.get(key), after.get(key), where)
        return out
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and (any(isinstance(v, dict | list) for v in [*before, *after]))
    ):
        key = _entry_key(before) if before else _entry_key(after)
        if (
            key is not None
            and (not after or _entry_key(after) == key)
            and (not before or _entry_key(before) == key)
        ):
            old = {str(item[key]): item for item in before}
            new = {str(item[key]): item for item in after}
            names = [*old, *(n for n in new if n not in old)]
            out = []
            for name in names:
                out += document_changes(old.get(name), new.get(name), f"{path}[{name}]")
            return out
        out = []
        for i in range(max(len(before), len(after))):
            out += document_changes(
                before[i] if i < len(before) else None,
                after[i] if i < len(after) else None,
                f"{path}[{i}]",
            )
        return out
    if before is None and isinstance(after, dict | list) and after:
        return document_changes({} if isinstance(after, dict) else [], after, path)
    if after is None and isinstance(before, dict | list) and before:
        return document_changes(before, {} if isinstance(before, dict) else [], path)
    if isinstance(before, list) and isinstance(after, list):
        if len(before) == len(after) and all(map(_same_value, before, after)):
            return []
    elif _same_value(before, after):
        return []
    return [(path, _shown(before), _shown(after))]


def document_to_json(data: Any) -> Any:
    """The raw document as JSON-safe data: Decimals and floats become their exact text, so
    the stored document parses back to the same rule book."""
    if isinstance(data, dict):
        return {str(k): document_to_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [document_to_json(v) for v in data]
    if isinstance(data, Decimal | float):
        return str(data)
    return data
