"""Fixtures shared by every app's tests.

Besides the demo-center fixtures this file provides the real-service fixtures:

- ``browser``: one headless Chromium per test session (Playwright), ``/usr/bin/chromium``
  when it exists, else Playwright's own download; ``page`` gives each test a new context.
- ``redis_url``: the local Redis (127.0.0.1:6379, a spare database number).
- a session check that ``DATABASE_URL=postgresql://…`` really runs the suite on PostgreSQL.
- ``migrated_sqlite_dir``: a data directory migrated once for the whole run (tests copy it,
  ``sqlite_data_dir``), and the mark ``sqlite_run_only`` of a test whose processes run on a
  SQLite database of their own whatever the suite's database (the SQLite run covers it).
- On the PostgreSQL run, the tests that use no database are skipped (they ran on the SQLite
  run; PostgreSQL cannot change them) unless marked ``suite_database``: a test that hands the
  suite's database to a process it starts.

With ``CI=true`` a missing service FAILS the tests that need it; elsewhere they are skipped.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
MARKERS = {
    "browser": "drives Chromium through Playwright against a live server",
    "worker": "runs a real Celery worker process",
    "sqlite_run_only": (
        "its processes run on a SQLite database of their own whatever the suite's database: "
        "skipped on the PostgreSQL run, which would only repeat it"
    ),
    "suite_database": (
        "reaches the suite's database without a database fixture (a process it starts): "
        "kept on the PostgreSQL run"
    ),
}

ROOT = Path(__file__).resolve().parent

# Serve the live server on the IPv4 loopback so that Chromium never tries ::1 first.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def service_missing(what: str) -> NoReturn:
    """Fail under CI=true (the service must be there); skip on a developer's machine."""
    if in_ci():
        pytest.fail(f"{what} (CI=true: the service must be available)", pytrace=False)
    pytest.skip(what)


def _postgres_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url and urlsplit(url).scheme.lower() in {"postgres", "postgresql", "pgsql", "postgis"}:
        return url
    return None


def pytest_configure(config: pytest.Config) -> None:
    declared = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    for name, text in MARKERS.items():
        if name not in declared:
            config.addinivalue_line("markers", f"{name}: {text}")


#: The fixtures through which a test reaches the suite's database.
DATABASE_FIXTURES = frozenset(
    {
        "db",
        "transactional_db",
        "django_db_reset_sequences",
        "django_db_serialized_rollback",
        "live_server",
    }
)


