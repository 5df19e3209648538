"""JSON endpoints of the pay run and the basic-law rule sets. Same services and selectors as
everything else: HR admin and the center manager import and approve rule sets and compute,
approve and export pay runs; a person reads their own payslip of an approved run; a team lead
reads their team's totals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema, UploadedFile
from pydantic import Field

from telesales.compensation import exporting, payrun, permissions, rulesets, selectors
from telesales.compensation.choices import PayRunStatus
from telesales.compensation.models import RuleSet
from telesales.compensation.notes import note_text
from telesales.compensation.rules_format import document_changes
from telesales.core.downloads import attachment_disposition
from telesales.core.errors import NotFound, PermissionDenied, ValidationFailed
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE, InputSchema
from telesales.leads.exporting import CONTENT_TYPES
from telesales.org.models import Person, Team
from telesales.org.selectors import person_for_user

router = Router(tags=["compensation"])

XLSX_ANSWER = {
    "responses": {
        200: {
            "description": "The xlsx file",
            "content": {CONTENT_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


class PayRuleSetOut(Schema):
    """One version of the basic law, without its text."""

    id: int
    version: int
    name: str
    status: str
    effective_from: dt.date
    effective_to: dt.date | None
    source_name: str
    source_format: str
    created_at: dt.datetime
    approved_at: dt.datetime | None
    #: Approved, and today (the center's date) lies between its effective dates.
    in_force_today: bool

    @staticmethod
    def resolve_in_force_today(obj) -> bool:
        return obj.in_force_on(timezone.localdate())


class RuleSetChangeOut(Schema):
    #: ``fyc_commission[fyc.protection].terms[1].rates.S3``; "—" for a value absent.
    path: str
    before: str
    after: str


class RuleSetDetailOut(PayRuleSetOut):
    """A version with the file it was imported from, the checked document stored and what
    it changes from the approved version it takes over from (none for the first)."""

    source_text: str
    document: dict[str, Any]
    compared_with_version: int | None
    changes: list[RuleSetChangeOut]

    @staticmethod
    def resolve_compared_with_version(obj) -> int | None:
        before = _predecessor(obj)
        return before.version if before is not None else None

    @staticmethod
    def resolve_changes(obj) -> list[dict]:
        before = _predecessor(obj)
        if before is None:
            return []
        return [
            {"path": path, "before": old, "after": new}
            for path, old, new in document_changes(before.document, obj.document)
        ]


def _predecessor(ruleset: RuleSet) -> RuleSet | None:
    """``selectors.ruleset_predecessor``, read once per version answered."""
    if not hasattr(ruleset, "_predecessor"):
        ruleset._predecessor = selectors.ruleset_predecessor(ruleset)
    return ruleset._predecessor


class RuleSetImportIn(InputSchema):
    """The form fields of an import (multipart); the rules come as ``file`` or ``text``."""

    effective_from: dt.date
    reason: str = Field(default="", max_length=500)
    #: The rules as text (YAML or JSON), when no file is uploaded; as long as a file may be.
    text: str | None = Field(default=None, max_length=rulesets.MAX_FILE_BYTES)


def _reads_all(context) -> bool:
    return permissions.can_read_all_payslips(context["request"].auth)


class RuleSetDiscardedOut(Schema):
    version: int
    discarded: bool


class PayRunOut(Schema):
    """A pay run. The run-wide figures — ``total``, ``line_count``, ``run_count``,
    ``computed_at`` and ``input_fingerprint`` — are for HR and the manager; for anyone else
    (an agent reads their own payslip, a team lead their team's totals) they are null."""

    id: int
    label: str
    period_start: dt.date
    period_end: dt.date
    ruleset_version: int
    status: str
    run_count: int | None
    computed_at: dt.datetime | None
    approved_at: dt.datetime | None
    input_fingerprint: str | None
    total: Decimal | None
    line_count: int | None
    #: An open run computed before its period ended (or never computed): a preview of the
    #: month in progress (进行中·暂估) that cannot be approved; compute it again after the end.
    provisional: bool
    #: The first day the run may be approved (the day after the period end).
    approvable_from: dt.date
    #: How many people's totals are below zero (HR and the manager; null for others):
    #: approving needs ``acknowledge_negative``.
    negative_totals: int | None

    @staticmethod
    def resolve_negative_totals(obj, context):
        if not _reads_all(context):
            return None
        return len(payrun.payrun_negative_totals(obj))

    @staticmethod
    def resolve_total(obj, context):
        return obj.total if _reads_all(context) else None

    @staticmethod
    def resolve_line_count(obj, context):
        return obj.line_count if _reads_all(context) else None

    @staticmethod
    def resolve_run_count(obj, context):
        return obj.run_count if _reads_all(context) else None

    @staticmethod
    def resolve_computed_at(obj, context):
        return obj.computed_at if _reads_all(context) else None

    @staticmethod
    def resolve_input_fingerprint(obj, context):
        return obj.input_fingerprint if _reads_all(context) else None


class PayRunComputeIn(InputSchema):
    period_start: dt.date
    reason: str = ""


class PayReasonIn(InputSchema):
    reason: str = ""


class PayRunApproveIn(InputSchema):
    reason: str = ""
    #: Required (true) when someone's total in the run is negative (``negative_totals``):
    #: otherwise 422 naming how many. Nothing is carried into the next month.
    acknowledge_negative: bool = False


class AdjustmentCancelIn(InputSchema):
    reason: str = Field(max_length=500)


class LinePartOut(Schema):
    """One policy of a rate-cell line (ADR 0014) with its own amount and basis."""

    source: str
    amount: Decimal
    basis: Decimal


class PayLineOut(Schema):
    position: int
    kind: str
    amount: Decimal
    basis: Decimal
    rate: Decimal | None
    rule_id: str
    rule_version: int
    #: What the rule set calls the rule ("底薪", "首年佣金率：意外、重疾"); "" when none.
    rule_title: str = ""
    modifiers: list[str]
    sources: list[str]
    note: str
    #: Each source of a rate-cell line with its own amount and basis; empty for a line of
    #: one source (its amount and basis are the line's).
    parts: list[LinePartOut]

    @staticmethod
    def resolve_note(line) -> str:
        # Stored as messages and values; in the caller's language here (``notes``).
        return note_text(line.note)

    @staticmethod
    def resolve_parts(line) -> list[dict]:
        if not line.parts:
            return []
        return [
            {"source": source, "amount": amount, "basis": basis}
            for source, amount, basis in line.source_parts
        ]


class PayslipOut(Schema):
    run_id: int
    period: str
    person_id: int
    person_name: str
    total: Decimal
    lines: list[PayLineOut]


class MemberTotalOut(Schema):
    person_id: int
    name: str
    total: Decimal


class TeamTotalsOut(Schema):
    run_id: int
    team_id: int
    total: Decimal
    people: list[MemberTotalOut]


def _payslip_out(slip: selectors.Payslip) -> dict:
    return {
        "run_id": slip.run.pk,
        "period": slip.run.label,
        "person_id": slip.person.pk,
        "person_name": slip.person.name,
        "total": slip.total,
        "lines": slip.lines,
    }


def _require_ruleset_manager(user) -> None:
    if not permissions.can_manage_rulesets(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may manage pay rules"))


def _require_ruleset_reader(user) -> None:
    if not permissions.can_read_rulesets(user):
        raise PermissionDenied(
            _("Only the HR admin, the center manager or the planner may read pay rules")
        )


def _ruleset_get(user, ruleset_id: int) -> RuleSet:
    _require_ruleset_reader(user)
    ruleset = selectors.ruleset_list(user=user).filter(pk=ruleset_id).first()
    if ruleset is None:
        raise NotFound(_("No such rule set"))
    return ruleset


@router.get(
    "/rulesets",
    response={200: list[PayRuleSetOut], **ERRORS_READ},
    operation_id="compensation_ruleset_list",
)
def ruleset_list(request):
    """Every version of the basic law, newest first (HR admin, the center manager and the
    planner)."""
    _require_ruleset_reader(request.auth)
    return list(selectors.ruleset_list(user=request.auth).order_by("-version"))


@router.get(
    "/rulesets/{ruleset_id}",
    response={200: RuleSetDetailOut, **ERRORS_READ},
    operation_id="compensation_ruleset_get",
)
def ruleset_get(request, ruleset_id: int):
    """One version with its source text and the stored document."""
    return _ruleset_get(request.auth, ruleset_id)


@router.post(
    "/rulesets",
    response={200: RuleSetDetailOut, **ERRORS_WRITE},
    operation_id="compensation_ruleset_import",
)
def ruleset_import(
    request,
    payload: Form[RuleSetImportIn],
    file: File[UploadedFile | None] = None,
):
    """Check a YAML or JSON rule file (multipart ``file``, or the ``text`` field) and save it
    as a new draft version. A file that breaks the format answers 422 with every problem in
    ``details.errors`` (``path``, ``line``, ``reason``)."""
    _require_ruleset_manager(request.auth)
    return rulesets.ruleset_import(
        actor=request.auth,
        effective_from=payload.effective_from,
        file=file,
        # An empty text field is no text; text and a file together are refused (422).
        text=payload.text or None,
        filename=(file.name or "") if file is not None else "",
        reason=payload.reason,
    )


@router.post(
    "/rulesets/{ruleset_id}/approve",
    response={200: RuleSetDetailOut, **ERRORS_WRITE},
    operation_id="compensation_ruleset_approve",
)
def ruleset_approve(request, ruleset_id: int, payload: PayReasonIn):
    """Put a draft version in force from its ``effective_from``; the version in force before
    it ends the day before. 409 for a version that is not a draft or that starts on or before
    an approved one."""
    ruleset = _ruleset_get(request.auth, ruleset_id)
    _require_ruleset_manager(request.auth)
    return rulesets.ruleset_approve(ruleset=ruleset, actor=request.auth, reason=payload.reason)


@router.post(
    "/rulesets/{ruleset_id}/discard",
    response={200: RuleSetDiscardedOut, **ERRORS_WRITE},
    operation_id="compensation_ruleset_discard",
)
def ruleset_discard(request, ruleset_id: int, payload: PayReasonIn):
    """Delete a draft version (its text stays in the audit log). 409 for an approved version
    or one a pay or assessment run uses."""
    ruleset = _ruleset_get(request.auth, ruleset_id)
    _require_ruleset_manager(request.auth)
    version = rulesets.ruleset_discard(ruleset=ruleset, actor=request.auth, reason=payload.reason)
    return {"version": version, "discarded": True}


@router.get(
    "/payruns",
    response={200: list[PayRunOut], **ERRORS_READ},
    operation_id="compensation_payrun_list",
)
def payrun_list(request):
    """Pay runs, newest first: all for HR and the manager, approved ones for the others."""
    return list(selectors.payrun_list(user=request.auth))


@router.post(
    "/payruns",
    response={200: PayRunOut, **ERRORS_WRITE},
    operation_id="compensation_payrun_compute",
)
def payrun_compute(request, payload: PayRunComputeIn):
    """Compute (or recompute) the open run of the period starting on ``period_start``."""
    return payrun.payrun_compute(
        period_start=payload.period_start, actor=request.auth, reason=payload.reason
    )


@router.post(
    "/payruns/{run_id}/approve",
    response={200: PayRunOut, **ERRORS_WRITE},
    operation_id="compensation_payrun_approve",
)
def payrun_approve(request, run_id: int, payload: PayRunApproveIn):
    """Approve and lock the run. 409 before its period has ended (``approvable_from``) or
    when an adjustment it pays was cancelled since it was computed; 422 when someone's total
    is negative and ``acknowledge_negative`` is not true."""
    run = selectors.payrun_get(user=request.auth, pk=run_id)
    return payrun.payrun_approve(
        run=run,
        actor=request.auth,
        reason=payload.reason,
        negatives_acknowledged=payload.acknowledge_negative,
    )


@router.get(
    "/payruns/{run_id}/payslip",
    response={200: PayslipOut, **ERRORS_READ},
    operation_id="compensation_payslip_mine",
)
def payslip_mine(request, run_id: int):
    """The caller's own payslip."""
    run = selectors.payrun_get(user=request.auth, pk=run_id)
    person = person_for_user(request.auth)
    if person is None:
        raise NotFound(_("You have no employee record"))
    return _payslip_out(_payslip_with_lines(request.auth, run, person))


def _payslip_with_lines(user, run, person) -> selectors.Payslip:
    """The person's payslip in the run; ``NotFound`` when the run pays them nothing (after the
    permission check, so that nobody learns who is in a run they may not read)."""
    slip = selectors.payslip_get(user=user, run=run, person=person)
    if not slip.lines:
        raise NotFound(
            _("%(name)s is not paid in the pay run %(p)s") % {"name": person.name, "p": run.label}
        )
    return slip


@router.get(
    "/payruns/{run_id}/payslips/{person_id}",
    response={200: PayslipOut, **ERRORS_READ},
    operation_id="compensation_payslip_get",
)
def payslip_get(request, run_id: int, person_id: int):
    run = selectors.payrun_get(user=request.auth, pk=run_id)
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("No such person"))
    return _payslip_out(_payslip_with_lines(request.auth, run, person))


@router.get(
    "/payruns/{run_id}/teams/{team_id}/totals",
    response={200: TeamTotalsOut, **ERRORS_READ},
    operation_id="compensation_team_totals",
)
def team_totals(request, run_id: int, team_id: int):
    run = selectors.payrun_get(user=request.auth, pk=run_id)
    team = Team.objects.select_related("leader").filter(pk=team_id).first()
    if team is None:
        raise NotFound(_("No such team"))
    totals = selectors.payrun_team_totals(user=request.auth, run=run, team=team)
    return {
        "run_id": run.pk,
        "team_id": team.pk,
        "total": totals.total,
        "people": [
            {"person_id": p.pk, "name": p.name, "total": total} for p, total in totals.people
        ],
    }


@router.get(
    "/payruns/{run_id}/export.xlsx",
    response={200: None, **ERRORS_READ},
    operation_id="compensation_payrun_export",
    openapi_extra=XLSX_ANSWER,
)
def payrun_export(request, run_id: int):
    run = selectors.payrun_get(user=request.auth, pk=run_id)
    export = exporting.payrun_export_xlsx(run=run, actor=request.auth)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = attachment_disposition(
        export.filename, fallback=exporting.export_fallback_filename(run)
    )
    add_never_cache_headers(response)
    return response


class AdjustmentIn(InputSchema):
    """A correction paid by the next run computed. ``amount`` in yuan, not zero, at most
    two decimals and at most ¥1,000,000.00 either way: as text ("-80.50"; full-width digits
    and proper thousands separators such as "1,000.50" are read, the exponent form "1e5" is
    refused) or as a JSON number, read in its shortest decimal form (``100.5``; ``1e5`` is
    the number 100000) and checked the same way (``100.555`` is refused: three decimals).
    An amount far above the person's usual pay (more than 3× their last approved monthly
    total, or ¥20,000 when they have none; both settings) answers 422 with the reason on
    ``amount`` and ``confirm`` unless ``confirm`` is true."""

    person_id: int
    #: Checked by ``payrun.adjustment_amount_parse`` (one clear message whatever was sent).
    amount: Any = Field(
        json_schema_extra={
            "anyOf": [{"type": "string"}, {"type": "number"}],
            "examples": ["-80.50", "120", 100.5],
        }
    )
    reason: str = Field(max_length=500)
    #: True to record an amount far above the person's usual pay (see above).
    confirm: bool = False


class AdjustmentOut(Schema):
    id: int
    person_id: int
    amount: Decimal
    reason: str
    #: The approved run it corrects (recorded on an approved run's page or for it).
    corrects_run_id: int | None
    #: The run that pays it; None while pending (the next run computed pays it).
    applied_run_id: int | None
    created_at: dt.datetime
    #: Who recorded it: the login's id (None once that login is deleted) and the name the
    #: pages show (``selectors.user_display_name``: the employee's name, else the login's
    #: full name, else the login name; "" for nobody).
    created_by_id: int | None
    created_by_name: str
    #: When it was cancelled (``POST …/adjustments/{id}/cancel``), and why; null while valid.
    cancelled_at: dt.datetime | None
    cancel_reason: str

    @staticmethod
    def resolve_created_by_name(obj) -> str:
        return selectors.user_display_name(obj.created_by)


@router.post(
    "/payruns/{run_id}/adjustments",
    response={200: AdjustmentOut, **ERRORS_WRITE},
    operation_id="compensation_adjustment_create",
)
def adjustment_create(request, run_id: int, payload: AdjustmentIn):
    """Record an adjustment for a person of this run, as the run's page does: it corrects the
    run when the run is approved, and is paid by the next run computed."""
    if not permissions.can_run_pay(request.auth):
        raise PermissionDenied(_("Only the HR admin or the center manager may run the pay"))
    run = selectors.payrun_get(user=request.auth, pk=run_id)
    amount = payrun.adjustment_amount_parse(payload.amount)
    person = Person.objects.filter(pk=payload.person_id, pk__in=run.lines.values("person_id"))
    person = person.first()
    if person is None:
        raise ValidationFailed(
            _("Invalid adjustment"),
            fields={"person_id": [_("Choose a person paid in this run.")]},
        )
    return payrun.payadjustment_create(
        person=person,
        amount=amount,
        reason=payload.reason,
        actor=request.auth,
        corrects_run=run if run.status == PayRunStatus.APPROVED else None,
        confirmed=payload.confirm,
    )


@router.post(
    "/adjustments/{adjustment_id}/cancel",
    response={200: AdjustmentOut, **ERRORS_WRITE},
    operation_id="compensation_adjustment_cancel",
)
def adjustment_cancel(request, adjustment_id: int, payload: AdjustmentCancelIn):
    """Cancel an adjustment no approved run has paid (pending, or paid by a run still open,
    which must then be computed again before approval), with a reason; audited. 409 once
    the run that paid it is approved, or when it is cancelled already."""
    adjustment = selectors.payadjustment_get(user=request.auth, pk=adjustment_id)
    return payrun.payadjustment_cancel(
        adjustment=adjustment, actor=request.auth, reason=payload.reason
    )


@router.get(
    "/adjustments/pending",
    response={200: list[AdjustmentOut], **ERRORS_READ},
    operation_id="compensation_adjustment_pending_list",
)
def adjustment_pending_list(request):
    """Adjustments recorded and not paid yet (the next run computed pays them), oldest
    first: HR admin and the center manager."""
    if not permissions.can_run_pay(request.auth):
        raise PermissionDenied(_("Only the HR admin or the center manager may run the pay"))
    return list(selectors.payadjustment_pending_list(user=request.auth))


class PolicyPayRowOut(Schema):
    run_id: int
    period: str
    commission: Decimal
    withheld: Decimal
    released: Decimal
    clawback: Decimal


class PolicyPayOut(Schema):
    policy_id: int
    number: str
    agent_id: int
    rows: list[PolicyPayRowOut]
    commission: Decimal
    withheld: Decimal
    released: Decimal
    clawback: Decimal
    #: commission − withheld + released − clawback
    paid: Decimal
    #: withheld and not released yet
    outstanding: Decimal


@router.get(
    "/policies/{policy_id}/pay",
    response={200: PolicyPayOut, **ERRORS_READ},
    operation_id="compensation_policy_pay",
)
def policy_pay(request, policy_id: int):
    """What each approved pay run paid, withheld, released and took back for one policy (HR,
    the manager, and the agent who sold it)."""
    history = selectors.policy_pay_history(user=request.auth, policy_id=policy_id)
    return {
        "policy_id": history.policy.pk,
        "number": history.policy.number,
        "agent_id": history.policy.agent_id,
        "rows": [
            {
                "run_id": row.run_id,
                "period": row.run.label,
                "commission": row.commission,
                "withheld": row.withheld,
                "released": row.released,
                "clawback": row.clawback,
            }
            for row in history.rows
        ],
        "commission": history.commission,
        "withheld": history.withheld,
        "released": history.released,
        "clawback": history.clawback,
        "paid": history.paid,
        "outstanding": history.outstanding,
    }
