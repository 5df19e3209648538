"""Who may see and do what with lead data.

- Center manager and data officer: everything (import, allocate, rules, DNC, export, reveal).
- Planner: reads every lead and the quality reports (no reveal, no export).
- Team lead: the leads of the teams they lead, and the public pool.
- Agent: their own leads and the public pool (claiming within the limits).
- Other roles: no lead data (PIPL minimum necessary).

Revealing a full number is a separate right, given by role in the setting
``TELESALES_PHONE_REVEAL_ROLES`` (default: center manager, data officer); each reveal is audited.
"""

from __future__ import annotations

from django.conf import settings

from telesales.core.roles import Role, has_role, user_roles

DATA_ADMINS = (Role.MANAGER, Role.DATA_OFFICER)


def can_manage_leads(user) -> bool:
    return has_role(user, *DATA_ADMINS)


def can_export_leads(user) -> bool:
    return has_role(user, *DATA_ADMINS)


def can_reveal_phone(user) -> bool:
    allowed = {Role(r) for r in getattr(settings, "TELESALES_PHONE_REVEAL_ROLES", ())}
    return bool(user_roles(user) & allowed)


def sees_all_leads(user) -> bool:
    return has_role(user, Role.MANAGER, Role.DATA_OFFICER, Role.PLANNER)


def can_view_leads(user) -> bool:
    return has_role(user, Role.MANAGER, Role.DATA_OFFICER, Role.PLANNER, Role.TEAM_LEAD, Role.AGENT)


def can_hold_leads(user) -> bool:
    """Who may own leads and see the public pool: agents, and team leads (who see what their
    agents may take, and keep or release what they already hold)."""
    return has_role(user, Role.AGENT, Role.TEAM_LEAD)


def can_claim(user) -> bool:
    """Who may claim a lead from the public pool: the agent role, whose workspace is where a
    claimed lead is called. A team lead who also sells holds the agent role as well (QA: a
    team lead claimed leads they had no page to call, and they sat until recycled)."""
    return has_role(user, Role.AGENT)