def uses_the_suite_database(item: pytest.Item) -> bool:
    """Whether a test can reach the suite's database: through a database fixture (directly or
    through another fixture), the ``django_db`` mark, or the ``suite_database`` mark of a
    test that hands the database to a process of its own."""
    names = set(getattr(item, "fixturenames", ()))
    return bool(
        names & DATABASE_FIXTURES
        or item.get_closest_marker("django_db")
        or item.get_closest_marker("suite_database")
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL run (CI runs the suite on SQLite, then on PostgreSQL), skip what
    that run would only repeat: tests that cannot reach the database (pytest-django refuses
    them any query), and tests whose processes use a SQLite database of their own."""
    if _postgres_url() is None:
        return
    own_sqlite = pytest.mark.skip(
        reason="its processes run on their own SQLite database: the SQLite run covers it"
    )
    no_database = pytest.mark.skip(
        reason="uses no database: the SQLite run covers it (PostgreSQL cannot change it)"
    )
    for item in items:
        if item.get_closest_marker("sqlite_run_only"):
            item.add_marker(own_sqlite)
        elif not uses_the_suite_database(item):
            item.add_marker(no_database)


def pytest_report_header(config: pytest.Config) -> list[str]:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return [f"telesales: database engine {engine}, CI={'true' if in_ci() else 'false'}"]


def pytest_sessionstart(session: pytest.Session) -> None:
    """With DATABASE_URL=postgresql://…, make sure the run is really on a reachable PostgreSQL."""
    from django.conf import settings

    # WhiteNoise warns on every request when STATIC_ROOT is missing (tests use the finders).
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
    if _postgres_url() is None:
        return
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" not in engine:
        pytest.exit(
            f"DATABASE_URL names PostgreSQL but the tests would run on {engine}", returncode=3
        )
    import psycopg

    db = settings.DATABASES["default"]
    try:
        with psycopg.connect(
            host=db.get("HOST") or None,
            port=db.get("PORT") or None,
            user=db.get("USER") or None,
            password=db.get("PASSWORD") or None,
            dbname="postgres",
            connect_timeout=10,
        ) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        where = f"{db.get('HOST') or 'local socket'}:{db.get('PORT') or 5432}"
        pytest.exit(
            f"DATABASE_URL names PostgreSQL at {where}, which cannot be reached: "
            f"{str(exc).strip()}",
            returncode=3,
        )


# --- Demo data ------------------------------------------------------------------------------
@pytest.fixture
def demo(db):
    """A small demo center: 6 sales teams (12 agents), every back-office role, seats.

    Logins (password 'demo'): manager, teamlead1…6, agent1…12, recruiter, hr, trainer,
    planner, data, renewal.
    """
    from telesales.org.demo import seed_org_demo

    seed_org_demo(agents=12)
    return get_user_model().objects


@pytest.fixture
def user_named(demo):
    """Fetch a demo login by username, fresh (no cached roles)."""

    def get(username: str):
        return get_user_model().objects.get(username=username)

    return get


@pytest.fixture
def client_for(client, user_named):
    """A Django test client signed in as the named demo user."""

    def make(username: str):
        from django.test import Client

        c = Client()
        c.force_login(user_named(username))
        return c

    return make


@pytest.fixture(autouse=True)
def _role_groups_after_flush(request: pytest.FixtureRequest) -> None:
    """Recreate the role groups (a data migration) that a transactional test's flush removed.

    Transactional tests (``transactional_db``, ``live_server``) empty every table afterwards,
    so the groups made by ``core.0002_role_groups`` are gone for the next such test. That
    includes tests marked ``django_db(transaction=True)`` without naming a fixture.
    """
    names = request.fixturenames
    marker = request.node.get_closest_marker("django_db")
    marked = marker is not None and bool(marker.kwargs.get("transaction", False))
    if "transactional_db" not in names and "live_server" not in names and not marked:
        return
    request.getfixturevalue("transactional_db")
    from django.contrib.auth.models import Group

    from telesales.core.roles import Role

    for role in Role:
        Group.objects.get_or_create(name=role.value)


# --- Browser (Playwright + Chromium) ----------------------------------------------------------
@pytest.fixture(scope="session")
def browser() -> Iterator:
    """One headless Chromium for the whole session; tests open a new context each."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - the test extras include playwright
        service_missing(f"Playwright is not installed: {exc}")
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
    # while a loop runs unless told that it is safe (it is: the loop is Playwright's).
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    options: dict = {"headless": True, "args": CHROMIUM_ARGS}
    if CHROMIUM.exists():
        options["executable_path"] = str(CHROMIUM)
    try:
        chromium = playwright.chromium.launch(**options)
    except Exception as exc:
        where = options.get("executable_path", "Playwright's own chromium")
        problem = f"Chromium ({where}) cannot be launched: {str(exc).splitlines()[0]}"
        chromium = None
    if chromium is None:
        playwright.stop()
        service_missing(problem)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


class PageProblems(list):
    """What went wrong while a page was open: failed requests, HTTP errors, JS errors."""

    def assert_none(self, *, allow_status: set[int] = frozenset()) -> None:
        real = [p for p in self if not (p[0] == "status" and p[1] in allow_status)]
        assert not real, "the browser saw problems:\n" + "\n".join(map(str, real))


#: Held by the live server while it handles a request, and by a test while it reads the
#: database between page actions (``page.quiet()``).
LIVE_SERVER = threading.RLock()


@pytest.fixture
def page(browser, live_server, monkeypatch) -> Iterator:
    """A fresh browser context and page on the live server; records every page problem.

    ``page.problems`` lists failed requests, 4xx/5xx responses, JavaScript errors and any
    request that left the live server (nothing may go to the internet).

    The live server handles one request at a time: on SQLite its threads share the test's
    in-memory database connection, which two threads must not use at once (two requests of
    one page — a panel's refresh and a click — raced and hung CI runs). ``with
    page.quiet():`` lets the page settle and keeps the server from handling a request while
    the block reads the database.
    """
    from django.core.handlers.wsgi import WSGIHandler

    handle = WSGIHandler.__call__

    def one_at_a_time(self, environ, start_response):
        with LIVE_SERVER:
            return handle(self, environ, start_response)

    monkeypatch.setattr(WSGIHandler, "__call__", one_at_a_time)
    origin = live_server.url.rstrip("/")
    context = browser.new_context(base_url=origin, locale="en-US")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    problems = PageProblems()
    pg.on("pageerror", lambda exc: problems.append(("pageerror", str(exc))))
    pg.on(
        "requestfailed",
        # ERR_ABORTED is Chromium cancelling a request because the page navigated away
        # (say, the favicon of a page the login form has already left): not a failure.
        lambda req: (
            req.failure != "net::ERR_ABORTED"
            and problems.append(("requestfailed", req.url, req.failure))
        ),
    )
    pg.on(
        "response",
        lambda resp: resp.status >= 400 and problems.append(("status", resp.status, resp.url)),
    )
    pg.on(
        "request",
        lambda req: (
            not req.url.startswith((origin, "data:", "blob:", "about:"))
            and problems.append(("external", req.url))
        ),
    )
    pg.problems = problems

    @contextlib.contextmanager
    def quiet():
        pg.wait_for_load_state("networkidle")
        with LIVE_SERVER:
            yield

    pg.quiet = quiet
    try:
        yield pg
    finally:
        context.close()


# --- Redis ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis, on a spare database number the application never uses."""
    import redis

    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
    problem = None
    try:
        client.ping()
    except redis.RedisError as exc:
        problem = f"Redis at {REDIS_HOST}:{REDIS_PORT} does not answer: {exc}"
    finally:
        client.close()
    if problem:
        service_missing(problem)
    return url


@pytest.fixture(scope="session")
def migrated_sqlite_dir(tmp_path_factory) -> Path:
    """A data directory whose SQLite database ``telesales migrate`` brought up to date, made
    once for the whole run: the pytest-xdist workers share it (the first one to ask migrates,
    under a file lock; migrating takes seconds). Never written to: tests copy it."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # shared by the workers of one run
    target = base / "migrated-sqlite"
    with (base / "migrated-sqlite.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "telesales.sqlite3").exists():
            building = base / "migrated-sqlite.partial"
            shutil.rmtree(building, ignore_errors=True)
            building.mkdir()
            env = {
                k: v
                for k, v in os.environ.items()
                if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "TELESALES_DATA_DIR"}
            }
            env.update(
                TELESALES_DATA_DIR=str(building), DJANGO_SETTINGS_MODULE="config.settings.base"
            )
            subprocess.run(
                [sys.executable, "-m", "config.cli", "migrate", "--noinput", "-v0"],
                cwd=ROOT,
                env=env,
                check=True,
                timeout=300,
            )
            building.rename(target)
    return target


@pytest.fixture
def sqlite_data_dir(migrated_sqlite_dir, tmp_path) -> Path:
    """A private copy of ``migrated_sqlite_dir`` (``tmp_path / "data"``)."""
    target = tmp_path / "data"
    shutil.copytree(migrated_sqlite_dir, target, ignore=shutil.ignore_patterns("celery", "*-wal"))
    return target
