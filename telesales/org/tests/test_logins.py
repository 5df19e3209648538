"""Giving employees logins and roles: services, page and endpoint."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.roles import Role, user_roles
from telesales.org import services
from telesales.org.choices import PersonStatus
from telesales.org.models import Person

pytestmark = pytest.mark.django_db


def _unlinked_person():
    return Person.objects.filter(user__isnull=True).exclude(status=PersonStatus.LEFT).first()


def _new_person(user_named):
    hr = user_named("hr")
    template = Person.objects.filter(team__kind="sales").first()
    return services.person_create(
        center=template.center,
        actor=hr,
        name="新人甲",
        employee_no="N0001",
        team=template.team,
        hire_date=template.hire_date,
    )


def test_login_create_gives_working_password_and_roles(user_named):
    person = _new_person(user_named)
    person, password = services.person_login_create(
        person=person, username="newbie", roles=["agent"], actor=user_named("hr")
    )
    user = get_user_model().objects.get(username="newbie")
    assert user.check_password(password) and user.pk == person.user_id
    assert user_roles(user) == {Role.AGENT}
    entry = AuditEntry.objects.get(action="org.person_login_create")
    assert entry.after == {"username": "newbie", "roles": ["agent"]}
    assert password not in json.dumps(entry.after)


def test_login_create_rejects_taken_username_case_insensitively(user_named):
    person = _new_person(user_named)
    with pytest.raises(ValidationFailed) as err:
        services.person_login_create(
            person=person, username="AGENT1", roles=["agent"], actor=user_named("hr")
        )
    assert "username" in err.value.fields
    assert Person.objects.get(pk=person.pk).user_id is None


@pytest.mark.parametrize("username", ["", "has space", "x" * 151, "名字!"])
def test_login_create_rejects_bad_usernames(user_named, username):
    person = _new_person(user_named)
    with pytest.raises(ValidationFailed):
        services.person_login_create(
            person=person, username=username, roles=["agent"], actor=user_named("hr")
        )


def test_only_manager_may_grant_manager_role(user_named):
    person = _new_person(user_named)
    with pytest.raises(PermissionDenied):
        services.person_login_create(
            person=person, username="boss2", roles=["center_manager"], actor=user_named("hr")
        )
    person, _ = services.person_login_create(
        person=person, username="boss2", roles=["center_manager"], actor=user_named("manager")
    )
    assert Role.MANAGER in user_roles(get_user_model().objects.get(username="boss2"))


def test_roles_set_replaces_roles_and_audits(user_named):
    agent = Person.objects.get(user__username="agent2")
    services.person_roles_set(person=agent, roles=["agent", "trainer"], actor=user_named("hr"))
    fresh = get_user_model().objects.get(username="agent2")
    assert user_roles(fresh) == {Role.AGENT, Role.TRAINER}
    entry = AuditEntry.objects.get(action="org.person_roles_set")
    assert entry.before == {"roles": ["agent"]} and entry.after == {"roles": ["agent", "trainer"]}


def test_roles_set_rejects_unknown_and_empty_roles(user_named):
    agent = Person.objects.get(user__username="agent2")
    with pytest.raises(ValidationFailed):
        services.person_roles_set(person=agent, roles=["wizard"], actor=user_named("hr"))
    with pytest.raises(ValidationFailed):
        services.person_roles_set(person=agent, roles=[], actor=user_named("hr"))


def test_non_admin_cannot_manage_logins(user_named):
    agent = Person.objects.get(user__username="agent2")
    for username in ("teamlead1", "agent1", "data", "planner"):
        with pytest.raises(PermissionDenied):
            services.person_roles_set(
                person=agent, roles=["center_manager"], actor=user_named(username)
            )
        with pytest.raises(PermissionDenied):
            services.person_password_reset(person=agent, actor=user_named(username))


def test_password_reset_for_left_person_is_refused(user_named):
    agent = Person.objects.get(user__username="agent3")
    services.person_update(
        person=agent,
        actor=user_named("hr"),
        status=PersonStatus.LEFT,
        left_on=agent.hire_date,
    )
    agent.refresh_from_db()
    assert not agent.user.is_active
    with pytest.raises(InvalidState):
        services.person_password_reset(person=agent, actor=user_named("hr"))


def test_login_page_flow_shows_one_time_password_once(client_for, user_named):
    person = _new_person(user_named)
    hr = client_for("hr")
    response = hr.post(
        f"/org/people/{person.pk}/login/",
        {"action": "create", "username": "floor9", "roles": ["agent"]},
        follow=True,
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "floor9" in text
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1
    again = hr.get(f"/org/people/{person.pk}/").content.decode()
    password = shown[0].rsplit(" ", 1)[-1]
    assert password not in again
    assert get_user_model().objects.get(username="floor9").check_password(password)


def test_login_page_with_bad_input_answers_422_and_creates_nothing(client_for, user_named):
    person = _new_person(user_named)
    response = client_for("hr").post(
        f"/org/people/{person.pk}/login/", {"action": "create", "username": "", "roles": []}
    )
    assert response.status_code == 422
    assert not get_user_model().objects.filter(person=person).exists()


def test_agent_cannot_post_to_login_page(client_for):
    other = Person.objects.get(user__username="agent2")
    response = client_for("agent1").post(
        f"/org/people/{other.pk}/login/", {"action": "reset_password"}
    )
    assert response.status_code in (403, 404)


def test_api_login_create_and_roles(client_for, user_named):
    person = _new_person(user_named)
    hr = client_for("hr")
    created = hr.post(
        f"/api/v1/org/people/{person.pk}/login",
        {"username": "apiuser", "roles": ["agent"]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["roles"] == ["agent"] and body["one_time_password"]
    changed = hr.put(
        f"/api/v1/org/people/{person.pk}/roles",
        {"roles": ["agent", "data_officer"]},
        content_type="application/json",
    )
    assert changed.status_code == 200 and changed.json()["roles"] == ["agent", "data_officer"]
    bad = hr.put(
        f"/api/v1/org/people/{person.pk}/roles",
        {"roles": ["nope"]},
        content_type="application/json",
    )
    assert bad.status_code == 422 and bad.json()["code"] == "validation_failed"


def test_center_settings_only_for_manager(client_for):
    assert client_for("hr").get("/org/center/").status_code == 403
    manager = client_for("manager")
    assert manager.get("/org/center/").status_code == 200
    bad = manager.post("/org/center/", {"name": "", "code": "bad code!", "city": ""})
    assert bad.status_code == 422
    ok = manager.post("/org/center/", {"name": "新名字中心", "code": "demo", "city": "成都"})
    assert ok.status_code == 302
    assert AuditEntry.objects.filter(action="org.center_update").count() == 1


def test_hr_cannot_mark_the_center_manager_as_left(user_named):
    manager = Person.objects.get(user__username="manager")
    with pytest.raises(PermissionDenied):
        services.person_update(
            person=manager,
            actor=user_named("hr"),
            status=PersonStatus.LEFT,
            left_on=manager.hire_date,
        )
    assert get_user_model().objects.get(username="manager").is_active


def test_team_lead_leaving_frees_the_team_leadership(user_named):
    from telesales.org.models import Team

    lead = Person.objects.get(user__username="teamlead1")
    team = Team.objects.get(leader=lead)
    services.person_update(
        person=lead, actor=user_named("hr"), status=PersonStatus.LEFT, left_on=lead.hire_date
    )
    team.refresh_from_db()
    assert team.leader_id is None
    # the team can be edited again without first fixing the leader
    services.team_update(team=team, actor=user_named("hr"), name=team.name + "二")
    assert AuditEntry.objects.filter(action="org.team_update", reason="leader left").exists()


# --- A center manager's login is the center manager's business ------------------------------
def test_hr_cannot_reset_the_center_managers_password(user_named):
    """Resetting it would hand HR the one-time password of the center manager's account."""
    boss = Person.objects.get(user__username="manager")
    with pytest.raises(PermissionDenied):
        services.person_password_reset(person=boss, actor=user_named("hr"))
    assert user_named("manager").check_password("demo")
    assert not AuditEntry.objects.filter(action="org.person_password_reset").exists()


