"""JSON endpoint of the what-if: a draft rule set against the approved one over a past
period (``whatif.ruleset_whatif``). HR admin and the center manager only; nothing is written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Router, Schema

from telesales.compensation.whatif import WhatIf, ruleset_whatif
from telesales.core.http_api import ERRORS_WRITE, InputSchema

router = Router(tags=["compensation"])


class WhatIfIn(InputSchema):
    draft_id: int
    period_start: dt.date


class RuleSetRefOut(Schema):
    id: int
    version: int
    name: str


class PersonChangeOut(Schema):
    person_id: int
    name: str
    #: Both figures include ``adjustments``; ``approved`` is what the person's payslip of the
    #: period's run totals (unless the records changed since it was computed).
    approved: Decimal
    draft: Decimal
    change: Decimal
    #: What the period's pay run paid the person by hand (adjustment lines), on both sides.
    adjustments: Decimal


class KindChangeOut(Schema):
    kind: str
    label: str
    approved: Decimal
    draft: Decimal
    change: Decimal


class AssessmentChangeOut(Schema):
    person_id: int
    name: str
    level: str
    approved_outcome: str | None
    approved_to: str | None
    draft_outcome: str | None
    draft_to: str | None


class PayRunRefOut(Schema):
    id: int
    label: str
    status: str
    total: Decimal


class WhatIfOut(Schema):
    period: str
    period_start: dt.date
    period_end: dt.date
    approved: RuleSetRefOut
    draft: RuleSetRefOut
    approved_total: Decimal
    draft_total: Decimal
    change: Decimal
    changed_people: int
    people: list[PersonChangeOut]
    kinds: list[KindChangeOut]
    assessment: list[AssessmentChangeOut] | None
    assessment_note: str
    #: The adjustments paid in the period's pay run, included in both totals.
    adjustments_total: Decimal
    #: The period's pay run, when one was computed (its total equals ``approved_total``
    #: unless its records changed since: ``payrun_differs``).
    payrun: PayRunRefOut | None
    payrun_differs: bool


def whatif_out(result: WhatIf) -> dict:
    def ref(ruleset):
        return {"id": ruleset.pk, "version": ruleset.version, "name": ruleset.name}

    return {
        "period": result.label,
        "period_start": result.period_start,
        "period_end": result.period_end,
        "approved": ref(result.approved),
        "draft": ref(result.draft),
        "approved_total": result.approved_total,
        "draft_total": result.draft_total,
        "change": result.change,
        "changed_people": result.changed_people,
        "people": [
            {
                "person_id": c.person_id,
                "name": c.name,
                "approved": c.approved,
                "draft": c.draft,
                "change": c.change,
                "adjustments": c.adjustments,
            }
            for c in result.people
        ],
        "kinds": [
            {
                "kind": k.kind,
                "label": k.label,
                "approved": k.approved,
                "draft": k.draft,
                "change": k.change,
            }
            for k in result.kinds
        ],
        "assessment": (
            None if result.assessment is None else [vars(change) for change in result.assessment]
        ),
        "assessment_note": result.assessment_note,
        "adjustments_total": result.adjustments_total,
        "payrun": (
            None
            if result.payrun is None
            else {
                "id": result.payrun.pk,
                "label": result.payrun.label,
                "status": result.payrun.status,
                "total": result.payrun.total,
            }
        ),
        "payrun_differs": result.payrun_differs,
    }


@router.post(
    "/whatif",
    response={200: WhatIfOut, **ERRORS_WRITE},
    operation_id="compensation_ruleset_whatif",
)
def ruleset_whatif_run(request, payload: WhatIfIn):
    """Run the draft rule set ``draft_id`` over the period starting on ``period_start`` and
    compare it with the approved rule set in force then: total cost change, each person's
    gain or loss (largest gain first), the change by kind of line and the assessment
    outcomes that would change. Computes only: no pay run is written."""
    return whatif_out(
        ruleset_whatif(
            user=request.auth, draft_id=payload.draft_id, period_start=payload.period_start
        )
    )
