"""The checks behind ``telesales doctor``. Each says what is wrong and how to fix it."""

from __future__ import annotations

import sys
from typing import TextIO


def _line(out: TextIO, ok: bool | None, what: str, detail: str = "") -> None:
    mark = {True: "ok     ", False: "PROBLEM", None: "note   "}[ok]
    out.write(f"[{mark}] {what}{': ' + detail if detail else ''}\n")


def print_report(*, env_problems: list, stdout: TextIO | None = None) -> int:
    """Print one line per check; return 0 when all pass, 1 otherwise."""
    out = stdout or sys.stdout
    failures = 0
    for problem in env_problems:
        _line(out, False, problem.variable, problem.problem)
        failures += 1
    if env_problems:
        _line(
            out, None, "database and migrations", "not checked until the settings above are fixed"
        )
        return 1

    from django.conf import settings
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    _line(out, True, "TELESALES_DATA_DIR", str(settings.DATA_DIR))
    engine = connection.vendor
    where = settings.DATABASES["default"].get("NAME")
    try:
        connection.ensure_connection()
        _line(out, True, f"database ({engine})", str(where))
    except Exception as exc:
        variable = "DATABASE_URL" if engine != "sqlite" else "TELESALES_DATA_DIR"
        _line(out, False, f"database ({engine})", f"cannot connect ({variable}): {exc}".strip())
        return 1
    try:
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        _line(out, False, "migrations", f"cannot read the migration state: {exc}")
        return 1
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        more = f" and {len(plan) - 5} more" if len(plan) > 5 else ""
        _line(
            out,
            False,
            "migrations",
            f"{len(plan)} pending ({names}{more}); run 'telesales bootstrap'",
        )
        failures += 1
    else:
        _line(out, True, "migrations", "all applied")
    broker = settings.CELERY_BROKER_URL
    if broker.startswith("redis"):
        try:
            import redis

            redis.Redis.from_url(broker, socket_connect_timeout=2).ping()
            _line(out, True, "CELERY_BROKER_URL", "Redis answers")
        except Exception as exc:
            _line(out, False, "CELERY_BROKER_URL", f"Redis does not answer: {exc}")
            failures += 1
    else:
        _line(out, True, "background tasks", "embedded broker in the data directory")
    manifest = settings.STATIC_ROOT / "staticfiles.json"
    if not manifest.exists():
        _line(out, None, "static files", "not collected yet; 'telesales bootstrap' collects them")
    out.write("All checks passed.\n" if not failures else f"{failures} problem(s) found.\n")
    return 1 if failures else 0
