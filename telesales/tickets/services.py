"""Writes to tickets: open, assign, respond, resolve, close, reopen.

Every service is keyword-only, names its actor, checks the actor's rights and the rules
itself, owns its transaction, writes the ticket's history (``TicketEvent``) and an audit row.
A refusal raises a ``DomainError`` before anything is written.

Life cycle (``choices.TicketStatus``)::

    ticket_open → open ─ticket_respond→ in_progress ⇄ waiting_customer (ticket_respond)
    open | in_progress | waiting_customer ─ticket_resolve→ resolved ─ticket_close→ closed
    resolved | closed ─ticket_reopen→ in_progress (open when nobody owns it)

``ticket_assign`` changes the owner of an active ticket and leaves its status alone.
Responding and resolving need an owner. The SLA clock runs in calendar hours from the
opening (``rules.py``); escalation is ``escalation.tickets_escalate``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import NotFound, PermissionDenied, ValidationFailed
from telesales.core.roles import Role, has_role
from telesales.leads.models import Customer
from telesales.org.models import Person
from telesales.org.selectors import _led_team_ids, person_for_user, person_visible_q
from telesales.policies.models import Policy
from telesales.policies.selectors import policy_visible_q
from telesales.tickets import permissions
from telesales.tickets.choices import (
    ACTIVE_STATUSES,
    DONE_STATUSES,
    TicketAction,
    TicketChannel,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from telesales.tickets.errors import (
    DuplicateTicket,
    OwnerNotEligible,
    TicketNotAssigned,
    TicketWrongStatus,
)
from telesales.tickets.models import Ticket, TicketEvent
from telesales.tickets.rules import due_times, targets_for, targets_of
from telesales.tickets.selectors import (
    customer_visible_q,
    may_hold_tickets,
    may_work_ticket,
    ticket_visible_q,
)

SUBJECT_MAX = 200
TEXT_MAX = 5000
NOTE_MAX = 2000
EXTERNAL_REF_MAX = 64
#: An opening time may lie this far in the future (clock skew) ...
CLOCK_SKEW = dt.timedelta(minutes=5)
#: ... and this far in the past (a letter or a regulator's case entered late).
BACKDATE_MAX = dt.timedelta(days=90)


#: A second opening by the same person with the same content within this time is the first
#: one submitted again (a double click, a reload, a retried request): ``DuplicateTicket``.
def duplicate_window() -> dt.timedelta:
    """How long a second identical submission counts as the first one again
    (``TELESALES_TICKET_DUPLICATE_MINUTES``, default 10)."""
    return dt.timedelta(minutes=int(getattr(settings, "TELESALES_TICKET_DUPLICATE_MINUTES", 10)))


#: The fields an audit row keeps (no free text: it may hold personal data).
AUDITED = (
    "number",
    "kind",
    "channel",
    "priority",
    "status",
    "customer_id",
    "policy_id",
    "agent_id",
    "owner_id",
    "opened_at",
    "first_response_at",
    "resolved_at",
    "closed_at",
    "response_due_at",
    "resolution_due_at",
    "escalation_level",
    "reopen_count",
)


# --- Helpers -----------------------------------------------------------------------------
def _snapshot(ticket: Ticket) -> dict[str, Any]:
    return {name: getattr(ticket, name) for name in AUDITED}


def _text(value: Any, *, field: str, max_length: int, required: bool = False, errors: dict) -> str:
    """Clean free text: a string, no NUL characters, within the length; "" when absent."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append(_("Must be text."))
        return ""
    value = value.strip()
    if "\x00" in value:
        errors.setdefault(field, []).append(_("Must not contain NUL characters."))
        return ""
    if required and not value:
        errors.setdefault(field, []).append(_("This field is required."))
    if len(value) > max_length:
        errors.setdefault(field, []).append(
            _("At most %(max)d characters (it has %(n)d).") % {"max": max_length, "n": len(value)}
        )
    return value


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationFailed(_("The ticket is not valid"), fields=errors)


def _choice(value: Any, choices, *, field: str, errors: dict) -> str:
    if value not in choices.values:
        errors.setdefault(field, []).append(
            _("Unknown value; one of: %(values)s") % {"values": ", ".join(choices.values)}
        )
        return ""
    return value


