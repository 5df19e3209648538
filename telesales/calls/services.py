"""Writes of the workspace: calls (start, answer, end), dispositions and their effects,
follow-ups and their cadence, escalation and cover for absent agents, presence, and the sale.

Every write here is one transaction: a disposition's effects (the lead's counters, a DNC
entry, a closed lead, the next follow-up, a recycled lead) land together or not at all.

Audit: calls, answers and dispositions are high-volume and are their own record (the attempt
rows and the lead history); the audit log gets the do-not-call requests, the sales (by the
policies app), follow-ups moved or escalated (one row per run), rule set and disposition
changes and CDR imports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.calls import permissions
from telesales.calls.choices import (
    SELF_STATES,
    AgentState,
    BlockCode,
    CallKind,
    DispatchSource,
    FollowUpKind,
    FollowUpStatus,
)
from telesales.calls.errors import (
    CallAlreadyDisposed,
    CallNotOpen,
    DialBlocked,
    FollowUpInPast,
    FollowUpNotOpen,
    NotYourCall,
    TelephonyFailed,
    UnknownDisposition,
    WonLeadNeedsServiceFollowUp,
)
from telesales.calls.guards import (
    Block,
    customer_local_time,
    customer_zones,
    dial_blocks,
    earliest_dial_at,
    sale_marketing_blocks,
    window_opens,
    window_time_reached,
)
from telesales.calls.models import (
    CALL_NOTE_MAX_LENGTH,
    AgentPresence,
    CallAttempt,
    CallRuleSet,
    Disposition,
    FollowUp,
    note_normalised,
    open_call_limit,
)
from telesales.calls.rules import callrules_for_person, callrules_in_force
from telesales.calls.telephony import adapter_name, get_adapter
from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record, model_snapshot
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.model_updates import apply_changes, save_or_conflict, validate_instance
from telesales.core.roles import Role, has_role
from telesales.leads import services as lead_services
from telesales.leads.choices import OPEN_STATES, DncSource, LeadAction, LeadState
from telesales.leads.models import Lead
from telesales.leads.rules import ruleset_for_person
from telesales.operations import services as operations_services
from telesales.operations.choices import ContactOutcome, TaskStatus
from telesales.operations.errors import TaskClosed
from telesales.org.choices import PersonStatus, TeamStage
from telesales.org.models import Absence, Person
from telesales.org.selectors import person_for_user

WORKING_STATUSES = lead_services.WORKING_STATUSES
#: A follow-up may be booked at most this far ahead.
FOLLOWUP_MAX_DAYS = 180
#: Notes on outcomes, sales and follow-ups (one limit with the forms, the API and the model).
NOTE_MAX = CALL_NOTE_MAX_LENGTH
#: A follow-up moved by hand: its reason goes into the lead's history (300 characters there).
REASSIGN_REASON_MAX = 200


# --- Helpers -----------------------------------------------------------------------------
def _leads_team(actor, agent: Person) -> bool:
    """``actor`` leads the team ``agent`` is in."""
    me = person_for_user(actor)
    return bool(
        me is not None
        and has_role(actor, Role.TEAM_LEAD)
        and agent.team_id
        and agent.team.leader_id == me.pk
    )


def require_self(actor, agent: Person, message: str) -> None:
    """Only the agent acts in their own workspace (a command or task acts as a string)."""
    if isinstance(actor, str) or actor is None:
        return
    me = person_for_user(actor)
    if me is None or me.pk != agent.pk:
        raise NotYourCall(message)


def _require_self_or_lead(actor, agent: Person, message: str) -> None:
    if isinstance(actor, str) or actor is None:
        return
    me = person_for_user(actor)
    if me is not None and me.pk == agent.pk:
        return
    if _leads_team(actor, agent) or has_role(actor, Role.MANAGER):
        return
    raise NotYourCall(message)


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationFailed(_("Invalid time"), fields={field: [_("a date and time")]})
    if timezone.is_naive(value):
        raise ValidationFailed(
            _("Give the time with its time zone"), fields={field: [_("time zone missing")]}
        )
    return value


def _too_long(length: int) -> ValidationFailed:
    message = _(
        "The note is too long: %(length)d characters, at most %(max)d. Shorten it; nothing "
        "was saved."
    ) % {"length": length, "max": NOTE_MAX}
    return ValidationFailed(message, fields={"note": [message]})


def _note(note: str | None) -> str:
    """The note as typed (line breaks as LF, ends trimmed); longer than ``NOTE_MAX`` is
    refused, never cut."""
    note = note_normalised(note)
    if len(note) > NOTE_MAX:
        raise _too_long(len(note))
    return note


def _notes_joined(earlier: str, later: str) -> str:
    """Two notes on one record, the earlier first (either may be empty)."""
    return "\n".join(part for part in (earlier, later) if part)


def _years_after(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _blocked(blocks: list[Block]) -> DialBlocked:
    return DialBlocked(blocks[0].message, details={"reasons": [b.as_dict() for b in blocks]})


def presence_lock(agent: Person, *, at: dt.datetime | None = None) -> AgentPresence:
    """The agent's presence row, created when missing, locked for this transaction."""
    at = at or timezone.now()
    # The usual case: one statement, as text (every call and dispatch takes it; ADR 0015).
    sql = "SELECT * FROM calls_agentpresence WHERE person_id = %s"
    if connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    for locked in AgentPresence.objects.raw(sql, [agent.pk]):
        return locked
    AgentPresence.objects.get_or_create(
        person_id=agent.pk, defaults={"state": AgentState.OFFLINE, "since": at}
    )
    return AgentPresence.objects.select_for_update().get(person_id=agent.pk)


def _presence_state(presence: AgentPresence, state: str, at: dt.datetime) -> None:
    if presence.state != state:
        presence.state = state
        presence.since = at


def presence_hand(
    presence: AgentPresence,
    *,
    lead: Lead | None,
    source: str = "",
    followup=None,
    renewal_task=None,
    at: dt.datetime,
) -> None:
    """Put ``lead`` in the agent's hands (or empty them), with the follow-up or the renewal
    task it is handed out for. A lead is in one agent's hands at most: a stale hand-out of
    the same lead elsewhere is cleared first."""
    if lead is not None:
        AgentPresence.objects.filter(lead_id=lead.pk).exclude(pk=presence.pk).update(
            lead=None, followup=None, renewal_task=None, source="", handed_at=None
        )
    presence.lead = lead
    presence.source = source if lead is not None else ""
    presence.followup = followup if lead is not None else None
    presence.renewal_task = renewal_task if lead is not None else None
    presence.handed_at = at if lead is not None else None


def _release_lead_from_hands(lead_id: int) -> None:
    AgentPresence.objects.filter(lead_id=lead_id).update(
        lead=None, followup=None, renewal_task=None, source="", handed_at=None
    )


def non_sale_retention(rules: CallRuleSet, day: dt.date) -> dt.date:
    return day + timedelta(days=rules.non_sale_recording_days)


def sale_retention(rules: CallRuleSet, *, sold_on: dt.date, term_years: int) -> dt.date:
    """R1/R12: kept ≥ 5 years (policy ≤ 1 year) / ≥ 10 years (policy > 1 year) from the
    contract's end, estimated as the sale day plus the term."""
    ends = _years_after(sold_on, max(int(term_years or 1), 1))
    years = rules.sale_recording_years_short if term_years <= 1 else rules.sale_recording_years_long
    return _years_after(ends, years)


# --- Presence ------------------------------------------------------------------------------
@transaction.atomic
def presence_set(*, agent: Person, state: str, actor, at: dt.datetime | None = None):
    """The agent says they are ready, on a break or offline. During a call the state follows
    the call; a break or going offline gives back the lead in hand."""
    _require_self_or_lead(actor, agent, _("You may only change your own state"))
    if state not in SELF_STATES:
        raise ValidationFailed(
            _("Choose ready, break or offline"),
            fields={"state": [_("one of: %(s)s") % {"s": ", ".join(SELF_STATES)}]},
        )
    at = at or timezone.now()
    presence = presence_lock(agent, at=at)
    if presence.attempt_id and presence.attempt.ended_at is None:
        raise InvalidState(_("End the current call first"))
    _presence_state(presence, state, at)
    if state != AgentState.IDLE:
        presence_hand(presence, lead=None, at=at)
        presence.attempt = None
    presence.save()
    return presence


def presences_reset_stale(*, now: dt.datetime | None = None, actor=None) -> dict:
    """Early in the day: every agent whose presence has not changed since before today's start
    (the center's local day) goes offline, and the lead left in their hands goes back
    (dispatch may hand it to someone else). A call still open from an earlier day stays on
    the presence, so that the agent's next dial hangs it up (``_left_open``); the board does
    not count it as a call in progress. One audit row, as the system. Periodic."""
    from telesales.calls.selectors import center_day_start

    now = now or timezone.now()
    day_start = center_day_start(now)
    reset: list[int] = []
    with transaction.atomic():
        stale = (
            AgentPresence.objects.select_for_update()
            .filter(since__lt=day_start)
            .exclude(state=AgentState.OFFLINE, lead__isnull=True)
            .order_by("person_id")
        )
        for presence in stale:
            _presence_state(presence, AgentState.OFFLINE, now)
            presence_hand(presence, lead=None, at=now)
            presence.save()
            reset.append(presence.person_id)
        if reset:
            audit_record(
                actor=actor or "system",
                action="calls.presences_reset_stale",
                object_type="calls.agentpresence",
                object_repr=_("agents last seen before today set offline"),
                after={"agents": len(reset), "person_ids": reset},
            )
    return {"reset": len(reset)}


