"""The organisation endpoints: happy paths, error mapping, bad input, query ceilings."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telesales.core.models import AuditEntry
from telesales.core.tests.api_helpers import assert_error_shape
from telesales.org.choices import PersonStatus, SeatStatus, TeamKind
from telesales.org.models import Level, Person, Seat, Team
from telesales.org.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db

PEOPLE = "/api/v1/org/people"


@pytest.fixture
def demo(demo_shared, db):
    """The demo center, seeded once for this module (see ``demo_shared``)."""
    return demo_shared


@pytest.fixture
def manager_api(api_as):
    return api_as("manager")


@pytest.fixture
def sales_team(center):
    return Team.objects.filter(center=center, kind=TeamKind.SALES).order_by("name").first()


@pytest.fixture
def person_body(sales_team):
    return {
        "name": "接口新人",
        "employee_no": "API0001",
        "team_id": sales_team.pk,
        "hire_date": "2026-02-03",
    }


def _fields(response) -> dict:
    body = assert_error_shape(response, 422, "validation_failed")
    assert set(body["details"]) == {"fields"}, body
    fields = body["details"]["fields"]
    assert fields and all(isinstance(v, list) and v for v in fields.values()), body
    return fields


def _counts():
    return (
        Team.objects.count(),
        Level.objects.count(),
        Person.objects.count(),
        Seat.objects.count(),
        AuditEntry.objects.count(),
    )


# --- Happy paths ---------------------------------------------------------------------------
def test_person_create_and_update(manager_api, person_body, sales_team, user_named):
    created = manager_api.post_json(PEOPLE, {**person_body, "capability_grade": 2})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["team_id"] == sales_team.pk and body["team_name"] == sales_team.name
    assert body["status"] == "trainee" and body["hire_date"] == "2026-02-03"
    assert body["capability_grade"] == 2 and body["level_code"] is None
    person = Person.objects.get(pk=body["id"])
    entry = AuditEntry.objects.get(action="org.person_create")
    assert entry.actor == user_named("manager") and entry.object_id == str(person.pk)

    level = Level.objects.get(code="S1")
    patched = manager_api.patch_json(
        f"{PEOPLE}/{person.pk}",
        {"status": "active", "level_id": level.pk, "reason": "转正"},
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["status"] == "active" and patched.json()["level_code"] == "S1"
    update = AuditEntry.objects.get(action="org.person_update")
    assert update.reason == "转正" and update.before["status"] == "trainee"
    assert update.after["level"] == level.pk


def test_person_leaving_through_the_api_frees_seat_and_login(manager_api, person_of):
    agent = person_of("agent1")
    seat = Seat.objects.get(person=agent)
    response = manager_api.patch_json(
        f"{PEOPLE}/{agent.pk}", {"status": "left", "left_on": "2026-11-20"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["left_on"] == "2026-11-20"
    seat.refresh_from_db()
    agent.user.refresh_from_db()
    assert seat.person_id is None and seat.status == SeatStatus.VACANT
    assert not agent.user.is_active


def test_person_get_and_list(manager_api, person_of):
    agent = person_of("agent1")
    one = manager_api.get(f"{PEOPLE}/{agent.pk}")
    assert one.status_code == 200
    assert one.json()["employee_no"] == agent.employee_no
    assert one.json()["leader_id"] == agent.leader_id
    listed = manager_api.get(PEOPLE, {"team_id": agent.team_id}).json()
    assert {p["team_id"] for p in listed} == {agent.team_id}
    assert agent.pk in {p["id"] for p in listed}
    found = manager_api.get(PEOPLE, {"q": agent.employee_no}).json()
    assert [p["id"] for p in found] == [agent.pk]
    page1 = manager_api.get(PEOPLE, {"limit": 5}).json()
    page2 = manager_api.get(PEOPLE, {"limit": 5, "offset": 5}).json()
    assert len(page1) == len(page2) == 5
    assert not {p["id"] for p in page1} & {p["id"] for p in page2}
    assert manager_api.get(PEOPLE, {"offset": 10_000}).json() == []


def test_team_endpoints(manager_api, person_of):
    lead = person_of("agent1")
    created = manager_api.post_json(
        "/api/v1/org/teams",
        {
            "name": "接口组",
            "stage": "rapid_growth",
            "leader_id": lead.pk,
            "founded_on": "2026-01-01",
        },
    )
    assert created.status_code == 201, created.content
    team_id = created.json()["id"]
    assert created.json()["leader_id"] == lead.pk
    patched = manager_api.patch_json(f"/api/v1/org/teams/{team_id}", {"stage": "plateau"})
    assert patched.status_code == 200 and patched.json()["stage"] == "plateau"
    cleared = manager_api.patch_json(f"/api/v1/org/teams/{team_id}", {"leader_id": None})
    assert cleared.status_code == 200 and cleared.json()["leader_id"] is None
    got = manager_api.get(f"/api/v1/org/teams/{team_id}").json()
    assert got["name"] == "接口组"
    kinds = {t["kind"] for t in manager_api.get("/api/v1/org/teams?kind=back_office").json()}
    assert kinds == {"back_office"}
    assert AuditEntry.objects.filter(action="org.team_update").count() == 2


def test_level_and_seat_endpoints(manager_api, center):
    level = manager_api.post_json(
        "/api/v1/org/levels",
        {"code": "S4", "name": "金牌TSR", "series": "sales", "rank": 4, "base_salary": "6100.50"},
    )
    assert level.status_code == 201, level.content
    assert level.json()["base_salary"] in ("6100.50", 6100.5)
    assert "S4" in {lv["code"] for lv in manager_api.get("/api/v1/org/levels").json()}
    newcomer = PersonFactory(team=Team.objects.filter(kind=TeamKind.SALES).first())
    seat = manager_api.post_json(
        "/api/v1/org/seats", {"code": "API-1", "monthly_cost": "1999.99", "person_id": newcomer.pk}
    )
    assert seat.status_code == 201, seat.content
    assert seat.json()["status"] == "occupied" and seat.json()["person_id"] == newcomer.pk
    freed = manager_api.patch_json(f"/api/v1/org/seats/{seat.json()['id']}", {"person_id": None})
    assert freed.status_code == 200
    assert freed.json()["status"] == "vacant" and freed.json()["person_id"] is None
    vacant = manager_api.get("/api/v1/org/seats", {"status": "vacant"}).json()
    assert seat.json()["id"] in {s["id"] for s in vacant}
    assert {s["status"] for s in vacant} == {"vacant"}


# --- Domain errors map to the error shape ---------------------------------------------------
def test_service_rules_answer_422_with_the_field(manager_api, person_body, person_of):
    agent = person_of("agent1")
    duplicate = manager_api.post_json(PEOPLE, {**person_body, "employee_no": agent.employee_no})
    assert "employee_no" in _fields(duplicate)
    self_lead = manager_api.patch_json(f"{PEOPLE}/{agent.pk}", {"leader_id": agent.pk})
    assert "leader" in _fields(self_lead)
    no_date = manager_api.patch_json(f"{PEOPLE}/{agent.pk}", {"status": "left"})
    assert "left_on" in _fields(no_date)
    early = manager_api.patch_json(
        f"{PEOPLE}/{agent.pk}",
        {"status": "left", "left_on": (agent.hire_date - dt.timedelta(days=1)).isoformat()},
    )
    assert "left_on" in _fields(early)
    occupied = manager_api.post_json("/api/v1/org/seats", {"code": "X-1", "status": "occupied"})
    assert "person" in _fields(occupied)
    seated = manager_api.post_json("/api/v1/org/seats", {"code": "X-2", "person_id": agent.pk})
    assert "person" in _fields(seated)
    unknown_ref = manager_api.post_json(PEOPLE, {**person_body, "leader_id": 987654})
    assert "leader_id" in _fields(unknown_ref)
    unknown_team = manager_api.post_json(PEOPLE, {**person_body, "team_id": 987654})
    assert "team_id" in _fields(unknown_team)
    assert not Person.objects.filter(employee_no="API0001").exists()


def test_duplicate_codes_answer_4xx(manager_api, center):
    seat = Seat.objects.filter(center=center).first()
    response = manager_api.post_json("/api/v1/org/seats", {"code": seat.code})
    assert_error_shape(response, (409, 422))
    response = manager_api.post_json(
        "/api/v1/org/levels", {"code": "S1", "name": "重复", "series": "sales", "rank": 77}
    )
    assert "code" in _fields(response)
    name = Team.objects.filter(center=center).first().name
    assert_error_shape(manager_api.post_json("/api/v1/org/teams", {"name": name}), (409, 422))


def test_duplicates_are_field_errors_in_chinese(manager_api, center):
    """A taken seat code, team name or level rank names the field and says so plainly (not
    Django's "包含 Center 和 编号 的 工位 已经存在" on the whole form)."""
    seat = Seat.objects.filter(center=center).first()
    fields = _fields(manager_api.post_json("/api/v1/org/seats", {"code": seat.code}))
    assert fields == {"code": [f"本中心已有编号为 {seat.code} 的工位。"]}
    team = Team.objects.filter(center=center).first()
    fields = _fields(manager_api.post_json("/api/v1/org/teams", {"name": team.name}))
    assert fields == {"name": [f"本中心已有名为 {team.name} 的团队。"]}
    level = Level.objects.get(code="S1")
    body = {"code": "S9", "name": "重复层级", "series": level.series, "rank": level.rank}
    fields = _fields(manager_api.post_json("/api/v1/org/levels", body))
    assert fields == {"rank": [f"该序列的第 {level.rank} 级已是 S1 {level.name}。"]}
    assert not Level.objects.filter(code="S9").exists()


def test_refusals_and_unknown_references_are_in_chinese(api_as, person_body):
    """Messages follow the UI language (Chinese by default), like the rest of the API."""
    hr = api_as("hr")
    fields = _fields(hr.post_json(PEOPLE, {**person_body, "team_id": 987654}))
    assert fields == {"team_id": ["团队不存在，或您无权查看。"]}
    fields = _fields(hr.post_json(PEOPLE, {**person_body, "leader_id": 987654}))
    assert fields == {"leader_id": ["人员不存在，或您无权查看。"]}
    fields = _fields(hr.post_json(PEOPLE, {**person_body, "level_id": 987654}))
    assert fields == {"level_id": ["职级不存在。"]}
    planner = api_as("planner")
    data = assert_error_shape(planner.post_json("/api/v1/org/teams", {"name": "新组"}), 403)
    assert data["message"] == "您无权创建团队"
    data = assert_error_shape(planner.post_json(PEOPLE, person_body), 403)
    assert data["message"] == "您无权添加人员"


def test_unknown_ids_answer_404(manager_api):
    for url in (f"{PEOPLE}/999999", "/api/v1/org/teams/999999"):
        assert_error_shape(manager_api.get(url), 404, "not_found")
    for url in (f"{PEOPLE}/999999", "/api/v1/org/teams/999999", "/api/v1/org/seats/999999"):
        assert_error_shape(manager_api.patch_json(url, {}), 404, "not_found")


def test_non_admin_writes_answer_403(api_as, person_body, person_of):
    planner = api_as("planner")
    before = _counts()
    assert_error_shape(planner.post_json(PEOPLE, person_body), 403, "permission_denied")
    assert_error_shape(
        planner.post_json(
            "/api/v1/org/levels", {"code": "P1", "name": "x", "series": "sales", "rank": 90}
        ),
        403,
        "permission_denied",
    )
    agent = person_of("agent1")
    assert_error_shape(
        planner.patch_json(f"{PEOPLE}/{agent.pk}", {"name": "改"}), 403, "permission_denied"
    )
    assert _counts() == before


# --- Bad input -----------------------------------------------------------------------------
BAD_PERSON_BODIES = [
    pytest.param({}, {"name", "employee_no", "team_id", "hire_date"}, id="empty"),
    pytest.param({"name": 123}, {"name"}, id="name-not-a-string"),
    pytest.param({"team_id": "abc"}, {"team_id"}, id="team-not-a-number"),
    pytest.param({"team_id": 1.5}, {"team_id"}, id="team-fraction"),
    pytest.param({"hire_date": "2026-13-45"}, {"hire_date"}, id="impossible-date"),
    pytest.param({"hire_date": "yesterday"}, {"hire_date"}, id="date-words"),
    pytest.param({"hire_date": 20260101}, {"hire_date"}, id="date-number"),
    pytest.param({"status": "retired"}, {"status"}, id="unknown-status"),
    pytest.param({"contract_type": "pirate"}, {"contract_type"}, id="unknown-contract"),
    pytest.param({"capability_grade": 9}, {"capability_grade"}, id="grade-out-of-range"),
    pytest.param({"capability_grade": -1}, {"capability_grade"}, id="grade-negative"),
    pytest.param({"name": "长" * 10_000}, {"name"}, id="huge-name"),
    pytest.param({"employee_no": "E" * 10_000}, {"employee_no"}, id="huge-employee-no"),
    pytest.param({"practice_reg_no": "9" * 10_000}, {"practice_reg_no"}, id="huge-reg-no"),
    pytest.param({"name": ""}, {"name"}, id="blank-name"),
    pytest.param({"team_id": 10**30}, {"team_id"}, id="team-id-beyond-bigint"),
    pytest.param({"leader_id": 2**63}, {"leader_id"}, id="leader-id-beyond-bigint"),
    pytest.param({"name": "a\x00b"}, {"name"}, id="nul-in-name"),
    pytest.param({"practice_reg_no": "\x00"}, {"practice_reg_no"}, id="nul-in-reg-no"),
]


@pytest.mark.parametrize(("changes", "fields"), BAD_PERSON_BODIES)
def test_bad_person_bodies_answer_422_with_field_errors(manager_api, person_body, changes, fields):
    before = _counts()
    body = changes if not changes else {**person_body, **changes}
    response = manager_api.post_json(PEOPLE, body)
    assert fields <= set(_fields(response)), response.json()
    assert _counts() == before


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("{bad", id="malformed"),
        pytest.param('{"name": "x",}', id="trailing-comma"),
        pytest.param(b"\xff\xfe\x00", id="not-utf8"),
        pytest.param("[]", id="array"),
        pytest.param("42", id="number"),
        pytest.param('"text"', id="string"),
        pytest.param("null", id="null"),
        pytest.param("", id="empty-body"),
        pytest.param('{"name": "' + "x" * 200_000 + '"}', id="huge-body"),
    ],
)
def test_unparseable_or_mistyped_bodies_answer_4xx(manager_api, raw):
    before = _counts()
    response = manager_api.post_json(PEOPLE, raw)
    body = assert_error_shape(response, (400, 422))
    if response.status_code == 422:
        assert "fields" in body["details"]
    assert _counts() == before


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 501},
        {"limit": "many"},
        {"offset": -1},
        {"offset": 10**20},
        {"team_id": "x"},
        {"team_id": 10**20},
        {"level_id": 10**20},
        {"status": "retired"},
        {"q": "x" * 10_000},
        {"q": "a\x00b"},
    ],
    ids=lambda q: "-".join(f"{k}={str(v)[:12]!r}" for k, v in q.items()),
)
def test_bad_list_filters_answer_422(manager_api, query):
    response = manager_api.get(PEOPLE, query)
    fields = _fields(response)
    assert set(query) <= set(fields), fields


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/org/teams", {"name": "x", "kind": "bogus"}, "kind"),
        ("/api/v1/org/teams", {"name": "x", "stage": "mature"}, "stage"),
        ("/api/v1/org/teams", {"name": "x" * 101}, "name"),
        ("/api/v1/org/teams", {"name": "x", "founded_on": "2026-02-30"}, "founded_on"),
        ("/api/v1/org/teams", {"name": "a\x00b"}, "name"),
        ("/api/v1/org/levels", {"code": "Q", "name": "q", "series": "x", "rank": 1}, "series"),
        ("/api/v1/org/levels", {"code": "Q", "name": "q", "series": "sales", "rank": 5000}, "rank"),
        ("/api/v1/org/levels", {"code": "Q", "name": "q", "series": "sales", "rank": -1}, "rank"),
        (
            "/api/v1/org/levels",
            {"code": "Q", "name": "q", "series": "sales", "rank": 1, "base_salary": -1},
            "base_salary",
        ),
        (
            "/api/v1/org/levels",
            {"code": "Q", "name": "q", "series": "sales", "rank": 1, "base_salary": "NaN"},
            "base_salary",
        ),
        (
            "/api/v1/org/levels",
            {"code": "Q", "name": "q", "series": "sales", "rank": 1, "base_salary": 1e300},
            "base_salary",
        ),
        (
            "/api/v1/org/levels",
            {"code": "Q", "name": "q", "series": "sales", "rank": 1, "description": "\x00"},
            "description",
        ),
        ("/api/v1/org/seats", {"code": "S", "monthly_cost": "-0.01"}, "monthly_cost"),
        ("/api/v1/org/seats", {"code": "S", "monthly_cost": "12.345"}, "monthly_cost"),
        ("/api/v1/org/seats", {"code": "S", "status": "broken"}, "status"),
        ("/api/v1/org/seats", {"code": ""}, "code"),
        ("/api/v1/org/seats", {"code": "S" * 21}, "code"),
    ],
)
def test_bad_team_level_and_seat_bodies_answer_422(manager_api, url, body, field):
    before = _counts()
    assert field in _fields(manager_api.post_json(url, body))
    assert _counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": None}, "status"),
        ({"team_id": None}, "team"),
        ({"name": None}, "name"),
        ({"capability_grade": None}, "capability_grade"),
        ({"left_on": "not-a-date"}, "left_on"),
        ({"reason": "r" * 501}, "reason"),
    ],
)
def test_bad_person_patches_answer_422(manager_api, person_of, body, field):
    agent = person_of("agent1")
    response = manager_api.patch_json(f"{PEOPLE}/{agent.pk}", body)
    fields = _fields(response)
    assert any(name.startswith(field) for name in fields), fields
    assert Person.objects.get(pk=agent.pk).status == agent.status


