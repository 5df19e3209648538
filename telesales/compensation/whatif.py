"""What-if (试算): run a draft rule set over a past period's inputs and compare it with the
approved rule set in force for that period, before the draft goes live. A read: nothing is
written, no pay run is touched.

Both sides run the engine over the same database records (``payinputs.pay_inputs``, each
valued with its own rule set), so the comparison shows the effect of the rules alone: the
approved side is recomputed, not read from the period's pay run (later data changes would
blur it). The adjustments the period's pay run paid (manual corrections, ``adjustment``
lines) are added to **both** sides, the same amounts: each person's approved figure is then
what their payslip of that run totals (as long as the records have not changed since), the
change is the rules' alone, and the adjustments are shown on their own (per person and as a
kind of line, whose change is zero). When the two rule sets have different calendars, each
side reads the inputs of its own period with the same label.

The result: the total cost of each side and the change; each person's gain or loss (largest
gain first, then by person id); the change by kind of line; and, when both rule sets have an
``assessment`` section, the people whose assessment outcome (promote, maintain, extend,
demote, exit) or target level would differ.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.compensation import permissions
from telesales.compensation.assessment import assess
from telesales.compensation.assessment_inputs import assessment_records, period_containing
from telesales.compensation.choices import PayLineKind, RuleSetStatus
from telesales.compensation.engine import (
    KINDS,
    PayInputInvalid,
    PayLine,
    Period,
    compute_pay,
    period_for,
)
from telesales.compensation.models import AssessmentOutcomeKind, PayAdjustment, PayRun, RuleSet
from telesales.compensation.payinputs import PayInputs, pay_inputs
from telesales.compensation.payrun import adjustment_lines, payrun_period
from telesales.compensation.rules_format import RuleBook
from telesales.compensation.rulesets import ruleset_rulebook
from telesales.core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from telesales.org.models import Person

ZERO = Decimal("0")


@dataclass(frozen=True)
class PersonChange:
    person_id: int
    name: str
    approved: Decimal
    draft: Decimal
    #: The adjustments the period's pay run paid the person: included in both figures.
    adjustments: Decimal = ZERO

    @property
    def change(self) -> Decimal:
        return self.draft - self.approved


@dataclass(frozen=True)
class KindChange:
    kind: str
    approved: Decimal
    draft: Decimal

    @property
    def label(self) -> str:
        return str(dict(PayLineKind.choices).get(self.kind, self.kind))

    @property
    def change(self) -> Decimal:
        return self.draft - self.approved


@dataclass(frozen=True)
class AssessmentChange:
    person_id: int
    name: str
    level: str
    approved_outcome: str | None
    approved_to: str | None
    draft_outcome: str | None
    draft_to: str | None

    @property
    def approved_label(self) -> str:
        """The approved outcome in the reader's words (晋升, 维持 …); "" when none."""
        return _outcome_label(self.approved_outcome)

    @property
    def draft_label(self) -> str:
        return _outcome_label(self.draft_outcome)


def _outcome_label(code: str | None) -> str:
    if not code:
        return ""
    try:
        return str(AssessmentOutcomeKind(code).label)
    except ValueError:
        return code


@dataclass(frozen=True)
class WhatIf:
    label: str
    period_start: dt.date
    period_end: dt.date
    approved: RuleSet
    draft: RuleSet
    approved_total: Decimal
    draft_total: Decimal
    people: list[PersonChange]
    kinds: list[KindChange]
    #: None when one of the rule sets has no assessment section (``assessment_note`` says).
    assessment: list[AssessmentChange] | None = None
    assessment_note: str = ""
    changed_people: int = field(default=0)
    #: The adjustments paid in the period's pay run, included in both totals.
    adjustments_total: Decimal = ZERO
    #: The period's pay run, if one was computed: its figures read as the payslips show them.
    payrun: PayRun | None = None

    @property
    def payrun_differs(self) -> bool:
        """The recomputed approved side no longer equals what the period's run totals (its
        records changed after it was computed)."""
        return self.payrun is not None and self.payrun.total != self.approved_total

    @property
    def change(self) -> Decimal:
        return self.draft_total - self.approved_total


def _inputs(period: Period, book: RuleBook) -> PayInputs:
    """The period's records, valued with ``book`` (standardisation factors, extensions)."""
    inputs = pay_inputs(period, book, plain=True)
    if not inputs.people:
        raise ValidationFailed(
            _("There is no pay data for %(p)s") % {"p": period.label},
            fields={"period_start": [_("Choose a period with people in service.")]},
        )
    return inputs


def _lines(book: RuleBook, ruleset: RuleSet, period: Period, inputs: PayInputs) -> list[PayLine]:
    try:
        lines = compute_pay(
            book,
            version=ruleset.version,
            period=period,
            people=inputs.people,
            policies=inputs.policies,
            cells=inputs.cells,
        )
    except PayInputInvalid as exc:
        raise PayInputInvalid(inputs.problems + exc.problems) from None
    if inputs.problems:
        raise PayInputInvalid(inputs.problems)
    return lines


def _period_adjustments(period: Period) -> tuple[PayRun | None, list[PayLine]]:
    """The period's pay run and the ``adjustment`` lines it paid (the same lines as on its
    payslips)."""
    run = PayRun.objects.filter(period_start=period.start).first()
    if run is None:
        return None, []
    adjustments = PayAdjustment.objects.filter(applied_run=run).order_by("person_id", "id")
    return run, adjustment_lines(adjustments, version=run.ruleset_version)


