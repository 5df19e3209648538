"""JSON endpoints of the leads app. Same selectors and services as the HTML pages.

Numbers leave masked (``mobile_masked``); the one exception is ``leads_lead_reveal``, which
answers the full number to a permitted user, with a reason, and audits it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Status, UploadedFile

from telesales.core.errors import (
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    deny_unless,
)
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE
from telesales.core.phone_numbers import normalise_phone, phone_hash
from telesales.leads import (
    allocation,
    channels,
    exporting,
    importing,
    number_access,
    permissions,
    rulesets,
    selectors,
)
from telesales.leads import services as lead_services
from telesales.leads.choices import BatchStatus
from telesales.leads.models import LeadRuleSet
from telesales.leads.rules import ruleset_in_force
from telesales.leads.schemas import (
    AllocationIn,
    AllocationOut,
    BatchCreateIn,
    BatchDiscardOut,
    BatchOut,
    ChannelCreateIn,
    ChannelOut,
    ChannelUpdateIn,
    DncFilter,
    DncImportIn,
    DncImportOut,
    DncIn,
    DncLookupIn,
    DncOut,
    HeaderRowIn,
    HouseholdMemberIn,
    LeadDetailOut,
    LeadExportIn,
    LeadFilter,
    LeadOut,
    LeadReasonIn,
    LeadRuleSetIn,
    LeadRuleSetOut,
    MappingIn,
    NumberAccessIn,
    NumberAccessOut,
    PoolSummaryOut,
    QualityOut,
    RejectionReportIn,
    RevealOut,
)
from telesales.org.selectors import person_for_user

router = Router(tags=["leads"])

# A file answer: the OpenAPI document says what the bytes are.
FILE_ANSWER = {
    "responses": {
        200: {
            "description": "The file",
            "content": {
                ct: {"schema": {"type": "string", "format": "binary"}}
                for ct in exporting.CONTENT_TYPES.values()
            },
        }
    }
}


def _file(export: exporting.ExportFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    add_never_cache_headers(response)
    return response


def _enqueue_import(batch_id: int) -> None:
    importing.batch_import_queue(batch_id)


# --- Leads -------------------------------------------------------------------------------
@router.get("/leads", response={200: list[LeadOut], **ERRORS_READ}, operation_id="leads_lead_list")
def lead_list(request, filters: Query[LeadFilter]):
    """Leads the caller may see (an agent: their own and the public pool), newest first.
    ``mine=true``: the caller's private pool; ``state=private``: owned or in progress."""
    user = request.auth
    deny_unless(permissions.can_view_leads(user), _("Your role has no access to lead data"))
    owner_id = filters.owner_id
    if filters.mine:
        me = person_for_user(user)
        if me is None:
            return []
        owner_id = me.pk
    q = filters.q.strip()
    if q.isdigit() and not (q.isascii() and len(q) <= 18):
        q = ""
    qs = selectors.lead_list(
        user=user,
        state=filters.state,
        grade=filters.grade,
        batch_id=filters.batch_id,
        channel_id=filters.channel_id,
        owner_id=owner_id,
        team_id=filters.team_id,
        search=q,
    )
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.get(
    "/leads/{lead_id}", response={200: LeadDetailOut, **ERRORS_READ}, operation_id="leads_lead_get"
)
def lead_get(request, lead_id: int):
    deny_unless(permissions.can_view_leads(request.auth), _("Your role has no access to lead data"))
    return selectors.lead_get(user=request.auth, lead_id=lead_id)


@router.post(
    "/leads/{lead_id}/household",
    response={201: LeadDetailOut, **ERRORS_WRITE},
    operation_id="leads_household_member_add",
)
def household_member_add(request, lead_id: int, payload: HouseholdMemberIn):
    """Record a family member of the lead's customer, with their relation to the customer
    when known (it feeds the extended-service suggestions): the lead's owner, their team lead,
    the data officer, the manager. A number already in another household: 422."""
    user = request.auth
    deny_unless(permissions.can_view_leads(user), _("Your role has no access to lead data"))
    lead = selectors.lead_get(user=user, lead_id=lead_id)
    lead_services.household_member_add(lead=lead, actor=user, **payload.dict())
    return Status(201, selectors.lead_get(user=user, lead_id=lead_id))


