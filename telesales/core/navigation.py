"""The navigation registry. Each app registers its menu entries in ``AppConfig.ready``.

Keeping the menu as data lets ``core`` draw it without importing any domain app, and lets the
role tests walk every registered page.

An entry's ``order`` also places it in a section of the menu, by its tens: 10–19 are the role's
daily pages (no heading, at the top), then lead data (20s), the organisation (30s), policies and
products (40s), operations and service (50s), pay and assessment (60s), and the user's own
account and the audit pages (90s). The sidebar draws a heading where the section changes.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import pgettext_lazy

from telesales.core.roles import Role, user_roles

#: The menu's sections by the tens of an entry's ``order`` (see the module's docstring); an
#: order whose tens are not listed has no heading of its own.
SECTIONS: dict[int, object] = {
    2: pgettext_lazy("menu section", "Lead data"),
    3: pgettext_lazy("menu section", "Organisation"),
    4: pgettext_lazy("menu section", "Policies and products"),
    5: pgettext_lazy("menu section", "Operations and service"),
    6: pgettext_lazy("menu section", "Pay and assessment"),
    9: pgettext_lazy("menu section", "Account and audit"),
}


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: object  # a lazy translation
    icon: str
    roles: frozenset[Role]
    order: int = 100

    def visible_to(self, user) -> bool:
        return bool(user_roles(user) & self.roles)

    @property
    def section(self) -> object | None:
        """The heading this entry stands under (None: the daily pages at the top)."""
        return SECTIONS.get(self.order // 10)


_REGISTRY: list[NavItem] = []


def register(*items: NavItem) -> None:
    for item in items:
        if all(existing.url_name != item.url_name for existing in _REGISTRY):
            _REGISTRY.append(item)
    _REGISTRY.sort(key=lambda i: (i.order, i.url_name))


def registered() -> list[NavItem]:
    return list(_REGISTRY)


def menu_for(user, current_path: str = "") -> list[dict]:
    """The entries ``user`` may open, in menu order, each with its section. One entry at most
    is active: the one whose address is the longest start of ``current_path`` (on
    /operations/renewals/ the renewal queue, not also the operations overview at
    /operations/)."""
    entries = []
    for item in _REGISTRY:
        if not item.visible_to(user):
            continue
        url = reverse(item.url_name)
        entries.append(
            {
                "url": url,
                "label": item.label,
                "icon": item.icon,
                "section": item.section,
                "active": False,
            }
        )
    matching = [
        e
        for e in entries
        if current_path == e["url"] or (e["url"] != "/" and current_path.startswith(e["url"]))
    ]
    if matching:
        max(matching, key=lambda e: len(e["url"]))["active"] = True
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
