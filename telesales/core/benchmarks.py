"""The benchmark harness: a registry, a throw-away database and measuring helpers."""

from __future__ import annotations

import contextlib
import re
import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test import override_settings
from django.test.utils import setup_test_environment, teardown_test_environment


@dataclass
class Benchmark:
    name: str
    description: str
    run: Callable[..., dict]
    defaults: dict = field(default_factory=dict)
    #: Options that take one of a few values: option name → the values allowed.
    choices: dict = field(default_factory=dict)
    #: The least value of a numeric option (option name → minimum); an option not named here
    #: may be any number.
    minimums: dict = field(default_factory=dict)
    #: On SQLite, run on this file in DATA_DIR (as a center's database is) instead of the
    #: in-memory test database, so that memory and speed mean what they mean in production.
    sqlite_file: str = ""

    def execute(self, **params) -> dict:
        if not self.sqlite_file or connection.vendor != "sqlite":
            with scratch_database():
                return self.run(**params)
        test = connection.settings_dict.setdefault("TEST", {})
        previous = test.get("NAME")
        test["NAME"] = str(Path(settings.DATA_DIR) / self.sqlite_file)
        try:
            with scratch_database():
                return self.run(**params)
        finally:
            test["NAME"] = previous


_REGISTRY: dict[str, Benchmark] = {}


def register(bench: Benchmark) -> None:
    _REGISTRY[bench.name] = bench


def available() -> list[Benchmark]:
    return sorted(_REGISTRY.values(), key=lambda b: b.name)


def get(name: str) -> Benchmark | None:
    return _REGISTRY.get(name)


@contextlib.contextmanager
def scratch_database():
    """Create the engine's test database, migrate it, and drop it afterwards."""
    old_name = connection.settings_dict["NAME"]
    # Pages render without collected static files (a benchmark may run before bootstrap).
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    plain_static = override_settings(STORAGES=storages)
    plain_static.enable()
    setup_test_environment()
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()
        plain_static.disable()


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def children_peak_rss_mb() -> float:
    """Peak resident memory of the largest child process this one has waited for (a
    benchmark's forked workers), in MB; 0.0 when there was none."""
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


def timed(fn: Callable[[], object], repeat: int) -> dict:
    """Run ``fn`` ``repeat`` times; return p50/p95/max in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return {
        "p50_ms": round(statistics.median(samples), 2),
        "p95_ms": round(p95, 2),
        "max_ms": round(samples[-1], 2),
    }


#: A foreign key in SQLite's ``CREATE TABLE`` as Django writes it.
REFERENCES = re.compile(r' REFERENCES "[^"]+" \("[^"]+"\)( DEFERRABLE INITIALLY DEFERRED)?')


def empty_copy_ddl(table: str, copy: str) -> list[str]:
    """Statements creating ``copy``: an empty table shaped like ``table``, with its indexes
    and checks but no foreign keys — a floor reference writes the real tables' rows into it."""
    if connection.vendor == "postgresql":
        return [f'CREATE TABLE "{copy}" (LIKE "{table}" INCLUDING ALL)']
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = %s AND sql IS NOT NULL "
            "ORDER BY type = 'index'",
            [table],
        )
        found = cursor.fetchall()
    statements = []
    for kind, name, sql in found:
        sql = sql.replace(f'"{table}"', f'"{copy}"', 1)
        if kind == "index":
            sql = sql.replace(f'"{name}"', f'"{copy}_{name}"', 1)
        else:
            sql = re.sub(
                r' REFERENCES "[^"]+" \("[^"]+"\)( DEFERRABLE INITIALLY DEFERRED)?', "", sql
            )
        statements.append(sql)
    return statements
