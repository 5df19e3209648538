"""Explicit extension points of the policies app.

Apps above ``policies`` (calls) react when underwriting declines an application — the agent
owes the customer a call to explain and offer something else — but ``policies`` may not
import them. They register a function here in ``AppConfig.ready``; ``policy_decline`` calls
every registered function inside its own transaction, so both writes land or neither does.
"""

from __future__ import annotations

from collections.abc import Callable

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
