"""The assessment (考核) evaluator and the early-warning (晋升预警) pace check: pure Python.

Records in (``PersonRecord``: level, dates, team links and monthly figures), outcomes out.
No database: ``assessment_inputs.py`` builds the records, ``assessing.py`` stores outcomes.

Rules (the ``assessment`` section of the rule set, see ``rules_format.py``):

- a level is **due** at the end of its period: monthly every month, quarterly in months
  3/6/9/12, half-yearly in months 6/12 (the month of the pay period's label);
- a **criteria set** (promote or maintain) is met when ``need`` of its criteria are met (all
  when ``need`` is absent); each criterion is "measured value ≥ threshold" over the last
  ``window`` monthly buckets ending with the assessed period;
- **persistency** is *waived* below ``persistency_waived_below_months`` of tenure, or when the
  person has no 13-month cohort in the window (for the early warning, a cohort whose policies
  are all still in their grace period is not waived: the criterion stays, unmet, with its
  ``pending`` count and no value): a waived criterion leaves the set and ``need`` is capped
  at what remains (waiving never lowers the bar of the other criteria);
- **outcome**: promote when the promote set is met (and the level promotes); a trainee not
  promoted by the end of probation exits (still in probation: maintain); otherwise maintain
  when there is no maintain set or it is met; a failure first *extends* (``extensions``
  consecutive extensions, default 1) and then *demotes* one level (``demotes_to`` or the next
  lower rank of the series).

Measures over a window: ``fyc`` (sum, rounded to the cent half up before comparing),
``cases`` (policies issued and not cancelled), ``persistency13`` (Σ persisting premium /
Σ cohort premium of the 13-month cohorts measured in the window's months), ``team_fyc``
(own + direct reports' FYC), ``dept_fyc`` (own + the FYC of everyone under the person through
the reporting lines: a manager's 直辖部, the teams of the team leads who report to them), and
at the period end: ``months_in_grade``, ``team_headcount`` (direct reports in service),
``dept_headcount`` (everyone in service under the person), ``groups_developed`` (recruits in
service at a management-series level).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from telesales.compensation.engine import cents, months_between
from telesales.compensation.rules_format import (
    COUNT_MEASURES,
    MONEY_MEASURES,
    RuleBook,
    demote_target,
)

PROMOTE, MAINTAIN, EXTEND, DEMOTE, EXIT = "promote", "maintain", "extend", "demote", "exit"
OUTCOMES = (PROMOTE, MAINTAIN, EXTEND, DEMOTE, EXIT)
#: Measures summed over the window: their pace can be projected to the period end.
CUMULATIVE = ("fyc", "cases", "team_fyc")
DUE_MONTHS = {
    "monthly": range(1, 13),
    "quarterly": (3, 6, 9, 12),
    "half_yearly": (6, 12),
}
#: Early-warning flags of a criterion and of a criteria set.
MET, ON_TRACK, AT_RISK, FAILING, WAIVED = "met", "on_track", "at_risk", "failing", "waived"
ZERO = Decimal("0")


@dataclass(frozen=True)
class MonthFigures:
    """One monthly bucket of a person's own figures."""

    fyc: Decimal = ZERO
    cases: int = 0
    persistency_num: Decimal = ZERO
    persistency_den: Decimal = ZERO
    #: Cohort policies not decided yet on the day measured (in their grace period, unpaid).
    persistency_pending: int = 0


@dataclass(frozen=True)
class PersonRecord:
    """A person as the evaluator sees them. ``months[0]`` is the bucket of the assessed
    period, ``months[1]`` the one before … ``previous``: the outcomes of this person's earlier
    approved assessments at the current level, newest first."""

    id: int
    level: str
    hire_date: dt.date
    grade_since: dt.date
    leader_id: int | None = None
    recruiter_id: int | None = None
    months: tuple[MonthFigures, ...] = ()
    previous: tuple[str, ...] = ()


@dataclass(frozen=True)
class Frame:
    """Where the assessment stands: the period end, the start of each monthly bucket
    (``month_starts[0]`` is the assessed period's) and the month of the period's label."""

    period_end: dt.date
    label_month: int
    month_starts: tuple[dt.date, ...]
    #: The day measured up to (the period end for an assessment; any day for a warning).
    as_of: dt.date | None = None

    @property
    def today(self) -> dt.date:
        return self.as_of or self.period_end

    @property
    def over(self) -> bool:
        """The period is over: an assessment (measured at the period end, after it) or a day
        after it. On its last day a warning still has that day: sales made until midnight
        count."""
        return self.as_of is None or self.as_of > self.period_end

    @property
    def days_left(self) -> int:
        """The days of the period still to come, today included (1 on its last day); 0 once
        it is over."""
        return 0 if self.over else (self.period_end - self.today).days + 1


