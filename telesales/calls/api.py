"""JSON endpoints of the calls app: the workspace (what a softphone or an external dialer
needs, ``/api/v1/workspace/``) and the call records, dispositions, rules, board and CDR import
(``/api/v1/calls/``). Same services and selectors as the HTML pages; no full number leaves.

The softphone's loop::

    POST /workspace/next-lead            → 200 {source, lead, followup} | 409 nothing_to_dispatch
    POST /workspace/calls {lead_id}      → 201 call (the guards ran: 409 dial_blocked if not)
    POST /workspace/calls/{id}/answer    → the customer picked up
    POST /workspace/calls/{id}/end       → talk seconds, recording
    POST /workspace/calls/{id}/disposition {code, note, callback_at}
    POST /workspace/sales {call_id, product_id, annualised_premium, …}
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status, UploadedFile

from telesales.calls import cdr, dispatch, permissions, selectors, services
from telesales.calls.models import Disposition
from telesales.calls.schemas import (
    BoardOut,
    CallEndIn,
    CallFilter,
    CallOut,
    CallRulesIn,
    CallRulesOut,
    CallStartIn,
    CallTimeIn,
    CdrImportIn,
    CdrImportOut,
    DayFiguresOut,
    DispatchOut,
    DispositionCreateIn,
    DispositionIn,
    DispositionOut,
    DispositionUpdateIn,
    FollowUpIn,
    FollowUpOut,
    FollowUpReassignIn,
    NextLeadRefusalOut,
    NoteIn,
    PresenceIn,
    PresenceOut,
    QueueFilter,
    SaleIn,
    SaleOut,
)
from telesales.core.errors import NotFound, ValidationFailed, deny_unless
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE
from telesales.leads import selectors as lead_selectors
from telesales.org.selectors import person_for_user, person_get

router = Router(tags=["calls"])
# The softphone's endpoints: /api/v1/workspace/...
workspace_router = Router(tags=["workspace"])


def _me(request):
    user = request.auth
    deny_unless(permissions.can_use_workspace(user), _("Your role has no workspace"))
    me = person_for_user(user)
    if me is None:
        raise ValidationFailed(_("Your login is not linked to an employee record"))
    return user, me


def _call(user, call_id: int):
    return selectors.attempt_get(user=user, attempt_id=call_id)


# --- Workspace: next lead, queue, presence --------------------------------------------------
@workspace_router.post(
    "/next-lead",
    response={200: DispatchOut, **ERRORS_WRITE, 409: NextLeadRefusalOut},
    operation_id="calls_workspace_next_lead",
)
def next_lead(request):
    """Hand the caller exactly one lead: due callbacks first, then due service tasks
    (``service_task_id``: dial it without ``kind`` and the call is a service call) and
    renewal premiums (``renewal_task_id``: dial it without ``kind`` and the call is a renewal
    call whose outcome is recorded on the task), then the private pool, then the public pool
    within the claim limits. 409 ``nothing_to_dispatch`` when none may be called
    now, with ``details.reasons`` = ``[{code, message, fix, count}]`` (pools empty, outside
    the calling window, cool-down, cap reached, agent not working or not trained, …)."""
    user, me = _me(request)
    found = dispatch.next_lead(agent=me, actor=user)
    return {
        "source": found.source,
        "lead": found.lead,
        "followup": found.followup,
        "service_task_id": getattr(found.service_task, "pk", None),
        "renewal_task_id": getattr(found.renewal_task, "pk", None),
    }


@workspace_router.get(
    "/queue", response={200: list[FollowUpOut], **ERRORS_READ}, operation_id="calls_queue_get"
)
def queue_get(request, filters: Query[QueueFilter]):
    """The caller's due and overdue follow-ups (oldest first); ``day``: that day's queue."""
    user, me = _me(request)
    if filters.day:
        qs = selectors.followup_day_list(user=user, day=filters.day, agent=me)
    else:
        qs = selectors.followup_due_list(user=user, agent=me)
    return list(qs[:500])


@workspace_router.get(
    "/today", response={200: DayFiguresOut, **ERRORS_READ}, operation_id="calls_today_get"
)
def today_get(request):
    """The caller's figures today and how many leads each source holds."""
    _user, me = _me(request)
    return {**selectors.agent_day_figures(agent=me), **dispatch.pool_counts(agent=me)}


@workspace_router.get(
    "/presence", response={200: PresenceOut, **ERRORS_READ}, operation_id="calls_presence_get"
)
def presence_get(request):
    _user, me = _me(request)
    return selectors.presence_get(agent=me)


