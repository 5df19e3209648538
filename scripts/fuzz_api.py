"""Fuzz the JSON API of a throw-away demo center with schemathesis, once per role.

    python scripts/fuzz_api.py                       # every role below, 20 examples each
    python scripts/fuzz_api.py --roles manager,agent1 --examples 50 --keep
    python scripts/fuzz_api.py --database-url postgresql://postgres@127.0.0.1/fuzz_empty_db

For each role it issues an API token (``telesales token-create``) and runs
``schemathesis run …/api/v1/openapi.json`` with the ``not_a_server_error`` check: every
operation, generated valid and invalid input, stateful sequences. A 500 answer, or no answer
within schemathesis' request timeout, fails the run; the server's log then holds the
tracebacks (printed at the end, and kept with ``--keep``).

schemathesis is not a dependency of Telesales (it pins its own hypothesis); install it apart,
for example ``python3 -m venv /tmp/st && /tmp/st/bin/pip install schemathesis``, and pass
``--schemathesis /tmp/st/bin/schemathesis`` (default: the one on ``PATH``). The run writes
into the throw-away center only; it takes a few minutes per role.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from demo_server import center_environment, demo_server, log, telesales_command

ROLES = ("manager", "data", "hr", "renewal", "teamlead1", "agent1")


def token_for(username: str, data_dir: Path, database_url: str) -> str:
    done = subprocess.run(
        [*telesales_command(), "token-create", username, "--name", "fuzz"],
        env=center_environment(data_dir, database_url),
        cwd=data_dir,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"fuzz_api: no token for {username}: {done.stderr[-500:]}")
    return lines[-1].strip()


def server_errors(log_path: Path) -> list[str]:
    """The last line of each traceback in the server's log."""
    lines = log_path.read_text(errors="replace").splitlines()
    out, inside = [], False
    for number, line in enumerate(lines):
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line.startswith((" ", "\t")):
            out.append(f"{log_path.name}:{number + 1}: {line}")
            inside = False
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--roles", default=",".join(ROLES), help="comma-separated demo logins")
    parser.add_argument("--examples", type=int, default=20, help="examples per operation")
    parser.add_argument("--schemathesis", default=shutil.which("schemathesis") or "")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    parser.add_argument(
        "--database-url",
        default="",
        help="serve from this (empty, throw-away) PostgreSQL database instead of SQLite",
    )
    parser.add_argument("--timeout", type=float, default=90, help="seconds to wait for the server")
    args = parser.parse_args(argv)
    if not args.schemathesis or not Path(args.schemathesis).exists():
        raise SystemExit(
            "fuzz_api: schemathesis not found; install it apart (python3 -m venv /tmp/st && "
            "/tmp/st/bin/pip install schemathesis) and pass --schemathesis /tmp/st/bin/schemathesis"
        )
    data_dir = Path(tempfile.mkdtemp(prefix="telesales-fuzz-"))
    log(f"data directory {data_dir}")
    failed: list[str] = []
    try:
        with demo_server(
            data_dir, timeout=args.timeout, database_url=args.database_url
        ) as base_url:
            for username in [r.strip() for r in args.roles.split(",") if r.strip()]:
                token = token_for(username, data_dir, args.database_url)
                log(f"schemathesis as {username} ({args.examples} examples per operation)")
                done = subprocess.run(
                    [
                        args.schemathesis,
                        "run",
                        f"{base_url}/api/v1/openapi.json",
                        "--header",
                        f"Authorization: Bearer {token}",
                        "--checks",
                        "not_a_server_error",
                        "--max-examples",
                        str(args.examples),
                        "--workers",
                        "2",
                    ],
                    cwd=data_dir,
                    check=False,
                )
                if done.returncode != 0:
                    failed.append(username)
        for line in server_errors(data_dir / "serve.log"):
            log(line)
    finally:
        if args.keep:
            log(f"kept {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    if failed:
        log(f"failures as: {', '.join(failed)}")
        return 1
    log("no server error and no timeout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
