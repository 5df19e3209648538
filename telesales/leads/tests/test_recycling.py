"""Recycling: each rule fires exactly at its threshold, after a warning, and never on exempt
leads; every move is in the history and bars the former owner."""

from __future__ import annotations

import datetime as dt
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from telesales.core.models import AuditEntry
from telesales.leads import recycling
from telesales.leads.choices import LeadAction, LeadState
from telesales.leads.errors import FormerOwnerBarred
from telesales.leads.models import Lead, LeadEvent
from telesales.leads.recycling import (
    lead_recycle_warnings,
    leads_recycle,
    person_leads_recycle,
    register_exemption,
    unregister_exemption,
)
from telesales.leads.services import lead_claim, lead_protection_extend
from telesales.leads.tasks import leads_recycle_task
from telesales.leads.tests.factories import (
    LeadFactory,
    LeadRuleSetFactory,
    PersonFactory,
    TeamFactory,
)
from telesales.org.choices import PersonStatus, TeamStage

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 10, 1, 9, 30, tzinfo=dt.UTC)  # when the lead was owned
SECOND = timedelta(seconds=1)
DAY = timedelta(days=1)


@pytest.fixture
def rules(db):
    return LeadRuleSetFactory(
        protection_days=10,
        protection_max_days=30,
        former_owner_bar_days=7,
        recycle_warning_days=2,
        recycle_no_dial_days=3,
        recycle_no_connect_attempts=6,
        recycle_no_connect_days=7,
        recycle_no_followup_days=15,
        recycle_on_owner_leaving=True,
    )


@pytest.fixture
def team(db):
    return TeamFactory(stage=TeamStage.START_UP)


@pytest.fixture
def agent(team, rules):
    return PersonFactory(team=team, capability_grade=2)


def owned(agent, **kwargs) -> Lead:
    """A lead owned since T0, protected for 30 days, warned long ago: only what a test sets
    makes a rule fire."""
    values = {
        "state": LeadState.OWNED,
        "owner": agent,
        "owned_since": T0,
        "protect_until": T0 + 30 * DAY,
        "recycle_warned_at": T0,
    }
    return LeadFactory(**(values | kwargs))


def state_of(lead) -> str:
    lead.refresh_from_db()
    return lead.state


# Each case: the lead's activity and the instant its rule's deadline passes.
CASES = {
    "no_dial": ({}, T0 + 3 * DAY),
    "no_connect": (
        {"dial_count": 6, "first_dialled_at": T0 + SECOND, "last_dialled_at": T0 + 2 * DAY},
        T0 + 7 * DAY,
    ),
    "no_followup": (
        {
            "dial_count": 2,
            "connect_count": 1,
            "last_dialled_at": T0 + DAY,
            "last_contact_at": T0 + DAY,
            "last_followup_at": T0 + 2 * DAY,
        },
        T0 + 17 * DAY,
    ),
    "protection_expired": (
        {
            "dial_count": 2,
            "connect_count": 1,
            "last_dialled_at": T0 + DAY,
            "last_contact_at": T0 + DAY,
            "last_followup_at": T0 + 9 * DAY,
            "protect_until": T0 + 10 * DAY,
        },
        T0 + 10 * DAY + SECOND,
    ),
}


@pytest.mark.parametrize("rule", list(CASES))
def test_each_rule_fires_exactly_at_its_threshold_and_not_a_second_before(agent, rule):
    activity, deadline = CASES[rule]
    lead = owned(agent, **activity)
    assert leads_recycle(now=deadline - SECOND)["recycled"] == 0
    assert state_of(lead) == LeadState.OWNED
    result = leads_recycle(now=deadline)
    assert result["by_rule"] == {rule: 1}
    assert state_of(lead) == LeadState.PUBLIC
    event = LeadEvent.objects.get(lead=lead, action=LeadAction.RECYCLE)
    assert event.reason.startswith(f"{rule}: ")
    assert event.at == deadline


def test_no_connect_needs_the_full_number_of_attempts(agent):
    lead = owned(agent, dial_count=5, last_dialled_at=T0 + DAY)
    leads_recycle(now=T0 + 8 * DAY)
    assert state_of(lead) == LeadState.OWNED


def test_a_connect_in_this_ownership_stops_the_no_connect_rule(agent):
    lead = owned(agent, dial_count=9, last_dialled_at=T0 + DAY, last_contact_at=T0 + DAY)
    leads_recycle(now=T0 + 8 * DAY)
    assert state_of(lead) == LeadState.OWNED


