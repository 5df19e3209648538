"""Request and response schemas of the tickets API.

No schema carries a full phone number: the customer is exposed by name and
``customer_mobile_masked``, and every free text (subject, description, resolution, notes,
names) goes through ``mask_ticket_text``, because people type numbers into tickets.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Schema
from pydantic import Field, model_validator

from telesales.core.http_api import ID_MAX, InputSchema
from telesales.core.phone_numbers import mask_phone
from telesales.tickets.choices import (
    REPORT_MAX_DAYS,
    EscalationReason,
    TicketAction,
    TicketChannel,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from telesales.tickets.masking import mask_ticket_text
from telesales.tickets.models import SlaRuleSet, Ticket, TicketEvent
from telesales.tickets.selectors import ticket_escalation_before_reopening
from telesales.tickets.services import (
    EXTERNAL_REF_MAX,
    NOTE_MAX,
    SUBJECT_MAX,
    TEXT_MAX,
)

PAGE_MAX = 500
Id = Field(default=None, ge=1, le=ID_MAX)


def _hours(delta: dt.timedelta | None) -> float | None:
    return round(delta.total_seconds() / 3600, 2) if delta is not None else None


# --- Tickets -----------------------------------------------------------------------------
class TicketOut(Schema):
    id: int
    number: str
    kind: TicketKind
    channel: TicketChannel
    priority: TicketPriority
    status: TicketStatus
    subject: str
    customer_id: int | None
    customer_name: str | None
    customer_mobile_masked: str | None
    policy_id: int | None
    policy_number: str | None
    agent_id: int | None
    agent_name: str | None
    owner_id: int | None
    owner_name: str | None
    external_ref: str
    opened_at: dt.datetime
    response_due_at: dt.datetime
    first_response_at: dt.datetime | None
    first_response_hours: float | None
    resolution_due_at: dt.datetime
    resolved_at: dt.datetime | None
    resolution_hours: float | None
    closed_at: dt.datetime | None
    overdue: bool
    escalation_level: int
    escalated_at: dt.datetime | None
    escalated_to_id: int | None
    escalated_to_name: str | None
    past_escalation_level: int = Field(
        description="Not escalated now: the highest level reached before the last reopening "
        "(0: none). Reopening starts the escalation again; the history keeps the old one."
    )
    reopen_count: int

    @staticmethod
    def resolve_subject(obj: Ticket) -> str:
        return mask_ticket_text(obj.subject)

    @staticmethod
    def resolve_external_ref(obj: Ticket) -> str:
        return mask_ticket_text(obj.external_ref)

    @staticmethod
    def resolve_customer_name(obj: Ticket) -> str | None:
        return mask_ticket_text(obj.customer.name) if obj.customer_id else None

    @staticmethod
    def resolve_customer_mobile_masked(obj: Ticket) -> str | None:
        return mask_phone(obj.customer.mobile_e164) if obj.customer_id else None

    @staticmethod
    def resolve_policy_number(obj: Ticket) -> str | None:
        return obj.policy.number if obj.policy_id else None

    @staticmethod
    def resolve_agent_name(obj: Ticket) -> str | None:
        return obj.agent.name if obj.agent_id else None

    @staticmethod
    def resolve_owner_name(obj: Ticket) -> str | None:
        return obj.owner.name if obj.owner_id else None

    @staticmethod
    def resolve_escalated_to_name(obj: Ticket) -> str | None:
        return obj.escalated_to.name if obj.escalated_to_id else None

    @staticmethod
    def resolve_past_escalation_level(obj: Ticket) -> int:
        level = getattr(obj, "past_escalation_level", None)
        if level is None:  # not read through the selectors
            row = ticket_escalation_before_reopening(ticket=obj)
            level = row.escalation_level if row else 0
        return int(level)

    @staticmethod
    def resolve_first_response_hours(obj: Ticket) -> float | None:
        return _hours(obj.first_response_time)

    @staticmethod
    def resolve_resolution_hours(obj: Ticket) -> float | None:
        return _hours(obj.resolution_time)

    @staticmethod
    def resolve_overdue(obj: Ticket) -> bool:
        overdue = getattr(obj, "overdue", None)
        if overdue is None:
            return obj.is_overdue(timezone.now())
        return bool(overdue)


class TicketEventOut(Schema):
    at: dt.datetime
    action: TicketAction
    actor: str | None
    from_status: str
    to_status: str
    to_person_id: int | None
    to_person_name: str | None
    escalation_reason: EscalationReason | Literal[""]
    escalation_level: int | None
    note: str

    @staticmethod
    def resolve_actor(obj: TicketEvent) -> str | None:
        return obj.actor.get_username() if obj.actor_id and obj.actor else None

    @staticmethod
    def resolve_to_person_name(obj: TicketEvent) -> str | None:
        return obj.to_person.name if obj.to_person_id and obj.to_person else None

    @staticmethod
    def resolve_note(obj: TicketEvent) -> str:
        return mask_ticket_text(obj.note)


class TicketDetailOut(TicketOut):
    description: str
    resolution: str
    sla_ruleset_id: int | None
    events: list[TicketEventOut]

    @staticmethod
    def resolve_description(obj: Ticket) -> str:
        return mask_ticket_text(obj.description)

    @staticmethod
    def resolve_resolution(obj: Ticket) -> str:
        return mask_ticket_text(obj.resolution)

    @staticmethod
    def resolve_events(obj: Ticket) -> list:
        return list(obj.events.select_related("actor", "to_person").order_by("at", "id"))


StatusFilter = TicketStatus | Literal["active", "all"]


class TicketFilter(InputSchema):
    status: StatusFilter = "active"
    kind: TicketKind | None = None
    channel: TicketChannel | None = None
    priority: TicketPriority | None = None
    owner_id: int | None = Id
    mine: bool = False
    unassigned: bool = False
    overdue: bool = False
    escalated: bool = False
    my_teams: bool = False
    since: dt.date | None = None
    until: dt.date | None = None
    q: str = Field(default="", max_length=50)
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)
    offset: int = Field(default=0, ge=0, le=ID_MAX - PAGE_MAX)

    @model_validator(mode="after")
    def _check_days(self):
        if self.since and self.until and self.since > self.until:
            raise ValueError(_("until must not be before since"))
        return self


class TicketOpenIn(InputSchema):
    kind: TicketKind
    channel: TicketChannel
    priority: TicketPriority = TicketPriority.NORMAL
    subject: str = Field(min_length=1, max_length=SUBJECT_MAX)
    description: str = Field(default="", max_length=TEXT_MAX)
    customer_id: int | None = Id
    policy_id: int | None = Id
    agent_id: int | None = Id
    owner_id: int | None = Id
    external_ref: str = Field(default="", max_length=EXTERNAL_REF_MAX)
    opened_at: dt.datetime | None = None


class AssignIn(InputSchema):
    owner_id: int = Field(ge=1, le=ID_MAX)
    note: str = Field(default="", max_length=NOTE_MAX)


class RespondIn(InputSchema):
    note: str = Field(min_length=1, max_length=NOTE_MAX)
    waiting_customer: bool = False


class TicketResolveIn(InputSchema):
    resolution: str = Field(min_length=1, max_length=TEXT_MAX)


class CloseIn(InputSchema):
    note: str = Field(default="", max_length=NOTE_MAX)


class ReopenIn(InputSchema):
    reason: str = Field(min_length=1, max_length=NOTE_MAX)


# --- SLA rules -----------------------------------------------------------------------------
class SlaTargetOut(Schema):
    kind: TicketKind
    priority: TicketPriority
    response_hours: int
    resolution_hours: int


class SlaRuleSetOut(Schema):
    id: int
    name: str
    effective_from: dt.date
    is_active: bool
    manager_escalation_hours: int
    created_at: dt.datetime
    targets: list[SlaTargetOut]

    @staticmethod
    def resolve_targets(obj: SlaRuleSet) -> list:
        return sorted(obj.targets.all(), key=lambda t: (t.kind, t.priority))


class HoursIn(InputSchema):
    response_hours: int | None = Field(default=None, ge=1, le=8760)
    resolution_hours: int | None = Field(default=None, ge=1, le=8760)


class SlaRuleSetIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    effective_from: dt.date
    based_on_id: int | None = Id
    manager_escalation_hours: int | None = Field(default=None, ge=1, le=720)
    targets: dict[TicketKind, dict[TicketPriority, HoursIn]] = {}
    reason: str = Field(default="", max_length=500)

    def targets_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        return {
            str(kind): {
                str(priority): {k: v for k, v in hours.dict().items() if v is not None}
                for priority, hours in by_priority.items()
            }
            for kind, by_priority in self.targets.items()
        }


# --- Reports -------------------------------------------------------------------------------
class PeriodFilter(InputSchema):
    since: dt.date | None = None
    until: dt.date | None = None

    @model_validator(mode="after")
    def _check_period(self):
        if self.since and self.until:
            if self.since > self.until:
                raise ValueError(_("'since' must not be after 'until'"))
            if (self.until - self.since).days > REPORT_MAX_DAYS:
                raise ValueError(_("at most %(days)d days") % {"days": REPORT_MAX_DAYS})
        return self


class SlaFiguresOut(Schema):
    opened: int
    active: int
    overdue: int
    escalated: int
    responded: int
    response_on_time: int
    response_settled: int
    response_attainment: float | None
    resolved: int
    resolution_on_time: int
    resolution_settled: int
    resolution_attainment: float | None
    avg_response_hours: float | None
    median_response_hours: float | None
    avg_resolution_hours: float | None
    median_resolution_hours: float | None


class SlaKindOut(SlaFiguresOut):
    kind: TicketKind


class SlaMonthOut(SlaFiguresOut):
    month: dt.date
    complaints: int


class SlaReportOut(Schema):
    since: dt.date
    until: dt.date
    total: SlaFiguresOut
    by_kind: list[SlaKindOut]
    by_month: list[SlaMonthOut]


class ComplaintRateRow(Schema):
    since: dt.date
    until: dt.date
    complaints: int
    policies_in_force: int
    policies_issued: int
    rate_per_1000: Decimal | None


class ComplaintMonthOut(ComplaintRateRow):
    month: dt.date


class ComplaintRateOut(ComplaintRateRow):
    by_month: list[ComplaintMonthOut]
