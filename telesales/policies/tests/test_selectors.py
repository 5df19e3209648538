"""Reads: who sees which policies and tasks, the stabilisation rate (hand-computed), the live
board's figures, household holdings and the agent's due queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from telesales.core.errors import NotFound
from telesales.leads.choices import LeadState
from telesales.policies import selectors, services
from telesales.policies.choices import CancelReason, PolicyStatus, TaskKind
from telesales.policies.tests.factories import CustomerFactory, LeadFactory

pytestmark = pytest.mark.django_db


def ago(days: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days)


@pytest.fixture
def bob_lead(world):
    return LeadFactory(
        customer=CustomerFactory(name="赵六"), owner=world.bob, state=LeadState.OWNED
    )


def bob_sells(world, sell, lead, **kw):
    return sell(
        lead=lead, agent=world.bob, actor=world.bob.user, insured_ids=[lead.customer_id], **kw
    )


# --- Visibility --------------------------------------------------------------------------
def test_who_sees_which_policy(world, sell, bob_lead):
    mine = sell()
    bobs = bob_sells(world, sell, bob_lead)
    seen = {
        person: set(selectors.policy_list(user=person.user).values_list("pk", flat=True))
        for person in (
            world.alice,
            world.bob,
            world.lead_a,
            world.lead_b,
            world.manager,
            world.renewal,
            world.planner,
            world.hr,
            world.trainee,
        )
    }
    assert seen[world.alice] == {mine.pk}
    assert seen[world.bob] == {bobs.pk}
    assert seen[world.lead_a] == {mine.pk}
    assert seen[world.lead_b] == {bobs.pk}
    assert seen[world.manager] == seen[world.renewal] == seen[world.planner] == {mine.pk, bobs.pk}
    assert seen[world.hr] == seen[world.trainee] == set()


def test_an_agent_cannot_open_another_agents_policy(world, sell, bob_lead):
    bobs = bob_sells(world, sell, bob_lead)
    with pytest.raises(NotFound):
        selectors.policy_get(user=world.alice.user, policy_id=bobs.pk)
    with pytest.raises(NotFound):
        selectors.policy_get(user=world.lead_a.user, policy_id=bobs.pk)
    assert selectors.policy_get(user=world.bob.user, policy_id=bobs.pk) == bobs


def test_a_team_lead_keeps_seeing_a_sale_credited_to_their_team(world, sell):
    policy = sell()
    world.alice.team = world.team_b  # moved after the sale
    world.alice.save()
    assert selectors.policy_get(user=world.lead_a.user, policy_id=policy.pk) == policy
    assert selectors.policy_get(user=world.lead_b.user, policy_id=policy.pk) == policy


def test_tasks_are_scoped_like_policies(world, sell, bob_lead):
    services.policy_issue(policy=sell(), actor=world.renewal.user)
    services.policy_issue(policy=bob_sells(world, sell, bob_lead), actor=world.renewal.user)
    agents = {
        p.username if hasattr(p, "username") else p: set(
            selectors.service_task_list(user=p.user).values_list("agent__name", flat=True)
        )
        for p in (world.alice, world.bob, world.lead_a, world.manager, world.hr)
    }
    assert agents[world.alice] == {"alice"}
    assert agents[world.bob] == {"bob"}
    assert agents[world.lead_a] == {"alice"}
    assert agents[world.manager] == {"alice", "bob"}
    assert agents[world.hr] == set()
    task = selectors.service_task_list(user=world.bob.user).first()
    with pytest.raises(NotFound):
        selectors.service_task_get(user=world.alice.user, task_id=task.pk)


def test_the_due_queue_holds_open_tasks_due_by_then(world, sell):
    policy = services.policy_issue(
        policy=sell(at=ago(3)), issued_at=ago(2), actor=world.renewal.user
    )
    due = selectors.service_task_due_list(user=world.alice.user, agent=world.alice)
    assert [t.kind for t in due] == [TaskKind.WELCOME_CALL]  # day 1 has come; the rest later
    later = selectors.service_task_due_list(
        user=world.alice.user, agent=world.alice, until=timezone.now() + dt.timedelta(days=30)
    )
    assert {t.kind for t in later} == set(TaskKind.values)
    assert [t.due_at for t in later] == sorted(t.due_at for t in later)
    assert not selectors.service_task_due_list(user=world.bob.user, agent=world.alice)
    assert policy.pk in {t.policy_id for t in later}


def test_products_are_for_sales_and_the_back_office(world):
    assert selectors.product_list(user=world.alice.user).count() == 5
    assert selectors.product_list(user=world.hr.user).count() == 0
    with pytest.raises(NotFound):
        selectors.product_get(user=world.hr.user, product_id=world.products["ci"].pk)


# --- Stabilisation rate ----------------------------------------------------------------------
def _policy(world, sell, *, lead=None, agent=None, outcome: str, issued_days_ago: int = 25):
    agent = agent or world.alice
    kw = {}
    if lead is not None:
        kw = {"lead": lead, "agent": agent, "actor": agent.user, "insured_ids": [lead.customer_id]}
    policy = sell(at=ago(issued_days_ago + 1), **kw)
    policy = services.policy_issue(
        policy=policy, issued_at=ago(issued_days_ago), actor=world.renewal.user
    )
    if outcome == "pending":
        return policy
    if outcome == "cancelled":
        return services.policy_free_look_cancel(
            policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
        )
    back = issued_days_ago - 1 if outcome == "kept" else 2
    receipt = timezone.localdate() - dt.timedelta(days=back)
    policy = services.policy_receipt_confirm(
        policy=policy, receipt_date=receipt, actor=world.renewal.user
    )
    if outcome == "kept":
        services.policies_free_look_close()
    return policy


def test_stabilisation_rate_by_agent_and_team_hand_computed(world, sell, bob_lead):
    # alice: 2 kept, 1 cancelled, 1 still in the window, 1 pending receipt → 2 ÷ 3 settled
    for outcome in ("kept", "kept", "cancelled", "receipt", "pending"):
        _policy(world, sell, outcome=outcome)
    _policy(world, sell, outcome="kept", issued_days_ago=80)  # outside the period
    sell()  # applied, never issued: not in any cohort
    # bob: 1 kept, 1 cancelled → 1 ÷ 2
    for outcome in ("kept", "cancelled"):
        _policy(world, sell, lead=bob_lead, agent=world.bob, outcome=outcome)
    since = timezone.localdate() - dt.timedelta(days=60)
    until = timezone.localdate()
    rows = {
        r["name"]: r
        for r in selectors.stabilisation_rate(
            user=world.manager.user, by="agent", since=since, until=until
        )
    }
    a = rows["alice"]
    assert (a["issued"], a["kept"], a["cancelled"], a["pending"]) == (5, 2, 1, 2)
    assert (a["numerator"], a["denominator"], a["rate"]) == (2, 3, 0.6667)
    assert a["cancel_rate"] == 0.2
    b = rows["bob"]
    assert (b["numerator"], b["denominator"], b["rate"], b["cancel_rate"]) == (1, 2, 0.5, 0.5)
    teams = {
        r["name"]: r["rate"]
        for r in selectors.stabilisation_rate(
            user=world.planner.user, by="team", since=since, until=until
        )
    }
    assert teams == {"A组": 0.6667, "B组": 0.5}
    total = selectors.stabilisation_total(list(rows.values()))
    assert (total["numerator"], total["denominator"], total["rate"]) == (3, 5, 0.6)
    assert total["issued"] == 7 and total["pending"] == 2
    # Scoped: a team lead sees their team, an agent themselves, HR nothing.
    assert [
        r["name"]
        for r in selectors.stabilisation_rate(
            user=world.lead_b.user, by="agent", since=since, until=until
        )
    ] == ["bob"]
    assert [
        r["name"]
        for r in selectors.stabilisation_rate(
            user=world.alice.user, by="team", since=since, until=until
        )
    ] == ["A组"]
    assert (
        selectors.stabilisation_rate(user=world.hr.user, by="agent", since=since, until=until) == []
    )
    reasons = selectors.free_look_cancel_reasons(user=world.manager.user, since=since, until=until)
    assert reasons == [{"cancel_reason": "changed_mind", "n": 2}]


def test_a_cohort_with_nothing_settled_has_no_rate(world, sell):
    _policy(world, sell, outcome="pending", issued_days_ago=1)
    today = timezone.localdate()
    (row,) = selectors.stabilisation_rate(
        user=world.manager.user, by="agent", since=today - dt.timedelta(days=5), until=today
    )
    assert row["rate"] is None and row["denominator"] == 0 and row["cancel_rate"] == 0.0


def test_stabilisation_rate_refuses_an_unknown_grouping(world):
    with pytest.raises(ValueError):
        selectors.stabilisation_rate(
            user=world.manager.user,
            by="center",
            since=dt.date(2026, 1, 1),
            until=dt.date(2026, 2, 1),
        )


# --- Live board, holdings -------------------------------------------------------------------
def test_policies_summary_for_day(world, sell, bob_lead):
    sell(annualised_premium="1200")
    sell(product=world.products["medical"], annualised_premium="300.50")
    sell(at=ago(1))  # yesterday
    cancelled = sell(annualised_premium="999")
    services.policy_issue(policy=cancelled, actor=world.renewal.user)
    services.policy_free_look_cancel(
        policy=cancelled, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
    )
    summary = selectors.policies_summary_for_day(
        agent_ids=[world.alice.pk, world.bob.pk], day=timezone.localdate()
    )
    assert summary == {
        world.alice.pk: {"count": 2, "premium": Decimal("1500.50")},
        world.bob.pk: {"count": 0, "premium": Decimal("0.00")},
    }


def test_household_holdings(world, sell):
    held = sell(insured_ids=[world.child.pk])
    by_spouse = sell(
        holder_id=world.spouse.pk,
        insured_ids=[world.spouse.pk],
        product=world.products["medical"],
        annualised_premium="300",
    )
    cancelled = sell(product=world.products["medical"], annualised_premium="400")
    services.policy_issue(policy=cancelled, actor=world.renewal.user)
    services.policy_free_look_cancel(
        policy=cancelled, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
    )
    ids = {p.pk for p in selectors.household_holdings(customer=world.grandpa)}
    assert ids == {held.pk, by_spouse.pk}
    assert not selectors.household_holdings(customer=world.stranger).exists()


# --- Query ceilings ----------------------------------------------------------------------------
def test_lists_do_not_grow_queries_with_rows(world, sell):
    for _ in range(6):
        services.policy_issue(policy=sell(), actor=world.renewal.user)
    with CaptureQueriesContext(connection) as q:
        rows = list(selectors.policy_list(user=world.lead_a.user))
        names = [(p.holder.name, p.agent.name, p.product.name, p.team.name) for p in rows]
    assert len(names) == 6 and len(q.captured_queries) <= 4
    with CaptureQueriesContext(connection) as q:
        tasks = list(selectors.service_task_list(user=world.alice.user))
        _ = [(t.customer.name, t.policy.product.name, t.agent.name) for t in tasks]
    assert len(tasks) > 12 and len(q.captured_queries) <= 4
    assert PolicyStatus.ISSUED in {p.status for p in rows}


def test_policy_numbers_reads_any_number_of_ids_in_chunks(world, sell):
    first, second = sell(), sell(annualised_premium=Decimal("2400.00"))
    # More ids than one query may carry on SQLite's oldest limit (999) and than one chunk,
    # most of them naming no policy, the two real ones at the far end.
    ids = [*range(10_000_000, 10_012_000), first.pk, second.pk]
    assert selectors.policy_numbers(ids) == {
        first.pk: (first.number, world.alice.pk),
        second.pk: (second.number, world.alice.pk),
    }
    assert selectors.policy_numbers([]) == {}