def test_huge_path_ids_answer_404(manager_api):
    for url in (f"{PEOPLE}/{10**25}", f"/api/v1/org/teams/{10**25}"):
        assert_error_shape(manager_api.get(url), 404)


def test_unknown_body_fields_are_refused_and_nothing_is_written(manager_api, person_body):
    """A field the operation does not take is a field error (``extra_forbidden``), not
    dropped silently (QA, session 20: a misspelled ``callback_time`` lost a callback)."""
    before = Person.objects.count()
    response = manager_api.post_json(PEOPLE, {**person_body, "center_id": 999, "id": 5})
    body = assert_error_shape(response, 422, "validation_failed")
    assert set(body["details"]["fields"]) == {"center_id", "id"}
    assert Person.objects.count() == before


# --- Property: no JSON body makes person create answer 500 ----------------------------------
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=60),
    st.sampled_from(["2026-01-01", "2026-02-30", "active", "left", "trainee", "", "E00001"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_person_keys = [
    "name",
    "employee_no",
    "team_id",
    "hire_date",
    "status",
    "contract_type",
    "level_id",
    "capability_grade",
    "practice_reg_no",
    "leader_id",
    "recruiter_id",
    "mentor_id",
]


@settings(
    max_examples=70,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.one_of(
        _json,
        st.fixed_dictionaries({}, optional=dict.fromkeys(_person_keys, _json)),
        st.fixed_dictionaries(
            {
                "name": st.text(min_size=1, max_size=60),
                "employee_no": st.text(min_size=1, max_size=25),
                "team_id": st.one_of(st.integers(), st.just(0)),
                "hire_date": st.dates().map(dt.date.isoformat),
            },
            optional=dict.fromkeys(_person_keys[4:], _json),
        ),
    )
)
def test_person_create_never_answers_500_to_any_json(manager_api, body):
    response = manager_api.post_json(PEOPLE, json.dumps(body))
    if response.status_code == 201:
        Person.objects.filter(pk=response.json()["id"]).delete()
        return
    assert_error_shape(response, (400, 401, 403, 404, 409, 422))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    query=st.dictionaries(
        st.sampled_from(["team_id", "status", "level_id", "q", "limit", "offset", "zzz"]),
        st.one_of(st.text(max_size=30), st.integers(min_value=-(2**70), max_value=2**70).map(str)),
        max_size=4,
    )
)
def test_person_list_never_answers_500_to_any_query(manager_api, query):
    response = manager_api.get(PEOPLE, query)
    if response.status_code != 200:
        assert_error_shape(response, 422, "validation_failed")


# --- Query ceilings ------------------------------------------------------------------------
def test_people_list_queries_do_not_grow_with_rows(
    manager_api, center, django_assert_max_num_queries
):
    manager_api.get(PEOPLE)  # warm caches (content types, session)
    with CaptureQueriesContext(connection) as small:
        assert manager_api.get(PEOPLE, {"limit": 500}).status_code == 200
    teams = list(Team.objects.filter(kind=TeamKind.SALES))
    level = Level.objects.get(code="S2")
    for i in range(40):
        lead = PersonFactory(team=teams[i % len(teams)], level=level)
        PersonFactory(team=teams[i % len(teams)], leader=lead, status=PersonStatus.WARNING)
    with django_assert_max_num_queries(8):
        response = manager_api.get(PEOPLE, {"limit": 500})
    assert len(response.json()) > 100
    with CaptureQueriesContext(connection) as large:
        manager_api.get(PEOPLE, {"limit": 500})
    assert len(large) == len(small)


def test_team_and_seat_lists_query_ceiling(api_as, django_assert_max_num_queries):
    for username in ("manager", "teamlead1", "agent1"):
        client = api_as(username)
        client.get("/api/v1/me")
        with django_assert_max_num_queries(8):
            assert client.get("/api/v1/org/teams").status_code == 200
        with django_assert_max_num_queries(8):
            assert client.get("/api/v1/org/seats").status_code == 200