# --- Calls ---------------------------------------------------------------------------------
def _open_renewal_task_id(*, lead: Lead, agent: Person) -> int | None:
    """The oldest open renewal task on a policy of ``lead`` that ``agent`` may work: theirs,
    or unassigned while they own the lead."""
    from telesales.operations.models import RenewalTask

    return (
        RenewalTask.objects.filter(policy__lead_id=lead.pk, status=TaskStatus.OPEN)
        .filter(Q(owner_id=agent.pk) | Q(owner__isnull=True, policy__lead__owner_id=agent.pk))
        .order_by("due_date", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def _has_open_service_task(*, lead_id: int, agent_id: int) -> bool:
    """Whether the agent owes the lead an open post-sale service task (``policies``)."""
    from telesales.policies.choices import TaskStatus as ServiceTaskStatus
    from telesales.policies.models import ServiceTask

    return ServiceTask.objects.filter(
        lead_id=lead_id, agent_id=agent_id, status=ServiceTaskStatus.OPEN
    ).exists()


def default_call_kind(*, presence: AgentPresence | None, lead: Lead, agent: Person) -> str:
    """The kind of a dial that names none: what dispatch handed the lead out for. A due
    renewal premium makes a renewal call; a due service task (still open) a service call —
    dispatch chose it under the service guards, so the dial must be judged by them too;
    anything else is a sales call."""
    if presence is None or presence.lead_id != lead.pk:
        return CallKind.SALES
    if presence.renewal_task_id:
        return CallKind.RENEWAL
    if presence.source == DispatchSource.SERVICE and _has_open_service_task(
        lead_id=lead.pk, agent_id=agent.pk
    ):
        return CallKind.SERVICE
    return CallKind.SALES


def _require_service_reason(
    *, lead: Lead, agent: Person, kind: str, renewal_task_id: int | None
) -> None:
    """A service or renewal call skips the marketing guards (DNC, consent, caps), so it needs
    a reason the data holds: an open renewal task on one of the lead's policies, or an open
    post-sale service task of the agent on this lead. Without one the dial is refused."""
    if kind == CallKind.RENEWAL and renewal_task_id is not None:
        return
    if kind == CallKind.SERVICE and _has_open_service_task(lead_id=lead.pk, agent_id=agent.pk):
        return
    raise _blocked(
        [
            Block(
                BlockCode.NO_SERVICE_TASK,
                _(
                    "A %(kind)s skips the marketing checks, so it needs an open task: "
                    "this lead has no open %(task)s for you"
                )
                % {
                    "kind": CallKind(kind).label,
                    "task": _("renewal task") if kind == CallKind.RENEWAL else _("service task"),
                },
                _("Dial it as a sales call, or open the task from your queue"),
            )
        ]
    )


def _left_open(current: CallAttempt | None, *, at: dt.datetime) -> CallAttempt | None:
    """The agent's call still open at a new dial, if it was left open. Open for no longer
    than the open-call limit (``TELESALES_CALL_OPEN_LIMIT_MINUTES``, the one threshold the
    live board flags a call by) it is a call in progress and the dial is refused; open
    longer, the agent forgot to hang up (or the softphone lost the call): it no longer
    blocks, and ``call_start`` hangs it up."""
    if current is None or current.ended_at is not None:
        return None
    if at - current.started_at <= open_call_limit():
        raise _blocked(
            [
                Block(
                    BlockCode.CALL_IN_PROGRESS,
                    _("You are on another call (started %(when)s)")
                    % {"when": timezone.localtime(current.started_at).strftime("%H:%M")},
                    _("End the current call first"),
                )
            ]
        )
    return current


def call_start(
    *,
    lead: Lead,
    agent: Person,
    actor,
    seat=None,
    kind: str | None = None,
    at: dt.datetime | None = None,
) -> CallAttempt:
    """Dial a lead (``_call_start``). A dial the guards refuse is audited once the refusal has
    rolled the dial back (``calls.dial_refused``: who tried which lead, when, and every
    reason's code), so that the compliance officer sees an agent trying a do-not-call number
    or dialling at night (QA, session 20: refusals left no trace)."""
    try:
        return _call_start(lead=lead, agent=agent, actor=actor, seat=seat, kind=kind, at=at)
    except DialBlocked as refused:
        reasons = refused.details.get("reasons", [])
        audit_record(
            actor=actor,
            action="calls.dial_refused",
            instance=lead,
            after={
                "agent": agent.pk,
                "kind": kind or "",
                "reasons": [reason.get("code", "") for reason in reasons],
            },
            reason=refused.message,
        )
        raise


@transaction.atomic
def _call_start(
    *,
    lead: Lead,
    agent: Person,
    actor,
    seat=None,
    kind: str | None = None,
    at: dt.datetime | None = None,
) -> CallAttempt:
    """Dial a lead: the compliance guards run first (``dial_blocked`` with every reason),
    then the attempt is recorded and the telephony adapter places the call.

    ``kind`` left out: a renewal call (``CallKind.RENEWAL``, linked to the renewal task) when
    dispatch handed this lead out for a due renewal premium, a service call when it handed it
    out for a due post-sale service task, else a sales call (``default_call_kind``). A
    renewal or service call is a call to an existing policyholder: the guards keep the
    calling window and the agent checks and skip the marketing ones (``guards``)."""
    require_self(actor, agent, _("You can only dial from your own workspace"))
    if kind is not None and kind not in CallKind.values:
        raise ValidationFailed(_("Unknown call kind"), fields={"kind": [_("unknown")]})
    at = _aware(at, "at") if at is not None else timezone.now()
    presence = presence_lock(agent, at=at)
    agent = Person.objects.select_related("team", "level", "seat").get(pk=agent.pk)
    left_open = _left_open(presence.attempt, at=at)
    lead = Lead.objects.select_for_update(of=("self",)).select_related("customer").get(pk=lead.pk)
    renewal_task_id = presence.renewal_task_id if presence.lead_id == lead.pk else None
    if kind is None:
        kind = default_call_kind(presence=presence, lead=lead, agent=agent)
    if kind != CallKind.RENEWAL:
        renewal_task_id = None  # a sales call on the lead serves no renewal task
    elif renewal_task_id is None:
        renewal_task_id = _open_renewal_task_id(lead=lead, agent=agent)
    if kind != CallKind.SALES:
        _require_service_reason(lead=lead, agent=agent, kind=kind, renewal_task_id=renewal_task_id)
    rules = callrules_for_person(agent, on=timezone.localdate(at))
    blocks = dial_blocks(lead=lead, agent=agent, at=at, kind=kind, rules=rules)
    if blocks:
        raise _blocked(blocks)
    if left_open is not None:
        # Hung up as ``call_end`` would: ended now, talk time capped at the limit and flagged.
        call_end(attempt=left_open, actor=actor, at=at)
        presence.refresh_from_db()
    if seat is None:
        seat = getattr(agent, "seat", None)  # the agent's own seat, if they have one
    adapter = get_adapter()
    attempt = CallAttempt.objects.create(
        lead=lead,
        agent=agent,
        seat=seat,
        kind=kind,
        renewal_task_id=renewal_task_id,
        started_at=at,
        adapter=adapter_name(adapter),
        recording_retain_until=non_sale_retention(rules, timezone.localdate(at)),
    )
    try:
        call_id = str(adapter.originate(attempt) or "")[:100]
    except Exception as exc:  # the switch said no: nothing is kept
        raise TelephonyFailed(
            _("The call could not be placed: %(err)s") % {"err": type(exc).__name__}
        ) from exc
    if call_id:
        attempt.adapter_call_id = call_id
        attempt.save(update_fields=["adapter_call_id", "updated_at"])
    presence.state, presence.since = AgentState.DIALLING, at
    presence.attempt = attempt
    if presence.lead_id != lead.pk:  # a dial of another of the agent's own leads
        presence_hand(presence, lead=lead, at=at)
    presence.save()
    return attempt


#: The relations of a locked attempt that the sale reads; the other steps read the agent only
#: (the rest loads on first use, or is locked and read again).
_ATTEMPT_RELATED = ("lead", "lead__customer", "agent", "agent__team", "disposition")


def _attempt_locked(attempt: CallAttempt, related: tuple[str, ...] = ("agent",)) -> CallAttempt:
    """The attempt, locked for this transaction, with ``related`` read *after* the lock.

    Locked first, read second: on PostgreSQL a ``FOR UPDATE OF`` query that waited for
    another transaction re-reads the locked row but not the rows joined to it, so a second
    submission would see the first one's ``disposition_id`` next to an empty disposition.
    Each step selects only what it reads (the joins cost more to compile than to run)."""
    if connection.features.has_select_for_update:  # SQLite: the transaction holds the lock
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM calls_callattempt WHERE id = %s FOR UPDATE", [attempt.pk]
            )
    return CallAttempt.objects.select_related(*related).get(pk=attempt.pk)


@transaction.atomic
def call_answer(*, attempt: CallAttempt, actor=None, at: dt.datetime | None = None) -> CallAttempt:
    """The customer picked up."""
    attempt = _attempt_locked(attempt)
    require_self(actor, attempt.agent, _("This is not your call"))
    at = _aware(at, "at") if at is not None else timezone.now()
    if attempt.ended_at is not None:
        raise CallNotOpen(_("This call has ended"))
    if at < attempt.started_at:
        raise ValidationFailed(
            _("A call is answered after it starts"), fields={"at": [_("before the start")]}
        )
    attempt.answered_at = attempt.answered_at or at
    attempt.save(update_fields=["answered_at", "updated_at"])
    presence = presence_lock(attempt.agent, at=at)
    if presence.attempt_id == attempt.pk:
        _presence_state(presence, AgentState.TALKING, at)
        presence.save()
    return attempt


@transaction.atomic
def call_end(
    *,
    attempt: CallAttempt,
    actor=None,
    at: dt.datetime | None = None,
    answered_at: dt.datetime | None = None,
    hangup: bool = True,
) -> CallAttempt:
    """The call ended: talk seconds, the recording, and the agent goes to wrap-up."""
    attempt = _attempt_locked(attempt)
    require_self(actor, attempt.agent, _("This is not your call"))
    at = _aware(at, "at") if at is not None else timezone.now()
    if attempt.ended_at is not None:
        raise CallNotOpen(_("This call has ended already"))
    if answered_at is not None:
        _aware(answered_at, "answered_at")
        if not attempt.started_at <= answered_at <= at:
            raise ValidationFailed(
                _("The answer time must lie between the start and the end"),
                fields={"answered_at": [_("outside the call")]},
            )
        attempt.answered_at = answered_at
    if at < attempt.started_at:
        raise ValidationFailed(
            _("A call ends after it starts"), fields={"at": [_("before the start")]}
        )
    if attempt.answered_at is not None and at < attempt.answered_at:
        raise ValidationFailed(
            _("A call ends after it is answered (answered at %(t)s)")
            % {"t": timezone.localtime(attempt.answered_at).isoformat(timespec="seconds")},
            fields={"at": [_("before the answer")]},
        )
    attempt.ended_at = at
    talk = (at - attempt.answered_at) if attempt.answered_at else dt.timedelta(0)
    # Left open for hours (the agent forgot to hang up): count the limit, not the hours, and
    # say so; a CDR matched later brings the switch's real figure.
    limit = open_call_limit()
    attempt.talk_capped = talk > limit
    attempt.talk_seconds = int(min(talk, limit).total_seconds())
    adapter = get_adapter()
    if attempt.answered_at and attempt.adapter_call_id and not attempt.recording_ref:
        ref = getattr(adapter, "recording_ref", None)
        if callable(ref):
            attempt.recording_ref = str(ref(attempt.adapter_call_id) or "")[:300]
    attempt.save(
        update_fields=[
            "answered_at",
            "ended_at",
            "talk_seconds",
            "talk_capped",
            "recording_ref",
            "updated_at",
        ]
    )
    if hangup and attempt.adapter_call_id:
        with contextlib.suppress(Exception):  # the call is over for us either way
            adapter.hangup(attempt.adapter_call_id)
    presence = presence_lock(attempt.agent, at=at)
    if presence.attempt_id == attempt.pk:
        if attempt.disposition_id:  # the outcome is in already (a sale during the call)
            presence.attempt = None
            if presence.lead_id == attempt.lead_id:
                presence_hand(presence, lead=None, at=at)
            _presence_state(presence, AgentState.IDLE, at)
        else:
            _presence_state(presence, AgentState.WRAP_UP, at)
        presence.save()
    return attempt


# --- Dispositions --------------------------------------------------------------------------
def disposition_by_code(code: str) -> Disposition:
    found = Disposition.objects.filter(code=code, is_active=True).first()
    if found is None:
        raise UnknownDisposition(_("Unknown disposition code: %(code)s") % {"code": str(code)[:30]})
    return found


def _open_followup(lead: Lead) -> FollowUp | None:
    return (
        FollowUp.objects.select_for_update()
        .filter(lead_id=lead.pk, status=FollowUpStatus.OPEN)
        .first()
    )


def _followups_close(lead: Lead, *, status: str, at: dt.datetime, attempt=None, note="") -> int:
    qs = FollowUp.objects.filter(lead_id=lead.pk, status=FollowUpStatus.OPEN)
    values: dict[str, Any] = {"status": status, "done_at": at, "updated_at": timezone.now()}
    if attempt is not None:
        values["completed_by"] = attempt
    if not note:
        return qs.update(**values)
    # Why it closed goes in front of the note the agent wrote when booking it, which is
    # kept whole: when both do not fit, the agent's words stay and the reason is left out.
    closed = 0
    for fu in qs.select_for_update():
        text = f"{note} · {fu.note}" if fu.note else note
        fu.note = text if len(text) <= NOTE_MAX else fu.note
        for field, value in values.items():
            setattr(fu, field, value)
        fu.save(update_fields=[*values, "note"])
        closed += 1
    return closed


def service_call_time_problem(*, task, due_at: dt.datetime) -> str:
    """The policies hook (``register_call_time_check``): a post-sale service task moved to
    ``due_at`` is a service call then, so it must fall inside the calling window of the
    customer's local time (the marketing guards do not apply to it). "" when it does."""
    rules = callrules_for_person(task.agent, on=timezone.localdate(due_at))
    e164 = task.customer.mobile_e164
    opens = window_opens(e164, due_at, rules)
    if opens == due_at:
        return ""
    return _(
        "%(time)s is outside the calling window (%(start)s–%(end)s, the customer's "
        "local time); the earliest time allowed after it is %(next)s"
    ) % {
        "time": customer_local_time(e164, due_at).strftime("%Y-%m-%d %H:%M"),
        "start": rules.window_start.strftime("%H:%M"),
        "end": rules.window_end.strftime("%H:%M"),
        "next": customer_local_time(e164, opens).strftime("%Y-%m-%d %H:%M"),
    }


def _check_in_window(*, lead: Lead, at: dt.datetime, agent: Person, field: str) -> None:
    """A follow-up booked by hand must fall when it can be called: inside the calling window
    of the customer's local time (DOMAIN R2), and clear of the lead's dial guards that will
    still hold then — the gap between dials, the attempt caps, a refusal's cool-down (a
    callback at 20:50 after a dial at 20:40 with a 30-minute gap and the window closing at
    21:00 could never be made). Refused with the reason and the earliest time allowed after
    the one asked for. The due call is dialled under the sales guards (``default_call_kind``),
    so they are the ones checked."""
    rules = callrules_for_person(agent, on=timezone.localdate(at))
    e164 = lead.customer.mobile_e164
    earliest, blocks = earliest_dial_at(lead=lead, at=at, rules=rules)
    if earliest == at:
        return
    values = {
        "time": customer_local_time(e164, at).strftime("%Y-%m-%d %H:%M"),
        "start": rules.window_start.strftime("%H:%M"),
        "end": rules.window_end.strftime("%H:%M"),
        "next": customer_local_time(e164, earliest).strftime("%Y-%m-%d %H:%M"),
    }
    if window_opens(e164, at, rules) != at:
        message = (
            _(
                "%(time)s is outside the calling window (%(start)s–%(end)s, the customer's "
                "local time); the earliest time allowed after it is %(next)s"
            )
            % values
        )
        # The page shows the field's message next to the field (not the summary): it says
        # the window and the time to choose as well.
        field_message = (
            _(
                "Outside the calling window (%(start)s–%(end)s); the earliest time allowed "
                "is %(next)s"
            )
            % values
        )
        raise ValidationFailed(message, fields={field: [field_message]})
    values["reason"] = blocks[0].message if blocks else ""
    message = (
        _("%(time)s is too soon: %(reason)s; the earliest time allowed after it is %(next)s")
        % values
    )
    field_message = _("Too soon: %(reason)s; the earliest time allowed is %(next)s") % values
    raise ValidationFailed(message, fields={field: [field_message]})


def _check_callback_at(callback_at: dt.datetime | None, now: dt.datetime) -> None:
    if callback_at is None:
        return
    _aware(callback_at, "callback_at")
    if callback_at <= now:
        raise FollowUpInPast(
            _("A callback must be in the future"),
            fields={"callback_at": [_("in the past")]},
        )
    if callback_at > now + timedelta(days=FOLLOWUP_MAX_DAYS):
        raise ValidationFailed(
            _("A callback can be booked at most %(n)d days ahead") % {"n": FOLLOWUP_MAX_DAYS},
            fields={"callback_at": [_("too far ahead")]},
        )


def won_followup_note() -> str:
    """What a follow-up closed by a sale says (the sale path, a won lead's callback that
    becomes a service call, the demo's clean-up): the sales cadence ended with the sale."""
    return _("The lead was won: the sales cadence is over")


def won_lead_service_message(kind: str) -> str:
    """Why a callback or cadence step is refused on a won lead of the agent's own."""
    return _(
        "This customer was won: a won customer's calls are service follow-ups, not a "
        "%(kind)s. Book it as a service call (kind “service”)"
    ) % {"kind": FollowUpKind(kind).label}


def _check_callback_on_lead(
    *, lead: Lead, callback_at: dt.datetime | None, attempt: CallAttempt | None = None
) -> None:
    """An outcome that books the next call (interested, callback) must book one: on a lead
    being worked, the cadence's next step or the time given; on a won lead (its sales cadence
    ended with the sale) a service call at the time given — or, on the service call for an
    extended-service suggestion, after the cadence's next spacing; on a closed lead nothing,
    so it is refused rather than recorded as if it had booked something."""
    if lead.state in OPEN_STATES:
        return
    if lead.state == LeadState.WON:
        if callback_at is None and not (
            attempt is not None and _extended_tasks_of_call(attempt, lead=lead)
        ):
            message = _(
                "This lead is won, so its sales follow-ups are over: give the time of the "
                "callback, which is booked as a service call"
            )
            raise ValidationFailed(message, fields={"callback_at": [message]})
        return
    message = _("This lead is %(state)s: no further call can be booked on it") % {
        "state": lead.get_state_display()
    }
    raise InvalidState(message)


def _service_callback(
    *,
    lead: Lead,
    agent: Person,
    attempt: CallAttempt | None,
    due: dt.datetime,
    at: dt.datetime,
    note,
    sequence: int = 1,
) -> FollowUp:
    """A callback agreed on a won lead: a service call at the time given. The lead's open
    follow-up (an old cadence step the sale did not close, or an earlier service call) is
    done with this call."""
    _followups_close(
        lead, status=FollowUpStatus.DONE, at=at, attempt=attempt, note=won_followup_note()
    )
    followup = FollowUp.objects.create(
        lead=lead,
        agent=agent,
        kind=FollowUpKind.SERVICE,
        due_at=due,
        sequence=sequence,
        created_from=attempt,
        note=note,
    )
    lead_services.lead_followup_record(lead=lead, at=at)
    return followup


# --- Extended service (延伸服务): an interested customer gets the next service call ---------
def _extended_tasks_open(*, lead_id: int, agent_id: int) -> list:
    """The agent's open extended-service tasks on the lead, oldest due first, locked."""
    from telesales.policies.choices import TaskKind as ServiceTaskKind
    from telesales.policies.choices import TaskStatus as ServiceTaskStatus
    from telesales.policies.models import ServiceTask

    return list(
        ServiceTask.objects.select_for_update(of=("self",))
        .filter(
            lead_id=lead_id,
            agent_id=agent_id,
            kind=ServiceTaskKind.EXTENDED_SERVICE,
            status=ServiceTaskStatus.OPEN,
        )
        .order_by("due_at", "pk")
    )


def _extended_tasks_of_call(attempt: CallAttempt, *, lead: Lead) -> list:
    """The extended-service tasks a service call on a won lead was made for."""
    if attempt.kind != CallKind.SERVICE or lead.state != LeadState.WON:
        return []
    return _extended_tasks_open(lead_id=lead.pk, agent_id=attempt.agent_id)


def service_suggestion_words(task) -> str:
    """What an extended-service task suggests, in words: the suggestion and the product
    category it sells (重疾保障（重疾险）), or the one of them the task names."""
    rule = task.get_suggestion_rule_display() if task.suggestion_rule else ""
    category = task.get_suggested_category_display() if task.suggested_category else ""
    if rule and category:
        return _("%(suggestion)s (%(category)s)") % {"suggestion": rule, "category": category}
    return str(rule or category or task.get_kind_display())


def _with_suggestion(words: str, note: str, limit: int) -> str:
    """``words`` in front of the agent's note; the note alone when both do not fit."""
    text = _("%(suggestion)s: %(note)s") % {"suggestion": words, "note": note} if note else words
    return text if len(text) <= limit else note


def _service_spacing_due(
    *, lead: Lead, agent: Person, open_fu: FollowUp | None, at: dt.datetime
) -> tuple[dt.datetime, int]:
    """When the next service call falls without a time agreed: after the cadence's next
    spacing (the one after the lead's open service call, else the first), moved into the
    calling window of the customer's local time."""
    rules = callrules_for_person(agent, on=timezone.localdate(at))
    sequence = (
        open_fu.sequence + 1 if open_fu is not None and open_fu.kind == FollowUpKind.SERVICE else 1
    )
    due = _inside_window(lead, at + timedelta(days=rules.spacing_for(sequence)), rules)
    return due, sequence


def _service_interest_book(
    *,
    lead: Lead,
    agent: Person,
    tasks: list,
    attempt: CallAttempt | None,
    callback_at: dt.datetime | None,
    note: str,
    at: dt.datetime,
) -> FollowUp:
    """The customer is interested in an extended-service suggestion (or asked to be called
    back about it): the next service call on the won lead, at the time agreed or after the
    cadence's next spacing, its note naming what was suggested."""
    open_fu = _open_followup(lead)
    if callback_at is not None:
        due = callback_at
        sequence = (
            open_fu.sequence + 1
            if open_fu is not None and open_fu.kind == FollowUpKind.SERVICE
            else 1
        )
    else:
        due, sequence = _service_spacing_due(lead=lead, agent=agent, open_fu=open_fu, at=at)
    words = "、".join(dict.fromkeys(service_suggestion_words(t) for t in tasks))
    return _service_callback(
        lead=lead,
        agent=agent,
        attempt=attempt,
        due=due,
        at=at,
        note=_with_suggestion(words, note, NOTE_MAX),
        sequence=sequence,
    )


def _extended_tasks_complete(*, tasks: list, outcome: str, note: str, actor) -> None:
    """The tasks are done with the call's outcome, the note naming what was suggested."""
    from telesales.policies import services as policy_services
    from telesales.policies.errors import TaskClosed as ServiceTaskClosed

    for task in tasks:
        text = _with_suggestion(service_suggestion_words(task), note, policy_services.NOTE_MAX)
        # Closed meanwhile, or an actor the task list does not know (a command): the call's
        # outcome and its follow-up still stand.
        with contextlib.suppress(ServiceTaskClosed, PermissionDenied):
            policy_services.service_task_complete(
                task=task, outcome=outcome, note=text, actor=actor, book_service_call=False
            )


@transaction.atomic
def service_task_outcome_record(
    *,
    task,
    outcome: str,
    actor,
    note: str = "",
    callback_at: dt.datetime | None = None,
) -> tuple[Any, FollowUp | None]:
    """Record a post-sale service task's outcome (``policies.service_task_complete``) from
    the workspace. An extended-service suggestion (延伸服务) the customer is interested in
    does not end there: the next service call on the won lead is booked with it — at
    ``callback_at``, or after the cadence's next spacing inside the calling window — and
    both the task and the follow-up name the suggestion. ``callback_at`` is for that case
    only, checked as a callback's time is. Returns the task and the follow-up booked."""
    from telesales.policies import services as policy_services
    from telesales.policies.choices import TaskKind as ServiceTaskKind
    from telesales.policies.choices import TaskOutcome
    from telesales.policies.models import ServiceTask

    now = timezone.now()
    task = ServiceTask.objects.select_related("agent__team").get(pk=task.pk)
    extended = task.kind == ServiceTaskKind.EXTENDED_SERVICE
    books = extended and outcome == TaskOutcome.INTERESTED
    if callback_at is not None and not books:
        raise ValidationFailed(
            _("Only an interested customer of an extended-service suggestion takes a call time"),
            fields={"callback_at": [_("not for this outcome")]},
        )
    note = _note(note)
    lead = None
    if books and task.lead_id:
        lead = (
            Lead.objects.select_for_update(of=("self",))
            .select_related("customer")
            .get(pk=task.lead_id)
        )
        if lead.state != LeadState.WON or lead.owner_id != task.agent_id:
            lead = None  # no longer the agent's customer: the task's outcome only
    if lead is not None:
        _require_self_or_lead(
            actor, task.agent, _("Only the task's agent or their team lead books its service call")
        )
    if callback_at is not None:
        _check_callback_at(callback_at, now)
        if lead is not None:
            _check_in_window(lead=lead, at=callback_at, agent=task.agent, field="callback_at")
    text = _with_suggestion(service_suggestion_words(task), note, policy_services.NOTE_MAX)
    done = policy_services.service_task_complete(
        task=task,
        outcome=outcome,
        note=text if extended else note,
        actor=actor,
        book_service_call=False,
    )
    if lead is None:
        return done, None
    followup = _service_interest_book(
        lead=lead,
        agent=task.agent,
        tasks=[done],
        attempt=None,
        callback_at=callback_at,
        note=note,
        at=now,
    )
    return done, followup


def service_call_after_interest(*, task, actor=None) -> dt.datetime | None:
    """Hook (policies ``on_service_interest``): a customer interested in an extended-service
    suggestion, recorded on the task list or through the policies API, gets the next service
    call booked on the won lead as the workspace books it — after the cadence's next spacing,
    inside the calling window, its note naming the suggestion. Nothing when the lead is no
    longer the task agent's won customer or the agent no longer works. Returns the time."""
    if not task.lead_id:
        return None
    lead = (
        Lead.objects.select_for_update(of=("self",)).select_related("customer").get(pk=task.lead_id)
    )
    if lead.state != LeadState.WON or lead.owner_id != task.agent_id:
        return None
    agent = Person.objects.select_related("team").get(pk=task.agent_id)
    if agent.status not in WORKING_STATUSES:
        return None
    followup = _service_interest_book(
        lead=lead,
        agent=agent,
        tasks=[task],
        attempt=None,
        callback_at=None,
        note=task.note,
        at=timezone.now(),
    )
    return followup.due_at


def _next_sequence(lead: Lead, open_fu: FollowUp | None) -> int:
    if open_fu is not None:
        return open_fu.sequence + 1
    since = lead.owned_since or lead.created_at
    done = FollowUp.objects.filter(
        lead_id=lead.pk,
        agent_id=lead.owner_id,
        status=FollowUpStatus.DONE,
        created_at__gte=since,
    ).count()
    return done + 1


def _inside_window(lead: Lead, due: dt.datetime, rules: CallRuleSet) -> dt.datetime:
    return window_opens(lead.customer.mobile_e164, due, rules)


def _cadence_exhausted(*, lead: Lead, rules: CallRuleSet, actor, at: dt.datetime) -> None:
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    # Words only: the lead history shows the reason to people as it is.
    reason = _("No sale after %(n)d follow-ups") % {"n": rules.cadence_max_followups}
    lead_services.leads_return_to_public(
        leads=[lead], actor=user_or_none(actor), action=LeadAction.RECYCLE, reason=reason, now=at
    )
    _followups_close(lead, status=FollowUpStatus.CANCELLED, at=at, note=reason)
    _release_lead_from_hands(lead.pk)


def _schedule_next(
    *,
    lead: Lead,
    agent: Person,
    rules: CallRuleSet,
    attempt: CallAttempt,
    open_fu: FollowUp | None,
    sequence: int,
    callback_at: dt.datetime | None,
    actor,
    at: dt.datetime,
    note: str = "",
) -> FollowUp | None:
    if sequence > rules.cadence_max_followups:
        _cadence_exhausted(lead=lead, rules=rules, actor=actor, at=at)
        # The page and the API say so: the lead left the agent's hands with this outcome.
        attempt.returned_to_pool_after = rules.cadence_max_followups
        return None
    if open_fu is not None:
        _followups_close(lead, status=FollowUpStatus.DONE, at=at, attempt=attempt)
    if callback_at is not None:
        due, kind = callback_at, FollowUpKind.CALLBACK
    else:
        due = _inside_window(lead, at + timedelta(days=rules.spacing_for(sequence)), rules)
        kind = FollowUpKind.FOLLOW_UP
    followup = FollowUp.objects.create(
        lead=lead,
        agent=agent,
        kind=kind,
        due_at=due,
        sequence=sequence,
        created_from=attempt,
        note=note,
    )
    lead_services.lead_followup_record(lead=lead, at=at)
    return followup


def renewal_contact_outcome(disposition: Disposition) -> str:
    """The renewal contact a call's disposition stands for (dispositions are data, so the
    flags decide, in this order):

    - a do-not-call request, a refusal, or a final outcome with the customer on the line
      (``dnc``, ``refused``, ``not_interested``) → ``refused`` (will not pay);
    - a wrong or dead number, or nobody we spoke to (``invalid_number``, ``wrong_person``,
      ``no_answer``, ``busy``, ``powered_off``, ``voicemail``) → ``unreachable``;
    - an effective conversation (``interested``, ``sale``) → ``promised`` (will pay);
    - any other contact (``callback``) → ``reached`` (reminded).
    """
    if disposition.dnc or disposition.refusal:
        return ContactOutcome.REFUSED
    if disposition.invalid_number or not disposition.contact:
        return ContactOutcome.UNREACHABLE
    if disposition.final and not disposition.sale:
        return ContactOutcome.REFUSED
    if disposition.effective:
        return ContactOutcome.PROMISED
    return ContactOutcome.REACHED


def _renewal_contact(
    *, attempt: CallAttempt, disposition: Disposition, actor, note: str, at: dt.datetime
) -> None:
    """A renewal call's outcome is the renewal task's contact (``operations``), in the same
    transaction. A task closed meanwhile (the premium was paid, the policy lapsed) or given to
    someone else keeps the call only."""
    task = attempt.renewal_task
    if task is None or task.status != TaskStatus.OPEN or task.owner_id != attempt.agent_id:
        return
    text = _("Call #%(id)d: %(outcome)s") % {"id": attempt.pk, "outcome": disposition.name}
    if note:
        text = f"{text} — {note}"
    limit = operations_services.NOTE_MAX
    if len(text) > limit:
        # The renewal task's contact log takes less than a call note: it shows the start and
        # says so; the whole note stays on the call.
        more = " … " + _("(shortened: the whole note is on call #%(id)d)") % {"id": attempt.pk}
        text = text[: limit - len(more)] + more
    # Closed or moved under the lock meanwhile: the call's outcome still stands.
    with contextlib.suppress(TaskClosed, PermissionDenied):
        operations_services.renewal_task_contact_record(
            task=task,
            outcome=renewal_contact_outcome(disposition),
            note=text[: operations_services.NOTE_MAX],
            actor=actor,
            at=min(attempt.started_at, at),
        )


def _dispose(
    *,
    attempt: CallAttempt,
    disposition: Disposition,
    actor,
    note: str,
    callback_at: dt.datetime | None,
    at: dt.datetime,
    moved: bool = False,
) -> CallAttempt:
    """Apply a disposition (the caller holds the transaction and checked the actor).
    ``moved``: the lead left the call's agent during the call; the outcome is recorded and
    the dial counted, and only what it says of the number (a DNC request, an invalid
    number) changes the lead: its new owner decides the rest."""
    lead = attempt.lead
    agent = attempt.agent
    rules = callrules_for_person(agent, on=timezone.localdate(at))
    user = user_or_none(actor)
    if attempt.ended_at is None and not disposition.sale:
        attempt.ended_at = max(at, attempt.started_at)
        if attempt.answered_at:
            attempt.talk_seconds = int((attempt.ended_at - attempt.answered_at).total_seconds())
    attempt.disposition = disposition
    attempt.disposed_at = at
    if note:
        attempt.note = note
    if not disposition.sale:
        day = timezone.localdate(attempt.ended_at or at)
        attempt.recording_retain_until = max(
            filter(None, [attempt.recording_retain_until, non_sale_retention(rules, day)])
        )
    attempt.save()
    lead = lead_services.lead_call_record(
        lead=lead,
        at=attempt.started_at,
        answered=bool(attempt.answered_at) or disposition.human_answered,
        contact=disposition.contact,
        actor=user,
        worked=not moved,
    )
    open_fu = _open_followup(lead)
    if disposition.dnc:
        lead_rules = ruleset_for_person(agent, on=timezone.localdate(at))
        entry = lead_services.dnc_add(
            phone=lead.customer.mobile_e164,
            source=DncSource.CUSTOMER_REQUEST,
            reason=_("Customer asked not to be called (call #%(id)d)") % {"id": attempt.pk},
            actor=user.get_username() if user else "system",
            ruleset_days=max(lead_rules.dnc_days, 180),
            when_listed=lead_services.DNC_EXTEND,  # listed already: keep or lengthen the block
        )
        lead.refresh_from_db()
        if lead.state not in (LeadState.DNC, LeadState.WON):
            lead_services.lead_close(
                lead=lead, state=LeadState.DNC, actor=user, reason=disposition.name, at=at
            )
        _followups_close(lead, status=FollowUpStatus.CANCELLED, at=at, note=disposition.name)
        _release_lead_from_hands(lead.pk)
        audit_record(
            actor=actor,
            action="calls.dnc_request",
            instance=attempt,
            after={"dnc_entry": entry.pk, "lead": lead.pk},
            reason=disposition.name,
        )
    elif disposition.sale:
        _followups_close(
            lead, status=FollowUpStatus.DONE, at=at, attempt=attempt, note=won_followup_note()
        )
    elif moved and not disposition.invalid_number:
        pass  # the lead's follow-ups and state are its new owner's
    elif disposition.invalid_number or disposition.final:
        if lead.state != LeadState.WON:
            lead_services.lead_close(
                lead=lead,
                state=LeadState.INVALID if disposition.invalid_number else LeadState.LOST,
                actor=user,
                reason=disposition.name,
                at=at,
            )
        _followups_close(lead, status=FollowUpStatus.CANCELLED, at=at, note=disposition.name)
        _release_lead_from_hands(lead.pk)
    elif disposition.callback:
        if lead.state in OPEN_STATES:
            _schedule_next(
                lead=lead,
                agent=agent,
                rules=rules,
                attempt=attempt,
                open_fu=open_fu,
                sequence=_next_sequence(lead, open_fu),
                callback_at=callback_at,
                actor=actor,
                at=at,
                note=note,
            )
        elif lead.state == LeadState.WON:
            # The service call for an extended-service suggestion: the suggestion's tasks are
            # done (the customer is interested) and the next service call carries it on.
            tasks = _extended_tasks_of_call(attempt, lead=lead)
            if tasks:
                from telesales.policies.choices import TaskOutcome

                _extended_tasks_complete(
                    tasks=tasks, outcome=TaskOutcome.INTERESTED, note=note, actor=actor
                )
                _service_interest_book(
                    lead=lead,
                    agent=agent,
                    tasks=tasks,
                    attempt=attempt,
                    callback_at=callback_at,
                    note=note,
                    at=at,
                )
            elif callback_at is not None:
                _service_callback(
                    lead=lead, agent=agent, attempt=attempt, due=callback_at, at=at, note=note
                )
    elif disposition.refusal:
        if open_fu is not None:
            _followups_close(lead, status=FollowUpStatus.CANCELLED, at=at, note=disposition.name)
    elif open_fu is not None and open_fu.due_at <= at and lead.state in OPEN_STATES:
        # A due follow-up call that did not reach the customer.
        if open_fu.sequence < rules.cadence_min_followups:
            open_fu.due_at = _inside_window(lead, at + timedelta(days=rules.spacing_for(1)), rules)
            # Due again later, it is no longer overdue: off the team lead's escalated list
            # (``followups_escalate`` sends it again should the new time pass unworked).
            open_fu.escalated_at = None
            open_fu.escalated_to = None
            open_fu.save(update_fields=["due_at", "escalated_at", "escalated_to", "updated_at"])
        else:
            _schedule_next(
                lead=lead,
                agent=agent,
                rules=rules,
                attempt=attempt,
                open_fu=open_fu,
                sequence=open_fu.sequence + 1,
                callback_at=None,
                actor=actor,
                at=at,
            )
    if attempt.renewal_task_id:
        _renewal_contact(attempt=attempt, disposition=disposition, actor=actor, note=note, at=at)
    if attempt.ended_at is None:
        return attempt  # a sale recorded during the call: the call's end frees the agent
    presence = presence_lock(agent, at=at)
    if presence.attempt_id == attempt.pk or presence.lead_id == lead.pk:
        if presence.lead_id == lead.pk:
            presence_hand(presence, lead=None, at=at)
        presence.attempt = None
        if presence.state in (AgentState.DIALLING, AgentState.TALKING, AgentState.WRAP_UP):
            _presence_state(presence, AgentState.IDLE, at)
        presence.save()
    return attempt


@transaction.atomic
def disposition_record(
    *,
    attempt: CallAttempt,
    disposition: Disposition,
    actor,
    note: str = "",
    callback_at: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> CallAttempt:
    """Record how a call ended, and do what it means at once: count the dial on the lead;
    a DNC request puts the number on the DNC list and closes the lead; an invalid number or
    a final outcome closes it; interested or callback books the next follow-up (at
    ``callback_at``, or after the cadence's next spacing) and a cadence that runs out sends
    the lead back to the public pool. Only the call's agent or their team lead records it."""
    now = timezone.now()
    at = at or now
    attempt = _attempt_locked(attempt, ("agent", "agent__team"))  # the team: its stage's rules
    _require_self_or_lead(
        actor,
        attempt.agent,
        _("Only the agent of this call or their team lead may record its outcome"),
    )
    disposition = Disposition.objects.filter(pk=disposition.pk).first() or disposition
    if not disposition.is_active:
        raise UnknownDisposition(_("This disposition is no longer in use"))
    if attempt.disposition_id:
        raise CallAlreadyDisposed(_("This call's outcome is recorded already"))
    if disposition.sale:
        raise ValidationFailed(
            _("Record a sale with its policy (product, premium, insured persons)"),
            fields={"disposition": [_("use the sale form")]},
        )
    # The lead is locked before its owner is checked: a transfer (or a second outcome through
    # another call) that commits meanwhile is seen here, never half-applied after the check.
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=attempt.lead_id)
    )
    attempt.lead = lead
    moved = lead.owner_id != attempt.agent_id and lead.state not in (LeadState.DNC,)
    if moved and disposition.callback:
        # The lead left the agent during the call (released, transferred, recalled): its
        # new owner books its calls. The call's own outcome can still be recorded.
        raise NotYourCall(
            _(
                "This lead is no longer in %(name)s's hands: record the call's outcome "
                "without a follow-up; whoever holds the lead now books its calls"
            )
            % {"name": attempt.agent.name}
        )
    note = _note(note)
    if callback_at is not None and not disposition.callback:
        raise ValidationFailed(
            _("Only a callback or interested outcome takes a callback time"),
            fields={"callback_at": [_("not for this outcome")]},
        )
    _check_callback_at(callback_at, now)
    if disposition.callback and not attempt.renewal_task_id:
        # A renewal call's outcome is the renewal task's contact, which brings the task
        # back by its own rule (``_renewal_contact``): nothing to book there.
        _check_callback_on_lead(lead=lead, callback_at=callback_at, attempt=attempt)
    if callback_at is not None:
        _check_in_window(lead=lead, at=callback_at, agent=attempt.agent, field="callback_at")
    return _dispose(
        attempt=attempt,
        disposition=disposition,
        actor=actor,
        note=note,
        callback_at=callback_at,
        at=at,
        moved=moved,
    )


