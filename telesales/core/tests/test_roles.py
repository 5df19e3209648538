"""Roles, home pages, navigation and the language choice."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from telesales.core.models import AuditEntry, UserSettings
from telesales.core.navigation import menu_for, registered, registered_homes
from telesales.core.permissions import can_view_audit_log
from telesales.core.roles import (
    BACK_OFFICE_ROLES,
    ROLE_PRECEDENCE,
    Role,
    has_role,
    primary_role,
    user_roles,
)
from telesales.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _user(*roles, **extra):
    return UserFactory(roles=[r.value for r in roles], **extra)


def test_the_nine_roles():
    assert {r.value for r in Role} == {
        "center_manager",
        "team_lead",
        "agent",
        "recruiter",
        "hr_admin",
        "trainer",
        "planner",
        "data_officer",
        "renewal_ops",
    }
    assert len(BACK_OFFICE_ROLES) == 6 and Role.MANAGER not in BACK_OFFICE_ROLES
    assert set(ROLE_PRECEDENCE) == set(Role)
    assert all(r.label for r in Role)


def test_user_roles_come_from_groups():
    user = _user(Role.AGENT, Role.TRAINER)
    assert user_roles(user) == {Role.AGENT, Role.TRAINER}
    assert has_role(user, Role.TRAINER, Role.MANAGER)
    assert not has_role(user, Role.MANAGER)


def test_groups_that_are_not_roles_are_ignored():
    from django.contrib.auth.models import Group

    user = _user(Role.AGENT)
    user.groups.add(Group.objects.create(name="book club"))
    assert user_roles(user) == {Role.AGENT}


def test_superuser_is_a_center_manager():
    root = _user(is_superuser=True)
    assert user_roles(root) == {Role.MANAGER}
    assert can_view_audit_log(root)


def test_anonymous_and_disabled_users_hold_no_role():
    assert user_roles(AnonymousUser()) == frozenset()
    assert primary_role(AnonymousUser()) is None
    disabled = _user(Role.MANAGER, is_active=False)
    assert user_roles(disabled) == frozenset()
    assert not can_view_audit_log(disabled)


@pytest.mark.parametrize(
    ("roles", "primary"),
    [
        ((Role.AGENT, Role.TEAM_LEAD), Role.TEAM_LEAD),
        ((Role.AGENT, Role.TRAINER), Role.TRAINER),
        ((Role.RECRUITER, Role.HR_ADMIN), Role.HR_ADMIN),
        ((Role.HR_ADMIN, Role.MANAGER), Role.MANAGER),
        ((Role.RENEWAL_OPS, Role.TEAM_LEAD), Role.RENEWAL_OPS),
        ((Role.DATA_OFFICER,), Role.DATA_OFFICER),
        ((), None),
    ],
)
def test_primary_role_follows_the_precedence(roles, primary):
    assert primary_role(_user(*roles)) == primary


def test_roles_are_cached_on_the_user_object():
    user = _user(Role.AGENT)
    assert user_roles(user) == {Role.AGENT}
    user.groups.clear()
    assert user_roles(user) == {Role.AGENT}


def test_every_role_has_a_home_page():
    assert set(registered_homes()) == set(Role)


@pytest.mark.parametrize("role", list(Role))
def test_home_redirects_each_role_to_its_page(client, role):
    client.force_login(_user(role))
    response = client.get("/")
    assert response.status_code == 302
    from django.urls import reverse

    assert response["Location"] == reverse(registered_homes()[role])


def test_menu_only_lists_entries_for_the_users_roles():
    agent_menu = {entry["url"] for entry in menu_for(_user(Role.AGENT))}
    manager_menu = {entry["url"] for entry in menu_for(_user(Role.MANAGER))}
    assert "/audit/" in manager_menu and "/audit/" not in agent_menu
    assert "/org/people/" in manager_menu and "/org/people/" not in agent_menu
    assert menu_for(_user()) == []
    for item in registered():
        assert item.roles, item.url_name


def test_menu_marks_the_current_page_active():
    manager = _user(Role.MANAGER)
    active = [entry for entry in menu_for(manager, "/audit/") if entry["active"]]
    assert [entry["url"] for entry in active] == ["/audit/"]


def test_menu_marks_one_entry_active_the_longest_match():
    """/operations/ (the overview) starts /operations/renewals/ (the queue): only the queue is
    the current page; on the overview itself only the overview is."""
    manager = _user(Role.MANAGER)
    for path, expected in [
        ("/operations/renewals/", "/operations/renewals/"),
        ("/operations/renewals/12/", "/operations/renewals/"),
        ("/operations/", "/operations/"),
        ("/policies/products/3/", "/policies/products/"),
    ]:
        active = [entry["url"] for entry in menu_for(manager, path) if entry["active"]]
        assert active == [expected], path
    assert not [e for e in menu_for(manager, "/nowhere/") if e["active"]]


def test_menu_sections_follow_the_order_and_are_drawn_once_each(client):
    """Entries carry their section by their order's tens; the sidebar draws each heading once,
    above its first entry, and none above the daily pages."""
    from telesales.core.navigation import SECTIONS

    manager = _user(Role.MANAGER)
    entries = menu_for(manager)
    assert entries[0]["section"] is None
    by_url = {e["url"]: e["section"] for e in entries}
    assert by_url["/audit/"] == SECTIONS[9]
    assert by_url["/org/people/"] == SECTIONS[3]
    seen = [e["section"] for e in entries]
    # sections come in blocks: once a section is left it does not come back
    blocks = [s for i, s in enumerate(seen) if i == 0 or s != seen[i - 1]]
    assert len(blocks) == len(set(map(str, blocks)))
    client.force_login(manager)
    body = client.get("/audit/").content.decode()  # in Chinese, the default
    from django.utils import translation

    with translation.override("zh-hans"):
        headings = {str(s) for s in seen if s is not None}
    assert "组织人力" in headings and len(headings) == 6
    for heading in headings:
        assert body.count(f'<li class="app-nav-section">{heading}</li>') == 1, heading
    assert body.index(">账户与审计<") < body.index('href="/audit/"')
    assert body.count('aria-current="page"') == 1


# --- Language --------------------------------------------------------------------------------
def test_language_choice_is_saved_for_a_signed_in_user(client):
    user = _user(Role.AGENT)
    client.force_login(user)
    response = client.post("/me/language/", {"language": "en", "next": "/org/levels/"})
    assert response.status_code == 302 and response["Location"] == "/org/levels/"
    assert UserSettings.objects.get(user=user).language == "en"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    entry = AuditEntry.objects.get(action="core.language_set")
    assert entry.actor == user and entry.after == {"language": "en"}
    page = client.get("/org/levels/")
    assert page["Content-Language"] == "en"


@pytest.mark.parametrize(
    "data",
    [
        {"language": "klingon"},
        {"language": ""},
        {},
        {"language": "x" * 10_000},
        {"language": "e\x00n"},
        {"language": "en", "next": "https://evil.example/"},
        {"language": "en", "next": "//evil.example/"},
        {"language": "en", "next": "/a\x00b"},
    ],
    ids=["unknown", "blank", "missing", "huge", "nul", "offsite", "scheme-relative", "nul-next"],
)
def test_bad_language_posts_never_fail_or_leave_the_site(client, data):
    client.force_login(_user(Role.AGENT))
    response = client.post("/me/language/", data)
    assert response.status_code == 302
    assert not response["Location"].startswith(("http", "//"))


def test_anonymous_language_choice_sets_the_cookie_only(client):
    response = client.post("/me/language/", {"language": "en"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert not UserSettings.objects.exists()
    assert client.get("/accounts/login/")["Content-Language"] == "en"
    assert client.get("/me/language/").status_code == 405