@router.post(
    "/leads/{lead_id}/household/{member_id}/remove",
    response={200: LeadDetailOut, **ERRORS_WRITE},
    operation_id="leads_household_member_remove",
)
def household_member_remove(request, lead_id: int, member_id: int, payload: LeadReasonIn):
    """Take a member out of the lead's customer's household, with a reason (audited)."""
    user = request.auth
    deny_unless(permissions.can_view_leads(user), _("Your role has no access to lead data"))
    lead = selectors.lead_get(user=user, lead_id=lead_id)
    if not lead_services.can_edit_household(user, lead):
        raise PermissionDenied(_("Only the lead's owner, their team lead or the data officer"))
    customer = lead.customer
    member = (
        customer.household.members.exclude(pk=customer.pk).filter(pk=member_id).first()
        if customer.household_id
        else None
    )
    if member is None:
        raise NotFound(_("No such member in this customer's household"))
    lead_services.household_member_remove(
        lead=lead, member=member, actor=user, reason=payload.reason
    )
    return selectors.lead_get(user=user, lead_id=lead_id)


@router.post(
    "/leads/{lead_id}/claim",
    response={200: LeadOut, **ERRORS_WRITE},
    operation_id="leads_lead_claim",
)
def lead_claim(request, lead_id: int):
    """Take a lead from the public pool into the caller's private pool. A refusal says why
    (``claim_limit_reached``, ``private_cap_reached``, ``former_owner_barred``, …)."""
    user = request.auth
    deny_unless(permissions.can_claim(user), _("Your role cannot claim leads"))
    lead = selectors.lead_get(user=user, lead_id=lead_id)
    me = person_for_user(user)
    if me is None:
        raise ValidationFailed(_("Your login is not linked to an employee record"))
    lead_services.lead_claim(lead=lead, agent=me, actor=user)
    return selectors.lead_get(user=user, lead_id=lead_id)


@router.post(
    "/leads/{lead_id}/release",
    response={200: LeadOut, **ERRORS_WRITE},
    operation_id="leads_lead_release",
)
def lead_release(request, lead_id: int, payload: LeadReasonIn):
    user = request.auth
    deny_unless(permissions.can_view_leads(user), _("Your role has no access to lead data"))
    lead = selectors.lead_get(user=user, lead_id=lead_id)
    lead_services.lead_release(lead=lead, actor=user, reason=payload.reason)
    return selectors.lead_get(user=user, lead_id=lead_id)


@router.post(
    "/leads/{lead_id}/reveal",
    response={200: RevealOut, **ERRORS_WRITE},
    operation_id="leads_lead_reveal",
)
def lead_reveal(request, lead_id: int, payload: LeadReasonIn, response: HttpResponse):
    """The full number, for a user allowed to reveal numbers; audited with the reason.
    The answer must not be cached (``Cache-Control: no-store``)."""
    user = request.auth
    if not permissions.can_reveal_phone(user):
        raise lead_services.phone_reveal_refused(
            lead_id=lead_id, actor=user, via="api", reason=payload.reason
        )
    lead = selectors.lead_get(user=user, lead_id=lead_id)
    number = lead_services.lead_phone_reveal(
        lead=lead, actor=user, reason=payload.reason, via="api"
    )
    add_never_cache_headers(response)
    return {"lead_id": lead.pk, "mobile": number}


@router.post(
    "/number-access",
    response={200: NumberAccessOut, **ERRORS_WRITE},
    operation_id="leads_number_access",
)
def number_access_lookup(request, payload: NumberAccessIn):
    """Who brought in, held and saw the full number of the customer with ``phone``: the
    batches it came in, the agents who held its leads, every reveal (page, API, export) with
    who, when and why. For users who may read the audit log; the lookup is audited."""
    return number_access.number_access_lookup(
        actor=request.auth, phone=payload.phone, reason=payload.reason
    )


@router.post(
    "/exports/leads",
    response={200: None, **ERRORS_WRITE},
    operation_id="leads_lead_export",
    openapi_extra=FILE_ANSWER,
)
def lead_export(request, payload: LeadExportIn):
    """The filtered leads as XLSX or CSV (data officer and manager; audited, row-capped)."""
    data = payload.dict()
    q = data.pop("q", "").strip()
    fmt = data.pop("format")
    full = data.pop("include_full_numbers")
    reason = data.pop("reason")
    export = exporting.lead_export(
        actor=request.auth,
        filters={**data, "search": q},
        fmt=fmt,
        include_full_numbers=full,
        reason=reason,
    )
    return _file(export)