# --- Follow-ups ----------------------------------------------------------------------------
@transaction.atomic
def followup_schedule(
    *,
    lead: Lead,
    agent: Person,
    due_at: dt.datetime,
    actor,
    kind: str = FollowUpKind.CALLBACK,
    note: str = "",
) -> FollowUp:
    """Book a follow-up by hand (a callback the customer asked for). It replaces the lead's
    open follow-up, keeping its place in the cadence. Refuses the past. Idempotent: booking
    the open follow-up's own time and kind again returns it unchanged (a double submit)."""
    _require_self_or_lead(actor, agent, _("You may only book follow-ups for your own leads"))
    now = timezone.now()
    if kind not in FollowUpKind.values:
        raise ValidationFailed(_("Unknown kind"), fields={"kind": [_("unknown")]})
    _aware(due_at, "due_at")
    if due_at <= now:
        raise FollowUpInPast(
            _("A follow-up must be in the future"), fields={"due_at": [_("in the past")]}
        )
    if due_at > now + timedelta(days=FOLLOWUP_MAX_DAYS):
        raise ValidationFailed(
            _("A follow-up can be booked at most %(n)d days ahead") % {"n": FOLLOWUP_MAX_DAYS},
            fields={"due_at": [_("too far ahead")]},
        )
    note = _note(note)
    lead = Lead.objects.select_for_update(of=("self",)).select_related("customer").get(pk=lead.pk)
    allowed_states = (*OPEN_STATES, LeadState.WON) if kind == FollowUpKind.SERVICE else OPEN_STATES
    if lead.owner_id == agent.pk and lead.state == LeadState.WON and kind != FollowUpKind.SERVICE:
        # Theirs, but sold: the sales cadence is over, the next call serves the customer.
        raise WonLeadNeedsServiceFollowUp(won_lead_service_message(kind))
    if lead.owner_id != agent.pk or lead.state not in allowed_states:
        raise NotYourCall(_("This lead is not being worked by %(name)s") % {"name": agent.name})
    _check_in_window(lead=lead, at=due_at, agent=agent, field="due_at")
    open_fu = _open_followup(lead)
    if (
        open_fu is not None
        and open_fu.agent_id == agent.pk
        and open_fu.kind == kind
        and open_fu.due_at == due_at
    ):
        # The same booking again (a form submitted twice): it stands, nothing is added.
        return open_fu
    sequence = open_fu.sequence if open_fu else _next_sequence(lead, None)
    if open_fu is not None:
        _followups_close(lead, status=FollowUpStatus.CANCELLED, at=now, note=_("rescheduled"))
    followup = FollowUp.objects.create(
        lead=lead, agent=agent, kind=kind, due_at=due_at, sequence=sequence, note=note
    )
    lead_services.lead_followup_record(lead=lead, at=now)
    return followup


