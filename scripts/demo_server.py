"""A throw-away demo center served on a free port, for the scripts that drive it from outside
(``screenshots.py``, ``fuzz_api.py``): bootstrap and seed in a data directory of its own,
``telesales serve``, wait for ``/health/``, stop it and its worker whatever happens.

SQLite and the embedded task broker, whatever ``DATABASE_URL`` or ``CELERY_BROKER_URL`` say in
the caller's shell.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, suppress
from pathlib import Path

#: Variables that would point the throw-away center at real services or other settings.
CLEARED_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DJANGO_SETTINGS_MODULE",
    "TELESALES_DEBUG",
    "PORT",
)
#: What the messages start with: the calling script's name.
PREFIX = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] else "demo"


def log(message: str) -> None:
    print(f"{PREFIX}: {message}", flush=True)


def telesales_command() -> list[str]:
    """The ``telesales`` console script of this interpreter, or the same entry point via -m."""
    script = Path(sys.executable).with_name("telesales")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "config.cli"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def center_environment(data_dir: Path, database_url: str = "") -> dict[str, str]:
    """The environment of the throw-away center: its data directory, SQLite unless a
    ``database_url`` (an empty PostgreSQL database of its own) is given."""
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_VARIABLES}
    env["TELESALES_DATA_DIR"] = str(data_dir)
    if database_url:
        env["DATABASE_URL"] = database_url
    return env


def clock_prefix(offset_seconds: int) -> list[str]:
    """What to run the center's commands under so that their clock is ``offset_seconds``
    from the real one (libfaketime's ``faketime``; every process of the center gets the same
    offset), or nothing for no offset. Its monotonic clock is faked too: with it left alone
    (``DONT_FAKE_MONOTONIC``) Python's ``time.sleep`` fails with EINVAL under libfaketime
    0.9.10."""
    if not offset_seconds:
        return []
    return ["faketime", "-f", f"{offset_seconds:+d}"]


def run_step(
    args: list[str], *, env: dict[str, str], cwd: Path, prefix: list[str] | None = None
) -> None:
    """Run one ``telesales`` command; on failure show its output and stop."""
    log(" ".join(["telesales", *args]))
    done = subprocess.run(
        [*(prefix or []), *telesales_command(), *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stdout + done.stderr)
        raise SystemExit(f"{PREFIX}: 'telesales {' '.join(args)}' failed ({done.returncode})")


def wait_until_up(base_url: str, server: subprocess.Popen, log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
            raise SystemExit(f"{PREFIX}: the server stopped (exit {server.returncode})")
        try:
            with urllib.request.urlopen(f"{base_url}/health/", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
    raise SystemExit(f"{PREFIX}: the server did not answer within {timeout:.0f} s")


def stop(server: subprocess.Popen) -> None:
    """``telesales serve`` stops gunicorn and the worker on SIGTERM; kill the group if it hangs."""
    try:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                log("the server did not stop within 30 s; killing it")
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # whatever is left of its process group
        server.wait()


@contextmanager
def demo_server(data_dir: Path, *, timeout: float, database_url: str = "", clock_offset: int = 0):
    """Bootstrap and seed a demo center in ``data_dir`` (and ``database_url`` when given),
    serve it, yield its base URL. ``clock_offset``: seconds the center's clock runs ahead
    (or behind, negative) of the real one, for every step (``clock_prefix``)."""
    env = center_environment(data_dir, database_url)
    prefix = clock_prefix(clock_offset)
    # The working directory is the data directory, so that nothing the server or the worker
    # writes relative to it lands in the repository.
    run_step(["bootstrap"], env=env, cwd=data_dir, prefix=prefix)
    run_step(["seed-demo"], env=env, cwd=data_dir, prefix=prefix)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = data_dir / "serve.log"
    log(f"telesales serve --port {port}")
    with log_path.open("w") as out:
        server = subprocess.Popen(
            [*prefix, *telesales_command(), "serve", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until_up(base_url, server, log_path, timeout)
        yield base_url
    finally:
        log("stopping the server")
        stop(server)
