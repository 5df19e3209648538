"""Who may do what with compensation data.

- HR admin (人管岗) and the center manager: import, approve and read basic-law rule sets.
"""

from __future__ import annotations

from telesales.core.roles import Role, has_role


def can_manage_rulesets(user) -> bool:
    return has_role(user, Role.HR_ADMIN, Role.MANAGER)