@workspace_router.put(
    "/presence", response={200: PresenceOut, **ERRORS_WRITE}, operation_id="calls_presence_set"
)
def presence_set(request, payload: PresenceIn):
    """Ready (``idle``), ``break`` or ``offline``; during a call the state follows the call."""
    user, me = _me(request)
    return services.presence_set(agent=me, state=payload.state, actor=user)


# --- Workspace: calls ----------------------------------------------------------------------
@workspace_router.post(
    "/calls", response={201: CallOut, **ERRORS_WRITE}, operation_id="calls_call_start"
)
def call_start(request, payload: CallStartIn):
    """Dial one of the caller's leads. The compliance guards run on the server: 409
    ``dial_blocked`` with ``details.reasons`` when the dial may not happen (``call_in_progress``
    while another call of the caller is open for no longer than
    TELESALES_CALL_OPEN_LIMIT_MINUTES; a call open longer was left open and is hung up by this
    dial, its talk time capped)."""
    user, me = _me(request)
    lead = lead_selectors.lead_get(user=user, lead_id=payload.lead_id)
    seat = None
    if payload.seat_id is not None:
        from telesales.org.selectors import seat_get

        seat = seat_get(user=user, seat_id=payload.seat_id)
    attempt = services.call_start(lead=lead, agent=me, actor=user, seat=seat, kind=payload.kind)
    return Status(201, _call(user, attempt.pk))


@workspace_router.post(
    "/calls/{call_id}/answer",
    response={200: CallOut, **ERRORS_WRITE},
    operation_id="calls_call_answer",
)
def call_answer(request, call_id: int, payload: CallTimeIn):
    user, _agent = _me(request)
    attempt = services.call_answer(attempt=_call(user, call_id), actor=user, at=payload.at)
    return _call(user, attempt.pk)


@workspace_router.post(
    "/calls/{call_id}/end", response={200: CallOut, **ERRORS_WRITE}, operation_id="calls_call_end"
)
def call_end(request, call_id: int, payload: CallEndIn):
    user, _agent = _me(request)
    attempt = services.call_end(
        attempt=_call(user, call_id), actor=user, at=payload.at, answered_at=payload.answered_at
    )
    return _call(user, attempt.pk)


@workspace_router.post(
    "/calls/{call_id}/disposition",
    response={200: CallOut, **ERRORS_WRITE},
    operation_id="calls_call_disposition",
)
def call_disposition(request, call_id: int, payload: DispositionIn):
    """Record the outcome (a disposition code) and let it act: DNC list, closing the lead,
    the next follow-up (``callback_at`` for a callback at an agreed time)."""
    user = request.auth
    deny_unless(permissions.can_use_workspace(user), _("Your role has no workspace"))
    attempt = _call(user, call_id)
    disposition = services.disposition_by_code(payload.code)
    try:
        services.disposition_record(
            attempt=attempt,
            disposition=disposition,
            actor=user,
            note=payload.note,
            callback_at=payload.callback_at,
        )
    except ValidationFailed as exc:
        # The service names the page's field ("disposition"); this body calls it ``code``.
        if "disposition" not in exc.fields:
            raise
        fields = {("code" if k == "disposition" else k): v for k, v in exc.fields.items()}
        raise ValidationFailed(exc.message, fields=fields) from None
    return _call(user, call_id)


@workspace_router.get(
    "/calls/{call_id}", response={200: CallOut, **ERRORS_READ}, operation_id="calls_call_get"
)
def call_get(request, call_id: int):
    user = request.auth
    deny_unless(permissions.can_view_calls(user), _("Your role has no access to call records"))
    return _call(user, call_id)


# --- Workspace: follow-ups and sales -------------------------------------------------------
@workspace_router.post(
    "/followups",
    response={201: FollowUpOut, 200: FollowUpOut, **ERRORS_WRITE},
    operation_id="calls_followup_create",
)
def followup_create(request, payload: FollowUpIn):
    """Book a follow-up (a callback at an agreed time); it replaces the lead's open one:
    201. The same booking sent again (the lead's open follow-up already at that time and of
    that kind) changes nothing: 200 with it. A time in the past is refused (422
    ``followup_in_past``); a callback or cadence step on a lead the agent won, too (409
    ``won_lead_needs_service_followup``: book kind ``service``)."""
    user, me = _me(request)
    lead = lead_selectors.lead_get(user=user, lead_id=payload.lead_id)
    asked = timezone.now()
    followup = services.followup_schedule(
        lead=lead, agent=me, due_at=payload.due_at, actor=user, kind=payload.kind, note=payload.note
    )
    status = 201 if followup.created_at >= asked else 200
    return Status(status, selectors.followup_get(user=user, followup_id=followup.pk))


