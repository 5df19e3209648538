"""JSON endpoints of operations and renewal. Same selectors and services as the pages."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers
from ninja import File, Query, Router, Status, UploadedFile

from telesales.core.errors import NotFound, ValidationFailed, deny_unless
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE
from telesales.operations import importing, permissions, selectors, services
from telesales.operations.importing import CONTENT_TYPES
from telesales.operations.models import Delivery, ReturnVisit
from telesales.operations.schemas import (
    BreakdownQuery,
    BreakdownRowOut,
    ContactIn,
    DayIn,
    DeliveryFilter,
    DeliveryOut,
    EndIn,
    ExitNoticeOut,
    MisunderstandingOut,
    NoticeFilter,
    NoticeIn,
    OperationsReasonIn,
    OperationsRuleSetIn,
    OperationsRuleSetOut,
    OwnerIn,
    PaymentIn,
    PersistencyOut,
    PersistencyQuery,
    PremiumDueOut,
    ProblemIn,
    ReceiptBatchDetailOut,
    ReceiptBatchOut,
    ReinstateIn,
    RenewalFilter,
    RenewalTaskOut,
    ReturnVisitOut,
    SendIn,
    ServicingDetailOut,
    ServicingFilter,
    ServicingOut,
    SummaryOut,
    TransferIn,
    TrendQuery,
    TrendRowOut,
    VisitFilter,
    VisitIn,
    VisitResolveIn,
    WithholdingOut,
    WithholdingQuery,
)
from telesales.org.models import Person
from telesales.org.selectors import person_for_user

router = Router(tags=["operations"])

FILE_ANSWER = {
    "responses": {
        200: {
            "description": "The file",
            "content": {
                ct: {"schema": {"type": "string", "format": "binary"}}
                for ct in CONTENT_TYPES.values()
            },
        }
    }
}


def _viewer(request):
    user = request.auth
    deny_unless(permissions.can_view_operations(user), "Your role has no access to operations")
    return user


def _operator(request):
    user = request.auth
    deny_unless(
        permissions.can_operate(user), "Only renewal operations or the center manager may do this"
    )
    return user


def _person(person_id: int | None, field: str) -> Person | None:
    if person_id is None:
        return None
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise NotFound(f"No such person ({field})")
    return person


# --- Summary and renewal tasks ----------------------------------------------------------------
@router.get(
    "/summary", response={200: SummaryOut, **ERRORS_READ}, operation_id="operations_summary_get"
)
def summary_get(request):
    """Counts of every queue of the renewal-operations home, in the caller's sight."""
    return selectors.home_counts(user=_viewer(request))


@router.get(
    "/renewal-tasks",
    response={200: list[RenewalTaskOut], **ERRORS_READ},
    operation_id="operations_renewal_task_list",
)
def renewal_task_list(request, filters: Query[RenewalFilter]):
    """Renewal tasks in sight: ``today``, ``upcoming``, ``grace``, ``pool``, ``open``, ``done``."""
    qs = selectors.renewal_task_list(
        user=_viewer(request),
        queue=filters.queue,
        owner_id=filters.owner_id,
        team_id=filters.team_id,
        search=filters.q,
    )
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.get(
    "/renewal-tasks/due",
    response={200: list[RenewalTaskOut], **ERRORS_READ},
    operation_id="operations_renewal_task_due_list",
)
def renewal_task_due_list(request):
    """The caller's renewal tasks due now (reminder window or grace): what the dispatch reads."""
    user = _viewer(request)
    me = person_for_user(user)
    if me is None:
        return []
    return list(selectors.renewal_task_due_list(user=user, agent=me)[:500])


@router.get(
    "/renewal-tasks/{task_id}",
    response={200: RenewalTaskOut, **ERRORS_READ},
    operation_id="operations_renewal_task_get",
)
def renewal_task_get(request, task_id: int):
    return selectors.renewal_task_get(user=_viewer(request), task_id=task_id)


