"""The visibility matrix of ``telesales.org.permissions``, written out independently of the
selectors so that the tests compare the code against the rule, not against itself.

people:  manager, HR admin: everyone · planner and the other back-office roles: sales teams
         and their own team · team lead: the teams they lead, and self · agent: self
teams:   everyone but team leads and agents: all · team lead: led and own · agent: own
seats:   manager, HR admin, planner: all · team lead: seats of the people they see ·
         everyone else: their own seat
"""

from __future__ import annotations

from telesales.org.choices import TeamKind
from telesales.org.models import Person, Seat, Team

# One demo login per role (password "demo").
ROLE_USERS = {
    "center_manager": "manager",
    "team_lead": "teamlead1",
    "agent": "agent1",
    "recruiter": "recruiter",
    "hr_admin": "hr",
    "trainer": "trainer",
    "planner": "planner",
    "data_officer": "data",
    "renewal_ops": "renewal",
}
USERS = tuple(ROLE_USERS.values())
ADMINS = frozenset({"manager", "hr"})
BACK_OFFICE = frozenset({"recruiter", "hr", "trainer", "planner", "data", "renewal"})
NOT_AGENT = frozenset(USERS) - {"agent1"}
EVERYONE = frozenset(USERS)

HOME_PATHS = {
    "manager": "/org/dashboard/",
    "teamlead1": "/org/my-team/",
    "agent1": "/org/my-day/",
    **{u: "/org/back-office/" for u in BACK_OFFICE},
}


def me(username: str) -> Person:
    return Person.objects.select_related("team").get(user__username=username)


def _led_team_ids(person: Person) -> set[int]:
    return set(Team.objects.filter(leader=person).values_list("id", flat=True))


def may_see_person(username: str, person: Person) -> bool:
    if username in ADMINS:
        return True
    mine = me(username)
    if person.pk == mine.pk:
        return True
    if username in BACK_OFFICE:
        return person.team.kind == TeamKind.SALES or person.team_id == mine.team_id
    return person.team_id in _led_team_ids(mine)


def may_see_team(username: str, team: Team) -> bool:
    if username in ADMINS or username in BACK_OFFICE:
        return True
    mine = me(username)
    return team.pk == mine.team_id or team.pk in _led_team_ids(mine)


def may_see_seat(username: str, seat: Seat) -> bool:
    if username in ADMINS or username == "planner":
        return True
    if seat.person_id is None:
        return False
    mine = me(username)
    if seat.person_id == mine.pk:
        return True
    return seat.person.team_id in _led_team_ids(mine)