def test_hr_cannot_reset_a_superusers_password(user_named):
    root = get_user_model().objects.create_superuser(username="root", password="secret")
    person = _new_person(user_named)
    Person.objects.filter(pk=person.pk).update(user=root)
    person.refresh_from_db()
    with pytest.raises(PermissionDenied):
        services.person_password_reset(person=person, actor=user_named("hr"))
    root.refresh_from_db()
    assert root.check_password("secret")


def test_manager_may_reset_another_managers_password(user_named):
    person = _new_person(user_named)
    person, _ = services.person_login_create(
        person=person, username="boss2", roles=["center_manager"], actor=user_named("manager")
    )
    password = services.person_password_reset(person=person, actor=user_named("manager"))
    assert get_user_model().objects.get(username="boss2").check_password(password)


def test_hr_cannot_edit_the_managers_record_by_unlinking_the_login(user_named):
    boss = Person.objects.get(user__username="manager")
    with pytest.raises(PermissionDenied):
        services.person_update(person=boss, actor=user_named("hr"), user=None, name="改名")
    boss.refresh_from_db()
    assert boss.user.username == "manager" and boss.name != "改名"


def test_hr_cannot_link_a_superuser_login_to_a_new_record(user_named):
    root = get_user_model().objects.create_superuser(username="root", password="secret")
    template = Person.objects.filter(team__kind="sales").first()
    with pytest.raises(PermissionDenied):
        services.person_create(
            center=template.center,
            actor=user_named("hr"),
            name="新人乙",
            employee_no="N0002",
            team=template.team,
            hire_date=template.hire_date,
            user=root,
        )
    assert not Person.objects.filter(employee_no="N0002").exists()


