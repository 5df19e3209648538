"""Explicit extension points of the policies app.

Apps above ``policies`` (calls) react when underwriting declines an application — the agent
owes the customer a call to explain and offer something else — but ``policies`` may not
import them. They register a function here in ``AppConfig.ready``; ``policy_decline`` calls
every registered function inside its own transaction, so both writes land or neither does.

When an agent records that a customer is interested in an extended-service suggestion
(延伸服务) on the task list or through the API, the next service call belongs on the lead,
which ``policies`` does not schedule: apps above it register with ``on_service_interest``
and ``service_task_complete`` calls them inside its transaction.

A service task moved to a later time (the customer asked to be called later) must still be
callable then; the calling window is the calls app's rule: it registers a check with
``register_call_time_check`` and ``service_task_reschedule`` refuses a time it objects to.

A policy's life after its sale is kept above ``policies`` too (operations: lapsed, reinstated,
surrendered): apps register ``register_policy_state`` to say it next to the policy's status
on the list and the policy's page, for every policy shown in one call.

Apps above ``policies`` also offer links on a policy's pages (tickets: open a complaint about
the policy and its holder) without ``policies`` knowing their URLs or their rules: they
register a function with ``register_policy_link`` that returns a ``PolicyLink`` for a user
who may follow it, or None.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)

_ON_DECLINED: list[Callable[..., object]] = []


def on_policy_declined(fn: Callable[..., object]) -> Callable[..., object]:
    """Register ``fn(*, policy, lead, actor)``, called once a policy is declined and its lead
    updated (``lead.state`` says whether it is back in the agent's hands)."""
    if fn not in _ON_DECLINED:
        _ON_DECLINED.append(fn)
    return fn


def policy_declined_run(*, policy, lead, actor) -> None:
    for fn in list(_ON_DECLINED):
        fn(policy=policy, lead=lead, actor=actor)


_ON_INTEREST: list[Callable[..., object]] = []


def on_service_interest(fn: Callable[..., object]) -> Callable[..., object]:
    """Register ``fn(*, task, actor)``, called once an extended-service task is done with the
    customer interested; it returns when the next service call was booked (an aware datetime)
    or None when it booked nothing."""
    if fn not in _ON_INTEREST:
        _ON_INTEREST.append(fn)
    return fn


def service_interest_run(*, task, actor):
    """Run every registered function; the first booking's time, or None."""
    booked = None
    for fn in list(_ON_INTEREST):
        due = fn(task=task, actor=actor)
        if booked is None and due is not None:
            booked = due
    return booked


# --- Links on a policy's pages -------------------------------------------------------------
@dataclass(frozen=True)
class PolicyLink:
    """A link another app offers on a policy's page and in its row of the policy list."""

    label: str
    url: str
    icon: str = ""  # a Bootstrap icon name, without "bi-"
    testid: str = ""


_POLICY_LINKS: list[Callable[..., PolicyLink | None]] = []


def register_policy_link(fn: Callable[..., PolicyLink | None]) -> Callable[..., PolicyLink | None]:
    """Register ``fn(*, user, policy) -> PolicyLink | None`` (None: not for this user). It is
    called for every policy shown, so it must not query the database per policy."""
    if fn not in _POLICY_LINKS:
        _POLICY_LINKS.append(fn)
    return fn


def policy_links(*, user, policy) -> list[PolicyLink]:
    """The links ``user`` may follow from ``policy``, in registration order. A provider that
    fails is logged and left out; the page still renders."""
    links = []
    for fn in list(_POLICY_LINKS):
        try:
            link = fn(user=user, policy=policy)
        except Exception:
            logger.exception("Policy link %s failed", getattr(fn, "__name__", fn))
            continue
        if link is not None:
            links.append(link)
    return links


_CALL_TIME_CHECKS: list[Callable[..., str]] = []


def register_call_time_check(fn: Callable[..., str]) -> Callable[..., str]:
    """Register ``fn(*, task, due_at) -> str``: why the task's call could not be made at
    ``due_at`` ("" when it could)."""
    if fn not in _CALL_TIME_CHECKS:
        _CALL_TIME_CHECKS.append(fn)
    return fn


def call_time_problem(*, task, due_at) -> str:
    """The first registered check's objection to calling the task's customer at ``due_at``."""
    for fn in list(_CALL_TIME_CHECKS):
        problem = fn(task=task, due_at=due_at)
        if problem:
            return problem
    return ""


_POLICY_STATES: list[Callable[..., dict[int, str]]] = []


def register_policy_state(fn: Callable[..., dict[int, str]]) -> Callable[..., dict[int, str]]:
    """Register ``fn(*, policy_ids) -> {policy id: words}``: what else a policy's status is
    (``已失效，可复效至 2027-01-15``), for the policies that have something to say. Called
    once for all the policies of a page."""
    if fn not in _POLICY_STATES:
        _POLICY_STATES.append(fn)
    return fn


def policy_states(policy_ids) -> dict[int, str]:
    """Every registered provider's words per policy (joined when two speak); a provider that
    fails is logged and left out."""
    ids = list(policy_ids)
    found: dict[int, str] = {}
    if not ids:
        return found
    for fn in list(_POLICY_STATES):
        try:
            said = fn(policy_ids=ids)
        except Exception:
            logger.exception("Policy state %s failed", getattr(fn, "__name__", fn))
            continue
        for pk, words in said.items():
            found[pk] = f"{found[pk]} · {words}" if pk in found else words
    return found
