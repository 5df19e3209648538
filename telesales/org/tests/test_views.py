"""The organisation pages: create/edit forms with bad and good input, lists and their
query ceilings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from telesales.core.models import AuditEntry
from telesales.org.choices import PersonStatus, SeatStatus, TeamKind
from telesales.org.models import Center, Level, Person, Seat, Team
from telesales.org.tests.factories import PersonFactory, SeatFactory, TeamFactory

pytestmark = pytest.mark.django_db

HUGE = "长" * 10_000


@pytest.fixture
def demo(demo_shared, db):
    """The demo center, seeded once for this module (see ``demo_shared``)."""
    return demo_shared


def _counts():
    return (
        Center.objects.count(),
        Team.objects.count(),
        Level.objects.count(),
        Person.objects.count(),
        Seat.objects.count(),
        AuditEntry.objects.count(),
    )


def _snapshot():
    """Every organisation row's values: a failed post must change none of them."""
    return [
        list(model.objects.order_by("pk").values()) for model in (Center, Team, Level, Person, Seat)
    ]


@pytest.fixture
def manager(client_for):
    return client_for("manager")


@pytest.fixture
def sales_team(center):
    return Team.objects.filter(center=center, kind=TeamKind.SALES).order_by("name").first()


@pytest.fixture
def forms(center, sales_team, person_of):
    """url name -> (url, a valid POST) for every create/edit page."""
    agent = person_of("agent2")
    seat = Seat.objects.get(person=agent)
    level = Level.objects.get(code="S2")
    person_post = {
        "name": "表单新人",
        "employee_no": "W00001",
        "team": sales_team.pk,
        "hire_date": "2026-03-01",
        "status": "trainee",
        "contract_type": "labour",
        "capability_grade": "1",
    }
    return {
        "person_create": ("/org/people/new/", person_post),
        "person_edit": (
            f"/org/people/{agent.pk}/edit/",
            {
                **person_post,
                "name": "改过的名字",
                "employee_no": agent.employee_no,
                "team": agent.team_id,
                "hire_date": agent.hire_date.isoformat(),
                "status": "active",
                "user": agent.user_id,
                "leader": agent.leader_id or "",
            },
        ),
        "team_create": (
            "/org/teams/new/",
            {"name": "表单组", "kind": "sales", "stage": "start_up", "is_active": "on"},
        ),
        "team_edit": (
            f"/org/teams/{sales_team.pk}/edit/",
            {
                "name": sales_team.name,
                "kind": "sales",
                "stage": "plateau",
                "leader": sales_team.leader_id,
                "is_active": "on",
            },
        ),
        "level_create": (
            "/org/levels/new/",
            {
                "code": "W1",
                "name": "表单级",
                "series": "sales",
                "rank": "31",
                "base_salary": "3100.00",
                "assessment_period": "monthly",
                "is_active": "on",
            },
        ),
        "level_edit": (
            f"/org/levels/{level.pk}/edit/",
            {
                "code": level.code,
                "name": level.name,
                "series": level.series,
                "rank": str(level.rank),
                "base_salary": "4321.00",
                "assessment_period": level.assessment_period,
                "is_active": "on",
            },
        ),
        "seat_create": (
            "/org/seats/new/",
            {"code": "W-001", "site": "7楼", "status": "vacant", "monthly_cost": "1700.00"},
        ),
        "seat_edit": (
            f"/org/seats/{seat.pk}/edit/",
            {
                "code": seat.code,
                "site": seat.site,
                "status": "occupied",
                "monthly_cost": "1900.00",
                "phone_line": seat.phone_line,
                "person": agent.pk,
            },
        ),
        "center_edit": ("/org/center/", {"name": center.name, "code": "demo", "city": "重庆"}),
    }