def test_a_dial_in_this_ownership_stops_the_no_dial_rule(agent):
    lead = owned(agent, dial_count=1, last_dialled_at=T0 + DAY)
    leads_recycle(now=T0 + 4 * DAY)
    assert state_of(lead) == LeadState.OWNED


def test_activity_from_an_earlier_ownership_does_not_count(agent):
    earlier = T0 - 5 * DAY
    lead = owned(
        agent,
        dial_count=3,
        last_dialled_at=earlier,
        last_contact_at=earlier,
        last_followup_at=earlier,
    )
    result = leads_recycle(now=T0 + 3 * DAY)
    assert result["by_rule"] == {"no_dial": 1}
    assert state_of(lead) == LeadState.PUBLIC


def test_no_followup_counts_from_the_latest_contact_or_follow_up(agent):
    lead = owned(
        agent,
        dial_count=4,
        last_dialled_at=T0 + DAY,
        last_contact_at=T0 + 5 * DAY,
        last_followup_at=T0 + 2 * DAY,
    )
    leads_recycle(now=T0 + 20 * DAY - SECOND)
    assert state_of(lead) == LeadState.OWNED
    leads_recycle(now=T0 + 20 * DAY)
    assert state_of(lead) == LeadState.PUBLIC


# --- Warnings -------------------------------------------------------------------------------
def test_warning_comes_recycle_warning_days_before_the_deadline(agent, rules):
    lead = owned(agent, recycle_warned_at=None)
    deadline = T0 + 3 * DAY  # no dial
    assert leads_recycle(now=deadline - 2 * DAY - SECOND)["warned"] == 0
    result = leads_recycle(now=deadline - 2 * DAY)
    assert result["warned_by_rule"] == {"no_dial": 1}
    lead.refresh_from_db()
    assert lead.recycle_warned_at == deadline - 2 * DAY
    warning = LeadEvent.objects.get(lead=lead, action=LeadAction.RECYCLE_WARNING)
    assert warning.reason.startswith("no_dial: ")
    assert warning.to_owner == agent and warning.from_state == LeadState.OWNED
    assert leads_recycle(now=deadline - SECOND)["recycled"] == 0
    assert leads_recycle(now=deadline)["recycled"] == 1


def test_unwarned_lead_past_its_deadline_is_warned_first_and_recycled_after_the_notice(agent):
    lead = owned(agent, recycle_warned_at=None)
    late = T0 + 10 * DAY  # long past the no-dial deadline; the task was down
    result = leads_recycle(now=late)
    assert (result["recycled"], result["warned"]) == (0, 1)
    assert state_of(lead) == LeadState.OWNED
    assert leads_recycle(now=late + 2 * DAY - SECOND)["recycled"] == 0
    assert leads_recycle(now=late + 2 * DAY)["recycled"] == 1
    actions = list(LeadEvent.objects.filter(lead=lead).values_list("action", flat=True))
    assert actions == [LeadAction.RECYCLE_WARNING, LeadAction.RECYCLE]


def test_warning_is_given_once_per_protection_period(agent):
    lead = owned(agent, recycle_warned_at=None, last_dialled_at=T0 + DAY, dial_count=1)
    # Protection ends at T0+30d: warned from T0+28d.
    leads_recycle(now=T0 + 28 * DAY)
    leads_recycle(now=T0 + 28 * DAY + timedelta(hours=1))
    assert LeadEvent.objects.filter(lead=lead, action=LeadAction.RECYCLE_WARNING).count() == 1
    # Activity extends protection and clears the warning: a new period gets a new warning.
    lead.refresh_from_db()
    Lead.objects.filter(pk=lead.pk).update(owned_since=T0 + 28 * DAY)
    lead.refresh_from_db()
    lead_protection_extend(lead=lead, at=T0 + 29 * DAY)
    lead.refresh_from_db()
    assert lead.recycle_warned_at is None
    leads_recycle(now=lead.protect_until - 2 * DAY)
    assert LeadEvent.objects.filter(lead=lead, action=LeadAction.RECYCLE_WARNING).count() == 2


def test_recycle_warnings_list_the_agents_warned_leads(agent, team):
    mine = owned(agent, recycle_warned_at=None)
    owned(agent, recycle_warned_at=None, dial_count=1, last_dialled_at=T0 + DAY)
    other = PersonFactory(team=team)
    owned(other, recycle_warned_at=None)
    leads_recycle(now=T0 + DAY)
    warned = list(lead_recycle_warnings(person=agent))
    assert [lead.pk for lead in warned] == [mine.pk]
    assert warned[0].recycle_warning.startswith("no_dial: ")