# --- Pools ---------------------------------------------------------------------------------
@router.get("/pools", response={200: PoolSummaryOut, **ERRORS_READ}, operation_id="leads_pool_get")
def pool_get(request):
    """Leads waiting in the public pool (by grade, channel, batch) and held per agent."""
    user = request.auth
    deny_unless(permissions.sees_all_leads(user), _("Only data roles see the pools overview"))
    pool = selectors.public_pool_summary(user=user)
    return {
        "public_total": sum(r["n"] for r in pool["by_grade"]),
        "public_by_grade": pool["by_grade"],
        "public_by_channel": [
            {"channel_id": r["channel_id"], "channel_name": r["channel__name"], "n": r["n"]}
            for r in pool["by_channel"]
        ],
        "public_by_batch": [
            {"batch_id": r["batch_id"], "batch_name": r["batch__name"], "n": r["n"]}
            for r in pool["by_batch"]
        ],
        "private": [
            {
                "owner_id": r["owner_id"],
                "owner_name": r["owner__name"],
                "team_name": r["owner__team__name"],
                "held": r["held"],
            }
            for r in selectors.private_pool_counts(user=user)
        ],
    }


@router.get(
    "/channels", response={200: list[ChannelOut], **ERRORS_READ}, operation_id="leads_channel_list"
)
def channel_list(request):
    deny_unless(permissions.can_view_leads(request.auth), _("Your role has no access to lead data"))
    return list(selectors.channel_list(user=request.auth))


@router.post(
    "/channels", response={201: ChannelOut, **ERRORS_WRITE}, operation_id="leads_channel_create"
)
def channel_create(request, payload: ChannelCreateIn):
    channel = channels.channel_create(actor=request.auth, **payload.dict())
    return Status(201, channel)


@router.patch(
    "/channels/{channel_id}",
    response={200: ChannelOut, **ERRORS_WRITE},
    operation_id="leads_channel_update",
)
def channel_update(request, channel_id: int, payload: ChannelUpdateIn):
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("You may not manage lead channels"))
    channel = selectors.channel_list(user=user).filter(pk=channel_id).first()
    if channel is None:
        raise NotFound(_("No such channel"))
    data = {k: v for k, v in payload.dict().items() if v is not None}
    return channels.channel_update(channel=channel, actor=user, **data)


# --- Batches -------------------------------------------------------------------------------
def _batches_visible(user) -> None:
    deny_unless(permissions.sees_all_leads(user), _("Only data roles see lead batches"))


@router.get(
    "/batches", response={200: list[BatchOut], **ERRORS_READ}, operation_id="leads_batch_list"
)
def batch_list(request, limit: int = 100, offset: int = 0):
    _batches_visible(request.auth)
    limit, offset = max(1, min(limit, 500)), max(0, min(offset, 10**9))
    batches = selectors.batch_list(user=request.auth)[offset : offset + limit]
    return importing.batches_stale_mark(batches)


@router.post(
    "/batches",
    response={201: BatchOut, **ERRORS_WRITE},
    operation_id="leads_batch_create",
)
def batch_create(request, payload: Form[BatchCreateIn], file: File[UploadedFile]):
    """Upload a CSV or XLSX file as a new batch (multipart). The import runs in the
    background; poll ``leads_batch_get`` for the progress. Status ``mapping``: send the
    column mapping with ``leads_batch_mapping_set``."""
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("Only data roles import leads"))
    batch = importing.batch_create(
        file=file,
        file_name=file.name or "",
        name=payload.name,
        channel_code=payload.channel,
        create_channel=payload.create_channel,
        cost=payload.cost,
        default_grade=payload.default_grade,
        required_grade=payload.required_grade,
        actor=user,
    )
    if batch.status == BatchStatus.PENDING:
        _enqueue_import(batch.pk)
    return Status(201, selectors.batch_get(user=user, batch_id=batch.pk))


@router.get(
    "/batches/{batch_id}", response={200: BatchOut, **ERRORS_READ}, operation_id="leads_batch_get"
)
def batch_get(request, batch_id: int):
    _batches_visible(request.auth)
    return selectors.batch_get(user=request.auth, batch_id=batch_id)