def _lock(ticket: Ticket) -> Ticket:
    found = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("owner", "agent", "sla_ruleset")
        .filter(pk=ticket.pk)
        .first()
    )
    if found is None:
        raise NotFound(_("No such ticket"))
    return found


def _sees(actor, ticket: Ticket) -> bool:
    return Ticket.objects.filter(ticket_visible_q(actor), pk=ticket.pk).exists()


def _require_work(actor, ticket: Ticket) -> None:
    if not may_work_ticket(actor, ticket):
        if not _sees(actor, ticket):
            raise NotFound(_("No such ticket, or you may not see it"))
        raise PermissionDenied(
            _("Only the owner, their team lead or renewal operations may do this")
        )


def _event(
    ticket: Ticket,
    *,
    action: str,
    actor,
    at: dt.datetime,
    from_status: str = "",
    note: str = "",
    to_person: Person | None = None,
    escalation_reason: str = "",
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        at=at,
        actor=user_or_none(actor),
        action=action,
        from_status=from_status,
        to_status=ticket.status,
        to_person=to_person,
        escalation_reason=escalation_reason,
        note=note,
    )


def _audit(actor, action: str, ticket: Ticket, before: dict | None, reason: str = "") -> None:
    audit_record(
        actor=actor,
        action=action,
        instance=ticket,
        before=before,
        after=_snapshot(ticket),
        reason=reason[:500],
    )


def _check_owner(*, actor, owner: Person, kind: str, agent_id: int | None) -> None:
    """May ``actor`` give a ticket of ``kind`` about ``agent_id`` to ``owner``?"""
    if not may_hold_tickets(owner):
        raise OwnerNotEligible(
            _("%(name)s cannot hold tickets") % {"name": owner.name},
            fields={
                "owner": [_("Not a working person with a role that handles tickets.")],
            },
        )
    if kind == TicketKind.COMPLAINT and agent_id and owner.pk == agent_id:
        raise OwnerNotEligible(
            _("A complaint cannot be owned by the agent it is about"),
            fields={"owner": [_("The complaint is about this agent; choose someone else.")]},
        )
    if permissions.sees_all_tickets(actor):
        return
    me = person_for_user(actor)
    if me is not None and owner.pk == me.pk:
        return  # anyone who works tickets may take one themselves
    if me is not None and has_role(actor, Role.TEAM_LEAD):
        if owner.team_id in _led_team_ids(me):
            return
        raise OwnerNotEligible(
            _("A team lead assigns tickets to themselves or to their team members"),
            fields={"owner": [_("Not in a team you lead.")]},
        )
    raise PermissionDenied(_("Your role cannot assign tickets"))


def _refuse_duplicate(*, actor, now: dt.datetime, opened_at: dt.datetime | None, **same) -> None:
    """``DuplicateTicket`` when ``actor`` opened a ticket with this very content (``same``:
    kind, channel, priority, texts, customer, policy, agent, owner; the same opening time
    when one was typed, else one opened as it was entered) within ``duplicate_window()``. The
    caller holds the actor's row lock, so two submissions at once open one ticket."""
    user = user_or_none(actor)
    if user is None:
        return
    found = Ticket.objects.filter(
        created_by=user, created_at__gte=now - duplicate_window(), **same
    ).order_by("id")
    if opened_at is not None:
        found = found.filter(opened_at=opened_at)
    else:  # opened as it was entered, as the first one must have been
        found = found.filter(opened_at__gte=now - duplicate_window())
    first = found.first()
    if first is not None:
        raise DuplicateTicket(
            _("This ticket was opened already (%(number)s): no second ticket was opened")
            % {"number": first.number},
            details={"ticket": first.pk, "number": first.number},
        )


def _lock_actor(actor) -> None:
    """Serialise the ticket openings of one person (see ``_refuse_duplicate``)."""
    user = user_or_none(actor)
    if user is not None:
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values("pk"))


def _generate_number(ticket: Ticket) -> str:
    return f"KF{timezone.localdate(ticket.opened_at):%Y%m%d}{ticket.pk:05d}"


