"""Request and response schemas of the leads API.

No schema carries a full phone number, except ``RevealOut`` (the audited reveal): customers
are exposed as ``mobile_masked``, and free text that people type (reasons, consent evidence,
errors) goes through ``mask_numbers_in``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from ninja import Schema
from pydantic import Field

from telesales.core.http_api import ID_MAX, InputSchema
from telesales.core.phone_numbers import mask_phone
from telesales.leads.choices import (
    AllocationStrategy,
    BatchStatus,
    DncSource,
    Gender,
    LeadAction,
    LeadGrade,
    LeadState,
    Relation,
)
from telesales.leads.masking import mask_numbers_in
from telesales.leads.models import Lead, LeadBatch, LeadEvent
from telesales.org.choices import TeamStage

PAGE_MAX = 500
REASON_MAX = 300
Id = Field(default=None, ge=1, le=ID_MAX)


# --- Leads -------------------------------------------------------------------------------
class LeadOut(Schema):
    id: int
    customer_name: str
    mobile_masked: str
    province: str
    city: str
    channel_id: int
    channel_name: str
    batch_id: int | None
    grade: LeadGrade
    required_grade: int
    state: LeadState
    owner_id: int | None
    owner_name: str | None
    owned_since: dt.datetime | None
    protect_until: dt.datetime | None
    recycle_warned_at: dt.datetime | None
    has_consent: bool
    dial_count: int
    connect_count: int
    last_contact_at: dt.datetime | None
    premium: Decimal

    @staticmethod
    def resolve_customer_name(obj: Lead) -> str:
        return mask_numbers_in(obj.customer.name)

    @staticmethod
    def resolve_mobile_masked(obj: Lead) -> str:
        return mask_phone(obj.customer.mobile_e164)

    @staticmethod
    def resolve_province(obj: Lead) -> str:
        return obj.customer.province

    @staticmethod
    def resolve_city(obj: Lead) -> str:
        return obj.customer.city

    @staticmethod
    def resolve_channel_name(obj: Lead) -> str:
        return obj.channel.name

    @staticmethod
    def resolve_owner_name(obj: Lead) -> str | None:
        return obj.owner.name if obj.owner_id else None


class LeadEventOut(Schema):
    at: dt.datetime
    action: LeadAction
    actor: str | None
    from_state: str
    to_state: str
    from_owner_id: int | None
    to_owner_id: int | None
    reason: str

    @staticmethod
    def resolve_actor(obj: LeadEvent) -> str | None:
        return obj.actor.get_username() if obj.actor_id and obj.actor else None

    @staticmethod
    def resolve_reason(obj: LeadEvent) -> str:
        return mask_numbers_in(obj.reason)


class HouseholdMemberOut(Schema):
    id: int
    name: str
    mobile_masked: str
    #: spouse, child, parent, other (to ``relation_to_id``, a customer); "" when not known.
    relation: str = ""
    relation_to_id: int | None = None


class HouseholdMemberIn(InputSchema):
    """A family member of the lead's customer (``services.household_member_add``)."""

    name: str = Field(min_length=1, max_length=50)
    mobile: str = Field(min_length=1, max_length=40)
    gender: Gender | Literal[""] = ""
    birth_date: dt.date | None = None
    #: Their relation to the lead's customer; "" when not known.
    relation: Relation | Literal[""] = ""


class LeadDetailOut(LeadOut):
    gender: str
    birth_year: int | None
    consent_source: str
    consent_at: dt.datetime | None
    consent_wording: str
    consent_evidence: str
    no_marketing: bool
    household: list[HouseholdMemberOut]
    events: list[LeadEventOut]

    @staticmethod
    def resolve_gender(obj: Lead) -> str:
        return obj.customer.gender

    @staticmethod
    def resolve_birth_year(obj: Lead) -> int | None:
        return obj.customer.birth_date.year if obj.customer.birth_date else None

    @staticmethod
    def resolve_consent_wording(obj: Lead) -> str:
        return mask_numbers_in(obj.consent_wording)

    @staticmethod
    def resolve_consent_evidence(obj: Lead) -> str:
        return mask_numbers_in(obj.consent_evidence)

    @staticmethod
    def resolve_no_marketing(obj: Lead) -> bool:
        return obj.customer.no_marketing

    @staticmethod
    def resolve_household(obj: Lead) -> list[dict]:
        customer = obj.customer
        if not customer.household_id:
            return []
        members = customer.household.members.exclude(pk=customer.pk).order_by("id")[:20]
        return [
            {
                "id": m.pk,
                "name": mask_numbers_in(m.name),
                "mobile_masked": mask_phone(m.mobile_e164),
                "relation": m.relation,
                "relation_to_id": m.relation_to_id,
            }
            for m in members
        ]

    @staticmethod
    def resolve_events(obj: Lead) -> list:
        return list(obj.events.select_related("actor").order_by("at", "id"))


