"""Request and response schemas of the operations API.

No schema carries a full phone number: policyholders are exposed by name (numbers in free
text masked) and ``mobile_masked``.
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
from telesales.operations.choices import (
    ContactOutcome,
    DeliveryMethod,
    ExitReassign,
    NoticeChannel,
    VisitOutcome,
)
from telesales.operations.models import (
    Delivery,
    ExitNotice,
    PolicyServicing,
    RenewalTask,
    ReturnVisit,
)

PAGE_MAX = 500
NOTE_MAX = 1000
Id = Field(default=None, ge=1, le=ID_MAX)
Days = Field(default=None, ge=0, le=3650)


class _Page(InputSchema):
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)
    offset: int = Field(default=0, ge=0, le=ID_MAX - PAGE_MAX)


# --- Out --------------------------------------------------------------------------------------
class PolicyRef(Schema):
    id: int
    number: str
    product: str
    holder_name: str
    mobile_masked: str
    agent_id: int
    agent_name: str
    team_id: int
    annualised_premium: Decimal
    payment_mode: str
    term_years: int

    @staticmethod
    def resolve_product(obj) -> str:
        return obj.product.name

    @staticmethod
    def resolve_holder_name(obj) -> str:
        return mask_numbers_in(obj.holder.name)

    @staticmethod
    def resolve_mobile_masked(obj) -> str:
        return mask_phone(obj.holder.mobile_e164)

    @staticmethod
    def resolve_agent_name(obj) -> str:
        return obj.agent.name


class PremiumDueOut(Schema):
    id: int
    policy_id: int
    period: int
    policy_year: int
    due_date: dt.date
    amount: Decimal
    status: str
    grace_until: dt.date | None
    paid_date: dt.date | None
    paid_amount: Decimal | None
    batch_id: int | None


class RenewalTaskOut(Schema):
    id: int
    policy: PolicyRef
    premium: PremiumDueOut
    owner_id: int | None
    owner_name: str | None
    due_date: dt.date
    status: str
    outcome: str
    reminders_sent: int
    last_reminded_on: dt.date | None
    contact_count: int
    last_contact_at: dt.datetime | None
    last_contact_outcome: str
    note: str

    @staticmethod
    def resolve_premium(obj: RenewalTask):
        return obj.premium_due

    @staticmethod
    def resolve_owner_name(obj: RenewalTask) -> str | None:
        return obj.owner.name if obj.owner_id else None

    @staticmethod
    def resolve_note(obj: RenewalTask) -> str:
        return mask_numbers_in(obj.note)


class DeliveryOut(Schema):
    id: int
    policy_id: int
    policy_number: str
    method: str
    status: str
    sent_on: dt.date | None
    delivered_on: dt.date | None
    failed_on: dt.date | None
    returned_on: dt.date | None
    tracking_ref: str
    attempts: int
    problem: str
    receipt_confirmed_on: dt.date | None
    overdue_since: dt.date | None

    @staticmethod
    def resolve_policy_number(obj: Delivery) -> str:
        return obj.policy.number

    @staticmethod
    def resolve_problem(obj: Delivery) -> str:
        return mask_numbers_in(obj.problem)


class ReturnVisitOut(Schema):
    id: int
    policy_id: int
    policy_number: str
    agent_id: int
    due_date: dt.date
    status: str
    outcome: str
    attempts: int
    notes: str
    flagged_to_id: int | None
    flagged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    counts_as_done: bool

    @staticmethod
    def resolve_policy_number(obj: ReturnVisit) -> str:
        return obj.policy.number

    @staticmethod
    def resolve_agent_id(obj: ReturnVisit) -> int:
        return obj.policy.agent_id

    @staticmethod
    def resolve_notes(obj: ReturnVisit) -> str:
        return mask_numbers_in(obj.notes)


class ServicingOut(Schema):
    policy: PolicyRef
    status: str
    in_force_since: dt.date
    term_ends_on: dt.date
    lapsed_on: dt.date | None
    reinstatement_until: dt.date | None
    reinstated_on: dt.date | None
    terminated_on: dt.date | None
    servicing_owner_id: int | None
    servicing_owner_name: str | None

    @staticmethod
    def resolve_servicing_owner_name(obj: PolicyServicing) -> str | None:
        return obj.servicing_owner.name if obj.servicing_owner_id else None


class ServicingDetailOut(ServicingOut):
    delivery: DeliveryOut | None
    return_visit: ReturnVisitOut | None
    premiums: list[PremiumDueOut]

    @staticmethod
    def resolve_delivery(obj: PolicyServicing):
        return getattr(obj.policy, "delivery", None)

    @staticmethod
    def resolve_return_visit(obj: PolicyServicing):
        return getattr(obj.policy, "return_visit", None)

    @staticmethod
    def resolve_premiums(obj: PolicyServicing):
        return list(obj.policy.premium_dues.order_by("period"))


class ExitNoticeOut(Schema):
    id: int
    policy_id: int
    policy_number: str
    former_agent_id: int
    new_owner_id: int | None
    left_on: dt.date
    due_date: dt.date
    status: str
    channel: str
    done_at: dt.datetime | None

    @staticmethod
    def resolve_policy_number(obj: ExitNotice) -> str:
        return obj.policy.number


class MisunderstandingOut(Schema):
    agent_id: int
    agent_name: str
    team_name: str | None
    found: int
    open: int


class ReceiptRejectionOut(Schema):
    row_number: int
    reason: str
    detail: str

    @staticmethod
    def resolve_detail(obj) -> str:
        return mask_numbers_in(obj.detail)


class ReceiptBatchOut(Schema):
    id: int
    file_name: str
    created_at: dt.datetime
    rows: int
    applied: int
    rejected: int
    amount: Decimal
    summary: dict


class ReceiptBatchDetailOut(ReceiptBatchOut):
    rejections: list[ReceiptRejectionOut]

    @staticmethod
    def resolve_rejections(obj) -> list:
        return list(obj.rejections.order_by("row_number")[:1000])


class FigureOut(Schema):
    cohort: str
    policies: int
    persisting: int
    numerator: Decimal
    denominator: Decimal
    rate: Decimal | None
    excluded: dict[str, int]
    final: bool
    #: Policies still inside their grace period and not paid yet: a provisional rate can rise.
    pending: int = 0


class PersistencyOut(Schema):
    month: str
    team_id: int | None = None
    agent_id: int | None = None
    m13: FigureOut = Field(alias="13m")
    m25: FigureOut = Field(alias="25m")


class BreakdownRowOut(Schema):
    id: int
    name: str
    m13: FigureOut = Field(alias="13m")
    m25: FigureOut = Field(alias="25m")


class TrendFigureOut(Schema):
    rate: Decimal | None
    numerator: Decimal
    denominator: Decimal
    policies: int = 0
    final: bool = True


class TrendRowOut(Schema):
    month: str
    m13: TrendFigureOut = Field(alias="13m")
    m25: TrendFigureOut = Field(alias="25m")


class WithholdingOut(Schema):
    policy_id: int
    receipt_done: bool
    return_visit_required: bool
    return_visit_done: bool


class SummaryOut(Schema):
    deliveries: int
    visits_due: int
    flagged: int
    due_today: int
    upcoming: int
    in_grace: int
    pool: int
    lapsed: int
    exit_notices: int
    exit_overdue: int


class OperationsRuleSetOut(Schema):
    id: int
    name: str
    effective_from: dt.date
    is_active: bool
    grace_days: int
    reinstatement_days: int
    reminder_days_before: list[int]
    schedule_years_ahead: int
    renewal_recontact_days: int
    default_delivery_method: str
    delivery_overdue_days: int
    return_visit_categories: list[str]
    return_visit_products: list[str]
    return_visit_excluded_products: list[str]
    return_visit_due_days: int
    return_visit_max_attempts: int
    exit_notice_days: int
    exit_notice_min_term_years: int
    exit_reassign_to: str


# --- In ---------------------------------------------------------------------------------------
class RenewalFilter(_Page):
    queue: Literal["today", "upcoming", "grace", "pool", "open", "done"] = "open"
    owner_id: int | None = Id
    team_id: int | None = Id
    q: str = Field(default="", max_length=50)


class DeliveryFilter(_Page):
    queue: Literal["problem", "open", "all"] = "problem"


class VisitFilter(_Page):
    queue: Literal["due", "open", "flagged", "done"] = "due"


class NoticeFilter(_Page):
    status: Literal["open", "done", "cancelled", ""] = "open"


class ServicingFilter(_Page):
    status: str | None = Field(default=None, max_length=20)
    owner_id: int | None = Id
    q: str = Field(default="", max_length=50)


class PaymentIn(InputSchema):
    paid_date: dt.date
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    note: str = Field(default="", max_length=NOTE_MAX)


class OperationsReasonIn(InputSchema):
    reason: str = Field(max_length=300)  # required: the service says "required" / "too short"


class ContactIn(InputSchema):
    outcome: ContactOutcome
    note: str = Field(default="", max_length=NOTE_MAX)
    at: dt.datetime | None = None


class OwnerIn(InputSchema):
    owner_id: int | None = Id
    reason: str = Field(default="", max_length=300)


class TransferIn(InputSchema):
    from_person_id: int = Field(ge=1, le=ID_MAX)
    to_person_id: int | None = Id
    reason: str = Field(max_length=300)  # required: the service says "required" / "too short"


class SendIn(InputSchema):
    sent_on: dt.date
    method: DeliveryMethod | None = None
    tracking_ref: str = Field(default="", max_length=100)


class DayIn(InputSchema):
    day: dt.date


class ProblemIn(InputSchema):
    day: dt.date
    problem: str = Field(max_length=300)  # required: see OperationsReasonIn


class ReinstateIn(InputSchema):
    on: dt.date
    note: str = Field(default="", max_length=NOTE_MAX)


class EndIn(InputSchema):
    status: Literal["surrendered", "claim_terminated", "transferred_out"]
    on: dt.date
    note: str = Field(max_length=NOTE_MAX)  # required: see OperationsReasonIn


class VisitIn(InputSchema):
    outcome: VisitOutcome
    note: str = Field(default="", max_length=NOTE_MAX)


class VisitResolveIn(InputSchema):
    note: str = Field(max_length=NOTE_MAX)  # required: see OperationsReasonIn


class NoticeIn(InputSchema):
    channel: NoticeChannel
    note: str = Field(default="", max_length=NOTE_MAX)


class PersistencyQuery(InputSchema):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    team_id: int | None = Id
    agent_id: int | None = Id


class BreakdownQuery(InputSchema):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    by: Literal["team", "agent"] = "team"
    team_id: int | None = Id


class TrendQuery(PersistencyQuery):
    months: int = Field(default=12, ge=1, le=36)


class WithholdingQuery(InputSchema):
    policy_ids: str = Field(min_length=1, max_length=5000, pattern=r"^\d{1,18}(,\d{1,18})*$")


class OperationsRuleSetIn(InputSchema):
    """A new version. Parameters left out are copied from the version in force."""

    name: str = Field(min_length=1, max_length=100)
    effective_from: dt.date
    reason: str = Field(default="", max_length=300)
    grace_days: int | None = Field(default=None, ge=1, le=365)
    reinstatement_days: int | None = Field(default=None, ge=1, le=3650)
    reminder_days_before: list[int] | None = Field(default=None, max_length=20)
    schedule_years_ahead: int | None = Field(default=None, ge=1, le=100)
    renewal_recontact_days: int | None = Field(default=None, ge=1, le=90)
    default_delivery_method: DeliveryMethod | None = None
    delivery_overdue_days: int | None = Field(default=None, ge=1, le=365)
    return_visit_categories: list[str] | None = Field(default=None, max_length=20)
    return_visit_products: list[str] | None = Field(default=None, max_length=200)
    return_visit_excluded_products: list[str] | None = Field(default=None, max_length=200)
    return_visit_due_days: int | None = Days
    return_visit_max_attempts: int | None = Field(default=None, ge=1, le=20)
    exit_notice_days: int | None = Field(default=None, ge=1, le=365)
    exit_notice_min_term_years: int | None = Field(default=None, ge=0, le=100)
    exit_reassign_to: ExitReassign | None = None