# --- Open --------------------------------------------------------------------------------
@transaction.atomic
def ticket_open(
    *,
    actor,
    kind: str,
    channel: str,
    subject: str,
    description: str = "",
    priority: str = TicketPriority.NORMAL,
    customer: Customer | None = None,
    policy: Policy | None = None,
    agent: Person | None = None,
    owner: Person | None = None,
    external_ref: str = "",
    opened_at: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket. Its SLA targets come from the rule set in force on the opening day.

    A policy must be the customer's (held or insured); with a policy and no customer, the
    holder is the customer; with a policy and no agent, the selling agent is the agent
    concerned. ``opened_at`` may be earlier than now (a letter entered late), at most
    ``BACKDATE_MAX``.

    Idempotent for a double submission: the same content opened by the same person within
    ``duplicate_window()`` is ``DuplicateTicket`` (409) naming the first ticket, and nothing
    is written."""
    if not permissions.can_open_ticket(actor):
        raise PermissionDenied(_("Your role cannot open tickets"))
    errors: dict[str, list[str]] = {}
    kind = _choice(kind, TicketKind, field="kind", errors=errors)
    channel = _choice(channel, TicketChannel, field="channel", errors=errors)
    priority = _choice(priority, TicketPriority, field="priority", errors=errors)
    subject = _text(subject, field="subject", max_length=SUBJECT_MAX, required=True, errors=errors)
    description = _text(description, field="description", max_length=TEXT_MAX, errors=errors)
    external_ref = _text(
        external_ref, field="external_ref", max_length=EXTERNAL_REF_MAX, errors=errors
    )
    now = timezone.now()
    typed_opened_at = opened_at
    if opened_at is None:
        opened_at = now
    elif not isinstance(opened_at, dt.datetime) or timezone.is_naive(opened_at):
        errors.setdefault("opened_at", []).append(_("A date and time with a time zone."))
        opened_at = now
    elif opened_at > now + CLOCK_SKEW:
        errors.setdefault("opened_at", []).append(_("Cannot be in the future."))
    elif opened_at < now - BACKDATE_MAX:
        errors.setdefault("opened_at", []).append(
            _("At most %(days)d days ago.") % {"days": BACKDATE_MAX.days}
        )
    if (
        customer is not None
        and not Customer.objects.filter(customer_visible_q(actor), pk=customer.pk).exists()
    ):
        errors.setdefault("customer", []).append(_("No such customer, or you may not see them."))
    if policy is not None:
        if not Policy.objects.filter(policy_visible_q(actor), pk=policy.pk).exists():
            errors.setdefault("policy", []).append(_("No such policy, or you may not see it."))
        elif customer is not None and not (
            policy.holder_id == customer.pk or policy.insured.filter(pk=customer.pk).exists()
        ):
            errors.setdefault("policy", []).append(
                _("This policy is neither held by nor insures this customer.")
            )
    if (
        agent is not None
        and not Person.objects.filter(person_visible_q(actor), pk=agent.pk).exists()
    ):
        errors.setdefault("agent", []).append(_("No such person, or you may not see them."))
    _raise(errors)
    if policy is not None:
        customer = customer or policy.holder
        agent = agent or policy.agent
    if owner is not None:
        _check_owner(actor=actor, owner=owner, kind=kind, agent_id=agent.pk if agent else None)
    _lock_actor(actor)
    _refuse_duplicate(
        actor=actor,
        now=now,
        opened_at=typed_opened_at,
        kind=kind,
        channel=channel,
        priority=priority,
        subject=subject,
        description=description,
        external_ref=external_ref,
        customer=customer,
        policy=policy,
        agent=agent,
        owner=owner,
    )

    targets = targets_for(kind=kind, priority=priority, opened_at=opened_at)
    response_due, resolution_due = due_times(opened_at=opened_at, targets=targets)
    ticket = Ticket.objects.create(
        kind=kind,
        channel=channel,
        priority=priority,
        status=TicketStatus.OPEN,
        customer=customer,
        policy=policy,
        agent=agent,
        owner=owner,
        external_ref=external_ref,
        subject=subject,
        description=description,
        opened_at=opened_at,
        response_due_at=response_due,
        resolution_due_at=resolution_due,
        sla_ruleset=targets.ruleset,
        created_by=user_or_none(actor),
    )
    ticket.number = _generate_number(ticket)
    ticket.save(update_fields=["number"])
    _event(ticket, action=TicketAction.OPEN, actor=actor, at=now, to_person=owner)
    _audit(actor, "tickets.ticket_open", ticket, None)
    return ticket


# --- Assign ------------------------------------------------------------------------------
@transaction.atomic
def ticket_assign(*, ticket: Ticket, owner: Person, actor, note: str = "") -> Ticket:
    """Give an active ticket to ``owner``: the sees-all roles to anyone who may hold tickets,
    a team lead to themselves or their team members. The status does not change."""
    if not permissions.can_assign_tickets(actor):
        raise PermissionDenied(_("Your role cannot assign tickets"))
    ticket = _lock(ticket)
    if not _sees(actor, ticket):
        raise NotFound(_("No such ticket, or you may not see it"))
    errors: dict[str, list[str]] = {}
    note = _text(note, field="note", max_length=NOTE_MAX, errors=errors)
    _raise(errors)
    if ticket.status not in ACTIVE_STATUSES:
        raise TicketWrongStatus(
            _("A %(status)s ticket cannot be assigned; reopen it first")
            % {"status": ticket.get_status_display()}
        )
    if ticket.owner_id == owner.pk:
        raise OwnerNotEligible(
            _("%(name)s owns this ticket already") % {"name": owner.name},
            fields={"owner": [_("Already the owner.")]},
        )
    _check_owner(actor=actor, owner=owner, kind=ticket.kind, agent_id=ticket.agent_id)
    before = _snapshot(ticket)
    ticket.owner = owner
    ticket.save(update_fields=["owner", "updated_at"])
    _event(
        ticket,
        action=TicketAction.ASSIGN,
        actor=actor,
        at=timezone.now(),
        from_status=ticket.status,
        to_person=owner,
        note=note,
    )
    _audit(actor, "tickets.ticket_assign", ticket, before, reason=note)
    return ticket


def tickets_release_on_leaving(*, person: Person, actor) -> int:
    """Hook (org ``on_person_stops_working``): the active tickets of someone who leaves or is
    suspended go back to the unassigned queue, each with a history line saying why, so that
    no complaint waits on a person who cannot answer it. Runs in the org service's
    transaction; the escalation clock keeps running (the SLA is the center's, not the
    owner's)."""
    now = timezone.now()
    note = _("%(name)s stopped working (%(status)s): back to the unassigned queue.") % {
        "name": person.name,
        "status": person.get_status_display(),
    }
    released = 0
    for ticket in Ticket.objects.select_for_update().filter(
        owner=person, status__in=ACTIVE_STATUSES
    ):
        before = _snapshot(ticket)
        ticket.owner = None
        ticket.save(update_fields=["owner", "updated_at"])
        _event(
            ticket,
            action=TicketAction.ASSIGN,
            actor=actor,
            at=now,
            from_status=ticket.status,
            note=note,
        )
        _audit(actor, "tickets.ticket_release", ticket, before, reason=note)
        released += 1
    return released


# --- Work --------------------------------------------------------------------------------
def _check_active(ticket: Ticket, doing: str) -> None:
    if ticket.status not in ACTIVE_STATUSES:
        raise TicketWrongStatus(
            _("The ticket is %(status)s: it cannot be %(doing)s; reopen it first")
            % {"status": ticket.get_status_display(), "doing": doing}
        )
    if ticket.owner_id is None:
        raise TicketNotAssigned(_("Assign the ticket to someone first"))


@transaction.atomic
def ticket_respond(*, ticket: Ticket, actor, note: str, waiting_customer: bool = False) -> Ticket:
    """Record a reply to (or contact with) the customer. The first one is the ticket's first
    response (its SLA target). The ticket is then in progress, or waiting for the customer."""
    ticket = _lock(ticket)
    _require_work(actor, ticket)
    errors: dict[str, list[str]] = {}
    note = _text(note, field="note", max_length=NOTE_MAX, required=True, errors=errors)
    _raise(errors)
    _check_active(ticket, pgettext("ticket action", "answered"))
    now = timezone.now()
    before = _snapshot(ticket)
    from_status = ticket.status
    ticket.first_response_at = ticket.first_response_at or now
    ticket.status = TicketStatus.WAITING_CUSTOMER if waiting_customer else TicketStatus.IN_PROGRESS
    ticket.save(update_fields=["first_response_at", "status", "updated_at"])
    _event(
        ticket, action=TicketAction.RESPOND, actor=actor, at=now, from_status=from_status, note=note
    )
    _audit(actor, "tickets.ticket_respond", ticket, before)
    return ticket


@transaction.atomic
def ticket_resolve(*, ticket: Ticket, actor, resolution: str) -> Ticket:
    """Resolve an active ticket with what was done. Resolving a ticket never answered before
    counts as its first response too (solved at the first contact)."""
    ticket = _lock(ticket)
    _require_work(actor, ticket)
    errors: dict[str, list[str]] = {}
    resolution = _text(
        resolution, field="resolution", max_length=TEXT_MAX, required=True, errors=errors
    )
    _raise(errors)
    _check_active(ticket, pgettext("ticket action", "resolved"))
    now = timezone.now()
    before = _snapshot(ticket)
    from_status = ticket.status
    ticket.first_response_at = ticket.first_response_at or now
    ticket.resolved_at = now
    ticket.resolution = resolution
    ticket.status = TicketStatus.RESOLVED
    ticket.save(
        update_fields=["first_response_at", "resolved_at", "resolution", "status", "updated_at"]
    )
    _event(
        ticket,
        action=TicketAction.RESOLVE,
        actor=actor,
        at=now,
        from_status=from_status,
        note=resolution,
    )
    _audit(actor, "tickets.ticket_resolve", ticket, before)
    return ticket


@transaction.atomic
def ticket_close(*, ticket: Ticket, actor, note: str = "") -> Ticket:
    """Close a resolved ticket (the customer confirmed, or nothing more is owed)."""
    ticket = _lock(ticket)
    _require_work(actor, ticket)
    errors: dict[str, list[str]] = {}
    note = _text(note, field="note", max_length=NOTE_MAX, errors=errors)
    _raise(errors)
    if ticket.status == TicketStatus.CLOSED:
        raise TicketWrongStatus(_("The ticket is closed already"))
    if ticket.status != TicketStatus.RESOLVED:
        raise TicketWrongStatus(_("Resolve the ticket before closing it"))
    now = timezone.now()
    before = _snapshot(ticket)
    ticket.status = TicketStatus.CLOSED
    ticket.closed_at = now
    ticket.save(update_fields=["status", "closed_at", "updated_at"])
    _event(
        ticket,
        action=TicketAction.CLOSE,
        actor=actor,
        at=now,
        from_status=before["status"],
        note=note,
    )
    _audit(actor, "tickets.ticket_close", ticket, before)
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, actor, reason: str) -> Ticket:
    """Reopen a resolved or closed ticket (the problem is back). It gets a new resolution
    target from now (the hours of its rule set), and its escalation starts again; the past
    resolution and escalations stay in the history."""
    ticket = _lock(ticket)
    _require_work(actor, ticket)
    errors: dict[str, list[str]] = {}
    reason = _text(reason, field="reason", max_length=NOTE_MAX, required=True, errors=errors)
    _raise(errors)
    if ticket.status not in DONE_STATUSES:
        raise TicketWrongStatus(
            _("Only a resolved or closed ticket can be reopened; this one is %(status)s")
            % {"status": ticket.get_status_display()}
        )
    now = timezone.now()
    before = _snapshot(ticket)
    targets = targets_of(ticket.sla_ruleset, kind=ticket.kind, priority=ticket.priority)
    ticket.status = TicketStatus.IN_PROGRESS if ticket.owner_id else TicketStatus.OPEN
    ticket.resolved_at = None
    ticket.closed_at = None
    ticket.resolution = ""
    ticket.resolution_due_at = max(
        now + dt.timedelta(hours=targets.resolution_hours), ticket.response_due_at
    )
    ticket.escalation_level = 0
    ticket.escalated_at = None
    ticket.escalated_to = None
    ticket.reopen_count += 1
    ticket.save(
        update_fields=[
            "status",
            "resolved_at",
            "closed_at",
            "resolution",
            "resolution_due_at",
            "escalation_level",
            "escalated_at",
            "escalated_to",
            "reopen_count",
            "updated_at",
        ]
    )
    _event(
        ticket,
        action=TicketAction.REOPEN,
        actor=actor,
        at=now,
        from_status=before["status"],
        note=reason,
    )
    _audit(actor, "tickets.ticket_reopen", ticket, before, reason=reason)
    return ticket
