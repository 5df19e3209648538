"""The dispatch benchmark's body, run small in the test database: its figures are present and
consistent, and it finds no double assignment and no lost lead."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from telesales.core import benchmarks


@pytest.mark.django_db(transaction=True)
def test_dispatch_benchmark_reports_its_figures_without_doubles_or_losses():
    call_command("bench", "list", stdout=StringIO())  # registers the benchmarks
    figures = benchmarks.get("dispatch").run(agents=4, leads=40, reference_seconds=0.2)
    assert figures["dispatches"] == 40  # every lead handed out once
    assert figures["double_assignments"] == 0
    assert figures["lost_leads"] == 0
    assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["reference_update_tps"] > 0
    expected = figures["dispatches_per_s"] / figures["reference_update_tps"]
    assert figures["ratio_to_pgbench"] == pytest.approx(expected, rel=0.05, abs=1e-4)
    # pgbench itself on the same UPDATE, where it runs (PostgreSQL with pgbench installed).
    import shutil

    from django.db import connection

    if connection.vendor == "postgresql" and shutil.which("pgbench"):
        assert figures["pgbench_update_tps"] > 0
        binary = figures["dispatches_per_s"] / figures["pgbench_update_tps"]
        assert figures["ratio_to_pgbench_binary"] == pytest.approx(binary, rel=0.05, abs=1e-4)
    else:
        assert figures["pgbench_update_tps"] is None is figures["ratio_to_pgbench_binary"]
    # The floor reference: the least a dispatch must write, each claim with its history row.
    assert figures["floor_consistent"] is True
    assert figures["floor_dispatch_per_s"] > figures["dispatches_per_s"]
    assert figures["floor_p99_ms"] > 0
    floor = figures["floor_dispatch_per_s"] / figures["reference_update_tps"]
    assert figures["floor_ratio"] == pytest.approx(floor, rel=0.05, abs=1e-4)


@pytest.mark.django_db(transaction=True)
def test_dispatch_benchmark_stops_at_the_dispatch_limit():
    call_command("bench", "list", stdout=StringIO())
    figures = benchmarks.get("dispatch").run(
        agents=3, leads=30, dispatches=10, reference_seconds=0.1
    )
    assert figures["dispatches"] == 10
    assert figures["double_assignments"] == 0
    assert figures["lost_leads"] == 0


@pytest.mark.django_db(transaction=True)
def test_paced_dispatch_benchmark_offers_the_pace_and_reports_the_wait():
    call_command("bench", "list", stdout=StringIO())
    figures = benchmarks.get("dispatch").run(
        agents=4, leads=60, reference_seconds=0.1, pace_s=0.25, seconds=1.0
    )
    assert figures["offered_per_s"] == 16.0
    # Each agent asks at most once per 0.8 pace after its first ask: a closed loop would take
    # all 60 leads in a second.
    assert 0 < figures["dispatches"] <= 4 * (1.0 / (0.8 * 0.25)) + 4
    assert figures["double_assignments"] == 0
    assert figures["lost_leads"] == 0  # leads left in the pool when the time is up are not lost
    # The wait from ready to a lead in hand includes the dispatch itself.
    assert figures["wait_p50_ms"] >= figures["p50_ms"] > 0
    assert figures["wait_p99_ms"] >= figures["p99_ms"]


@pytest.mark.parametrize(
    "options",
    [
        {"pace_s": 1.0},  # without --seconds
        {"seconds": 5.0},  # without --pace-s
        {"pace_s": -1.0, "seconds": 5.0},
    ],
)
def test_paced_dispatch_benchmark_refuses_half_or_negative_options(options):
    call_command("bench", "list", stdout=StringIO())
    with pytest.raises(CommandError, match="--pace-s and --seconds"):
        benchmarks.get("dispatch").run(agents=2, leads=2, **options)


def _spread(**options):
    from django.db import connection

    call_command("bench", "list", stdout=StringIO())
    figures = benchmarks.get("dispatch").run(clients=4, processes=2, **options)
    if not connection.features.has_select_for_update_skip_locked:
        assert (figures["processes"], figures["clients"]) == (1, 1)  # SQLite: one client
    else:
        assert (figures["processes"], figures["concurrency"]) == (2, "processes")
        assert figures["worker_peak_rss_mb"] > 0  # the forked workers' own peak
    assert figures["double_assignments"] == 0
    assert figures["lost_leads"] == 0
    return figures


@pytest.mark.django_db(transaction=True)
def test_dispatch_benchmark_spreads_its_clients_over_processes():
    """With ``processes`` the clients run in forked processes (PostgreSQL; SQLite has one
    client): every lead is still handed out once and every process's results come back."""
    figures = _spread(agents=6, leads=48, reference_seconds=0.2)
    assert figures["dispatches"] == 48
    assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert figures["reference_update_tps"] > 0
    assert figures["floor_consistent"] is True
    assert figures["floor_dispatch_per_s"] > 0


@pytest.mark.django_db(transaction=True)
def test_dispatch_benchmark_processes_share_one_dispatch_limit():
    figures = _spread(agents=6, leads=40, dispatches=9, reference_seconds=0.1)
    assert figures["dispatches"] == 9


@pytest.mark.django_db(transaction=True)
def test_paced_dispatch_benchmark_over_processes_reports_the_wait():
    figures = _spread(agents=4, leads=60, reference_seconds=0.1, pace_s=0.25, seconds=1.0)
    assert 0 < figures["dispatches"] <= 4 * (1.0 / (0.8 * 0.25)) + 4
    assert figures["wait_p50_ms"] >= figures["p50_ms"] > 0
