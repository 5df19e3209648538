"""Real background processes: a Celery worker on Redis, the embedded broker, ``telesales serve``.

Nothing here runs a task eagerly: every worker is a separate ``celery worker`` process and every
task is sent by another process (``config.celery.app`` under the production settings, where
``task_always_eager`` is off) and its result read back through the result backend.

The worker reaches a real database: a file-based SQLite database in a temporary data directory
(a copy of the one conftest's ``migrated_sqlite_dir`` migrates once per test run), or the
PostgreSQL test database when ``DATABASE_URL`` names PostgreSQL. Every process started here is
stopped in a ``finally``, and every wait is bounded.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parents[3]
WAIT = 60  # seconds: the bound on every wait for a process, a result or a page
CLEAN_ENV = {
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DATABASE_URL",
    "DJANGO_SETTINGS_MODULE",
    "PORT",
    "TELESALES_DEBUG",
    "TELESALES_DATA_DIR",
}

# Sent from its own process: config.celery.app with the production settings (not eager).
PRODUCER = """
import json, sys
import django
django.setup()
from config.celery import app
from telesales.core.tasks import health_ping_task
assert app.conf.task_always_eager is False, "the producer would run the task eagerly"
echo, queue, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
result = health_ping_task.apply_async(kwargs={"echo": echo}, **({"queue": queue} if queue else {}))
print(json.dumps({"id": result.id, "value": result.get(timeout=timeout)}))
"""


def process_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a production-style process on ``data_dir`` (SQLite, embedded broker
    unless ``extra`` says otherwise).

    Every process runs with ``data_dir`` as its working directory: kombu's filesystem
    transport keeps its exchange table in ``./control``, which must not land in the checkout.
    """
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(
        TELESALES_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="config.settings.base",
        PYTHONUNBUFFERED="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        TELESALES_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def telesales(*args: str, env: dict[str, str], timeout: float = 120) -> str:
    """Run ``telesales ARGS`` (through ``config.cli``) and return its output; fail loudly."""
    done = subprocess.run(
        [sys.executable, "-m", "config.cli", *args],
        cwd=env["TELESALES_DATA_DIR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, f"telesales {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


def send_ping(env: dict[str, str], echo: str, *, queue: str = "") -> dict:
    """Send ``core.health_ping_task`` from a separate process and wait for its result."""
    done = subprocess.run(
        [sys.executable, "-c", PRODUCER, echo, queue, str(WAIT)],
        cwd=env["TELESALES_DATA_DIR"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT + 30,
        check=False,
    )
    assert done.returncode == 0, f"the producer failed:\n{done.stdout}\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def stop(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process (and its process group), SIGKILL it if it does not go in time."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    else:
        # The leader is gone; make sure nothing it started is left behind.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)


def read_log(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else "(no log)"


# --- /proc helpers (the CI machine is Linux) --------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()  # [state, ppid, ...]


def alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in {"Z", "X"}


def descendants(pid: int) -> dict[int, str]:
    """Every live process below ``pid``, with its command line."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and fields[0] != "Z":
            parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        try:
            found[child] = Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        todo.extend(parents.get(child, []))
    return found


def wait_for(predicate, what: str, *, timeout: float = WAIT, proc=None, log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.25)
    pytest.fail(f"timed out waiting for {what}\n--- log ---\n{read_log(log) if log else ''}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # local server only
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


# --- Fixtures ---------------------------------------------------------------------------------
@pytest.fixture
def data_dir(sqlite_data_dir) -> Path:
    """A private copy of the run's migrated data directory (with an empty embedded broker)."""
    return sqlite_data_dir


@pytest.fixture
def worker_database_url(request) -> str | None:
    """PostgreSQL: the URL of the test database the suite runs on. SQLite: None (the worker
    uses the database file in its data directory)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url or not urlsplit(url).scheme.startswith("postg"):
        return None
    request.getfixturevalue("django_db_setup")
    from django.conf import settings

    name = settings.DATABASES["default"]["NAME"]
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


@pytest.fixture
def start_worker(tmp_path) -> Iterator:
    """Start ``celery -A config worker`` processes; all are stopped at teardown."""
    started: list[tuple[subprocess.Popen, Path]] = []

    def start(env: dict[str, str], *, queue: str = "") -> tuple[subprocess.Popen, Path]:
        log = tmp_path / f"worker-{len(started)}.log"
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool",
            "solo",
            "--concurrency",
            "1",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"test-{uuid.uuid4().hex[:8]}@%h",
        ]
        if queue:
            command += ["--queues", queue]
        with log.open("wb") as out:
            proc = subprocess.Popen(
                command,
                cwd=env["TELESALES_DATA_DIR"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append((proc, log))
        return proc, log

    try:
        yield start
    finally:
        for proc, _log in started:
            stop(proc)


# --- Tests -------------------------------------------------------------------------------------
@pytest.fixture
def redis_queue(redis_url) -> Iterator[str]:
    """A queue name of this test's own, so that no other worker on this Redis takes its task;
    its keys are removed afterwards (results expire after a day by themselves)."""
    import redis

    queue = f"test-{uuid.uuid4().hex}"
    try:
        yield queue
    finally:
        client = redis.Redis.from_url(redis_url, socket_connect_timeout=5, socket_timeout=5)
        with contextlib.suppress(redis.RedisError):
            client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        client.close()


@pytest.mark.suite_database
def test_a_real_worker_runs_a_task_through_redis(
    redis_url, redis_queue, data_dir, worker_database_url, start_worker
):
    """CI's proof that a task goes through Redis to a real worker and back (issue #2, item 11)."""
    extra = {"CELERY_BROKER_URL": redis_url, "CELERY_RESULT_BACKEND": redis_url}
    if worker_database_url:
        extra["DATABASE_URL"] = worker_database_url
    env = process_env(data_dir, **extra)
    queue = redis_queue
    worker, log = start_worker(env, queue=queue)

    echo = f"ping-{uuid.uuid4().hex[:8]}"
    sent = send_ping(env, echo, queue=queue)

    assert sent["value"] == {"echo": echo, "db": "ok"}
    assert worker.poll() is None, read_log(log)
    wait_for(lambda: sent["id"] in read_log(log), "the worker's log of the task", log=log)
    assert re.search(rf"core\.health_ping_task\[{sent['id']}\] succeeded", read_log(log))
    assert "redis://" in read_log(log)


@pytest.mark.sqlite_run_only
def test_the_embedded_broker_needs_no_server(data_dir, start_worker):
    """No CELERY_BROKER_URL: the broker and results live in the data directory."""
    env = process_env(data_dir)
    worker, log = start_worker(env)

    echo = f"embedded-{uuid.uuid4().hex[:8]}"
    sent = send_ping(env, echo)

    assert sent["value"] == {"echo": echo, "db": "ok"}
    assert worker.poll() is None, read_log(log)
    wait_for(lambda: sent["id"] in read_log(log), "the worker's log of the task", log=log)
    assert "filesystem://" in read_log(log)
    assert (data_dir / "celery" / "results").is_dir()


@pytest.mark.sqlite_run_only
def test_serve_runs_the_web_server_and_the_worker_and_stops_on_sigterm(data_dir, tmp_path):
    """``telesales serve``: login page with its static files, the API schema, a task through
    the embedded worker; SIGTERM stops gunicorn and the worker."""
    port = free_port()
    env = process_env(data_dir, TELESALES_LOG_LEVEL="WARNING")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "config.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=data_dir,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def login_page():
            try:
                status, _headers, body = http_get(f"{base}/accounts/login/")
            except OSError:
                return None
            return body.decode() if status == 200 else None

        html = wait_for(login_page, "the login page", timeout=120, proc=serve, log=log)
        assert 'name="password"' in html

        static_urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
        assert any(u.endswith(".css") for u in static_urls), static_urls
        for url in static_urls:
            status, headers, body = http_get(base + url)
            assert status == 200, f"{url} answered {status}"
            assert body
            if url.endswith(".css"):
                assert headers.get("Content-Type", "").startswith("text/css")

        status, headers, body = http_get(f"{base}/api/v1/openapi.json")
        assert status == 200
        schema = json.loads(body)
        assert str(schema["openapi"]).startswith("3.")
        assert schema["paths"]

        sent = send_ping(env, "served")
        assert sent["value"] == {"echo": "served", "db": "ok"}

        children = wait_for(
            lambda: (
                (found := descendants(serve.pid))
                and any("gunicorn" in c for c in found.values())
                and any("celery" in c for c in found.values())
                and found
            ),
            "gunicorn and the celery worker",
            proc=serve,
            log=log,
        )

        serve.send_signal(signal.SIGTERM)
        try:
            code = serve.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve did not stop within {WAIT}s of SIGTERM\n{read_log(log)}")
        assert code == 0, read_log(log)
        deadline = time.monotonic() + 20
        while (left := {p: c for p, c in children.items() if alive(p)}) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.25)
        assert not left, f"still running after serve stopped: {left}"
    finally:
        stop(serve)
