"""A reopened ticket starts its escalation again (a new resolution target, level 0), but it
says truthfully how far it was escalated before: the history rows keep the level they
reached, and the ticket page, the queue and the API show the escalation before the
reopening (QA: the badge vanished while the history said "escalated")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telesales.org.models import Person
from telesales.tickets import services
from telesales.tickets.choices import EscalationLevel, TicketAction
from telesales.tickets.escalation import tickets_escalate
from telesales.tickets.models import TicketEvent
from telesales.tickets.selectors import (
    ticket_escalation_before_reopening,
    ticket_get,
    ticket_list,
)
from telesales.tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def t0():
    return timezone.now().replace(microsecond=0) - dt.timedelta(days=10)


def _escalated_to_the_manager_then_reopened(world, t0):
    """Escalated to lead_a, then to the manager; resolved, closed and reopened."""
    ticket = TicketFactory(owner=world.alice, opened_at=t0, sla_ruleset=world.ruleset)
    first = ticket.response_due_at + MINUTE
    assert tickets_escalate(now=first)["team_lead"] == 1
    later = first + dt.timedelta(hours=world.ruleset.manager_escalation_hours) + MINUTE
    assert tickets_escalate(now=later)["manager"] == 1
    services.ticket_resolve(ticket=ticket, actor=world.alice.user, resolution="已退费")
    services.ticket_close(ticket=ticket, actor=world.alice.user)
    return services.ticket_reopen(ticket=ticket, actor=world.ops.user, reason="客户又来投诉")


def test_each_escalation_row_keeps_the_level_it_reached(world, t0):
    ticket = _escalated_to_the_manager_then_reopened(world, t0)
    rows = ticket.events.filter(action=TicketAction.ESCALATE).order_by("at", "id")
    assert [(e.escalation_level, e.to_person) for e in rows] == [
        (EscalationLevel.TEAM_LEAD, world.lead_a),
        (EscalationLevel.MANAGER, world.boss),
    ]
    assert (
        not ticket.events.exclude(action=TicketAction.ESCALATE)
        .exclude(escalation_level=None)
        .exists()
    )


def test_a_reopened_ticket_remembers_how_far_it_was_escalated(world, t0):
    ticket = _escalated_to_the_manager_then_reopened(world, t0)
    assert ticket.escalation_level == 0  # the escalation starts again for the new target
    before = ticket_escalation_before_reopening(ticket=ticket)
    assert (before.escalation_level, before.to_person) == (EscalationLevel.MANAGER, world.boss)
    user = world.ops.user
    assert ticket_get(user=user, ticket_id=ticket.pk).past_escalation_level == 2
    (row,) = ticket_list(user=user)
    assert row.past_escalation_level == 2
    # still not counted as escalated now: the queue's filter waits for a new missed target
    assert list(ticket_list(user=user, escalated=True)) == []


def test_a_ticket_escalated_again_after_reopening_shows_its_current_level(world, t0):
    ticket = _escalated_to_the_manager_then_reopened(world, t0)
    tickets_escalate(now=ticket.resolution_due_at + MINUTE)
    ticket.refresh_from_db()
    assert ticket.escalation_level == EscalationLevel.TEAM_LEAD
    assert ticket_escalation_before_reopening(ticket=ticket) is None
    assert ticket_get(user=world.ops.user, ticket_id=ticket.pk).past_escalation_level == 0


def test_a_ticket_never_escalated_has_no_past_escalation(world, open_ticket):
    ticket = open_ticket(owner=world.alice)
    services.ticket_resolve(ticket=ticket, actor=world.alice.user, resolution="已处理")
    ticket = services.ticket_reopen(ticket=ticket, actor=world.alice.user, reason="仍有问题")
    assert ticket_escalation_before_reopening(ticket=ticket) is None
    assert ticket_get(user=world.ops.user, ticket_id=ticket.pk).past_escalation_level == 0


def test_the_ticket_page_shows_the_escalation_before_the_reopening(world, t0, page_for):
    ticket = _escalated_to_the_manager_then_reopened(world, t0)
    page = page_for(world.ops).get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'data-testid="ticket-escalated"' not in page  # not escalated now ...
    assert 'data-testid="ticket-escalated-before"' in page  # ... but it was, and says so
    assert "重开前已升级：中心经理" in page
    assert 'data-testid="escalated-before"' in page and "boss" in page
    # the history says which level each escalation reached
    assert "升级</b> · 主管 · lead_a" in page and "升级</b> · 中心经理 · boss" in page


def test_the_queue_marks_a_ticket_escalated_before_its_reopening(world, t0, page_for):
    ticket = _escalated_to_the_manager_then_reopened(world, t0)
    fresh = TicketFactory(owner=world.alice, hours_ago=1, subject="新工单")
    page = page_for(world.ops).get("/tickets/queue/").content.decode()
    assert page.count('data-testid="escalated-before"') == 1
    assert 'title="重开前已升级：中心经理"' in page
    assert ticket.number in page and fresh.number in page


def test_the_api_gives_the_level_before_the_reopening(world, t0, api_for):
    ticket = _escalated_to_the_manager_then_reopened(world, t0)
    client = api_for(world.ops)
    data = client.get(f"/api/v1/tickets/tickets/{ticket.pk}").json()
    assert (data["escalation_level"], data["past_escalation_level"]) == (0, 2)
    levels = [e["escalation_level"] for e in data["events"] if e["action"] == "escalate"]
    assert levels == [1, 2]
    (row,) = client.get("/api/v1/tickets/tickets").json()
    assert row["past_escalation_level"] == 2


def test_a_ticket_passed_over_to_the_manager_says_manager(world, t0):
    Person.objects.filter(pk=world.lead_a.pk).update(status="suspended")
    ticket = TicketFactory(owner=world.alice, opened_at=t0, sla_ruleset=world.ruleset)
    tickets_escalate(now=ticket.response_due_at + MINUTE)
    services.ticket_assign(ticket=ticket, owner=world.carol, actor=world.ops.user)
    services.ticket_resolve(ticket=ticket, actor=world.carol.user, resolution="已处理")
    ticket = services.ticket_reopen(ticket=ticket, actor=world.ops.user, reason="客户又来电")
    before = ticket_escalation_before_reopening(ticket=ticket)
    assert before.escalation_level == EscalationLevel.MANAGER


def test_the_migration_fills_in_the_level_of_existing_escalation_rows(world, t0):
    """Rows written before the level was kept: the manager's step, the ticket's own level
    for its latest escalation, else the team lead when it names one and passes nobody over."""
    import importlib

    from django.apps import apps as django_apps

    migration = importlib.import_module("telesales.tickets.migrations.0003_event_escalation_level")
    reopened = _escalated_to_the_manager_then_reopened(world, t0)
    passed_over = TicketFactory(owner=world.alice, opened_at=t0)
    Person.objects.filter(pk=world.lead_a.pk).update(status="suspended")
    tickets_escalate(now=passed_over.response_due_at + MINUTE)
    Person.objects.filter(pk=world.lead_a.pk).update(status="active")
    services.ticket_resolve(ticket=passed_over, actor=world.ops.user, resolution="已处理")
    services.ticket_reopen(ticket=passed_over, actor=world.ops.user, reason="又来电")
    current = TicketFactory(owner=world.alice, opened_at=t0)
    tickets_escalate(now=current.response_due_at + MINUTE)
    rows = TicketEvent.objects.filter(action=TicketAction.ESCALATE)
    expected = dict(rows.values_list("pk", "escalation_level"))
    assert sorted(expected.values()) == [1, 1, 2, 2]
    rows.update(escalation_level=None)
    migration.fill_levels(django_apps, None)
    assert dict(rows.values_list("pk", "escalation_level")) == expected
    assert ticket_escalation_before_reopening(ticket=reopened).escalation_level == 2
