"""Menu entries contributed by the tickets app (customer service): after operations' entries
in the "operations and service" section (orders 57–59)."""

from django.utils.translation import gettext_lazy as _

from telesales.core.navigation import NavItem, register
from telesales.core.roles import Role

SEES_ALL = frozenset({Role.MANAGER, Role.RENEWAL_OPS})
REPORT = SEES_ALL | {Role.TEAM_LEAD}

register(
    NavItem(
        "tickets:ticket_list", _("Service tickets"), "life-preserver", REPORT | {Role.AGENT}, 57
    ),
    NavItem("tickets:sla_report", _("Service levels"), "stopwatch", REPORT, 58),
    NavItem("tickets:ruleset_list", _("Service targets"), "hourglass-split", SEES_ALL, 59),
)
