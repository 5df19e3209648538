"""Who may use the workspace and see call data.

- Agent: their own workspace (next lead, calls, dispositions, follow-ups, sales) and their
  own call attempts and follow-ups.
- Team lead: the same for themselves, plus the attempts, follow-ups, escalations and the
  live board of the teams they lead; they may record a disposition on a call of their people.
- Center manager: every call record and board; manages dispositions and call rule sets.
- Planner / supervisor: reads every call record and board.
- Data officer and center manager: import CDR files.
- Other roles: no call data.
"""

from __future__ import annotations

from telesales.core.roles import Role, has_role


def can_use_workspace(user) -> bool:
    """The workspace API: agents, and team leads acting for their team (a disposition their
    agent forgot, say). The workspace page itself is for the agent role only."""
    return has_role(user, Role.AGENT, Role.TEAM_LEAD)


def sees_all_calls(user) -> bool:
    return has_role(user, Role.MANAGER, Role.PLANNER)


def can_view_calls(user) -> bool:
    return has_role(user, Role.MANAGER, Role.PLANNER, Role.TEAM_LEAD, Role.AGENT)


def can_view_board(user) -> bool:
    return has_role(user, Role.MANAGER, Role.PLANNER, Role.TEAM_LEAD)


def can_manage_dispositions(user) -> bool:
    return has_role(user, Role.MANAGER)


def can_manage_call_rules(user) -> bool:
    return has_role(user, Role.MANAGER)


def can_import_cdr(user) -> bool:
    return has_role(user, Role.MANAGER, Role.DATA_OFFICER)


def can_reassign_followup(user, followup) -> bool:
    """Give an open follow-up (and its lead) to a teammate: the team lead of the owner's
    team, and the center manager (not the planner, who only reads)."""
    if has_role(user, Role.MANAGER):
        return True
    if not has_role(user, Role.TEAM_LEAD):
        return False
    from telesales.org.selectors import person_for_user

    me = person_for_user(user)
    team = followup.agent.team if followup.agent.team_id else None
    return bool(me is not None and team is not None and team.leader_id == me.pk)