def followup_after_decline(*, policy, lead: Lead, actor=None) -> FollowUp | None:
    """Hook (policies ``on_policy_declined``): when the declined application gave the lead
    back to its agent, book the agent a follow-up with the customer — to explain and offer
    something else — after the cadence's first spacing, moved into the calling window; "next
    lead" then hands it back with the other due follow-ups. Nothing when the lead stays won
    (another policy) or its owner no longer works."""
    if lead.state not in OPEN_STATES or lead.owner_id is None:
        return None
    agent = Person.objects.select_related("team").get(pk=lead.owner_id)
    if agent.status not in WORKING_STATUSES:
        return None
    now = timezone.now()
    rules = callrules_for_person(agent, on=timezone.localdate(now))
    lead = Lead.objects.select_related("customer").get(pk=lead.pk)
    due = _inside_window(lead, now + timedelta(days=rules.spacing_for(1)), rules)
    note = _("Policy #%(id)d was declined by underwriting: explain, and offer another cover") % {
        "id": policy.pk
    }
    return followup_schedule(
        lead=lead, agent=agent, due_at=due, actor=None, kind=FollowUpKind.FOLLOW_UP, note=note
    )


@transaction.atomic
def followup_complete(*, followup: FollowUp, actor, note: str = "") -> FollowUp:
    """Mark a follow-up done by hand (it was handled outside a recorded call)."""
    followup = (
        FollowUp.objects.select_for_update().select_related("agent__team").get(pk=followup.pk)
    )
    _require_self_or_lead(actor, followup.agent, _("This follow-up is not yours"))
    if followup.status != FollowUpStatus.OPEN:
        raise FollowUpNotOpen(_("This follow-up is not open"))
    note = _note(note)
    joined = _notes_joined(followup.note, note)
    if len(joined) > NOTE_MAX:
        # Added to the note written when it was booked, which is kept: together too long.
        message = _(
            "This follow-up's note already has %(had)d characters; at most %(left)d more fit "
            "(you wrote %(length)d). Shorten it; nothing was saved."
        ) % {
            "had": len(followup.note),
            "left": max(NOTE_MAX - len(followup.note) - 1, 0),
            "length": len(note),
        }
        raise ValidationFailed(message, fields={"note": [message]})
    followup.status = FollowUpStatus.DONE
    followup.done_at = timezone.now()
    followup.note = joined
    followup.save()
    return followup


