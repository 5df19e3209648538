"""Who may see and do what with customer-service tickets.

- Center manager and renewal operations: every ticket; open, assign to anyone eligible,
  respond, resolve, close, reopen; the SLA report and the complaint rate. The manager alone
  changes the SLA targets (new versions).
- Team lead: the tickets about the agents of the teams they lead, the tickets owned by
  people of those teams, the tickets they own, opened or had escalated to them; works them
  and assigns them to themselves or their team members; the SLA report over those tickets.
- Agent: the tickets they own or opened; opens tickets; works the ones they own.
- Other roles: no ticket data (customer data, minimum necessary).

Complaints about an agent are not shown to that agent unless they own or opened them, and
a complaint may never be owned by the agent it is about.
"""

from __future__ import annotations

from telesales.core.roles import Role, has_role

SEES_ALL = (Role.MANAGER, Role.RENEWAL_OPS)
#: Roles whose people may own (work) a ticket.
WORKER_ROLES = (Role.MANAGER, Role.RENEWAL_OPS, Role.TEAM_LEAD, Role.AGENT)


def sees_all_tickets(user) -> bool:
    return has_role(user, *SEES_ALL)


def can_view_tickets(user) -> bool:
    return has_role(user, *WORKER_ROLES)


def can_open_ticket(user) -> bool:
    return has_role(user, *WORKER_ROLES)


def can_assign_tickets(user) -> bool:
    """Assign to anyone eligible (sees-all roles) or within the led teams (team lead)."""
    return has_role(user, *SEES_ALL, Role.TEAM_LEAD)


def can_view_sla_report(user) -> bool:
    return has_role(user, *SEES_ALL, Role.TEAM_LEAD)


def can_view_complaint_rate(user) -> bool:
    """The center's brand indicator: complaints per 1,000 policies in force."""
    return has_role(user, *SEES_ALL)


def can_view_team_complaint_rate(user) -> bool:
    """The same indicator over the teams a team lead leads (their home page's card)."""
    return has_role(user, Role.TEAM_LEAD)


def can_view_sla_rules(user) -> bool:
    return has_role(user, *SEES_ALL)


def can_manage_sla_rules(user) -> bool:
    return has_role(user, Role.MANAGER)