def test_person_page_offers_hr_no_login_controls_for_the_manager(client_for, user_named):
    boss = Person.objects.get(user__username="manager")
    hr = client_for("hr")
    page = hr.get(f"/org/people/{boss.pk}/").content.decode()
    assert 'value="reset_password"' not in page and 'value="roles"' not in page
    assert "只有中心经理可以修改中心经理的档案" in page
    response = hr.post(f"/org/people/{boss.pk}/login/", {"action": "reset_password"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    assert shown == ["只有中心经理可以重置中心经理的密码"]
    assert user_named("manager").check_password("demo")
    response = hr.post(
        f"/org/people/{boss.pk}/login/", {"action": "roles", "roles": ["hr_admin"]}, follow=True
    )
    assert [str(m) for m in response.context["messages"]] == ["只有中心经理可以移除中心经理角色"]
    assert "center_manager" in {g.name for g in user_named("manager").groups.all()}
    manager_page = client_for("manager").get(f"/org/people/{boss.pk}/").content.decode()
    assert 'value="reset_password"' in manager_page


def _free_protected_logins():
    """A superuser and a second center manager, neither linked to a record, and a plain
    login, also free."""
    from django.contrib.auth.models import Group

    root = get_user_model().objects.create_superuser(username="root", password="secret")
    boss2 = get_user_model().objects.create_user(username="boss2", password="secret")
    boss2.groups.add(Group.objects.get(name=Role.MANAGER.value))
    plain = get_user_model().objects.create_user(username="plain", password="secret")
    return root, boss2, plain


@pytest.mark.parametrize("page", ["new", "edit"])
def test_person_form_offers_hr_no_manager_or_superuser_login(client_for, user_named, page):
    """HR may not link those logins (the service refuses), so the select does not offer them;
    a center manager sees them."""
    root, boss2, plain = _free_protected_logins()
    person = _new_person(user_named)
    url = "/org/people/new/" if page == "new" else f"/org/people/{person.pk}/edit/"
    hr_form = client_for("hr").get(url).context["form"]
    offered = set(hr_form.fields["user"].queryset)
    assert plain in offered
    assert root not in offered and boss2 not in offered
    manager_form = client_for("manager").get(url).context["form"]
    assert {root, boss2, plain} <= set(manager_form.fields["user"].queryset)


def test_hr_posting_a_manager_login_anyway_gets_a_form_error(client_for, user_named):
    _root, boss2, _plain = _free_protected_logins()
    person = _new_person(user_named)
    response = client_for("hr").post(
        f"/org/people/{person.pk}/edit/",
        {
            "name": person.name,
            "employee_no": person.employee_no,
            "team": person.team_id,
            "hire_date": person.hire_date.isoformat(),
            "status": person.status,
            "contract_type": person.contract_type,
            "user": boss2.pk,
        },
    )
    assert response.status_code == 422
    assert "user" in response.context["form"].errors
    assert Person.objects.get(pk=person.pk).user_id is None
