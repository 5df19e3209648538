"""Reading the environment before Django starts, ``telesales doctor`` and the CLI entry point.

Behaviour that re-reads the settings (a bad ``DATABASE_URL`` at startup, the ``telesales``
command) runs in a subprocess with its own data directory and without ``DATABASE_URL``, so it
never touches the test database.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from config.environment import (
    NUMBER_VARIABLES,
    EnvironmentProblem,
    check_database_url,
    read_environment,
)
from telesales.core.doctor import print_report

REPO = Path(__file__).resolve().parents[3]
TELESALES = Path(sys.executable).parent / "telesales"
OUR_VARIABLES = (
    "DATABASE_URL",
    "SECRET_KEY",
    "PORT",
    "CELERY_BROKER_URL",
    "TELESALES_DATA_DIR",
    "DJANGO_SETTINGS_MODULE",
)


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment with its own data directory."""
    for name in OUR_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("TELESALES_DATA_DIR", str(data))
    return data


def _problems(environment) -> dict[str, str]:
    return {p.variable: p.problem for p in environment.problems}


def _run(args: list[str], tmp_path: Path, **variables) -> subprocess.CompletedProcess:
    """Run a command with a clean environment and a fresh data directory."""
    environ = {k: v for k, v in os.environ.items() if k not in OUR_VARIABLES}
    environ["TELESALES_DATA_DIR"] = str(tmp_path / "cli-data")
    environ.update(variables)
    return subprocess.run(
        args, cwd=REPO, env=environ, capture_output=True, text=True, timeout=120, check=False
    )


# --- The data directory and the secret key ---------------------------------------------------
def test_clean_environment_has_no_problems(env):
    environment = read_environment()
    assert environment.problems == []
    assert environment.data_dir == env.resolve() and env.is_dir()
    assert environment.database_url is None and environment.database_engine == "sqlite"
    assert environment.broker_url is None


def test_secret_key_is_generated_once_and_reused(env):
    first = read_environment().secret_key
    path = env / "secret_key"
    assert first and len(first) >= 32
    assert path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_environment().secret_key == first
    assert read_environment().secret_key == first


def test_a_damaged_secret_key_file_is_replaced(env):
    env.mkdir(parents=True)
    (env / "secret_key").write_text("short")
    key = read_environment().secret_key
    assert key and len(key) >= 32 and (env / "secret_key").read_text() == key


def test_secret_key_from_the_environment_wins(env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    assert read_environment().secret_key == "k" * 40
    assert not (env / "secret_key").exists()


def test_short_secret_key_is_named(env, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "too-short")
    environment = read_environment()
    assert "SECRET_KEY" in _problems(environment)
    assert "32" in _problems(environment)["SECRET_KEY"]
    assert environment.secret_key is None


def test_relative_data_directory_is_relative_to_the_working_directory(env, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TELESALES_DATA_DIR", "rel/var")
    environment = read_environment()
    assert environment.problems == []
    assert environment.data_dir == (tmp_path / "rel" / "var").resolve()


def test_data_directory_that_is_a_file_is_named(env, monkeypatch, tmp_path):
    a_file = tmp_path / "plain-file"
    a_file.write_text("x")
    monkeypatch.setenv("TELESALES_DATA_DIR", str(a_file))
    problems = _problems(read_environment())
    assert "not a directory" in problems["TELESALES_DATA_DIR"]
    # The secret key is not attempted in a data directory that cannot be used.
    assert "SECRET_KEY" not in problems


def test_data_directory_that_cannot_be_created_is_named(env, monkeypatch, tmp_path):
    a_file = tmp_path / "plain-file"
    a_file.write_text("x")
    monkeypatch.setenv("TELESALES_DATA_DIR", str(a_file / "below"))
    problems = _problems(read_environment())
    assert "cannot create" in problems["TELESALES_DATA_DIR"]


def test_unwritable_data_directory_is_named(env, monkeypatch, tmp_path):
    if os.geteuid() == 0:
        target = Path("/proc")  # not even root may create files here
    else:
        target = tmp_path / "locked"
        target.mkdir()
        target.chmod(0o500)
    monkeypatch.setenv("TELESALES_DATA_DIR", str(target))
    problems = _problems(read_environment())
    assert "not writable" in problems["TELESALES_DATA_DIR"]


# --- DATABASE_URL ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mysql://user@host/db", "unsupported"),
        ("oracle://x", "unsupported"),
        ("localhost/telesales", "no scheme"),
        ("postgresql://", "neither a host nor a database"),
        ("postgresql://host:abc/db", "not a number"),
        ("postgresql://host:99999/db", "port"),
        ("postgresql://host:0/db", "out of range"),
        ("postgresql://user@host:5432", "names no database"),
        ("postgresql://user@host:5432/", "names no database"),
    ],
)
def test_bad_database_urls_are_named(env, monkeypatch, url, words):
    problem = check_database_url(url)
    assert isinstance(problem, EnvironmentProblem)
    assert problem.variable == "DATABASE_URL" and words in problem.problem
    assert str(problem).startswith("DATABASE_URL: ")
    monkeypatch.setenv("DATABASE_URL", url)
    assert words in _problems(read_environment())["DATABASE_URL"]


