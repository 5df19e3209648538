"""``telesales bench NAME [--json]``: run a benchmark from ``bench/`` and print its figures.

Benchmarks run in a throw-away database (the test database of the configured engine), never
in the center's own data. ``--json`` prints one JSON object as the last line.
"""

from __future__ import annotations

import json
import platform
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from telesales.core.benchmarks import available, get


class Command(BaseCommand):
    help = "Run a benchmark and print its figures (NAME, or 'list')."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Benchmark name, or 'list'.")
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")
        parser.add_argument("options", nargs="*", help="key=value options for the benchmark.")

    def handle(self, *args, **options):
        for module in settings.TELESALES_BENCHMARK_MODULES:
            import_string(module + ".register")()
        name = options["name"]
        if name == "list":
            for bench in available():
                self.stdout.write(f"{bench.name}: {bench.description}")
            return
        bench = get(name)
        if bench is None:
            names = ", ".join(b.name for b in available()) or "none"
            raise CommandError(f"no benchmark named '{name}' (available: {names})")
        params = {}
        for item in options["options"]:
            key, sep, value = item.partition("=")
            if not sep or key not in bench.defaults:
                allowed = ", ".join(f"{k}={v}" for k, v in bench.defaults.items())
                raise CommandError(f"unknown option '{item}'; '{name}' takes {allowed}")
            try:
                params[key] = type(bench.defaults[key])(value)
            except ValueError as exc:
                raise CommandError(
                    f"option {key}: '{value}' is not a {type(bench.defaults[key]).__name__}"
                ) from exc
        figures = bench.execute(**{**bench.defaults, **params})
        figures = {
            "benchmark": name,
            "engine": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "python": platform.python_version(),
            **figures,
        }
        width = max(len(k) for k in figures)
        for key, value in figures.items():
            self.stdout.write(f"{key.ljust(width)}  {value}")
        if options["json"]:
            self.stdout.write(json.dumps(figures, ensure_ascii=False, default=str))
        sys.stdout.flush()
