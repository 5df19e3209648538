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

# The home pages this app registers. An app that arrives later may register another home
# for a role (the agent workspace, say); ``home_path`` follows the registry for those.
ORG_HOME_PATHS = {
    "center_manager": "/org/dashboard/",
    "team_lead": "/org/my-team/",
    "agent": "/org/my-day/",
    **dict.fromkeys(
        ["recruiter", "hr_admin", "trainer", "planner", "data_officer", "renewal_ops"],
        "/org/back-office/",
    ),
}


def home_path(username: str) -> str:
    """Where the demo login of a role lands after signing in."""
    from django.urls import reverse

    from telesales.core.navigation import registered_homes
    from telesales.core.roles import Role

    role = next(r for r, u in ROLE_USERS.items() if u == username)
    url_name = registered_homes()[Role(role)]
    if url_name.startswith("org:"):
        assert reverse(url_name) == ORG_HOME_PATHS[role], (role, url_name)
    return reverse(url_name)


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