@dataclass(frozen=True)
class Outcome:
    person_id: int
    from_level: str
    outcome: str
    to_level: str | None
    criteria: dict[str, Any] = field(default_factory=dict)


def _text(value: Decimal | int | None) -> str | None:
    return None if value is None else str(value)


class _Team:
    """Who reports to whom and who recruited whom, over every record."""

    def __init__(self, people: list[PersonRecord]) -> None:
        self.reports: dict[int, list[PersonRecord]] = {}
        self.recruits: dict[int, list[PersonRecord]] = {}
        for person in people:
            if person.leader_id is not None and person.leader_id != person.id:
                self.reports.setdefault(person.leader_id, []).append(person)
            if person.recruiter_id is not None and person.recruiter_id != person.id:
                self.recruits.setdefault(person.recruiter_id, []).append(person)

    def department(self, person_id: int) -> list[PersonRecord]:
        """Everyone under ``person_id`` through the reporting lines (direct reports, theirs,
        and so on: a manager's teams with their members), each once; a cycle in the data
        stops where it comes back."""
        seen = {person_id}
        found: list[PersonRecord] = []
        stack = list(self.reports.get(person_id, []))
        while stack:
            member = stack.pop()
            if member.id in seen:
                continue
            seen.add(member.id)
            found.append(member)
            stack.extend(self.reports.get(member.id, []))
        return found


def _window(person: PersonRecord, window: int) -> tuple[MonthFigures, ...]:
    return person.months[:window]


def measure_value(
    *, book: RuleBook, person: PersonRecord, measure: str, window: int, frame: Frame, team: _Team
) -> Decimal | int | None:
    """The measured value of one measure, or None when it cannot be measured (persistency
    without a cohort)."""
    months = _window(person, window)
    if measure == "fyc":
        return cents(sum((m.fyc for m in months), ZERO))
    if measure == "cases":
        return sum(m.cases for m in months)
    if measure == "persistency13":
        den = sum((m.persistency_den for m in months), ZERO)
        if not den:
            return None
        num = sum((m.persistency_num for m in months), ZERO)
        return (num / den).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if measure == "team_fyc":
        total = sum((m.fyc for m in months), ZERO)
        for member in team.reports.get(person.id, []):
            total += sum((m.fyc for m in _window(member, window)), ZERO)
        return cents(total)
    if measure == "dept_fyc":
        total = sum((m.fyc for m in months), ZERO)
        for member in team.department(person.id):
            total += sum((m.fyc for m in _window(member, window)), ZERO)
        return cents(total)
    if measure == "dept_headcount":
        return len(team.department(person.id))
    if measure == "months_in_grade":
        return max(months_between(person.grade_since, frame.period_end + dt.timedelta(days=1)), 0)
    if measure == "team_headcount":
        return len(team.reports.get(person.id, []))
    if measure == "groups_developed":
        return sum(
            1
            for recruit in team.recruits.get(person.id, [])
            if recruit.level in book.levels and book.levels[recruit.level].series == "mgmt"
        )
    raise ValueError(measure)


def _waiver(
    *, section: dict, person: PersonRecord, measure: str, value: Any, frame: Frame
) -> str | None:
    if measure != "persistency13":
        return None
    below = section.get("persistency_waived_below_months")
    if (
        below is not None
        and months_between(person.hire_date, frame.period_end + dt.timedelta(days=1)) < below
    ):
        return "tenure"
    if value is None:
        return "no_cohort"
    return None


def _pending(person: PersonRecord, window: int) -> int:
    return sum(m.persistency_pending for m in _window(person, window))


def _projection(
    *, measure: str, value: Any, threshold: Decimal, window: int, frame: Frame, pace: Decimal
) -> tuple[str, Decimal | None]:
    """The early-warning flag of one unmet criterion and its projected value at the period
    end (cumulative measures only)."""
    if frame.over or measure == "months_in_grade":
        return FAILING, None
    if measure not in CUMULATIVE:
        return AT_RISK, None
    start = frame.month_starts[min(window, len(frame.month_starts)) - 1]
    total = (frame.period_end - start).days + 1
    elapsed = max((frame.today - start).days + 1, 1)
    projected = Decimal(value) * total / elapsed
    return (ON_TRACK if projected >= threshold * pace else AT_RISK), projected