StateFilter = LeadState | Literal["private"]


class LeadFilter(InputSchema):
    state: StateFilter | None = None
    grade: LeadGrade | None = None
    batch_id: int | None = Id
    channel_id: int | None = Id
    owner_id: int | None = Id
    team_id: int | None = Id
    mine: bool = False
    q: str = Field(default="", max_length=50)
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)
    offset: int = Field(default=0, ge=0, le=ID_MAX - PAGE_MAX)


class LeadReasonIn(InputSchema):
    reason: str = Field(min_length=2, max_length=REASON_MAX)


class RevealOut(Schema):
    lead_id: int
    mobile: str


class NumberAccessIn(InputSchema):
    """A number to trace (in the body, so that it never lands in a URL or a log) and why."""

    phone: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=2, max_length=REASON_MAX)


class NumberRevealOut(Schema):
    at: dt.datetime
    actor_name: str
    via: str
    lead_id: int
    reason: str

    @staticmethod
    def resolve_reason(obj) -> str:
        return mask_numbers_in(obj.reason)


class NumberHolderOut(Schema):
    person_id: int
    name: str
    first_at: dt.datetime
    lead_ids: list[int]


class NumberLeadOut(Schema):
    lead_id: int
    state: str
    owner_name: str
    batch_name: str
    file_name: str
    channel: str
    uploader: str
    imported_at: dt.datetime | None


class NumberRejectedRowOut(Schema):
    row_number: int
    reason: str


class NumberReportDownloadOut(Schema):
    """A download, with full numbers, of a batch's rejection report that held the number."""

    at: dt.datetime
    actor_name: str
    batch_id: int
    batch_name: str
    format: str
    rows: list[NumberRejectedRowOut]
    reason: str

    @staticmethod
    def resolve_reason(obj) -> str:
        return mask_numbers_in(obj.reason)


class NumberAccessOut(Schema):
    """Who brought in, held and saw the full number of one customer (or of a number only
    ever rejected at import); the number masked."""

    mobile_masked: str = Field(alias="masked")
    customer_id: int | None
    customer_name: str
    leads: list[NumberLeadOut]
    holders: list[NumberHolderOut]
    reveals: list[NumberRevealOut]
    reveals_truncated: bool
    report_downloads: list[NumberReportDownloadOut]
    report_downloads_truncated: bool


class RejectionReportIn(InputSchema):
    """The rejection report with full numbers: a reveal, so it takes a reason (in the body,
    not the URL)."""

    format: Literal["xlsx", "csv"] = "xlsx"
    reason: str = Field(default="", max_length=REASON_MAX)


class LeadExportIn(InputSchema):
    state: StateFilter | None = None
    grade: LeadGrade | None = None
    batch_id: int | None = Id
    channel_id: int | None = Id
    owner_id: int | None = Id
    team_id: int | None = Id
    q: str = Field(default="", max_length=50)
    format: Literal["xlsx", "csv"] = "xlsx"
    include_full_numbers: bool = False
    reason: str = Field(default="", max_length=REASON_MAX)


# --- Pools -------------------------------------------------------------------------------
class CountByGrade(Schema):
    grade: str
    n: int


class CountByChannel(Schema):
    channel_id: int
    channel_name: str
    n: int


class CountByBatch(Schema):
    batch_id: int | None
    batch_name: str | None
    n: int


class PrivatePoolOut(Schema):
    owner_id: int
    owner_name: str
    team_name: str | None
    held: int


class PoolSummaryOut(Schema):
    public_total: int
    public_by_grade: list[CountByGrade]
    public_by_channel: list[CountByChannel]
    public_by_batch: list[CountByBatch]
    private: list[PrivatePoolOut]


# --- Batches -------------------------------------------------------------------------------
class BatchPreviewRowOut(Schema):
    row: int = Field(description="the row number as the file shows it")
    cells: list[str]


BatchState = Literal["pending", "mapping", "running", "done", "failed", "interrupted", "overdue"]


def _marked(obj: LeadBatch) -> LeadBatch:
    """The batch with its interrupted / overdue marks (``importing.batches_stale_mark``;
    the endpoints mark their batches, this is the fallback)."""
    if not hasattr(obj, "state"):
        from telesales.leads.importing import batches_stale_mark

        batches_stale_mark([obj])
    return obj