# (page, changes to the valid post, fields that must carry an error)
BAD_POSTS = [
    # Empty forms.
    ("person_create", "EMPTY", {"name", "employee_no", "team", "hire_date"}),
    ("person_edit", "EMPTY", {"name", "employee_no", "team", "hire_date"}),
    ("team_create", "EMPTY", {"name"}),
    ("team_edit", "EMPTY", {"name"}),
    ("level_create", "EMPTY", {"code", "name", "series", "rank"}),
    ("level_edit", "EMPTY", {"code", "name", "series", "rank"}),
    ("seat_create", "EMPTY", {"code"}),
    ("seat_edit", "EMPTY", {"code"}),
    ("center_edit", "EMPTY", {"name", "code"}),
    # Malformed dates.
    ("person_create", {"hire_date": "2026-13-45"}, {"hire_date"}),
    ("person_create", {"hire_date": "next tuesday"}, {"hire_date"}),
    ("person_edit", {"status": "left", "left_on": "31/02/2026"}, {"left_on"}),
    ("team_create", {"founded_on": "2026-02-30"}, {"founded_on"}),
    ("team_edit", {"founded_on": "99999-01-01"}, {"founded_on"}),
    # Negative and malformed money and numbers.
    ("level_create", {"base_salary": "-100"}, {"base_salary"}),
    ("level_edit", {"base_salary": "abc"}, {"base_salary"}),
    ("level_create", {"base_salary": "1" * 20}, {"base_salary"}),
    ("level_create", {"rank": "-1"}, {"rank"}),
    ("level_create", {"rank": "99999999999999999999"}, {"rank"}),
    ("seat_create", {"monthly_cost": "-0.01"}, {"monthly_cost"}),
    ("seat_edit", {"monthly_cost": "1.234"}, {"monthly_cost"}),
    ("seat_create", {"monthly_cost": "NaN"}, {"monthly_cost"}),
    ("person_create", {"capability_grade": "7"}, {"capability_grade"}),
    # 10,000-character strings.
    ("person_create", {"name": HUGE}, {"name"}),
    ("person_create", {"employee_no": HUGE}, {"employee_no"}),
    ("person_edit", {"practice_reg_no": HUGE}, {"practice_reg_no"}),
    ("team_create", {"name": HUGE}, {"name"}),
    ("level_create", {"code": HUGE, "name": HUGE}, {"code", "name"}),
    ("seat_create", {"code": HUGE, "site": HUGE, "phone_line": HUGE}, {"code", "site"}),
    ("center_edit", {"name": HUGE, "city": HUGE}, {"name", "city"}),
    # Unknown choices and ids.
    ("person_create", {"status": "retired", "team": "999999"}, {"status", "team"}),
    ("team_create", {"kind": "bogus", "stage": "mature"}, {"kind", "stage"}),
    ("seat_create", {"status": "broken", "person": "abc"}, {"status", "person"}),
    ("center_edit", {"code": "bad code!"}, {"code"}),
    # NUL characters.
    ("person_create", {"name": "a\x00b"}, {"name"}),
    ("level_edit", {"description": "a\x00b"}, {"description"}),
    # Rules the services enforce.
    ("person_create", {"employee_no": "DUPLICATE"}, {"employee_no"}),
    ("person_create", {"status": "left"}, {"left_on"}),
    ("person_create", {"status": "left", "left_on": "2026-01-01"}, {"left_on"}),
    ("person_edit", {"leader": "SELF"}, {"leader"}),
    ("level_create", {"code": "S1"}, {"code"}),
    ("seat_create", {"code": "DUPLICATE"}, {"__all__", "code"}),
    ("seat_create", {"status": "occupied"}, {"person"}),
    ("seat_edit", {"person": ""}, {"person"}),
    ("team_create", {"name": "DUPLICATE"}, {"__all__", "name"}),
]


def _bad_post(forms, page, changes, person_of, center):
    url, valid = forms[page]
    if changes == "EMPTY":
        return url, {}
    data = {**valid, **changes}
    if data.get("employee_no") == "DUPLICATE":
        data["employee_no"] = person_of("agent1").employee_no
    if data.get("leader") == "SELF":
        data["leader"] = person_of("agent2").pk
    if data.get("code") == "DUPLICATE":
        data["code"] = Seat.objects.filter(center=center).first().code
    if data.get("name") == "DUPLICATE":
        data["name"] = Team.objects.filter(center=center).first().name
    return url, data


@pytest.mark.parametrize(
    ("page", "changes", "fields"),
    BAD_POSTS,
    ids=[f"{p}-{i}" for i, (p, _c, _f) in enumerate(BAD_POSTS)],
)
def test_bad_posts_answer_422_with_field_errors_and_write_nothing(
    manager, forms, person_of, center, page, changes, fields
):
    url, data = _bad_post(forms, page, changes, person_of, center)
    before = _snapshot()
    audit = AuditEntry.objects.count()
    response = manager.post(url, data)
    assert response.status_code == 422, (response.status_code, response.get("Location"))
    form = response.context["form"]
    errors = set(form.errors)
    if {"__all__"} < fields:  # either a field or the whole form may carry a unique error
        assert errors & fields, form.errors
    else:
        assert fields <= errors, form.errors
    html = response.content.decode()
    for name in errors - {"__all__"}:
        assert f'data-testid="field-error-{name}"' in html, name
    if "__all__" in errors:
        assert 'data-testid="form-errors"' in html
    assert _snapshot() == before
    assert AuditEntry.objects.count() == audit


