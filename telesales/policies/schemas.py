"""Request and response schemas of the policies API.

No schema carries a full phone number: customers are exposed by name (with any number typed
into it masked) and ``mobile_masked``; free text people type (notes, reasons) goes through
``mask_numbers_in``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from ninja import Schema
from pydantic import Field

from telesales.core.http_api import ID_MAX, InputSchema
from telesales.core.phone_numbers import mask_phone
from telesales.leads.masking import mask_numbers_in
from telesales.policies.choices import (
    CancelReason,
    CommissionBasis,
    PaymentMode,
    PolicyAction,
    PolicyStatus,
    ProductCategory,
    SuggestionRule,
    TaskKind,
    TaskOutcome,
    TaskStatus,
)
from telesales.policies.models import Policy, PolicyEvent, ServiceTask

PAGE_MAX = 500
NOTE_MAX = 1000
Id = Field(default=None, ge=1, le=ID_MAX)


# --- Products ----------------------------------------------------------------------------
class ProductOut(Schema):
    id: int
    code: str
    name: str
    insurer: str
    category: ProductCategory
    grade: int
    free_look_days: int
    commission_basis: CommissionBasis
    first_year_commission_rate: Decimal
    allowed_modes: list[str]
    allowed_terms: list[int]
    min_premium: Decimal
    max_premium: Decimal
    min_insured_age: int | None
    max_insured_age: int | None
    description: str
    is_active: bool


class ProductIn(InputSchema):
    code: str = Field(max_length=40)
    name: str = Field(max_length=100)
    insurer: str = Field(default="", max_length=100)
    category: ProductCategory
    grade: int = Field(default=1, ge=1, le=4)
    free_look_days: int = Field(default=15, ge=0, le=1000)
    commission_basis: CommissionBasis = CommissionBasis.FYP
    first_year_commission_rate: Decimal = Decimal("0")
    allowed_modes: list[PaymentMode] = Field(min_length=1, max_length=5)
    allowed_terms: list[int] = Field(min_length=1, max_length=50)
    min_premium: Decimal
    max_premium: Decimal
    #: The ages insured (whole years on the day of the sale); null: no limit on that side.
    min_insured_age: int | None = Field(default=None, ge=0, le=120)
    max_insured_age: int | None = Field(default=None, ge=0, le=120)
    description: str = Field(default="", max_length=2000)
    is_active: bool = True


class ProductPatchIn(InputSchema):
    name: str | None = Field(default=None, max_length=100)
    insurer: str | None = Field(default=None, max_length=100)
    category: ProductCategory | None = None
    grade: int | None = Field(default=None, ge=1, le=4)
    free_look_days: int | None = Field(default=None, ge=0, le=1000)
    commission_basis: CommissionBasis | None = None
    first_year_commission_rate: Decimal | None = None
    allowed_modes: list[PaymentMode] | None = Field(default=None, min_length=1, max_length=5)
    allowed_terms: list[int] | None = Field(default=None, min_length=1, max_length=50)
    min_premium: Decimal | None = None
    max_premium: Decimal | None = None
    min_insured_age: int | None = Field(default=None, ge=0, le=120)
    max_insured_age: int | None = Field(default=None, ge=0, le=120)
    description: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None
    reason: str = Field(default="", max_length=300)


class ProductFilter(InputSchema):
    category: ProductCategory | None = None
    active_only: bool = False


# --- Policies ----------------------------------------------------------------------------
class CustomerOut(Schema):
    id: int
    name: str
    mobile_masked: str

    @staticmethod
    def resolve_name(obj) -> str:
        return mask_numbers_in(obj.name)

    @staticmethod
    def resolve_mobile_masked(obj) -> str:
        return mask_phone(obj.mobile_e164)


class PolicyOut(Schema):
    id: int
    number: str
    status: PolicyStatus
    product_id: int
    product_name: str
    category: ProductCategory
    holder: CustomerOut
    agent_id: int
    agent_name: str
    team_id: int
    team_name: str
    lead_id: int
    annualised_premium: Decimal
    payment_mode: PaymentMode
    term_years: int
    applied_at: dt.datetime
    issued_at: dt.datetime | None
    receipt_date: dt.date | None
    free_look_end: dt.date | None
    free_look_ended_at: dt.datetime | None
    cancelled_at: dt.datetime | None
    cancel_reason: str
    declined_at: dt.datetime | None

    @staticmethod
    def resolve_product_name(obj: Policy) -> str:
        return obj.product.name

    @staticmethod
    def resolve_category(obj: Policy) -> str:
        return obj.product.category

    @staticmethod
    def resolve_agent_name(obj: Policy) -> str:
        return obj.agent.name

    @staticmethod
    def resolve_team_name(obj: Policy) -> str:
        return obj.team.name


class PolicyEventOut(Schema):
    at: dt.datetime
    action: PolicyAction
    actor: str | None
    from_status: str
    to_status: str
    reason: str

    @staticmethod
    def resolve_actor(obj: PolicyEvent) -> str | None:
        return obj.actor.get_username() if obj.actor_id and obj.actor else None

    @staticmethod
    def resolve_reason(obj: PolicyEvent) -> str:
        return mask_numbers_in(obj.reason)


class TaskOut(Schema):
    id: int
    kind: TaskKind
    status: TaskStatus
    policy_id: int
    policy_number: str
    product_name: str
    customer: CustomerOut
    for_customer: CustomerOut | None
    lead_id: int | None
    agent_id: int
    agent_name: str
    due_at: dt.datetime
    outcome: str
    note: str
    script: str
    suggestion_rule: SuggestionRule | Literal[""]
    suggested_category: ProductCategory | Literal[""]
    converted_policy_id: int | None
    done_at: dt.datetime | None
    # Only in the answer to "complete": when the next service call was booked on the lead
    # (an extended-service suggestion the customer is interested in), else null.
    service_call_due_at: dt.datetime | None = None

    @staticmethod
    def resolve_service_call_due_at(obj: ServiceTask) -> dt.datetime | None:
        return getattr(obj, "service_call_due_at", None)

    @staticmethod
    def resolve_policy_number(obj: ServiceTask) -> str:
        return obj.policy.number

    @staticmethod
    def resolve_product_name(obj: ServiceTask) -> str:
        return obj.policy.product.name

    @staticmethod
    def resolve_agent_name(obj: ServiceTask) -> str:
        return obj.agent.name

    @staticmethod
    def resolve_note(obj: ServiceTask) -> str:
        return mask_numbers_in(obj.note)

    @staticmethod
    def resolve_script(obj: ServiceTask) -> str:
        return mask_numbers_in(obj.script)


class PolicyDetailOut(PolicyOut):
    insured: list[CustomerOut]
    recording_ref: str
    cancel_note: str
    decline_note: str
    events: list[PolicyEventOut]
    tasks: list[TaskOut]

    @staticmethod
    def resolve_insured(obj: Policy) -> list:
        return list(obj.insured.all())

    @staticmethod
    def resolve_recording_ref(obj: Policy) -> str:
        return mask_numbers_in(obj.recording_ref)

    @staticmethod
    def resolve_cancel_note(obj: Policy) -> str:
        return mask_numbers_in(obj.cancel_note)

    @staticmethod
    def resolve_decline_note(obj: Policy) -> str:
        return mask_numbers_in(obj.decline_note)

    @staticmethod
    def resolve_events(obj: Policy) -> list:
        return list(obj.events.select_related("actor").order_by("at", "id"))

    @staticmethod
    def resolve_tasks(obj: Policy) -> list:
        return list(
            obj.tasks.select_related(
                "customer", "for_customer", "agent", "policy__product"
            ).order_by("due_at", "id")
        )


class PolicyFilter(InputSchema):
    status: PolicyStatus | None = None
    agent_id: int | None = Id
    team_id: int | None = Id
    product_id: int | None = Id
    category: ProductCategory | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    q: str = Field(default="", max_length=50)
    offset: int = Field(default=0, ge=0, le=10_000_000)
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)


class IssueIn(InputSchema):
    number: str | None = Field(default=None, max_length=32)
    issued_at: dt.datetime | None = None


class ReceiptIn(InputSchema):
    receipt_date: dt.date


class CancelIn(InputSchema):
    reason: CancelReason
    note: str = Field(default="", max_length=NOTE_MAX)


class DeclineIn(InputSchema):
    #: Underwriting's reason (required).
    note: str = Field(max_length=NOTE_MAX)


# --- Tasks -------------------------------------------------------------------------------
class TaskFilter(InputSchema):
    status: TaskStatus | None = None
    kind: TaskKind | None = None
    agent_id: int | None = Id
    due: bool = Field(default=False, description="Only open tasks due by now (the queue)")
    offset: int = Field(default=0, ge=0, le=10_000_000)
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)


class TaskCompleteIn(InputSchema):
    outcome: TaskOutcome
    note: str = Field(default="", max_length=NOTE_MAX)


class TaskRescheduleIn(InputSchema):
    due_at: dt.datetime
    note: str = Field(default="", max_length=NOTE_MAX)


# --- Reports -----------------------------------------------------------------------------
class ReportFilter(InputSchema):
    by: Literal["agent", "team"] = "agent"
    since: dt.date | None = None
    until: dt.date | None = None


class StabilisationRowOut(Schema):
    key: int | None
    name: str
    issued: int
    kept: int
    cancelled: int
    pending: int
    numerator: int
    denominator: int
    rate: float | None
    cancel_rate: float | None
    missed: int = 0


class CancelReasonOut(Schema):
    reason: str
    n: int


class StabilisationOut(Schema):
    by: str
    since: dt.date
    until: dt.date
    rows: list[StabilisationRowOut]
    total: StabilisationRowOut
    cancel_reasons: list[CancelReasonOut]


class ConversionRowOut(Schema):
    key: int | None
    name: str
    suggested: int
    worked: int
    converted: int
    rate: float | None


class ConversionOut(Schema):
    by: str
    since: dt.date
    until: dt.date
    rows: list[ConversionRowOut]


# --- Rule sets ---------------------------------------------------------------------------
class StabilisationRuleSetOut(Schema):
    id: int
    name: str
    effective_from: dt.date
    is_active: bool
    welcome_call_day: int
    checkin_days_before_end: int
    extended_service_after_days: int
    extended_service_after_free_look_days: int
    task_due_hour: int
    child_max_age: int
    spouse_max_age_gap: int
    pension_max_age: int
    suggest_spouse_accident: bool
    suggest_critical_illness: bool
    suggest_pension: bool
    suggest_child_accident: bool
    suggest_child_education: bool
    welcome_script: str
    checkin_script: str
    extended_script: str


class StabilisationRuleSetIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    effective_from: dt.date
    based_on_id: int | None = Id
    reason: str = Field(default="", max_length=300)
    welcome_call_day: int | None = Field(default=None, ge=0, le=1000)
    checkin_days_before_end: int | None = Field(default=None, ge=0, le=1000)
    extended_service_after_days: int | None = Field(default=None, ge=0, le=10000)
    extended_service_after_free_look_days: int | None = Field(default=None, ge=0, le=10000)
    task_due_hour: int | None = Field(default=None, ge=0, le=24)
    child_max_age: int | None = Field(default=None, ge=0, le=200)
    spouse_max_age_gap: int | None = Field(default=None, ge=0, le=200)
    pension_max_age: int | None = Field(default=None, ge=0, le=200)
    suggest_spouse_accident: bool | None = None
    suggest_critical_illness: bool | None = None
    suggest_pension: bool | None = None
    suggest_child_accident: bool | None = None
    suggest_child_education: bool | None = None
    welcome_script: str | None = Field(default=None, max_length=4000)
    checkin_script: str | None = Field(default=None, max_length=4000)
    extended_script: str | None = Field(default=None, max_length=4000)
