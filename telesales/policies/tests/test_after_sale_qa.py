"""QA of the after-sale process (稳单 and 延伸服务) of a trainee's sale: suggestions within the
agent's grade, extended service after the free-look window, conversions undone by a
cancellation, missed stabilisation calls, the policy page's words and amounts, the scripts."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.utils import timezone

from telesales.core.roles import Role
from telesales.leads.choices import LeadState
from telesales.policies import selectors, services
from telesales.policies.choices import (
    CancelReason,
    PolicyStatus,
    TaskKind,
    TaskOutcome,
    TaskStatus,
)
from telesales.policies.models import ServiceTask, StabilisationRuleSet
from telesales.policies.suggestions import Member, suggest
from telesales.policies.tests.factories import LeadFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


def page(person, url: str) -> str:
    client = Client(HTTP_HOST="localhost")
    client.force_login(person.user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def agent5(world):
    """A grade-1 agent of team A (registered, so they may sell) working a lead on the holder."""
    user = UserFactory(username="agent5", roles=[Role.AGENT])
    person = PersonFactory(
        team=world.team_a, user=user, name="沈磊", capability_grade=1, practice_reg_no="REG-5"
    )
    lead = LeadFactory(customer=world.holder, owner=person, state=LeadState.IN_PROGRESS)
    return person, lead


def sale_by(world, agent, lead, *, product="medical", insured=None, at=None, premium="1280"):
    return services.sale_record(
        lead=lead,
        agent=agent,
        product=world.products[product],
        annualised_premium=Decimal(premium),
        payment_mode="annual",
        term_years=world.products[product].allowed_terms[0],
        insured_ids=insured or [world.holder.pk],
        actor=agent.user,
        at=at,
    )


def extended(policy):
    return {
        (t.suggestion_rule, t.for_customer_id): t
        for t in ServiceTask.objects.filter(policy=policy, kind=TaskKind.EXTENDED_SERVICE)
    }


# --- 1. Only what the agent may sell is suggested ----------------------------------------------
def test_suggest_leaves_out_categories_the_agent_may_not_sell():
    me = Member(1, "张伟", "M", dt.date(1990, 5, 1))
    wife = Member(2, "李娜", "F", dt.date(1992, 3, 1))
    child = Member(3, "张小宝", "M", dt.date(2016, 6, 1))
    rules = StabilisationRuleSet(name="t", effective_from=dt.date(2026, 1, 1))
    got = suggest(
        customer=me,
        members=[me, wife, child],
        held={},
        rules=rules,
        on=dt.date(2026, 11, 1),
        categories={"accident"},
    )
    assert {(s.rule, s.for_customer_id) for s in got} == {
        ("spouse_accident", 2),
        ("child_accident", 3),
    }


def test_a_grade_one_agent_gets_no_suggestion_of_a_grade_two_or_three_product(world, agent5):
    agent, lead = agent5
    world.products["education"].is_active = False  # nothing of that category on sale
    world.products["education"].save()
    policy = services.policy_issue(policy=sale_by(world, agent, lead), actor=world.renewal.user)
    # Critical illness needs grade 2, the pension grade 3, education is not on sale.
    assert set(extended(policy)) == {
        ("spouse_accident", world.spouse.pk),
        ("child_accident", world.child.pk),
    }
    # The same household sold by a grade-3 agent gets the critical illness and the pension.
    assert {s.rule for s in services.household_suggestions(customer=world.holder, grade=3)} >= {
        "critical_illness",
        "pension",
    }


# --- 2. Extended service after the free-look window -----------------------------------------
def test_extended_service_falls_due_after_the_free_look_window_and_moves_with_the_receipt(
    world, agent5
):
    agent, lead = agent5
    policy = services.policy_issue(
        policy=sale_by(world, agent, lead, at=days_ago(11)),
        issued_at=days_ago(10),
        actor=world.renewal.user,
    )
    issue_day = policy.issue_date
    checkin = ServiceTask.objects.get(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN)
    for task in extended(policy).values():
        # Estimated window: issue day + 15 days; the day after it ends, at 9.
        assert timezone.localdate(task.due_at) == issue_day + dt.timedelta(days=16)
        assert task.due_at > checkin.due_at
    policy = services.policy_receipt_confirm(
        policy=policy, receipt_date=issue_day + dt.timedelta(days=2), actor=world.renewal.user
    )
    assert policy.free_look_end == issue_day + dt.timedelta(days=17)
    for task in extended(policy).values():
        assert timezone.localdate(task.due_at) == policy.free_look_end + dt.timedelta(days=1)
        assert timezone.localtime(task.due_at).hour == 9


def test_the_days_after_the_free_look_window_are_a_rule(world, agent5):
    agent, lead = agent5
    StabilisationRuleSet.objects.create(
        name="晚些", effective_from=dt.date(2020, 1, 1), extended_service_after_free_look_days=5
    )
    policy = services.policy_issue(policy=sale_by(world, agent, lead), actor=world.renewal.user)
    due = {timezone.localdate(t.due_at) for t in extended(policy).values()}
    assert due == {policy.issue_date + dt.timedelta(days=15 + 5)}


# --- 3. A cancelled cross-sale converts nothing -----------------------------------------------
def test_a_cross_sale_cancelled_in_free_look_no_longer_counts_as_converted(world, agent5):
    agent, lead = agent5
    first = services.policy_issue(
        policy=sale_by(world, agent, lead, at=days_ago(3)),
        issued_at=days_ago(2),
        actor=world.renewal.user,
    )
    task = extended(first)[("spouse_accident", world.spouse.pk)]
    cross = sale_by(world, agent, lead, product="accident", insured=[world.spouse.pk])
    task.refresh_from_db()
    assert task.converted_policy == cross and task.outcome == TaskOutcome.CONVERTED
    # Before the issue the page names no internal id: the cross-sale is pending underwriting.
    html = page(agent, f"/policies/{first.pk}/")
    assert "待承保" in html and f"→ {cross.pk}<" not in html

    cross = services.policy_issue(policy=cross, actor=world.renewal.user)
    assert cross.number in page(agent, f"/policies/{first.pk}/")
    services.policy_free_look_cancel(
        policy=cross, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
    )
    task.refresh_from_db()
    assert task.outcome == TaskOutcome.CONVERSION_CANCELLED and task.status == TaskStatus.DONE
    today = timezone.localdate()
    rows = selectors.extended_service_conversion(
        user=world.lead_a.user, by="agent", since=today, until=today
    )
    assert [(r["name"], r["converted"]) for r in rows] == [("沈磊", 0)]
    html = page(world.lead_a, f"/policies/{first.pk}/")
    assert "已转化成交" not in html and "曾成交，后犹豫期退保" in html

    # The customer buys after all: the suggestion converts again and counts.
    again = sale_by(world, agent, lead, product="accident", insured=[world.spouse.pk])
    task.refresh_from_db()
    assert task.converted_policy == again and task.outcome == TaskOutcome.CONVERTED
    rows = selectors.extended_service_conversion(
        user=world.lead_a.user, by="agent", since=today, until=today
    )
    assert [(r["name"], r["converted"]) for r in rows] == [("沈磊", 1)]


# --- 4. A missed stabilisation call stays visible ---------------------------------------------
def test_a_stabilisation_call_not_made_in_the_window_reads_as_missed(world, agent5):
    agent, lead = agent5
    policy = services.policy_issue(
        policy=sale_by(world, agent, lead, at=days_ago(19)),
        issued_at=days_ago(18),
        actor=world.renewal.user,
    )
    policy = services.policy_receipt_confirm(
        policy=policy, receipt_date=policy.issue_date, actor=world.renewal.user
    )
    welcome = ServiceTask.objects.get(policy=policy, kind=TaskKind.WELCOME_CALL)
    services.service_task_complete(
        task=welcome, outcome=TaskOutcome.REACHED, note="", actor=agent.user
    )
    assert services.policies_free_look_close() == 1
    checkin = ServiceTask.objects.get(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN)
    assert checkin.status == TaskStatus.MISSED and checkin.outcome != TaskOutcome.EXPIRED
    welcome.refresh_from_db()
    assert welcome.status == TaskStatus.DONE  # a call made stays made

    # The team lead sees it as missed, in the task list and on the policy page.
    tasks_page = page(world.lead_a, "/policies/tasks/")
    missed = tasks_page[tasks_page.index('data-testid="tasks-missed"') :]
    missed = missed[: missed.index("</table>")]
    assert "犹豫期稳单电话" in missed and "已错过" in missed and "沈磊" in missed
    policy_page = page(world.lead_a, f"/policies/{policy.pk}/")
    assert "已错过" in policy_page and "无需处理" not in policy_page

    # And the stabilisation report counts it.
    since = timezone.localdate() - dt.timedelta(days=30)
    rows = selectors.stabilisation_rate(
        user=world.lead_a.user, by="agent", since=since, until=timezone.localdate()
    )
    assert [(r["name"], r["kept"], r["missed"]) for r in rows] == [("沈磊", 1, 1)]
    assert selectors.stabilisation_total(rows)["missed"] == 1
    report = page(world.lead_a, "/policies/stabilisation/")
    assert "错过的稳单电话" in report


# --- 5, 6. The policy page's words and amounts ------------------------------------------------
def test_the_policy_page_heads_the_person_column_as_whom_the_task_is_for(world, agent5):
    agent, lead = agent5
    policy = services.policy_issue(policy=sale_by(world, agent, lead), actor=world.renewal.user)
    html = page(agent, f"/policies/{policy.pk}/")
    table = html[html.index('data-testid="policy-tasks"') :]
    assert "<th>服务对象</th>" in table and "持续时长" not in table


def test_amounts_on_the_policy_pages_read_in_yuan_with_grouping(world, agent5):
    agent, lead = agent5
    policy = sale_by(world, agent, lead, product="accident", premium="1280")
    detail = page(agent, f"/policies/{policy.pk}/")
    assert 'data-testid="premium">¥1,280.00<' in detail
    assert "每次缴费 ¥1,280.00" in detail
    listing = page(agent, "/policies/")
    assert "¥1,280.00" in listing and ">1280.00<" not in listing


# --- 7. The scripts speak to the customer -----------------------------------------------------
def test_extended_service_scripts_address_the_customer_and_name_the_company(world, agent5):
    agent, lead = agent5
    world.products["ci"].grade = 1
    world.products["ci"].save()
    policy = services.policy_issue(policy=sale_by(world, agent, lead), actor=world.renewal.user)
    tasks = extended(policy)
    company = agent.center.name
    assert company
    for task in tasks.values():
        assert f"我是{company}的保险顾问沈磊" in task.script
        assert "张伟还缺少" not in task.script
    assert "您爱人李娜还缺少" in tasks[("spouse_accident", world.spouse.pk)].script
    assert "您的孩子张小宝还缺少" in tasks[("child_accident", world.child.pk)].script
    assert "您还缺少" in tasks[("critical_illness", world.holder.pk)].script
    welcome = ServiceTask.objects.get(policy=policy, kind=TaskKind.WELCOME_CALL)
    assert f"我是{company}的保险顾问沈磊" in welcome.script


# --- The migration brings existing rows in line -----------------------------------------------
def test_the_migration_marks_old_rows_and_updates_the_default_scripts(world, agent5):
    migration = importlib.import_module("telesales.policies.migrations.0004_post_sale_fixes")
    agent, lead = agent5
    old = StabilisationRuleSet.objects.create(
        name="旧",
        effective_from=dt.date(2020, 1, 1),
        extended_script=migration.OLD_SCRIPTS["extended_script"],
        welcome_script="自己写的{agent}",
    )
    policy = services.policy_issue(policy=sale_by(world, agent, lead), actor=world.renewal.user)
    ServiceTask.objects.filter(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN).update(
        status=TaskStatus.CANCELLED, outcome=TaskOutcome.EXPIRED, done_at=timezone.now()
    )
    type(policy).objects.filter(pk=policy.pk).update(
        status=PolicyStatus.FREE_LOOK_ENDED,
        receipt_date=policy.issue_date,
        free_look_end=policy.issue_date + dt.timedelta(days=15),
        free_look_ended_at=timezone.now(),
    )

    migration.forwards(django_apps, None)
    old.refresh_from_db()
    assert "{company}" in old.extended_script and old.welcome_script == "自己写的{agent}"
    checkin = ServiceTask.objects.get(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN)
    assert checkin.status == TaskStatus.MISSED
