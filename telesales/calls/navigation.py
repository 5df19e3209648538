"""Menu entries and the agent's home page, contributed by the calls app.

The agent workspace is where an agent spends the day, so it is their home page; it replaces
the interim "My leads" home the leads app registers (a later registration wins, and the calls
app is loaded after the leads app).
"""

from django.utils.translation import gettext_lazy as _

from telesales.core.navigation import NavItem, register, register_home
from telesales.core.roles import Role

register(
    NavItem("calls:workspace", _("Workspace"), "telephone-outbound", frozenset({Role.AGENT}), 10),
)

register_home(Role.AGENT, "calls:workspace")

# The team lead's live board and the call reports (views/board.py).
BOARD_ROLES = frozenset({Role.TEAM_LEAD, Role.MANAGER, Role.PLANNER})
register(
    NavItem("calls:board", _("Live board"), "broadcast", BOARD_ROLES, 12),
    NavItem("calls:report", _("Call reports"), "bar-chart-line", BOARD_ROLES, 15),
)

# The calling rules, read-only (views/board.py), for the manager who sets them.
register(
    NavItem("calls:callrules", _("Call rules"), "sliders", frozenset({Role.MANAGER}), 17),
)