# --- Exemptions -------------------------------------------------------------------------------
def test_won_leads_are_never_recycled(agent):
    won = owned(agent, state=LeadState.WON, won_at=T0 + DAY, protect_until=T0 + DAY)
    result = leads_recycle(now=T0 + 60 * DAY)
    assert result["recycled"] == 0 and result["warned"] == 0
    assert state_of(won) == LeadState.WON


def test_registered_exemption_keeps_leads_with_post_sale_work(agent):
    kept, gone = owned(agent), owned(agent)

    def open_post_sale_tasks(lead_ids):
        return [i for i in lead_ids if i == kept.pk]

    register_exemption(open_post_sale_tasks)
    try:
        result = leads_recycle(now=T0 + 40 * DAY)
    finally:
        unregister_exemption(open_post_sale_tasks)
    assert state_of(kept) == LeadState.OWNED
    assert state_of(gone) == LeadState.PUBLIC
    assert result["exempt"] >= 1
    # Without the registration the same lead goes at the next run.
    leads_recycle(now=T0 + 40 * DAY)
    assert state_of(kept) == LeadState.PUBLIC


def test_exempt_leads_are_not_warned(agent):
    lead = owned(agent, recycle_warned_at=None)

    def everything(lead_ids):
        return lead_ids

    register_exemption(everything)
    try:
        assert leads_recycle(now=T0 + 2 * DAY)["warned"] == 0
    finally:
        unregister_exemption(everything)
    lead.refresh_from_db()
    assert lead.recycle_warned_at is None


# --- Owner leaving -----------------------------------------------------------------------------
@pytest.mark.parametrize("status", [PersonStatus.LEFT, PersonStatus.SUSPENDED])
def test_owner_leaving_recycles_every_open_lead_at_the_next_run(agent, status, rules):
    now = T0 + timedelta(hours=1)
    fresh = [
        owned(agent, recycle_warned_at=None, protect_until=T0 + 10 * DAY),
        owned(agent, state=LeadState.IN_PROGRESS, recycle_warned_at=None),
        owned(agent, recycle_warned_at=None, dial_count=3, last_dialled_at=now),
    ]
    won = owned(agent, state=LeadState.WON)
    agent.status = status
    agent.left_on = dt.date(2026, 10, 1) if status == PersonStatus.LEFT else None
    agent.save()
    result = leads_recycle(now=now)
    assert result["by_rule"] == {"owner_left": 3}
    for lead in fresh:
        lead.refresh_from_db()
        assert lead.state == LeadState.PUBLIC and lead.former_owner == agent
        event = LeadEvent.objects.get(lead=lead, action=LeadAction.RECYCLE)
        assert event.reason.startswith("owner_left: ") and event.from_owner == agent
    assert state_of(won) == LeadState.WON


def test_owner_leaving_rule_can_be_switched_off(agent, rules):
    rules.recycle_on_owner_leaving = False
    rules.save()
    lead = owned(agent, recycle_warned_at=None, protect_until=T0 + 10 * DAY)
    agent.status = PersonStatus.SUSPENDED
    agent.save()
    assert leads_recycle(now=T0 + timedelta(hours=1))["recycled"] == 0
    assert state_of(lead) == LeadState.OWNED


def test_person_leads_recycle_moves_one_persons_leads_at_once(agent, team):
    other = PersonFactory(team=team)
    mine = [owned(agent), owned(agent)]
    theirs = owned(other)
    assert person_leads_recycle(person=agent, now=T0 + DAY) == 2
    assert all(state_of(lead) == LeadState.PUBLIC for lead in mine)
    assert state_of(theirs) == LeadState.OWNED


# --- History, bar, rule sets --------------------------------------------------------------------
def test_recycled_lead_has_history_with_reason_and_bars_the_former_owner(agent, team, rules):
    lead = owned(agent)
    now = timezone.now()
    Lead.objects.filter(pk=lead.pk).update(
        owned_since=now - 4 * DAY, protect_until=now + 6 * DAY, recycle_warned_at=now - 3 * DAY
    )
    result = leads_recycle(now=now)
    assert result["by_rule"] == {"no_dial": 1}
    lead.refresh_from_db()
    assert lead.former_owner == agent
    assert lead.former_owner_bar_until == now + 7 * DAY
    assert lead.owner is None and lead.protect_until is None and lead.recycle_warned_at is None
    event = LeadEvent.objects.get(lead=lead, action=LeadAction.RECYCLE)
    assert (event.from_state, event.to_state, event.from_owner) == ("owned", "public", agent)
    assert "3" in event.reason
    assert AuditEntry.objects.filter(action="leads.recycle").exists()
    with pytest.raises(FormerOwnerBarred):
        lead_claim(lead=lead, agent=agent, actor=None)
    other = PersonFactory(team=team, capability_grade=2)
    assert lead_claim(lead=lead, agent=other, actor=None).owner == other