@workspace_router.post(
    "/followups/{followup_id}/done",
    response={200: FollowUpOut, **ERRORS_WRITE},
    operation_id="calls_followup_done",
)
def followup_done(request, followup_id: int, payload: NoteIn):
    user = request.auth
    deny_unless(permissions.can_use_workspace(user), _("Your role has no workspace"))
    followup = selectors.followup_get(user=user, followup_id=followup_id)
    services.followup_complete(followup=followup, actor=user, note=payload.note)
    return selectors.followup_get(user=user, followup_id=followup_id)


@workspace_router.post(
    "/sales", response={201: SaleOut, **ERRORS_WRITE}, operation_id="calls_sale_record"
)
def sale_record(request, payload: SaleIn):
    """Record the online close on a call: the policy, the sale disposition, and the call's
    recording kept 5 / 10 years after the policy ends. Checked whole before anything is
    written (a negative or out-of-range premium is 422 on ``annualised_premium``)."""
    from telesales.policies import selectors as policy_selectors

    user, _agent = _me(request)
    attempt = _call(user, payload.call_id)
    product = policy_selectors.product_get(user=user, product_id=payload.product_id)
    policy = services.sale_record(
        attempt=attempt,
        product=product,
        annualised_premium=payload.annualised_premium,
        payment_mode=payload.payment_mode,
        term_years=payload.term_years,
        insured_ids=payload.insured_ids,
        holder_id=payload.holder_id,
        actor=user,
        note=payload.note,
    )
    attempt.refresh_from_db()
    return Status(
        201,
        {
            "policy_id": policy.pk,
            "lead_id": policy.lead_id,
            "call_id": attempt.pk,
            "product_id": policy.product_id,
            "annualised_premium": policy.annualised_premium,
            "payment_mode": policy.payment_mode,
            "term_years": policy.term_years,
            "status": policy.status,
            "recording_retain_until": attempt.recording_retain_until,
        },
    )


# --- Calls: records --------------------------------------------------------------------------
@router.get(
    "/attempts", response={200: list[CallOut], **ERRORS_READ}, operation_id="calls_attempt_list"
)
def attempt_list(request, filters: Query[CallFilter]):
    """Calls the caller may see (an agent: their own; a team lead: their teams'), newest
    first."""
    user = request.auth
    deny_unless(permissions.can_view_calls(user), _("Your role has no access to call records"))
    qs = selectors.attempt_list(
        user=user, lead=filters.lead_id, agent=filters.agent_id, day=filters.day
    )
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.get(
    "/escalations",
    response={200: list[FollowUpOut], **ERRORS_READ},
    operation_id="calls_escalation_list",
)
def escalation_list(request):
    """Overdue follow-ups escalated to the caller (team lead: their teams; manager: all)."""
    user = request.auth
    deny_unless(permissions.can_view_board(user), _("Only team leads and managers see escalations"))
    return list(selectors.escalated_followup_list(user=user)[:500])


@router.post(
    "/followups/{followup_id}/reassign",
    response={200: FollowUpOut, **ERRORS_WRITE},
    operation_id="calls_followup_reassign",
)
def followup_reassign(request, followup_id: int, payload: FollowUpReassignIn):
    """Give an open follow-up (an escalated overdue one, typically) and its lead to a working
    teammate of the same team, with the reason (audited). The owner's team lead or the
    manager; 422 on ``to_agent_id`` when the teammate may not take it, 409 when the
    follow-up is no longer open. Answers the new follow-up."""
    user = request.auth
    deny_unless(permissions.can_view_board(user), _("Only team leads and managers reassign"))
    followup = selectors.followup_get(user=user, followup_id=followup_id)
    try:
        mate = person_get(user=user, person_id=payload.to_agent_id)
    except NotFound:
        message = _("No such teammate, or not one of yours")
        raise ValidationFailed(message, fields={"to_agent_id": [message]}) from None
    moved = services.followup_reassign(
        followup=followup, to_agent=mate, actor=user, reason=payload.reason
    )
    return selectors.followup_get(user=user, followup_id=moved.pk)


