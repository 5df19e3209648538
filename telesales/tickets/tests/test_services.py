"""Ticket services: every transition and every refusal, the SLA due times, the history and
the audit rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telesales.core.errors import NotFound, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.org.choices import PersonStatus
from telesales.tickets import services
from telesales.tickets.choices import TicketAction, TicketStatus
from telesales.tickets.errors import OwnerNotEligible, TicketNotAssigned, TicketWrongStatus
from telesales.tickets.models import Ticket
from telesales.tickets.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def actions(ticket: Ticket) -> list[str]:
    return list(ticket.events.order_by("at", "id").values_list("action", flat=True))


# --- Open ----------------------------------------------------------------------------------
def test_open_computes_both_due_times_from_the_targets_of_kind_and_priority(open_ticket, world):
    opened = timezone.now() - dt.timedelta(hours=1)
    ticket = open_ticket(priority="urgent", opened_at=opened)  # complaint/urgent: 2 h, 24 h
    assert ticket.status == TicketStatus.OPEN
    assert ticket.response_due_at == opened + dt.timedelta(hours=2)
    assert ticket.resolution_due_at == opened + dt.timedelta(hours=24)
    assert ticket.sla_ruleset == world.ruleset
    other = open_ticket(kind="policy_change", priority="low")  # 48 h, 240 h
    assert other.response_due_at - other.opened_at == dt.timedelta(hours=48)
    assert other.resolution_due_at - other.opened_at == dt.timedelta(hours=240)


def test_open_numbers_the_ticket_records_history_and_audits(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    local = timezone.localdate(ticket.opened_at)
    assert ticket.number == f"KF{local:%Y%m%d}{ticket.pk:05d}"
    event = ticket.events.get()
    assert (event.action, event.to_status, event.to_person) == ("open", "open", world.ops)
    assert event.actor == world.ops.user
    entry = AuditEntry.objects.get(action="tickets.ticket_open", object_id=str(ticket.pk))
    assert entry.actor == world.ops.user
    assert entry.after["owner_id"] == world.ops.pk
    assert "description" not in entry.after and "subject" not in entry.after


def test_open_with_a_policy_takes_its_holder_as_customer_and_its_seller_as_agent(
    open_ticket, world
):
    ticket = open_ticket(customer=None, policy=world.policy)
    assert ticket.customer == world.holder
    assert ticket.agent == world.alice


def test_open_refuses_a_policy_of_another_customer(open_ticket, world):
    with pytest.raises(ValidationFailed) as exc:
        open_ticket(customer=world.holder, policy=world.other_policy)
    assert "policy" in exc.value.fields
    assert not Ticket.objects.exists()


def test_open_accepts_a_policy_that_insures_the_customer(open_ticket, world):
    spouse = CustomerFactory(name="王芳")
    world.policy.insured.add(spouse)
    assert open_ticket(customer=spouse, policy=world.policy).customer == spouse


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "praise"}, "kind"),
        ({"channel": "fax"}, "channel"),
        ({"priority": "critical"}, "priority"),
        ({"subject": ""}, "subject"),
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"subject": "客户\x00投诉"}, "subject"),
        ({"description": "y" * 5001}, "description"),
        ({"description": "a\x00b"}, "description"),
        ({"external_ref": "z" * 65}, "external_ref"),
        ({"subject": 42}, "subject"),
    ],
)
def test_open_refuses_bad_input_with_a_message_per_field(open_ticket, change, field):
    with pytest.raises(ValidationFailed) as exc:
        open_ticket(**change)
    assert field in exc.value.fields, exc.value.fields
    assert not Ticket.objects.exists()


def test_open_refuses_an_opening_in_the_future_or_too_long_ago(open_ticket):
    now = timezone.now()
    for when in (now + dt.timedelta(hours=1), now - dt.timedelta(days=91)):
        with pytest.raises(ValidationFailed) as exc:
            open_ticket(opened_at=when)
        assert "opened_at" in exc.value.fields
    with pytest.raises(ValidationFailed):
        open_ticket(opened_at=dt.datetime(2026, 1, 1, 9, 0))  # naive
    assert open_ticket(opened_at=now - dt.timedelta(days=89)).opened_at < now


def test_roles_without_tickets_cannot_open_one(open_ticket, world):
    with pytest.raises(PermissionDenied):
        open_ticket(actor=world.hr.user)


def test_an_agent_may_attach_only_customers_and_policies_they_may_see(open_ticket, world):
    ticket = open_ticket(actor=world.alice.user, customer=world.holder, policy=world.policy)
    assert ticket.created_by == world.alice.user
    with pytest.raises(ValidationFailed) as exc:
        open_ticket(actor=world.alice.user, customer=world.other)
    assert "customer" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        open_ticket(actor=world.alice.user, customer=None, policy=world.other_policy)
    assert "policy" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        open_ticket(actor=world.alice.user, agent=world.bob)
    assert "agent" in exc.value.fields


def test_a_complaint_cannot_be_owned_by_the_agent_it_is_about(open_ticket, world):
    with pytest.raises(OwnerNotEligible) as exc:
        open_ticket(agent=world.alice, owner=world.alice)
    assert exc.value.code == "owner_not_eligible" and "owner" in exc.value.fields
    ticket = open_ticket(agent=world.alice)
    with pytest.raises(OwnerNotEligible):
        services.ticket_assign(ticket=ticket, owner=world.alice, actor=world.ops.user)
    # A policy change about her own sale may be hers.
    change = open_ticket(kind="policy_change", agent=world.alice, owner=world.alice)
    assert change.owner == world.alice


def test_an_agent_may_open_a_ticket_for_themselves_but_not_for_others(open_ticket, world):
    mine = open_ticket(actor=world.alice.user, kind="claim_help", owner=world.alice)
    assert mine.owner == world.alice
    with pytest.raises(PermissionDenied):
        open_ticket(actor=world.alice.user, kind="claim_help", owner=world.carol)


# --- Assign --------------------------------------------------------------------------------
def test_assign_changes_the_owner_keeps_the_status_and_is_recorded(open_ticket, world):
    ticket = open_ticket()
    ticket = services.ticket_assign(
        ticket=ticket, owner=world.carol, actor=world.ops.user, note="熟悉该客户"
    )
    assert ticket.owner == world.carol and ticket.status == TicketStatus.OPEN
    event = ticket.events.get(action=TicketAction.ASSIGN)
    assert (event.to_person, event.note) == (world.carol, "熟悉该客户")
    assert AuditEntry.objects.filter(action="tickets.ticket_assign", object_id=str(ticket.pk))


def test_a_team_lead_assigns_within_the_teams_they_lead(open_ticket, world):
    ticket = open_ticket(agent=world.alice)  # about alice: lead_a sees it
    services.ticket_assign(ticket=ticket, owner=world.carol, actor=world.lead_a.user)
    services.ticket_assign(ticket=ticket, owner=world.lead_a, actor=world.lead_a.user)
    with pytest.raises(OwnerNotEligible):
        services.ticket_assign(ticket=ticket, owner=world.bob, actor=world.lead_a.user)
    hidden = open_ticket(agent=world.bob)
    with pytest.raises(NotFound):
        services.ticket_assign(ticket=hidden, owner=world.lead_a, actor=world.lead_a.user)


def test_agents_cannot_assign(open_ticket, world):
    ticket = open_ticket(actor=world.alice.user)
    with pytest.raises(PermissionDenied):
        services.ticket_assign(ticket=ticket, owner=world.alice, actor=world.alice.user)


def test_assign_refuses_the_same_owner_and_people_who_cannot_hold_tickets(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    with pytest.raises(OwnerNotEligible):
        services.ticket_assign(ticket=ticket, owner=world.ops, actor=world.ops.user)
    with pytest.raises(OwnerNotEligible):
        services.ticket_assign(ticket=ticket, owner=world.hr, actor=world.ops.user)
    world.carol.status = PersonStatus.SUSPENDED
    world.carol.save()
    with pytest.raises(OwnerNotEligible):
        services.ticket_assign(ticket=ticket, owner=world.carol, actor=world.ops.user)


def test_a_resolved_ticket_cannot_be_assigned(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="已致歉")
    with pytest.raises(TicketWrongStatus) as exc:
        services.ticket_assign(ticket=ticket, owner=world.carol, actor=world.ops.user)
    assert exc.value.code == "ticket_wrong_status"


# --- Respond, resolve, close, reopen -------------------------------------------------------
def test_the_first_reply_is_the_first_response_and_sets_the_status(open_ticket, world):
    ticket = open_ticket(owner=world.ops, opened_at=timezone.now() - dt.timedelta(hours=3))
    ticket = services.ticket_respond(ticket=ticket, actor=world.ops.user, note="已回电")
    first = ticket.first_response_at
    assert ticket.status == TicketStatus.IN_PROGRESS and first is not None
    assert abs(ticket.first_response_time - dt.timedelta(hours=3)) < dt.timedelta(minutes=1)
    assert ticket.response_met is True
    ticket = services.ticket_respond(
        ticket=ticket, actor=world.ops.user, note="等客户补材料", waiting_customer=True
    )
    assert ticket.status == TicketStatus.WAITING_CUSTOMER
    ticket = services.ticket_respond(ticket=ticket, actor=world.ops.user, note="客户已补充")
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert ticket.first_response_at == first
    events = ticket.events.filter(action=TicketAction.RESPOND).order_by("id")
    assert [(e.from_status, e.to_status) for e in events] == [
        ("open", "in_progress"),
        ("in_progress", "waiting_customer"),
        ("waiting_customer", "in_progress"),
    ]
    assert AuditEntry.objects.filter(action="tickets.ticket_respond").count() == 3


def test_replying_or_resolving_needs_an_owner(open_ticket, world):
    ticket = open_ticket()
    with pytest.raises(TicketNotAssigned) as exc:
        services.ticket_respond(ticket=ticket, actor=world.ops.user, note="已回电")
    assert exc.value.code == "ticket_not_assigned"
    with pytest.raises(TicketNotAssigned):
        services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="已处理")


def test_a_reply_and_a_resolution_need_text(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    for bad in ("", "  ", "a\x00", "x" * 2001):
        with pytest.raises(ValidationFailed) as exc:
            services.ticket_respond(ticket=ticket, actor=world.ops.user, note=bad)
        assert "note" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="")
    assert "resolution" in exc.value.fields
    with pytest.raises(ValidationFailed):
        services.ticket_reopen(ticket=ticket, actor=world.ops.user, reason="")
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.OPEN and actions(ticket) == ["open"]


def test_resolving_an_unanswered_ticket_counts_as_its_first_response(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    ticket = services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="当场解决")
    assert ticket.status == TicketStatus.RESOLVED
    assert ticket.resolved_at == ticket.first_response_at
    assert ticket.resolution == "当场解决"
    assert ticket.resolution_met is True


def test_close_only_after_resolving(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    with pytest.raises(TicketWrongStatus):
        services.ticket_close(ticket=ticket, actor=world.ops.user)
    services.ticket_respond(ticket=ticket, actor=world.ops.user, note="处理中")
    with pytest.raises(TicketWrongStatus):
        services.ticket_close(ticket=ticket, actor=world.ops.user)
    services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="已处理")
    ticket = services.ticket_close(ticket=ticket, actor=world.ops.user, note="客户确认")
    assert ticket.status == TicketStatus.CLOSED and ticket.closed_at is not None
    with pytest.raises(TicketWrongStatus) as exc:
        services.ticket_close(ticket=ticket, actor=world.ops.user)
    assert exc.value.code == TicketWrongStatus.code and exc.value.message
    assert actions(ticket) == ["open", "respond", "resolve", "close"]


def test_wrong_status_message_names_the_action_not_a_status(open_ticket, world):
    """ "cannot be resolved" must read 不能解决, not the status word 已解决 a second time."""
    ticket = open_ticket(owner=world.ops)
    services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="已处理")
    with pytest.raises(TicketWrongStatus) as exc:
        services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="再次处理")
    assert exc.value.message == "工单当前状态为已解决，不能解决，请先重新打开"
    with pytest.raises(TicketWrongStatus) as exc:
        services.ticket_respond(ticket=ticket, actor=world.ops.user, note="再联系")
    assert exc.value.message == "工单当前状态为已解决，不能回复，请先重新打开"


@pytest.mark.parametrize("status", ["resolved", "closed"])
def test_nothing_but_reopen_works_on_a_resolved_or_closed_ticket(open_ticket, world, status):
    ticket = open_ticket(owner=world.ops)
    services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="已处理")
    if status == "closed":
        services.ticket_close(ticket=ticket, actor=world.ops.user)
    with pytest.raises(TicketWrongStatus):
        services.ticket_respond(ticket=ticket, actor=world.ops.user, note="再联系")
    with pytest.raises(TicketWrongStatus):
        services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="再处理")
    ticket = services.ticket_reopen(ticket=ticket, actor=world.ops.user, reason="客户反映仍未解决")
    assert ticket.status == TicketStatus.IN_PROGRESS
    assert (ticket.resolved_at, ticket.closed_at, ticket.resolution) == (None, None, "")
    assert ticket.reopen_count == 1


def test_reopen_gives_a_new_resolution_target_and_restarts_escalation(open_ticket, world):
    opened = timezone.now() - dt.timedelta(days=5)
    ticket = open_ticket(owner=world.alice, kind="claim_help", opened_at=opened)
    Ticket.objects.filter(pk=ticket.pk).update(escalation_level=1, escalated_at=opened)
    ticket.refresh_from_db()
    services.ticket_resolve(ticket=ticket, actor=world.alice.user, resolution="已赔付")
    before = timezone.now()
    ticket = services.ticket_reopen(ticket=ticket, actor=world.alice.user, reason="赔款有误")
    # claim_help / normal: 96 hours from the reopening.
    assert before + dt.timedelta(hours=96) <= ticket.resolution_due_at
    assert ticket.resolution_due_at <= timezone.now() + dt.timedelta(hours=96)
    assert (ticket.escalation_level, ticket.escalated_at, ticket.escalated_to) == (0, None, None)
    assert ticket.events.filter(action="reopen", note="赔款有误").exists()


def test_reopen_refuses_an_active_ticket(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    with pytest.raises(TicketWrongStatus):
        services.ticket_reopen(ticket=ticket, actor=world.ops.user, reason="误操作")


def test_reopening_an_unowned_ticket_puts_it_back_in_the_queue(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="已处理")
    Ticket.objects.filter(pk=ticket.pk).update(owner=None)
    ticket.refresh_from_db()
    assert services.ticket_reopen(
        ticket=ticket, actor=world.ops.user, reason="再次来电"
    ).status == (TicketStatus.OPEN)


# --- Who may work a ticket -------------------------------------------------------------------
def test_who_may_work_a_ticket(open_ticket, world):
    ticket = open_ticket(actor=world.carol.user, kind="claim_help", customer=None)
    services.ticket_assign(ticket=ticket, owner=world.alice, actor=world.ops.user)
    # carol opened it (she sees it) but does not own it
    with pytest.raises(PermissionDenied):
        services.ticket_respond(ticket=ticket, actor=world.carol.user, note="我来回复")
    # bob neither sees nor owns it
    with pytest.raises(NotFound):
        services.ticket_respond(ticket=ticket, actor=world.bob.user, note="我来回复")
    # the owner, her team lead and renewal operations may
    services.ticket_respond(ticket=ticket, actor=world.alice.user, note="已联系")
    services.ticket_respond(ticket=ticket, actor=world.lead_a.user, note="组长跟进")
    services.ticket_resolve(ticket=ticket, actor=world.ops.user, resolution="已处理")
    with pytest.raises(NotFound):
        services.ticket_reopen(ticket=ticket, actor=world.lead_b.user, reason="看看")
    with pytest.raises(NotFound):
        services.ticket_close(ticket=ticket, actor=world.hr.user)


def test_a_refused_write_leaves_no_trace(open_ticket, world):
    ticket = open_ticket(owner=world.ops)
    count = AuditEntry.objects.count()
    with pytest.raises(TicketWrongStatus):
        services.ticket_close(ticket=ticket, actor=world.ops.user)
    with pytest.raises(PermissionDenied):
        services.ticket_assign(ticket=ticket, owner=world.alice, actor=world.alice.user)
    assert AuditEntry.objects.count() == count
    assert actions(ticket) == ["open"]


@pytest.mark.parametrize("status", ["left", "suspended"])
def test_tickets_of_someone_who_stops_working_go_back_to_the_queue(open_ticket, world, status):
    import datetime as dt

    from telesales.org.services import person_update

    active = services.ticket_assign(ticket=open_ticket(), owner=world.carol, actor=world.ops.user)
    done = services.ticket_assign(ticket=open_ticket(), owner=world.carol, actor=world.ops.user)
    services.ticket_respond(ticket=done, actor=world.carol.user, note="已联系客户")
    services.ticket_resolve(ticket=done, actor=world.carol.user, resolution="已解决")

    changes = {"status": status}
    if status == "left":
        changes["left_on"] = max(world.carol.hire_date, dt.date.today())
    person_update(person=world.carol, actor=world.hr.user, **changes)

    active.refresh_from_db()
    done.refresh_from_db()
    assert active.owner is None  # in the unassigned queue
    event = active.events.filter(action=TicketAction.ASSIGN).order_by("-at", "-pk").first()
    assert event.to_person is None and world.carol.name in event.note
    assert AuditEntry.objects.filter(action="tickets.ticket_release", object_id=str(active.pk))
    assert done.owner == world.carol  # a resolved ticket keeps who resolved it
