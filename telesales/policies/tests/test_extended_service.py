"""Extended service (延伸服务): each suggestion, its absence when the cover is held, the tasks
created on issue, and conversions."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.utils import timezone

from telesales.policies import selectors, services
from telesales.policies.choices import CancelReason, TaskKind, TaskOutcome, TaskStatus
from telesales.policies.models import ServiceTask, StabilisationRuleSet
from telesales.policies.suggestions import Member, age_on, household_suggestions, suggest

ON = dt.date(2026, 11, 1)
ME = Member(1, "张伟", "M", dt.date(1990, 5, 1))
WIFE = Member(2, "李娜", "F", dt.date(1992, 3, 1))
CHILD = Member(3, "张小宝", "M", dt.date(2016, 6, 1))
GRANDPA = Member(4, "张老", "M", dt.date(1958, 1, 1))
GRANDMA = Member(5, "王奶奶", "F", dt.date(1960, 1, 1))
HOUSEHOLD = [ME, WIFE, CHILD, GRANDPA, GRANDMA]


def rules(**changes):
    return StabilisationRuleSet(name="t", effective_from=ON, **changes)


def pairs(result):
    return {(s.rule, s.for_customer_id) for s in result}


def run(held=None, members=HOUSEHOLD, customer=ME, **changes):
    return pairs(
        suggest(customer=customer, members=members, held=held or {}, rules=rules(**changes), on=ON)
    )


EVERYTHING = {
    ("spouse_accident", 2),
    ("critical_illness", 1),
    ("pension", 1),
    ("child_accident", 3),
    ("child_education", 3),
}


def test_a_household_holding_nothing_gets_every_suggestion():
    # The grandparents are neither the spouse (age gap) nor children.
    assert run() == EVERYTHING


@pytest.mark.parametrize(
    ("held", "gone"),
    [
        ({2: {"accident"}}, ("spouse_accident", 2)),
        ({1: {"critical_illness"}}, ("critical_illness", 1)),
        ({1: {"pension"}}, ("pension", 1)),
        ({3: {"accident"}}, ("child_accident", 3)),
        ({3: {"education"}}, ("child_education", 3)),
    ],
)
def test_nothing_already_held_is_suggested(held, gone):
    assert run(held) == EVERYTHING - {gone}


def test_cover_held_by_someone_else_does_not_count():
    # The customer's own accident cover does not cover the spouse or the child.
    assert run({1: {"accident", "medical", "life"}}) == EVERYTHING


def test_each_rule_can_be_switched_off():
    for rule in (
        "spouse_accident",
        "critical_illness",
        "pension",
        "child_accident",
        "child_education",
    ):
        assert {r for r, _ in run(**{f"suggest_{rule}": False})} == {r for r, _ in EVERYTHING} - {
            rule
        }


def test_a_member_of_the_same_gender_is_not_the_spouse():
    brother = Member(6, "张强", "M", dt.date(1993, 1, 1))
    assert ("spouse_accident", 6) not in run(members=[ME, brother])


def test_a_spouse_with_unknown_gender_or_age_is_still_suggested():
    partner = Member(7, "某某", "", None)
    assert ("spouse_accident", 7) in run(members=[ME, partner])


def test_the_spouse_age_gap_is_a_rule():
    assert ("spouse_accident", 5) not in run()
    assert ("spouse_accident", 5) in run(spouse_max_age_gap=30)


def test_a_child_is_at_most_the_child_age():
    eighteen = Member(8, "张大宝", "F", dt.date(2008, 10, 31))  # 18 on ON
    seventeen = Member(9, "张二宝", "F", dt.date(2008, 11, 2))  # 17 on ON
    result = run(members=[ME, eighteen, seventeen], spouse_max_age_gap=0)
    assert ("child_education", 9) in result and ("child_education", 8) not in result
    assert ("spouse_accident", 8) not in result  # an adult daughter, too young to be a spouse


def test_no_pension_past_the_pension_age():
    old = Member(1, "张老", "M", dt.date(1960, 1, 1))
    assert ("pension", 1) not in run(members=[old], customer=old)
    assert ("pension", 1) in run(members=[old], customer=old, pension_max_age=70)
    unknown = Member(1, "张某", "M", None)
    assert ("pension", 1) in run(members=[unknown], customer=unknown)


def test_a_customer_alone_gets_the_personal_suggestions():
    assert run(members=[ME]) == {("critical_illness", 1), ("pension", 1)}


def test_age_on():
    assert age_on(dt.date(2000, 11, 1), ON) == 26
    assert age_on(dt.date(2000, 11, 2), ON) == 25
    assert age_on(None, ON) is None


# --- From the database -----------------------------------------------------------------------
def test_household_suggestions_read_what_the_household_holds(world, sell):
    today = timezone.localdate()
    names = {world.holder.pk: "holder", world.spouse.pk: "spouse", world.child.pk: "child"}

    def current():
        return {
            (s.rule, names.get(s.for_customer_id))
            for s in household_suggestions(customer=world.holder, on=today)
        }

    assert current() == {
        ("spouse_accident", "spouse"),
        ("critical_illness", "holder"),
        ("pension", "holder"),
        ("child_accident", "child"),
        ("child_education", "child"),
    }
    policy = sell(insured_ids=[world.spouse.pk, world.child.pk])  # accident for both
    assert current() == {
        ("critical_illness", "holder"),
        ("pension", "holder"),
        ("child_education", "child"),
    }
    services.policy_issue(policy=policy, actor=world.renewal.user)
    services.policy_free_look_cancel(
        policy=policy, reason=CancelReason.CHANGED_MIND, note="", actor=world.renewal.user
    )
    assert ("spouse_accident", "spouse") in current()  # a cancelled policy holds nothing


# --- Tasks on issue, conversions ---------------------------------------------------------------
@pytest.fixture
def issued(world, sell):
    policy = services.policy_issue(
        policy=sell(at=timezone.now() - dt.timedelta(days=2)),
        issued_at=timezone.now() - dt.timedelta(days=1),
        actor=world.renewal.user,
    )
    return SimpleNamespace(
        policy=policy,
        tasks={
            (t.suggestion_rule, t.for_customer_id): t
            for t in ServiceTask.objects.filter(policy=policy, kind=TaskKind.EXTENDED_SERVICE)
        },
    )


def test_issue_creates_an_extended_service_task_per_suggestion(world, issued):
    # No pension: the only pension product needs grade 3 and alice has grade 2.
    assert set(issued.tasks) == {
        ("spouse_accident", world.spouse.pk),
        ("critical_illness", world.holder.pk),
        ("child_accident", world.child.pk),
        ("child_education", world.child.pk),
    }
    # After the free-look window (estimated: issue day + 15 days), not 7 days after the issue.
    due_day = issued.policy.issue_date + dt.timedelta(days=15 + 1)
    for task in issued.tasks.values():
        assert task.customer == world.holder and task.agent == world.alice
        assert task.due_at == timezone.make_aware(dt.datetime.combine(due_day, dt.time(9)))
        assert "{" not in task.script and "REG-ALICE" in task.script
    assert "李娜" in issued.tasks[("spouse_accident", world.spouse.pk)].script
    # The category is named in the center's language (LANGUAGE_CODE), whoever issued.
    label = services._category_label("accident")
    assert label in issued.tasks[("spouse_accident", world.spouse.pk)].script


def test_a_second_issue_does_not_repeat_open_suggestions(world, sell, issued):
    other = sell(product=world.products["medical"], annualised_premium="300")
    services.policy_issue(policy=other, actor=world.renewal.user)
    assert not ServiceTask.objects.filter(policy=other, kind=TaskKind.EXTENDED_SERVICE).exists()


def test_a_sale_of_the_suggested_cover_converts_the_suggestion(world, sell, issued):
    sale = sell(insured_ids=[world.spouse.pk], annualised_premium="800")
    task = ServiceTask.objects.get(pk=issued.tasks[("spouse_accident", world.spouse.pk)].pk)
    assert task.converted_policy == sale
    assert task.status == TaskStatus.DONE and task.outcome == TaskOutcome.CONVERTED
    # The other suggestions are untouched.
    others = ServiceTask.objects.filter(
        kind=TaskKind.EXTENDED_SERVICE, converted_policy__isnull=True, status=TaskStatus.OPEN
    )
    assert others.count() == 3


def test_a_sale_for_someone_else_does_not_convert(world, sell, issued):
    sell()  # accident for the holder: not the spouse's suggestion
    task = ServiceTask.objects.get(pk=issued.tasks[("spouse_accident", world.spouse.pk)].pk)
    assert task.converted_policy is None and task.status == TaskStatus.OPEN


def test_a_worked_suggestion_still_converts(world, sell, issued):
    task = issued.tasks[("critical_illness", world.holder.pk)]
    services.service_task_complete(
        task=task, outcome=TaskOutcome.INTERESTED, note="下周再聊", actor=world.alice.user
    )
    sale = sell(product=world.products["ci"], annualised_premium="6000", term_years=20)
    task.refresh_from_db()
    assert task.converted_policy == sale and task.outcome == TaskOutcome.INTERESTED


def test_conversions_are_reported(world, sell, issued):
    sell(insured_ids=[world.spouse.pk], annualised_premium="800")
    sell(product=world.products["ci"], annualised_premium="6000", term_years=20)
    today = timezone.localdate()
    rows = selectors.extended_service_conversion(
        user=world.manager.user, by="agent", since=today, until=today
    )
    assert [(r["name"], r["suggested"], r["converted"], r["rate"]) for r in rows] == [
        ("alice", 4, 2, 0.5)
    ]
    team = selectors.extended_service_conversion(
        user=world.lead_a.user, by="team", since=today, until=today
    )
    assert [(r["name"], r["suggested"]) for r in team] == [("A组", 4)]
    assert (
        selectors.extended_service_conversion(
            user=world.bob.user, by="agent", since=today, until=today
        )
        == []
    )


def test_the_extended_service_delay_is_a_rule(world, sell):
    StabilisationRuleSet.objects.create(
        name="快", effective_from=dt.date(2020, 1, 1), extended_service_after_days=30
    )
    policy = services.policy_issue(policy=sell(), actor=world.renewal.user)
    due = ServiceTask.objects.filter(policy=policy, kind=TaskKind.EXTENDED_SERVICE).first().due_at
    assert timezone.localdate(due) == policy.issue_date + dt.timedelta(days=30)


# --- The demo's history ---------------------------------------------------------------------
def test_the_demo_works_the_tasks_that_fell_due_before_the_last_days_and_no_others(world, issued):
    from telesales.policies.demo import (
        HISTORY_DELAY_HOURS,
        OPEN_DAYS,
        STABILISATION_DELAY_HOURS,
        seed_service_history,
    )

    now = timezone.now()
    tasks = sorted(issued.tasks.values(), key=lambda t: t.pk)
    old, recent = tasks[:3], tasks[3:]
    for n, task in enumerate(old):  # fell due 60, 90 and 120 days ago
        ServiceTask.objects.filter(pk=task.pk).update(due_at=now - dt.timedelta(days=60 + 30 * n))
    # Just inside the last days: still open afterwards.
    ServiceTask.objects.filter(pk=recent[0].pk).update(
        due_at=now - dt.timedelta(days=OPEN_DAYS) + dt.timedelta(hours=2)
    )
    welcome = ServiceTask.objects.get(policy=issued.policy, kind=TaskKind.WELCOME_CALL)
    ServiceTask.objects.filter(pk=welcome.pk).update(due_at=now - dt.timedelta(days=20))
    checkin = ServiceTask.objects.get(policy=issued.policy, kind=TaskKind.FREE_LOOK_CHECKIN)

    assert seed_service_history(seed=7) == {"worked": 4}
    for task in old:
        task.refresh_from_db()
        assert task.status == TaskStatus.DONE
        assert task.outcome in {
            TaskOutcome.NOT_INTERESTED,
            TaskOutcome.NOT_REACHED,
            TaskOutcome.INTERESTED,
        }
        assert task.done_by == world.alice.user  # by the task's agent
        assert task.due_at < task.done_at <= task.due_at + dt.timedelta(hours=HISTORY_DELAY_HOURS)
    for task in recent:
        task.refresh_from_db()
        assert task.status == TaskStatus.OPEN and task.done_at is None
    welcome.refresh_from_db()
    assert welcome.status == TaskStatus.DONE and welcome.done_by == world.alice.user
    assert welcome.outcome in {TaskOutcome.REACHED, TaskOutcome.NOT_REACHED, TaskOutcome.CONCERN}
    assert bool(welcome.note) == (welcome.outcome == TaskOutcome.CONCERN)
    assert (
        welcome.due_at
        < welcome.done_at
        <= welcome.due_at + dt.timedelta(hours=STABILISATION_DELAY_HOURS)
    )
    checkin.refresh_from_db()
    assert checkin.status == TaskStatus.OPEN  # not due yet
    # Idempotent.
    assert seed_service_history(seed=7) == {"worked": 0}


def test_the_demo_puts_a_check_in_moved_by_a_late_receipt_back_to_its_planned_day(world, sell):
    """The demos confirm past receipts today, which moves a check-in whose planned day has
    passed to now; the history works it on its planned day instead."""
    from telesales.policies.demo import OPEN_DAYS, service_tasks_work

    now = timezone.now()
    policy = services.policy_issue(
        policy=sell(at=now - dt.timedelta(days=30)),
        issued_at=now - dt.timedelta(days=29),
        actor=world.renewal.user,
    )
    policy = services.policy_receipt_confirm(
        policy=policy, receipt_date=policy.issue_date, actor=world.renewal.user
    )
    checkin = ServiceTask.objects.get(policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN)
    assert checkin.due_at >= now - dt.timedelta(minutes=1)  # moved to the confirmation
    planned = policy.free_look_end - dt.timedelta(days=3)

    worked = service_tasks_work(seed=7)
    assert worked[TaskKind.FREE_LOOK_CHECKIN] == 1 and worked[TaskKind.WELCOME_CALL] == 1
    checkin.refresh_from_db()
    assert checkin.status == TaskStatus.DONE
    assert timezone.localdate(checkin.due_at) == planned
    assert checkin.due_at < checkin.done_at <= now - dt.timedelta(days=OPEN_DAYS)


# --- Recorded relations come before age and gender -------------------------------------------


def test_a_recorded_spouse_of_the_same_gender_or_a_wide_age_gap_is_the_spouse():
    partner = Member(6, "王强", "M", dt.date(1970, 1, 1), "spouse", ME.id)
    assert ("spouse_accident", 6) in run(members=[ME, partner])
    # Seen from the partner's side: the customer they are recorded with is their spouse.
    assert ("spouse_accident", ME.id) in run(members=[ME, partner], customer=partner)


def test_a_recorded_sibling_is_not_taken_for_the_spouse():
    sister = Member(6, "张丽", "F", dt.date(1991, 1, 1), "other", ME.id)
    assert run(members=[ME, sister]) == {("critical_illness", 1), ("pension", 1)}


def test_a_recorded_child_of_the_customer_or_of_their_spouse_is_a_child():
    wife = Member(2, "李娜", "F", dt.date(1992, 3, 1), "spouse", ME.id)
    hers = Member(6, "李小朵", "F", dt.date(2018, 1, 1), "child", wife.id)
    unknown_age = Member(7, "张小某", "", None, "child", ME.id)
    got = run(members=[ME, wife, hers, unknown_age])
    assert {("child_accident", 6), ("child_education", 6)} <= got
    assert {("child_accident", 7), ("child_education", 7)} <= got  # no birth date: still a child
    # A grown-up child is no child for these covers; a young nephew recorded as "other" is not.
    grown = Member(8, "张大", "M", dt.date(2000, 1, 1), "child", ME.id)
    nephew = Member(9, "王小", "M", dt.date(2017, 1, 1), "other", ME.id)
    got = run(members=[ME, grown, nephew])
    assert not {r for r in got if r[1] in (8, 9)}


def test_the_customer_recorded_as_a_parent_makes_the_member_their_child():
    me_as_parent = Member(1, "张伟", "M", dt.date(1990, 5, 1), "parent", CHILD.id)
    got = run(members=[me_as_parent, CHILD], customer=me_as_parent)
    assert {("child_accident", CHILD.id), ("child_education", CHILD.id)} <= got
    # And the child, recorded as the child of someone outside this pair, is not.
    other_child = Member(3, "张小宝", "M", dt.date(2016, 6, 1), "child", 99)
    assert ("child_accident", 3) not in run(members=[ME, other_child])


def test_members_without_a_recorded_relation_are_read_as_before():
    wife = Member(2, "李娜", "F", dt.date(1992, 3, 1), "spouse", ME.id)
    # Recorded spouse, everyone else unknown: the child is still read from age.
    assert run(members=[ME, wife, CHILD, GRANDPA]) == EVERYTHING
