"""Who may open what: every page of the ``org`` and ``core`` namespaces (plus ``home``) and
every operation of the JSON API, for anonymous visitors and each demo role.

Pages and operations are discovered from the URL resolver and from the OpenAPI document, so a
page or endpoint added later without an entry in ``PAGES`` / ``OPERATIONS`` fails
``test_every_page_has_an_access_rule`` / ``test_every_api_operation_has_an_access_rule``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from telesales.core.services import token_create
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.org.choices import PersonStatus, SeatStatus, TeamKind
from telesales.org.models import Level, Person, Seat, Team
from telesales.org.tests.factories import PersonFactory
from telesales.org.tests.spec import (
    ADMINS,
    BACK_OFFICE,
    EVERYONE,
    NOT_AGENT,
    USERS,
    home_path,
    may_see_person,
    may_see_seat,
    may_see_team,
)

pytestmark = pytest.mark.django_db

DENIED = (403, 404)


# --- The rules -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """Who gets the page (or operation). ``obj`` names the kind of object in the URL; then
    the user must also be allowed to see that object."""

    allowed: frozenset[str] = frozenset()
    obj: str | None = None
    method: str = "get"
    success: int = 200
    kind: str = "normal"  # normal | home | profile | public
    body: dict = field(default_factory=dict)


PAGES: dict[str, Rule] = {
    "home": Rule(kind="home"),
    "org:manager_dashboard": Rule(frozenset({"manager"})),
    "org:team_home": Rule(frozenset({"manager", "teamlead1"})),
    "org:agent_home": Rule(EVERYONE),
    "org:backoffice_home": Rule(BACK_OFFICE),
    "org:profile": Rule(kind="profile"),
    "org:person_list": Rule(NOT_AGENT),
    "org:person_create": Rule(ADMINS),
    "org:person_detail": Rule(EVERYONE, obj="person"),
    "org:person_edit": Rule(ADMINS, obj="person"),
    # POST-only; an unknown action has no side effect (a message and a redirect).
    "org:person_login": Rule(
        ADMINS, obj="person", method="post", success=302, body={"action": "nothing"}
    ),
    "org:center_edit": Rule(frozenset({"manager"})),
    "org:team_list": Rule(NOT_AGENT),
    "org:team_create": Rule(ADMINS),
    "org:team_detail": Rule(EVERYONE, obj="team"),
    "org:team_edit": Rule(ADMINS, obj="team"),
    "org:level_list": Rule(EVERYONE),
    "org:level_create": Rule(ADMINS),
    "org:level_edit": Rule(ADMINS, obj="level"),
    "org:seat_list": Rule(frozenset({"manager", "hr", "planner", "teamlead1"})),
    "org:seat_create": Rule(ADMINS),
    "org:seat_edit": Rule(ADMINS, obj="seat"),
    # The HR admin reads the pay and organisation part of it (``audit_action_scope``).
    "core:audit_list": Rule(frozenset({"manager", "hr"})),
    # Language choice works signed out too (the login page offers it); POST only.
    "core:language_set": Rule(
        EVERYONE, method="post", success=302, kind="public", body={"language": "zh-hans"}
    ),
}

OPERATIONS: dict[str, Rule] = {
    "core_token_create": Rule(kind="public"),
    "core_me_get": Rule(EVERYONE),
    "core_tokens_list": Rule(EVERYONE),
    # Only one's own token (someone else's is "no such token").
    "core_token_revoke": Rule(EVERYONE, obj="token", method="post"),
    # Signed in by session, there is no bearer token to sign out: 409 for everyone.
    "core_token_sign_out": Rule(EVERYONE, method="delete", success=409),
    "core_me_language_set": Rule(EVERYONE, method="post", body={"language": "zh-hans"}),
    "org_team_list": Rule(EVERYONE),
    "org_team_get": Rule(EVERYONE, obj="team"),
    "org_team_create": Rule(ADMINS, method="post", success=201, body={"name": "矩阵组"}),
    "org_team_update": Rule(ADMINS, obj="team", method="patch", body={"stage": "plateau"}),
    "org_level_list": Rule(EVERYONE),
    "org_level_create": Rule(
        ADMINS,
        method="post",
        success=201,
        body={"code": "MX", "name": "矩阵级", "series": "sales", "rank": 42},
    ),
    "org_level_update": Rule(ADMINS, obj="level", method="patch", body={"description": "矩阵"}),
    "org_person_list": Rule(EVERYONE),
    "org_person_get": Rule(EVERYONE, obj="person"),
    "org_person_create": Rule(ADMINS, method="post", success=201, body={"create": "person"}),
    "org_person_update": Rule(ADMINS, obj="person", method="patch", body={"capability_grade": 3}),
    "org_seat_list": Rule(EVERYONE),
    "org_seat_create": Rule(ADMINS, method="post", success=201, body={"code": "MX-01"}),
    "org_seat_update": Rule(ADMINS, obj="seat", method="patch", body={"phone_line": "line-mx"}),
    "org_person_login_create": Rule(
        ADMINS,
        obj="unlinked",
        method="post",
        success=201,
        body={"username": "matrixlogin", "roles": ["agent"]},
    ),
    "org_person_roles_set": Rule(
        ADMINS, obj="linked", method="put", body={"roles": ["agent", "trainer"]}
    ),
}

PATH_PARAM = re.compile(r"\{(\w+)\}")


@pytest.fixture
def demo(demo_shared, db):
    """The demo center, seeded once for this module (see ``demo_shared``)."""
    return demo_shared


# --- Discovery -----------------------------------------------------------------------------
def _walk(patterns, namespace: str | None = None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, entry.namespace or namespace)
        elif isinstance(entry, URLPattern) and entry.name:
            yield (f"{namespace}:{entry.name}" if namespace else entry.name), entry


def app_pages() -> dict[str, URLPattern]:
    """Every named page of the org and core namespaces, plus the home page."""
    found = {}
    for name, pattern in _walk(get_resolver().url_patterns):
        if name == "home" or name.split(":", 1)[0] in {"org", "core"}:
            found[name] = pattern
    return found


_OPERATIONS_SEEN: dict[str, tuple[str, str, bool]] = {}


def all_api_operations(client) -> dict[str, tuple[str, str, bool]]:
    """operationId -> (method, path template, needs auth), read once from the served
    OpenAPI document: every app's operations."""
    if not _OPERATIONS_SEEN:
        document = client.get("/api/v1/openapi.json").json()
        for path, methods in document["paths"].items():
            for method, operation in methods.items():
                secured = bool(operation.get("security"))
                _OPERATIONS_SEEN[operation["operationId"]] = (method, path, secured)
    return dict(_OPERATIONS_SEEN)


