"""A new ticket submitted twice (a double click, a reload after the POST, an API request
retried) opens one ticket; the second submission leads to the first (``DuplicateTicket``,
409, ``details.ticket``). Another subject, another customer, another person or a submission
after ``duplicate_window()`` is a new ticket."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from telesales.core.models import AuditEntry
from telesales.core.tests.api_helpers import assert_error_shape
from telesales.core.tests.concurrency_helpers import at_once
from telesales.tickets import services
from telesales.tickets.errors import DuplicateTicket
from telesales.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def _form(world, **kw):
    data = {
        "kind": "complaint",
        "channel": "phone",
        "priority": "normal",
        "subject": "客户投诉频繁来电",
        "description": "客户称一周内接到三次来电。",
        "customer": world.holder.pk,
        "owner": world.ops.pk,
    }
    data.update(kw)
    return data


def test_the_form_posted_twice_opens_one_ticket_and_shows_the_first(page_for, world):
    client = page_for(world.ops)
    first = client.post("/tickets/queue/new/", _form(world))
    assert first.status_code == 302
    ticket = Ticket.objects.get()
    again = client.post("/tickets/queue/new/", _form(world), follow=True)
    assert Ticket.objects.count() == 1
    assert again.redirect_chain == [(f"/tickets/{ticket.pk}/", 302)]
    shown = [str(m) for m in again.context["messages"]]
    assert any(ticket.number in m and "已" in m for m in shown), shown
    assert TicketEvent.objects.count() == 1
    assert AuditEntry.objects.filter(action="tickets.ticket_open").count() == 1


def test_a_backdated_letter_entered_twice_is_one_ticket(page_for, world):
    at = timezone.localtime(timezone.now() - dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")
    client = page_for(world.ops)
    client.post("/tickets/queue/new/", _form(world, opened_at=at, channel="insurer"))
    client.post("/tickets/queue/new/", _form(world, opened_at=at, channel="insurer"))
    assert Ticket.objects.count() == 1
    # the same letter received at another time is another ticket
    other = timezone.localtime(timezone.now() - dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post("/tickets/queue/new/", _form(world, opened_at=other, channel="insurer"))
    assert Ticket.objects.count() == 2


def test_the_api_retried_answers_409_naming_the_first_ticket(api_for, world):
    api = api_for(world.ops)
    body = {"kind": "complaint", "channel": "phone", "subject": "客户投诉", "description": "详情"}
    first = api.post_json("/api/v1/tickets/tickets", body)
    assert first.status_code == 201
    again = api.post_json("/api/v1/tickets/tickets", body)
    assert_error_shape(again, 409, "duplicate_ticket")
    details = again.json()["details"]
    assert details == {"ticket": first.json()["id"], "number": first.json()["number"]}
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "另一件事"},
        {"customer": "other"},
        {"kind": "policy_change"},
        {"actor": "lead_a"},
    ],
)
def test_a_different_ticket_is_not_a_duplicate(world, open_ticket, change):
    open_ticket(owner=world.lead_a)
    kw = {"owner": world.lead_a}
    if "actor" in change:
        kw["actor"] = world.lead_a.user
    elif change.get("customer"):
        kw["customer"] = world.other
    else:
        kw.update(change)
    open_ticket(**kw)
    assert Ticket.objects.count() == 2


def test_the_same_content_after_the_window_is_a_new_ticket(world, open_ticket):
    first = open_ticket()
    Ticket.objects.filter(pk=first.pk).update(
        created_at=timezone.now() - services.duplicate_window() - dt.timedelta(seconds=1)
    )
    open_ticket()
    assert Ticket.objects.count() == 2


def test_the_service_refuses_the_second_and_writes_nothing(world, open_ticket):
    first = open_ticket()
    with pytest.raises(DuplicateTicket) as err:
        open_ticket()
    assert err.value.details == {"ticket": first.pk, "number": first.number}
    assert Ticket.objects.count() == 1 and TicketEvent.objects.count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real concurrency: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_once_open_one_ticket(world):
    from telesales.tickets.rules import default_ruleset_ensure

    default_ruleset_ensure()
    barrier = threading.Barrier(2)

    def submit():
        barrier.wait(timeout=10)
        return services.ticket_open(
            actor=world.ops.user,
            kind="complaint",
            channel="phone",
            subject="同时提交",
            customer=world.holder,
        )

    outcomes = at_once(submit, submit, timeout=30)
    assert [isinstance(o, Ticket) for o in outcomes].count(True) == 1, outcomes
    assert [isinstance(o, DuplicateTicket) for o in outcomes].count(True) == 1, outcomes
    assert Ticket.objects.filter(subject="同时提交").count() == 1


def test_the_window_is_a_setting(settings):
    settings.TELESALES_TICKET_DUPLICATE_MINUTES = 30
    assert services.duplicate_window() == dt.timedelta(minutes=30)
