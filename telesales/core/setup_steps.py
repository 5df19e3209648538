"""Registries for ``telesales bootstrap`` and ``telesales seed-demo``.

Each app registers, in ``AppConfig.ready``, the reference data it needs (bootstrap) and the
demo data it contributes (seed-demo). ``core`` runs them in order without importing any app.
Steps must be idempotent: running bootstrap twice changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    name: str
    order: int
    run: Callable[..., object]


_BOOTSTRAP: dict[str, Step] = {}
_DEMO: dict[str, Step] = {}


def register_bootstrap(name: str, run: Callable[..., object], order: int = 100) -> None:
    _BOOTSTRAP[name] = Step(name, order, run)


def register_demo(name: str, run: Callable[..., object], order: int = 100) -> None:
    _DEMO[name] = Step(name, order, run)


def bootstrap_steps() -> list[Step]:
    return sorted(_BOOTSTRAP.values(), key=lambda s: (s.order, s.name))


def demo_steps() -> list[Step]:
    return sorted(_DEMO.values(), key=lambda s: (s.order, s.name))