@pytest.mark.parametrize("page", ["person_create", "team_create", "level_create", "seat_create"])
def test_valid_create_posts_write_audit_and_redirect(manager, forms, user_named, page):
    url, data = forms[page]
    before = _counts()
    response = manager.post(url, data)
    assert response.status_code == 302, response.context and response.context["form"].errors
    after = _counts()
    assert after != before
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == f"org.{page}"
    assert entry.actor == user_named("manager")
    assert manager.get(response["Location"]).status_code == 200


def test_valid_edit_posts_change_the_rows(manager, forms, person_of, sales_team, center):
    agent = person_of("agent2")
    seat = Seat.objects.get(person=agent)
    level = Level.objects.get(code="S2")
    for page in ("person_edit", "team_edit", "level_edit", "seat_edit", "center_edit"):
        url, data = forms[page]
        response = manager.post(url, data)
        assert response.status_code == 302, (page, response.context["form"].errors)
        assert manager.get(response["Location"]).status_code == 200
    agent.refresh_from_db()
    sales_team.refresh_from_db()
    level.refresh_from_db()
    seat.refresh_from_db()
    center.refresh_from_db()
    assert agent.name == "改过的名字" and agent.status == PersonStatus.ACTIVE
    assert sales_team.stage == "plateau"
    assert level.base_salary == Decimal("4321.00")
    assert seat.monthly_cost == Decimal("1900.00")
    assert center.city == "重庆"
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "org.person_update",
        "org.team_update",
        "org.level_update",
        "org.seat_update",
        "org.center_update",
    } <= actions


def test_edit_form_for_leaving_frees_seat_and_login(manager, forms, person_of):
    agent = person_of("agent2")
    url, data = forms["person_edit"]
    response = manager.post(url, {**data, "status": "left", "left_on": "2026-11-30", "user": ""})
    assert response.status_code == 302, response.context and response.context["form"].errors
    agent.refresh_from_db()
    assert agent.status == PersonStatus.LEFT
    assert not Seat.objects.filter(person=agent).exists()


def test_edit_form_shows_current_values(manager, forms, person_of):
    agent = person_of("agent2")
    html = manager.get(forms["person_edit"][0]).content.decode()
    assert agent.employee_no in html and agent.hire_date.isoformat() in html


def test_non_admins_cannot_post_forms(client_for, forms):
    before = _snapshot()
    for username in ("planner", "teamlead1", "agent1", "data"):
        client = client_for(username)
        for page, (url, data) in forms.items():
            assert client.post(url, data).status_code in (403, 404), (username, page)
    assert _snapshot() == before


def test_hr_cannot_edit_the_center(client_for, forms):
    url, data = forms["center_edit"]
    assert client_for("hr").post(url, data).status_code == 403


# --- Lists -----------------------------------------------------------------------------------
def test_people_list_page_filters(manager, person_of):
    agent = person_of("agent1")
    response = manager.get("/org/people/", {"team": agent.team_id})
    assert {p.team_id for p in response.context["page"].object_list} == {agent.team_id}
    response = manager.get("/org/people/", {"q": agent.employee_no})
    assert [p.pk for p in response.context["page"].object_list] == [agent.pk]
    response = manager.get("/org/people/", {"status": "left"})
    assert {p.status for p in response.context["page"].object_list} == {"left"}
    # Filters that make no sense are ignored, with a note, never a 500.
    for bad in ({"team": "abc"}, {"status": "??"}, {"q": HUGE}, {"level": "-1"}, {"page": "x"}):
        response = manager.get("/org/people/", bad)
        assert response.status_code == 200, bad
    htmx = manager.get("/org/people/", {"q": "不存在"}, HTTP_HX_REQUEST="true")
    assert htmx.status_code == 200 and b"<html" not in htmx.content
    assert b'data-testid="empty-state-filtered"' in htmx.content


