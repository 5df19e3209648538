"""Menu entries contributed by the policies app."""

from django.utils.translation import gettext_lazy as _

from telesales.core.navigation import NavItem, register
from telesales.core.roles import Role

SEES_ALL = frozenset({Role.MANAGER, Role.RENEWAL_OPS, Role.PLANNER})
REPORTS = SEES_ALL | {Role.TEAM_LEAD}
PRODUCTS = SEES_ALL | {Role.TEAM_LEAD, Role.AGENT, Role.TRAINER}

register(
    NavItem(
        "policies:task_list",
        _("Service tasks"),
        "check2-square",
        frozenset({Role.AGENT, Role.TEAM_LEAD}),
        13,
    ),
    NavItem("policies:policy_list", _("Policies"), "file-earmark-text", REPORTS | {Role.AGENT}, 40),
    NavItem("policies:stabilisation_report", _("Stabilisation"), "shield-check", REPORTS, 41),
    NavItem("policies:product_list", _("Products"), "box2-heart", PRODUCTS, 42),
    NavItem(
        "policies:ruleset_list",
        _("Post-sale rules"),
        "sliders2",
        frozenset({Role.MANAGER, Role.RENEWAL_OPS, Role.PLANNER}),
        43,
    ),
)