def api_operations(client) -> dict[str, tuple[str, str]]:
    """The operations of the apps this matrix covers (operation ids ``core_…``, ``org_…``)."""
    return {
        op_id: (method, path)
        for op_id, (method, path, _secured) in all_api_operations(client).items()
        if op_id.split("_", 1)[0] in {"core", "org"}
    }


def test_every_page_has_an_access_rule():
    assert set(app_pages()) == set(PAGES), (
        "pages without a rule (add them to PAGES): "
        f"{sorted(set(app_pages()) - set(PAGES))}; stale rules: "
        f"{sorted(set(PAGES) - set(app_pages()))}"
    )


def test_every_api_operation_has_an_access_rule(client):
    ops = api_operations(client)
    assert set(ops) == set(OPERATIONS), (
        f"operations without a rule: {sorted(set(ops) - set(OPERATIONS))}; "
        f"stale rules: {sorted(set(OPERATIONS) - set(ops))}"
    )


# --- Objects to try ------------------------------------------------------------------------
@pytest.fixture
def targets(demo, person_of):
    """Objects of the caller's own team, of other teams and of the back office."""
    agent = person_of("agent1")
    other = person_of("agent3")
    assert other.team_id != agent.team_id
    unlinked = PersonFactory(team=other.team, center=other.center, name="未开通者")
    people = [
        agent,  # self
        person_of("agent2"),  # same team
        person_of("teamlead1"),  # the agent's own team lead
        other,  # another sales team
        person_of("manager"),  # the center office
        person_of("recruiter"),  # the back office
        Person.objects.filter(status=PersonStatus.LEFT).exclude(team=agent.team).first(),
        unlinked,  # no login
    ]
    teams = [
        agent.team,
        other.team,
        Team.objects.get(name="后援支持部"),
        Team.objects.get(name="中心办公室"),
    ]
    seats = [
        Seat.objects.get(person=agent),
        Seat.objects.get(person=person_of("teamlead1")),
        Seat.objects.get(person=other),
        Seat.objects.filter(status=SeatStatus.VACANT).first(),
    ]
    assert all(people) and all(seats)
    return {
        "person": people,
        "team": teams,
        "seat": seats,
        "level": [Level.objects.get(code="S1")],
        "unlinked": [unlinked],
        "linked": [person_of("agent2"), other],
        "token": [
            token_create(user=person_of(name).user, actor=None)[0] for name in ("agent1", "manager")
        ],
    }


