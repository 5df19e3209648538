"""Permission helpers with no domain. Domain apps keep their own ``permissions.py``."""

from __future__ import annotations

from telesales.core.roles import Role, has_role


def can_view_audit_log(user) -> bool:
    return has_role(user, Role.MANAGER)
