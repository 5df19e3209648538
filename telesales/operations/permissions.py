"""Who may see and do what in operations and renewal.

- Center manager and renewal operations: everything (deliveries, receipts, return visits,
  renewal tasks and payments, in-force changes, the receipt import, exit notices); only the
  manager changes the rule set.
- Planner / supervisor: reads everything and the persistency figures.
- Team lead: the policies of the teams they lead (by the team credited at the sale, or the
  agent's current team) and their own; works renewal contacts of those policies; resolves the
  misunderstandings found by return visits of their agents.
- Agent: the policies they sold or serve; records renewal contacts on their own tasks.
  Agents never record a payment (2023 rule Art. 32: sellers do not handle premiums).
- Other roles: nothing (personal data, minimum necessary).
"""

from __future__ import annotations

from telesales.core.roles import Role, has_role

SEES_ALL = (Role.MANAGER, Role.RENEWAL_OPS, Role.PLANNER)
OPERATORS = (Role.MANAGER, Role.RENEWAL_OPS)


def sees_all_operations(user) -> bool:
    return has_role(user, *SEES_ALL)


def can_view_operations(user) -> bool:
    return has_role(user, *SEES_ALL, Role.TEAM_LEAD, Role.AGENT)


def can_operate(user) -> bool:
    """Deliveries, receipts, return visits, payments, in-force changes, imports, exits."""
    return has_role(user, *OPERATORS)


def can_work_renewals(user) -> bool:
    """Record contacts on renewal tasks (their own, or their teams' for a team lead)."""
    return has_role(user, *OPERATORS, Role.TEAM_LEAD, Role.AGENT)


def can_resolve_misunderstanding(user) -> bool:
    return has_role(user, *OPERATORS, Role.TEAM_LEAD)


def can_manage_rules(user) -> bool:
    return has_role(user, Role.MANAGER)


def can_view_persistency(user) -> bool:
    return has_role(user, *SEES_ALL, Role.TEAM_LEAD, Role.AGENT)
