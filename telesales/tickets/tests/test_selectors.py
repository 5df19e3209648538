"""Reads: who sees which ticket, the queue filters, SLA attainment and the complaint rate per
1,000 policies, computed by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from telesales.core.errors import NotFound
from telesales.tickets import selectors
from telesales.tickets.choices import TicketStatus
from telesales.tickets.tests.factories import PolicyFactory, TicketFactory

pytestmark = pytest.mark.django_db


def local(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=ZoneInfo(settings.TIME_ZONE))


# --- Visibility ----------------------------------------------------------------------------
@pytest.fixture
def scoped(world):
    """t_alice: owned by alice; t_about_bob: about bob, owned by ops; t_about_alice: a
    complaint about alice owned by ops; t_by_carol: opened by carol, nobody owns it;
    t_lead_b: owned by lead_b; t_escalated: owned by ops, escalated to lead_b."""
    return {
        "t_alice": TicketFactory(owner=world.alice, kind="claim_help"),
        "t_about_bob": TicketFactory(agent=world.bob, owner=world.ops),
        "t_about_alice": TicketFactory(agent=world.alice, owner=world.ops),
        "t_by_carol": TicketFactory(created_by=world.carol.user, kind="other"),
        "t_lead_b": TicketFactory(owner=world.lead_b, kind="other"),
        "t_escalated": TicketFactory(
            owner=world.ops, escalated_to=world.lead_b, escalation_level=1
        ),
    }


EXPECTED = {
    "ops": {"t_alice", "t_about_bob", "t_about_alice", "t_by_carol", "t_lead_b", "t_escalated"},
    "boss": {"t_alice", "t_about_bob", "t_about_alice", "t_by_carol", "t_lead_b", "t_escalated"},
    "lead_a": {"t_alice", "t_about_alice"},
    "lead_b": {"t_about_bob", "t_lead_b", "t_escalated"},
    "alice": {"t_alice"},
    "carol": {"t_by_carol"},
    "bob": set(),
    "hr": set(),
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_role_sees_exactly_its_tickets(world, scoped, who):
    user = getattr(world, who).user
    names = {v.pk: k for k, v in scoped.items()}
    seen = {names[t.pk] for t in selectors.ticket_list(user=user, status="all")}
    assert seen == EXPECTED[who]
    for name, ticket in scoped.items():
        if name in EXPECTED[who]:
            assert selectors.ticket_get(user=user, ticket_id=ticket.pk) == ticket
        else:
            with pytest.raises(NotFound):
                selectors.ticket_get(user=user, ticket_id=ticket.pk)


def test_the_queue_filters_and_orders_most_urgent_first(world):
    now = timezone.now()
    late = TicketFactory(owner=world.ops, hours_ago=100)  # both targets missed
    soon = TicketFactory(owner=None, hours_ago=70, first_response_at=now - dt.timedelta(hours=69))
    fresh = TicketFactory(owner=world.ops, hours_ago=1, priority="high")
    done = TicketFactory(
        owner=world.ops,
        hours_ago=200,
        status=TicketStatus.CLOSED,
        resolved_at=now - dt.timedelta(hours=150),
        closed_at=now - dt.timedelta(hours=140),
    )
    user = world.ops.user
    assert list(selectors.ticket_list(user=user)) == [late, soon, fresh]
    assert list(selectors.ticket_list(user=user, status="all"))[-1] == done
    assert [t.overdue for t in selectors.ticket_list(user=user)] == [True, False, False]
    assert list(selectors.ticket_list(user=user, overdue=True)) == [late]
    assert list(selectors.ticket_list(user=user, unassigned=True)) == [soon]
    assert list(selectors.ticket_list(user=user, mine=True)) == [late, fresh]
    assert list(selectors.ticket_list(user=user, priority="high")) == [fresh]
    assert list(selectors.ticket_list(user=user, search=late.number)) == [late]
    counts = selectors.ticket_counts(user=user)
    assert counts == {"active": 3, "unassigned": 1, "overdue": 1, "escalated": 0}


def test_the_overdue_flag_is_strictly_after_the_due_time(world):
    ticket = TicketFactory(owner=world.ops, hours_ago=8)
    due = ticket.response_due_at
    rows = lambda at: [t.overdue for t in selectors.ticket_list(user=world.ops.user, now=at)]  # noqa: E731
    assert rows(due) == [False]
    assert rows(due + dt.timedelta(minutes=1)) == [True]


def test_customers_an_agent_may_attach(world):
    alice = world.alice.user
    assert [c.pk for c in selectors.customer_search(user=alice, q="张")] == [world.holder.pk]
    assert selectors.customer_search(user=alice, q="李娜") == []
    assert selectors.customer_search(user=world.ops.user, q="李娜") == [world.other]
    number = world.other.mobile_e164[3:]
    assert selectors.customer_search(user=world.ops.user, q=number) == [world.other]
    spaced = f"{number[:3]} {number[3:7]} {number[7:]}"
    assert selectors.customer_search(user=world.ops.user, q=spaced) == [world.other]
    assert selectors.customer_search(user=alice, q=number) == []
    assert selectors.customer_search(user=world.hr.user, q="张") == []
    assert selectors.customer_search(user=world.ops.user, q=f"#{world.holder.pk}") == [world.holder]


# --- SLA figures ---------------------------------------------------------------------------
def test_sla_figures_by_hand(world):
    """Four complaints opened on 1 October (8 h / 72 h targets), looked at on 10 October:

    A: answered after 2 h, resolved after 10 h           → response met, resolution met
    B: answered after 9 h, resolved after 80 h           → response missed, resolution missed
    C: answered after 1 h, still open (72 h passed)      → response met, resolution missed
    D: opened 9 October 20:00, nothing yet (8 h passed)  → response missed, resolution pending
    """
    day = local(2026, 10, 1, 9, 0)
    hours = dt.timedelta(hours=1)
    kw = {"owner": world.ops}
    TicketFactory(
        opened_at=day,
        first_response_at=day + 2 * hours,
        resolved_at=day + 10 * hours,
        status=TicketStatus.RESOLVED,
        **kw,
    )
    TicketFactory(
        opened_at=day,
        first_response_at=day + 9 * hours,
        resolved_at=day + 80 * hours,
        status=TicketStatus.CLOSED,
        closed_at=day + 90 * hours,
        **kw,
    )
    TicketFactory(
        opened_at=day,
        first_response_at=day + hours,
        status=TicketStatus.IN_PROGRESS,
        escalation_level=1,
        **kw,
    )
    late = local(2026, 10, 9, 20, 0)
    d = TicketFactory(opened_at=late, **kw)
    d.events.create(at=late, action="escalate")
    TicketFactory(opened_at=local(2026, 9, 30, 23, 0), **kw)  # outside the period
    now = local(2026, 10, 10, 9, 0)
    summary = selectors.sla_summary(
        user=world.ops.user, since=dt.date(2026, 10, 1), until=dt.date(2026, 10, 31), now=now
    )
    total = summary["total"]
    assert total["opened"] == 4 and total["active"] == 2 and total["overdue"] == 2
    assert (total["response_on_time"], total["response_settled"]) == (2, 4)
    assert total["response_attainment"] == 0.5
    assert (total["resolution_on_time"], total["resolution_settled"]) == (1, 3)
    assert total["resolution_attainment"] == 0.3333
    assert total["escalated"] == 1  # D has an escalation in its history
    assert total["avg_response_hours"] == 4.0  # (2 + 9 + 1) / 3
    assert total["median_response_hours"] == 2.0
    assert total["avg_resolution_hours"] == 45.0  # (10 + 80) / 2
    complaint = next(r for r in summary["by_kind"] if r["kind"] == "complaint")
    assert complaint["opened"] == 4
    assert all(r["opened"] == 0 for r in summary["by_kind"] if r["kind"] != "complaint")
    months = selectors.sla_by_month(
        user=world.ops.user, since=dt.date(2026, 9, 1), until=dt.date(2026, 10, 31), now=now
    )
    assert [(m["month"], m["opened"], m["complaints"]) for m in months] == [
        (dt.date(2026, 9, 1), 1, 1),
        (dt.date(2026, 10, 1), 4, 4),
    ]


def test_sla_figures_only_count_what_the_user_sees(world):
    TicketFactory(owner=world.alice)
    TicketFactory(owner=world.bob)
    today = timezone.localdate()
    since = today - dt.timedelta(days=3)
    lead_a = selectors.sla_summary(user=world.lead_a.user, since=since, until=today)
    assert lead_a["total"]["opened"] == 1
    assert (
        selectors.sla_summary(user=world.alice.user, since=since, until=today)["total"]["opened"]
        == 0
    )  # agents have no SLA report


# --- Complaint rate ------------------------------------------------------------------------
def test_complaint_rate_per_thousand_policies_by_hand(world):
    """October 2026. Policies in force at some time in the month (issued by 31 October, not
    cancelled before 1 October, term not ended before 1 October):

    P1 issued 15 Sep 2026, 1 year                  → in force
    P2 issued 20 Oct 2026, 1 year                  → in force (and issued in the period)
    P3 issued 2 Nov 2026                           → not yet
    P4 issued 30 Sep 2025, 1 year (ended 30 Sep)   → ended before the period
    P5 issued 5 Oct 2025, 1 year (ends 5 Oct 2026) → in force
    P6 issued 1 Aug 2026, cancelled 10 Aug          → cancelled before the period
    P7 issued 20 Sep 2026, cancelled 3 Oct          → in force part of the period
    P8 applied, never issued                       → no
    P9 issued 10 Oct 2016, 20 years                → in force
    (+ the two policies of the world fixture, issued 30 days ago: in November, not counted
    when the clock says so — they are moved to 2027 below.)

    In force: P1 P2 P5 P7 P9 = 5. Complaints opened in October (local time): 3, the regulator's
    included; one at 30 Sep 23:30 and one in November are outside; a policy-change ticket does
    not count. Rate = 3 × 1000 ÷ 5 = 600.00.
    """
    from telesales.policies.models import Policy

    Policy.objects.update(issued_at=local(2027, 1, 1, 10, 0), applied_at=local(2027, 1, 1, 9, 0))

    def policy(issued, *, term=1, cancelled=None, status="issued"):
        return PolicyFactory(
            agent=world.alice,
            issued_at=issued,
            term_years=term,
            cancelled_at=cancelled,
            cancel_reason="changed_mind" if cancelled else "",
            status="cancelled" if cancelled else status,
        )

    policy(local(2026, 9, 15, 10, 0))
    policy(local(2026, 10, 20, 10, 0))
    policy(local(2026, 11, 2, 10, 0))
    policy(local(2025, 9, 30, 10, 0))
    policy(local(2025, 10, 5, 10, 0))
    policy(local(2026, 8, 1, 10, 0), cancelled=local(2026, 8, 10, 10, 0))
    policy(local(2026, 9, 20, 10, 0), cancelled=local(2026, 10, 3, 10, 0))
    PolicyFactory(
        agent=world.alice,
        issued_at=None,
        number="",
        status="applied",
        applied_at=local(2026, 10, 5, 10, 0),
    )
    policy(local(2016, 10, 10, 10, 0), term=20)

    TicketFactory(kind="complaint", opened_at=local(2026, 10, 1, 0, 5))
    TicketFactory(kind="complaint", channel="regulator", opened_at=local(2026, 10, 15, 9, 0))
    TicketFactory(kind="complaint", opened_at=local(2026, 10, 31, 23, 30))
    TicketFactory(kind="complaint", opened_at=local(2026, 9, 30, 23, 30))
    TicketFactory(kind="complaint", opened_at=local(2026, 11, 1, 0, 30))
    TicketFactory(kind="policy_change", opened_at=local(2026, 10, 10, 9, 0))

    rate = selectors.complaint_rate(
        user=world.boss.user, since=dt.date(2026, 10, 1), until=dt.date(2026, 10, 31)
    )
    assert rate["complaints"] == 3
    assert rate["policies_in_force"] == 5
    assert rate["policies_issued"] == 1
    assert rate["rate_per_1000"] == Decimal("600.00")
    assert (
        selectors.complaint_rate(
            user=world.lead_a.user, since=dt.date(2026, 10, 1), until=dt.date(2026, 10, 31)
        )
        is None
    )

    months = selectors.complaint_rate_by_month(
        user=world.ops.user, since=dt.date(2026, 9, 1), until=dt.date(2026, 10, 31)
    )
    assert [(m["month"], m["complaints"], m["policies_in_force"]) for m in months] == [
        # September: P1 P4 (ends 30 Sep) P5 P7 P9 in force; P6 cancelled in August
        (dt.date(2026, 9, 1), 1, 5),
        (dt.date(2026, 10, 1), 3, 5),
    ]
    assert months[0]["rate_per_1000"] == Decimal("200.00")


def test_complaint_rate_without_policies_is_none_not_a_division_by_zero(world):
    from telesales.policies.models import Policy

    Policy.objects.all().delete()
    ticket = TicketFactory(kind="complaint")
    # The ticket's own day: opened an hour ago, it is yesterday's between 00:00 and 01:00.
    day = timezone.localdate(ticket.opened_at)
    rate = selectors.complaint_rate(user=world.ops.user, since=day, until=day)
    assert (rate["complaints"], rate["policies_in_force"], rate["rate_per_1000"]) == (1, 0, None)