def _visible(username: str, kind: str, obj) -> bool:
    if kind in {"person", "unlinked", "linked"}:
        return may_see_person(username, obj)
    if kind == "team":
        return may_see_team(username, obj)
    if kind == "seat":
        return may_see_seat(username, obj)
    if kind == "token":
        return obj.user.get_username() == username
    return True


def _expected(rule: Rule, username: str, obj=None, kind: str | None = None) -> int | None:
    """The status a signed-in user must get; ``None`` means 'denied' (403 or 404)."""
    if username not in rule.allowed:
        return None
    if obj is not None and not _visible(username, kind, obj):
        return None
    if (
        kind == "person"
        and rule.method in ("patch", "put")
        and username != "manager"
        and getattr(getattr(obj, "user", None), "username", "") == "manager"
    ):
        return None  # only a center manager may change a center manager's record
    return rule.success


def _page_requests(rule: Rule, name: str, pattern: URLPattern, targets):
    params = list(pattern.pattern.converters)
    if not params:
        yield None, reverse(name)
        return
    assert rule.obj, f"{name} takes {params} but its rule names no object"
    for obj in targets[rule.obj]:
        yield obj, reverse(name, kwargs={params[0]: obj.pk})


def _person_create_body(targets) -> dict:
    team = targets["team"][1]
    return {
        "name": "矩阵新人",
        "employee_no": "MX0001",
        "team_id": team.pk,
        "hire_date": "2026-01-02",
    }


def _api_requests(rule: Rule, path: str, targets):
    names = PATH_PARAM.findall(path)
    if not names:
        yield None, path
        return
    for obj in targets[rule.obj]:
        yield obj, PATH_PARAM.sub(str(obj.pk), path)


# --- Anonymous -----------------------------------------------------------------------------
def test_anonymous_visitors_are_sent_to_the_login_page(client, targets):
    for name, pattern in app_pages().items():
        rule = PAGES[name]
        for _obj, url in _page_requests(rule, name, pattern, targets):
            if rule.kind == "public":
                assert client.get(url).status_code == 405
                response = client.post(url, rule.body)
                assert response.status_code == 302, (name, response.status_code)
                continue
            response = getattr(client, rule.method)(url, rule.body)
            assert response.status_code == 302, (name, url, response.status_code)
            assert response["Location"].startswith("/accounts/login/?next="), response["Location"]


def test_anonymous_api_calls_get_401_in_the_error_shape(targets):
    client = JsonClient()
    for op_id, (method, path) in api_operations(client).items():
        rule = OPERATIONS[op_id]
        if rule.kind == "public":
            continue
        for _obj, url in _api_requests(rule, path, targets):
            response = client._send(method, url, rule.body) if method != "get" else client.get(url)
            body = assert_error_shape(response, 401, "authentication_required")
            assert body["details"] == {}, (op_id, body)


def test_every_secured_operation_of_every_app_refuses_anonymous_callers(demo):
    """Not only core and org: any operation the API declares as secured answers 401."""
    client = JsonClient(enforce_csrf_checks=True)
    operations = all_api_operations(client)
    assert {op for op, (_m, _p, secured) in operations.items() if not secured} == {
        "core_token_create"
    }
    for op_id, (method, path, secured) in operations.items():
        if not secured:
            continue
        url = PATH_PARAM.sub("1", path)
        response = client.get(url) if method == "get" else client._send(method, url, {})
        body = assert_error_shape(response, 401, "authentication_required")
        assert body["details"] == {}, op_id


def test_token_endpoint_is_open_but_checks_the_password(demo):
    response = JsonClient().post_json(
        "/api/v1/auth/token", {"username": "manager", "password": "wrong"}
    )
    assert_error_shape(response, 401, "authentication_failed")