@router.put(
    "/batches/{batch_id}/mapping",
    response={200: BatchOut, **ERRORS_WRITE},
    operation_id="leads_batch_mapping_set",
)
def batch_mapping_set(request, batch_id: int, payload: MappingIn):
    """Say which field each column holds (``{"2": "mobile", "0": "name", "3": ""}``) and
    start the import."""
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("Only data roles import leads"))
    batch = selectors.batch_get(user=user, batch_id=batch_id)
    batch = importing.batch_import_with_mapping(
        batch=batch, mapping=payload.columns, actor=user, run=False
    )
    _enqueue_import(batch.pk)
    return selectors.batch_get(user=user, batch_id=batch.pk)


@router.put(
    "/batches/{batch_id}/header",
    response={200: BatchOut, **ERRORS_WRITE},
    operation_id="leads_batch_header_set",
)
def batch_header_set(request, batch_id: int, payload: HeaderRowIn):
    """Say which row of the file holds the headers (one of the batch's ``preview`` rows; 0:
    none). The batch answers with that row's columns, recognised again, and waits in status
    ``mapping``: confirm the columns with ``leads_batch_mapping_set``."""
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("Only data roles import leads"))
    batch = selectors.batch_get(user=user, batch_id=batch_id)
    batch = importing.batch_header_set(batch=batch, header_row=payload.header_row, actor=user)
    return selectors.batch_get(user=user, batch_id=batch.pk)


@router.post(
    "/batches/{batch_id}/discard",
    response={200: BatchDiscardOut, **ERRORS_WRITE},
    operation_id="leads_batch_discard",
)
def batch_discard(request, batch_id: int):
    """Throw away a batch that imported nothing (status ``mapping``, ``pending`` or
    ``failed``, or ``running`` left by a run that died): the batch and its stored file go,
    and the same file may be uploaded again. A batch being imported, done, or interrupted
    after importing leads (resume it: ``leads_batch_resume``): ``409``."""
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("Only data roles import leads"))
    batch = selectors.batch_get(user=user, batch_id=batch_id)
    importing.batch_discard(batch=batch, actor=user)
    return {"id": batch_id, "name": batch.name, "discarded": True}


@router.post(
    "/batches/{batch_id}/resume",
    response={200: BatchOut, **ERRORS_WRITE},
    operation_id="leads_batch_resume",
)
def batch_resume(request, batch_id: int):
    """Queue the import of a batch again (``resumable``): one left ``running`` by an import
    whose process died (``interrupted``), or one queued that no worker started
    (``overdue``). It runs as the upload's import does, from the start of the file, as
    ``telesales leads-import --resume ID``; poll ``leads_batch_get``. A batch already queued
    (asked twice), being imported, done, failed or waiting for its mapping: ``409``, and
    nothing changes."""
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("Only data roles import leads"))
    batch = selectors.batch_get(user=user, batch_id=batch_id)
    importing.batch_resume(batch=batch, actor=user)
    return selectors.batch_get(user=user, batch_id=batch.pk)


@router.get(
    "/batches/{batch_id}/rejections",
    response={200: None, **ERRORS_READ},
    operation_id="leads_batch_rejection_report",
    openapi_extra=FILE_ANSWER,
)
def batch_rejection_report(request, batch_id: int, format: str = "xlsx"):
    """The per-row rejection report (``format=xlsx`` or ``csv``), phone numbers masked;
    audited. With full numbers: ``POST`` with a reason."""
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("Only data roles download rejection reports"))
    batch = selectors.batch_get(user=user, batch_id=batch_id)
    if format not in exporting.FORMATS:
        raise ValidationFailed(_("Unknown format"), fields={"format": [_("xlsx or csv")]})
    content = importing.batch_rejection_report(batch=batch, fmt=format, actor=user)
    return _rejection_file(batch.pk, format, content)


@router.post(
    "/batches/{batch_id}/rejections",
    response={200: None, **ERRORS_WRITE},
    operation_id="leads_batch_rejection_report_full",
    openapi_extra=FILE_ANSWER,
)
def batch_rejection_report_full(request, batch_id: int, payload: RejectionReportIn):
    """The rejection report with full phone numbers: for those who may see numbers, with a
    reason (at least 2 characters); audited like a reveal."""
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("Only data roles download rejection reports"))
    deny_unless(permissions.can_reveal_phone(user), _("You may not see full phone numbers"))
    batch = selectors.batch_get(user=user, batch_id=batch_id)
    content = importing.batch_rejection_report(
        batch=batch, fmt=payload.format, actor=user, full_numbers=True, reason=payload.reason
    )
    return _rejection_file(batch.pk, payload.format, content)


