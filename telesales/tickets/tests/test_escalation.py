"""Escalation when a target is missed: to the owner's team lead, then to the manager; at the
boundaries (a minute before, on the due time, a minute after)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telesales.core.models import AuditEntry
from telesales.tickets import services
from telesales.tickets.choices import TicketAction, TicketStatus
from telesales.tickets.escalation import tickets_escalate
from telesales.tickets.models import SlaRuleSet, Ticket
from telesales.tickets.tasks import tickets_escalate_task
from telesales.tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - dt.timedelta(days=10)


def escalations(ticket: Ticket):
    return list(ticket.events.filter(action=TicketAction.ESCALATE).order_by("at", "id"))


def test_a_missed_first_response_escalates_to_the_owners_team_lead_a_minute_late(world, t0):
    ticket = TicketFactory(owner=world.alice, opened_at=t0, sla_ruleset=world.ruleset)
    due = ticket.response_due_at  # t0 + 8 h
    assert tickets_escalate(now=due - MINUTE) == {"team_lead": 0, "manager": 0}
    assert tickets_escalate(now=due) == {"team_lead": 0, "manager": 0}  # due at, not missed
    assert tickets_escalate(now=due + MINUTE) == {"team_lead": 1, "manager": 0}
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalated_to) == (1, world.lead_a)
    assert ticket.escalated_at == due + MINUTE
    assert ticket.status == TicketStatus.OPEN  # escalation does not change the status
    (event,) = escalations(ticket)
    assert (event.escalation_reason, event.to_person, event.actor) == (
        "response_missed",
        world.lead_a,
        None,
    )
    entry = AuditEntry.objects.get(action="tickets.tickets_escalate")
    assert entry.actor_name == "system" and entry.after["ticket_ids"] == [ticket.pk]


def test_a_missed_resolution_escalates_at_its_own_boundary(world, t0):
    ticket = TicketFactory(
        owner=world.alice,
        opened_at=t0,
        first_response_at=t0 + dt.timedelta(hours=1),
        status=TicketStatus.WAITING_CUSTOMER,  # the clock runs while waiting for the customer
    )
    due = ticket.resolution_due_at  # t0 + 72 h
    assert tickets_escalate(now=due - MINUTE) == {"team_lead": 0, "manager": 0}
    assert tickets_escalate(now=due + MINUTE) == {"team_lead": 1, "manager": 0}
    (event,) = escalations(ticket)
    assert event.escalation_reason == "resolution_missed"


def test_still_unresolved_after_the_managers_delay_goes_to_the_manager(world, t0):
    ticket = TicketFactory(owner=world.alice, opened_at=t0, sla_ruleset=world.ruleset)
    first = ticket.response_due_at + MINUTE
    tickets_escalate(now=first)
    later = first + dt.timedelta(hours=world.ruleset.manager_escalation_hours)
    assert tickets_escalate(now=later - MINUTE) == {"team_lead": 0, "manager": 0}
    assert tickets_escalate(now=later) == {"team_lead": 0, "manager": 0}
    assert tickets_escalate(now=later + MINUTE) == {"team_lead": 0, "manager": 1}
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalated_to) == (2, world.boss)
    assert [e.escalation_reason for e in escalations(ticket)] == [
        "response_missed",
        "still_unresolved",
    ]
    # nothing more to do: each level once
    assert tickets_escalate(now=later + dt.timedelta(days=30)) == {"team_lead": 0, "manager": 0}
    assert len(escalations(ticket)) == 2


def test_the_managers_delay_is_the_tickets_rule_set_number(world, t0):
    quick = SlaRuleSet.objects.create(
        name="快", effective_from=dt.date(2000, 1, 1), manager_escalation_hours=2
    )
    ticket = TicketFactory(owner=world.alice, opened_at=t0, sla_ruleset=quick)
    first = ticket.response_due_at + MINUTE
    tickets_escalate(now=first)
    assert tickets_escalate(now=first + dt.timedelta(hours=2) + MINUTE)["manager"] == 1


@pytest.mark.parametrize("owner", ["none", "ops", "lead_a"])
def test_without_a_team_lead_above_the_owner_the_ticket_goes_to_the_manager(world, t0, owner):
    """Unassigned, owned by the back office (no leader), or owned by the team lead."""
    ticket = TicketFactory(owner=None if owner == "none" else getattr(world, owner), opened_at=t0)
    assert tickets_escalate(now=ticket.response_due_at + MINUTE) == {"team_lead": 0, "manager": 1}
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalated_to) == (2, world.boss)


@pytest.mark.parametrize("status", [TicketStatus.RESOLVED, TicketStatus.CLOSED])
def test_resolved_and_closed_tickets_never_escalate(world, t0, status):
    TicketFactory(
        owner=world.alice,
        opened_at=t0,
        status=status,
        resolved_at=t0 + dt.timedelta(days=5),
        closed_at=t0 + dt.timedelta(days=6) if status == TicketStatus.CLOSED else None,
    )
    assert tickets_escalate(now=timezone.now()) == {"team_lead": 0, "manager": 0}
    assert not AuditEntry.objects.filter(action="tickets.tickets_escalate").exists()


def test_a_response_in_time_stops_the_response_escalation(world, t0):
    ticket = TicketFactory(
        owner=world.alice, opened_at=t0, first_response_at=t0 + dt.timedelta(hours=8)
    )
    assert tickets_escalate(now=ticket.response_due_at + MINUTE)["team_lead"] == 0
    assert tickets_escalate(now=ticket.resolution_due_at + MINUTE)["team_lead"] == 1


def test_the_escalated_team_lead_sees_and_works_the_ticket(world, t0):
    ticket = TicketFactory(
        owner=world.bob, opened_at=t0, status=TicketStatus.IN_PROGRESS, first_response_at=t0
    )
    tickets_escalate(now=timezone.now())
    ticket.refresh_from_db()
    assert ticket.escalated_to == world.lead_b
    services.ticket_resolve(ticket=ticket, actor=world.lead_b.user, resolution="组长处理完毕")


def test_a_reopened_ticket_can_escalate_again(world, open_ticket):
    opened = timezone.now() - dt.timedelta(days=20)
    ticket = open_ticket(owner=world.alice, kind="claim_help", opened_at=opened)
    tickets_escalate()
    services.ticket_resolve(ticket=ticket, actor=world.alice.user, resolution="已处理")
    ticket = services.ticket_reopen(ticket=ticket, actor=world.ops.user, reason="仍有问题")
    assert ticket.escalation_level == 0
    assert tickets_escalate(now=ticket.resolution_due_at + MINUTE)["team_lead"] == 1
    assert len(escalations(ticket)) == 2


def test_the_periodic_task_escalates_what_is_overdue_now(world, t0):
    TicketFactory(owner=world.alice, opened_at=t0)
    TicketFactory(owner=world.alice, hours_ago=1)  # not due yet
    assert tickets_escalate_task.delay().get() == {"team_lead": 1, "manager": 0}


# --- A team lead who cannot act is passed over ---------------------------------------------
@pytest.mark.parametrize("status", ["suspended", "left"])
def test_a_team_lead_who_stopped_working_is_passed_over_to_the_manager(world, t0, status):
    from telesales.org.models import Person

    # (written directly: leaving through org's service would also end the leadership)
    left_on = timezone.localdate() if status == "left" else None
    Person.objects.filter(pk=world.lead_a.pk).update(status=status, left_on=left_on)
    ticket = TicketFactory(owner=world.alice, opened_at=t0, sla_ruleset=world.ruleset)
    assert tickets_escalate(now=ticket.response_due_at + MINUTE) == {
        "team_lead": 0,
        "manager": 1,
    }
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalated_to) == (2, world.boss)
    (event,) = escalations(ticket)
    assert event.escalation_reason == "response_missed" and event.to_person == world.boss
    # the history says whom it went past and why, in the center's language
    label = {"suspended": "停岗", "left": "离职"}[status]
    assert "lead_a" in event.note and label in event.note and "中心经理" in event.note


def test_a_team_lead_without_an_active_login_is_passed_over(world, t0):
    world.lead_a.user.is_active = False
    world.lead_a.user.save(update_fields=["is_active"])
    ticket = TicketFactory(owner=world.alice, opened_at=t0)
    assert tickets_escalate(now=ticket.response_due_at + MINUTE)["manager"] == 1
    (event,) = escalations(ticket)
    assert "lead_a" in event.note and "登录" in event.note


@pytest.mark.parametrize("status", ["warning", "trainee", "active"])
def test_a_team_lead_still_working_gets_the_escalation(world, t0, status):
    from telesales.org.models import Person

    Person.objects.filter(pk=world.lead_a.pk).update(status=status)
    ticket = TicketFactory(owner=world.alice, opened_at=t0)
    assert tickets_escalate(now=ticket.response_due_at + MINUTE)["team_lead"] == 1
    (event,) = escalations(ticket)
    assert event.to_person == world.lead_a and event.note == ""


def test_a_team_lead_suspended_after_the_escalation_hands_over_to_the_manager_at_once(world, t0):
    from telesales.org.models import Person

    ticket = TicketFactory(owner=world.alice, opened_at=t0, sla_ruleset=world.ruleset)
    first = ticket.response_due_at + MINUTE
    assert tickets_escalate(now=first)["team_lead"] == 1
    assert tickets_escalate(now=first + MINUTE)["manager"] == 0  # lead_a still works
    Person.objects.filter(pk=world.lead_a.pk).update(status="suspended")
    # well before the manager's delay
    assert tickets_escalate(now=first + 2 * MINUTE) == {"team_lead": 0, "manager": 1}
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalated_to) == (2, world.boss)
    last = escalations(ticket)[-1]
    assert last.escalation_reason == "still_unresolved" and "lead_a" in last.note


# --- Reopening keeps the ticket in sight of whoever it was escalated to ---------------------
def test_the_team_lead_it_was_escalated_to_keeps_a_reopened_ticket(world, t0, api_for):
    """lead_a sees the ticket only because it was escalated to them (it now belongs to team
    B); reopening restarts the escalation for the new target but must not hide it."""
    from telesales.tickets.selectors import ticket_get, ticket_list

    ticket = TicketFactory(owner=world.alice, opened_at=t0, sla_ruleset=world.ruleset)
    tickets_escalate(now=ticket.response_due_at + MINUTE)
    services.ticket_assign(ticket=ticket, owner=world.bob, actor=world.ops.user)
    services.ticket_resolve(ticket=ticket, actor=world.bob.user, resolution="已处理")
    lead = world.lead_a.user
    ticket = services.ticket_reopen(ticket=ticket, actor=lead, reason="客户又来电")
    assert (ticket.escalation_level, ticket.escalated_to) == (0, None)  # a new target, level 0
    assert ticket_get(user=lead, ticket_id=ticket.pk) == ticket
    assert ticket in ticket_list(user=lead)
    services.ticket_respond(ticket=ticket, actor=lead, note="组长跟进")
    assert api_for(world.lead_a).get(f"/api/v1/tickets/tickets/{ticket.pk}").status_code == 200
    # nobody else gains sight of it
    assert api_for(world.carol).get(f"/api/v1/tickets/tickets/{ticket.pk}").status_code == 404
