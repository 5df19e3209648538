"""JSON endpoints of the assessment (考核) and the promotion early warning (晋升预警). Same
services and selectors as the pages: HR admin and the center manager run, decide and approve;
everyone reads the early warning of the people in sight (their own; a team lead their team)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from telesales.compensation import assessing, selectors
from telesales.core.errors import NotFound
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE, InputSchema
from telesales.org.selectors import person_for_user

router = Router(tags=["compensation"])


class WarningCriterionOut(Schema):
    """One criterion of a level's promotion or maintenance standard, measured on ``as_of``."""

    model_config = ConfigDict(extra="allow")

    measure: str = Field(
        description=(
            "fyc, team_fyc, dept_fyc, cases, persistency13, team_headcount, dept_headcount, "
            "groups_developed, months_in_grade, …"
        )
    )
    value: Decimal | None = Field(description="The figure so far (a rate as a fraction).")
    threshold: Decimal = Field(description="The standard's minimum.")
    window: int | None = Field(default=None, description="Months measured (3, 6 or 12).")
    met: bool | None = Field(description="Null when the criterion is waived.")
    pending: int | None = Field(
        default=None,
        description="persistency13: policies whose 13th-month premium may still be paid.",
    )
    waived: str | None = Field(
        default=None,
        description=(
            'Why the criterion does not count: "tenure" (persistency below a tenure), '
            '"no_cohort", "pending"; null when it counts.'
        ),
    )
    gap: Decimal | None = Field(default=None, description="What is still missing; null: met.")
    projected: Decimal | None = Field(
        default=None, description="The figure at the period's end at today's pace."
    )
    flag: str = Field(description="met, on_track, at_risk, failing or waived.")


class WarningSetOut(Schema):
    """A criteria set: ``need`` of the ``of`` criteria must be met."""

    model_config = ConfigDict(extra="allow")

    need: int
    of: int
    met_count: int
    met: bool
    flag: str = Field(description="met, on_track, at_risk or failing: the set's state.")
    window: int | None = None
    criteria: list[WarningCriterionOut]
    summary: str = Field(
        description="In the caller's language: \"needs ¥3,200.00 more FYC and 1 more policy in "
        '24 days", "met", …'
    )


class EarlyWarningOut(Schema):
    """A person's promotion early warning (晋升预警) on ``as_of``: the gap to the next level
    (``promote``) and to keeping their own (``maintain``), each absent when the level has no
    such standard."""

    model_config = ConfigDict(extra="allow")

    person_id: int
    level: str
    period: str = Field(description="monthly, quarterly or half_yearly: the level's period.")
    period_end: dt.date
    as_of: dt.date
    days_left: int = Field(
        description="Days of the period still to come, the day asked for included (1 on the "
        "period's last day)."
    )
    flag: str = Field(description="The worse of the two sets' flags.")
    promote: WarningSetOut | None = None
    maintain: WarningSetOut | None = None
    short_outcome: str | None = Field(
        default=None, description="What failing maintenance would bring: extend, demote or exit."
    )
    extensions_used: int | None = None
    extensions_allowed: int | None = None
    probation_end: dt.date | None = Field(
        default=None, description="A trainee's last day to be confirmed (else they exit)."
    )


class AssessmentRunOut(Schema):
    id: int
    label: str
    period_end: dt.date
    ruleset_version: int
    status: str
    run_count: int
    computed_at: dt.datetime | None
    approved_at: dt.datetime | None
    #: A draft computed before its period ended: a preview with the figures so far, which
    #: cannot be approved (409); run it again after the period end.
    provisional: bool
    #: The first day the run may be approved (the day after the period end).
    approvable_from: dt.date


class AssessmentOutcomeOut(Schema):
    id: int
    person_id: int
    person_name: str
    from_level: str | None
    outcome: str
    to_level: str | None
    effective_date: dt.date
    decision: str
    decided_at: dt.datetime | None
    decision_note: str
    criteria: dict[str, Any]


class AssessmentRunDetailOut(AssessmentRunOut):
    outcomes: list[AssessmentOutcomeOut]