def _rejection_file(batch_id: int, fmt: str, content: bytes) -> HttpResponse:
    return _file(
        exporting.ExportFile(
            filename=f"batch-{batch_id}-rejections.{fmt}",
            content_type=exporting.CONTENT_TYPES[fmt],
            content=content,
            rows=0,
        )
    )


# --- Do-not-call list ----------------------------------------------------------------------
def _dnc_allowed(user) -> None:
    deny_unless(
        permissions.can_manage_leads(user), _("Only data roles manage the do-not-call list")
    )


@router.get("/dnc", response={200: list[DncOut], **ERRORS_READ}, operation_id="leads_dnc_list")
def dnc_list(request, filters: Query[DncFilter]):
    """Entries of the list (active ones unless ``include_inactive``), numbers masked."""
    user = request.auth
    _dnc_allowed(user)
    qs = selectors.dnc_list(user=user, include_inactive=filters.include_inactive)
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.post(
    "/dnc/lookup", response={200: list[DncOut], **ERRORS_WRITE}, operation_id="leads_dnc_lookup"
)
def dnc_lookup(request, payload: DncLookupIn):
    """The entries for one number: is it blocked, since when, until when?"""
    user = request.auth
    _dnc_allowed(user)
    result = normalise_phone(payload.phone)
    if result.e164 is None:
        raise ValidationFailed(
            _("Not a valid phone number"), fields={"phone": [_("Not a valid phone number")]}
        )
    qs = selectors.dnc_list(user=user, include_inactive=payload.include_inactive)
    return list(qs.filter(phone_hash=phone_hash(result.e164))[:100])


@router.post("/dnc", response={201: DncOut, **ERRORS_WRITE}, operation_id="leads_dnc_add")
def dnc_add(request, payload: DncIn):
    user = request.auth
    _dnc_allowed(user)
    if payload.permanent and payload.days:
        raise ValidationFailed(
            _("A permanent block has no duration"),
            fields={"days": [_("A permanent block has no duration")]},
        )
    entry = lead_services.dnc_add(
        phone=payload.phone,
        source=payload.source,
        reason=payload.reason,
        days=payload.days,
        permanent=payload.permanent,
        actor=user,
        ruleset_days=ruleset_in_force().dnc_days,
    )
    return Status(201, entry)


@router.post(
    "/dnc/{entry_id}/remove",
    response={200: DncOut, **ERRORS_WRITE},
    operation_id="leads_dnc_remove",
)
def dnc_remove(request, entry_id: int, payload: LeadReasonIn):
    user = request.auth
    _dnc_allowed(user)
    entry = selectors.dnc_list(user=user, include_inactive=True).filter(pk=entry_id).first()
    if entry is None:
        raise NotFound(_("No such entry"))
    if entry.removed_at:
        raise InvalidState(_("This entry was removed already"))
    return lead_services.dnc_remove(entry=entry, actor=user, reason=payload.reason)


@router.post(
    "/dnc/import", response={200: DncImportOut, **ERRORS_WRITE}, operation_id="leads_dnc_import"
)
def dnc_import(request, payload: Form[DncImportIn], file: File[UploadedFile]):
    """Load a list of numbers (CSV or XLSX, one per row; multipart)."""
    user = request.auth
    _dnc_allowed(user)
    result = importing.dnc_import(
        file=file,
        file_name=file.name or "",
        source=payload.source,
        reason=payload.reason,
        days=payload.days,
        permanent=payload.permanent,
        actor=user,
    )
    return result.as_dict()


# --- Rule sets -------------------------------------------------------------------------------
@router.get(
    "/rulesets",
    response={200: list[LeadRuleSetOut], **ERRORS_READ},
    operation_id="leads_ruleset_list",
)
def ruleset_list(request):
    deny_unless(permissions.sees_all_leads(request.auth), _("Only data roles see the lead rules"))
    return list(selectors.ruleset_list(user=request.auth))