def _stage_rules(now: dt.datetime) -> Callable[[str], CallRuleSet]:
    """The call rule set per team stage on ``now``'s day, looked up once per stage."""
    cache: dict[str, CallRuleSet] = {}

    def get(stage: str) -> CallRuleSet:
        if stage not in cache:
            cache[stage] = callrules_in_force(stage=stage, on=timezone.localdate(now))
        return cache[stage]

    return get


def followup_escalates_at(fu: FollowUp, rules: CallRuleSet) -> dt.datetime:
    """When an open follow-up counts as overdue past ``rules.overdue_escalate_hours``:
    hours of calling time, counted only inside the calling window in the customer's local
    time (``guards.window_time_reached``), since nobody can work it at night. Due 20:30
    with 2 hours and the window 09:00–21:00: 10:30 the next day."""
    return window_time_reached(
        since=fu.due_at,
        amount=timedelta(hours=rules.overdue_escalate_hours),
        zones=customer_zones(fu.lead.customer.mobile_e164),
        window_start=rules.window_start,
        window_end=rules.window_end,
    )


def followups_escalate(*, now: dt.datetime | None = None, actor=None) -> dict:
    """Open follow-ups overdue by more than the rule set's ``overdue_escalate_hours`` of
    calling time (:func:`followup_escalates_at`: the night does not count) go to the
    owner's team lead (``escalated_to``); each is escalated once. Periodic."""
    now = now or timezone.now()
    rules_for = _stage_rules(now)
    escalated = 0
    candidates = (
        FollowUp.objects.filter(
            status=FollowUpStatus.OPEN, escalated_at__isnull=True, due_at__lt=now
        )
        .select_related("agent__team")
        .order_by("due_at", "id")
    )
    for ids in _id_chunks(candidates):
        with transaction.atomic():
            for fu in (
                FollowUp.objects.select_for_update(of=("self",))
                .select_related("agent__team", "lead__customer")
                .filter(pk__in=ids, status=FollowUpStatus.OPEN, escalated_at__isnull=True)
            ):
                rules = rules_for(fu.agent.team.stage if fu.agent.team_id else "")
                if followup_escalates_at(fu, rules) > now:
                    continue
                fu.escalated_at = now
                fu.escalated_to_id = fu.agent.team.leader_id if fu.agent.team_id else None
                fu.save(update_fields=["escalated_at", "escalated_to", "updated_at"])
                escalated += 1
    if escalated:
        audit_record(
            actor=actor or "system",
            action="calls.followups_escalate",
            object_type="calls.followup",
            object_repr=_("overdue follow-ups escalated"),
            after={"escalated": escalated},
        )
    return {"escalated": escalated}