# --- Signed in, per role -------------------------------------------------------------------
@pytest.mark.parametrize("username", USERS)
def test_pages_answer_each_role_as_the_matrix_says(client_for, person_of, targets, username):
    client = client_for(username)
    problems = []
    for name, pattern in app_pages().items():
        rule = PAGES[name]
        if rule.kind == "home":
            response = client.get(reverse(name))
            if (response.status_code, response.get("Location")) != (302, home_path(username)):
                problems.append((name, response.status_code, response.get("Location")))
            continue
        if rule.kind == "profile":
            response = client.get(reverse(name))
            own = reverse("org:person_detail", args=[person_of(username).pk])
            if (response.status_code, response.get("Location")) != (302, own):
                problems.append((name, response.status_code, response.get("Location")))
            continue
        for obj, url in _page_requests(rule, name, pattern, targets):
            if rule.method == "post":
                assert client.get(url).status_code in (405, *DENIED), (name, url)
                response = client.post(url, rule.body)
            else:
                response = client.get(url)
            expected = _expected(rule, username, obj, rule.obj)
            ok = (
                response.status_code in DENIED
                if expected is None
                else (response.status_code == expected)
            )
            if not ok:
                problems.append((name, url, str(obj), response.status_code, expected or DENIED))
            elif response.status_code == 200:
                html = response.content.decode()
                assert re.search(r"<title>[^<]+</title>", html), (name, "page without a title")
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("username", USERS)
def test_api_answers_each_role_as_the_matrix_says(api_as, targets, username):
    client = api_as(username)
    problems = []
    ops = api_operations(client)
    for op_id, (method, path) in ops.items():
        rule = OPERATIONS[op_id]
        if rule.kind == "public":
            continue
        body = _person_create_body(targets) if rule.body == {"create": "person"} else rule.body
        for obj, url in _api_requests(rule, path, targets):
            response = client.get(url) if method == "get" else client._send(method, url, body)
            expected = _expected(rule, username, obj, rule.obj)
            status = response.status_code
            ok = status in DENIED if expected is None else status == expected
            if not ok:
                problems.append(
                    (op_id, url, str(obj), status, expected or DENIED, response.content[:200])
                )
            elif expected is None:
                assert_error_shape(response, DENIED)
    assert not problems, "\n".join(map(str, problems))


@pytest.mark.parametrize("username", USERS)
def test_api_lists_hold_exactly_what_the_role_may_see(api_as, username):
    client = api_as(username)
    people = client.get("/api/v1/org/people?limit=500").json()
    expected = {
        p.pk
        for p in Person.objects.select_related("team").exclude(status=PersonStatus.LEFT)
        if may_see_person(username, p)
    }
    assert {p["id"] for p in people} == expected
    left = client.get("/api/v1/org/people?status=left&limit=500").json()
    expected_left = {
        p.pk
        for p in Person.objects.select_related("team").filter(status=PersonStatus.LEFT)
        if may_see_person(username, p)
    }
    assert {p["id"] for p in left} == expected_left
    teams = client.get("/api/v1/org/teams").json()
    assert {t["id"] for t in teams} == {
        t.pk for t in Team.objects.filter(is_active=True) if may_see_team(username, t)
    }
    seats = client.get("/api/v1/org/seats").json()
    assert {s["id"] for s in seats} == {
        s.pk for s in Seat.objects.select_related("person") if may_see_seat(username, s)
    }


@pytest.mark.parametrize("username", USERS)
def test_people_list_page_holds_exactly_what_the_role_may_see(client_for, username):
    response = client_for(username).get("/org/people/", {"status": ""})
    if username not in NOT_AGENT:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    shown = {p.pk for p in response.context["page"].object_list}
    expected = {
        p.pk
        for p in Person.objects.select_related("team").exclude(status=PersonStatus.LEFT)
        if may_see_person(username, p)
    }
    assert shown == expected