@router.get(
    "/rulesets/{ruleset_id}",
    response={200: LeadRuleSetOut, **ERRORS_READ},
    operation_id="leads_ruleset_get",
)
def ruleset_get(request, ruleset_id: int):
    deny_unless(permissions.sees_all_leads(request.auth), _("Only data roles see the lead rules"))
    version = selectors.ruleset_list(user=request.auth).filter(pk=ruleset_id).first()
    if version is None:
        raise NotFound(_("No such rule set"))
    return version


@router.post(
    "/rulesets", response={201: LeadRuleSetOut, **ERRORS_WRITE}, operation_id="leads_ruleset_create"
)
def ruleset_create(request, payload: LeadRuleSetIn):
    """A new version of the rules, effective from a day (today or later); never an edit."""
    user = request.auth
    deny_unless(permissions.can_manage_leads(user), _("Only data roles change the lead rules"))
    data = payload.dict(exclude_unset=True)
    based_on: LeadRuleSet | None = None
    if data.get("based_on_id"):
        based_on = selectors.ruleset_list(user=user).filter(pk=data["based_on_id"]).first()
        if based_on is None:
            raise ValidationFailed(
                _("Unknown rule set"), fields={"based_on_id": [_("no such version")]}
            )
    params = {k: v for k, v in data.items() if k in rulesets.PARAMETER_FIELDS and v is not None}
    version = rulesets.ruleset_version_create(
        actor=user,
        name=payload.name,
        stage=payload.stage or "",
        effective_from=payload.effective_from,
        based_on=based_on,
        reason=payload.reason,
        **params,
    )
    return Status(201, version)


# --- Allocation ------------------------------------------------------------------------------
def _runs(user):
    deny_unless(permissions.can_manage_leads(user), _("Only data roles allocate leads"))
    return selectors.allocation_list(user=user)


@router.get(
    "/allocations",
    response={200: list[AllocationOut], **ERRORS_READ},
    operation_id="leads_allocation_list",
)
def allocation_list(request):
    return list(_runs(request.auth)[:100])


@router.post(
    "/allocations",
    response={201: AllocationOut, **ERRORS_WRITE},
    operation_id="leads_allocation_preview",
)
def allocation_preview(request, payload: AllocationIn):
    """Plan an allocation (nothing changes yet): per-agent counts and grade mix, the agents
    skipped and the leads left unplaced, with reasons. Commit it with
    ``leads_allocation_commit``."""
    _runs(request.auth)
    manual = payload.manual.dict(exclude_none=True) if payload.manual else None
    run = allocation.allocation_preview(
        actor=request.auth,
        strategy=payload.strategy,
        criteria=payload.criteria.dict(exclude_none=True),
        targets=payload.targets.dict(),
        manual=manual,
        seed=payload.seed,
    )
    return Status(201, run)


@router.get(
    "/allocations/{run_id}",
    response={200: AllocationOut, **ERRORS_READ},
    operation_id="leads_allocation_get",
)
def allocation_get(request, run_id: int):
    run = _runs(request.auth).filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("No such allocation"))
    return run


@router.post(
    "/allocations/{run_id}/commit",
    response={200: AllocationOut, **ERRORS_WRITE},
    operation_id="leads_allocation_commit",
)
def allocation_commit(request, run_id: int):
    """Apply a previewed plan as one audited operation, or refuse it whole
    (``stale_preview``) when the situation changed."""
    run = _runs(request.auth).filter(pk=run_id).first()
    if run is None:
        raise NotFound(_("No such allocation"))
    return allocation.allocation_commit(run=run, actor=request.auth)


# --- Quality -----------------------------------------------------------------------------
@router.get("/quality", response={200: QualityOut, **ERRORS_READ}, operation_id="leads_quality_get")
def quality_get(request: HttpRequest):
    """Per batch and per channel: leads, share dialled, connect rate, conversion, premium per
    lead and cost per sale."""
    user = request.auth
    deny_unless(permissions.sees_all_leads(user), _("Only data roles see the quality report"))
    return {
        "batches": selectors.batch_quality_list(user=user),
        "channels": selectors.channel_quality_list(user=user),
    }


@router.get(
    "/quality/export",
    response={200: None, **ERRORS_READ},
    operation_id="leads_quality_export",
    openapi_extra=FILE_ANSWER,
)
def quality_export(request):
    """The quality report as an XLSX workbook (audited)."""
    return _file(exporting.quality_report_export(actor=request.auth, fmt="xlsx"))