def _id_chunks(qs, size: int = 500):
    last = 0
    while True:
        ids = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:size])
        if not ids:
            return
        last = ids[-1]
        yield ids


def absent_person_ids(day: dt.date) -> set[int]:
    return set(
        Absence.objects.filter(start_date__lte=day, end_date__gte=day).values_list(
            "person_id", flat=True
        )
    )


def _cover_for(*, fu: FollowUp, absent: set[int], load: Counter) -> Person | None:
    """A working, registered teammate of the grade the lead needs, present today, with the
    fewest follow-ups due today."""
    owner = fu.agent
    mates = (
        Person.objects.filter(
            team_id=owner.team_id,
            status__in=(PersonStatus.ACTIVE, PersonStatus.WARNING, PersonStatus.TRAINEE),
            capability_grade__gte=fu.lead.required_grade or 1,
        )
        .filter(user__is_active=True, user__groups__name=Role.AGENT.value)
        .exclude(pk=owner.pk)
        .exclude(practice_reg_no="")
        .exclude(pk__in=absent)
        .order_by("id")
    )
    mates = list(mates)
    if not mates:
        return None
    return min(mates, key=lambda p: (load[p.pk], p.pk))


def _followup_move(
    *, fu: FollowUp, to_agent: Person, actor, reason: str, at: dt.datetime, due_at=None
) -> FollowUp:
    """Move an open follow-up, and its lead with it (``leads.lead_transfer``, which records
    the reason in the lead's history), to ``to_agent``: the old one is ``moved``, a new one
    is open for the teammate (``moved_from`` says whose it was). The caller holds the lock
    and the transaction and checked the teammate."""
    lead_services.lead_transfer(lead=fu.lead, to_agent=to_agent, actor=actor, reason=reason)
    _release_lead_from_hands(fu.lead_id)
    fu.status = FollowUpStatus.MOVED
    fu.done_at = at
    fu.save(update_fields=["status", "done_at", "updated_at"])
    return FollowUp.objects.create(
        lead=fu.lead,
        agent=to_agent,
        kind=fu.kind,
        due_at=due_at or fu.due_at,
        sequence=fu.sequence,
        created_from=fu.created_from,
        note=fu.note,
        moved_from=fu.agent,
    )


def _why_not_target(*, followup: FollowUp, to_agent: Person, day: dt.date) -> str | None:
    """Why ``to_agent`` may not take ``followup``, in words, or None."""
    owner = followup.agent
    if to_agent.pk == owner.pk:
        return _("%(name)s has this follow-up already") % {"name": to_agent.name}
    if not owner.team_id or to_agent.team_id != owner.team_id:
        return _("%(name)s is not in %(owner)s's team") % {
            "name": to_agent.name,
            "owner": owner.name,
        }
    if to_agent.user is None or not has_role(to_agent.user, Role.AGENT):
        # A team lead without the agent role cannot open the workspace to work it.
        return _("%(name)s does not work leads in the agent workspace (no agent role)") % {
            "name": to_agent.name
        }
    if to_agent.status not in WORKING_STATUSES:
        return _("%(name)s is %(status)s, not working") % {
            "name": to_agent.name,
            "status": to_agent.get_status_display(),
        }
    if not (to_agent.practice_reg_no or "").strip():
        return _("%(name)s has no practice registration number yet, so may not sell") % {
            "name": to_agent.name
        }
    if (to_agent.capability_grade or 0) < (followup.lead.required_grade or 1):
        return _("%(name)s may not sell this lead's products") % {"name": to_agent.name}
    if to_agent.pk in absent_person_ids(day):
        return _("%(name)s is absent today") % {"name": to_agent.name}
    return None


