"""``telesales seed-demo`` and the reference data that ``telesales bootstrap`` loads."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from telesales.core.models import AuditEntry
from telesales.core.roles import BACK_OFFICE_ROLES, Role, user_roles
from telesales.org.choices import PersonStatus, SeatStatus, TeamKind
from telesales.org.demo import _team_sizes
from telesales.org.models import Center, Level, Person, Seat, Team
from telesales.org.reference_data import REFERENCE_LADDER, load_reference_data

pytestmark = pytest.mark.django_db

# These tests are about the organisation the demo builds (and the leads it hands out); the
# sales floor, policies, operations and tickets steps have their own demo tests. Running every
# step at 50–200 agents, several times, would cost minutes; the operations demo test seeds the
# whole chain, and seeds it again to check that nothing changes.
ORG_STEPS = ("org.demo", "leads.demo")


@pytest.fixture(autouse=True)
def _org_and_lead_steps_only(monkeypatch):
    from telesales.core import setup_steps

    kept = {name: step for name, step in setup_steps._DEMO.items() if name in ORG_STEPS}
    monkeypatch.setattr(setup_steps, "_DEMO", kept)


class _Undo(Exception):
    pass


def _seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def _picture() -> list[tuple]:
    """What a person of the demo center looks like, without database ids."""
    return list(
        Person.objects.order_by("employee_no").values_list(
            "employee_no",
            "name",
            "team__name",
            "status",
            "hire_date",
            "left_on",
            "level__code",
            "capability_grade",
            "user__username",
            "leader__employee_no",
        )
    )


def _seed_and_undo(*args: str) -> list[tuple]:
    try:
        with transaction.atomic():
            _seed(*args)
            picture = _picture()
            raise _Undo
    except _Undo:
        pass
    assert not Person.objects.exists()
    return picture


def _counts() -> tuple[int, ...]:
    return (
        Center.objects.count(),
        Team.objects.count(),
        Level.objects.count(),
        Person.objects.count(),
        Seat.objects.count(),
        get_user_model().objects.count(),
        AuditEntry.objects.count(),
    )


def test_seed_demo_is_deterministic():
    first = _seed_and_undo("--agents", "50", "--seed", "7")
    second = _seed_and_undo("--agents", "50", "--seed", "7")
    assert first == second
    other = _seed_and_undo("--agents", "50", "--seed", "8")
    assert [p[1] for p in other] != [p[1] for p in first]


def test_default_demo_center_has_six_sales_teams_of_8_to_15_agents():
    out = _seed()
    assert "manager" in out and "demo" in out
    sales = Team.objects.filter(kind=TeamKind.SALES)
    assert sales.count() == 6
    agents = Person.objects.filter(user__groups__name=Role.AGENT.value)
    assert agents.count() == 66
    for team in sales:
        size = agents.filter(team=team).count()
        assert 8 <= size <= 15, (team.name, size)
        assert team.leader is not None and team.leader.team_id == team.pk
        assert Role.TEAM_LEAD in user_roles(team.leader.user)
        assert {a.leader_id for a in agents.filter(team=team)} == {team.leader_id}
    stages = set(sales.values_list("stage", flat=True))
    assert len(stages) == 4  # all four life-cycle stages appear


def test_demo_center_staffs_every_role_with_working_logins(client):
    _seed("--agents", "66")
    users = get_user_model().objects
    expected = {
        "manager": Role.MANAGER,
        "teamlead1": Role.TEAM_LEAD,
        "agent1": Role.AGENT,
        "agent66": Role.AGENT,
        "recruiter": Role.RECRUITER,
        "hr": Role.HR_ADMIN,
        "trainer": Role.TRAINER,
        "planner": Role.PLANNER,
        "data": Role.DATA_OFFICER,
        "renewal": Role.RENEWAL_OPS,
    }
    for username, role in expected.items():
        user = users.get(username=username)
        assert user.check_password("demo"), username
        assert role in user_roles(user), username
        assert Person.objects.filter(user=user).exists(), username
    for role in BACK_OFFICE_ROLES:
        assert users.filter(groups__name=role.value).exists(), role
    assert not users.filter(username="agent67").exists()


def test_demo_center_seats_every_current_sales_person_and_loads_the_ladder():
    _seed()
    sales_people = Person.objects.filter(team__kind=TeamKind.SALES).exclude(
        status=PersonStatus.LEFT
    )
    seated = set(Seat.objects.exclude(person=None).values_list("person_id", flat=True))
    assert set(sales_people.values_list("pk", flat=True)) == seated
    assert Seat.objects.filter(person=None, status=SeatStatus.OCCUPIED).count() == 0
    assert Seat.objects.filter(person=None).count() >= 4
    assert set(Level.objects.values_list("code", flat=True)) == {r[0] for r in REFERENCE_LADDER}
    left = Person.objects.filter(status=PersonStatus.LEFT)
    assert left.exists() and all(p.left_on >= p.hire_date for p in left)
    assert not left.exclude(user=None).exists()
    regs = list(
        Person.objects.exclude(practice_reg_no="").values_list("practice_reg_no", flat=True)
    )
    assert len(regs) == len(set(regs))
    assert AuditEntry.objects.filter(action="org.demo_seed").count() == 1


def test_seed_demo_is_idempotent():
    _seed("--agents", "20")
    counts = _counts()
    out = _seed("--agents", "20")
    assert "exists already" in out
    assert _counts() == counts


def test_seed_demo_respects_the_agent_count():
    _seed("--agents", "200")
    sales = Team.objects.filter(kind=TeamKind.SALES)
    assert sales.count() == 17
    agents = Person.objects.filter(user__groups__name=Role.AGENT.value)
    assert agents.count() == 200
    for team in sales:
        assert 8 <= agents.filter(team=team).count() <= 15


@pytest.mark.parametrize("agents", ["5", "0", "-3", "100001"])
def test_seed_demo_refuses_impossible_sizes(agents):
    with pytest.raises(CommandError) as exc:
        _seed("--agents", agents)
    assert "--agents" in str(exc.value)
    assert not Person.objects.exists()


@given(agents=st.integers(min_value=48, max_value=100_000))
def test_team_sizes_split_agents_into_teams_of_8_to_15(agents):
    import random

    sizes = _team_sizes(agents, random.Random(1))
    assert sum(sizes) == agents
    assert len(sizes) >= 6
    assert all(8 <= size <= 15 for size in sizes), (agents, min(sizes), max(sizes))


def test_seed_takes_over_the_empty_center_made_by_bootstrap():
    load_reference_data()
    assert Center.objects.count() == 1
    _seed("--agents", "12")
    assert Center.objects.count() == 1
    assert Center.objects.get().code == "demo"


def test_reference_data_is_loaded_once():
    load_reference_data()
    counts = _counts()
    load_reference_data()
    assert _counts() == counts
    assert Level.objects.count() == len(REFERENCE_LADDER)
    assert AuditEntry.objects.filter(action="org.level_ladder_load").count() == 1
    assert AuditEntry.objects.filter(action="org.center_create").count() == 1
