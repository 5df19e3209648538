"""Menu entries and the renewal-operations home page, contributed by the operations app."""

from django.utils.translation import gettext_lazy as _

from telesales.core.navigation import NavItem, register, register_home
from telesales.core.roles import Role

OPERATORS = frozenset({Role.MANAGER, Role.RENEWAL_OPS})
READERS = OPERATORS | {Role.PLANNER}
SELLERS = frozenset({Role.AGENT, Role.TEAM_LEAD})

register(
    NavItem("operations:home", _("Renewal operations"), "arrow-repeat", READERS, 14),
    NavItem("operations:my_renewals", _("My renewals"), "arrow-repeat", SELLERS, 14),
    NavItem("operations:renewal_list", _("Renewal queue"), "calendar-check", READERS, 50),
    NavItem("operations:delivery_list", _("Deliveries"), "truck", READERS, 51),
    NavItem("operations:visit_list", _("Return visits"), "telephone-inbound", READERS, 52),
    NavItem("operations:exit_list", _("Exit notices"), "person-dash", READERS, 53),
    NavItem("operations:receipt_list", _("Premium receipts"), "receipt", OPERATORS, 54),
    NavItem(
        "operations:persistency",
        _("Persistency"),
        "graph-up-arrow",
        READERS | {Role.TEAM_LEAD},
        55,
    ),
    NavItem("operations:ruleset_list", _("Renewal rules"), "sliders", READERS, 56),
)

# Renewal operations start the day on their queues (org gave them the back-office page).
register_home(Role.RENEWAL_OPS, "operations:home")
