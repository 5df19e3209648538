"""Organisation services: every rule, every permission check, one audit row per write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telesales.core.errors import Conflict, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.org import services
from telesales.org.choices import LevelSeries, PersonStatus, SeatStatus, TeamKind, TeamStage
from telesales.org.models import Center, Level, Person, Seat, Team
from telesales.org.tests.factories import (
    CenterFactory,
    LevelFactory,
    PersonFactory,
    SeatFactory,
    TeamFactory,
    UserFactory,
)
from telesales.org.tests.spec import ADMINS, USERS

NON_ADMINS = [u for u in USERS if u not in ADMINS]
HIRED = dt.date(2025, 3, 1)


@pytest.fixture
def demo(demo_shared, db):
    """The demo center, seeded once for this module (see ``demo_shared``)."""
    return demo_shared


def _rows() -> tuple[int, ...]:
    return (
        Center.objects.count(),
        Team.objects.count(),
        Level.objects.count(),
        Person.objects.count(),
        Seat.objects.count(),
        AuditEntry.objects.count(),
    )


def _only_entry(action: str) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(action=action))
    assert len(entries) == 1, [str(e) for e in entries]
    return entries[0]


def _fields(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    assert exc.value.code == "validation_failed"
    assert exc.value.details == {"fields": exc.value.fields}
    return exc.value.fields


@pytest.fixture
def manager(user_named):
    return user_named("manager")


@pytest.fixture
def hr(user_named):
    return user_named("hr")


@pytest.fixture
def sales_team(center):
    return Team.objects.filter(center=center, kind=TeamKind.SALES).order_by("name").first()


@pytest.fixture
def newcomer_data(sales_team):
    return {
        "name": "新同事",
        "employee_no": "N90001",
        "team": sales_team,
        "hire_date": HIRED,
    }


# --- Permission checks ------------------------------------------------------------------------
@pytest.mark.parametrize("username", NON_ADMINS)
def test_non_admin_roles_may_not_write_organisation_data(
    user_named, center, sales_team, person_of, username
):
    actor = user_named(username)
    person = person_of("agent1")
    seat = Seat.objects.filter(person=person).get()
    level = Level.objects.first()
    before = _rows()
    attempts = [
        lambda: services.team_create(center=center, actor=actor, name="黑客组"),
        lambda: services.team_update(team=sales_team, actor=actor, stage=TeamStage.PLATEAU),
        lambda: services.level_create(
            actor=actor, code="HX", name="x", series=LevelSeries.SALES, rank=77
        ),
        lambda: services.level_update(level=level, actor=actor, name="改名"),
        lambda: services.person_create(
            center=center,
            actor=actor,
            name="x",
            employee_no="HX1",
            team=sales_team,
            hire_date=HIRED,
        ),
        lambda: services.person_update(person=person, actor=actor, name="改名"),
        lambda: services.seat_create(center=center, actor=actor, code="HX-1"),
        lambda: services.seat_update(seat=seat, actor=actor, site="地下室"),
        lambda: services.center_update(center=center, actor=actor, city="北京"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied) as exc:
            attempt()
        assert exc.value.status == 403 and exc.value.code == "permission_denied"
    assert _rows() == before
    person.refresh_from_db()
    assert person.name != "改名"


def test_only_the_manager_changes_the_center(center, hr, manager):
    with pytest.raises(PermissionDenied):
        services.center_update(center=center, actor=hr, city="北京")
    services.center_update(center=center, actor=manager, city="北京")
    center.refresh_from_db()
    assert center.city == "北京"
    entry = _only_entry("org.center_update")
    assert entry.before["city"] == "成都" and entry.after["city"] == "北京"


def test_center_create_requires_the_manager(hr, manager, demo):
    with pytest.raises(PermissionDenied):
        services.center_create(name="第二中心", code="second", actor=hr)
    assert not Center.objects.filter(code="second").exists()
    created = services.center_create(name="第二中心", code="second", city="西安", actor=manager)
    entry = AuditEntry.objects.get(action="org.center_create", object_id=str(created.pk))
    assert entry.actor == manager and entry.after["code"] == "second"


def test_anonymous_actor_is_refused(center, sales_team):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        services.team_create(center=center, actor=AnonymousUser(), name="匿名组")
    with pytest.raises(PermissionDenied):
        services.team_create(center=center, actor=None, name="匿名组")


# --- Teams ---------------------------------------------------------------------------------
@pytest.mark.parametrize("username", sorted(ADMINS))
def test_team_create_writes_the_team_and_an_audit_row(user_named, center, person_of, username):
    actor = user_named(username)
    leader = person_of("agent1")
    team = services.team_create(
        center=center,
        actor=actor,
        name="新星组",
        kind=TeamKind.SALES,
        stage=TeamStage.RAPID_GROWTH,
        leader=leader,
        founded_on=dt.date(2026, 1, 5),
    )
    team.refresh_from_db()
    assert (team.name, team.stage, team.leader_id, team.center_id) == (
        "新星组",
        TeamStage.RAPID_GROWTH,
        leader.pk,
        center.pk,
    )
    entry = _only_entry("org.team_create")
    assert entry.actor == actor and entry.actor_name == username
    assert entry.object_type == "org.team" and entry.object_id == str(team.pk)
    assert entry.before is None
    assert entry.after["name"] == "新星组"
    assert entry.after["leader"] == leader.pk
    assert entry.after["founded_on"] == "2026-01-05"
    assert entry.after["stage"] == "rapid_growth"


def test_team_update_records_before_and_after(hr, sales_team):
    old_stage = sales_team.stage
    services.team_update(team=sales_team, actor=hr, stage=TeamStage.PLATEAU, name="平台组")
    sales_team.refresh_from_db()
    assert sales_team.stage == TeamStage.PLATEAU and sales_team.name == "平台组"
    entry = _only_entry("org.team_update")
    assert entry.before["stage"] == old_stage and entry.after["stage"] == "plateau"
    assert entry.before["name"] != "平台组" and entry.after["name"] == "平台组"
    assert ("stage", old_stage, "plateau") in entry.changed_fields


def test_team_update_without_changes_writes_nothing(hr, sales_team):
    before = _rows()
    services.team_update(team=sales_team, actor=hr, name=sales_team.name, stage=sales_team.stage)
    assert _rows() == before


def test_team_leader_who_has_left_is_refused(hr, center):
    gone = Person.objects.filter(status=PersonStatus.LEFT).first()
    before = _rows()
    with pytest.raises(ValidationFailed) as exc:
        services.team_create(center=center, actor=hr, name="幽灵组", leader=gone)
    assert "leader" in _fields(exc)
    assert _rows() == before


def test_team_leader_from_another_center_is_refused(hr, center, sales_team):
    stranger = PersonFactory(team=TeamFactory(center=CenterFactory()))
    with pytest.raises(ValidationFailed) as exc:
        services.team_update(team=sales_team, actor=hr, leader=stranger)
    assert "leader" in _fields(exc)
    sales_team.refresh_from_db()
    assert sales_team.leader_id != stranger.pk


def test_duplicate_team_name_in_a_center_is_refused(hr, center, sales_team):
    before = _rows()
    with pytest.raises((ValidationFailed, Conflict)):
        services.team_create(center=center, actor=hr, name=sales_team.name)
    assert _rows() == before
    other = CenterFactory()
    assert services.team_create(center=other, actor=hr, name=sales_team.name).pk


def test_team_with_unknown_kind_or_blank_name_is_refused(hr, center):
    with pytest.raises(ValidationFailed) as exc:
        services.team_create(center=center, actor=hr, name="", kind="bogus", stage="nowhere")
    assert {"name", "kind", "stage"} <= set(_fields(exc))


@pytest.mark.parametrize("field", ["center", "id", "created_at", "headcount", "bogus"])
def test_team_services_reject_unknown_fields(hr, center, sales_team, field):
    before = _rows()
    if field != "center":
        with pytest.raises(ValidationFailed) as exc:
            services.team_create(center=center, actor=hr, name="新组", **{field: 1})
        assert field in _fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        services.team_update(team=sales_team, actor=hr, **{field: 1})
    assert field in _fields(exc)
    assert _rows() == before


# --- Levels --------------------------------------------------------------------------------
def test_level_create_and_update_are_audited(hr):
    level = services.level_create(
        actor=hr,
        code="S9",
        name="传奇TSR",
        series=LevelSeries.SALES,
        rank=9,
        base_salary=Decimal("9999.50"),
    )
    level.refresh_from_db()
    assert level.base_salary == Decimal("9999.50")
    created = _only_entry("org.level_create")
    assert created.after["base_salary"] == "9999.50" and created.actor == hr
    services.level_update(level=level, actor=hr, base_salary=Decimal("10000"), is_active=False)
    updated = _only_entry("org.level_update")
    assert updated.before["base_salary"] == "9999.50"
    assert Decimal(updated.after["base_salary"]) == Decimal("10000")
    assert updated.before["is_active"] is True and updated.after["is_active"] is False


def test_level_rules(hr):
    existing = Level.objects.get(code="S1")
    with pytest.raises(ValidationFailed) as exc:
        services.level_create(actor=hr, code="S1", name="重复", series=LevelSeries.SALES, rank=50)
    assert "code" in _fields(exc)
    with pytest.raises((ValidationFailed, Conflict)):
        services.level_create(
            actor=hr, code="S1B", name="同级", series=existing.series, rank=existing.rank
        )
    with pytest.raises(ValidationFailed) as exc:
        services.level_create(
            actor=hr,
            code="NEG",
            name="负薪",
            series=LevelSeries.SALES,
            rank=60,
            base_salary=Decimal("-1"),
        )
    assert "base_salary" in _fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        services.level_update(level=existing, actor=hr, series="wizard")
    assert "series" in _fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        services.level_update(level=existing, actor=hr, rank_typo=3)
    assert "rank_typo" in _fields(exc)
    assert not AuditEntry.objects.filter(
        action__in=["org.level_create", "org.level_update"]
    ).exists()


# --- People --------------------------------------------------------------------------------
@pytest.mark.parametrize("username", sorted(ADMINS))
def test_person_create_writes_the_person_and_an_audit_row(
    user_named, center, newcomer_data, username
):
    actor = user_named(username)
    level = Level.objects.get(code="T0")
    person = services.person_create(center=center, actor=actor, level=level, **newcomer_data)
    person.refresh_from_db()
    assert person.center_id == center.pk and person.level_id == level.pk
    assert person.status == PersonStatus.TRAINEE
    entry = _only_entry("org.person_create")
    assert entry.actor == actor and entry.object_id == str(person.pk)
    assert entry.object_type == "org.person"
    assert entry.before is None
    assert entry.after["employee_no"] == "N90001"
    assert entry.after["hire_date"] == HIRED.isoformat()
    assert entry.after["team"] == newcomer_data["team"].pk
    assert entry.after["level"] == level.pk


def test_person_update_records_before_and_after_and_reason(hr, person_of):
    agent = person_of("agent2")
    old_name = agent.name
    services.person_update(
        person=agent, actor=hr, reason="改名登记", name="新名字", status=PersonStatus.WARNING
    )
    agent.refresh_from_db()
    assert agent.name == "新名字" and agent.status == PersonStatus.WARNING
    entry = _only_entry("org.person_update")
    assert entry.before["name"] == old_name and entry.after["name"] == "新名字"
    assert entry.after["status"] == "warning" and entry.reason == "改名登记"
    assert entry.actor == hr


def test_person_update_without_changes_writes_nothing(hr, person_of):
    agent = person_of("agent2")
    before = _rows()
    services.person_update(person=agent, actor=hr, name=agent.name, team=agent.team)
    assert _rows() == before


@pytest.mark.parametrize("field", ["leader", "recruiter", "mentor"])
def test_person_cannot_be_their_own_leader_recruiter_or_mentor(hr, person_of, field):
    agent = person_of("agent1")
    before = getattr(agent, f"{field}_id")
    with pytest.raises(ValidationFailed) as exc:
        services.person_update(person=agent, actor=hr, **{field: agent})
    assert field in _fields(exc)
    agent.refresh_from_db()
    assert getattr(agent, f"{field}_id") == before


def test_person_who_left_needs_a_leaving_date(hr, center, newcomer_data, person_of):
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(center=center, actor=hr, status=PersonStatus.LEFT, **newcomer_data)
    assert "left_on" in _fields(exc)
    agent = person_of("agent1")
    with pytest.raises(ValidationFailed) as exc:
        services.person_update(person=agent, actor=hr, status=PersonStatus.LEFT)
    assert "left_on" in _fields(exc)
    agent.refresh_from_db()
    assert agent.status != PersonStatus.LEFT and agent.user.is_active


def test_leaving_date_only_for_people_who_left(hr, person_of):
    agent = person_of("agent1")
    with pytest.raises(ValidationFailed) as exc:
        services.person_update(person=agent, actor=hr, left_on=dt.date(2026, 12, 1))
    assert "left_on" in _fields(exc)


def test_leaving_date_before_the_hire_date_is_refused(hr, center, newcomer_data, person_of):
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(
            center=center,
            actor=hr,
            status=PersonStatus.LEFT,
            left_on=HIRED - dt.timedelta(days=1),
            **newcomer_data,
        )
    assert "left_on" in _fields(exc)
    agent = person_of("agent1")
    with pytest.raises(ValidationFailed) as exc:
        services.person_update(
            person=agent,
            actor=hr,
            status=PersonStatus.LEFT,
            left_on=agent.hire_date - dt.timedelta(days=1),
        )
    assert "left_on" in _fields(exc)
    assert not Person.objects.filter(employee_no="N90001").exists()


def test_a_login_belongs_to_one_person(hr, center, newcomer_data, person_of):
    taken = person_of("agent1").user
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(center=center, actor=hr, user=taken, **newcomer_data)
    assert "user" in _fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        services.person_update(person=person_of("agent2"), actor=hr, user=taken)
    assert "user" in _fields(exc)
    assert Person.objects.filter(user=taken).count() == 1
    free = UserFactory(username="free-login")
    person = services.person_create(center=center, actor=hr, user=free, **newcomer_data)
    assert person.user_id == free.pk


def test_person_team_must_belong_to_the_same_center(hr, center, newcomer_data):
    foreign_team = TeamFactory(center=CenterFactory())
    data = {**newcomer_data, "team": foreign_team}
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(center=center, actor=hr, **data)
    assert "team" in _fields(exc)


def test_duplicate_employee_number_is_refused(hr, center, newcomer_data, person_of):
    data = {**newcomer_data, "employee_no": person_of("agent1").employee_no}
    before = _rows()
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(center=center, actor=hr, **data)
    assert "employee_no" in _fields(exc)
    with pytest.raises(ValidationFailed):
        services.person_update(
            person=person_of("agent2"), actor=hr, employee_no=data["employee_no"]
        )
    assert _rows() == before


def test_practice_registration_number_is_unique_when_given(hr, center, newcomer_data, person_of):
    registered = Person.objects.exclude(practice_reg_no="").first()
    data = {**newcomer_data, "practice_reg_no": registered.practice_reg_no}
    with pytest.raises((ValidationFailed, Conflict)):
        services.person_create(center=center, actor=hr, **data)
    # Blank numbers (trainees without registration) may repeat.
    first = services.person_create(center=center, actor=hr, **newcomer_data)
    second = services.person_create(
        center=center, actor=hr, **{**newcomer_data, "employee_no": "N90002"}
    )
    assert first.practice_reg_no == second.practice_reg_no == ""


def test_person_with_bad_values_is_refused_field_by_field(hr, center, newcomer_data):
    data = {
        **newcomer_data,
        "name": "x" * 51,
        "employee_no": "",
        "status": "retired",
        "capability_grade": 9,
        "contract_type": "pirate",
    }
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(center=center, actor=hr, **data)
    assert {"name", "employee_no", "status", "capability_grade", "contract_type"} <= set(
        _fields(exc)
    )


@pytest.mark.parametrize("field", ["center", "id", "seat", "is_current", "password"])
def test_person_services_reject_unknown_fields(hr, center, newcomer_data, person_of, field):
    before = _rows()
    if field != "center":
        with pytest.raises(ValidationFailed) as exc:
            services.person_create(center=center, actor=hr, **newcomer_data, **{field: 1})
        assert field in _fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        services.person_update(person=person_of("agent1"), actor=hr, **{field: 1})
    assert field in _fields(exc)
    assert _rows() == before


def test_person_leaving_frees_the_seat_and_disables_the_login(hr, person_of):
    agent = person_of("agent1")
    seat = Seat.objects.get(person=agent)
    assert agent.user.is_active
    services.person_update(
        person=agent,
        actor=hr,
        status=PersonStatus.LEFT,
        left_on=dt.date(2026, 11, 30),
        reason="离职",
    )
    agent.refresh_from_db()
    seat.refresh_from_db()
    assert agent.status == PersonStatus.LEFT and agent.left_on == dt.date(2026, 11, 30)
    assert seat.person_id is None and seat.status == SeatStatus.VACANT
    assert not get_user_model().objects.get(pk=agent.user_id).is_active
    seat_entry = _only_entry("org.seat_update")
    assert seat_entry.before["person"] == agent.pk and seat_entry.after["person"] is None
    assert seat_entry.after["status"] == "vacant"
    login_entry = _only_entry("org.login_deactivate")
    assert login_entry.object_id == str(agent.user_id) and login_entry.actor == hr
    assert login_entry.before == {"is_active": True} and login_entry.after == {"is_active": False}
    person_entry = _only_entry("org.person_update")
    assert person_entry.before["status"] != "left" and person_entry.after["status"] == "left"
    assert person_entry.reason == "离职"
    # The login no longer signs in.
    answer = Client().post(
        "/accounts/login/", {"username": agent.user.username, "password": "demo"}
    )
    assert answer.status_code == 200 and not answer.wsgi_request.user.is_authenticated


def test_person_leaving_without_seat_or_login(hr, center, newcomer_data):
    person = services.person_create(center=center, actor=hr, **newcomer_data)
    services.person_update(
        person=person, actor=hr, status=PersonStatus.LEFT, left_on=dt.date(2026, 1, 1)
    )
    assert not AuditEntry.objects.filter(action="org.login_deactivate").exists()
    assert not AuditEntry.objects.filter(action="org.seat_update").exists()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    status=st.sampled_from(PersonStatus.values),
    offset=st.one_of(st.none(), st.integers(min_value=-400, max_value=400)),
)
def test_people_rows_always_satisfy_the_leaving_rules(hr, center, newcomer_data, status, offset):
    """Whatever status and leaving date are asked for, either the rules hold or nothing is
    written and ``left_on`` carries the error."""
    left_on = None if offset is None else HIRED + dt.timedelta(days=offset)
    count = Person.objects.count()
    data = {**newcomer_data, "employee_no": f"H{status[:2]}{offset}"}
    try:
        person = services.person_create(
            center=center, actor=hr, status=status, left_on=left_on, **data
        )
    except ValidationFailed as exc:
        assert "left_on" in exc.fields
        assert Person.objects.count() == count
        ok = (status == "left") == (left_on is not None) and (left_on is None or offset >= 0)
        assert not ok
    else:
        assert (person.status == "left") == (person.left_on is not None)
        assert person.left_on is None or person.left_on >= person.hire_date
        Person.objects.filter(pk=person.pk).delete()


# --- Seats ---------------------------------------------------------------------------------
def _seatless_person(center) -> Person:
    team = Team.objects.filter(center=center, kind=TeamKind.SALES).first()
    return PersonFactory(team=team)


def test_seat_create_is_audited(hr, center):
    seat = services.seat_create(
        center=center, actor=hr, code="B0001", site="5楼", monthly_cost=Decimal("2100.00")
    )
    seat.refresh_from_db()
    assert seat.status == SeatStatus.VACANT and seat.center_id == center.pk
    entry = _only_entry("org.seat_create")
    assert entry.after["code"] == "B0001" and entry.after["monthly_cost"] == "2100.00"
    assert entry.actor == hr and entry.before is None


def test_assigned_seat_is_occupied(hr, center):
    person = _seatless_person(center)
    seat = services.seat_create(
        center=center, actor=hr, code="B0002", status=SeatStatus.VACANT, person=person
    )
    seat.refresh_from_db()
    assert seat.person_id == person.pk and seat.status == SeatStatus.OCCUPIED
    vacant = Seat.objects.filter(center=center, status=SeatStatus.VACANT).first()
    other = _seatless_person(center)
    services.seat_update(seat=vacant, actor=hr, person=other, status=SeatStatus.MAINTENANCE)
    vacant.refresh_from_db()
    assert vacant.status == SeatStatus.OCCUPIED and vacant.person_id == other.pk


def test_person_already_seated_elsewhere_is_refused(hr, center, person_of):
    seated = person_of("agent1")
    before = _rows()
    with pytest.raises(ValidationFailed) as exc:
        services.seat_create(center=center, actor=hr, code="B0003", person=seated)
    assert "person" in _fields(exc)
    vacant = Seat.objects.filter(center=center, status=SeatStatus.VACANT).first()
    with pytest.raises(ValidationFailed) as exc:
        services.seat_update(seat=vacant, actor=hr, person=seated)
    assert "person" in _fields(exc)
    assert _rows() == before


def test_occupied_seat_needs_a_person(hr, center, person_of):
    with pytest.raises(ValidationFailed) as exc:
        services.seat_create(center=center, actor=hr, code="B0004", status=SeatStatus.OCCUPIED)
    assert "person" in _fields(exc)
    seat = Seat.objects.get(person=person_of("agent1"))
    with pytest.raises(ValidationFailed) as exc:
        services.seat_update(seat=seat, actor=hr, person=None, status=SeatStatus.OCCUPIED)
    assert "person" in _fields(exc)
    seat.refresh_from_db()
    assert seat.person_id is not None


def test_seat_for_a_person_who_left_is_refused(hr, center):
    gone = Person.objects.filter(status=PersonStatus.LEFT).first()
    with pytest.raises(ValidationFailed) as exc:
        services.seat_create(center=center, actor=hr, code="B0005", person=gone)
    assert "person" in _fields(exc)


def test_unassigning_a_seat_makes_it_vacant(hr, person_of):
    seat = Seat.objects.get(person=person_of("agent1"))
    services.seat_update(seat=seat, actor=hr, person=None)
    seat.refresh_from_db()
    assert seat.person_id is None and seat.status == SeatStatus.VACANT
    entry = _only_entry("org.seat_update")
    assert entry.before["status"] == "occupied" and entry.after["status"] == "vacant"


def test_seat_value_rules(hr, center):
    existing = Seat.objects.filter(center=center).first()
    elsewhere = CenterFactory()
    before = _rows()
    with pytest.raises((ValidationFailed, Conflict)):
        services.seat_create(center=center, actor=hr, code=existing.code)
    with pytest.raises(ValidationFailed) as exc:
        services.seat_create(center=center, actor=hr, code="B0006", monthly_cost=Decimal("-0.01"))
    assert "monthly_cost" in _fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        services.seat_create(center=center, actor=hr, code="B0007", status="broken")
    assert "status" in _fields(exc)
    with pytest.raises(ValidationFailed) as exc:
        services.seat_update(seat=existing, actor=hr, center=elsewhere)
    assert "center" in _fields(exc)
    assert _rows() == before
    # The same code in another center is fine.
    assert services.seat_create(center=elsewhere, actor=hr, code=existing.code).pk


def test_seat_factory_seat_can_be_reassigned(hr, center):
    seat = SeatFactory(center=center)
    first, second = _seatless_person(center), _seatless_person(center)
    services.seat_update(seat=seat, actor=hr, person=first)
    services.seat_update(seat=seat, actor=hr, person=second)
    seat.refresh_from_db()
    assert seat.person_id == second.pk
    assert AuditEntry.objects.filter(action="org.seat_update", object_id=str(seat.pk)).count() == 2


def test_level_factory_builds_valid_levels(hr):
    level = LevelFactory()
    services.level_update(level=level, actor=hr, name="改名")
    level.refresh_from_db()
    assert level.name == "改名"


def test_person_created_as_already_left_gets_no_working_login(hr, center, newcomer_data):
    """Recording a former employee with their old login must not leave that login usable."""
    login = UserFactory(username="former", roles=["agent"])
    person = services.person_create(
        center=center,
        actor=hr,
        user=login,
        status=PersonStatus.LEFT,
        left_on=HIRED + dt.timedelta(days=30),
        **newcomer_data,
    )
    login.refresh_from_db()
    assert person.status == PersonStatus.LEFT
    assert not login.is_active
    assert _only_entry("org.login_deactivate").object_id == str(login.pk)


def test_seat_is_for_a_person_of_the_same_center(hr, center):
    elsewhere = CenterFactory()
    stranger = PersonFactory(team=TeamFactory(center=elsewhere))
    with pytest.raises(ValidationFailed) as exc:
        services.seat_create(center=center, actor=hr, code="B0010", person=stranger)
    assert "person" in _fields(exc)
    vacant = Seat.objects.filter(center=center, status=SeatStatus.VACANT).first()
    with pytest.raises(ValidationFailed):
        services.seat_update(seat=vacant, actor=hr, person=stranger)
    vacant.refresh_from_db()
    assert vacant.person_id is None
