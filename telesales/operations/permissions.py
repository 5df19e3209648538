"""Who may see and do what in operations and renewal.

- Center manager and renewal operations: everything (deliveries, receipts, return visits,
  renewal tasks and payments, in-force changes, the receipt import, exit notices); only the
  manager changes the rule set.
- Planner / supervisor: reads everything and the persistency figures.
- Team lead: the policies of the teams they lead (by the team credited at the sale, or the
  agent's current team) and their own; works renewal contacts of those policies; resolves the
  misunderstandings found by return visits of their agents (flagged to them, or of an agent
  of a team they lead now: ``can_resolve_visit``).
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


def can_resolve_visit(user, visit, *, me) -> bool:
    """Whether ``user`` (whose employee record is ``me``) may resolve the misunderstanding
    found by ``visit``: operations any; a team lead one flagged to them, or one on a policy
    of an agent of a team they lead now — the team lead acts on the misunderstandings of
    their agents' customers, also those flagged to their predecessor (who no longer sees
    the policy) or to nobody (the team had no lead then). Read ``policy__agent__team`` with
    the visit."""
    if not can_resolve_misunderstanding(user):
        return False
    if can_operate(user):
        return True
    if me is None:
        return False
    if visit.flagged_to_id == me.pk:
        return True
    agent = visit.policy.agent
    team = agent.team if agent.team_id else None
    return team is not None and team.leader_id == me.pk and agent.pk != me.pk


def can_manage_rules(user) -> bool:
    return has_role(user, Role.MANAGER)


def can_view_persistency(user) -> bool:
    return has_role(user, *SEES_ALL, Role.TEAM_LEAD, Role.AGENT)
