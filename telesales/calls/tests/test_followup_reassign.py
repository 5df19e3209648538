"""A team lead gives an escalated overdue follow-up (and its lead) to a teammate: the
service, the board's form in each escalated row, and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from telesales.calls import services
from telesales.calls.choices import FollowUpStatus
from telesales.calls.errors import FollowUpNotOpen
from telesales.calls.models import FollowUp
from telesales.calls.tests.factories import (
    CallRuleSetFactory,
    FollowUpFactory,
    TeamFactory,
    UserFactory,
    owned_lead,
    registered_agent,
    team_lead_of,
)
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.leads.choices import LeadAction
from telesales.leads.models import LeadEvent
from telesales.org.choices import PersonStatus
from telesales.org.models import Absence

pytestmark = pytest.mark.django_db


@pytest.fixture
def crew(db):
    CallRuleSetFactory(overdue_escalate_hours=1)
    team = TeamFactory(name="启航组")
    owner = registered_agent(team=team, name="王芳")
    mate = registered_agent(team=team, name="李强")
    leader = team_lead_of(team)
    other_team = TeamFactory(name="远航组", center=team.center)
    stranger = registered_agent(team=other_team, name="赵六")
    other_leader = team_lead_of(other_team)
    lead = owned_lead(owner)
    fu = FollowUpFactory(
        lead=lead, agent=owner, due_at=timezone.now() - dt.timedelta(days=1), note="客户要求回电"
    )
    services.followups_escalate()
    fu.refresh_from_db()
    assert fu.escalated_to_id == leader.pk
    return type(
        "Crew",
        (),
        {
            "team": team,
            "owner": owner,
            "mate": mate,
            "leader": leader,
            "stranger": stranger,
            "other_leader": other_leader,
            "lead": lead,
            "fu": fu,
        },
    )


# --- The service ------------------------------------------------------------------------------
def test_the_team_lead_moves_the_followup_and_its_lead_to_a_teammate(crew):
    moved = services.followup_reassign(
        followup=crew.fu, to_agent=crew.mate, actor=crew.leader.user, reason="王芳休假"
    )
    crew.fu.refresh_from_db()
    crew.lead.refresh_from_db()
    assert crew.fu.status == FollowUpStatus.MOVED
    assert crew.lead.owner_id == crew.mate.pk
    assert (moved.agent_id, moved.moved_from_id, moved.status) == (
        crew.mate.pk,
        crew.owner.pk,
        FollowUpStatus.OPEN,
    )
    assert moved.note == "客户要求回电"
    assert moved.escalated_at is None  # off the escalated list: the teammate works it now
    assert moved.due_at >= crew.fu.due_at
    entry = AuditEntry.objects.get(action="calls.followup_reassign")
    assert entry.reason == "王芳休假"
    assert entry.after["agent"] == crew.mate.pk
    event = LeadEvent.objects.filter(lead=crew.lead, action=LeadAction.ALLOCATE).latest("id")
    assert "王芳休假" in event.reason


def test_the_manager_may_reassign(crew):
    manager = UserFactory(username="calls-mgr", roles=[Role.MANAGER])
    services.followup_reassign(
        followup=crew.fu, to_agent=crew.mate, actor=manager, reason="均衡工作量"
    )
    crew.lead.refresh_from_db()
    assert crew.lead.owner_id == crew.mate.pk


@pytest.mark.parametrize("who", ["other_leader", "mate", "planner"])
def test_someone_not_leading_the_team_may_not(crew, who):
    actor = (
        UserFactory(username="calls-planner", roles=[Role.PLANNER])
        if who == "planner"
        else getattr(crew, who).user
    )
    with pytest.raises(PermissionDenied):
        services.followup_reassign(
            followup=crew.fu, to_agent=crew.mate, actor=actor, reason="试试看"
        )
    crew.fu.refresh_from_db()
    assert crew.fu.status == FollowUpStatus.OPEN


def _refused_target(crew, to_agent) -> str:
    with pytest.raises(ValidationFailed) as exc:
        services.followup_reassign(
            followup=crew.fu, to_agent=to_agent, actor=crew.leader.user, reason="改派"
        )
    crew.fu.refresh_from_db()
    crew.lead.refresh_from_db()
    assert crew.fu.status == FollowUpStatus.OPEN and crew.lead.owner_id == crew.owner.pk
    (message,) = exc.value.details["fields"]["to_agent_id"]
    return message


def test_a_teammate_from_another_team_is_refused(crew):
    assert "赵六" in _refused_target(crew, crew.stranger)


def test_a_teammate_not_working_is_refused(crew):
    crew.mate.status = PersonStatus.SUSPENDED
    crew.mate.save(update_fields=["status"])
    assert "李强" in _refused_target(crew, crew.mate)


def test_an_absent_teammate_is_refused(crew):
    today = timezone.localdate()
    Absence.objects.create(person=crew.mate, start_date=today, end_date=today)
    assert "李强" in _refused_target(crew, crew.mate)


def test_a_team_lead_without_the_agent_role_is_no_target(crew):
    """The team lead (registered, in the team, working) cannot open the workspace: a follow-up
    given to them would be stranded. Neither offered nor accepted; the absent-owner cover
    skips them too."""
    from telesales.calls.selectors import followup_reassign_targets

    assert crew.leader.capability_grade >= (crew.lead.required_grade or 1)
    assert crew.leader not in followup_reassign_targets(followup=crew.fu)
    assert "没有坐席角色" in _refused_target(crew, crew.leader)
    # With the agent role as well (a team lead who also sells), they may take it.
    from django.contrib.auth.models import Group

    crew.leader.user.groups.add(Group.objects.get_or_create(name=Role.AGENT.value)[0])
    assert crew.leader in followup_reassign_targets(followup=crew.fu)


def test_the_owner_is_no_target(crew):
    assert "王芳" in _refused_target(crew, crew.owner)


def test_a_followup_no_longer_open_is_refused(crew):
    services.followup_complete(followup=crew.fu, actor=crew.owner.user)
    with pytest.raises(FollowUpNotOpen):
        services.followup_reassign(
            followup=crew.fu, to_agent=crew.mate, actor=crew.leader.user, reason="改派"
        )


def test_a_reason_is_required(crew):
    with pytest.raises(ValidationFailed) as exc:
        services.followup_reassign(
            followup=crew.fu, to_agent=crew.mate, actor=crew.leader.user, reason="  "
        )
    assert "reason" in exc.value.details["fields"]
    # One character typed is not enough, and the message says so (it read "give a reason").
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationFailed) as exc:
        services.followup_reassign(
            followup=crew.fu, to_agent=crew.mate, actor=crew.leader.user, reason="x"
        )
    assert "至少 2 个字" in exc.value.details["fields"]["reason"][0]


def test_a_lead_no_longer_the_owners_is_refused(crew):
    crew.lead.owner = crew.mate
    crew.lead.save(update_fields=["owner"])
    with pytest.raises(InvalidState):
        services.followup_reassign(
            followup=crew.fu, to_agent=crew.mate, actor=crew.leader.user, reason="改派"
        )


# --- The board --------------------------------------------------------------------------------
def test_the_board_offers_the_teammates_in_each_escalated_row_and_reassigns(crew):
    client = Client()
    client.force_login(crew.leader.user)
    board = client.get(reverse("calls:board")).content.decode()
    assert 'data-testid="reassign-form"' in board
    assert reverse("calls:followup_reassign", args=[crew.fu.pk]) in board
    assert f'<option value="{crew.mate.pk}">李强</option>' in board
    assert f'value="{crew.owner.pk}"' not in board.split('data-testid="reassign-form"')[1]
    response = client.post(
        reverse("calls:followup_reassign", args=[crew.fu.pk]),
        {"to_agent_id": crew.mate.pk, "reason": "王芳病假", "next": reverse("calls:board")},
        follow=True,
    )
    assert response.status_code == 200
    assert "李强" in response.content.decode()
    crew.lead.refresh_from_db()
    assert crew.lead.owner_id == crew.mate.pk


def test_the_board_says_why_a_reassignment_was_refused(crew):
    client = Client()
    client.force_login(crew.leader.user)
    response = client.post(
        reverse("calls:followup_reassign", args=[crew.fu.pk]),
        {"to_agent_id": crew.mate.pk, "reason": ""},
        follow=True,
    )
    assert response.status_code == 200
    assert f"#{crew.fu.pk}" in response.content.decode()
    crew.fu.refresh_from_db()
    assert crew.fu.status == FollowUpStatus.OPEN


def test_a_planner_sees_no_reassign_form(crew):
    planner = UserFactory(username="calls-planner2", roles=[Role.PLANNER])
    client = Client()
    client.force_login(planner)
    board = client.get(reverse("calls:board")).content.decode()
    assert 'data-testid="board-escalations"' in board
    assert 'data-testid="reassign-form"' not in board


# --- The API ------------------------------------------------------------------------------------
def test_the_api_reassigns_and_refuses_clearly(crew, api_for):
    from telesales.core.tests.api_helpers import assert_error_shape

    client = api_for(crew.leader.user)
    path = f"/api/v1/calls/followups/{crew.fu.pk}/reassign"
    r = client.post_json(path, {"to_agent_id": crew.stranger.pk, "reason": "改派"})
    body = assert_error_shape(r, 422)
    assert "to_agent_id" in body["details"]["fields"]
    r = client.post_json(path, {"to_agent_id": crew.mate.pk, "reason": "王芳休假"})
    assert r.status_code == 200, r.content
    assert r.json()["agent_id"] == crew.mate.pk
    assert r.json()["moved_from_id"] == crew.owner.pk
    r = client.post_json(path, {"to_agent_id": crew.mate.pk, "reason": "再来一次"})
    assert_error_shape(r, 409)
    other = api_for(crew.other_leader.user).post_json(
        f"/api/v1/calls/followups/{FollowUp.objects.get(status='open').pk}/reassign",
        {"to_agent_id": crew.stranger.pk, "reason": "改派"},
    )
    assert other.status_code in (403, 404)


def test_a_followup_whose_lead_left_the_agent_is_closed_by_the_periodic_sweep(crew):
    """QA (session 20): leads recycled to the public pool or put on the do-not-call list kept
    their escalated follow-ups open — 353 on the manager's card, each refused when a team lead
    tried to reassign it. The 15-minute escalation task closes them first."""
    from telesales.calls.tasks import followups_escalate_task
    from telesales.leads import services as lead_services

    other = owned_lead(crew.owner)
    dnc_fu = FollowUpFactory(
        lead=other, agent=crew.owner, due_at=timezone.now() - dt.timedelta(days=1)
    )
    services.followups_escalate()
    kept_lead = owned_lead(crew.owner)
    kept = FollowUpFactory(
        lead=kept_lead, agent=crew.owner, due_at=timezone.now() + dt.timedelta(hours=2)
    )
    lead_services.lead_release(lead=crew.lead, actor=crew.owner.user, reason="不再跟进")
    lead_services.dnc_add(phone=other.customer.mobile_e164, reason="客户要求", actor=None)

    result = followups_escalate_task()

    crew.fu.refresh_from_db()
    dnc_fu.refresh_from_db()
    kept.refresh_from_db()
    assert crew.fu.status == FollowUpStatus.CANCELLED
    assert dnc_fu.status == FollowUpStatus.CANCELLED
    assert kept.status == FollowUpStatus.OPEN
    assert result["closed"]["cancelled"] == 2
    assert AuditEntry.objects.filter(action="calls.followups_close_on_closed_leads").exists()