@pytest.mark.parametrize(
    ("url", "engine"),
    [
        ("postgresql://u:p@127.0.0.1:5432/telesales", "postgresql"),
        ("postgres://db.example/telesales", "postgresql"),
        ("pgsql://db/telesales", "postgresql"),
        ("sqlite:////tmp/x.sqlite3", "sqlite"),
    ],
)
def test_good_database_urls(env, monkeypatch, url, engine):
    assert check_database_url(url) is None
    monkeypatch.setenv("DATABASE_URL", url)
    environment = read_environment()
    assert environment.problems == [] and environment.database_engine == engine


@pytest.mark.parametrize("port", ["abc", "0", "65536", "-1", "80.5", "8000x"])
def test_bad_port_is_named(env, monkeypatch, port):
    monkeypatch.setenv("PORT", port)
    problems = _problems(read_environment())
    assert port in problems["PORT"]


@pytest.mark.parametrize("port", ["1", "8000", "65535", " 8080 "])
def test_good_ports(env, monkeypatch, port):
    monkeypatch.setenv("PORT", port)
    assert read_environment().problems == []


@pytest.mark.parametrize("name", sorted(NUMBER_VARIABLES))
@pytest.mark.parametrize("position", ["below", "above", "text"])
def test_bad_whole_number_settings_are_named_with_their_range(env, monkeypatch, name, position):
    default, low, high = NUMBER_VARIABLES[name]
    raw = {"below": str(low - 1), "above": str(high + 1), "text": "12x"}[position]
    if position == "below" and low == 0:
        raw = "-1"
    monkeypatch.setenv(name, raw)
    environment = read_environment()
    assert f"from {low} to {high}" in _problems(environment)[name]
    assert environment.numbers[name] == default
    monkeypatch.setenv(name, str(high))
    environment = read_environment()
    assert environment.problems == [] and environment.numbers[name] == high


def test_unknown_reveal_roles_are_named(env, monkeypatch):
    monkeypatch.setenv("TELESALES_PHONE_REVEAL_ROLES", "center_manager, boss")
    environment = read_environment()
    assert "boss" in _problems(environment)["TELESALES_PHONE_REVEAL_ROLES"]
    assert environment.reveal_roles == ["center_manager"]


def test_bad_broker_is_named(env, monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "http://queue.example")
    assert "CELERY_BROKER_URL" in _problems(read_environment())
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    environment = read_environment()
    assert environment.problems == [] and environment.broker_url.startswith("redis://")


def test_every_problem_is_reported_at_once(env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "mysql://x/y")
    monkeypatch.setenv("PORT", "http")
    monkeypatch.setenv("SECRET_KEY", "short")
    monkeypatch.setenv("CELERY_BROKER_URL", "ftp://x")
    assert set(_problems(read_environment())) == {
        "DATABASE_URL",
        "PORT",
        "SECRET_KEY",
        "CELERY_BROKER_URL",
    }


