"""Calls, dispositions and their effects, the follow-up cadence, escalation, cover for absent
agents, presence and the sale."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from telesales.calls import services
from telesales.calls.choices import CallKind
from telesales.calls.errors import (
    CallAlreadyDisposed,
    CallNotOpen,
    DialBlocked,
    FollowUpInPast,
    NotYourCall,
)
from telesales.calls.models import AgentPresence, CallAttempt, FollowUp
from telesales.calls.tests.conftest import shanghai
from telesales.calls.tests.factories import (
    CallRuleSetFactory,
    CustomerFactory,
    FollowUpFactory,
    owned_lead,
    registered_agent,
    team_lead_of,
)
from telesales.core.errors import InvalidState, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.leads.choices import DncSource, LeadAction, LeadState
from telesales.leads.models import DncEntry, Lead, LeadEvent
from telesales.org.models import Absence

pytestmark = pytest.mark.django_db

NOON = shanghai(2026, 6, 1, 12, 0)


@pytest.fixture(autouse=True)
def rules(db):
    return CallRuleSetFactory(
        min_minutes_between_attempts=0,
        cadence_min_followups=2,
        cadence_max_followups=3,
        cadence_spacing_days=[1, 2, 3],
        non_sale_recording_days=90,
    )


def dial(agent, lead, at=NOON, **kw):
    return services.call_start(lead=lead, agent=agent, actor=agent.user, at=at, **kw)


def dispose(attempt, code, dispo, at=NOON, actor=None, **kw):
    return services.disposition_record(
        attempt=attempt, disposition=dispo(code), actor=actor or attempt.agent.user, at=at, **kw
    )


# --- Calls ---------------------------------------------------------------------------------
def test_dial_outside_the_calling_window_is_refused_with_the_reason(agent):
    lead = owned_lead(agent)
    with pytest.raises(DialBlocked) as exc:
        dial(agent, lead, at=shanghai(2026, 6, 1, 21, 5))
    assert exc.value.code == "dial_blocked"
    (reason,) = exc.value.details["reasons"]
    assert reason["code"] == "outside_window"
    assert "21:05" in reason["message"]
    assert "2026-06-02 09:00" in reason["fix"]
    assert not CallAttempt.objects.exists()


def test_call_start_records_the_attempt_and_places_the_call(agent):
    lead = owned_lead(agent)
    attempt = dial(agent, lead)
    assert attempt.adapter_call_id == f"sim-{attempt.pk}"
    assert attempt.adapter == "simulated"
    assert attempt.seat == agent.seat
    assert attempt.recording_retain_until == dt.date(2026, 8, 30)  # 90 days
    presence = AgentPresence.objects.get(person=agent)
    assert (presence.state, presence.lead_id, presence.attempt_id) == (
        "dialling",
        lead.pk,
        attempt.pk,
    )


def test_a_second_call_while_one_is_open_is_refused(agent):
    dial(agent, owned_lead(agent))
    with pytest.raises(DialBlocked) as exc:
        dial(agent, owned_lead(agent), at=NOON + dt.timedelta(minutes=1))
    assert exc.value.details["reasons"][0]["code"] == "call_in_progress"


@pytest.mark.parametrize(
    ("limit", "open_for", "blocked"),
    [
        (120, dt.timedelta(minutes=120), True),  # at the limit: still a call in progress
        (120, dt.timedelta(minutes=121), False),  # past it: left open, as the board says
        (30, dt.timedelta(minutes=31), False),  # the setting moves the block
        (300, dt.timedelta(hours=4, minutes=30), True),  # … either way
    ],
)
def test_a_call_open_past_the_open_call_limit_no_longer_blocks_a_new_one(
    agent, settings, limit, open_for, blocked
):
    """One threshold for "left open": ``TELESALES_CALL_OPEN_LIMIT_MINUTES``, which also flags
    the call on the live board and caps its talk time."""
    settings.TELESALES_CALL_OPEN_LIMIT_MINUTES = limit
    first = dial(agent, owned_lead(agent))
    services.call_answer(attempt=first, actor=agent.user, at=NOON + dt.timedelta(seconds=8))
    later = NOON + open_for
    if blocked:
        with pytest.raises(DialBlocked) as exc:
            dial(agent, owned_lead(agent), at=later)
        assert exc.value.details["reasons"][0]["code"] == "call_in_progress"
        first.refresh_from_db()
        assert first.ended_at is None
        return
    second = dial(agent, owned_lead(agent), at=later)
    first.refresh_from_db()
    # The forgotten call is hung up as call_end would: ended at the new dial, the limit
    # counted as talk time and flagged.
    assert (first.ended_at, first.talk_seconds, first.talk_capped) == (later, limit * 60, True)
    assert first.disposition_id is None  # its outcome is still the agent's to record
    presence = AgentPresence.objects.get(person=agent)
    assert (presence.state, presence.attempt_id, presence.lead_id) == (
        "dialling",
        second.pk,
        second.lead_id,
    )


def test_a_refused_dial_leaves_the_call_left_open_as_it_was(agent, settings):
    settings.TELESALES_CALL_OPEN_LIMIT_MINUTES = 30
    first = dial(agent, owned_lead(agent), at=shanghai(2026, 6, 1, 20, 0))
    with pytest.raises(DialBlocked) as exc:  # the new dial is past the calling window
        dial(agent, owned_lead(agent), at=shanghai(2026, 6, 1, 21, 5))
    assert exc.value.details["reasons"][0]["code"] == "outside_window"
    first.refresh_from_db()
    assert first.ended_at is None
    assert AgentPresence.objects.get(person=agent).attempt_id == first.pk


def test_only_the_agent_dials_from_their_workspace(agent):
    other = registered_agent()
    with pytest.raises(NotYourCall):
        services.call_start(lead=owned_lead(agent), agent=agent, actor=other.user, at=NOON)


def test_answer_and_end_give_talk_seconds_recording_and_wrap_up(agent):
    attempt = dial(agent, owned_lead(agent))
    services.call_answer(attempt=attempt, actor=agent.user, at=NOON + dt.timedelta(seconds=8))
    assert AgentPresence.objects.get(person=agent).state == "talking"
    attempt = services.call_end(
        attempt=attempt, actor=agent.user, at=NOON + dt.timedelta(seconds=128)
    )
    assert attempt.talk_seconds == 120
    assert attempt.recording_ref == f"sim://recordings/{attempt.pk}.wav"
    assert AgentPresence.objects.get(person=agent).state == "wrap_up"
    with pytest.raises(CallNotOpen):
        services.call_end(attempt=attempt, actor=agent.user, at=NOON + dt.timedelta(minutes=5))


@pytest.mark.parametrize(
    ("limit", "talked", "seconds", "capped"),
    [
        (120, dt.timedelta(hours=5), 7200, True),  # forgot to hang up: the default limit
        (120, dt.timedelta(hours=2), 7200, False),  # exactly the limit: as talked
        (30, dt.timedelta(hours=5), 1800, True),  # the setting decides
    ],
)
def test_a_call_left_open_past_the_limit_counts_only_the_limit(
    agent, settings, limit, talked, seconds, capped
):
    settings.TELESALES_CALL_OPEN_LIMIT_MINUTES = limit
    attempt = dial(agent, owned_lead(agent))
    answered = NOON + dt.timedelta(seconds=8)
    services.call_answer(attempt=attempt, actor=agent.user, at=answered)
    services.call_end(attempt=attempt, actor=agent.user, at=answered + talked)
    attempt.refresh_from_db()
    assert (attempt.talk_seconds, attempt.talk_capped) == (seconds, capped)
    assert attempt.ended_at == answered + talked  # the end is kept as it happened


def test_end_with_an_answer_time_outside_the_call_is_refused(agent):
    attempt = dial(agent, owned_lead(agent))
    with pytest.raises(ValidationFailed):
        services.call_end(
            attempt=attempt,
            actor=agent.user,
            at=NOON + dt.timedelta(seconds=30),
            answered_at=NOON - dt.timedelta(seconds=1),
        )
    attempt.refresh_from_db()
    assert attempt.ended_at is None


# --- Dispositions --------------------------------------------------------------------------
def test_no_answer_counts_the_dial_and_frees_the_agent(agent, dispo):
    lead = owned_lead(agent)
    attempt = dispose(dial(agent, lead), "no_answer", dispo)
    lead.refresh_from_db()
    assert (lead.dial_count, lead.connect_count, lead.state) == (1, 0, LeadState.IN_PROGRESS)
    assert attempt.ended_at == NOON
    presence = AgentPresence.objects.get(person=agent)
    assert (presence.state, presence.lead_id, presence.attempt_id) == ("idle", None, None)


def test_dnc_request_adds_the_number_to_the_dnc_list_at_once(agent, dispo):
    lead = owned_lead(agent)
    FollowUpFactory(lead=lead, agent=agent)
    attempt = dial(agent, lead)
    services.call_answer(attempt=attempt, actor=agent.user, at=NOON + dt.timedelta(seconds=5))
    dispose(attempt, "dnc", dispo, at=NOON + dt.timedelta(seconds=40))
    entry = DncEntry.objects.get(phone_hash=lead.customer.mobile_hash)
    assert entry.source == DncSource.CUSTOMER_REQUEST
    assert entry.expires_at >= timezone.now() + dt.timedelta(days=179)
    lead.refresh_from_db()
    assert lead.state == LeadState.DNC
    assert not FollowUp.objects.filter(lead=lead, status="open").exists()
    assert AuditEntry.objects.filter(action="calls.dnc_request").count() == 1
    # The number is blocked for every lead of the customer, at once.
    from telesales.calls.guards import dial_blocks

    assert dial_blocks(lead=lead, agent=agent, at=NOON + dt.timedelta(hours=1))


@pytest.mark.parametrize(
    ("code", "state"),
    [
        ("invalid_number", LeadState.INVALID),
        ("wrong_person", LeadState.INVALID),
        ("not_interested", LeadState.LOST),
    ],
)
def test_final_dispositions_close_the_lead(agent, dispo, code, state):
    lead = owned_lead(agent)
    dispose(dial(agent, lead), code, dispo)
    lead.refresh_from_db()
    assert lead.state == state


def test_disposition_for_someone_elses_call_is_refused(agent, dispo):
    attempt = dial(agent, owned_lead(agent))
    other = registered_agent()
    with pytest.raises(NotYourCall):
        dispose(attempt, "no_answer", dispo, actor=other.user)
    attempt.refresh_from_db()
    assert attempt.disposition_id is None


def test_team_lead_may_record_a_disposition_for_their_agent(agent, dispo):
    lead_person = team_lead_of(agent.team)
    attempt = dial(agent, owned_lead(agent))
    dispose(attempt, "busy", dispo, actor=lead_person.user)
    attempt.refresh_from_db()
    assert attempt.disposition.code == "busy"


def test_the_outcome_of_a_call_whose_lead_moved_is_the_calls_alone(agent, dispo):
    """A lead transferred during the call: its agent may still record how the call ended
    (or the next lead waits on it); a follow-up is refused (the new owner books the lead's
    calls) and a final outcome leaves the new owner's lead and follow-up as they are, while
    a DNC request still puts the number on the list."""
    lead = owned_lead(agent)
    attempt = dial(agent, lead)
    other = registered_agent(team=agent.team)
    Lead.objects.filter(pk=lead.pk).update(owner=other)
    theirs = FollowUpFactory(lead=lead, agent=other, due_at=NOON + dt.timedelta(days=1))
    with pytest.raises(NotYourCall) as refused:
        dispose(attempt, "interested", dispo)
    assert "不预约跟进" in refused.value.message  # the center's language: record it alone
    dispose(attempt, "not_interested", dispo)
    lead.refresh_from_db()
    theirs.refresh_from_db()
    assert (lead.owner_id, lead.state, theirs.status) == (other.pk, LeadState.OWNED, "open")
    assert CallAttempt.objects.get(pk=attempt.pk).disposition.code == "not_interested"

    again = owned_lead(agent)
    call = dial(agent, again, at=NOON + dt.timedelta(minutes=5))
    Lead.objects.filter(pk=again.pk).update(owner=other)
    dispose(call, "dnc", dispo, at=NOON + dt.timedelta(minutes=6))
    again.refresh_from_db()
    assert again.state == LeadState.DNC
    assert DncEntry.objects.filter(phone_hash=again.customer.mobile_hash).exists()


def test_disposition_twice_is_refused(agent, dispo):
    attempt = dispose(dial(agent, owned_lead(agent)), "busy", dispo)
    with pytest.raises(CallAlreadyDisposed):
        dispose(attempt, "no_answer", dispo)


def test_sale_disposition_needs_the_sale_form(agent, dispo):
    with pytest.raises(ValidationFailed):
        dispose(dial(agent, owned_lead(agent)), "sale", dispo)


# --- Follow-ups and the cadence ------------------------------------------------------------
def test_interested_schedules_the_next_followup_after_the_spacing(agent, dispo):
    lead = owned_lead(agent)
    dispose(dial(agent, lead), "interested", dispo)
    fu = FollowUp.objects.get(lead=lead, status="open")
    assert (fu.sequence, fu.kind, fu.agent) == (1, "follow_up", agent)
    assert fu.due_at == NOON + dt.timedelta(days=1)
    lead.refresh_from_db()
    assert lead.last_followup_at is not None


def test_followup_at_night_moves_into_the_window(agent, dispo):
    lead = owned_lead(agent)
    at = shanghai(2026, 6, 1, 20, 50)
    dispose(dial(agent, lead, at=at), "interested", dispo, at=at + dt.timedelta(minutes=20))
    fu = FollowUp.objects.get(lead=lead, status="open")
    assert fu.due_at == shanghai(2026, 6, 3, 9, 0)


def _at_local(days: int, hour: int, minute: int = 0) -> dt.datetime:
    """``days`` from today at ``hour``:``minute``, the center's (and a mainland customer's)
    local time."""
    today = timezone.localtime()
    return today.replace(hour=hour, minute=minute, second=0, microsecond=0) + dt.timedelta(
        days=days
    )


def test_callback_at_a_time_the_customer_gave(agent, dispo):
    lead = owned_lead(agent)
    when = _at_local(2, 10)
    dispose(dial(agent, lead), "callback", dispo, callback_at=when)
    fu = FollowUp.objects.get(lead=lead, status="open")
    assert (fu.kind, fu.due_at) == ("callback", when)


@pytest.mark.parametrize(("hour", "minute"), [(3, 0), (8, 59), (21, 0), (23, 30)])
def test_a_callback_outside_the_calling_window_is_refused_with_the_next_time(
    agent, dispo, hour, minute
):
    lead = owned_lead(agent)
    attempt = dial(agent, lead)
    with pytest.raises(ValidationFailed) as exc:
        dispose(attempt, "callback", dispo, callback_at=_at_local(2, hour, minute))
    assert "callback_at" in exc.value.details["fields"]
    opens = _at_local(2 if hour < 9 else 3, 9)
    assert "09:00–21:00" in exc.value.message
    assert opens.strftime("%Y-%m-%d 09:00") in exc.value.message
    attempt.refresh_from_db()
    assert attempt.disposition_id is None
    assert not FollowUp.objects.filter(lead=lead, status="open").exists()
    # The window's first and last minutes are inside it.
    dispose(attempt, "callback", dispo, callback_at=_at_local(2, 20, 59))
    assert FollowUp.objects.get(lead=lead, status="open").due_at == _at_local(2, 20, 59)


@pytest.mark.parametrize("hour", [6, 22])
def test_a_followup_booked_outside_the_window_is_refused_and_the_open_one_kept(agent, hour):
    lead = owned_lead(agent)
    kept = FollowUpFactory(lead=lead, agent=agent, due_at=_at_local(1, 11))
    with pytest.raises(ValidationFailed) as exc:
        services.followup_schedule(
            lead=lead, agent=agent, due_at=_at_local(2, hour), actor=agent.user
        )
    assert "due_at" in exc.value.details["fields"]
    kept.refresh_from_db()
    assert kept.status == "open"
    at_nine = services.followup_schedule(
        lead=lead, agent=agent, due_at=_at_local(2, 9), actor=agent.user
    )
    assert at_nine.due_at == _at_local(2, 9)


def test_callback_in_the_past_is_refused_and_nothing_is_half_done(agent, dispo):
    lead = owned_lead(agent)
    attempt = dial(agent, lead)
    with pytest.raises(FollowUpInPast) as exc:
        dispose(attempt, "callback", dispo, callback_at=timezone.now() - dt.timedelta(hours=1))
    assert exc.value.status == 422 and "callback_at" in exc.value.details["fields"]
    attempt.refresh_from_db()
    lead.refresh_from_db()
    assert attempt.disposition_id is None
    assert lead.dial_count == 0
    assert not FollowUp.objects.exists()


def test_cadence_runs_out_and_the_lead_is_recycled(agent, dispo):
    lead = owned_lead(agent)
    at = NOON
    for sequence in (1, 2, 3):
        dispose(dial(agent, lead, at=at), "interested", dispo, at=at)
        fu = FollowUp.objects.get(lead=lead, status="open")
        assert fu.sequence == sequence
        at = fu.due_at
    dispose(dial(agent, lead, at=at), "interested", dispo, at=at)  # a 4th: max is 3
    lead.refresh_from_db()
    assert (lead.state, lead.owner_id, lead.former_owner_id) == (LeadState.PUBLIC, None, agent.pk)
    assert not FollowUp.objects.filter(lead=lead, status="open").exists()
    event = LeadEvent.objects.filter(lead=lead, action=LeadAction.RECYCLE).get()
    # Words for people (the lead history shows them), no rule code in front.
    assert event.reason == "跟进 3 次后仍未成交"
    assert list(FollowUp.objects.filter(lead=lead).values_list("status", flat=True)) == [
        "done",
        "done",
        "cancelled",
    ]


def test_missed_followup_below_the_minimum_is_rescheduled(agent, dispo):
    lead = owned_lead(agent)
    dispose(dial(agent, lead), "interested", dispo)
    fu = FollowUp.objects.get(lead=lead, status="open")
    dispose(dial(agent, lead, at=fu.due_at), "no_answer", dispo, at=fu.due_at)
    again = FollowUp.objects.get(lead=lead, status="open")
    assert again.pk == fu.pk and again.sequence == 1
    assert again.due_at == fu.due_at + dt.timedelta(days=1)


def test_a_missed_escalated_followup_moved_ahead_leaves_the_team_leads_list(agent, dispo):
    """An escalated follow-up whose call did not reach the customer is due again later: it
    is no longer overdue, so it leaves the escalated list (it goes back should the new time
    pass unworked)."""
    from telesales.calls import selectors
    from telesales.calls.tests.factories import team_lead_of

    leader = team_lead_of(agent.team)
    lead = owned_lead(agent)
    fu = FollowUpFactory(lead=lead, agent=agent, due_at=NOON - dt.timedelta(days=2))
    services.followups_escalate(now=NOON)
    fu.refresh_from_db()
    assert fu.escalated_at is not None
    assert fu in selectors.escalated_followup_list(user=leader.user)

    dispose(dial(agent, lead), "no_answer", dispo)

    fu.refresh_from_db()
    assert fu.status == "open" and fu.due_at > NOON
    assert (fu.escalated_at, fu.escalated_to_id) == (None, None)
    assert fu not in selectors.escalated_followup_list(user=leader.user)


def test_missed_followup_at_the_minimum_uses_it_up(agent, dispo):
    lead = owned_lead(agent)
    fu = FollowUpFactory(lead=lead, agent=agent, sequence=2, due_at=NOON - dt.timedelta(hours=1))
    dispose(dial(agent, lead), "no_answer", dispo)
    fu.refresh_from_db()
    assert fu.status == "done"
    nxt = FollowUp.objects.get(lead=lead, status="open")
    assert nxt.sequence == 3


def test_refusal_cancels_the_followup(agent, dispo):
    lead = owned_lead(agent)
    FollowUpFactory(lead=lead, agent=agent, due_at=NOON - dt.timedelta(hours=1))
    dispose(dial(agent, lead), "refused", dispo)
    assert not FollowUp.objects.filter(lead=lead, status="open").exists()
    lead.refresh_from_db()
    assert lead.state == LeadState.IN_PROGRESS


def test_followup_schedule_refuses_the_past_and_replaces_the_open_one(agent):
    lead = owned_lead(agent)
    with pytest.raises(FollowUpInPast):
        services.followup_schedule(
            lead=lead,
            agent=agent,
            due_at=timezone.now() - dt.timedelta(minutes=1),
            actor=agent.user,
        )
    old = FollowUpFactory(lead=lead, agent=agent, sequence=2)
    new = services.followup_schedule(
        lead=lead, agent=agent, due_at=_at_local(3, 15), actor=agent.user
    )
    old.refresh_from_db()
    assert old.status == "cancelled"
    assert (new.sequence, new.status) == (2, "open")


def test_followup_schedule_for_someone_elses_lead_is_refused(agent):
    other = registered_agent()
    with pytest.raises(NotYourCall):
        services.followup_schedule(
            lead=owned_lead(other),
            agent=agent,
            due_at=timezone.now() + dt.timedelta(days=1),
            actor=agent.user,
        )


def test_overdue_followups_escalate_to_the_team_lead_once(agent):
    CallRuleSetFactory(overdue_escalate_hours=24)
    leader = team_lead_of(agent.team)
    now = shanghai(2026, 6, 4, 12, 0)
    # 24 calling hours (09:00–21:00) before now: 2026-06-02 12:00.
    late = FollowUpFactory(lead=owned_lead(agent), agent=agent, due_at=shanghai(2026, 6, 2, 11, 59))
    recent = FollowUpFactory(
        lead=owned_lead(agent), agent=agent, due_at=shanghai(2026, 6, 2, 12, 1)
    )
    assert services.followups_escalate(now=now) == {"escalated": 1}
    late.refresh_from_db()
    recent.refresh_from_db()
    assert (late.escalated_to_id, late.escalated_at) == (leader.pk, now)
    assert recent.escalated_at is None
    assert services.followups_escalate(now=now) == {"escalated": 0}


@pytest.mark.parametrize(
    ("now", "escalated"),
    [
        (shanghai(2026, 6, 1, 22, 30), False),  # two hours by the clock, in the night
        (shanghai(2026, 6, 2, 8, 59), False),  # the night does not count
        (shanghai(2026, 6, 2, 10, 29), False),  # 30 minutes that evening + 89 this morning
        (shanghai(2026, 6, 2, 10, 30), True),  # two hours of calling time
    ],
)
def test_overdue_hours_count_only_calling_time(agent, now, escalated):
    """Due 20:30 with 2 hours: the team lead hears of it at 10:30 the next morning, not at
    22:30 when nobody could have called."""
    CallRuleSetFactory(overdue_escalate_hours=2)
    fu = FollowUpFactory(lead=owned_lead(agent), agent=agent, due_at=shanghai(2026, 6, 1, 20, 30))
    assert services.followups_escalate(now=now) == {"escalated": int(escalated)}
    fu.refresh_from_db()
    assert (fu.escalated_at is not None) is escalated


def test_overdue_hours_follow_the_window_of_the_team_stage_rule_set(agent):
    """The window of the agent's rule set decides (here 10:00–18:00 for the team's stage)."""
    CallRuleSetFactory(overdue_escalate_hours=2)
    CallRuleSetFactory(
        stage=agent.team.stage,
        overdue_escalate_hours=2,
        window_start=dt.time(10, 0),
        window_end=dt.time(18, 0),
    )
    fu = FollowUpFactory(lead=owned_lead(agent), agent=agent, due_at=shanghai(2026, 6, 1, 17, 0))
    assert services.followup_escalates_at(
        FollowUp.objects.select_related("lead__customer").get(pk=fu.pk),
        services.callrules_for_person(agent, on=dt.date(2026, 6, 2)),
    ) == shanghai(2026, 6, 2, 11, 0)
    assert services.followups_escalate(now=shanghai(2026, 6, 2, 10, 59)) == {"escalated": 0}
    assert services.followups_escalate(now=shanghai(2026, 6, 2, 11, 0)) == {"escalated": 1}


def test_overdue_hours_count_in_the_customers_local_time(agent):
    """A Sydney number (two hours ahead of Shanghai in June): due 20:30 there, two hours of
    its window end at 10:30 Sydney time, 08:30 in Shanghai."""
    CallRuleSetFactory(overdue_escalate_hours=2)
    lead = owned_lead(agent, customer=CustomerFactory(mobile_e164="+61291234567"))
    FollowUpFactory(lead=lead, agent=agent, due_at=shanghai(2026, 6, 1, 18, 30))
    assert services.followups_escalate(now=shanghai(2026, 6, 2, 8, 29)) == {"escalated": 0}
    assert services.followups_escalate(now=shanghai(2026, 6, 2, 8, 30)) == {"escalated": 1}


def test_the_periodic_task_escalates_by_calling_time(agent):
    """The task runs on the real clock: 25 hours ago holds at most 13 hours of a 09:00–21:00
    window, whatever the time now (24 by the clock would have escalated it); four days ago
    hold at least 36."""
    from telesales.calls.tasks import followups_escalate_task

    CallRuleSetFactory(overdue_escalate_hours=24)
    leader = team_lead_of(agent.team)
    now = timezone.now()
    day_ago = FollowUpFactory(
        lead=owned_lead(agent), agent=agent, due_at=now - dt.timedelta(hours=25)
    )
    days_ago = FollowUpFactory(
        lead=owned_lead(agent), agent=agent, due_at=now - dt.timedelta(days=4)
    )
    assert followups_escalate_task.delay().get() == {
        "escalated": 1,
        "closed": {"done": 0, "cancelled": 0},
    }
    day_ago.refresh_from_db()
    days_ago.refresh_from_db()
    assert day_ago.escalated_at is None
    assert days_ago.escalated_to_id == leader.pk


def test_callback_of_an_absent_agent_moves_to_a_teammate(agent):
    mate = registered_agent(team=agent.team)
    lead = owned_lead(agent)
    # Noon, local: a callback due in half an hour is due today whatever the clock says.
    now = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    fu = FollowUpFactory(lead=lead, agent=agent, due_at=now + dt.timedelta(minutes=30))
    Absence.objects.create(
        person=agent, start_date=timezone.localdate(now), end_date=timezone.localdate(now)
    )
    assert services.followups_reassign_absent(now=now) == {"moved": 1, "skipped": 0}
    fu.refresh_from_db()
    lead.refresh_from_db()
    assert fu.status == "moved"
    assert lead.owner_id == mate.pk
    moved = FollowUp.objects.get(lead=lead, status="open")
    assert (moved.agent_id, moved.moved_from_id, moved.due_at) == (mate.pk, agent.pk, fu.due_at)


def test_callback_stays_when_the_rule_set_says_so(agent):
    CallRuleSetFactory(callback_reassign_when_owner_absent=False)
    registered_agent(team=agent.team)
    lead = owned_lead(agent)
    now = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    FollowUpFactory(lead=lead, agent=agent, due_at=now + dt.timedelta(minutes=30))
    Absence.objects.create(
        person=agent, start_date=timezone.localdate(now), end_date=timezone.localdate(now)
    )
    assert services.followups_reassign_absent(now=now) == {"moved": 0, "skipped": 1}
    lead.refresh_from_db()
    assert lead.owner_id == agent.pk


def test_followups_of_someone_who_leaves_are_cancelled(agent):
    from telesales.org import services as org_services
    from telesales.org.tests.factories import UserFactory

    FollowUpFactory(lead=owned_lead(agent), agent=agent)
    hr = UserFactory(username="hr-calls", roles=["hr_admin"])
    org_services.person_update(person=agent, actor=hr, status="suspended", reason="test")
    assert not FollowUp.objects.filter(agent=agent, status="open").exists()


# --- Presence ------------------------------------------------------------------------------
def test_a_break_gives_back_the_lead_in_hand(agent):
    from telesales.calls.dispatch import next_lead

    owned_lead(agent)
    next_lead(agent=agent, actor=agent.user, at=NOON)
    presence = services.presence_set(agent=agent, state="break", actor=agent.user)
    assert (presence.state, presence.lead_id) == ("break", None)
    with pytest.raises(ValidationFailed):
        services.presence_set(agent=agent, state="talking", actor=agent.user)


def test_presence_cannot_change_during_a_call(agent):
    dial(agent, owned_lead(agent))
    with pytest.raises(InvalidState):
        services.presence_set(agent=agent, state="break", actor=agent.user)


# --- Sale ----------------------------------------------------------------------------------
@pytest.fixture
def product(db):
    from telesales.policies.tests.factories import ProductFactory

    return ProductFactory(allowed_terms=[1, 20])


def _live_call(agent, lead):
    """A call that started a few minutes ago and was answered (real clock, for the sale)."""
    start = timezone.now() - dt.timedelta(minutes=5)
    attempt = CallAttempt.objects.create(
        lead=lead,
        agent=agent,
        started_at=start,
        answered_at=start + dt.timedelta(seconds=10),
        adapter_call_id=f"sim-live-{lead.pk}",
    )
    return attempt


@pytest.mark.parametrize(("term", "years"), [(1, 1 + 5), (20, 20 + 10)])
def test_sale_records_the_policy_the_disposition_and_the_retention(agent, product, term, years):
    lead = owned_lead(agent)
    attempt = _live_call(agent, lead)
    policy = services.sale_record(
        attempt=attempt,
        product=product,
        annualised_premium=Decimal("1200.00"),
        payment_mode="annual",
        term_years=term,
        insured_ids=[lead.customer_id],
        actor=agent.user,
    )
    attempt.refresh_from_db()
    lead.refresh_from_db()
    assert policy.recording_ref == f"sim://recordings/live-{lead.pk}.wav"
    assert attempt.disposition.code == "sale"
    assert lead.state == LeadState.WON and lead.premium == Decimal("1200.00")
    today = timezone.localdate()
    assert attempt.recording_retain_until == services._years_after(today, years)


@pytest.mark.parametrize("premium", [Decimal("-1"), Decimal("0"), Decimal("99999999")])
def test_sale_with_a_bad_premium_is_refused_and_nothing_is_half_done(agent, product, premium):
    from telesales.policies.models import Policy

    lead = owned_lead(agent)
    attempt = _live_call(agent, lead)
    with pytest.raises(ValidationFailed) as exc:
        services.sale_record(
            attempt=attempt,
            product=product,
            annualised_premium=premium,
            payment_mode="annual",
            term_years=1,
            insured_ids=[lead.customer_id],
            actor=agent.user,
        )
    assert "annualised_premium" in exc.value.details["fields"]
    attempt.refresh_from_db()
    lead.refresh_from_db()
    assert attempt.disposition_id is None
    assert lead.state == LeadState.OWNED and lead.dial_count == 0
    assert not Policy.objects.exists()


def test_sale_needs_an_answered_call(agent, product):
    lead = owned_lead(agent)
    attempt = CallAttempt.objects.create(lead=lead, agent=agent, started_at=timezone.now())
    with pytest.raises(InvalidState):
        services.sale_record(
            attempt=attempt,
            product=product,
            annualised_premium=Decimal("500"),
            payment_mode="annual",
            term_years=1,
            insured_ids=[lead.customer_id],
            actor=agent.user,
        )


def test_sale_during_the_call_keeps_the_agent_talking_until_the_call_ends(agent, product):
    lead = owned_lead(agent)
    attempt = _live_call(agent, lead)
    AgentPresence.objects.create(
        person=agent, state="talking", since=attempt.answered_at, lead=lead, attempt=attempt
    )
    services.sale_record(
        attempt=attempt,
        product=product,
        annualised_premium=Decimal("800"),
        payment_mode="annual",
        term_years=1,
        insured_ids=[lead.customer_id],
        actor=agent.user,
    )
    presence = AgentPresence.objects.get(person=agent)
    assert (presence.state, presence.attempt_id) == ("talking", attempt.pk)
    services.call_end(attempt=attempt, actor=agent.user)
    presence.refresh_from_db()
    assert (presence.state, presence.attempt_id, presence.lead_id) == ("idle", None, None)


@pytest.mark.parametrize("kind", [CallKind.SERVICE, CallKind.RENEWAL])
def test_no_new_sale_on_a_service_call_to_a_do_not_call_number(agent, product, kind):
    """QA (session 20): the sales dial to a customer on the do-not-call list was refused, but a
    welcome call (a service call, which skips the marketing checks) recorded a new policy. A
    sale is marketing whatever call it is recorded on; without the block the cross-sale
    stands."""
    from telesales.calls.errors import DialBlocked
    from telesales.leads import services as lead_services
    from telesales.policies.models import Policy

    lead = owned_lead(agent)
    attempt = _live_call(agent, lead)
    CallAttempt.objects.filter(pk=attempt.pk).update(kind=kind)
    attempt.refresh_from_db()
    lead_services.dnc_add(phone=lead.customer.mobile_e164, reason="客户要求不再推销", actor=None)
    sale = {
        "product": product,
        "annualised_premium": Decimal("300.00"),
        "payment_mode": "annual",
        "term_years": 1,
        "insured_ids": [lead.customer_id],
        "actor": agent.user,
    }
    with pytest.raises(DialBlocked) as refused:
        services.sale_record(attempt=attempt, **sale)
    assert refused.value.details["reasons"][0]["code"] == "dnc"
    assert not Policy.objects.filter(lead=lead).exists()

    other = owned_lead(agent)
    call = _live_call(agent, other)
    CallAttempt.objects.filter(pk=call.pk).update(kind=kind)
    call.refresh_from_db()
    policy = services.sale_record(attempt=call, **{**sale, "insured_ids": [other.customer_id]})
    assert policy.lead_id == other.pk


def test_a_refused_dial_is_audited_with_its_reasons_and_nothing_else_is_written(agent):
    """QA (session 20): a compliance officer could not see an agent trying a do-not-call
    number or dialling at night: a refused dial left no trace."""
    from telesales.calls.errors import DialBlocked
    from telesales.core.models import AuditEntry
    from telesales.leads import services as lead_services

    CallRuleSetFactory()
    lead = owned_lead(agent)
    lead_services.dnc_add(phone=lead.customer.mobile_e164, reason="客户要求", actor=None)
    night = shanghai(2026, 6, 1, 23, 30)
    with pytest.raises(DialBlocked):
        services.call_start(lead=lead, agent=agent, actor=agent.user, at=night)
    entry = AuditEntry.objects.get(action="calls.dial_refused")
    assert entry.actor_id == agent.user.pk and entry.object_id == str(lead.pk)
    assert entry.after["agent"] == agent.pk
    assert {"dnc", "outside_window"} <= set(entry.after["reasons"])
    assert not CallAttempt.objects.filter(lead=lead).exists()
    # A dial that goes leaves no refusal behind.
    other = owned_lead(agent)
    services.call_start(lead=other, agent=agent, actor=agent.user, at=shanghai(2026, 6, 1, 10))
    assert AuditEntry.objects.filter(action="calls.dial_refused").count() == 1