def criteria_set_evaluate(
    *,
    book: RuleBook,
    person: PersonRecord,
    rules: dict,
    frame: Frame,
    team: _Team,
) -> dict[str, Any]:
    """Each criterion's measured value, threshold and result, and whether ``need`` of them
    are met; with the early-warning flag (which equals met/failing at the period end)."""
    section = book.section("assessment") or {}
    pace = (section.get("warning") or {}).get("on_track_pace", Decimal(1))
    rows = []
    for criterion in rules["criteria"]:
        measure, threshold = criterion["measure"], criterion["min"]
        value = measure_value(
            book=book,
            person=person,
            measure=measure,
            window=rules["window"],
            frame=frame,
            team=team,
        )
        waived = _waiver(section=section, person=person, measure=measure, value=value, frame=frame)
        row: dict[str, Any] = {
            "measure": measure,
            "value": _text(value),
            "threshold": _text(int(threshold) if measure in COUNT_MEASURES else threshold),
            "window": rules["window"],
            "met": None if waived else value >= threshold,
            "waived": waived,
            "gap": None,
            "projected": None,
        }
        if measure == "persistency13" and (pending := _pending(person, rules["window"])):
            # Policies whose 13-month premium may still be paid in time (the early warning; an
            # assessment whose rule set says persistency_in_grace: pending).
            row["pending"] = pending
            if waived == "no_cohort" and frame.as_of is None:
                # An assessment told to leave pending premiums out: nothing decided is as no
                # cohort (waived), named for what it is.
                row["waived"] = waived = "pending"
            elif waived == "no_cohort":
                # Early warning: nothing decided yet, but a cohort exists: the criterion stays
                # in the set (it may still be met, so the other criteria's bar is not raised),
                # unmet so far.
                row["waived"] = waived = None
                row["met"] = False
                row["flag"] = FAILING if frame.over else AT_RISK
                rows.append(row)
                continue
        if waived:
            row["flag"] = WAIVED
        elif row["met"]:
            row["flag"] = MET
        else:
            gap = threshold - Decimal(value)
            row["gap"] = _text(int(gap) if measure in COUNT_MEASURES else gap)
            if measure in MONEY_MEASURES:
                row["gap"] = _text(gap.quantize(Decimal("0.01")))
            row["flag"], projected = _projection(
                measure=measure,
                value=value,
                threshold=threshold,
                window=rules["window"],
                frame=frame,
                pace=pace,
            )
            if projected is not None:
                row["projected"] = _text(projected.quantize(Decimal("0.01")))
        rows.append(row)
    active = [r for r in rows if not r["waived"]]
    need = min(rules.get("need") or len(rows), len(active))
    met = sum(1 for r in active if r["met"])
    hopeful = sum(1 for r in active if r["flag"] in (MET, ON_TRACK))
    alive = sum(1 for r in active if r["flag"] != FAILING)
    if met >= need:
        flag = MET
    elif alive < need:
        flag = FAILING
    elif hopeful >= need:
        flag = ON_TRACK
    else:
        flag = AT_RISK
    return {
        "need": need,
        "of": len(active),
        "met_count": met,
        "met": met >= need,
        "flag": flag,
        "window": rules["window"],
        "criteria": rows,
    }


def is_due(*, book: RuleBook, level: str, label_month: int) -> bool:
    entry = (book.section("assessment") or {}).get("levels", {}).get(level)
    return entry is not None and label_month in DUE_MONTHS[entry["period"]]


def probation_end(hire_date: dt.date, months: int) -> dt.date:
    """The last day of a probation of ``months`` from ``hire_date`` (hired 01-15, 3 months:
    04-14)."""
    year, month = divmod(hire_date.month - 1 + months, 12)
    year += hire_date.year
    month += 1
    day = hire_date.day
    while True:
        try:
            return dt.date(year, month, day) - dt.timedelta(days=1)
        except ValueError:
            day -= 1


def _demote_to(book: RuleBook, entry: dict, code: str) -> str | None:
    return entry.get("demotes_to") or demote_target(book.document["levels"], code)


def _extensions_used(person: PersonRecord) -> int:
    """The extensions in a row the person's latest outcomes gave (newest first)."""
    used = 0
    for previous in person.previous:
        if previous != EXTEND:
            break
        used += 1
    return used