@router.post(
    "/renewal-tasks/{task_id}/contact",
    response={200: RenewalTaskOut, **ERRORS_WRITE},
    operation_id="operations_renewal_task_contact",
)
def renewal_task_contact(request, task_id: int, payload: ContactIn):
    """Record a renewal call or message and its outcome (the owner, their team lead, ops)."""
    user = _viewer(request)
    task = selectors.renewal_task_get(user=user, task_id=task_id)
    services.renewal_task_contact_record(
        task=task, outcome=payload.outcome, note=payload.note, at=payload.at, actor=user
    )
    return selectors.renewal_task_get(user=user, task_id=task_id)


@router.post(
    "/renewal-tasks/{task_id}/assign",
    response={200: RenewalTaskOut, **ERRORS_WRITE},
    operation_id="operations_renewal_task_assign",
)
def renewal_task_assign(request, task_id: int, payload: OwnerIn):
    """Give an open renewal task to a working person, or to the pool (``owner_id`` null)."""
    user = _operator(request)
    task = selectors.renewal_task_get(user=user, task_id=task_id)
    services.renewal_task_assign(
        task=task, owner=_person(payload.owner_id, "owner_id"), reason=payload.reason, actor=user
    )
    return selectors.renewal_task_get(user=user, task_id=task_id)


@router.post(
    "/premiums/{due_id}/pay",
    response={200: PremiumDueOut, **ERRORS_WRITE},
    operation_id="operations_premium_pay",
)
def premium_pay(request, due_id: int, payload: PaymentIn):
    """Record a renewal premium as paid: the amount due, between the issue and today, within
    the grace period. Closes its renewal task."""
    user = _operator(request)
    due = selectors.premium_due_get(user=user, due_id=due_id)
    return services.premium_payment_record(
        due=due, paid_date=payload.paid_date, amount=payload.amount, note=payload.note, actor=user
    )


@router.post(
    "/premiums/{due_id}/waive",
    response={200: PremiumDueOut, **ERRORS_WRITE},
    operation_id="operations_premium_waive",
)
def premium_waive(request, due_id: int, payload: OperationsReasonIn):
    user = _operator(request)
    due = selectors.premium_due_get(user=user, due_id=due_id)
    return services.premium_due_waive(due=due, reason=payload.reason, actor=user)


# --- Policies in servicing --------------------------------------------------------------------
@router.get(
    "/policies",
    response={200: list[ServicingOut], **ERRORS_READ},
    operation_id="operations_servicing_list",
)
def servicing_list(request, filters: Query[ServicingFilter]):
    qs = selectors.servicing_list(
        user=_viewer(request), status=filters.status, owner_id=filters.owner_id, search=filters.q
    )
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.get(
    "/policies/{policy_id}",
    response={200: ServicingDetailOut, **ERRORS_READ},
    operation_id="operations_servicing_get",
)
def servicing_get(request, policy_id: int):
    """A policy's in-force status, owner, delivery, return visit and premium schedule."""
    return selectors.servicing_get(user=_viewer(request), policy_id=policy_id)


@router.post(
    "/policies/{policy_id}/reinstate",
    response={200: ServicingOut, **ERRORS_WRITE},
    operation_id="operations_policy_reinstate",
)
def policy_reinstate(request, policy_id: int, payload: ReinstateIn):
    user = _operator(request)
    servicing = selectors.servicing_get(user=user, policy_id=policy_id)
    services.policy_reinstate(policy=servicing.policy, on=payload.on, note=payload.note, actor=user)
    return selectors.servicing_get(user=user, policy_id=policy_id)


@router.post(
    "/policies/{policy_id}/end",
    response={200: ServicingOut, **ERRORS_WRITE},
    operation_id="operations_policy_end",
)
def policy_end(request, policy_id: int, payload: EndIn):
    """Surrendered, terminated by a claim, or transferred out."""
    user = _operator(request)
    servicing = selectors.servicing_get(user=user, policy_id=policy_id)
    services.policy_servicing_end(
        policy=servicing.policy, status=payload.status, on=payload.on, note=payload.note, actor=user
    )
    return selectors.servicing_get(user=user, policy_id=policy_id)