def test_each_team_stage_uses_its_own_rule_set(rules):
    LeadRuleSetFactory(stage=TeamStage.PLATEAU, recycle_no_dial_days=1, recycle_warning_days=0)
    fast = PersonFactory(team=TeamFactory(stage=TeamStage.PLATEAU))
    slow = PersonFactory(team=TeamFactory(stage=TeamStage.START_UP))
    fast_lead, slow_lead = owned(fast), owned(slow)
    leads_recycle(now=T0 + DAY)
    assert state_of(fast_lead) == LeadState.PUBLIC
    assert state_of(slow_lead) == LeadState.OWNED
    event = LeadEvent.objects.get(lead=fast_lead, action=LeadAction.RECYCLE)
    assert "1" in event.reason


def test_recycling_works_in_chunks_and_its_queries_do_not_grow_per_lead(agent, monkeypatch):
    monkeypatch.setattr(recycling, "CHUNK", 3)
    leads = [owned(agent) for _ in range(7)]
    result = leads_recycle(now=T0 + 4 * DAY)
    assert result["recycled"] == 7
    assert all(state_of(lead) == LeadState.PUBLIC for lead in leads)

    def queries_for(n: int) -> int:
        Lead.objects.all().delete()
        for _ in range(n):
            owned(agent)
        with CaptureQueriesContext(connection) as ctx:
            leads_recycle(now=T0 + 4 * DAY)
        return len(ctx.captured_queries)

    monkeypatch.setattr(recycling, "CHUNK", 500)
    assert queries_for(40) == queries_for(5)


def test_recycle_task_runs_the_rules_and_is_scheduled(agent):
    lead = owned(agent, owned_since=timezone.now() - 30 * DAY, protect_until=timezone.now())
    result = leads_recycle_task.delay().get()
    assert result["recycled"] == 1
    assert state_of(lead) == LeadState.PUBLIC
    schedule = settings.CELERY_BEAT_SCHEDULE["leads-recycle"]
    assert schedule["task"] == leads_recycle_task.name


def test_person_leaving_through_org_service_recycles_their_leads_at_once(demo, user_named):
    """The org service calls the registered hook: no waiting for the hourly run."""
    from telesales.leads.choices import LeadState
    from telesales.leads.models import Lead
    from telesales.leads.tests.factories import LeadFactory
    from telesales.org.choices import PersonStatus
    from telesales.org.models import Person
    from telesales.org.services import person_update

    agent = Person.objects.get(user__username="agent4")
    leads = LeadFactory.create_batch(3, state=LeadState.OWNED, owner=agent)
    person_update(
        person=agent, actor=user_named("hr"), status=PersonStatus.SUSPENDED, reason="on leave"
    )
    states = set(
        Lead.objects.filter(pk__in=[lead.pk for lead in leads]).values_list("state", flat=True)
    )
    assert states == {LeadState.PUBLIC}
    assert not Lead.objects.filter(owner=agent).exists()


def test_person_leaving_keeps_leads_when_the_rule_set_says_so(demo, user_named):
    from telesales.leads.choices import LeadState
    from telesales.leads.models import Lead
    from telesales.leads.tests.factories import LeadFactory, LeadRuleSetFactory
    from telesales.org.choices import PersonStatus
    from telesales.org.models import Person
    from telesales.org.services import person_update

    LeadRuleSetFactory(recycle_on_owner_leaving=False)
    agent = Person.objects.get(user__username="agent5")
    leads = LeadFactory.create_batch(2, state=LeadState.OWNED, owner=agent)
    person_update(person=agent, actor=user_named("hr"), status=PersonStatus.SUSPENDED)
    assert Lead.objects.filter(pk__in=[lead.pk for lead in leads], owner=agent).count() == 2