def test_seat_list_page_filters_and_tolerates_nonsense(manager, client_for):
    vacant = manager.get("/org/seats/", {"status": "vacant"})
    assert {s.status for s in vacant.context["seats"]} == {SeatStatus.VACANT}
    for status in ("broken", "a\x00b", "x" * 5000):
        assert manager.get("/org/seats/", {"status": status}).status_code == 200
    lead = client_for("teamlead1").get("/org/seats/")
    assert lead.status_code == 200 and not lead.context["can_edit"]


def _grow_center(extra: int) -> None:
    teams = list(Team.objects.filter(kind=TeamKind.SALES))
    level = Level.objects.get(code="S1")
    for i in range(extra):
        team = teams[i % len(teams)]
        person = PersonFactory(team=team, center=team.center, level=level, leader=team.leader)
        SeatFactory(center=team.center, person=person, status=SeatStatus.OCCUPIED)


@pytest.mark.parametrize("username", ["manager", "teamlead1", "planner"])
def test_people_list_page_query_count_does_not_grow(
    client_for, username, django_assert_max_num_queries
):
    client = client_for(username)
    client.get("/org/people/")
    with CaptureQueriesContext(connection) as small:
        assert client.get("/org/people/").status_code == 200
    _grow_center(30)
    with django_assert_max_num_queries(16):
        response = client.get("/org/people/")
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as large:
        client.get("/org/people/")
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


@pytest.mark.parametrize(
    "url",
    [
        "/org/teams/",
        "/org/seats/",
        "/org/dashboard/",
        "/org/my-team/",
        "/org/levels/",
        "/org/back-office/",
    ],
)
def test_list_pages_query_count_does_not_grow(client_for, url, django_assert_max_num_queries):
    username = {"/org/my-team/": "teamlead1", "/org/back-office/": "hr"}.get(url, "manager")
    client = client_for(username)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    _grow_center(20)
    # The dashboards draw six indicator cards, each a query or two inside its own savepoint,
    # and the sales panel (five queries in its savepoint).
    with django_assert_max_num_queries(40):
        assert client.get(url).status_code == 200
    with CaptureQueriesContext(connection) as large:
        client.get(url)
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_pages_show_an_empty_state_when_there_is_nothing(client_for, person_of):
    Seat.objects.all().delete()
    html = client_for("manager").get("/org/seats/").content.decode()
    assert 'data-testid="empty-state"' in html
    html = client_for("manager").get("/org/people/", {"q": "没有这个人"}).content.decode()
    assert 'data-testid="empty-state-filtered"' in html


def test_person_detail_shows_the_seat_and_hides_edit_for_non_admins(client_for, person_of):
    agent = person_of("agent1")
    seat = Seat.objects.get(person=agent)
    own = client_for("agent1").get(f"/org/people/{agent.pk}/")
    assert own.status_code == 200 and seat.code in own.content.decode()
    assert not own.context["can_edit"]
    assert client_for("hr").get(f"/org/people/{agent.pk}/").context["can_edit"]


def test_team_detail_lists_only_visible_members(client_for, person_of):
    agent = person_of("agent1")
    response = client_for("agent1").get(f"/org/teams/{agent.team_id}/")
    assert [p.pk for p in response.context["people"]] == [agent.pk]
    response = client_for("teamlead1").get(f"/org/teams/{agent.team_id}/")
    assert agent.pk in {p.pk for p in response.context["people"]}


def test_agents_my_day_sends_them_to_the_workspace_instead_of_saying_they_have_no_leads(
    client, demo
):
    """The workspace (calls) is the agent's home; "My day" points there rather than claiming
    that nothing has been allocated while the agent's pool holds leads."""
    from django.contrib.auth import get_user_model
    from django.urls import reverse

    from telesales.core.navigation import home_url_name
    from telesales.core.roles import Role

    client.force_login(get_user_model().objects.get(username="agent1"))
    response = client.get("/org/my-day/")
    assert response.status_code == 200
    workspace = reverse(home_url_name(Role.AGENT))
    assert workspace != "/org/my-day/"
    assert response.context["calls_url"] == workspace
    html = response.content.decode()
    assert f'href="{workspace}"' in html and 'data-testid="open-workspace"' in html
    assert "No leads to call yet" not in html and "暂无待拨打的线索" not in html


def test_profile_without_employee_record(client, demo):
    from telesales.org.tests.factories import UserFactory

    client.force_login(UserFactory(username="contractor", roles=["agent"]))
    response = client.get("/org/me/")
    assert response.status_code == 200 and response.context["person"] is None
    assert client.get("/org/my-day/").status_code == 200


