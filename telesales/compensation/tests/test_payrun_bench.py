"""``telesales bench payrun``: run small through the command (in a subprocess, with its own
scratch database); and the pay run's fast paths (line writer, JSON text, input fingerprint)
store exactly what ``bulk_create``, ``json.dumps`` and ``astuple`` did.

The subprocess reads a settings module written into ``tmp_path`` that registers the
benchmark (whether or not the project's settings list it yet) and, on PostgreSQL, gives the
scratch database a name of its own, so it never clobbers this test run's database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection

from telesales.compensation import payinputs, payrun
from telesales.compensation.engine import PersonIn, PolicyIn
from telesales.compensation.models import PayLine
from telesales.compensation.payinputs import PayInputs, _record_tuple
from telesales.compensation.payrun import _json_strings, _policy_id, payrun_compute
from telesales.compensation.tests.payrun_world import MAR
from telesales.compensation.tests.test_payrun import line_tuples

REPO = Path(__file__).resolve().parents[3]
TELESALES = Path(sys.executable).parent / "telesales"


def _bench_settings(folder: Path) -> str:
    lines = [
        "from config.settings.test import *  # noqa: F403",
        "from config.settings.test import DATABASES, TELESALES_BENCHMARK_MODULES",
        "if 'bench.compensation_payrun' not in TELESALES_BENCHMARK_MODULES:",
        "    TELESALES_BENCHMARK_MODULES = [*TELESALES_BENCHMARK_MODULES,"
        " 'bench.compensation_payrun']",
    ]
    if connection.vendor == "postgresql":
        name = f"{connection.settings_dict['NAME']}_payrun_bench"
        lines.append(f"DATABASES['default']['TEST'] = {{'NAME': {name!r}}}")
    (folder / "payrun_bench_settings.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return "payrun_bench_settings"


@pytest.mark.suite_database
def test_payrun_bench_runs_through_the_command_deterministically_and_agrees_with_sql(tmp_path):
    environ = {
        k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "PORT", "CELERY_BROKER_URL"}
    }
    environ.update(
        TELESALES_DATA_DIR=str(tmp_path / "bench-data"),
        DJANGO_SETTINGS_MODULE=_bench_settings(tmp_path),
        PYTHONPATH=os.pathsep.join(p for p in (str(tmp_path), environ.get("PYTHONPATH")) if p),
    )
    result = subprocess.run(
        [str(TELESALES), "bench", "payrun", "--people", "30", "--policies", "300", "--json"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "payrun"
    assert figures["engine"] == connection.vendor.replace("sqlite", "sqlite3")
    assert (figures["people"], figures["policies"], figures["clawback_policies"]) == (30, 300, 3)
    for key in ("seconds_run1", "seconds_run2", "seconds", "sql_s", "ratio_to_sql"):
        assert figures[key] > 0, key
    assert figures["peak_rss_mb"] > 0
    assert figures["deterministic"] is True
    assert figures["commission_totals_agree"] is True
    assert figures["commission_total"] == figures["sql_commission_total"]
    assert Decimal(figures["commission_total"]) > 0
    # The reference that also reads the withholding's inputs agrees with the withheld lines
    # (the benchmark asserts it; some policies are cleared by their receipt, most are not).
    assert figures["sql_withholding_s"] > 0 and figures["ratio_to_sql_withholding"] > 0
    assert figures["withheld_totals_agree"] is True
    assert 0 < Decimal(figures["withheld_total"]) < Decimal(figures["commission_total"])
    # Below the target's size the target says nothing (and the command does not fail on it).
    assert figures["target_met"] is None and "ratio_to_sql ≤ 3" in figures["target"]
    # Every policy issued and not cancelled in the month is paid in its rate cell's line (a
    # few per agent, ADR 0014); the February policies cancelled in March are clawed back.
    assert 0 < figures["commission_lines"] < 30 * 7
    assert figures["clawback_lines"] == 3
    # The approval wrote the ledger of each policy paid or clawed back (its commission equals
    # the lines', which the benchmark asserts itself).
    assert isinstance(figures["approve_s"], float) and figures["approve_s"] >= 0
    assert figures["commission_lines"] < figures["ledger_policies"] <= 303
    assert figures["lines"] >= figures["commission_lines"] + figures["clawback_lines"] + 30
    # The floor: the withholding statement plus writing the run's lines once more (the
    # benchmark asserts that every line was copied), against the commission statement.
    assert figures["lines_load_s"] > 0
    sql, half = figures["sql_s"], 0.0005  # every figure rounded to the millisecond
    least = figures["sql_withholding_s"] + figures["lines_load_s"]
    low, high = max(least - 2 * half, 0) / (sql + half), (least + 2 * half) / max(sql - half, 1e-6)
    assert low - 0.01 <= figures["floor_ratio"] <= high + 0.01


@dataclasses.dataclass(frozen=True)
class _Inner:
    day: dt.date
    amount: Decimal
    items: tuple = ()


@dataclasses.dataclass(frozen=True)
class _Outer:
    id: int
    inner: _Inner | None
    listed: list | None = None


def test_the_fast_record_tuple_is_astuple():
    inner = _Inner(dt.date(2026, 3, 5), Decimal("1.50"), (_Inner(dt.date(2026, 3, 6), Decimal(2)),))
    records = [
        PersonIn(id=3, level="S1", hire_date=dt.date(2025, 1, 2), leader_id=1, attendance=(20, 22)),
        PolicyIn(
            id=7,
            agent_id=3,
            category="life",
            term_years=10,
            payment_mode="annual",
            fyc=Decimal("123.4500"),
            credited_on=dt.date(2026, 3, 1),
            paid_commission=None,
        ),
        _Outer(1, inner),
        _Outer(2, None, listed=[inner, {"a": 1}]),  # a list: astuple itself
    ]
    for record in records:
        assert _record_tuple(record) == dataclasses.astuple(record)
        assert json.dumps(_record_tuple(record), default=str) == json.dumps(
            dataclasses.astuple(record), default=str
        )


def test_the_fingerprint_changes_with_any_input_and_not_with_their_order():
    people = [
        PersonIn(id=i, level="S1", hire_date=dt.date(2025, 1, 2), attendance=(20, 22))
        for i in (1, 2)
    ]
    same = PayInputs(people=people, policies=[], problems=[])
    swapped = PayInputs(people=people[::-1], policies=[], problems=[])
    changed = PayInputs(
        people=[people[0], dataclasses.replace(people[1], attendance=(21, 22))],
        policies=[],
        problems=[],
    )
    assert same.fingerprint() == swapped.fingerprint()
    assert same.fingerprint() != changed.fingerprint()
    assert same.fingerprint(extra=1) != same.fingerprint(extra=2)


def test_the_lines_json_is_what_json_dumps_writes():
    for items in [
        (),
        ("policy:17",),
        ("person:1", "person:2", "policy:3"),
        ("fyc.protection", "trainee_factor"),
        ("提成",),
        ('a"b',),
        ("a\\b",),
        ("tab\t",),
        ("\x7f",),
    ]:
        assert _json_strings(items) == json.dumps(list(items))


def _bulk_create_lines(run, lines, progress=None):
    """How the lines were written before ``_lines_write``: one model instance per line."""
    PayLine.objects.bulk_create(
        [
            PayLine(
                run=run,
                position=i,
                person_id=line.person_id,
                kind=line.kind,
                amount=line.amount,
                basis=line.basis,
                rate=line.rate,
                rule_id=line.rule_id,
                rule_version=line.rule_version,
                modifiers=list(line.modifiers),
                sources=list(line.sources),
                cell=line.cell,
                policy_id=_policy_id(line),
                note=line.note[:500],
            )
            for i, line in enumerate(lines, start=1)
        ]
    )


@pytest.mark.django_db
def test_the_fast_writer_and_fingerprint_store_what_bulk_create_and_astuple_did(march, monkeypatch):
    run = payrun_compute(period_start=MAR, actor=march.hr)
    fast, fingerprint = line_tuples(run), run.input_fingerprint
    monkeypatch.setattr(payrun, "_lines_write", _bulk_create_lines)
    monkeypatch.setattr(payinputs, "_record_tuple", dataclasses.astuple)
    run = payrun_compute(period_start=MAR, actor=march.hr)
    assert len(fast) > 5
    assert line_tuples(run) == fast
    assert run.input_fingerprint == fingerprint
