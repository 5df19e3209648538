"""Who may see and change organisation records.

Visibility (the matrix the tests walk):

- center manager, HR admin: people: everyone; teams: all; seats: all.
- planner: people: sales teams and own team; teams: all; seats: all.
- recruiter, trainer, data officer, renewal operations: people: sales teams and own team;
  teams: all; seats: own only.
- team lead: people: the teams they lead, and self; teams: led and own; seats: of those people.
- agent: people: self; teams: own; seats: own.

Only the center manager and HR admin change people, teams, levels and seats.
"""

from __future__ import annotations

from telesales.core.roles import BACK_OFFICE_ROLES, Role, has_role, user_roles

ORG_ADMINS = (Role.MANAGER, Role.HR_ADMIN)


def sees_all_people(user) -> bool:
    return has_role(user, *ORG_ADMINS)


def sees_sales_people(user) -> bool:
    return bool(user_roles(user) & BACK_OFFICE_ROLES)


def sees_all_teams(user) -> bool:
    return has_role(user, *ORG_ADMINS) or sees_sales_people(user)


def sees_all_seats(user) -> bool:
    return has_role(user, Role.MANAGER, Role.HR_ADMIN, Role.PLANNER)


def can_edit_person(user) -> bool:
    return has_role(user, *ORG_ADMINS)


def can_edit_team(user) -> bool:
    return has_role(user, *ORG_ADMINS)


def can_edit_level(user) -> bool:
    return has_role(user, *ORG_ADMINS)


def can_edit_seat(user) -> bool:
    return has_role(user, *ORG_ADMINS)


def can_view_org_pages(user) -> bool:
    """The organisation list pages (the own profile is always reachable)."""
    return bool(user_roles(user) - {Role.AGENT})


def can_edit_center(user) -> bool:
    return has_role(user, Role.MANAGER)