class BatchOut(Schema):
    id: int
    name: str
    channel_id: int
    channel_code: str
    file_name: str
    status: BatchStatus
    state: BatchState = Field(
        description="what the batch page shows: the status, or ``interrupted`` (left "
        "``running`` by an import whose process died) or ``overdue`` (queued, ``pending``, "
        "longer than TELESALES_IMPORT_QUEUE_MINUTES without a worker starting it)"
    )
    interrupted: bool = Field(description="left ``running`` by an import whose process died")
    overdue: bool = Field(description="queued longer than the threshold, no worker started it")
    resumable: bool = Field(
        description="interrupted or overdue: its import may be queued again (leads_batch_resume)"
    )
    cost: Decimal
    default_grade: LeadGrade
    required_grade: int
    rows: int
    processed: int
    progress: int
    imported: int
    duplicate: int
    invalid: int
    dnc_blocked: int
    error: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    headers: list[str]
    columns: dict[str, str]
    sample: list[list[str]]
    header_row: int = Field(description="the row holding the headers; 0: the file has none")
    preview: list[BatchPreviewRowOut] = Field(
        description="the first rows of a batch waiting for its mapping, numbers masked: "
        "where the header row may be chosen (leads_batch_header_set)"
    )

    @staticmethod
    def resolve_channel_code(obj: LeadBatch) -> str:
        return obj.channel.code

    @staticmethod
    def resolve_state(obj: LeadBatch) -> str:
        return _marked(obj).state

    @staticmethod
    def resolve_interrupted(obj: LeadBatch) -> bool:
        return _marked(obj).stale

    @staticmethod
    def resolve_overdue(obj: LeadBatch) -> bool:
        return _marked(obj).overdue

    @staticmethod
    def resolve_resumable(obj: LeadBatch) -> bool:
        return _marked(obj).resumable

    @staticmethod
    def resolve_error(obj: LeadBatch) -> str:
        return mask_numbers_in(obj.error)

    @staticmethod
    def resolve_headers(obj: LeadBatch) -> list[str]:
        return [str(h) for h in (obj.mapping or {}).get("headers", [])]

    @staticmethod
    def resolve_columns(obj: LeadBatch) -> dict[str, str]:
        return {str(k): str(v) for k, v in ((obj.mapping or {}).get("columns") or {}).items()}

    @staticmethod
    def resolve_header_row(obj: LeadBatch) -> int:
        value = (obj.mapping or {}).get("header_row", 1)
        return value if isinstance(value, int) else 1

    @staticmethod
    def resolve_preview(obj: LeadBatch) -> list[dict]:
        rows = (obj.mapping or {}).get("preview") or []
        return [
            {"row": row[0], "cells": [mask_numbers_in(str(c)) for c in row[1]]}
            for row in rows
            if isinstance(row, list) and len(row) == 2 and isinstance(row[1], list)
        ]

    @staticmethod
    def resolve_sample(obj: LeadBatch) -> list[list[str]]:
        """Sample rows of a batch waiting for its mapping, numbers masked."""
        sample = (obj.mapping or {}).get("sample") or []
        return [[mask_numbers_in(c) for c in row] for row in sample if isinstance(row, list)]


class BatchCreateIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    channel: str = Field(min_length=1, max_length=40, description="channel code")
    create_channel: bool = False
    cost: Decimal = Field(default=Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    default_grade: LeadGrade = LeadGrade.C
    required_grade: int = Field(default=1, ge=1, le=4)


class MappingIn(InputSchema):
    columns: dict[str, str] = Field(
        description="column index (or header text) → field; an empty field ignores the column",
        max_length=500,
    )


class HeaderRowIn(InputSchema):
    header_row: int = Field(
        ge=0,
        le=10**9,
        description="the row holding the headers, as the file numbers it (one of the batch's "
        "preview rows); 0: the file has no header row",
    )


class BatchDiscardOut(Schema):
    id: int
    name: str
    discarded: bool


class ChannelOut(Schema):
    id: int
    code: str
    name: str
    default_cost_per_lead: Decimal
    consent_wording: str
    is_active: bool


class ChannelCreateIn(InputSchema):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=100)
    default_cost_per_lead: Decimal = Field(default=Decimal("0"), ge=0, le=100000)
    consent_wording: str = Field(default="", max_length=2000)
    is_active: bool = True


class ChannelUpdateIn(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    default_cost_per_lead: Decimal | None = Field(default=None, ge=0, le=100000)
    consent_wording: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None


# --- DNC -----------------------------------------------------------------------------------
class DncOut(Schema):
    id: int
    phone_masked: str
    source: DncSource
    reason: str
    expires_at: dt.datetime | None
    removed_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_reason(obj) -> str:
        return mask_numbers_in(obj.reason)


class DncFilter(InputSchema):
    include_inactive: bool = False
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)
    offset: int = Field(default=0, ge=0, le=ID_MAX - PAGE_MAX)


class DncIn(InputSchema):
    phone: str = Field(min_length=1, max_length=40)
    source: DncSource = DncSource.CUSTOMER_REQUEST
    reason: str = Field(default="", max_length=200)
    days: int | None = Field(default=None, ge=1, le=36500)
    permanent: bool = False


