"""Escalation of tickets whose SLA target was missed (periodic: ``tickets.tickets_escalate_task``).

A target is missed once its due time has *passed* (strictly: a first response due at 10:00
is in time at 10:00 and missed at 10:00:01). Only active tickets (open, in progress, waiting
for the customer) escalate:

1. **Team lead** (level 1): the first missed target — no first response after its due time,
   or not resolved after the resolution due time — escalates the ticket to the leader of the
   owner's team. When there is no such person (nobody owns the ticket, the owner's team has
   no leader, or the owner leads it), or the team lead cannot act (left, suspended, or no
   active login that works tickets: ``lead_can_act``), the ticket goes straight to step 2,
   and the history row names the team lead passed over.
2. **Manager** (level 2): a ticket still unresolved ``manager_escalation_hours`` after the
   team lead's escalation (its rule set's number) escalates to the center manager; at
   once when the team lead it went to can no longer act.

Each escalation sets ``escalation_level``, ``escalated_at`` and ``escalated_to`` and writes
a history row with the reason; a ticket is escalated to each level once (a concurrent run
loses the race and skips it). One audit row records each run that escalated anything.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from telesales.core.audit import audit_record
from telesales.core.roles import Role, has_role
from telesales.org.choices import PersonStatus
from telesales.org.models import Person
from telesales.tickets import permissions
from telesales.tickets.choices import (
    ACTIVE_STATUSES,
    EscalationLevel,
    EscalationReason,
    TicketAction,
)
from telesales.tickets.models import Ticket, TicketEvent
from telesales.tickets.rules import manager_escalation_hours
from telesales.tickets.selectors import manager_person, may_hold_tickets


def lead_can_act(person: Person) -> bool:
    """Can this team lead take an escalated ticket? They must be working (not left or
    suspended; a warning or a trainee status does not stop work) and sign in with an active
    login that may work another person's ticket (team lead, or a role that sees all)."""
    if not may_hold_tickets(person):
        return False
    return has_role(person.user, Role.TEAM_LEAD) or permissions.sees_all_tickets(person.user)


def _passed_over_note(leader: Person) -> str:
    """The history note of a ticket that went past ``leader`` to the center manager. Written
    in the center's language (the task has no user)."""
    with translation.override(settings.LANGUAGE_CODE):
        if leader.status in (PersonStatus.LEFT, PersonStatus.SUSPENDED):
            return _(
                "Team lead %(name)s cannot take the ticket (%(status)s): escalated to the "
                "center manager instead."
            ) % {"name": leader.name, "status": leader.get_status_display()}
        return _(
            "Team lead %(name)s cannot take the ticket (no active login that works "
            "tickets): escalated to the center manager instead."
        ) % {"name": leader.name}


def _team_lead_of(ticket: Ticket) -> tuple[Person | None, Person | None]:
    """(the team lead to escalate to, the team lead passed over): the leader of the owner's
    team when they can act (``lead_can_act``); when they cannot, (None, them)."""
    owner = ticket.owner
    if owner is None or owner.team is None:
        return None, None
    leader = owner.team.leader
    if leader is None or leader.pk == owner.pk:
        return None, None
    if not lead_can_act(leader):
        return None, leader
    return leader, None


def _escalate(
    ticket: Ticket,
    *,
    level: int,
    to: Person | None,
    reason: str,
    now: dt.datetime,
    note: str = "",
) -> bool:
    moved = Ticket.objects.filter(
        pk=ticket.pk, escalation_level=ticket.escalation_level, status__in=ACTIVE_STATUSES
    ).update(escalation_level=level, escalated_at=now, escalated_to=to, updated_at=now)
    if not moved:
        return False
    TicketEvent.objects.create(
        ticket=ticket,
        at=now,
        actor=None,
        action=TicketAction.ESCALATE,
        from_status=ticket.status,
        to_status=ticket.status,
        to_person=to,
        escalation_reason=reason,
        escalation_level=level,
        note=note,
    )
    return True


@transaction.atomic
def tickets_escalate(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Escalate every active ticket with a missed target (see the module doc). Returns how
    many went to a team lead and how many to the manager."""
    now = now or timezone.now()
    manager = manager_person()
    counts = {"team_lead": 0, "manager": 0}
    escalated: list[int] = []

    missed = Q(first_response_at__isnull=True, response_due_at__lt=now) | Q(
        resolution_due_at__lt=now
    )
    fresh = (
        Ticket.objects.filter(status__in=ACTIVE_STATUSES, escalation_level=EscalationLevel.NONE)
        .filter(missed)
        .select_related("owner__team__leader__user")
        .order_by("id")
    )
    for ticket in fresh:
        response_missed = ticket.first_response_at is None and now > ticket.response_due_at
        reason = (
            EscalationReason.RESPONSE_MISSED
            if response_missed
            else EscalationReason.RESOLUTION_MISSED
        )
        leader, passed_over = _team_lead_of(ticket)
        note = _passed_over_note(passed_over) if passed_over is not None else ""
        if leader is not None:
            level, to, key = EscalationLevel.TEAM_LEAD, leader, "team_lead"
        else:
            level, to, key = EscalationLevel.MANAGER, manager, "manager"
        if _escalate(ticket, level=level, to=to, reason=reason, now=now, note=note):
            counts[key] += 1
            escalated.append(ticket.pk)

    waiting = (
        Ticket.objects.filter(
            status__in=ACTIVE_STATUSES,
            escalation_level=EscalationLevel.TEAM_LEAD,
            escalated_at__isnull=False,
        )
        .exclude(pk__in=escalated)
        .select_related("sla_ruleset", "escalated_to__user")
        .order_by("id")
    )
    for ticket in waiting:
        lead = ticket.escalated_to
        note = ""
        if lead is not None and not lead_can_act(lead):
            # suspended or gone since the escalation: the manager need not wait for them
            note = _passed_over_note(lead)
        else:
            hours = manager_escalation_hours(ticket.sla_ruleset)
            if now <= ticket.escalated_at + dt.timedelta(hours=hours):
                continue
        if _escalate(
            ticket,
            level=EscalationLevel.MANAGER,
            to=manager,
            reason=EscalationReason.STILL_UNRESOLVED,
            now=now,
            note=note,
        ):
            counts["manager"] += 1
            escalated.append(ticket.pk)

    if escalated:
        audit_record(
            actor="system",
            action="tickets.tickets_escalate",
            object_type="tickets.ticket",
            after={**counts, "ticket_ids": escalated[:500]},
        )
    return counts
