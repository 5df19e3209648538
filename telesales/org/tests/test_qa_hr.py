"""What HR ran into on the people pages: a leaver's record losing its login on an edit,
codes typed with full-width digits or spaces, duplicate numbers with unclear messages, a hire
date in the future, and half-width punctuation on a Chinese page."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telesales.core.errors import ValidationFailed
from telesales.core.models import AuditEntry
from telesales.org import services
from telesales.org.choices import PersonStatus, TeamKind
from telesales.org.models import Person, Team
from telesales.org.tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(demo_shared, db):
    return demo_shared


@pytest.fixture
def sales_team(center):
    return Team.objects.filter(center=center, kind=TeamKind.SALES).order_by("name").first()


def _edit_post(person: Person, **changes) -> dict:
    """The edit form as the browser posts it: every field with the value the page shows."""
    post = {
        "name": person.name,
        "employee_no": person.employee_no,
        "team": person.team_id,
        "hire_date": person.hire_date.isoformat(),
        "status": person.status,
        "left_on": person.left_on.isoformat() if person.left_on else "",
        "contract_type": person.contract_type,
        "level": person.level_id or "",
        "capability_grade": person.capability_grade,
        "practice_reg_no": person.practice_reg_no,
        "leader": person.leader_id or "",
        "recruiter": person.recruiter_id or "",
        "mentor": person.mentor_id or "",
        "developed_by": person.developed_by_id or "",
        "developed_on": person.developed_on.isoformat() if person.developed_on else "",
        "user": person.user_id or "",
    }
    post.update(changes)
    return post


def test_editing_a_leaver_keeps_their_disabled_login(client_for, person_of, user_named):
    """Someone who left has a disabled login; the edit form must still show it, so that
    correcting their leaving day (or rehiring them) does not unlink the login silently."""
    agent = person_of("agent3")
    services.person_update(
        person=agent, actor=user_named("hr"), status=PersonStatus.LEFT, left_on=agent.hire_date
    )
    agent.refresh_from_db()
    assert agent.user_id and not agent.user.is_active
    hr = client_for("hr")
    page = hr.get(f"/org/people/{agent.pk}/edit/").content.decode()
    assert f'<option value="{agent.user_id}" selected>' in page
    later = agent.hire_date + dt.timedelta(days=3)
    response = hr.post(
        f"/org/people/{agent.pk}/edit/", _edit_post(agent, left_on=later.isoformat())
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.left_on == later
    assert agent.user_id is not None and agent.user.get_username() == "agent3"


def test_codes_are_stored_without_full_width_characters_or_spaces(center, sales_team, user_named):
    person = services.person_create(
        center=center,
        actor=user_named("hr"),
        name="全角",
        employee_no=" Ｅ０９１２ ",
        team=sales_team,
        hire_date=dt.date(2026, 3, 1),
        practice_reg_no="２０２６ 0010 0099",
    )
    assert person.employee_no == "E0912"
    assert person.practice_reg_no == "202600100099"
    assert Person.objects.filter(employee_no="E0912").exists()


def test_duplicate_codes_name_the_colleague_who_has_them(center, sales_team, person_of, user_named):
    """A duplicate employee or registration number, even typed in full-width or lower case,
    says whose number it is, in Chinese, and writes nothing."""
    holder = person_of("agent2")
    before = (Person.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        services.person_create(
            center=center,
            actor=user_named("hr"),
            name="重号",
            employee_no=holder.employee_no.lower().replace("0", "０"),
            team=sales_team,
            hire_date=dt.date(2026, 3, 1),
            practice_reg_no=holder.practice_reg_no,
        )
    fields = exc.value.fields
    assert fields["employee_no"] == [f"工号 {holder.employee_no} 已被 {holder.name} 使用"]
    assert fields["practice_reg_no"] == [
        f"执业登记号 {holder.practice_reg_no} 已被 {holder.name} 使用"
    ]
    assert (Person.objects.count(), AuditEntry.objects.count()) == before


def test_hire_date_in_the_future_is_refused_and_the_form_keeps_the_input(client_for, sales_team):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    post = {
        "name": "未来新人",
        "employee_no": "W07001",
        "team": sales_team.pk,
        "hire_date": tomorrow.isoformat(),
        "status": "trainee",
        "contract_type": "labour",
        "capability_grade": "1",
    }
    response = client_for("hr").post("/org/people/new/", post)
    assert response.status_code == 422
    page = response.content.decode()
    assert "不能晚于今天" in page
    assert 'value="未来新人"' in page and 'value="W07001"' in page
    assert not Person.objects.filter(employee_no="W07001").exists()


def test_an_old_future_hire_date_does_not_block_other_edits(person_of, user_named):
    """The rule applies when the hire date is entered, not to every later edit."""
    agent = person_of("agent4")
    future = timezone.localdate() + dt.timedelta(days=10)
    Person.objects.filter(pk=agent.pk).update(hire_date=future)
    agent.refresh_from_db()
    services.person_update(person=agent, actor=user_named("hr"), name="改名")
    agent.refresh_from_db()
    assert agent.name == "改名"


def test_team_page_uses_a_chinese_colon(client_for, sales_team):
    page = client_for("hr").get(f"/org/teams/{sales_team.pk}/").content.decode()
    assert "主管：<b>" in page
    assert "主管: " not in page


def test_people_search_reads_full_width_codes(client_for, person_of):
    agent = person_of("agent2")
    wide = "".join(chr(ord(c) + 0xFEE0) for c in agent.employee_no)
    page = client_for("hr").get("/org/people/", {"q": f" {wide} "}).content.decode()
    assert f"/org/people/{agent.pk}/" in page


@pytest.mark.parametrize("who", ["recruiter", "trainer", "planner"])
def test_back_office_home_says_when_a_list_is_cut_short(client_for, sales_team, who):
    """The trainee list shows 20; with more trainees the page says how many and links the
    full list, and it no longer promises tools 'as their modules arrive'."""
    for _ in range(22):
        PersonFactory(team=sales_team, status=PersonStatus.TRAINEE)
    trainees = Person.objects.filter(status=PersonStatus.TRAINEE).count()
    assert trainees > 20
    client = client_for(who)
    page = client.get("/org/back-office/").content.decode()
    assert 'href="/org/people/?status=trainee"' in page
    assert f"查看全部 {trainees} 人" in page
    listed = client.get("/org/people/", {"status": "trainee"}).content.decode()
    assert f"共 {trainees} 人" in listed
    assert "陆续添加" not in page


def test_taking_a_leaver_back_gives_their_login_back(client_for, person_of, user_named):
    """Leaving disables the login; undoing the leaving enables it again (audited), so the
    one-time password HR hands out afterwards actually signs in."""
    agent = person_of("agent5")
    hr = user_named("hr")
    services.person_update(
        person=agent, actor=hr, status=PersonStatus.LEFT, left_on=agent.hire_date
    )
    agent.refresh_from_db()
    assert not agent.user.is_active
    services.person_update(person=agent, actor=hr, status=PersonStatus.ACTIVE, left_on=None)
    agent.refresh_from_db()
    assert agent.user.is_active
    entry = AuditEntry.objects.filter(action="org.login_reactivate").get()
    assert entry.object_repr == "agent5" and entry.after == {"is_active": True}
    password = services.person_password_reset(person=agent, actor=hr)
    agent.user.refresh_from_db()
    assert agent.user.is_active and agent.user.check_password(password)


def test_org_pages_use_chinese_colons(client_for, person_of):
    agent = person_of("agent2")
    detail = client_for("hr").get(f"/org/people/{agent.pk}/").content.decode()
    assert f"登录账号：<b>{agent.user.username}</b>" in detail
    home = client_for("agent2").get("/org/my-day/").content.decode()
    assert f"团队：{agent.team.name}" in home and "入职日期：" in home
    assert "团队: " not in home and "入职日期: " not in home


def test_levels_can_be_edited_through_the_api_as_on_the_page(api_as):
    """The level edit page had no API counterpart: HR could create a level through the API
    but not correct it."""
    from telesales.org.models import Level

    level = Level.objects.get(code="S2")
    other = Level.objects.filter(series=level.series).exclude(pk=level.pk).first()
    hr = api_as("hr")
    response = hr.patch_json(
        f"/api/v1/org/levels/{level.pk}", {"base_salary": "5200.00", "name": "高级坐席"}
    )
    assert response.status_code == 200, response.content
    level.refresh_from_db()
    assert str(level.base_salary) == "5200.00" and level.name == "高级坐席"
    entry = AuditEntry.objects.filter(action="org.level_update", object_id=str(level.pk)).get()
    assert entry.after["name"] == "高级坐席"
    clash = hr.patch_json(f"/api/v1/org/levels/{level.pk}", {"rank": other.rank})
    assert clash.status_code == 422 and "rank" in clash.json()["details"]["fields"]
    refused = api_as("agent1").patch_json(f"/api/v1/org/levels/{level.pk}", {"name": "x"})
    assert refused.status_code == 403
    level.refresh_from_db()
    assert level.name == "高级坐席"


def test_moving_someone_to_another_team_moves_them_to_its_lead(client_for, person_of):
    """HR moves an agent to another team on the edit page (the form posts the old leader
    unchanged): the agent now reports to the new team's lead, which the audit shows."""
    agent = person_of("agent2")
    old_lead = agent.team.leader
    assert agent.leader_id == old_lead.pk
    new_team = (
        Team.objects.filter(kind=TeamKind.SALES, leader__isnull=False)
        .exclude(pk=agent.team_id)
        .first()
    )
    response = client_for("hr").post(
        f"/org/people/{agent.pk}/edit/", _edit_post(agent, team=new_team.pk)
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.team_id == new_team.pk and agent.leader_id == new_team.leader_id
    entry = AuditEntry.objects.filter(action="org.person_update", object_id=str(agent.pk)).latest(
        "id"
    )
    assert entry.before["leader"] == old_lead.pk and entry.after["leader"] == new_team.leader_id


def test_a_leader_chosen_by_hand_stays_when_the_team_changes(person_of, user_named):
    agent = person_of("agent2")
    mentor = person_of("agent1")
    hr = user_named("hr")
    services.person_update(person=agent, actor=hr, leader=mentor)
    new_team = Team.objects.filter(kind=TeamKind.SALES).exclude(pk=agent.team_id).first()
    services.person_update(person=agent, actor=hr, team=new_team)
    agent.refresh_from_db()
    assert agent.leader_id == mentor.pk
