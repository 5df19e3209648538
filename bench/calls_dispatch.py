"""``telesales bench dispatch --agents A --leads N [--json]``: "next lead" under load.

Sets up A registered agents (in teams of ten) and N callable leads in the public pool (grades
A–D), then lets every agent take "next lead", dial and hang up until nothing is left — on
PostgreSQL in A threads at once, each with its own connection (SKIP LOCKED, ADR 0011); on
SQLite one after the other (SQLite serialises writers; its scratch database is in memory).
Reports the dispatches, the time, ``dispatches_per_s``, the latency of one dispatch (p50, p95,
max in ms), ``double_assignments`` and ``lost_leads`` (both must be 0).

"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from collections import Counter

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, connections
from django.utils import timezone

from telesales.core.benchmarks import Benchmark, peak_rss_mb
from telesales.core.benchmarks import register as _register
from telesales.core.phone_numbers import phone_hash
from telesales.core.roles import Role


def _setup(agents: int, leads: int):
    from telesales.calls.models import CallRuleSet
    from telesales.calls.reference_data import calls_reference_data_ensure
    from telesales.leads.models import Channel, Customer, Lead, LeadRuleSet
    from telesales.org.models import Center, Person, Seat, Team

    calls_reference_data_ensure()
    CallRuleSet.objects.create(name="bench", effective_from=dt.date(2020, 1, 1))
    LeadRuleSet.objects.create(
        name="bench",
        effective_from=dt.date(2020, 1, 1),
        daily_claim_limit=max(30, 2 * leads // max(agents, 1) + 10),
        default_private_cap=max(300, 2 * leads // max(agents, 1) + 10),
    )
    center = Center.objects.create(name="基准中心", code="bench")
    group, _ = Group.objects.get_or_create(name=Role.AGENT.value)
    users = get_user_model()
    people = []
    teams = [
        Team.objects.create(center=center, name=f"基准组{i + 1}") for i in range((agents + 9) // 10)
    ]
    for i in range(agents):
        user = users.objects.create(username=f"bench-agent-{i}")
        user.groups.add(group)
        person = Person.objects.create(
            center=center,
            team=teams[i // 10],
            user=user,
            employee_no=f"B{i:06d}",
            name=f"坐席{i}",
            hire_date=dt.date(2025, 1, 1),
            status="active",
            capability_grade=4,
            practice_reg_no=f"BENCH{i:08d}",
        )
        Seat.objects.create(
            center=center,
            code=f"B{i:04d}",
            status="occupied",
            person=person,
            phone_line=f"{8000 + i}",
        )
        people.append(person)
    channel = Channel.objects.create(code="bench", name="基准渠道")
    consent = timezone.now() - dt.timedelta(days=10)
    customers = Customer.objects.bulk_create(
        [
            Customer(
                name=f"客户{i}",
                mobile_e164=f"+86139{i:08d}",
                mobile_hash=phone_hash(f"+86139{i:08d}"),
            )
            for i in range(leads)
        ],
        batch_size=2000,
    )
    Lead.objects.bulk_create(
        [
            Lead(
                customer=c,
                channel=channel,
                grade="ABCD"[i % 4],
                state="public",
                consent_source="bench",
                consent_at=consent,
            )
            for i, c in enumerate(customers)
        ],
        batch_size=2000,
    )
    return people


def _noon() -> dt.datetime:
    today = timezone.localdate()
    return timezone.make_aware(dt.datetime.combine(today, dt.time(12, 0)))


def _work(agent, at, got: list, latencies: list) -> None:
    from telesales.calls import services
    from telesales.calls.dispatch import next_lead
    from telesales.calls.errors import NothingToDispatch
    from telesales.calls.models import Disposition

    no_answer = Disposition.objects.get(code="no_answer")

    while True:
        start = time.perf_counter()
        try:
            d = next_lead(agent=agent, actor=agent.user, at=at)
        except NothingToDispatch as exc:
            if any(r["code"] == "pool_busy" for r in exc.details["reasons"]):
                continue
            return
        latencies.append((time.perf_counter() - start) * 1000)
        got.append(d.lead.pk)
        attempt = services.call_start(lead=d.lead, agent=agent, actor=agent.user, at=at)
        services.call_end(attempt=attempt, actor=agent.user, at=at)
        services.disposition_record(attempt=attempt, disposition=no_answer, actor=agent.user, at=at)


def run(*, agents: int, leads: int) -> dict:
    from telesales.leads.models import Lead

    setup_start = time.perf_counter()
    people = _setup(agents, leads)
    setup_s = time.perf_counter() - setup_start
    at = _noon()
    got: dict[int, list[int]] = {p.pk: [] for p in people}
    latencies: list[float] = []
    threaded = connection.features.has_select_for_update_skip_locked
    start = time.perf_counter()
    if threaded:
        lock = threading.Lock()

        def worker(agent):
            mine: list[float] = []
            try:
                _work(agent, at, got[agent.pk], mine)
            finally:
                with lock:
                    latencies.extend(mine)
                connections.close_all()

        threads = [threading.Thread(target=worker, args=(p,)) for p in people]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for p in people:
            _work(p, at, got[p.pk], latencies)
    elapsed = time.perf_counter() - start
    handed = [lead_id for rows in got.values() for lead_id in rows]
    counts = Counter(handed)
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))] if latencies else 0
    return {
        "agents": agents,
        "leads": leads,
        "concurrency": "threads" if threaded else "serial",
        "setup_s": round(setup_s, 2),
        "dispatches": len(handed),
        "seconds": round(elapsed, 2),
        "dispatches_per_s": round(len(handed) / elapsed, 1) if elapsed else None,
        "dispatch_p50_ms": round(statistics.median(latencies), 2) if latencies else None,
        "dispatch_p95_ms": round(p95, 2),
        "dispatch_max_ms": round(latencies[-1], 2) if latencies else None,
        "double_assignments": sum(1 for n in counts.values() if n > 1),
        "lost_leads": Lead.objects.filter(state="public").count(),
        "peak_rss_mb": peak_rss_mb(),
    }


def register() -> None:
    _register(
        Benchmark(
            name="dispatch",
            description="next lead: A agents take N public leads concurrently (PostgreSQL) "
            "or one after the other (SQLite); latency, throughput, doubles, lost",
            run=run,
            defaults={"agents": 32, "leads": 2000},
        )
    )
