"""Request and response schemas of the workspace and calls API.

No schema carries a full phone number: leads are shown with ``mobile_masked``, and free text
(notes, recording references, rejection details) goes through ``mask_numbers_in``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import AfterValidator, BeforeValidator, Field

from telesales.calls.amounts import amount_parse
from telesales.calls.choices import (
    AgentState,
    CallKind,
    DispatchSource,
    FollowUpKind,
    FollowUpStatus,
)
from telesales.calls.models import CALL_NOTE_MAX_LENGTH, CallAttempt, FollowUp, note_normalised
from telesales.core.http_api import ID_MAX, ErrorOut, InputSchema
from telesales.core.phone_numbers import mask_phone
from telesales.leads.choices import LeadGrade, LeadState
from telesales.leads.masking import mask_numbers_in
from telesales.org.choices import TeamStage

PAGE_MAX = 500
#: Notes on outcomes, sales and follow-ups: one limit with the forms and the model.
NOTE_MAX = CALL_NOTE_MAX_LENGTH
Id = Field(ge=1, le=ID_MAX)


def _note_in(value: Any) -> Any:
    return note_normalised(value) if isinstance(value, str) else value


#: A note in a request: line breaks counted once and ends trimmed before the limit is checked,
#: as the workspace forms and the services count them (a CR LF is one line break, not two).
NoteText = Annotated[str, BeforeValidator(_note_in), Field(max_length=NOTE_MAX)]


# --- Leads as the workspace shows them ------------------------------------------------------
class WorkspaceLeadOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    mobile_masked: str
    gender: str
    province: str
    city: str
    channel_name: str
    grade: LeadGrade
    required_grade: int
    state: LeadState
    dial_count: int
    connect_count: int
    last_dialled_at: dt.datetime | None
    last_contact_at: dt.datetime | None
    protect_until: dt.datetime | None
    consent_source: str

    @staticmethod
    def resolve_customer_name(obj) -> str:
        return mask_numbers_in(obj.customer.name)

    @staticmethod
    def resolve_mobile_masked(obj) -> str:
        return mask_phone(obj.customer.mobile_e164)

    @staticmethod
    def resolve_gender(obj) -> str:
        return obj.customer.gender

    @staticmethod
    def resolve_province(obj) -> str:
        return obj.customer.province

    @staticmethod
    def resolve_city(obj) -> str:
        return obj.customer.city

    @staticmethod
    def resolve_channel_name(obj) -> str:
        return obj.channel.name

    @staticmethod
    def resolve_consent_source(obj) -> str:
        return mask_numbers_in(obj.consent_source)


class FollowUpOut(Schema):
    id: int
    lead_id: int
    agent_id: int
    kind: FollowUpKind
    due_at: dt.datetime
    sequence: int
    status: FollowUpStatus
    overdue: bool
    escalated_at: dt.datetime | None
    moved_from_id: int | None
    done_at: dt.datetime | None
    note: str
    customer_name: str
    mobile_masked: str

    @staticmethod
    def resolve_overdue(obj: FollowUp) -> bool:
        from django.utils import timezone

        return obj.status == FollowUpStatus.OPEN and obj.due_at < timezone.now()

    @staticmethod
    def resolve_note(obj: FollowUp) -> str:
        return mask_numbers_in(obj.note)

    @staticmethod
    def resolve_customer_name(obj: FollowUp) -> str:
        return mask_numbers_in(obj.lead.customer.name)

    @staticmethod
    def resolve_mobile_masked(obj: FollowUp) -> str:
        return mask_phone(obj.lead.customer.mobile_e164)


class DispatchOut(Schema):
    """The lead handed out by "next lead", and why it came first."""

    source: DispatchSource
    lead: WorkspaceLeadOut
    followup: FollowUpOut | None = None
    service_task_id: int | None = None
    renewal_task_id: int | None = None


class DispatchReasonOut(Schema):
    """One reason "next lead" has nothing to hand out."""

    code: str = Field(
        description=(
            "Stable: pools_empty, callbacks_later, or a dial block of the leads held back "
            "(outside_window, dnc, no_marketing, no_consent, attempts_today, attempts_24h, "
            "attempts_lifetime, cool_down, refusal_cool_down, grade_too_low, …) or of the agent "
            "(agent_not_working, agent_not_trained)."
        )
    )
    message: str = Field(description="For people: how many leads, where, and why.")
    fix: str = Field(description="What would make a lead callable, or when one will be.")
    count: int = Field(description="Leads this reason holds back (1 for a reason about you).")
    at_least: bool = Field(
        default=False, description="More leads were held back than were examined."
    )
    until: dt.datetime | None = Field(
        default=None, description="The earliest time the first of them may be dialled."
    )


class NextLeadRefusalDetails(Schema):
    reasons: list[DispatchReasonOut] = Field(
        default=[], description="nothing_to_dispatch: every reason, the most leads first."
    )
    attempt_id: int | None = Field(
        default=None, description="call_unfinished: the call that still needs its outcome."
    )


class NextLeadRefusalOut(ErrorOut):
    """409 of "next lead": ``nothing_to_dispatch`` (``details.reasons``) or
    ``call_unfinished`` (``details.attempt_id``)."""

    details: NextLeadRefusalDetails


# --- Calls ---------------------------------------------------------------------------------
class CallStartIn(InputSchema):
    """``kind`` left out: ``renewal`` when "next lead" handed this lead out for a due renewal
    premium (the call records the renewal contact), else ``sales``."""

    lead_id: int = Id
    kind: CallKind | None = None
    seat_id: int | None = Field(default=None, ge=1, le=ID_MAX)


def _not_ahead(value: dt.datetime | None) -> dt.datetime | None:
    """A call time from a softphone or switch: not later than the server's clock by more
    than ``TELESALES_CALL_CLOCK_SKEW_SECONDS`` (a call that ends tomorrow would move its
    recording's retention and the agent's day)."""
    if value is None or value.tzinfo is None:
        return value  # naive: the aware check says so
    skew = int(getattr(settings, "TELESALES_CALL_CLOCK_SKEW_SECONDS", 120))
    now = timezone.now()
    if value > now + dt.timedelta(seconds=skew):
        raise ValueError(
            _("This time is later than the server's clock (%(now)s): send the time of the call")
            % {"now": timezone.localtime(now).isoformat(timespec="seconds")}
        )
    return value


#: A call time sent by the softphone or switch (``_not_ahead``).
CallTime = Annotated[dt.datetime | None, AfterValidator(_not_ahead)]


class CallTimeIn(InputSchema):
    """Times from the softphone or switch; the server's clock when left out."""

    at: CallTime = None


