"""The dashboard indicator registry. Each app registers its indicator providers in
``AppConfig.ready``; the role home pages (org) draw one card per indicator without importing
the app that computes it.

A provider is a callable ``provide(*, user, period) -> Indicator | None``: it computes the
figure over what ``user`` may see (the center for the manager, their teams for a team lead)
and returns ``None`` when the user may not see the indicator at all. ``visible_to(user)``,
when given, is asked first, so a provider that fails is shown as "unavailable" only to the
people who would have seen it.

A provider registered ``personal=True`` computes the user's *own* figures (today's calls,
follow-ups due, the early warning) for their "My day" page; the role home pages draw the
others. ``indicators_for(personal=…)`` picks one kind.

Panels (``register_panel``) are the larger blocks below the cards — a chart, a ranking — drawn
the same way: registered by an app, rendered for the user, a failing one shown as unavailable.

The good / warn / bad status of a card comes from ``settings.TELESALES_DASHBOARD_THRESHOLDS``
(``status_for``), keyed by the indicator's key; the thresholds are configuration, never
constants of the provider. ``check_thresholds`` is a Django system check on their shape.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

GOOD, WARN, BAD = "good", "warn", "bad"
LOWER, HIGHER = "lower", "higher"

Number = Decimal | int


@dataclass(frozen=True)
class Period:
    """The local days an indicator covers, both included."""

    since: dt.date
    until: dt.date

    @classmethod
    def month_to_date(cls, today: dt.date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(since=today.replace(day=1), until=today)

    def query(self) -> str:
        """``since=…&until=…`` for a drill-down link to a page of the same days."""
        return urlencode({"since": self.since.isoformat(), "until": self.until.isoformat()})


@dataclass(frozen=True)
class Indicator:
    """One card. ``value`` is in the unit it is shown in (a rate per 1,000 with ``unit="‰"``,
    a percentage with ``unit="%"``); ``None`` when there is nothing to divide by."""

    key: str
    label: Any  # str or a lazy translation
    value: Number | None
    unit: str = ""
    numerator: Number | None = None
    denominator: Number | None = None
    numerator_label: Any = ""
    denominator_label: Any = ""
    help_text: Any = ""
    url: str = ""
    scope: Any = ""  # whose figure it is: the center, a team's name
    status: str | None = None  # GOOD, WARN, BAD, or None (no threshold, no value)
    #: The status in the words of the card's own domain (a promotion warning's "At risk"),
    #: where those are what its page says; otherwise the generic Good / Watch / Act.
    status_label: Any = ""
    available: bool = True


@dataclass(frozen=True)
class Provider:
    key: str
    label: Any
    provide: Callable[..., Indicator | None]
    order: int = 100
    visible_to: Callable[[Any], bool] | None = None
    personal: bool = False


_REGISTRY: dict[str, tuple[int, Provider]] = {}


def register(
    key: str,
    provide: Callable[..., Indicator | None],
    *,
    label: Any,
    order: int = 100,
    visible_to: Callable[[Any], bool] | None = None,
    personal: bool = False,
) -> None:
    """Register (or replace, keeping its place) the provider of indicator ``key``. Cards are
    drawn by ``order``, then in registration order. ``personal``: the user's own figures, for
    "My day" (see the module's docstring)."""
    seq = _REGISTRY[key][0] if key in _REGISTRY else len(_REGISTRY)
    _REGISTRY[key] = (seq, Provider(key, label, provide, order, visible_to, personal))


def unregister(key: str) -> None:
    _REGISTRY.pop(key, None)


def registered() -> list[Provider]:
    return [p for _seq, p in sorted(_REGISTRY.values(), key=lambda e: (e[1].order, e[0]))]


def indicators_for(*, user, period: Period, personal: bool = False) -> list[Indicator]:
    """Every registered indicator ``user`` may see, in order: the center's and teams' ones, or
    with ``personal`` the user's own. A provider that raises is logged and shown as
    unavailable; it never takes the page down."""
    out: list[Indicator] = []
    for provider in registered():
        if provider.personal != personal:
            continue
        try:
            if provider.visible_to is not None and not provider.visible_to(user):
                continue
            with transaction.atomic():  # a failed query must not spoil the page's transaction
                indicator = provider.provide(user=user, period=period)
        except Exception:
            logger.exception("Dashboard indicator %s failed", provider.key)
            indicator = Indicator(
                key=provider.key, label=provider.label, value=None, available=False
            )
        if indicator is not None:
            out.append(indicator)
    return out


# --- Panels --------------------------------------------------------------------------------
# A panel is a larger block than a card (a chart, a ranking) that an app draws on the role home
# pages below the cards: ``render(*, request, period) -> str | None`` returns its HTML (None: not
# for this user). Like an indicator, a panel that fails is logged and replaced by a short
# notice; the page still renders.
@dataclass(frozen=True)
class PanelProvider:
    key: str
    label: Any
    render: Callable[..., str | None]
    order: int = 100
    visible_to: Callable[[Any], bool] | None = None


_PANELS: dict[str, tuple[int, PanelProvider]] = {}


def register_panel(
    key: str,
    render: Callable[..., str | None],
    *,
    label: Any,
    order: int = 100,
    visible_to: Callable[[Any], bool] | None = None,
) -> None:
    """Register (or replace, keeping its place) panel ``key``; drawn by ``order``."""
    seq = _PANELS[key][0] if key in _PANELS else len(_PANELS)
    _PANELS[key] = (seq, PanelProvider(key, label, render, order, visible_to))


def unregister_panel(key: str) -> None:
    _PANELS.pop(key, None)


def registered_panels() -> list[PanelProvider]:
    return [p for _seq, p in sorted(_PANELS.values(), key=lambda e: (e[1].order, e[0]))]


def panels_for(*, request, period: Period) -> list[dict]:
    """The panels ``request.user`` may see, in order, each ``{"key", "label", "html"}``;
    ``html`` is None for a panel that failed (logged; the page shows it as unavailable)."""
    out: list[dict] = []
    for provider in registered_panels():
        try:
            if provider.visible_to is not None and not provider.visible_to(request.user):
                continue
            with transaction.atomic():
                html = provider.render(request=request, period=period)
        except Exception:
            logger.exception("Dashboard panel %s failed", provider.key)
            out.append({"key": provider.key, "label": provider.label, "html": None})
            continue
        if html is not None:
            out.append({"key": provider.key, "label": provider.label, "html": html})
    return out


# --- Thresholds ----------------------------------------------------------------------------
def _threshold(key: str) -> dict | None:
    config = getattr(settings, "TELESALES_DASHBOARD_THRESHOLDS", {}) or {}
    entry = config.get(key)
    if entry is None:
        return None
    problems = _threshold_problems(entry)
    if problems:
        raise ImproperlyConfigured(f"TELESALES_DASHBOARD_THRESHOLDS[{key!r}]: {problems[0]}")
    return {
        "better": entry["better"],
        "good": Decimal(str(entry["good"])),
        "warn": Decimal(str(entry["warn"])),
    }


def status_for(key: str, value: Number | None) -> str | None:
    """GOOD, WARN or BAD for ``value`` against the configured thresholds of ``key``; None
    without a value or a threshold. Lower is better: ``value <= good`` is good, ``<= warn``
    warn, above bad; higher is better: ``>= good`` good, ``>= warn`` warn, below bad."""
    threshold = _threshold(key)
    if value is None or threshold is None:
        return None
    value = Decimal(value)
    if threshold["better"] == LOWER:
        if value <= threshold["good"]:
            return GOOD
        return WARN if value <= threshold["warn"] else BAD
    if value >= threshold["good"]:
        return GOOD
    return WARN if value >= threshold["warn"] else BAD


def _threshold_problems(entry: Any) -> list[str]:
    if not isinstance(entry, dict):
        return ["must be a dict with 'better', 'good' and 'warn'"]
    if entry.get("better") not in (LOWER, HIGHER):
        return ["'better' must be 'lower' or 'higher'"]
    bounds = {}
    for name in ("good", "warn"):
        try:
            bounds[name] = Decimal(str(entry.get(name)))
        except InvalidOperation:
            return [f"'{name}' must be a number"]
        if not bounds[name].is_finite():
            return [f"'{name}' must be a number"]
    if entry["better"] == LOWER and bounds["good"] > bounds["warn"]:
        return ["'good' must not be above 'warn' when lower is better"]
    if entry["better"] == HIGHER and bounds["good"] < bounds["warn"]:
        return ["'good' must not be below 'warn' when higher is better"]
    return []


def check_thresholds(app_configs=None, **kwargs) -> list[Error]:
    """System check: every entry of ``TELESALES_DASHBOARD_THRESHOLDS`` is well formed."""
    config = getattr(settings, "TELESALES_DASHBOARD_THRESHOLDS", {}) or {}
    if not isinstance(config, dict):
        return [Error("TELESALES_DASHBOARD_THRESHOLDS must be a dict", id="core.E101")]
    return [
        Error(f"TELESALES_DASHBOARD_THRESHOLDS[{key!r}]: {problem}", id="core.E101")
        for key, entry in config.items()
        for problem in _threshold_problems(entry)
    ]
