from __future__ import annotations

from telesales.core.navigation import menu_for
from telesales.core.roles import primary_role, user_roles


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    role = primary_role(user)
    return {
        "nav_menu": menu_for(user, request.path),
        "nav_role": role,
        "nav_role_label": role.label if role else "",
        "nav_roles": sorted(user_roles(user)),
    }
