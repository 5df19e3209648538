"""The center's roles. Each is a Django group; a user may hold several.

The group names are stable identifiers (used in data, tests and tokens); their labels are
translated for display.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import pgettext_lazy


class Role(StrEnum):
    MANAGER = "center_manager"
    TEAM_LEAD = "team_lead"
    AGENT = "agent"
    RECRUITER = "recruiter"
    HR_ADMIN = "hr_admin"
    TRAINER = "trainer"
    PLANNER = "planner"
    DATA_OFFICER = "data_officer"
    RENEWAL_OPS = "renewal_ops"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


# The "role" context keeps a role's name apart from the same English word used for a person
# (for example "Recruiter": the recruiter role, or the person who recruited someone).
ROLE_LABELS = {
    Role.MANAGER: pgettext_lazy("role", "Center manager"),
    Role.TEAM_LEAD: pgettext_lazy("role", "Team lead"),
    Role.AGENT: pgettext_lazy("role", "Agent"),
    Role.RECRUITER: pgettext_lazy("role", "Recruiter"),
    Role.HR_ADMIN: pgettext_lazy("role", "HR admin"),
    Role.TRAINER: pgettext_lazy("role", "Trainer"),
    Role.PLANNER: pgettext_lazy("role", "Planner / supervisor"),
    Role.DATA_OFFICER: pgettext_lazy("role", "Data officer"),
    Role.RENEWAL_OPS: pgettext_lazy("role", "Renewal operations"),
}

BACK_OFFICE_ROLES = frozenset(
    {
        Role.RECRUITER,
        Role.HR_ADMIN,
        Role.TRAINER,
        Role.PLANNER,
        Role.DATA_OFFICER,
        Role.RENEWAL_OPS,
    }
)

# When a user holds several roles, the first one here decides the home page.
ROLE_PRECEDENCE = [
    Role.MANAGER,
    Role.HR_ADMIN,
    Role.PLANNER,
    Role.DATA_OFFICER,
    Role.RECRUITER,
    Role.TRAINER,
    Role.RENEWAL_OPS,
    Role.TEAM_LEAD,
    Role.AGENT,
]


def user_roles(user) -> frozenset[Role]:
    """The roles a user holds. A superuser counts as center manager. Cached on the user."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_telesales_roles", None)
    if cached is not None:
        return cached
    known = {r.value for r in Role}
    names = set(user.groups.values_list("name", flat=True)) & known
    roles = {Role(n) for n in names}
    if user.is_superuser:
        roles.add(Role.MANAGER)
    result = frozenset(roles)
    user._telesales_roles = result
    return result


def has_role(user, *roles: Role) -> bool:
    return bool(user_roles(user) & set(roles))


def primary_role(user) -> Role | None:
    held = user_roles(user)
    for role in ROLE_PRECEDENCE:
        if role in held:
            return role
    return None