class CallEndIn(InputSchema):
    at: CallTime = None
    answered_at: CallTime = None


class DispositionIn(InputSchema):
    code: str = Field(min_length=1, max_length=30)
    note: NoteText = ""
    callback_at: dt.datetime | None = None


class CallOut(Schema):
    id: int
    lead_id: int
    agent_id: int
    seat_id: int | None
    kind: CallKind
    started_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    talk_seconds: int
    talk_capped: bool = Field(
        description="hung up after being left open past TELESALES_CALL_OPEN_LIMIT_MINUTES "
        "(by the agent, the switch, or the agent's next dial): talk_seconds counts only that "
        "limit (until a CDR is matched)"
    )
    disposition: str | None
    disposition_name: str | None
    disposed_at: dt.datetime | None
    recording_ref: str
    recording_retain_until: dt.date | None
    adapter_call_id: str
    note: str
    cdr_matched_at: dt.datetime | None
    mobile_masked: str

    @staticmethod
    def resolve_disposition(obj: CallAttempt) -> str | None:
        return obj.disposition.code if obj.disposition_id else None

    @staticmethod
    def resolve_disposition_name(obj: CallAttempt) -> str | None:
        return obj.disposition.name if obj.disposition_id else None

    @staticmethod
    def resolve_recording_ref(obj: CallAttempt) -> str:
        return mask_numbers_in(obj.recording_ref)

    @staticmethod
    def resolve_adapter_call_id(obj: CallAttempt) -> str:
        return mask_numbers_in(obj.adapter_call_id)

    @staticmethod
    def resolve_note(obj: CallAttempt) -> str:
        return mask_numbers_in(obj.note)

    @staticmethod
    def resolve_mobile_masked(obj: CallAttempt) -> str:
        return mask_phone(obj.lead.customer.mobile_e164)


