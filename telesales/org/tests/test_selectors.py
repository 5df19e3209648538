"""Organisation selectors: the visibility matrix of ``permissions.py`` for every role."""

from __future__ import annotations

import datetime as dt

import pytest

from telesales.core.errors import NotFound
from telesales.org import selectors
from telesales.org.choices import PersonStatus, SeatStatus, TeamKind
from telesales.org.models import Level, Person, Seat, Team
from telesales.org.tests.factories import PersonFactory, UserFactory
from telesales.org.tests.spec import (
    USERS,
    may_see_person,
    may_see_seat,
    may_see_team,
)


@pytest.fixture
def demo(demo_shared, db):
    """The demo center, seeded once for this module (see ``demo_shared``)."""
    return demo_shared


@pytest.mark.parametrize("username", USERS)
def test_people_visible_to_each_role_follow_the_matrix(user_named, username):
    user = user_named(username)
    everyone = Person.objects.select_related("team")
    expected = {p.pk for p in everyone if may_see_person(username, p)}
    listed = set(selectors.person_list(user=user, include_left=True).values_list("pk", flat=True))
    assert listed == expected
    for person in everyone:
        if person.pk in expected:
            assert selectors.person_get(user=user, person_id=person.pk).pk == person.pk
        else:
            with pytest.raises(NotFound) as exc:
                selectors.person_get(user=user, person_id=person.pk)
            assert exc.value.status == 404


@pytest.mark.parametrize("username", USERS)
def test_teams_visible_to_each_role_follow_the_matrix(user_named, username):
    user = user_named(username)
    expected = {t.pk for t in Team.objects.all() if may_see_team(username, t)}
    listed = set(selectors.team_list(user=user, include_inactive=True).values_list("pk", flat=True))
    assert listed == expected
    for team in Team.objects.all():
        if team.pk in expected:
            assert selectors.team_get(user=user, team_id=team.pk).pk == team.pk
        else:
            with pytest.raises(NotFound):
                selectors.team_get(user=user, team_id=team.pk)


@pytest.mark.parametrize("username", USERS)
def test_seats_visible_to_each_role_follow_the_matrix(user_named, username):
    user = user_named(username)
    seats = Seat.objects.select_related("person")
    expected = {s.pk for s in seats if may_see_seat(username, s)}
    assert set(selectors.seat_list(user=user).values_list("pk", flat=True)) == expected
    for seat in seats:
        if seat.pk in expected:
            assert selectors.seat_get(user=user, seat_id=seat.pk).pk == seat.pk
        else:
            with pytest.raises(NotFound):
                selectors.seat_get(user=user, seat_id=seat.pk)
    summary = selectors.seat_summary(user=user)
    assert summary["total"] == len(expected)


def test_the_matrix_is_not_trivial(user_named):
    """Guard the spec itself: each role really sees a different slice of the demo center."""
    people = Person.objects.select_related("team")
    seen = {u: frozenset(p.pk for p in people if may_see_person(u, p)) for u in USERS}
    assert len(seen["agent1"]) == 1
    assert seen["manager"] == seen["hr"] == frozenset(p.pk for p in people)
    assert seen["agent1"] < seen["teamlead1"] < seen["recruiter"] < seen["manager"]
    # A back-office role sees its own (back-office) team but not the center office.
    office = Person.objects.get(user__username="manager")
    assert office.pk not in seen["planner"]


def test_agent_sees_only_self_even_with_filters(user_named, person_of):
    agent = user_named("agent1")
    me = person_of("agent1")
    other_team = Team.objects.filter(kind=TeamKind.SALES).exclude(pk=me.team_id).first()
    mate = person_of("agent2")
    assert list(selectors.person_list(user=agent)) == [me]
    assert not selectors.person_list(user=agent, team_id=other_team.pk).exists()
    assert not selectors.person_list(user=agent, search=mate.name).exclude(pk=me.pk).exists()
    assert not selectors.person_list(user=agent, include_left=True).exclude(pk=me.pk).exists()
    assert [t.pk for t in selectors.team_list(user=agent)] == [me.team_id]
    assert [s.person_id for s in selectors.seat_list(user=agent)] == [me.pk]


def test_team_lead_sees_led_team_even_when_their_own_team_is_elsewhere(user_named, center):
    """A lead whose employee record sits in another team still sees the team they lead."""
    lead_user = user_named("teamlead2")
    lead = Person.objects.get(user=lead_user)
    led = lead.led_teams.get()
    office = Team.objects.get(name="后援支持部")
    Person.objects.filter(pk=lead.pk).update(team=office)
    visible = set(selectors.person_list(user=lead_user).values_list("pk", flat=True))
    expected = set(led.members.exclude(status="left").values_list("pk", flat=True)) | {lead.pk}
    assert visible == expected
    assert {t.pk for t in selectors.team_list(user=lead_user)} == {led.pk, office.pk}


def test_user_without_employee_record_sees_nothing_unless_admin(demo):
    loner = UserFactory(username="loner", roles=["agent"])
    assert not selectors.person_list(user=loner).exists()
    assert not selectors.team_list(user=loner).exists()
    assert not selectors.seat_list(user=loner).exists()
    assert selectors.person_for_user(loner) is None
    for role in ("team_lead", "recruiter", "planner"):
        user = UserFactory(username=f"loner-{role}", roles=[role])
        if role == "team_lead":
            assert not selectors.person_list(user=user).exists()
        else:
            sales = Person.objects.filter(team__kind=TeamKind.SALES).exclude(status="left")
            assert selectors.person_list(user=user).count() == sales.count()
    admin = UserFactory(username="loner-admin", roles=["hr_admin"])
    assert (
        selectors.person_list(user=admin).count() == Person.objects.exclude(status="left").count()
    )