@router.post(
    "/policies/{policy_id}/owner",
    response={200: ServicingOut, **ERRORS_WRITE},
    operation_id="operations_policy_owner_set",
)
def policy_owner_set(request, policy_id: int, payload: OwnerIn):
    user = _operator(request)
    servicing = selectors.servicing_get(user=user, policy_id=policy_id)
    services.policy_servicing_owner_set(
        policy=servicing.policy,
        owner=_person(payload.owner_id, "owner_id"),
        reason=payload.reason,
        actor=user,
    )
    return selectors.servicing_get(user=user, policy_id=policy_id)


@router.post(
    "/servicing-transfers",
    response={200: dict[str, int], **ERRORS_WRITE},
    operation_id="operations_servicing_transfer",
)
def servicing_transfer(request, payload: TransferIn):
    """Hand every policy a person serves (and its open renewal tasks) to a named successor."""
    user = _operator(request)
    return services.servicing_transfer(
        from_person=_person(payload.from_person_id, "from_person_id"),
        to_person=_person(payload.to_person_id, "to_person_id"),
        reason=payload.reason,
        actor=user,
    )


# --- Deliveries -------------------------------------------------------------------------------
@router.get(
    "/deliveries",
    response={200: list[DeliveryOut], **ERRORS_READ},
    operation_id="operations_delivery_list",
)
def delivery_list(request, filters: Query[DeliveryFilter]):
    qs = selectors.delivery_list(user=_viewer(request), queue=filters.queue)
    return list(qs[filters.offset : filters.offset + filters.limit])


def _delivery(request, delivery_id: int) -> tuple[object, Delivery]:
    user = _operator(request)
    return user, selectors.delivery_get(user=user, delivery_id=delivery_id)


@router.post(
    "/deliveries/{delivery_id}/send",
    response={200: DeliveryOut, **ERRORS_WRITE},
    operation_id="operations_delivery_send",
)
def delivery_send(request, delivery_id: int, payload: SendIn):
    user, delivery = _delivery(request, delivery_id)
    return services.delivery_send(
        delivery=delivery,
        sent_on=payload.sent_on,
        method=payload.method,
        tracking_ref=payload.tracking_ref,
        actor=user,
    )


@router.post(
    "/deliveries/{delivery_id}/delivered",
    response={200: DeliveryOut, **ERRORS_WRITE},
    operation_id="operations_delivery_delivered",
)
def delivery_delivered(request, delivery_id: int, payload: DayIn):
    user, delivery = _delivery(request, delivery_id)
    return services.delivery_mark_delivered(delivery=delivery, delivered_on=payload.day, actor=user)


@router.post(
    "/deliveries/{delivery_id}/failed",
    response={200: DeliveryOut, **ERRORS_WRITE},
    operation_id="operations_delivery_failed",
)
def delivery_failed(request, delivery_id: int, payload: ProblemIn):
    user, delivery = _delivery(request, delivery_id)
    return services.delivery_mark_failed(
        delivery=delivery, failed_on=payload.day, problem=payload.problem, actor=user
    )


@router.post(
    "/deliveries/{delivery_id}/returned",
    response={200: DeliveryOut, **ERRORS_WRITE},
    operation_id="operations_delivery_returned",
)
def delivery_returned(request, delivery_id: int, payload: ProblemIn):
    user, delivery = _delivery(request, delivery_id)
    return services.delivery_mark_returned(
        delivery=delivery, returned_on=payload.day, problem=payload.problem, actor=user
    )


@router.post(
    "/deliveries/{delivery_id}/receipt",
    response={200: DeliveryOut, **ERRORS_WRITE},
    operation_id="operations_delivery_receipt",
)
def delivery_receipt(request, delivery_id: int, payload: DayIn):
    """The customer confirmed receipt (回执): the free-look window starts that day."""
    user, delivery = _delivery(request, delivery_id)
    return services.delivery_receipt_confirm(
        delivery=delivery, receipt_date=payload.day, actor=user
    )


