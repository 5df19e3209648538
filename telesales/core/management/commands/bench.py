"""``telesales bench NAME [--json]``: run a benchmark from ``bench/`` and print its figures.

Benchmarks run in a throw-away database (the test database of the configured engine), never
in the center's own data. ``--json`` prints one JSON object as the last line. A benchmark
that reports ``target_met`` False (its ``target`` missed at the size it names) ends in an
error after its figures.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from telesales.core.benchmarks import available, get
from telesales.core.commands import JsonErrors


class Command(JsonErrors, BaseCommand):
    help = "Run a benchmark and print its figures (NAME, or 'list')."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Benchmark name, or 'list'.")
        parser.add_argument("--json", action="store_true", help="Last line: one JSON object.")
        parser.add_argument(
            "options",
            nargs=argparse.REMAINDER,
            help="Options of the benchmark: --rows 1000 (or rows=1000).",
        )

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
        params = _parse_options(
            name, bench.defaults, options["options"], bench.choices, bench.minimums
        )
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
        if options["json"] or "--json" in options["options"]:
            self.stdout.write(json.dumps(figures, ensure_ascii=False, default=str))
        sys.stdout.flush()
        if figures.get("target_met") is False:
            # The figures are printed first: a missed target is read, then the exit status
            # says it (a benchmark reports ``target_met`` None below its target's size).
            raise CommandError(f"target not met: {figures.get('target', '?')}")


def _parse_options(
    name: str,
    defaults: dict,
    raw: list[str],
    choices: dict | None = None,
    minimums: dict | None = None,
) -> dict:
    """Read ``--key value``, ``--key=value`` and ``key=value`` into typed parameters; an option
    with ``choices`` must take one of them, one with a minimum may not go below it."""
    params: dict = {}
    items = list(raw)
    allowed = ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in defaults.items()) or "nothing"
    while items:
        item = items.pop(0)
        if item == "--json":
            continue
        if item.startswith("--"):
            key, sep, value = item[2:].partition("=")
            if not sep:
                if not items:
                    raise CommandError(f"option --{key} needs a value")
                value = items.pop(0)
        else:
            key, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"unexpected '{item}'; '{name}' takes {allowed}")
        key = key.replace("-", "_")
        if key not in defaults:
            raise CommandError(f"unknown option '{key}'; '{name}' takes {allowed}")
        kind = type(defaults[key])
        try:
            params[key] = kind(value)
        except ValueError as exc:
            raise CommandError(f"option --{key}: '{value}' is not a {kind.__name__}") from exc
        if kind is float and not math.isfinite(params[key]):
            raise CommandError(
                f"option --{key.replace('_', '-')}: '{value}' is not a finite number"
            )
        least = (minimums or {}).get(key)
        if least is not None and not params[key] >= least:  # also refuses nan
            flag = key.replace("_", "-")
            raise CommandError(f"option --{flag}: '{value}' is below the minimum, {least}")
        allowed_values = (choices or {}).get(key)
        if allowed_values and params[key] not in allowed_values:
            raise CommandError(
                f"option --{key}: '{value}' is not one of {', '.join(map(str, allowed_values))}"
            )
    return params