def test_a_leaver_keeps_won_and_lost_leads_and_each_recycled_lead_traces_to_the_leave(agent, rules):
    """Through the org service: the open leads go back to the pool, each with a history row
    naming the leave and one audit row on the person listing them; won and lost leads keep
    the leaver as their owner, and the lead pages show the leaver's name."""
    from django.test import Client

    from telesales.core.roles import Role
    from telesales.leads.tests.factories import UserFactory
    from telesales.org.services import person_update

    agent.name, agent.employee_no = "魏艳", "E7001"
    agent.save()
    hr = UserFactory(username="hr-leave", roles=[Role.HR_ADMIN])
    open_leads = [owned(agent), owned(agent, state=LeadState.IN_PROGRESS)]
    won, lost = owned(agent, state=LeadState.WON), owned(agent, state=LeadState.LOST)
    person_update(
        person=agent,
        actor=hr,
        status=PersonStatus.LEFT,
        left_on=dt.date(2026, 10, 20),
        reason="辞职",
    )
    for lead in open_leads:
        lead.refresh_from_db()
        assert lead.state == LeadState.PUBLIC and lead.owner is None and lead.former_owner == agent
        event = LeadEvent.objects.get(lead=lead, action=LeadAction.RECYCLE)
        assert event.actor == hr and event.from_owner == agent
        assert event.reason.startswith("owner_left: ")
        assert "魏艳" in event.reason and "E7001" in event.reason and "2026-10-20" in event.reason
    entry = AuditEntry.objects.get(action="leads.recycle_owner_leaving")
    assert (entry.object_type, entry.object_id) == ("org.person", str(agent.pk))
    assert entry.actor == hr and entry.reason == event.reason
    assert entry.after["recycled"] == 2 and entry.after["left_on"] == "2026-10-20"
    assert entry.after["lead_ids"] == sorted(lead.pk for lead in open_leads)
    # The leave itself is audited by org beside it, on the same person.
    assert AuditEntry.objects.filter(
        action="org.person_update", object_id=str(agent.pk), reason="辞职"
    ).exists()

    for lead in (won, lost):
        lead.refresh_from_db()
        assert lead.owner == agent and lead.state in (LeadState.WON, LeadState.LOST)
        assert not LeadEvent.objects.filter(lead=lead, action=LeadAction.RECYCLE).exists()
    client = Client()
    client.force_login(UserFactory(username="data-leave", roles=[Role.DATA_OFFICER]))
    page = client.get(f"/leads/{won.pk}/").content.decode()
    owner = re.search(r'data-testid="lead-owner">(.*?)</dd>', page).group(1)
    assert "魏艳" in owner and "离职" in owner  # the owner, marked as having left
    listing = client.get("/leads/list/", {"state": "won"}).content.decode()
    assert "魏艳" in listing  # the won lead, under its owner
    history = client.get(f"/leads/{open_leads[0].pk}/").content.decode()
    assert "魏艳" in history and "E7001" in history  # the history row names the leave


def test_a_suspension_names_itself_in_the_recycled_leads_history(agent, rules):
    from telesales.core.roles import Role
    from telesales.leads.tests.factories import UserFactory
    from telesales.org.services import person_update

    lead = owned(agent)
    hr = UserFactory(username="hr-suspend", roles=[Role.HR_ADMIN])
    person_update(person=agent, actor=hr, status=PersonStatus.SUSPENDED)
    event = LeadEvent.objects.get(lead=lead, action=LeadAction.RECYCLE)
    assert event.reason.startswith("owner_left: ") and agent.name in event.reason
    entry = AuditEntry.objects.get(action="leads.recycle_owner_leaving")
    assert entry.after["lead_ids"] == [lead.pk] and entry.after["status"] == "suspended"


def test_a_warning_ahead_of_the_protection_end_says_when_it_ends(agent):
    """QA: warned two days before the protection ran out, the history said 保护期已到期."""
    lead = owned(
        agent,
        recycle_warned_at=None,
        protect_until=T0 + 5 * DAY,
        last_dialled_at=T0 + DAY,
        dial_count=1,
        last_contact_at=T0 + 4 * DAY,
        last_followup_at=T0 + 4 * DAY,
    )
    assert leads_recycle(now=T0 + 3 * DAY + SECOND)["warned_by_rule"] == {"protection_expired": 1}
    warning = LeadEvent.objects.get(lead=lead, action=LeadAction.RECYCLE_WARNING)
    ends = timezone.localtime(T0 + 5 * DAY).strftime("%Y-%m-%d %H:%M")
    assert warning.reason.startswith(f"protection_expired: 保护期至 {ends}；"), warning.reason
    assert "到期" not in warning.reason