def test_left_person_cannot_be_chosen_as_leader_in_the_form(manager, sales_team):
    gone = Person.objects.filter(status=PersonStatus.LEFT).first()
    response = manager.post(
        f"/org/teams/{sales_team.pk}/edit/",
        {"name": sales_team.name, "kind": "sales", "stage": "plateau", "leader": gone.pk},
    )
    assert response.status_code == 422
    assert "leader" in response.context["form"].errors
    assert Team.objects.get(pk=sales_team.pk).leader_id != gone.pk


def test_hire_date_far_in_the_past_or_future_is_stored_as_given(manager, forms):
    url, data = forms["person_create"]
    response = manager.post(url, {**data, "hire_date": "1999-12-31"})
    assert response.status_code == 302
    assert Person.objects.get(employee_no="W00001").hire_date == dt.date(1999, 12, 31)


@pytest.mark.parametrize(
    ("url", "username"),
    [
        ("/org/dashboard/", "manager"),
        ("/org/teams/", "manager"),
        ("/org/back-office/", "planner"),
        ("/org/people/", "hr"),
    ],
)
def test_pages_query_count_does_not_grow_with_teams(client_for, center, url, username):
    client = client_for(username)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for i in range(8):
        team = TeamFactory(center=center, name=f"新增{i}组", kind=TeamKind.SALES)
        PersonFactory(team=team, center=center)
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]


def test_changing_a_teams_stage_says_what_follows_from_it(manager, sales_team):
    """QA: moving a team to another stage said only "Saved.", while its lead protection,
    quotas and call cadence changed with the stage's rule sets."""
    from django.utils import translation

    new_stage = "start_up" if sales_team.stage != "start_up" else "plateau"
    data = {
        "name": sales_team.name,
        "kind": "sales",
        "stage": new_stage,
        "leader": sales_team.leader_id or "",
        "is_active": "on",
    }
    with translation.override("zh-hans"):
        page = manager.post(f"/org/teams/{sales_team.pk}/edit/", data, follow=True)
    shown = " ".join(str(m) for m in page.context["messages"])
    assert "线索规则与外呼规则" in shown and sales_team.name in shown
    # Saving again without a change of stage says nothing more.
    again = manager.post(f"/org/teams/{sales_team.pk}/edit/", data, follow=True)
    assert "线索规则与外呼规则" not in " ".join(str(m) for m in again.context["messages"])


def test_each_stage_keeps_its_colour_on_the_dashboard_pie(manager, center):
    """QA: when no team was left in one stage, the pie's colours shifted to other stages."""
    colours = {}
    for moved in (False, True):
        if moved:  # empty one stage
            Team.objects.filter(center=center, stage="plateau").update(stage="start_up")
        chart = manager.get("/org/dashboard/").context["chart"]
        for stage in chart["stages"]:
            colours.setdefault(stage["name"], set()).add(stage["itemStyle"]["color"])
    assert len(colours) == 4 and all(len(c) == 1 for c in colours.values())
    assert len({next(iter(c)) for c in colours.values()}) == 4


def test_the_home_cards_cover_the_month_chosen(manager):
    """QA: the dashboard always covered this month to date, so on a Monday the manager could
    not see last month, and on the 1st every card covered one day. ``?month=`` chooses a
    month (a past one whole); a bad or future month says so and shows this month."""
    import datetime as dt

    from django.utils import timezone

    today = timezone.localdate()
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    month = f"{last_month_end:%Y-%m}"
    page = manager.get("/org/dashboard/", {"month": month})
    period = page.context["period"]
    assert (period.since, period.until) == (last_month_end.replace(day=1), last_month_end)
    html = page.content.decode()
    assert f'value="{month}"' in html and 'data-testid="month-picker"' in html
    assert f"{period.since:%Y-%m-%d} – {period.until:%Y-%m-%d}" in html
    # The cards' drill-downs open the same days.
    assert f"since={period.since.isoformat()}&amp;until={period.until.isoformat()}" in html
    assert page.context["indicators"] and "month-problem" not in html

    for bad in ("2026-13", "abc", f"{today.year + 1}-01", "1999-12"):
        shown = manager.get("/org/dashboard/", {"month": bad})
        assert shown.status_code == 200
        assert shown.context["period"].since == today.replace(day=1)
        assert 'data-testid="month-problem"' in shown.content.decode()