@transaction.atomic
def followup_reassign(
    *, followup: FollowUp, to_agent: Person, actor, reason: str, at: dt.datetime | None = None
) -> FollowUp:
    """The team lead of the follow-up owner's team (or the manager) gives an open follow-up
    — an escalated overdue one, typically — to a working teammate of the same team, with its
    lead, as the absent-owner cover does (``followups_reassign_absent``). The new follow-up
    is due at once when the old one was overdue (the teammate works it now; it escalates
    again only if it is left). Audited with the reason. Refused: not the actor's team, the
    teammate not working / registered / of the grade / present / in the team, the
    follow-up no longer open or its lead no longer the owner's."""
    now = at or timezone.now()
    fu = (
        FollowUp.objects.select_for_update(of=("self",))
        .select_related("agent__team", "lead")
        .get(pk=followup.pk)
    )
    if not (isinstance(actor, str) or permissions.can_reassign_followup(actor, fu)):
        raise PermissionDenied(
            _("Only the team lead of %(name)s's team or the manager may reassign this follow-up")
            % {"name": fu.agent.name}
        )
    reason = " ".join((reason or "").split())
    if len(reason) < 2:
        message = _(
            "Say in a few words (at least 2 characters) why the follow-up moves: the teammate "
            "and the lead history show it"
        )
        raise ValidationFailed(message, fields={"reason": [message]})
    if len(reason) > REASSIGN_REASON_MAX:
        message = _("The reason is too long: %(length)d characters, at most %(max)d") % {
            "length": len(reason),
            "max": REASSIGN_REASON_MAX,
        }
        raise ValidationFailed(message, fields={"reason": [message]})
    if fu.status != FollowUpStatus.OPEN:
        raise FollowUpNotOpen(
            _("This follow-up is no longer open (%(status)s)") % {"status": fu.get_status_display()}
        )
    lead = Lead.objects.select_for_update(of=("self",)).get(pk=fu.lead_id)
    if lead.owner_id != fu.agent_id or lead.state not in OPEN_STATES:
        raise InvalidState(
            _("The lead of this follow-up is no longer in %(name)s's private pool")
            % {"name": fu.agent.name}
        )
    fu.lead = lead
    to_agent = Person.objects.select_related("team", "user").get(pk=to_agent.pk)
    why = _why_not_target(followup=fu, to_agent=to_agent, day=timezone.localdate(now))
    if why:
        raise ValidationFailed(why, fields={"to_agent_id": [why]})
    before = {"agent": fu.agent_id, "due_at": fu.due_at.isoformat()}
    text = _("reassigned by the team lead: %(reason)s") % {"reason": reason}
    moved = _followup_move(
        fu=fu,
        to_agent=to_agent,
        actor=actor,
        reason=text,
        at=now,
        due_at=max(fu.due_at, now),
    )
    audit_record(
        actor=actor,
        action="calls.followup_reassign",
        instance=moved,
        before=before,
        after={
            "agent": to_agent.pk,
            "due_at": moved.due_at.isoformat(),
            "from_followup": fu.pk,
            "lead": lead.pk,
        },
        reason=reason,
    )
    return moved


