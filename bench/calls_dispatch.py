"""``telesales bench dispatch --agents A --leads N [--clients C] [--dispatches D] [--json]``:
"next lead" under load.

Sets up A registered agents (in teams of ten) and N callable leads in the public pool (grades
A–D). Then C clients (default ``min(A, 64)``; a real center's application servers hold a pool
of connections, not one per agent) each serve their share of the agents in turn: the agent
takes "next lead", dials, hangs up and records "no answer". It stops after D dispatches (default:
when the pool is empty). On PostgreSQL the clients are threads with their own connections
(SKIP LOCKED, ADR 0011), in this process or, with ``--processes P``, spread over P forked
processes (as an application server runs several worker processes, so that the clients'
Python work is not held to one core by the interpreter lock; the reference loops below are
spread the same way); on SQLite one client serves every agent (SQLite serialises writers).

Reports ``dispatches_per_s``, the latency of one dispatch (``p50_ms``, ``p95_ms``, ``p99_ms``,
``max_ms``), ``double_assignments`` and ``lost_leads`` (both must be 0), and
``ratio_to_pgbench``: dispatches per second ÷ the single-row ``UPDATE`` transactions per second
that the same number of clients reach with a plain psycopg (or sqlite3) loop on the same
database in the same run, each transaction one ``UPDATE`` of a random row of a 100,000-row
table (pgbench's built-in "simple-update" adds a ``SELECT`` and a history ``INSERT`` to it). On
PostgreSQL, when ``pgbench`` is installed, the same transactions are also run by pgbench itself
(``pgbench_update_tps``, ``ratio_to_pgbench_binary``): its C client shows how much of the
reference the Python loop's own cost takes.

``--pace-s P --seconds S`` switches to a paced run (an open loop, as a sales floor works):
each agent, after the outcome, talks and wraps up for P seconds (± 20 %) before asking again,
the agents starting spread over one pace, for S seconds. ``offered_per_s`` = A ÷ P is the
rate the floor asks for, ``dispatches_per_s`` what it got, and ``wait_p50_ms`` /
``wait_p99_ms`` how long an agent waited from being ready to holding a lead (the dispatch
plus any time its client was busy with another agent); ``p99_ms`` stays the dispatch alone.
The run ends by time, so the leads left in the pool are not counted as lost.

A second reference says what no dispatch can beat: ``floor_dispatch_per_s`` is what the same
clients reach with the least any dispatch must write — take the first public lead nobody else
holds (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), make it the agent's, record the claim in the
lead's history — as one hand-written statement per transaction over empty copies of the lead
and lead-history tables (same indexes, no foreign keys) filled with public leads: no guard, no
presence, no hand-out record, no call. ``floor_ratio`` = that ÷ ``reference_update_tps``: the
highest ``ratio_to_pgbench`` any dispatch writing a lead and its history could reach.
"""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import random
import threading
import time
from collections import Counter

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from telesales.core.benchmarks import Benchmark, children_peak_rss_mb, peak_rss_mb
from telesales.core.benchmarks import register as _register
from telesales.core.phone_numbers import phone_hash
from telesales.core.roles import Role

#: Rows of the reference table the plain UPDATE loop works on.
REFERENCE_ROWS = 100_000
#: Leads created per bulk insert during set-up (keeps memory flat at a million leads).
SETUP_CHUNK = 20_000


