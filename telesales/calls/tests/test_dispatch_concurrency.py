"""Dispatch under concurrency, on PostgreSQL (SKIP LOCKED): 32 agents, each in its own
thread with its own database connection and real transactions, take "next lead" until
nothing is left. No lead may go to two agents, and none may be lost.

SQLite serialises write transactions (``BEGIN IMMEDIATE``), so the race cannot happen there;
the test runs only on PostgreSQL (``DATABASE_URL=postgresql://…``)."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections

from telesales.calls import services
from telesales.calls.dispatch import next_lead
from telesales.calls.errors import NothingToDispatch
from telesales.calls.models import Disposition, Handout
from telesales.calls.tests.conftest import shanghai
from telesales.calls.tests.factories import (
    CallRuleSetFactory,
    LeadFactory,
    LeadRuleSetFactory,
    TeamFactory,
    owned_lead,
    registered_agent,
)
from telesales.leads.choices import LeadAction, LeadGrade, LeadState
from telesales.leads.models import Lead, LeadEvent

WORKERS = 32
LEADS = 192
NOON = shanghai(2026, 6, 1, 12, 0)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (SELECT … FOR UPDATE SKIP LOCKED); SQLite serialises writes",
    ),
]


#: The whole run must end within this many seconds (minutes of margin on a loaded machine).
DEADLINE_S = 480


def _end_stuck_sessions() -> None:
    """End the other sessions on the test database, so a stuck worker's locks cannot hang the
    test's teardown too (the test then fails instead of hanging the suite)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _run_threads(target, args_list):
    barrier = threading.Barrier(len(args_list))
    errors: list[BaseException] = []

    def wrapped(*args):
        try:
            barrier.wait(timeout=60)
            target(*args)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrapped, args=a, daemon=True) for a in args_list]
    for t in threads:
        t.start()
    deadline = time.monotonic() + DEADLINE_S
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    stuck = sum(1 for t in threads if t.is_alive())
    if stuck:
        _end_stuck_sessions()
    assert not stuck, f"{stuck} workers did not finish within {DEADLINE_S} s"
    assert not errors, errors


def test_32_agents_never_get_the_same_lead_and_none_is_lost():
    CallRuleSetFactory(min_minutes_between_attempts=30)
    LeadRuleSetFactory(daily_claim_limit=100, default_private_cap=1000)
    teams = [TeamFactory() for _ in range(4)]
    agents = [registered_agent(team=teams[i % 4]) for i in range(WORKERS)]
    grades = [LeadGrade.A, LeadGrade.B, LeadGrade.C, LeadGrade.D]
    leads = [LeadFactory(grade=grades[i % 4]) for i in range(LEADS)]
    got: dict[int, list[tuple[int, str]]] = {a.pk: [] for a in agents}
    no_answer = Disposition.objects.get(code="no_answer")

    def work(agent):
        while True:
            try:
                d = next_lead(agent=agent, actor=agent.user, at=NOON)
            except NothingToDispatch as exc:
                codes = {r["code"] for r in exc.details["reasons"]}
                if "pool_busy" in codes:
                    continue
                return
            got[agent.pk].append((d.lead.pk, d.source))
            # Dial it, hang up, record "no answer": the lead is now in cool-down, so the next
            # ask moves on (dispatch refuses while a call has no outcome).
            attempt = services.call_start(lead=d.lead, agent=agent, actor=agent.user, at=NOON)
            services.call_end(attempt=attempt, actor=agent.user, at=NOON)
            services.disposition_record(
                attempt=attempt, disposition=no_answer, actor=agent.user, at=NOON
            )

    _run_threads(work, [(a,) for a in agents])

    handed = [lead_id for rows in got.values() for lead_id, _src in rows]
    counts = Counter(handed)
    doubles = {lead_id: n for lead_id, n in counts.items() if n > 1}
    assert doubles == {}, f"leads handed out twice: {doubles}"
    assert set(handed) == {lead.pk for lead in leads}, "a lead was lost"
    # The database agrees: one claim per lead, owned by the agent who got it.
    claims = Counter(
        LeadEvent.objects.filter(action=LeadAction.CLAIM).values_list("lead_id", flat=True)
    )
    assert set(claims.values()) == {1} and len(claims) == LEADS
    owner = dict(Lead.objects.values_list("pk", "owner_id"))
    for agent_id, rows in got.items():
        for lead_id, source in rows:
            assert source == "public"
            assert owner[lead_id] == agent_id
    assert Handout.objects.count() == LEADS
    assert Lead.objects.filter(state=LeadState.PUBLIC).count() == 0
    # The work was shared, not done by a few.
    assert sum(1 for rows in got.values() if rows) >= WORKERS // 2


def test_a_double_click_hands_out_one_lead():
    CallRuleSetFactory()
    agent = registered_agent()
    owned_lead(agent, grade=LeadGrade.A)
    owned_lead(agent, grade=LeadGrade.B)
    LeadFactory()
    seen: list[int] = []
    lock = threading.Lock()

    def click():
        d = next_lead(agent=agent, actor=agent.user, at=NOON)
        with lock:
            seen.append(d.lead.pk)

    _run_threads(click, [() for _ in range(8)])
    assert len(set(seen)) == 1
    assert Handout.objects.count() == 1
    assert Lead.objects.filter(state=LeadState.PUBLIC).count() == 1