def followups_reassign_absent(*, now: dt.datetime | None = None, actor=None) -> dict:
    """Open follow-ups due today (or overdue) whose owner is absent today or not working
    move, with their lead, to a working teammate — when the owner's rule set allows it
    (``callback_reassign_when_owner_absent``). Periodic."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    end_of_day = timezone.make_aware(dt.datetime.combine(today + timedelta(days=1), dt.time()))
    absent = absent_person_ids(today)
    rules_for = _stage_rules(now)
    due = FollowUp.objects.filter(
        status=FollowUpStatus.OPEN,
        due_at__lt=end_of_day,
        lead__state__in=OPEN_STATES,
    ).filter(Q(agent_id__in=absent) | ~Q(agent__status__in=WORKING_STATUSES))
    load: Counter = Counter(
        dict(
            FollowUp.objects.filter(status=FollowUpStatus.OPEN, due_at__lt=end_of_day)
            .order_by()
            .values_list("agent_id")
            .annotate(n=Count("id"))
        )
    )
    moved = skipped = 0
    for ids in _id_chunks(due):
        for fu_id in ids:
            with transaction.atomic():
                fu = (
                    FollowUp.objects.select_for_update(of=("self",))
                    .select_related("agent__team", "lead")
                    .filter(pk=fu_id, status=FollowUpStatus.OPEN)
                    .first()
                )
                if fu is None or fu.lead.owner_id != fu.agent_id:
                    continue
                rules = rules_for(fu.agent.team.stage if fu.agent.team_id else "")
                if not rules.callback_reassign_when_owner_absent:
                    skipped += 1
                    continue
                mate = _cover_for(fu=fu, absent=absent, load=load)
                if mate is None:
                    skipped += 1
                    continue
                reason = _("callback cover: %(name)s is absent") % {"name": fu.agent.name}
                _followup_move(fu=fu, to_agent=mate, actor=actor, reason=reason, at=now)
                load[mate.pk] += 1
                moved += 1
    if moved:
        audit_record(
            actor=actor or "system",
            action="calls.followups_reassign",
            object_type="calls.followup",
            object_repr=_("callbacks of absent agents moved"),
            after={"moved": moved, "skipped": skipped},
        )
    return {"moved": moved, "skipped": skipped}


def followups_close_on_closed_leads(*, actor=None, now: dt.datetime | None = None) -> dict:
    """Open follow-ups on leads no longer worked, closed as the calls that end a lead
    close them: on a won lead done, with the sale path's note (``won_followup_note``),
    except a service call (a won lead's own kind); on a lost, invalid or do-not-call lead
    cancelled with the lead's state. For leads sold or closed below the calls layer (the
    operations demo sells through ``policies.sale_record`` directly). Follow-ups on leads
    being worked are not touched. One audit row."""
    now = now or timezone.now()
    closed = {"done": 0, "cancelled": 0}
    won = FollowUp.objects.filter(status=FollowUpStatus.OPEN, lead__state=LeadState.WON).exclude(
        kind=FollowUpKind.SERVICE
    )
    shut = FollowUp.objects.filter(
        status=FollowUpStatus.OPEN,
        lead__state__in=(LeadState.LOST, LeadState.INVALID, LeadState.DNC),
    )
    # Recycled to the public pool, transferred, put on the do-not-call list by the data
    # officer: the lead is no longer the agent's, so nobody can act on the follow-up (QA,
    # session 20: 353 of them stayed escalated on the dashboard, refused when reassigned).
    # Dispatch voids such a follow-up too, but only when its agent next asks for a lead.
    left = FollowUp.objects.filter(status=FollowUpStatus.OPEN).exclude(lead__owner_id=F("agent_id"))
    for qs, status in (
        (won, FollowUpStatus.DONE),
        (shut, FollowUpStatus.CANCELLED),
        (left, FollowUpStatus.CANCELLED),
    ):
        for ids in _id_chunks(qs):
            with transaction.atomic():
                for fu in (
                    FollowUp.objects.select_for_update(of=("self",))
                    .select_related("lead")
                    .filter(pk__in=ids, status=FollowUpStatus.OPEN)
                ):
                    if status == FollowUpStatus.DONE:
                        reason = won_followup_note()
                    elif fu.lead.owner_id != fu.agent_id:
                        reason = _("the lead is no longer in this agent's pool")
                    else:
                        reason = fu.lead.get_state_display()
                    text = f"{reason} · {fu.note}" if fu.note else reason
                    fu.note = text if len(text) <= NOTE_MAX else fu.note
                    fu.status = status
                    fu.done_at = now
                    fu.save(update_fields=["status", "done_at", "note", "updated_at"])
                    closed[status] += 1
    if closed["done"] or closed["cancelled"]:
        audit_record(
            actor=actor or "system",
            action="calls.followups_close_on_closed_leads",
            object_type="calls.followup",
            object_repr=_("follow-ups on won, closed or departed leads closed"),
            after=closed,
        )
    return closed


def followups_cancel_for_person(*, person: Person, actor=None) -> int:
    """The org hook: someone who leaves or is suspended owes no follow-ups any more (their
    leads go back to the pool through the leads app)."""
    now = timezone.now()
    n = FollowUp.objects.filter(agent_id=person.pk, status=FollowUpStatus.OPEN).update(
        status=FollowUpStatus.CANCELLED, done_at=now, updated_at=now
    )
    AgentPresence.objects.filter(person_id=person.pk).update(
        state=AgentState.OFFLINE,
        since=now,
        lead=None,
        followup=None,
        renewal_task=None,
        source="",
        attempt=None,
    )
    return n


# --- Sale ------------------------------------------------------------------------------------
@transaction.atomic
def sale_record(
    *,
    attempt: CallAttempt,
    product,
    annualised_premium: Decimal,
    payment_mode: str,
    term_years: int,
    insured_ids: list[int],
    actor,
    holder_id: int | None = None,
    note: str = "",
):
    """Record an online close on a call: the policy (``policies.services.sale_record``, with
    the call's recording), the sale disposition, the follow-ups done and the recording kept
    for ≥ 5 / 10 years after the policy ends. Checked whole before anything is written. The
    same sale submitted twice on this call (same product, holder, insured persons) records
    one policy; the second is refused with ``duplicate_sale`` (409)."""
    from telesales.policies import services as policy_services

    now = timezone.now()
    attempt = _attempt_locked(attempt, _ATTEMPT_RELATED)
    require_self(actor, attempt.agent, _("Only the selling agent records their sale"))
    if attempt.disposition_id and not attempt.disposition.sale:
        raise CallAlreadyDisposed(
            _("This call's outcome is recorded already (%(name)s)")
            % {"name": attempt.disposition.name}
        )
    if not attempt.answered_at:
        raise InvalidState(
            _("A sale needs a call the customer answered (its recording confirms the purchase)")
        )
    if attempt.kind != CallKind.SALES:
        blocks = sale_marketing_blocks(lead=attempt.lead, at=now)
        if blocks:
            raise _blocked(blocks)
    note = _note(note)
    if attempt.disposition_id and note:
        # A further policy on a call already recorded as a sale: its note joins the call's.
        call_note = _notes_joined(attempt.note, note)
        if len(call_note) > NOTE_MAX:
            raise _too_long(len(call_note))
    recording = attempt.recording_ref
    if not recording and attempt.adapter_call_id:
        ref = getattr(get_adapter(), "recording_ref", None)
        recording = str(ref(attempt.adapter_call_id) or "") if callable(ref) else ""
    policy = policy_services.sale_record(
        lead=attempt.lead,
        agent=attempt.agent,
        product=product,
        annualised_premium=annualised_premium,
        payment_mode=payment_mode,
        term_years=term_years,
        insured_ids=insured_ids,
        actor=actor,
        recording_ref=recording[:200],
        at=now,
        holder_id=holder_id,
        duplicates_since=attempt.started_at,  # the same sale posted twice: DuplicateSale
    )
    rules = callrules_for_person(attempt.agent, on=timezone.localdate(now))
    keep = sale_retention(rules, sold_on=timezone.localdate(now), term_years=int(term_years))
    attempt.recording_ref = attempt.recording_ref or recording
    attempt.recording_retain_until = max(filter(None, [attempt.recording_retain_until, keep]))
    update_fields = ["recording_ref", "recording_retain_until", "updated_at"]
    if attempt.disposition_id and note:
        attempt.note = _notes_joined(attempt.note, note)
        update_fields.append("note")
    attempt.save(update_fields=update_fields)
    if not attempt.disposition_id:
        sale = Disposition.objects.filter(sale=True, is_active=True).order_by("order", "id").first()
        if sale is None:
            raise InvalidState(_("No active sale disposition is configured"))
        attempt.lead.refresh_from_db()
        _dispose(
            attempt=attempt, disposition=sale, actor=actor, note=note, callback_at=None, at=now
        )
    return policy


def recording_retention_for_policy(
    *, attempt: CallAttempt, ends_on: dt.date, term_years: int
) -> CallAttempt:
    """Re-base a sale recording's retention on the policy's real end (a cancellation, a
    lapse, the end of its term): kept 5 / 10 years from that day (R1/R12)."""
    rules = callrules_for_person(attempt.agent, on=timezone.localdate())
    years = rules.sale_recording_years_short if term_years <= 1 else rules.sale_recording_years_long
    keep = _years_after(ends_on, years)
    CallAttempt.objects.filter(pk=attempt.pk).update(recording_retain_until=keep)
    attempt.recording_retain_until = keep
    return attempt


# --- Configuration: dispositions and call rule sets (the manager) --------------------------
DISPOSITION_FIELDS = (
    "name",
    "human_answered",
    "contact",
    "effective",
    "sale",
    "callback",
    "dnc",
    "invalid_number",
    "refusal",
    "final",
    "order",
    "is_active",
)


def _check_disposition(d: Disposition) -> None:

    errors: dict[str, list[str]] = {}
    if d.contact and not d.human_answered:
        errors["human_answered"] = [_("a contact is a call a person answered")]
    if d.sale and not d.contact:
        errors["contact"] = [_("a sale is a contact")]
    if d.sale and (d.dnc or d.invalid_number or d.callback):
        errors["sale"] = [_("a sale is not also do-not-call, invalid or a callback")]
    if d.callback and (d.final or d.dnc or d.invalid_number):
        errors["callback"] = [_("a callback keeps the lead open")]
    if d.dnc and not d.final:
        errors["final"] = [_("a do-not-call request ends the lead")]
    if errors:
        raise ValidationFailed(_("These outcome flags do not fit together"), fields=errors)
    validate_instance(d)


@transaction.atomic
def disposition_create(*, actor, code: str, name: str, **flags: Any) -> Disposition:

    if not permissions.can_manage_dispositions(actor):
        raise PermissionDenied(_("Only the center manager changes the dispositions"))
    unknown = sorted(set(flags) - set(DISPOSITION_FIELDS))
    if unknown:
        raise ValidationFailed(_("Unknown fields"), fields={k: [_("unknown")] for k in unknown})
    if Disposition.objects.filter(code=code).exists():
        raise ValidationFailed(_("This code exists"), fields={"code": [_("already in use")]})
    d = Disposition(code=code, name=name, **flags)
    _check_disposition(d)
    save_or_conflict(d)
    audit_record(actor=actor, action="calls.disposition_create", instance=d, after=flags)
    return d


@transaction.atomic
def disposition_update(*, disposition: Disposition, actor, **changes: Any) -> Disposition:
    """Change a disposition's name, flags, order or whether it is in use. The code stays:
    past calls refer to it."""

    if not permissions.can_manage_dispositions(actor):
        raise PermissionDenied(_("Only the center manager changes the dispositions"))
    d = Disposition.objects.select_for_update().get(pk=disposition.pk)
    before = model_snapshot(d)
    changed = apply_changes(d, changes, allowed=set(DISPOSITION_FIELDS))
    if not changed:
        return d
    _check_disposition(d)
    save_or_conflict(d)
    audit_record(
        actor=actor,
        action="calls.disposition_update",
        instance=d,
        before={k: before[k] for k in changed},
        after={k: getattr(d, k) for k in changed},
    )
    return d


CALLRULE_FIELDS = (
    "window_start",
    "window_end",
    "max_attempts_per_day",
    "max_attempts_24h",
    "max_attempts_lifetime",
    "min_minutes_between_attempts",
    "refusal_cooldown_days",
    "effective_call_seconds",
    "cadence_min_followups",
    "cadence_max_followups",
    "cadence_spacing_days",
    "overdue_escalate_hours",
    "callback_reassign_when_owner_absent",
    "non_sale_recording_days",
    "sale_recording_years_short",
    "sale_recording_years_long",
)
CALLRULE_LIMITS = {
    "max_attempts_per_day": (1, 50),
    "max_attempts_24h": (1, 100),
    "max_attempts_lifetime": (1, 1000),
    "min_minutes_between_attempts": (0, 7 * 24 * 60),
    "refusal_cooldown_days": (0, 3650),
    "effective_call_seconds": (1, 3600),
    "cadence_min_followups": (0, 50),
    "cadence_max_followups": (1, 50),
    "overdue_escalate_hours": (1, 24 * 90),
    "non_sale_recording_days": (1, 3650),
    "sale_recording_years_short": (5, 100),
    "sale_recording_years_long": (10, 100),
}


def _check_callrules(rules: CallRuleSet) -> None:

    errors: dict[str, list[str]] = {}
    for name, (low, high) in CALLRULE_LIMITS.items():
        value = getattr(rules, name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            errors[name] = [
                _("a whole number from %(low)d to %(high)d") % {"low": low, "high": high}
            ]
    if rules.stage and rules.stage not in TeamStage.values:
        errors["stage"] = [_("unknown stage")]
    if not isinstance(rules.window_start, dt.time) or not isinstance(rules.window_end, dt.time):
        errors["window_start"] = [_("a time of day")]
    elif rules.window_end <= rules.window_start:
        errors["window_end"] = [_("after the start of the window")]
    elif rules.window_start < dt.time(9, 0) or rules.window_end > dt.time(21, 0):
        errors["window_start"] = [_("sales calls stay within 09:00–21:00 (R1)")]
    spacing = rules.cadence_spacing_days
    if (
        not isinstance(spacing, list)
        or not spacing
        or len(spacing) > 50
        or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 365 for d in spacing)
    ):
        errors["cadence_spacing_days"] = [_("a list of 1 to 50 whole numbers of days (1–365)")]
    if (
        "cadence_min_followups" not in errors
        and "cadence_max_followups" not in errors
        and rules.cadence_min_followups > rules.cadence_max_followups
    ):
        errors["cadence_min_followups"] = [_("at most the maximum")]
    if (
        "max_attempts_per_day" not in errors
        and "max_attempts_24h" not in errors
        and rules.max_attempts_per_day > rules.max_attempts_lifetime
    ):
        errors["max_attempts_lifetime"] = [_("at least the daily cap")]
    if errors:
        raise ValidationFailed(_("The call rules are not valid"), fields=errors)
    validate_instance(rules)


@transaction.atomic
def callrules_version_create(
    *,
    actor,
    name: str,
    effective_from: dt.date,
    stage: str = "",
    based_on: CallRuleSet | None = None,
    reason: str = "",
    **params: Any,
) -> CallRuleSet:
    """A new version of the call rules effective from a day (today or later); a version in
    force is never edited, so past dial decisions stay explainable."""

    if not permissions.can_manage_call_rules(actor):
        raise PermissionDenied(_("Only the center manager changes the call rules"))
    unknown = sorted(set(params) - set(CALLRULE_FIELDS))
    if unknown:
        raise ValidationFailed(_("Unknown fields"), fields={k: [_("unknown")] for k in unknown})
    if not isinstance(effective_from, dt.date) or effective_from < timezone.localdate():
        raise ValidationFailed(
            _("A new version takes effect today or later"),
            fields={"effective_from": [_("today or later")]},
        )
    base = based_on or callrules_in_force(stage=stage)
    values = {f: getattr(base, f) for f in CALLRULE_FIELDS}
    values.update(params)
    rules = CallRuleSet(
        name=(name or "").strip()[:100], stage=stage, effective_from=effective_from, **values
    )
    if not rules.name:
        raise ValidationFailed(_("Name the version"), fields={"name": [_("required")]})
    _check_callrules(rules)
    save_or_conflict(rules)
    audit_record(
        actor=actor,
        action="calls.callrules_create",
        instance=rules,
        after=model_snapshot(rules),
        reason=reason,
    )
    return rules


# --- Recordings past their retention ---------------------------------------------------------
def recordings_due(*, on: dt.date):
    """Calls whose recording is kept only until before ``on`` and not yet reported deleted:
    what the recording store must delete (PIPL art. 19: a non-sale recording is not kept past
    its purpose; R1/R12 for a sale's). Oldest first."""
    return (
        CallAttempt.objects.exclude(recording_ref="")
        .filter(recording_retain_until__lt=on, recording_deleted_on__isnull=True)
        .order_by("recording_retain_until", "id")
    )


@transaction.atomic
def recordings_mark_deleted(*, attempt_ids: list[int], on: dt.date, actor) -> int:
    """Record that the store deleted these calls' recordings on ``on`` (only those due by then
    and not marked before); audited once with the count and the ids."""
    marked = list(
        recordings_due(on=on + dt.timedelta(days=1))
        .filter(pk__in=attempt_ids)
        .values_list("pk", flat=True)
    )
    if not marked:
        return 0
    CallAttempt.objects.filter(pk__in=marked).update(
        recording_deleted_on=on, updated_at=timezone.now()
    )
    audit_record(
        actor=actor or "system",
        action="calls.recordings_deleted",
        object_type="calls.callattempt",
        object_repr=_("recordings past their retention deleted"),
        after={"count": len(marked), "calls": marked[:1000], "on": on},
    )
    return len(marked)