# --- Acceptance: an agent cannot read another team's people ---------------------------------
def test_agent_cannot_read_another_teams_people_through_any_page_or_endpoint(
    client_for, api_as, person_of
):
    me = person_of("agent1")
    outsiders = Person.objects.exclude(team=me.team)
    assert outsiders.exists()
    # Give everyone outside the agent's team a name that cannot appear by chance.
    for i, person in enumerate(outsiders):
        Person.objects.filter(pk=person.pk).update(name=f"OUTSIDER{i:03d}")
    page_client, api = client_for("agent1"), api_as("agent1")
    for person in outsiders:
        for url in (f"/org/people/{person.pk}/", f"/org/people/{person.pk}/edit/"):
            assert page_client.get(url).status_code in DENIED, url
        assert_error_shape(api.get(f"/api/v1/org/people/{person.pk}"), DENIED)
        assert_error_shape(api.patch_json(f"/api/v1/org/people/{person.pk}", {"name": "x"}), DENIED)
        for team_url in (f"/org/teams/{person.team_id}/", f"/api/v1/org/teams/{person.team_id}"):
            assert page_client.get(team_url).status_code in DENIED, team_url
    other_team = outsiders.filter(team__kind=TeamKind.SALES).first().team
    other_mate = outsiders.filter(team=other_team).first()
    readable = [
        "/",
        "/org/my-day/",
        "/org/me/",
        f"/org/people/{me.pk}/",
        f"/org/teams/{me.team_id}/",
        "/org/levels/",
        "/api/v1/me",
        "/api/v1/org/people",
        f"/api/v1/org/people?team_id={other_team.pk}",
        f"/api/v1/org/people?q={other_mate.employee_no}",
        "/api/v1/org/people?q=OUTSIDER",
        "/api/v1/org/people?status=left",
        "/api/v1/org/people?limit=500&offset=0",
        "/api/v1/org/teams",
        f"/api/v1/org/teams/{me.team_id}",
        "/api/v1/org/seats",
        "/api/v1/org/levels",
    ]
    for url in readable:
        client = api if url.startswith("/api/") else page_client
        response = client.get(url, follow=not url.startswith("/api/"))
        assert response.status_code == 200, (url, response.status_code)
        text = response.content.decode()
        assert "OUTSIDER" not in text, url
        for person in outsiders:
            assert person.employee_no not in text, (url, person.employee_no)
    for url in ("/org/people/", "/org/teams/", "/org/seats/", "/org/people/?q=OUTSIDER"):
        assert page_client.get(url).status_code in DENIED, url


def test_team_lead_cannot_read_other_teams_people(client_for, api_as, person_of):
    lead = person_of("teamlead1")
    stranger = person_of("agent3")
    assert stranger.team_id != lead.team_id
    assert client_for("teamlead1").get(f"/org/people/{stranger.pk}/").status_code == 404
    assert_error_shape(api_as("teamlead1").get(f"/api/v1/org/people/{stranger.pk}"), 404)
    listed = {p["id"] for p in api_as("teamlead1").get("/api/v1/org/people").json()}
    assert stranger.pk not in listed and lead.pk in listed


# --- Landing pages ---------------------------------------------------------------------------
@pytest.mark.parametrize("username", USERS)
def test_each_role_lands_on_its_own_home_page_after_signing_in(client, demo, username):
    response = client.post(
        "/accounts/login/", {"username": username, "password": "demo"}, follow=True
    )
    assert response.status_code == 200
    assert response.redirect_chain[0] == ("/", 302)
    assert response.redirect_chain[-1] == (home_path(username), 302)
    assert response.wsgi_request.path == home_path(username)
    assert response.wsgi_request.user.username == username


def test_every_role_has_a_registered_home_page():
    from telesales.core.navigation import registered_homes
    from telesales.core.roles import Role

    homes = registered_homes()
    assert set(homes) == set(Role)
    for url_name in homes.values():
        reverse(url_name)


def test_user_without_a_role_gets_an_explanation_not_an_error(client, demo):
    from telesales.org.tests.factories import UserFactory

    UserFactory(username="norole")
    client.force_login(UserFactory(username="norole"))
    response = client.get("/")
    assert response.status_code == 200
    assert "core/no_role.html" in [t.name for t in response.templates]


@pytest.mark.parametrize("username", USERS)
def test_navigation_offers_only_pages_the_role_may_open(client_for, user_named, username):
    from telesales.core.navigation import menu_for

    client = client_for(username)
    entries = menu_for(user_named(username))
    assert entries, f"{username} has an empty menu"
    for entry in entries:
        response = client.get(entry["url"])
        assert response.status_code in (200, 302), (username, entry["url"], response.status_code)
        if response.status_code == 302:
            assert client.get(response["Location"]).status_code == 200