def _assessment_changes(
    approved: RuleBook, draft: RuleBook, *, year: int, month: int, names: dict[int, str]
) -> tuple[list[AssessmentChange] | None, str]:
    missing = [
        label
        for label, book in ((_("approved"), approved), (_("draft"), draft))
        if book.section("assessment") is None
    ]
    if missing:
        return None, _("No assessment comparison: the %(which)s rule set has no assessment") % {
            "which": " / ".join(missing)
        }
    outcomes = []
    for book in (approved, draft):
        frame, records = assessment_records(book, year=year, month=month)
        outcomes.append({o.person_id: o for o in assess(book=book, people=records, frame=frame)})
    before, after = outcomes
    unnamed = (set(before) | set(after)) - set(names)
    if unnamed:
        names = {**names, **dict(Person.objects.filter(pk__in=unnamed).values_list("pk", "name"))}
    changes = []
    for person_id in sorted(set(before) | set(after)):
        old, new = before.get(person_id), after.get(person_id)
        pair_old = (old.outcome, old.to_level) if old else (None, None)
        pair_new = (new.outcome, new.to_level) if new else (None, None)
        if pair_old == pair_new:
            continue
        changes.append(
            AssessmentChange(
                person_id=person_id,
                name=names.get(person_id, f"person:{person_id}"),
                level=(old or new).from_level,
                approved_outcome=pair_old[0],
                approved_to=pair_old[1],
                draft_outcome=pair_new[0],
                draft_to=pair_new[1],
            )
        )
    return changes, ""


def _period_begun(period: Period, book: RuleBook) -> None:
    """Refuse a period that has not begun (its first day after today, the center's date):
    nothing has been worked or sold in it. One error, the same as the message and on
    ``period_start``: what is wrong and which months can be chosen (the one under way, by
    the calendar of ``book``, or an earlier one)."""
    today = timezone.localdate()
    if period.start <= today:
        return
    message = _(
        "The pay period %(p)s has not begun yet (it starts on %(day)s), so there is nothing "
        "to compare. Choose %(current)s (under way) or an earlier month."
    ) % {
        "p": period.label,
        "day": period.start.isoformat(),
        "current": period_containing(book, today).label,
    }
    raise ValidationFailed(message, fields={"period_start": [message]})


def ruleset_whatif(*, user, draft_id: int, period_start: dt.date) -> WhatIf:
    """Compare the draft rule set ``draft_id`` with the approved one over the period starting
    on ``period_start`` (a past or the current period). ``NotFound`` for an unknown rule set,
    ``InvalidState`` for one that is not a draft, ``ValidationFailed`` for a period without
    an approved rule set, not begun yet or without data, ``PayInputInvalid`` for missing
    data."""
    if not permissions.can_run_pay(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may run a what-if"))
    draft = RuleSet.objects.filter(pk=draft_id).first()
    if draft is None:
        raise NotFound(_("No rule set %(id)s") % {"id": draft_id})
    if draft.status != RuleSetStatus.DRAFT:
        raise InvalidState(
            _("Rule set version %(v)d is approved; a what-if compares a draft")
            % {"v": draft.version}
        )
    approved, approved_book, period = payrun_period(period_start=period_start)
    _period_begun(period, approved_book)
    draft_book = ruleset_rulebook(draft)
    year, month = (int(part) for part in period.label.split("-"))
    before = _lines(approved_book, approved, period, _inputs(period, approved_book))
    # The draft reads the records again: its own calendar may give another period, and its
    # standardisation factors and extension rules value the same records differently.
    draft_period = period_for(draft_book, year=year, month=month)
    after = _lines(draft_book, draft, draft_period, _inputs(draft_period, draft_book))
    # What the period's run paid by hand is not the rules': the same on both sides.
    run, adjusted = _period_adjustments(period)
    before, after = before + adjusted, after + adjusted
    paid_by_hand: dict[int, Decimal] = {}
    for line in adjusted:
        paid_by_hand[line.person_id] = paid_by_hand.get(line.person_id, ZERO) + line.amount
    person_ids = sorted({ln.person_id for ln in before} | {ln.person_id for ln in after})
    names = dict(Person.objects.filter(pk__in=person_ids).values_list("pk", "name"))
    totals: dict[int, list[Decimal]] = {pid: [ZERO, ZERO] for pid in person_ids}
    by_kind: dict[str, list[Decimal]] = {}
    for side, lines in enumerate((before, after)):
        for line in lines:
            totals[line.person_id][side] += line.amount
            by_kind.setdefault(line.kind, [ZERO, ZERO])[side] += line.amount
    people = sorted(
        (
            PersonChange(
                pid, names.get(pid, f"person:{pid}"), old, new, paid_by_hand.get(pid, ZERO)
            )
            for pid, (old, new) in totals.items()
        ),
        key=lambda c: (-c.change, c.person_id),
    )
    order = {kind: i for i, kind in enumerate((*KINDS, PayLineKind.ADJUSTMENT))}
    kinds = [
        KindChange(kind, old, new)
        for kind, (old, new) in sorted(by_kind.items(), key=lambda kv: order.get(kv[0], 99))
    ]
    assessment, note = _assessment_changes(
        approved_book, draft_book, year=year, month=month, names=names
    )
    return WhatIf(
        label=period.label,
        period_start=period.start,
        period_end=period.end,
        approved=approved,
        draft=draft,
        approved_total=sum((ln.amount for ln in before), ZERO),
        draft_total=sum((ln.amount for ln in after), ZERO),
        people=people,
        kinds=kinds,
        assessment=assessment,
        assessment_note=note,
        changed_people=sum(1 for c in people if c.change != ZERO),
        adjustments_total=sum(paid_by_hand.values(), ZERO),
        payrun=run,
    )
