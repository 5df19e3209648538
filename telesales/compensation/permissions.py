"""Who may do what with compensation data.

- HR admin (人管岗) and the center manager: import, approve and read basic-law rule sets (the
  planner reads them too);
  compute, approve and export pay runs; record attendance and adjustments; read every payslip.
- Everyone else with a person record: their own payslip of an approved run.
- A team lead: the totals of the team they lead in an approved run, not its lines.
- What approved runs paid for one policy (its ledger): HR, the manager and the policy's
  selling agent.
"""

from __future__ import annotations

from telesales.core.roles import Role, has_role


def can_manage_rulesets(user) -> bool:
    return has_role(user, Role.HR_ADMIN, Role.MANAGER)


def can_read_rulesets(user) -> bool:
    """Read the basic law's versions (the rules, no one's pay): HR and the manager, and the
    planner (企划督导), who designs the incentive schemes around it."""
    return has_role(user, Role.HR_ADMIN, Role.MANAGER, Role.PLANNER)


def can_run_pay(user) -> bool:
    """Compute, approve and export pay runs, enter attendance and adjustments."""
    return has_role(user, Role.HR_ADMIN, Role.MANAGER)


def can_read_all_payslips(user) -> bool:
    return has_role(user, Role.HR_ADMIN, Role.MANAGER)


def can_read_payslip(user, *, person, run) -> bool:
    """HR and the manager: any payslip; a person: their own, once the run is approved."""
    if can_read_all_payslips(user):
        return True
    return (
        run.status == "approved"
        and getattr(user, "is_authenticated", False)
        and person.user_id is not None
        and person.user_id == user.pk
    )


def can_read_team_totals(user, *, team, run) -> bool:
    """HR and the manager: any team; a team lead: the team they lead, once approved."""
    if can_read_all_payslips(user):
        return True
    return (
        run.status == "approved"
        and has_role(user, Role.TEAM_LEAD)
        and team.leader_id is not None
        and team.leader.user_id == user.pk
    )


def can_read_policy_pay(user, *, policy) -> bool:
    """HR and the manager: any policy; an agent: the policies they sold."""
    if can_read_all_payslips(user):
        return True
    return (
        getattr(user, "is_authenticated", False)
        and policy.agent_id is not None
        and policy.agent.user_id is not None
        and policy.agent.user_id == user.pk
    )


def can_run_assessment(user) -> bool:
    """Run assessments, decide outcomes and approve runs (考核): HR admin and the manager."""
    return has_role(user, Role.HR_ADMIN, Role.MANAGER)
