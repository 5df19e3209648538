"""Telephony behind one small interface, so the workspace does not care what places the call.

An adapter is a class with two methods (see :class:`Adapter`):

- ``originate(attempt) -> str``: place the call for a ``CallAttempt`` (the agent's seat
  ``attempt.seat.phone_line`` is the extension to ring; the customer's number is
  ``attempt.lead.customer.mobile_e164``) and return the switch's call id, which is stored as
  ``attempt.adapter_call_id`` and later matches the CDR's ``uniqueid``;
- ``hangup(call_id)``: end the call.

Optionally ``recording_ref(call_id) -> str`` names the recording of a finished call.

The adapter in use is named by the setting ``TELESALES_TELEPHONY_ADAPTER`` (a dotted path to
the class; default :class:`SimulatedAdapter`). A FreeSWITCH adapter would send
``originate {origination_uuid=<uuid>}user/<extension> &bridge(sofia/gateway/<gw>/<number>)``
over the event socket (``mod_event_socket``, ``api`` command) and return the uuid; an
Asterisk adapter would send an AMI ``Originate`` action (``Channel: PJSIP/<extension>``,
``Exten: <number>``, ``Context: <outbound context>``, ``Async: true``, ``ChannelId: <uuid>``)
and return the ``ChannelId``, which Asterisk writes as the CDR ``uniqueid``. Answer and hangup
events from the switch then call ``services.call_answer`` / ``services.call_end`` (or the
CDR import fills them in afterwards). See docs/domains/calls.md.

Adapters must never log the customer's full number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

DEFAULT_ADAPTER = "telesales.calls.telephony.SimulatedAdapter"


@runtime_checkable
class Adapter(Protocol):
    def originate(self, attempt) -> str: ...

    def hangup(self, call_id: str) -> None: ...


@dataclass(frozen=True)
class SimulatedOutcome:
    """What the simulated switch "hears": whether the customer answers and how long."""

    answered: bool
    ring_seconds: int
    talk_seconds: int


class SimulatedAdapter:
    """The default adapter, for the demo and the tests: no switch, no network.

    Call ids are ``sim-<attempt id>``; recordings ``sim://recordings/<attempt id>.wav``.
    :meth:`outcome` is deterministic per attempt (seeded by ``TELESALES_SIMULATION_SEED``
    and the attempt id): about 55 % answered, 5–25 s ringing, 20–600 s talking."""

    name = "simulated"

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed if seed is not None else getattr(settings, "TELESALES_SIMULATION_SEED", 0)
        self.hung_up: set[str] = set()

    def originate(self, attempt) -> str:
        return f"sim-{attempt.pk}"

    def hangup(self, call_id: str) -> None:
        self.hung_up.add(call_id)

    def recording_ref(self, call_id: str) -> str:
        return f"sim://recordings/{call_id.removeprefix('sim-')}.wav"

    def outcome(self, call_id: str) -> SimulatedOutcome:
        digest = hashlib.sha256(f"{self.seed}:{call_id}".encode()).digest()
        answered = digest[0] < 141  # 141/256 ≈ 55 %
        ring = 5 + digest[1] % 21
        talk = 20 + int.from_bytes(digest[2:4], "big") % 581 if answered else 0
        return SimulatedOutcome(answered=answered, ring_seconds=ring, talk_seconds=talk)


@cache
def _load(path: str) -> Adapter:
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(
            f"TELESALES_TELEPHONY_ADAPTER={path!r} cannot be imported: {exc}"
        ) from exc
    adapter = cls() if isinstance(cls, type) else cls
    missing = [m for m in ("originate", "hangup") if not callable(getattr(adapter, m, None))]
    if missing:
        raise ImproperlyConfigured(
            f"TELESALES_TELEPHONY_ADAPTER={path!r} is not a telephony adapter "
            f"(missing {', '.join(missing)})"
        )
    return adapter


def adapter_path() -> str:
    return getattr(settings, "TELESALES_TELEPHONY_ADAPTER", "") or DEFAULT_ADAPTER


def get_adapter() -> Adapter:
    """The configured adapter (one instance per process)."""
    return _load(adapter_path())


def adapter_name(adapter: Adapter) -> str:
    return str(getattr(adapter, "name", "") or type(adapter).__name__)[:100]


def _reset(*, setting: str, **kwargs: object) -> None:
    if setting in {"TELESALES_TELEPHONY_ADAPTER", "TELESALES_SIMULATION_SEED"}:
        _load.cache_clear()


setting_changed.connect(_reset)
