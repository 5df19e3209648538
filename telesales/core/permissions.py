"""Permission helpers with no domain. Domain apps keep their own ``permissions.py``."""

from __future__ import annotations

from telesales.core.roles import Role, has_role


def can_view_audit_log(user) -> bool:
    return has_role(user, Role.MANAGER)


#: The actions the HR admin reads in the audit log: their own domain's (pay, attendance, rule
#: sets, assessments) and the organisation's (people, levels, teams). QA (session 20): HR could
#: not see the audit of what they had done.
HR_AUDIT_PREFIXES = ("compensation.", "org.")


def audit_action_scope(user) -> tuple[str, ...] | None:
    """The action prefixes ``user`` may read in the audit log: None for all of it (the center
    manager), the HR admin's, or none at all (an empty tuple)."""
    if has_role(user, Role.MANAGER):
        return None
    if has_role(user, Role.HR_ADMIN):
        return HR_AUDIT_PREFIXES
    return ()


def can_read_audit_page(user) -> bool:
    """The manager reads the whole log; the HR admin the part of it ``audit_action_scope``
    gives."""
    return audit_action_scope(user) != ()