# --- Return visits ----------------------------------------------------------------------------
@router.get(
    "/return-visits",
    response={200: list[ReturnVisitOut], **ERRORS_READ},
    operation_id="operations_return_visit_list",
)
def return_visit_list(request, filters: Query[VisitFilter]):
    qs = selectors.return_visit_list(user=_viewer(request), queue=filters.queue)
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.post(
    "/return-visits/{visit_id}/record",
    response={200: ReturnVisitOut, **ERRORS_WRITE},
    operation_id="operations_return_visit_record",
)
def return_visit_record(request, visit_id: int, payload: VisitIn):
    user = _operator(request)
    visit = selectors.return_visit_get(user=user, visit_id=visit_id)
    return services.return_visit_record(
        visit=visit, outcome=payload.outcome, note=payload.note, actor=user
    )


@router.post(
    "/return-visits/{visit_id}/resolve",
    response={200: ReturnVisitOut, **ERRORS_WRITE},
    operation_id="operations_return_visit_resolve",
)
def return_visit_resolve(request, visit_id: int, payload: VisitResolveIn):
    """The team lead (or operations) cleared up a misunderstanding found by the visit."""
    user = _viewer(request)
    visit: ReturnVisit = selectors.return_visit_get(user=user, visit_id=visit_id)
    return services.return_visit_misunderstanding_resolve(
        visit=visit, note=payload.note, actor=user
    )


@router.get(
    "/misunderstandings",
    response={200: list[MisunderstandingOut], **ERRORS_READ},
    operation_id="operations_misunderstanding_list",
)
def misunderstanding_list(request):
    """Misunderstandings found by return visits, per selling agent in sight."""
    rows = selectors.misunderstanding_counts(user=_viewer(request))
    return [
        {
            "agent_id": r["policy__agent_id"],
            "agent_name": r["policy__agent__name"],
            "team_name": r["policy__agent__team__name"],
            "found": r["found"],
            "open": r["open"],
        }
        for r in rows
    ]


# --- Exit notices -----------------------------------------------------------------------------
@router.get(
    "/exit-notices",
    response={200: list[ExitNoticeOut], **ERRORS_READ},
    operation_id="operations_exit_notice_list",
)
def exit_notice_list(request, filters: Query[NoticeFilter]):
    qs = selectors.exit_notice_list(user=_viewer(request), status=filters.status)
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.post(
    "/exit-notices/{notice_id}/complete",
    response={200: ExitNoticeOut, **ERRORS_WRITE},
    operation_id="operations_exit_notice_complete",
)
def exit_notice_complete(request, notice_id: int, payload: NoticeIn):
    user = _operator(request)
    notice = selectors.exit_notice_get(user=user, notice_id=notice_id)
    return services.exit_notice_complete(
        notice=notice, channel=payload.channel, note=payload.note, actor=user
    )


# --- Premium receipts -------------------------------------------------------------------------
@router.post(
    "/receipts",
    response={201: ReceiptBatchDetailOut, **ERRORS_WRITE},
    operation_id="operations_receipt_import",
)
def receipt_import(request, file: File[UploadedFile]):
    """Upload a receipt file (multipart, CSV or XLSX). Good rows are applied at once; the
    answer lists every rejected row with its reason."""
    user = _operator(request)
    result = importing.receipts_import(file=file, file_name=file.name or "", actor=user)
    return Status(201, result.batch)


@router.get(
    "/receipts",
    response={200: list[ReceiptBatchOut], **ERRORS_READ},
    operation_id="operations_receipt_list",
)
def receipt_list(request):
    return list(selectors.receipt_batch_list(user=_operator(request))[:200])


@router.get(
    "/receipts/{batch_id}",
    response={200: ReceiptBatchDetailOut, **ERRORS_READ},
    operation_id="operations_receipt_get",
)
def receipt_get(request, batch_id: int):
    return selectors.receipt_batch_get(user=_operator(request), batch_id=batch_id)


