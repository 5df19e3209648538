"""The demo center's tickets, and the masking crawl: no ticket page or API answer, for any
role, holds a customer's full phone number (or anything that looks like one)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from telesales.core.phone_numbers import PHONE_LIKE
from telesales.core.tests.api_helpers import JsonClient
from telesales.leads.models import Customer
from telesales.tickets import selectors
from telesales.tickets.choices import ACTIVE_STATUSES, TicketAction, TicketStatus
from telesales.tickets.demo import seed_tickets_demo
from telesales.tickets.models import Ticket, TicketEvent

pytestmark = pytest.mark.django_db
NATIONAL_MOBILE = re.compile(r"(?=(1[3-9]\d{9}))")
LINK = re.compile(r"""(?:href|hx-get)\s*=\s*["'](/tickets/[^"'#]*)["']""")


def test_the_demo_has_tickets_of_every_kind_and_state(tickets_demo):
    tickets = list(Ticket.objects.all())
    assert len(tickets) >= 40
    assert {t.kind for t in tickets} == {
        "complaint",
        "policy_change",
        "claim_help",
        "cancellation_request",
        "other",
    }
    statuses = {t.status for t in tickets}
    assert {TicketStatus.CLOSED, TicketStatus.RESOLVED} <= statuses
    assert statuses & set(ACTIVE_STATUSES)
    now = timezone.now()
    assert any(t.is_overdue(now) for t in tickets), "some demo tickets are overdue"
    assert any(t.escalation_level == 1 for t in tickets) and any(
        t.escalation_level == 2 for t in tickets
    )
    assert any(t.channel == "regulator" and t.external_ref for t in tickets)
    assert any(t.response_met is False for t in tickets) and any(t.response_met for t in tickets)
    oldest = min(t.opened_at for t in tickets)
    assert (now - oldest).days > 90  # spread over recent months
    for t in tickets:
        events = list(t.events.order_by("at", "id"))
        assert events[0].action == TicketAction.OPEN
        if t.resolved_at:
            assert t.first_response_at and t.first_response_at <= t.resolved_at
            assert any(e.action == TicketAction.RESOLVE for e in events)
        if t.escalation_level:
            assert any(e.action == TicketAction.ESCALATE for e in events)
        assert t.number.startswith("KF")
        if t.kind == "complaint" and t.agent_id:
            assert t.owner_id != t.agent_id
    # a second run changes nothing
    assert seed_tickets_demo(agents=12) == {"created": False}
    assert Ticket.objects.count() == len(tickets)


def test_the_escalation_task_finds_nothing_the_demo_forgot(tickets_demo):
    """The demo escalated what the periodic task would have escalated."""
    from telesales.tickets.escalation import tickets_escalate

    before = TicketEvent.objects.filter(action=TicketAction.ESCALATE).count()
    counts = tickets_escalate()
    # Only tickets whose manager delay ran out in the last minutes may still move.
    assert counts["team_lead"] == 0
    assert TicketEvent.objects.filter(action=TicketAction.ESCALATE).count() - before <= 2


# --- The masking crawl ----------------------------------------------------------------------
def leaks(text: str, secrets: set[str]) -> list[str]:
    found = sorted({m for m in NATIONAL_MOBILE.findall(text) if m in secrets})
    found += [f"PHONE_LIKE:{m.group(0)}" for m in PHONE_LIKE.finditer(text)]
    return found


@pytest.mark.parametrize("username", ["renewal", "manager", "teamlead1", "agent1"])
def test_no_ticket_page_or_answer_holds_a_full_phone_number(tickets_demo, username):
    secrets = {e164[3:] for e164 in Customer.objects.values_list("mobile_e164", flat=True)}
    typed = Ticket.objects.filter(description__contains="新号码").first()
    assert typed is not None and NATIONAL_MOBILE.search(typed.description)
    secrets |= set(NATIONAL_MOBILE.findall(typed.description))
    user = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(user)
    api = JsonClient()
    api.force_login(user)
    visible = list(selectors.ticket_list(user=user, status="all").values_list("pk", flat=True))
    urls = [
        "/tickets/queue/",
        "/tickets/queue/?status=all",
        "/tickets/queue/?status=all&page=2",
        "/tickets/queue/?queue=overdue",
        "/tickets/queue/?queue=escalated&status=all",
        f"/tickets/queue/?q={sorted(secrets)[0]}",
        "/tickets/queue/new/",
        f"/tickets/customers/?q={sorted(secrets)[0]}",
        "/tickets/customers/?q=王",
        "/tickets/sla/",
        "/tickets/targets/",
        "/tickets/targets/new/",
        f"/tickets/{typed.pk}/",
        *[f"/tickets/{pk}/" for pk in visible],
    ]
    problems, statuses = [], {}
    seen = set()
    while urls:
        url = urls.pop(0)
        if url in seen or len(seen) > 400:
            continue
        seen.add(url)
        for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(url, **extra)
            statuses[url] = response.status_code
            text = response.content.decode()
            if response.status_code >= 500 or leaks(text, secrets):
                problems.append((url, response.status_code, leaks(text, secrets)[:3]))
            if response.status_code == 200 and not extra:
                urls.extend(u.replace("&amp;", "&") for u in LINK.findall(text))
    for url in (
        "/api/v1/tickets/tickets?status=all&limit=500",
        f"/api/v1/tickets/tickets?status=all&q={sorted(secrets)[0]}",
        f"/api/v1/tickets/tickets/{typed.pk}",
        "/api/v1/tickets/reports/sla",
        "/api/v1/tickets/reports/complaint-rate",
        "/api/v1/tickets/sla-rules",
        *[f"/api/v1/tickets/tickets/{pk}" for pk in visible],
    ):
        response = api.get(url)
        statuses[url] = response.status_code
        text = response.content.decode()
        if response.status_code >= 500 or leaks(text, secrets):
            problems.append((url, response.status_code, leaks(text, secrets)[:3]))
    assert not problems, problems[:10]
    ok = [u for u, s in statuses.items() if s == 200]
    assert "/tickets/queue/" in ok and len(ok) > 8
    if username in ("renewal", "manager"):
        masked = client.get(f"/tickets/{typed.pk}/").content.decode()
        assert re.search(r"1[3-9]\d\*{4}\d{4}", masked)
        assert statuses[f"/tickets/{typed.pk}/"] == 200
    else:
        assert statuses["/tickets/targets/"] == 403