class AssessmentRunIn(InputSchema):
    label: str
    reason: str = ""


class DecisionIn(InputSchema):
    decision: Literal["approved", "rejected"]
    note: str = ""


class AssessmentReasonIn(InputSchema):
    reason: str = ""


def _outcome_out(row) -> dict:
    return {
        "id": row.pk,
        "person_id": row.person_id,
        "person_name": row.person.name,
        "from_level": row.from_level.code if row.from_level else None,
        "outcome": row.outcome,
        "to_level": row.to_level.code if row.to_level else None,
        "effective_date": row.effective_date,
        "decision": row.decision,
        "decided_at": row.decided_at,
        "decision_note": row.decision_note,
        "criteria": row.criteria,
    }


def _detail(run) -> dict:
    rows = run.outcomes.select_related("person", "from_level", "to_level").order_by("person_id")
    return {
        **{f: getattr(run, f) for f in AssessmentRunOut.model_fields},
        "outcomes": [_outcome_out(row) for row in rows],
    }


@router.get(
    "/assessments",
    response={200: list[AssessmentRunOut], **ERRORS_READ},
    operation_id="compensation_assessment_list",
)
def assessment_list(request):
    """Assessment runs, newest first (HR and the manager; empty for others)."""
    return list(selectors.assessment_run_list(user=request.auth))


@router.post(
    "/assessments",
    response={200: AssessmentRunDetailOut, **ERRORS_WRITE},
    operation_id="compensation_assessment_run",
)
def assessment_run(request, payload: AssessmentRunIn):
    """Run (or re-run) the draft assessment of the period ``label`` (``YYYY-MM``)."""
    run = assessing.assessment_run(label=payload.label, actor=request.auth, reason=payload.reason)
    return _detail(run)


@router.get(
    "/assessments/{run_id}",
    response={200: AssessmentRunDetailOut, **ERRORS_READ},
    operation_id="compensation_assessment_get",
)
def assessment_get(request, run_id: int):
    return _detail(selectors.assessment_run_get(user=request.auth, pk=run_id))


@router.post(
    "/assessments/{run_id}/approve",
    response={200: AssessmentRunOut, **ERRORS_WRITE},
    operation_id="compensation_assessment_approve",
)
def assessment_approve(request, run_id: int, payload: AssessmentReasonIn):
    """Lock the run and move the approved promotions and demotions to their levels."""
    run = selectors.assessment_run_get(user=request.auth, pk=run_id)
    return assessing.assessment_run_approve(run=run, actor=request.auth, reason=payload.reason)


@router.post(
    "/assessment-outcomes/{outcome_id}/decide",
    response={200: AssessmentOutcomeOut, **ERRORS_WRITE},
    operation_id="compensation_assessment_outcome_decide",
)
def assessment_outcome_decide(request, outcome_id: int, payload: DecisionIn):
    outcome = selectors.assessment_outcome_get(user=request.auth, pk=outcome_id)
    decided = assessing.assessment_outcome_decide(
        outcome=outcome, decision=payload.decision, actor=request.auth, note=payload.note
    )
    return _outcome_out(decided)


@router.get(
    "/early-warning",
    response={200: list[EarlyWarningOut], **ERRORS_READ},
    operation_id="compensation_early_warning_list",
)
def early_warning_list(request, day: dt.date | None = None, person_id: int | None = None):
    """The early warning on ``day`` (default today) of the people the caller may see: their
    own; a team lead their team; HR and the manager everyone. ``person_id``: one of them."""
    return selectors.early_warning_list(
        user=request.auth, day=day or timezone.localdate(), person_id=person_id
    )


@router.get(
    "/early-warning/me",
    response={200: list[EarlyWarningOut], **ERRORS_READ},
    operation_id="compensation_early_warning_mine",
)
def early_warning_mine(request, day: dt.date | None = None):
    """The caller's own early warning."""
    me = person_for_user(request.auth)
    if me is None:
        raise NotFound(_("Your login is not linked to an employee record"))
    return selectors.early_warning_list(
        user=request.auth, day=day or timezone.localdate(), person_id=me.pk
    )
