"""``telesales bootstrap`` and ``telesales bench``.

The bench command measures in a throw-away database of its own; inside pytest (already in a
test database) the harness pieces are tested directly, and one real run goes through the
``telesales`` command in a subprocess with its own data directory and the in-memory SQLite
scratch database of the test settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from telesales.core import benchmarks
from telesales.core.models import AuditEntry
from telesales.core.roles import Role, user_roles

REPO = Path(__file__).resolve().parents[3]
TELESALES = Path(sys.executable).parent / "telesales"


def _row_counts() -> dict[str, int]:
    """Rows in every table of every installed app."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def _bootstrap(**options) -> str:
    out = StringIO()
    call_command("bootstrap", "--no-static", stdout=out, **options)
    return out.getvalue()


# --- bootstrap -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_bootstrap_is_idempotent(monkeypatch):
    monkeypatch.delenv("TELESALES_ADMIN_PASSWORD", raising=False)
    first = _bootstrap()
    assert "Bootstrap complete." in first and "Created the first admin: admin" in first
    counts = _row_counts()
    second = _bootstrap()
    assert "Bootstrap complete." in second and "Created the first admin" not in second
    assert _row_counts() == counts
    User = get_user_model()
    assert User.objects.filter(is_superuser=True).count() == 1
    admin = User.objects.get(is_superuser=True)
    assert admin.username == "admin"
    assert Role.MANAGER in user_roles(admin)
    assert AuditEntry.objects.filter(action="core.admin_create").count() == 1
    # Every bootstrap step left reference data behind (the org app's center and ladder).
    assert counts["org.Center"] >= 1 and counts["org.Level"] >= 1
    # The printed one-time password works.
    password = first.split("Created the first admin: admin / ", 1)[1].split()[0]
    assert admin.check_password(password)


@pytest.mark.django_db
def test_bootstrap_takes_the_admin_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("TELESALES_ADMIN_PASSWORD", "s3cret-from-env")
    out = _bootstrap(admin_username="chief")
    assert "s3cret-from-env" not in out and "TELESALES_ADMIN_PASSWORD" in out
    chief = get_user_model().objects.get(username="chief")
    assert chief.is_superuser and chief.check_password("s3cret-from-env")


@pytest.mark.django_db
def test_bootstrap_refuses_an_impossible_admin_name():
    with pytest.raises(CommandError) as exc:
        _bootstrap(admin_username="x" * 151)
    assert "--admin-username" in str(exc.value)
    assert not get_user_model().objects.filter(is_superuser=True).exists()


@pytest.mark.django_db
def test_bootstrap_keeps_an_existing_superuser(monkeypatch):
    get_user_model().objects.create_superuser(username="existing", password="x")
    out = _bootstrap()
    assert "Created the first admin" not in out
    assert list(
        get_user_model().objects.filter(is_superuser=True).values_list("username", flat=True)
    ) == ["existing"]


# --- bench -------------------------------------------------------------------------------------
def test_bench_lists_the_registered_benchmarks():
    out = StringIO()
    call_command("bench", "list", stdout=out)
    assert "people:" in out.getvalue()
    assert benchmarks.get("people") is not None
    assert [b.name for b in benchmarks.available()] == sorted(
        b.name for b in benchmarks.available()
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nosuch"], "no benchmark named 'nosuch'"),
        (["people", "rows=5"], "unknown option"),
        (["people", "agents=many"], "is not a int"),
        (["people", "--agents"], "needs a value"),
        (["people", "agents"], "unexpected"),
        (["import", "--format", "ods"], "'ods' is not one of csv, xlsx"),
        # A size that makes no center is refused before anything is created.
        (["dispatch", "--agents", "0"], "option --agents: '0' is below the minimum, 1"),
        (["dispatch", "--leads", "-3"], "option --leads: '-3' is below the minimum, 1"),
        (["dispatch", "--reference-seconds", "0"], "below the minimum, 0.1"),
        (["dispatch", "--pace-s", "nan"], "option --pace-s: 'nan' is not a finite number"),
        (["dispatch", "--seconds", "inf"], "option --seconds: 'inf' is not a finite number"),
        (["import", "--rows", "0"], "option --rows: '0' is below the minimum, 1"),
        (["payrun", "people=0"], "option --people: '0' is below the minimum, 1"),
        (["payrun", "--policies", "-1"], "option --policies: '-1' is below the minimum, 0"),
        (["people", "--agents", "5"], "option --agents: '5' is below the minimum, 6"),
        (["people", "repeat=0"], "option --repeat: '0' is below the minimum, 1"),
    ],
)
def test_bench_refuses_unknown_names_and_options(args, words):
    with pytest.raises(CommandError) as exc:
        call_command("bench", *args, stdout=StringIO())
    assert words in str(exc.value)


def test_bench_prints_its_figures_then_fails_when_a_target_is_missed(monkeypatch):
    """A benchmark reporting ``target_met`` False: its figures are printed, then the command
    ends in an error naming the target; None (below the target's size) and True pass."""
    import contextlib

    monkeypatch.setattr(benchmarks, "scratch_database", contextlib.nullcontext)
    for met in (False, None, True):
        benchmarks.register(
            benchmarks.Benchmark(
                name="targeted",
                description="a benchmark with a target",
                run=lambda met=met: {"ratio": 4.2, "target": "ratio ≤ 3", "target_met": met},
            )
        )
        out = StringIO()
        if met is False:
            with pytest.raises(CommandError, match="target not met: ratio ≤ 3"):
                call_command("bench", "targeted", stdout=out)
        else:
            call_command("bench", "targeted", stdout=out)
        assert "4.2" in out.getvalue()
    benchmarks._REGISTRY.pop("targeted")


def test_timed_reports_ordered_percentiles():
    calls = []
    figures = benchmarks.timed(lambda: calls.append(1), repeat=7)
    assert len(calls) == 7
    assert set(figures) == {"p50_ms", "p95_ms", "max_ms"}
    assert 0 <= figures["p50_ms"] <= figures["p95_ms"] <= figures["max_ms"]
    assert benchmarks.peak_rss_mb() > 0


@pytest.mark.django_db
def test_people_benchmark_runs_in_the_current_database():
    """The benchmark body itself (without the scratch database the command wraps it in)."""
    call_command("bench", "list", stdout=StringIO())  # registers the benchmarks
    figures = benchmarks.get("people").run(agents=20, repeat=2)
    assert figures["agents"] == 20
    for key in ("manager_page_queries", "teamlead1_page_queries"):
        assert isinstance(figures[key], int) and figures[key] > 0
    assert figures["manager_page_p50_ms"] > 0 and figures["peak_rss_mb"] > 0


@pytest.mark.sqlite_run_only
def test_bench_command_prints_json_as_the_last_line(tmp_path):
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "SECRET_KEY", "PORT", "CELERY_BROKER_URL"}
    }
    environ.update(
        TELESALES_DATA_DIR=str(tmp_path / "bench-data"),
        DJANGO_SETTINGS_MODULE="config.settings.test",
    )
    result = subprocess.run(
        [str(TELESALES), "bench", "people", "agents=20", "repeat=2", "--json"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    last = result.stdout.strip().splitlines()[-1]
    figures = json.loads(last)
    assert figures["benchmark"] == "people" and figures["agents"] == 20
    assert figures["engine"] == "sqlite3"
    assert figures["manager_page_queries"] > 0