# --- telesales doctor (in process) -------------------------------------------------------------
def test_doctor_names_environment_problems_without_touching_the_database():
    out = StringIO()
    problems = [
        EnvironmentProblem("DATABASE_URL", "unsupported database 'mysql'"),
        EnvironmentProblem("PORT", "'x' is not a port number"),
    ]
    assert print_report(env_problems=problems, stdout=out) == 1
    text = out.getvalue()
    assert "[PROBLEM] DATABASE_URL: unsupported database 'mysql'" in text
    assert "[PROBLEM] PORT" in text
    assert "not checked" in text


@pytest.mark.django_db
def test_doctor_passes_on_a_migrated_database():
    out = StringIO()
    assert print_report(env_problems=[], stdout=out) == 0, out.getvalue()
    text = out.getvalue()
    assert "[ok     ] migrations: all applied" in text
    assert "All checks passed." in text
    assert "PROBLEM" not in text


@pytest.mark.django_db
def test_doctor_reports_pending_migrations():
    MigrationRecorder(connection).record_unapplied("core", "0002_role_groups")
    out = StringIO()
    assert print_report(env_problems=[], stdout=out) == 1
    text = out.getvalue()
    assert "[PROBLEM] migrations: 1 pending (core.0002_role_groups)" in text
    assert "telesales bootstrap" in text
    with pytest.raises(SystemExit) as exc:
        call_command("doctor", stdout=StringIO())
    assert exc.value.code == 1


@pytest.mark.django_db
def test_doctor_reports_an_unreachable_redis(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    out = StringIO()
    assert print_report(env_problems=[], stdout=out) == 1
    assert "[PROBLEM] CELERY_BROKER_URL: Redis does not answer" in out.getvalue()


# --- Startup and the telesales command (subprocesses) ---------------------------------------
@pytest.mark.sqlite_run_only
def test_startup_with_a_bad_database_url_names_the_variable(tmp_path):
    result = _run(
        [sys.executable, "-c", "import django; django.setup()"],
        tmp_path,
        DJANGO_SETTINGS_MODULE="config.settings.base",
        DATABASE_URL="mysql://x",
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr and "unsupported" in result.stderr


@pytest.mark.sqlite_run_only
def test_cli_doctor_with_a_bad_database_url_exits_non_zero(tmp_path):
    result = _run([str(TELESALES), "doctor"], tmp_path, DATABASE_URL="mysql://x")
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.sqlite_run_only
def test_cli_doctor_names_an_unusable_data_directory(tmp_path):
    a_file = tmp_path / "not-a-dir"
    a_file.write_text("x")
    result = _run([str(TELESALES), "doctor"], tmp_path, TELESALES_DATA_DIR=str(a_file))
    assert result.returncode != 0
    assert "TELESALES_DATA_DIR" in result.stdout and "not a directory" in result.stdout


@pytest.mark.sqlite_run_only
def test_cli_commands_refuse_to_start_with_a_bad_setting(tmp_path):
    result = _run([str(TELESALES), "check"], tmp_path, PORT="eighty")
    assert result.returncode == 2
    assert "configuration error: PORT" in result.stderr
    assert "telesales doctor" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.sqlite_run_only
def test_cli_doctor_on_a_fresh_data_directory_reports_pending_migrations(tmp_path):
    result = _run([str(TELESALES), "doctor"], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[PROBLEM] migrations:" in result.stdout and "pending" in result.stdout
    assert "telesales bootstrap" in result.stdout


@pytest.mark.sqlite_run_only
def test_cli_turns_hyphens_into_command_names(tmp_path):
    result = _run([str(TELESALES), "seed-demo", "--agents", "3"], tmp_path)
    assert result.returncode != 0
    assert "--agents must be between 6 and 100000" in result.stderr


def test_the_settings_know_the_same_role_names_as_the_roles_module():
    """``config.environment`` checks ``TELESALES_PHONE_REVEAL_ROLES`` before Django (and so
    ``telesales.core.roles``) is loaded, from its own list of names: a role added to one and
    not the other must fail here, not as a refused setting or a 500 later."""
    from config.environment import ROLE_NAMES
    from telesales.core.roles import Role

    assert {role.value for role in Role} == ROLE_NAMES
