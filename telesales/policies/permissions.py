"""Who may see and do what with products, policies and service tasks.

- Center manager: everything (the catalogue, rule sets, issue, receipt, cancellation).
- Renewal operations: sees every policy; issues, confirms receipts, records cancellations.
- Planner / supervisor: reads every policy and the reports.
- Team lead: the policies and tasks of the teams they lead (and their own sales).
- Agent: their own policies and tasks; records their own sales.
- Other roles: no policy data (personal data, minimum necessary).

Agents never process a cancellation (2023 rule Art. 32: sellers do not handle refunds).
"""

from __future__ import annotations

from telesales.core.roles import Role, has_role

SEES_ALL = (Role.MANAGER, Role.RENEWAL_OPS, Role.PLANNER)
OPERATORS = (Role.MANAGER, Role.RENEWAL_OPS)


def sees_all_policies(user) -> bool:
    return has_role(user, *SEES_ALL)


def can_view_policies(user) -> bool:
    return has_role(user, *SEES_ALL, Role.TEAM_LEAD, Role.AGENT)


def can_operate_policies(user) -> bool:
    """Issue, confirm the receipt, record a free-look cancellation."""
    return has_role(user, *OPERATORS)


def can_record_sale(user) -> bool:
    return has_role(user, Role.AGENT, Role.TEAM_LEAD, Role.MANAGER)


def can_view_products(user) -> bool:
    return has_role(user, *SEES_ALL, Role.TEAM_LEAD, Role.AGENT, Role.TRAINER)


def can_manage_products(user) -> bool:
    return has_role(user, Role.MANAGER)


def can_manage_rules(user) -> bool:
    return has_role(user, Role.MANAGER)


def can_view_reports(user) -> bool:
    return has_role(user, *SEES_ALL, Role.TEAM_LEAD, Role.AGENT)


def can_view_tasks(user) -> bool:
    return has_role(user, Role.MANAGER, Role.TEAM_LEAD, Role.AGENT)