def person_assess(*, book: RuleBook, person: PersonRecord, frame: Frame, team: _Team) -> Outcome:
    """The outcome for one person whose level is due."""
    entry = book.section("assessment")["levels"][person.level]
    level = book.levels[person.level]
    detail: dict[str, Any] = {"period": entry["period"]}
    for key in ("promote", "maintain"):
        if key in entry:
            detail[key] = criteria_set_evaluate(
                book=book, person=person, rules=entry[key], frame=frame, team=team
            )
    if "promote" in detail and detail["promote"]["met"] and level.promotes_to:
        return Outcome(person.id, person.level, PROMOTE, level.promotes_to, detail)
    if level.trainee:
        ends = probation_end(person.hire_date, entry["probation_months"])
        detail["probation_end"] = ends.isoformat()
        if frame.period_end >= ends:
            return Outcome(person.id, person.level, EXIT, None, detail)
        return Outcome(person.id, person.level, MAINTAIN, person.level, detail)
    if "maintain" not in detail or detail["maintain"]["met"]:
        return Outcome(person.id, person.level, MAINTAIN, person.level, detail)
    allowed = entry.get("extensions", 1)
    used = _extensions_used(person)
    detail["extensions_used"] = used
    detail["extensions_allowed"] = allowed
    if used < allowed:
        return Outcome(person.id, person.level, EXTEND, person.level, detail)
    return Outcome(person.id, person.level, DEMOTE, _demote_to(book, entry, person.level), detail)


def assess(*, book: RuleBook, people: list[PersonRecord], frame: Frame) -> list[Outcome]:
    """The outcome of every person whose level is due at ``frame.period_end``, by id.
    ``people`` holds everyone in service (team measures read the others)."""
    team = _Team(people)
    return [
        person_assess(book=book, person=person, frame=frame, team=team)
        for person in sorted(people, key=lambda p: p.id)
        if is_due(book=book, level=person.level, label_month=frame.label_month)
    ]


def warn(
    *, book: RuleBook, people: list[PersonRecord], frame: Frame, only: set[int] | None = None
) -> list[dict[str, Any]]:
    """Early warning on ``frame.as_of`` for the period ending ``frame.period_end``: per person
    the promote and maintain sets with each criterion's gap and flag, and an overall flag (the
    maintain set's, else the promote set's)."""
    team = _Team(people)
    section = book.section("assessment") or {}
    out = []
    for person in sorted(people, key=lambda p: p.id):
        if only is not None and person.id not in only:
            continue
        entry = section.get("levels", {}).get(person.level)
        if entry is None:
            continue
        level = book.levels[person.level]
        sets: dict[str, Any] = {}
        if "promote" in entry and level.promotes_to:
            sets["promote"] = criteria_set_evaluate(
                book=book, person=person, rules=entry["promote"], frame=frame, team=team
            )
            sets["promote"]["to_level"] = level.promotes_to
        if "maintain" in entry:
            sets["maintain"] = criteria_set_evaluate(
                book=book, person=person, rules=entry["maintain"], frame=frame, team=team
            )
        main = sets.get("maintain") or sets.get("promote")
        out.append(
            {
                "person_id": person.id,
                "level": person.level,
                "period": entry["period"],
                "period_end": frame.period_end.isoformat(),
                "as_of": frame.today.isoformat(),
                "days_left": frame.days_left,
                "flag": main["flag"] if main else MET,
                **sets,
                **_at_stake(book, person, entry, frame),
            }
        )
    return out


def _at_stake(book: RuleBook, person: PersonRecord, entry: dict, frame: Frame) -> dict:
    """What the period's assessment does if the person falls short, as ``person_assess``
    would decide it: a trainee whose probation ends by the period end exits unless promoted
    (``probation_end``, ``short_outcome`` exit); otherwise a maintenance failure extends while
    extensions are left, then demotes (``short_outcome``, ``demote_to``, ``extensions_used``,
    ``extensions_allowed``). QA: the warning said only "at risk" to someone one period from
    an exit."""
    level = book.levels[person.level]
    if level.trainee and "probation_months" in entry:
        ends = probation_end(person.hire_date, entry["probation_months"])
        found: dict[str, Any] = {"probation_end": ends.isoformat()}
        if frame.period_end >= ends:
            found["short_outcome"] = EXIT
        return found
    if "maintain" not in entry:
        return {}
    allowed = entry.get("extensions", 1)
    used = _extensions_used(person)
    if used < allowed:
        return {"short_outcome": EXTEND, "extensions_used": used, "extensions_allowed": allowed}
    return {
        "short_outcome": DEMOTE,
        "demote_to": _demote_to(book, entry, person.level),
        "extensions_used": used,
        "extensions_allowed": allowed,
    }
