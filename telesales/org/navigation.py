"""Menu entries and role home pages contributed by the organisation app."""

from django.utils.translation import gettext_lazy as _

from telesales.core.navigation import NavItem, register, register_home
from telesales.core.roles import BACK_OFFICE_ROLES, Role

ALL = frozenset(Role)
NOT_AGENT = frozenset(Role) - {Role.AGENT}

register(
    NavItem("org:manager_dashboard", _("Dashboard"), "speedometer2", frozenset({Role.MANAGER}), 10),
    NavItem("org:team_home", _("My team"), "people", frozenset({Role.TEAM_LEAD}), 10),
    NavItem("org:agent_home", _("My day"), "telephone", frozenset({Role.AGENT}), 10),
    NavItem("org:backoffice_home", _("Back office"), "briefcase", BACK_OFFICE_ROLES, 10),
    NavItem("org:person_list", _("People"), "person-vcard", NOT_AGENT, 30),
    NavItem("org:team_list", _("Teams"), "diagram-3", NOT_AGENT, 31),
    NavItem(
        "org:seat_list",
        _("Seats"),
        "pc-display",
        frozenset({Role.MANAGER, Role.HR_ADMIN, Role.PLANNER, Role.TEAM_LEAD}),
        32,
    ),
    NavItem("org:level_list", _("Level ladder"), "bar-chart-steps", ALL, 33),
    NavItem("org:profile", _("My profile"), "person-circle", ALL, 90),
)

register_home(Role.MANAGER, "org:manager_dashboard")
register_home(Role.TEAM_LEAD, "org:team_home")
register_home(Role.AGENT, "org:agent_home")
for _role in BACK_OFFICE_ROLES:
    register_home(_role, "org:backoffice_home")