@router.get("/board", response={200: BoardOut, **ERRORS_READ}, operation_id="calls_board_get")
def board_get(request):
    """The live board: each agent's state and since when, today's dials, connects,
    effective calls, talk time, sales and premium; per seat the same; the totals."""
    user = request.auth
    deny_unless(permissions.can_view_board(user), _("Only team leads and managers see the board"))
    return selectors.live_board(user=user)


# --- Calls: dispositions and rules ---------------------------------------------------------
@router.get(
    "/dispositions",
    response={200: list[DispositionOut], **ERRORS_READ},
    operation_id="calls_disposition_list",
)
def disposition_list(request, include_inactive: bool = False):
    deny_unless(permissions.can_view_calls(request.auth), _("Your role has no access to call data"))
    return list(selectors.disposition_list(include_inactive=include_inactive))


@router.post(
    "/dispositions",
    response={201: DispositionOut, **ERRORS_WRITE},
    operation_id="calls_disposition_create",
)
def disposition_create(request, payload: DispositionCreateIn):
    data = payload.dict()
    d = services.disposition_create(
        actor=request.auth, code=data.pop("code"), name=data.pop("name"), **data
    )
    return Status(201, d)


@router.put(
    "/dispositions/{code}",
    response={200: DispositionOut, **ERRORS_WRITE},
    operation_id="calls_disposition_update",
)
def disposition_update(request, code: str, payload: DispositionUpdateIn):
    deny_unless(
        permissions.can_manage_dispositions(request.auth), _("Only the manager may do this")
    )
    found = Disposition.objects.filter(code=code[:30]).first()
    if found is None:
        raise NotFound(_("No such disposition"))
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return services.disposition_update(disposition=found, actor=request.auth, **changes)


@router.get(
    "/rulesets",
    response={200: list[CallRulesOut], **ERRORS_READ},
    operation_id="calls_ruleset_list",
)
def ruleset_list(request):
    deny_unless(permissions.can_view_calls(request.auth), _("Your role has no access to call data"))
    return list(selectors.callrules_list(user=request.auth))


@router.post(
    "/rulesets",
    response={201: CallRulesOut, **ERRORS_WRITE},
    operation_id="calls_ruleset_create",
)
def ruleset_create(request, payload: CallRulesIn):
    """A new version of the call rules, effective from a day (today or later)."""
    user = request.auth
    deny_unless(
        permissions.can_manage_call_rules(user), _("Only the manager changes the call rules")
    )
    data = payload.dict(exclude_unset=True)
    based_on = None
    if data.get("based_on_id"):
        based_on = selectors.callrules_list(user=user).filter(pk=data["based_on_id"]).first()
        if based_on is None:
            raise ValidationFailed(
                _("Unknown rule set"), fields={"based_on_id": [_("no such version")]}
            )
    params = {k: v for k, v in data.items() if k in services.CALLRULE_FIELDS and v is not None}
    rules = services.callrules_version_create(
        actor=user,
        name=payload.name,
        stage=payload.stage or "",
        effective_from=payload.effective_from,
        based_on=based_on,
        reason=payload.reason,
        **params,
    )
    return Status(201, rules)


# --- Calls: CDR import -----------------------------------------------------------------------
@router.get(
    "/cdr-imports",
    response={200: list[CdrImportOut], **ERRORS_READ},
    operation_id="calls_cdr_import_list",
)
def cdr_import_list(request):
    user = request.auth
    deny_unless(
        permissions.can_import_cdr(user),
        _("Only the data officer or the center manager import CDR files"),
    )
    return list(selectors.cdr_import_list(user=user)[:100])


@router.post(
    "/cdr-imports",
    response={201: CdrImportOut, **ERRORS_WRITE},
    operation_id="calls_cdr_import",
)
def cdr_import(request, payload: Form[CdrImportIn], file: File[UploadedFile]):
    """Import an Asterisk ``Master.csv`` file (multipart) and match its rows to calls. An
    unknown layout is 409 ``cdr_layout_unknown`` and nothing is applied; rows that cannot be
    matched are listed in ``rejections`` (masked numbers)."""
    user = request.auth
    deny_unless(
        permissions.can_import_cdr(user),
        _("Only the data officer or the center manager import CDR files"),
    )
    record = cdr.cdr_import(
        content=file.read(),
        file_name=file.name or "",
        actor=user,
        zone=payload.tz or None,
        match_seconds=payload.match_seconds,
    )
    return Status(201, record)