def _setup(agents: int, leads: int):
    from telesales.calls.models import CallRuleSet
    from telesales.calls.reference_data import calls_reference_data_ensure
    from telesales.leads.models import Channel, Customer, Lead, LeadRuleSet
    from telesales.org.models import Center, Person, Seat, Team

    calls_reference_data_ensure()
    CallRuleSet.objects.create(name="bench", effective_from=dt.date(2020, 1, 1))
    share = 2 * leads // max(agents, 1) + 10
    LeadRuleSet.objects.create(
        name="bench",
        effective_from=dt.date(2020, 1, 1),
        daily_claim_limit=max(30, share),
        default_private_cap=max(300, share),
    )
    center = Center.objects.create(name="基准中心", code="bench")
    group, _ = Group.objects.get_or_create(name=Role.AGENT.value)
    users = get_user_model()
    teams = Team.objects.bulk_create(
        [Team(center=center, name=f"基准组{i + 1}") for i in range((agents + 9) // 10)]
    )
    created = users.objects.bulk_create(
        [users(username=f"bench-agent-{i}") for i in range(agents)], batch_size=1000
    )
    created = list(users.objects.filter(username__startswith="bench-agent-").order_by("pk"))
    group.user_set.add(*created)
    Person.objects.bulk_create(
        [
            Person(
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
            for i, user in enumerate(created)
        ],
        batch_size=1000,
    )
    people = list(Person.objects.filter(center=center).select_related("user").order_by("pk"))
    Seat.objects.bulk_create(
        [
            Seat(
                center=center,
                code=f"B{i:05d}",
                status="occupied",
                person=person,
                phone_line=f"{80000 + i}",
            )
            for i, person in enumerate(people)
        ],
        batch_size=1000,
    )
    channel = Channel.objects.create(code="bench", name="基准渠道")
    consent = timezone.now() - dt.timedelta(days=10)
    for first in range(0, leads, SETUP_CHUNK):
        numbers = [f"+86139{i:08d}" for i in range(first, min(leads, first + SETUP_CHUNK))]
        customers = Customer.objects.bulk_create(
            [
                Customer(name=f"客户{first + k}", mobile_e164=n, mobile_hash=phone_hash(n))
                for k, n in enumerate(numbers)
            ],
            batch_size=5000,
        )
        Lead.objects.bulk_create(
            [
                Lead(
                    customer=c,
                    channel=channel,
                    grade="ABCD"[(first + k) % 4],
                    state="public",
                    consent_source="bench",
                    consent_at=consent,
                )
                for k, c in enumerate(customers)
            ],
            batch_size=5000,
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return people


def _noon() -> dt.datetime:
    today = timezone.localdate()
    return timezone.make_aware(dt.datetime.combine(today, dt.time(12, 0)))


class _Budget:
    """How many dispatches are left to hand out across the clients (None: no limit), shared by
    the threads of this process and by the processes forked from it."""

    def __init__(self, limit: int | None) -> None:
        self.limited = limit is not None
        self.left = multiprocessing.get_context("fork").Value("q", limit or 0)

    def take(self) -> bool:
        if not self.limited:
            return True
        with self.left.get_lock():
            if self.left.value <= 0:
                return False
            self.left.value -= 1
            return True

    def give_back(self) -> None:
        """A dispatch that handed nothing out does not count."""
        if self.limited:
            with self.left.get_lock():
                self.left.value += 1


def _serve(agents: list, at, budget: _Budget) -> dict:
    """One client: serve its agents in turn until each has nothing left or the budget ends.
    Returns the ``(agent id, lead id)`` pairs handed out and each dispatch's milliseconds."""
    from telesales.calls import services
    from telesales.calls.dispatch import next_lead
    from telesales.calls.errors import NothingToDispatch
    from telesales.calls.models import Disposition

    no_answer = Disposition.objects.get(code="no_answer")
    handed: list[tuple[int, int]] = []
    latencies: list[float] = []
    active = list(agents)
    while active and budget.take():
        agent = active.pop(0)
        start = time.perf_counter()
        try:
            d = next_lead(agent=agent, actor=agent.user, at=at)
        except NothingToDispatch as exc:
            budget.give_back()
            if any(r["code"] == "pool_busy" for r in exc.details["reasons"]):
                active.append(agent)
            continue
        latencies.append((time.perf_counter() - start) * 1000)
        handed.append((agent.pk, d.lead.pk))
        attempt = services.call_start(lead=d.lead, agent=agent, actor=agent.user, at=at)
        services.call_end(attempt=attempt, actor=agent.user, at=at)
        services.disposition_record(attempt=attempt, disposition=no_answer, actor=agent.user, at=at)
        active.append(agent)
    return {"handed": handed, "dispatch": latencies, "wait": []}


def _serve_paced(agents: list, at, pace_s: float, until: float, rnd: random.Random) -> dict:
    """One client in the paced mode: each of its agents asks for a lead, dials, hangs up,
    records the outcome, then talks and wraps up for ``pace_s`` (± 20 %) before asking again;
    the agents start spread over one pace. Runs until ``until`` (a ``perf_counter`` time: the
    same clock in every process). Returns the pairs handed out (``"handed"``), each dispatch's
    milliseconds (``"dispatch"``) and the agent's wait from being ready to holding a lead
    (``"wait"``: the dispatch plus any time the client was busy with another agent)."""
    import heapq

    from telesales.calls import services
    from telesales.calls.dispatch import next_lead
    from telesales.calls.errors import NothingToDispatch
    from telesales.calls.models import Disposition

    no_answer = Disposition.objects.get(code="no_answer")
    samples: dict[str, list] = {"handed": [], "dispatch": [], "wait": []}
    start = time.perf_counter()
    ready = [(start + rnd.uniform(0, pace_s), i) for i in range(len(agents))]
    heapq.heapify(ready)
    while ready:
        when, i = heapq.heappop(ready)
        if when >= until or time.perf_counter() >= until:
            return samples  # time is up, even for agents still waiting (an overloaded floor)
        pause = when - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        agent = agents[i]
        began = time.perf_counter()
        try:
            d = next_lead(agent=agent, actor=agent.user, at=at)
        except NothingToDispatch:
            heapq.heappush(ready, (time.perf_counter() + pace_s, i))
            continue
        done = time.perf_counter()
        samples["dispatch"].append((done - began) * 1000)
        samples["wait"].append((done - when) * 1000)
        samples["handed"].append((agent.pk, d.lead.pk))
        attempt = services.call_start(lead=d.lead, agent=agent, actor=agent.user, at=at)
        services.call_end(attempt=attempt, actor=agent.user, at=at)
        services.disposition_record(attempt=attempt, disposition=no_answer, actor=agent.user, at=at)
        heapq.heappush(ready, (time.perf_counter() + pace_s * rnd.uniform(0.8, 1.2), i))
    return samples


def _in_threads(clients, work) -> tuple[float, float, dict]:
    """Run ``work(i)`` for each client number ``i`` in ``clients`` (an iterable) in a thread of
    its own with its own connection. Returns the ``perf_counter`` times of the start and the
    end, and each client's result by its number."""
    errors: list[BaseException] = []
    results: dict = {}

    def runner(i: int) -> None:
        try:
            results[i] = work(i)
        except BaseException as exc:  # reported after the join
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner, args=(i,)) for i in clients]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    end = time.perf_counter()
    if errors:
        raise errors[0]
    return start, end, results


def _process_main(pipe, clients: list[int], work) -> None:
    """A forked process: its share of the clients in threads; the outcome goes back through
    ``pipe`` (an error as its text: the parent raises it)."""
    try:
        pipe.send(("ok", _in_threads(clients, work)))
    except BaseException as exc:  # any failure is the parent's to report
        pipe.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        pipe.close()


def _in_processes(clients: int, processes: int, work) -> tuple[float, list]:
    """``clients`` threads spread over ``processes`` forked processes (client ``i`` in process
    ``i % processes``), as an application server runs several worker processes: the clients'
    Python work then uses more than one core. Seconds from the first process's start to the
    last one's end, and each client's result."""
    context = multiprocessing.get_context("fork")
    connections.close_all()  # no connection may be shared with the children
    pipes, children = [], []
    for k in range(processes):
        receive, send = context.Pipe(duplex=False)
        child = context.Process(
            target=_process_main, args=(send, list(range(k, clients, processes)), work)
        )
        child.start()
        send.close()
        pipes.append(receive)
        children.append(child)
    outcomes = [pipe.recv() for pipe in pipes]  # before the joins: a full pipe blocks its child
    for child in children:
        child.join()
    failed = [detail for status, detail in outcomes if status != "ok"]
    if failed:
        raise CommandError(f"a benchmark process failed: {failed[0]}")
    results: dict = {}
    for _status, (_start, _end, part) in outcomes:
        results.update(part)
    elapsed = max(o[1][1] for o in outcomes) - min(o[1][0] for o in outcomes)
    return elapsed, [results[i] for i in range(clients)]


def _run_clients(clients: int, work, processes: int = 1) -> tuple[float, list]:
    """Run ``work(i)`` for each client — threads with their own connections where the
    database locks rows (PostgreSQL), spread over ``processes`` processes when above 1; else
    the one client in this thread (SQLite serialises writers; ``clients`` is 1 there). Returns
    the seconds taken and each client's result."""
    if not connection.features.has_select_for_update_skip_locked:
        start = time.perf_counter()
        result = work(0)
        return time.perf_counter() - start, [result]
    if processes > 1:
        return _in_processes(clients, processes, work)
    start, end, results = _in_threads(range(clients), work)
    return end - start, [results[i] for i in range(clients)]


def _pgbench_tps(clients: int, seconds: float, processes: int) -> float | None:
    """The same single-row UPDATE transactions per second as pgbench itself reaches them (its C
    client, ``clients`` connections in ``processes`` threads, a script holding the UPDATE alone,
    over ``bench_accounts``), or None when pgbench is not installed or fails (SQLite: None)."""
    import os
    import re
    import shutil
    import subprocess
    import tempfile

    program = shutil.which("pgbench")
    if connection.vendor != "postgresql" or program is None:
        return None
    db = connection.settings_dict
    script = (
        f"\\set aid random(1, {REFERENCE_ROWS})\n\\set delta random(-5000, 5000)\n"
        "UPDATE bench_accounts SET abalance = abalance + :delta WHERE aid = :aid;\n"
    )
    with tempfile.NamedTemporaryFile("w", suffix=".sql") as file:
        file.write(script)
        file.flush()
        command = [program, "-n", "-c", str(clients), "-j", str(processes)]
        command += ["-T", str(max(1, round(seconds))), "-f", file.name]
        for flag, key in (("-h", "HOST"), ("-p", "PORT"), ("-U", "USER")):
            if db.get(key):
                command += [flag, str(db[key])]
        env = {**os.environ, **({"PGPASSWORD": db["PASSWORD"]} if db.get("PASSWORD") else {})}
        try:
            done = subprocess.run(
                [*command, db["NAME"]],
                capture_output=True,
                text=True,
                env=env,
                timeout=60 + seconds,
            )
        except (OSError, subprocess.SubprocessError):
            return None
    found = re.search(r"^tps = ([0-9.]+)", done.stdout, re.MULTILINE)
    return float(found.group(1)) if done.returncode == 0 and found else None


def _reference_tps(clients: int, seconds: float, processes: int = 1) -> tuple[float, float | None]:
    """Single-row UPDATE transactions per second reached by ``clients`` plain loops (psycopg on
    PostgreSQL, sqlite3 on SQLite) on the same database, spread over the same processes as the
    dispatching clients; and the same transactions run by pgbench itself (``_pgbench_tps``)."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_accounts (aid integer PRIMARY KEY, abalance integer)")
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO bench_accounts SELECT g, 0 FROM generate_series(1, %s) g",
                [REFERENCE_ROWS],
            )
            cursor.execute("ANALYZE bench_accounts")
        else:
            cursor.executemany(
                "INSERT INTO bench_accounts VALUES (%s, 0)",
                [(i,) for i in range(1, REFERENCE_ROWS + 1)],
            )
    sql = "UPDATE bench_accounts SET abalance = abalance + %s WHERE aid = %s"

    def loop(i: int) -> int:
        rnd = random.Random(i)
        if connection.vendor == "postgresql":
            connections["default"].ensure_connection()
            raw = connections["default"].connection  # psycopg, autocommit: one tx per UPDATE
            raw.autocommit = True
            stop = time.perf_counter() + seconds
            n = 0
            while time.perf_counter() < stop:
                raw.execute(sql, (rnd.randint(-5000, 5000), rnd.randint(1, REFERENCE_ROWS)))
                n += 1
            return n
        raw = connection.connection  # sqlite3: one transaction per UPDATE
        cursor = raw.cursor()
        stop = time.perf_counter() + seconds
        n = 0
        while time.perf_counter() < stop:
            cursor.execute("BEGIN")
            cursor.execute(
                sql.replace("%s", "?"),
                (rnd.randint(-5000, 5000), rnd.randint(1, REFERENCE_ROWS)),
            )
            cursor.execute("COMMIT")
            n += 1
        return n

    elapsed, done = _run_clients(clients, loop, processes)
    pgbench = _pgbench_tps(clients, seconds, processes)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_accounts")
    return (sum(done) / elapsed if elapsed else 0.0), pgbench


#: Public leads in the floor reference's copy of the lead table (it stops early when they run
#: out; the figure counts the dispatches made in the time taken).
FLOOR_ROWS = 60_000


def _floor_tables() -> tuple[str, str]:
    """Empty copies of the lead and lead-history tables, the first filled with ``FLOOR_ROWS``
    public leads (every column copied from one real lead, grades A–D in turn)."""
    from telesales.core.benchmarks import empty_copy_ddl
    from telesales.leads.models import Lead

    leads, events = "bench_floor_lead", "bench_floor_leadevent"
    override = {
        "id": "g.i",
        "state": "'public'",
        "owner_id": "NULL",
        "grade": "substr('ABCD', (g.i % 4) + 1, 1)",
    }
    columns = [f.column for f in Lead._meta.concrete_fields]
    select = ", ".join(override.get(c, f't."{c}"') for c in columns)
    quoted = ", ".join(f'"{c}"' for c in columns)
    if connection.vendor == "postgresql":
        numbers = f"generate_series(1, {FLOOR_ROWS}) AS g(i)"
    else:
        numbers = (
            "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "  # noqa: S608
            f"WHERE i < {FLOOR_ROWS}) SELECT i FROM n) AS g"
        )
    with connection.cursor() as cursor:
        for table, copy in (("leads_lead", leads), ("leads_leadevent", events)):
            cursor.execute(f'DROP TABLE IF EXISTS "{copy}"')
            for statement in empty_copy_ddl(table, copy):
                cursor.execute(statement)
        cursor.execute(
            f'INSERT INTO "{leads}" ({quoted}) '  # noqa: S608
            f'SELECT {select} FROM {numbers} CROSS JOIN (SELECT * FROM "leads_lead" LIMIT 1) t'
        )
        if connection.vendor == "postgresql":
            cursor.execute(f'ANALYZE "{leads}"')
    return leads, events


def _floor_dispatch(
    clients: int, seconds: float, agents: list, processes: int = 1
) -> tuple[float, list[float], bool]:
    """Dispatches per second of the least a dispatch must write, by ``clients`` plain loops
    over the floor tables (see the module doc); their latencies; and whether every one claimed
    a lead of its own and wrote its history row."""
    leads, events = _floor_tables()
    pick = (
        f"SELECT id FROM \"{leads}\" WHERE state = 'public' AND owner_id IS NULL "  # noqa: S608
        "ORDER BY grade, id LIMIT 1"
    )
    history = (
        f'INSERT INTO "{events}" (lead_id, at, actor_id, action, from_state, to_state, '
        "from_owner_id, to_owner_id, reason) "
    )
    claim = (
        f"UPDATE \"{leads}\" SET state = 'owned', "  # noqa: S608 - names of this module
        "owner_id = %s, owned_since = %s, updated_at = %s"
    )
    one_statement = (
        f"WITH picked AS ({pick} FOR UPDATE SKIP LOCKED), "  # noqa: S608
        f'claimed AS ({claim} FROM picked WHERE "{leads}".id = picked.id RETURNING "{leads}".id) '
        f"{history}SELECT id, %s, %s, 'claim', 'public', 'owned', NULL, %s, '' FROM claimed "
        "RETURNING lead_id"
    )

    def loop(i: int) -> tuple[int, list[float]]:
        mine = agents[i::clients] or agents[:1]
        latencies: list[float] = []
        at = timezone.now()
        n, stop = 0, time.perf_counter() + seconds
        if connection.vendor == "postgresql":
            connections["default"].ensure_connection()
            raw = connections["default"].connection
            raw.autocommit = True  # one statement, one transaction
            while time.perf_counter() < stop:
                agent = mine[n % len(mine)]
                start = time.perf_counter()
                got = raw.execute(
                    one_statement, (agent.pk, at, at, at, agent.user_id, agent.pk)
                ).fetchone()
                if got is None:
                    if not raw.execute(pick).fetchone():  # the pool is empty
                        break
                    continue  # every candidate held by another client for a moment
                latencies.append((time.perf_counter() - start) * 1000)
                n += 1
        else:
            cursor = connection.connection.cursor()
            while time.perf_counter() < stop:
                agent = mine[n % len(mine)]
                start = time.perf_counter()
                cursor.execute("BEGIN IMMEDIATE")
                row = cursor.execute(pick).fetchone()
                if row is None:
                    cursor.execute("COMMIT")
                    break
                cursor.execute(
                    claim.replace("%s", "?") + " WHERE id = ?", (agent.pk, at, at, row[0])
                )
                cursor.execute(
                    history + "VALUES (?, ?, ?, 'claim', 'public', 'owned', NULL, ?, '')",
                    (row[0], at, agent.user_id, agent.pk),
                )
                cursor.execute("COMMIT")
                latencies.append((time.perf_counter() - start) * 1000)
                n += 1
        return n, latencies

    elapsed, results = _run_clients(clients, loop, processes)
    done = [n for n, _ in results]
    with connection.cursor() as cursor:
        # Every dispatch counted claimed one lead and wrote one history row, none twice.
        cursor.execute(
            f"SELECT (SELECT COUNT(*) FROM \"{leads}\" WHERE state = 'owned'), "  # noqa: S608
            f'(SELECT COUNT(*) FROM "{events}"), '
            f'(SELECT COUNT(DISTINCT lead_id) FROM "{events}")'
        )
        consistent = cursor.fetchone() == (sum(done),) * 3
        cursor.execute(f'DROP TABLE "{events}"')
        cursor.execute(f'DROP TABLE "{leads}"')
    samples = sorted(itertools.chain.from_iterable(lat for _, lat in results))
    return (sum(done) / elapsed if elapsed else 0.0), samples, consistent


def _percentile(samples: list[float], share: float) -> float | None:
    if not samples:
        return None
    return round(samples[min(len(samples) - 1, int(len(samples) * share))], 2)


def run(
    *,
    agents: int,
    leads: int,
    clients: int = 0,
    dispatches: int = 0,
    reference_seconds: float = 5.0,
    pace_s: float = 0.0,
    seconds: float = 0.0,
    processes: int = 1,
) -> dict:
    from telesales.leads.models import Lead

    if pace_s < 0 or seconds < 0 or (pace_s > 0) != (seconds > 0):
        raise CommandError(
            "--pace-s and --seconds go together, both above 0 (the paced mode), or are both 0"
        )

    threaded = connection.features.has_select_for_update_skip_locked
    clients = max(1, min(int(clients or min(agents, 64)), agents)) if threaded else 1
    processes = max(1, min(int(processes), clients)) if threaded else 1
    setup_start = time.perf_counter()
    people = _setup(agents, leads)
    setup_s = time.perf_counter() - setup_start
    reference, pgbench = _reference_tps(clients, float(reference_seconds), processes)
    at = _noon()
    budget = _Budget(int(dispatches) if dispatches else None)
    shares = [people[i::clients] for i in range(clients)]
    if pace_s:
        until = time.perf_counter() + seconds
        elapsed, results = _run_clients(
            clients,
            lambda i: _serve_paced(shares[i], at, pace_s, until, random.Random(i)),
            processes,
        )
    else:
        elapsed, results = _run_clients(clients, lambda i: _serve(shares[i], at, budget), processes)
    samples = sorted(itertools.chain.from_iterable(r["dispatch"] for r in results))
    waited = sorted(itertools.chain.from_iterable(r["wait"] for r in results))
    floor_rate, floor_samples, floor_consistent = _floor_dispatch(
        clients, float(reference_seconds), people, processes
    )
    handed = [lead_id for r in results for _agent_id, lead_id in r["handed"]]
    counts = Counter(handed)
    rate = len(handed) / elapsed if elapsed else 0.0
    dialled = Lead.objects.exclude(state="public").count()
    # Every lead that left the public pool must have reached an agent; with no dispatch limit,
    # the run ends only when the pool is empty.
    lost = max(0, dialled - len(counts))
    if not dispatches and not pace_s:
        lost += Lead.objects.filter(state="public").count()
    return {
        "engine": connection.vendor,
        "agents": agents,
        "leads": leads,
        "clients": clients,
        "processes": processes,
        "concurrency": ("threads" if processes == 1 else "processes") if threaded else "serial",
        "setup_s": round(setup_s, 2),
        "dispatches": len(handed),
        "seconds": round(elapsed, 2),
        "dispatches_per_s": round(rate, 1),
        "p50_ms": _percentile(samples, 0.50),
        "p95_ms": _percentile(samples, 0.95),
        "p99_ms": _percentile(samples, 0.99),
        "max_ms": round(samples[-1], 2) if samples else None,
        "pace_s": pace_s,
        "offered_per_s": round(agents / pace_s, 1) if pace_s else None,
        "wait_p50_ms": _percentile(waited, 0.50),
        "wait_p99_ms": _percentile(waited, 0.99),
        "reference_update_tps": round(reference, 1),
        "ratio_to_pgbench": round(rate / reference, 4) if reference else None,
        # pgbench's own C client on the same UPDATE: what the Python loop leaves on the table.
        "pgbench_update_tps": round(pgbench, 1) if pgbench else None,
        "ratio_to_pgbench_binary": round(rate / pgbench, 4) if pgbench else None,
        "floor_dispatch_per_s": round(floor_rate, 1),
        "floor_p99_ms": _percentile(floor_samples, 0.99),
        "floor_ratio": round(floor_rate / reference, 4) if reference else None,
        "floor_consistent": floor_consistent,
        "double_assignments": sum(1 for n in counts.values() if n > 1),
        "lost_leads": lost,
        "peak_rss_mb": peak_rss_mb(),
        # With worker processes the parent's own peak says little about them: the largest one.
        "worker_peak_rss_mb": children_peak_rss_mb() if processes > 1 else None,
    }


def register() -> None:
    _register(
        Benchmark(
            name="dispatch",
            description="next lead: A agents served by C clients take leads from N public "
            "ones (threads on PostgreSQL, serial on SQLite); latency, throughput, ratio to "
            "plain single-row UPDATEs, doubles, lost",
            run=run,
            defaults={
                "agents": 32,
                "leads": 2000,
                "clients": 0,
                "dispatches": 0,
                "reference_seconds": 5.0,
                "pace_s": 0.0,
                "seconds": 0.0,
                "processes": 1,
            },
            minimums={
                "agents": 1,
                "leads": 1,
                "clients": 0,
                "dispatches": 0,
                "reference_seconds": 0.1,
                "pace_s": 0.0,
                "seconds": 0.0,
                "processes": 1,
            },
        )
    )