class DncLookupIn(InputSchema):
    """A number to look up (sent in the body, so that it never lands in a URL or a log)."""

    phone: str = Field(min_length=1, max_length=40)
    include_inactive: bool = True


class DncImportIn(InputSchema):
    source: DncSource = DncSource.IMPORT
    reason: str = Field(default="", max_length=200)
    days: int | None = Field(default=None, ge=1, le=36500)
    permanent: bool = False


class DncImportOut(Schema):
    rows: int
    added: int
    invalid: int
    already_listed: int
    blank_rows: int
    leads_blocked: int
    invalid_rows: list[int]


# --- Rule sets -------------------------------------------------------------------------------
class LeadRuleSetOut(Schema):
    id: int
    name: str
    stage: str
    effective_from: dt.date
    is_active: bool
    default_private_cap: int
    private_cap_by_level: dict[str, Any]
    daily_claim_limit: int
    protection_days: int
    protection_extend_days: int
    protection_max_days: int
    former_owner_bar_days: int
    recycle_warning_days: int
    recycle_no_dial_days: int
    recycle_no_connect_attempts: int
    recycle_no_connect_days: int
    recycle_no_followup_days: int
    recycle_on_owner_leaving: bool
    daily_allocation_quota: int
    level_weights: dict[str, Any]
    new_hire_weeks: int
    new_hire_ab_share: Decimal
    dnc_days: int


Count = Field(default=None, ge=0, le=1_000_000)


class LeadRuleSetIn(InputSchema):
    """A new version. Parameters left out are copied from ``based_on_id`` (or the defaults)."""

    based_on_id: int | None = Id
    name: str = Field(min_length=1, max_length=100)
    stage: TeamStage | Literal[""] = ""
    effective_from: dt.date
    reason: str = Field(default="", max_length=REASON_MAX)
    default_private_cap: int | None = Count
    private_cap_by_level: dict[str, int] | None = Field(default=None, max_length=100)
    daily_claim_limit: int | None = Count
    protection_days: int | None = Count
    protection_extend_days: int | None = Count
    protection_max_days: int | None = Count
    former_owner_bar_days: int | None = Count
    recycle_warning_days: int | None = Count
    recycle_no_dial_days: int | None = Count
    recycle_no_connect_attempts: int | None = Count
    recycle_no_connect_days: int | None = Count
    recycle_no_followup_days: int | None = Count
    recycle_on_owner_leaving: bool | None = None
    daily_allocation_quota: int | None = Count
    level_weights: dict[str, float] | None = Field(default=None, max_length=100)
    new_hire_weeks: int | None = Count
    new_hire_ab_share: Decimal | None = Field(default=None, ge=0, le=1, decimal_places=2)
    dnc_days: int | None = Count


# --- Allocation ------------------------------------------------------------------------------
class AllocationCriteria(InputSchema):
    batch_id: int | None = Id
    channel_id: int | None = Id
    grades: list[LeadGrade] = Field(default_factory=list, max_length=4)
    lead_ids: list[int] = Field(default_factory=list, max_length=200_000)
    limit: int | None = Field(default=None, ge=1, le=200_000)
    new_hire_protection: bool = True


class AllocationTargets(InputSchema):
    team_ids: list[int] = Field(default_factory=list, max_length=1000)
    person_ids: list[int] = Field(default_factory=list, max_length=10_000)


class AllocationManual(InputSchema):
    assignments: dict[str, int] | None = Field(default=None, max_length=200_000)
    counts: dict[str, int] | None = Field(default=None, max_length=10_000)


class AllocationIn(InputSchema):
    strategy: AllocationStrategy
    criteria: AllocationCriteria = Field(default_factory=AllocationCriteria)
    targets: AllocationTargets = Field(default_factory=AllocationTargets)
    manual: AllocationManual | None = None
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)


class AllocationOut(Schema):
    id: int
    strategy: AllocationStrategy
    criteria: dict[str, Any]
    targets: dict[str, Any]
    summary: dict[str, Any]
    created_at: dt.datetime
    committed_at: dt.datetime | None
    assigned: int


# --- Quality -------------------------------------------------------------------------------
class QualityRow(Schema):
    name: str
    leads: int
    dialled: int
    connected: int
    won: int
    premium: Decimal
    cost: Decimal
    dialled_share: float | None
    connect_rate: float | None
    conversion: float | None
    premium_per_lead: Decimal | None
    cost_per_sale: Decimal | None


class BatchQualityOut(QualityRow):
    batch_id: int
    channel: str


class ChannelQualityOut(QualityRow):
    channel_id: int
    code: str


class QualityOut(Schema):
    batches: list[BatchQualityOut]
    channels: list[ChannelQualityOut]