class CallFilter(InputSchema):
    lead_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    agent_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    day: dt.date | None = None
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)
    offset: int = Field(default=0, ge=0, le=ID_MAX - PAGE_MAX)


# --- Follow-ups ----------------------------------------------------------------------------
class FollowUpIn(InputSchema):
    lead_id: int = Id
    due_at: dt.datetime
    kind: FollowUpKind = FollowUpKind.CALLBACK
    note: NoteText = ""


class FollowUpReassignIn(InputSchema):
    to_agent_id: int = Id
    reason: str = Field(min_length=2, max_length=200, description="why it moves (audited)")


class NoteIn(InputSchema):
    note: NoteText = ""


class QueueFilter(InputSchema):
    day: dt.date | None = Field(
        default=None, description="the queue of that day (due by its end); default: due now"
    )


# --- Sale ----------------------------------------------------------------------------------
#: The premium as the softphone or a script sends it: a JSON number, or text with grouped
#: digits, a yuan sign or 元, full-width digits (``calls.amounts``); garbage is refused with
#: what to send. Its range and decimals are the sale service's check.
PremiumInput = Annotated[Decimal, BeforeValidator(amount_parse)]


class SaleIn(InputSchema):
    call_id: int = Id
    product_id: int = Id
    annualised_premium: PremiumInput = Field(
        description='yuan: 12000, 12000.50, "12,000", "12000元" (the range is the product\'s)'
    )
    payment_mode: str = Field(min_length=1, max_length=12)
    term_years: int = Field(ge=-1000, le=1000)
    insured_ids: list[int] = Field(min_length=1, max_length=10)
    holder_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    note: NoteText = ""


class SaleOut(Schema):
    policy_id: int
    lead_id: int
    call_id: int
    product_id: int
    annualised_premium: Decimal
    payment_mode: str
    term_years: int
    status: str
    recording_retain_until: dt.date | None


# --- Presence ------------------------------------------------------------------------------
class PresenceIn(InputSchema):
    state: Literal["idle", "break", "offline"]


class PresenceOut(Schema):
    agent_id: int
    state: AgentState
    since: dt.datetime
    lead_id: int | None
    source: str
    call_id: int | None

    @staticmethod
    def resolve_agent_id(obj) -> int:
        return obj.person_id

    @staticmethod
    def resolve_call_id(obj) -> int | None:
        return obj.attempt_id


class DayFiguresOut(Schema):
    dials: int
    connects: int
    effective: int
    talk_seconds: int
    sales: int
    premium: Decimal
    callbacks_due: int
    renewals_due: int
    private: int
    public: int


# --- Dispositions and rules ----------------------------------------------------------------
class DispositionOut(Schema):
    code: str
    name: str
    human_answered: bool
    contact: bool
    effective: bool
    sale: bool
    callback: bool
    dnc: bool
    invalid_number: bool
    refusal: bool
    final: bool
    order: int
    is_active: bool


class DispositionCreateIn(InputSchema):
    code: str = Field(min_length=1, max_length=30, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=50)
    human_answered: bool = False
    contact: bool = False
    effective: bool = False
    sale: bool = False
    callback: bool = False
    dnc: bool = False
    invalid_number: bool = False
    refusal: bool = False
    final: bool = False
    order: int = Field(default=100, ge=0, le=32767)
    is_active: bool = True