def test_user_without_any_role_sees_no_people(demo):
    nobody = UserFactory(username="nobody")
    assert not selectors.person_list(user=nobody).exists()
    assert not selectors.seat_list(user=nobody).exists()


def test_superuser_counts_as_manager(demo):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert selectors.person_list(user=root, include_left=True).count() == Person.objects.count()
    assert selectors.seat_list(user=root).count() == Seat.objects.count()


def test_inactive_login_loses_its_roles(user_named, person_of):
    """A disabled login holds no role, so at most its own record stays in reach."""
    manager = user_named("manager")
    manager.is_active = False
    assert list(selectors.person_list(user=manager)) == [person_of("manager")]
    assert not selectors.seat_list(user=manager).exists()


def test_person_list_filters(user_named, person_of):
    manager = user_named("manager")
    agent = person_of("agent1")
    current = Person.objects.exclude(status=PersonStatus.LEFT)
    assert selectors.person_list(user=manager).count() == current.count()
    assert selectors.person_list(user=manager, include_left=True).count() == Person.objects.count()
    left = selectors.person_list(user=manager, status=PersonStatus.LEFT)
    assert left.count() == Person.objects.filter(status=PersonStatus.LEFT).count() > 0
    in_team = selectors.person_list(user=manager, team_id=agent.team_id)
    assert {p.team_id for p in in_team} == {agent.team_id}
    assert list(selectors.person_list(user=manager, search=agent.employee_no)) == [agent]
    assert agent in selectors.person_list(user=manager, search=agent.name[1:])
    if agent.level_id:
        assert {
            p.level_id for p in selectors.person_list(user=manager, level_id=agent.level_id)
        } == {agent.level_id}
    assert not selectors.person_list(user=manager, search="不存在的人").exists()


def test_team_list_counts_current_members_and_hides_inactive_teams(user_named, person_of):
    manager = user_named("manager")
    team = person_of("agent1").team
    row = selectors.team_list(user=manager).get(pk=team.pk)
    current = team.members.exclude(status=PersonStatus.LEFT).count()
    assert row.headcount == current
    Team.objects.filter(pk=team.pk).update(is_active=False)
    assert not selectors.team_list(user=manager).filter(pk=team.pk).exists()
    assert selectors.team_list(user=manager, include_inactive=True).filter(pk=team.pk).exists()
    sales = selectors.team_list(user=manager, kind=TeamKind.SALES, include_inactive=True)
    assert {t.kind for t in sales} == {TeamKind.SALES}


def test_seat_list_filters_and_summary(user_named):
    manager = user_named("manager")
    vacant = selectors.seat_list(user=manager, status=SeatStatus.VACANT)
    assert {s.status for s in vacant} == {SeatStatus.VACANT}
    site = Seat.objects.first().site
    assert {s.site for s in selectors.seat_list(user=manager, site=site)} == {site}
    summary = selectors.seat_summary(user=manager)
    assert summary["total"] == Seat.objects.count()
    assert summary["occupied"] == Seat.objects.filter(status=SeatStatus.OCCUPIED).count()
    assert summary["occupied"] + summary["vacant"] + summary["maintenance"] == summary["total"]
    assert summary["utilisation"] == pytest.approx(summary["occupied"] / summary["total"])


def test_seat_summary_of_nothing_has_no_utilisation(demo):
    nobody = UserFactory(username="nobody-seats")
    assert selectors.seat_summary(user=nobody) == {
        "total": 0,
        "occupied": 0,
        "vacant": 0,
        "maintenance": 0,
        "utilisation": None,
    }


def test_headcount_by_team_is_scoped_and_adds_up(user_named, person_of):
    lead = user_named("teamlead1")
    rows = selectors.headcount_by_team(user=lead)
    team = person_of("teamlead1").team
    assert [r["team_id"] for r in rows] == [team.pk]
    row = rows[0]
    current = team.members.exclude(status=PersonStatus.LEFT)
    assert row["total"] == current.count()
    assert sum(row[s.value] for s in PersonStatus) == row["total"]
    assert row[PersonStatus.LEFT] == 0
    everyone = selectors.headcount_by_team(user=user_named("manager"))
    assert sum(r["total"] for r in everyone) == Person.objects.exclude(status="left").count()


def test_levels_are_public_and_inactive_ones_hidden_by_default(user_named):
    agent = user_named("agent1")
    level = Level.objects.get(code="S3")
    Level.objects.filter(pk=level.pk).update(is_active=False)
    assert level not in selectors.level_list(user=agent)
    assert level in selectors.level_list(user=agent, include_inactive=True)
    assert selectors.level_get(user=agent, level_id=level.pk) == level
    with pytest.raises(NotFound):
        selectors.level_get(user=agent, level_id=10**6)


def test_person_for_user_is_cached_per_user_object(user_named, person_of):
    user = user_named("agent1")
    assert selectors.person_for_user(user) == person_of("agent1")
    Person.objects.filter(user=user).update(user=None)
    assert selectors.person_for_user(user) is not None  # cached on this object
    assert selectors.person_for_user(user_named("agent1")) is None


def test_newly_hired_person_in_a_led_team_is_visible_to_the_lead(user_named, person_of):
    team = person_of("teamlead1").team
    newcomer = PersonFactory(team=team, hire_date=dt.date(2026, 10, 1))
    assert newcomer in selectors.person_list(user=user_named("teamlead1"))
    assert newcomer not in selectors.person_list(user=user_named("teamlead2"))
    assert newcomer not in selectors.person_list(user=user_named("agent1"))