@router.get(
    "/receipts/{batch_id}/rejections",
    response={200: None, **ERRORS_READ},
    operation_id="operations_receipt_report",
    openapi_extra=FILE_ANSWER,
)
def receipt_report(request, batch_id: int, format: str = "xlsx"):
    """The per-row rejection report (``format=xlsx`` or ``csv``); audited."""
    user = _operator(request)
    batch = selectors.receipt_batch_get(user=user, batch_id=batch_id)
    if format not in CONTENT_TYPES:
        raise ValidationFailed("Unknown format", fields={"format": ["xlsx or csv"]})
    content = importing.receipt_rejection_report(batch=batch, fmt=format, actor=user)
    response = HttpResponse(content, content_type=CONTENT_TYPES[format])
    response["Content-Disposition"] = (
        f'attachment; filename="receipts-{batch.pk}-rejections.{format}"'
    )
    add_never_cache_headers(response)
    return response


# --- Persistency and withholding --------------------------------------------------------------
@router.get(
    "/persistency",
    response={200: PersistencyOut, **ERRORS_READ},
    operation_id="operations_persistency_get",
    by_alias=True,
)
def persistency_get(request, query: Query[PersistencyQuery]):
    """13- and 25-month persistency at ``month`` (numerators, denominators, rates,
    exclusions). An agent gets their own; a team lead their team's."""
    return selectors.persistency_for_user(
        user=request.auth, month=query.month, team_id=query.team_id, agent_id=query.agent_id
    )


@router.get(
    "/persistency/breakdown",
    response={200: list[BreakdownRowOut], **ERRORS_READ},
    operation_id="operations_persistency_breakdown",
    by_alias=True,
)
def persistency_breakdown(request, query: Query[BreakdownQuery]):
    """Both figures per team or per agent; within ``team_id`` when given (a team lead's
    always within the teams they lead)."""
    return selectors.persistency_breakdown(
        user=request.auth, month=query.month, by=query.by, team_id=query.team_id
    )


@router.get(
    "/persistency/trend",
    response={200: list[TrendRowOut], **ERRORS_READ},
    operation_id="operations_persistency_trend",
    by_alias=True,
)
def persistency_trend(request, query: Query[TrendQuery]):
    return selectors.persistency_trend(
        user=request.auth,
        month=query.month,
        months=query.months,
        team_id=query.team_id,
        agent_id=query.agent_id,
    )


@router.get(
    "/withholding",
    response={200: list[WithholdingOut], **ERRORS_READ},
    operation_id="operations_withholding_list",
)
def withholding_list(request, query: Query[WithholdingQuery]):
    """Receipt and return visit done, per policy: what the commission withholding reads."""
    deny_unless(permissions.sees_all_operations(request.auth), "Operations and the manager only")
    ids = [int(i) for i in query.policy_ids.split(",")][:500]
    status = selectors.policy_withholding_status(policy_ids=ids)
    return [{"policy_id": pk, **values} for pk, values in sorted(status.items())]


# --- Rule sets --------------------------------------------------------------------------------
@router.get(
    "/rules",
    response={200: list[OperationsRuleSetOut], **ERRORS_READ},
    operation_id="operations_ruleset_list",
)
def ruleset_list(request):
    return list(selectors.ruleset_list(user=_viewer(request))[:100])


@router.post(
    "/rules",
    response={201: OperationsRuleSetOut, **ERRORS_WRITE},
    operation_id="operations_ruleset_create",
)
def ruleset_create(request, payload: OperationsRuleSetIn):
    """A new version of the rules, effective from today or later (manager only)."""
    data = payload.dict(exclude_none=True)
    version = services.operations_ruleset_create(
        actor=request.auth,
        name=data.pop("name"),
        effective_from=data.pop("effective_from"),
        reason=data.pop("reason", ""),
        **data,
    )
    return Status(201, version)