class DispositionUpdateIn(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    human_answered: bool | None = None
    contact: bool | None = None
    effective: bool | None = None
    sale: bool | None = None
    callback: bool | None = None
    dnc: bool | None = None
    invalid_number: bool | None = None
    refusal: bool | None = None
    final: bool | None = None
    order: int | None = Field(default=None, ge=0, le=32767)
    is_active: bool | None = None


#: ``CallRuleSet.overdue_escalate_hours``, as the API documents it.
OVERDUE_ESCALATE_HOURS = (
    "an open follow-up overdue this many hours goes to the owner's team lead; "
    "hours of calling time: only the time inside the calling window (window_start–window_end, "
    "the customer's local time) counts; due 20:30 with 2 and the window 09:00–21:00, a "
    "follow-up escalates at 10:30 the next day"
)


class CallRulesOut(Schema):
    id: int
    name: str
    stage: str
    effective_from: dt.date
    is_active: bool
    window_start: dt.time
    window_end: dt.time
    max_attempts_per_day: int
    max_attempts_24h: int
    max_attempts_lifetime: int
    min_minutes_between_attempts: int
    refusal_cooldown_days: int
    effective_call_seconds: int
    cadence_min_followups: int
    cadence_max_followups: int
    cadence_spacing_days: list[int]
    overdue_escalate_hours: int = Field(description=OVERDUE_ESCALATE_HOURS)
    callback_reassign_when_owner_absent: bool
    non_sale_recording_days: int
    sale_recording_years_short: int
    sale_recording_years_long: int


Count = Field(default=None, ge=0, le=1_000_000)


class CallRulesIn(InputSchema):
    """A new version; parameters left out are copied from ``based_on_id`` (or the rules in
    force)."""

    based_on_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    name: str = Field(min_length=1, max_length=100)
    stage: TeamStage | Literal[""] = ""
    effective_from: dt.date
    reason: str = Field(default="", max_length=300)
    window_start: dt.time | None = None
    window_end: dt.time | None = None
    max_attempts_per_day: int | None = Count
    max_attempts_24h: int | None = Count
    max_attempts_lifetime: int | None = Count
    min_minutes_between_attempts: int | None = Count
    refusal_cooldown_days: int | None = Count
    effective_call_seconds: int | None = Count
    cadence_min_followups: int | None = Count
    cadence_max_followups: int | None = Count
    cadence_spacing_days: list[int] | None = Field(default=None, max_length=50)
    overdue_escalate_hours: int | None = Field(
        default=None, ge=0, le=1_000_000, description=OVERDUE_ESCALATE_HOURS
    )
    callback_reassign_when_owner_absent: bool | None = None
    non_sale_recording_days: int | None = Count
    sale_recording_years_short: int | None = Count
    sale_recording_years_long: int | None = Count


# --- Board ---------------------------------------------------------------------------------
class BoardAgentOut(Schema):
    agent_id: int
    name: str
    team_id: int
    team_name: str
    state: AgentState
    since: dt.datetime | None
    state_seconds: int | None
    lead_id: int | None
    call_id: int | None = Field(description="the call in progress")
    call_started_at: dt.datetime | None
    call_open_too_long: bool = Field(
        description="the call has been open longer than TELESALES_CALL_OPEN_LIMIT_MINUTES "
        "(most likely not hung up; it no longer blocks the agent's next dial, which hangs it up)"
    )
    seat_id: int | None
    seat_code: str
    dials: int
    connects: int
    effective: int
    talk_seconds: int
    sales: int
    premium: Decimal


class BoardSeatOut(Schema):
    seat_id: int
    seat_code: str
    dials: int
    connects: int
    talk_seconds: int
    sales: int
    premium: Decimal
    agent_ids: list[int]


class BoardOut(Schema):
    day: dt.date
    agents: list[BoardAgentOut]
    seats: list[BoardSeatOut]
    totals: dict[str, Any]


# --- CDR -----------------------------------------------------------------------------------
class CdrImportIn(InputSchema):
    tz: str = Field(default="", max_length=64, description="the switch's time zone")
    match_seconds: int | None = Field(default=None, ge=0, le=3600)


class CdrRejectionOut(Schema):
    row: int
    reason: str
    label: str
    dst: str
    detail: str


class CdrImportOut(Schema):
    id: int
    file_name: str
    rows: int
    matched: int
    already: int
    rejected: int
    rejections: list[CdrRejectionOut]
    created_at: dt.datetime
