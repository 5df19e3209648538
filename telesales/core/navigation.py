"""The navigation registry. Each app registers its menu entries in ``AppConfig.ready``.

Keeping the menu as data lets ``core`` draw it without importing any domain app, and lets the
role tests walk every registered page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from telesales.core.roles import Role, user_roles


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: object  # a lazy translation
    icon: str
    roles: frozenset[Role]
    order: int = 100

    def visible_to(self, user) -> bool:
        return bool(user_roles(user) & self.roles)


_REGISTRY: list[NavItem] = []


def register(*items: NavItem) -> None:
    for item in items:
        if all(existing.url_name != item.url_name for existing in _REGISTRY):
            _REGISTRY.append(item)
    _REGISTRY.sort(key=lambda i: (i.order, i.url_name))


def registered() -> list[NavItem]:
    return list(_REGISTRY)


def menu_for(user, current_path: str = "") -> list[dict]:
    entries = []
    for item in _REGISTRY:
        if not item.visible_to(user):
            continue
        url = reverse(item.url_name)
        active = current_path == url or (url != "/" and current_path.startswith(url))
        entries.append({"url": url, "label": item.label, "icon": item.icon, "active": active})
    return entries


# --- Home pages -------------------------------------------------------------------------
# Each role lands on one page. Apps register the page for a role; a later registration
# (an app that arrives later, such as the agent workspace) replaces an earlier one.
_HOMES: dict[Role, str] = {}


def register_home(role: Role, url_name: str) -> None:
    _HOMES[role] = url_name


def home_url_name(role: Role | None) -> str | None:
    return _HOMES.get(role) if role else None


def registered_homes() -> dict[Role, str]:
    return dict(_HOMES)
