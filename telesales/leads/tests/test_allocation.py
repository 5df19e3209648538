"""Allocation: preview, strategies, eligibility, commit; each rule has a test that breaks."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.leads import allocation
from telesales.leads.allocation import (
    allocation_commit,
    allocation_preview,
    productivity_factors,
)
from telesales.leads.choices import AllocationStrategy, LeadAction, LeadGrade, LeadState
from telesales.leads.errors import StalePreview
from telesales.leads.models import Lead, LeadEvent
from telesales.leads.services import lead_claim
from telesales.leads.tests.factories import (
    CustomerFactory,
    DncEntryFactory,
    LeadBatchFactory,
    LeadFactory,
    LeadRuleSetFactory,
    LevelFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from telesales.org.choices import PersonStatus, TeamKind, TeamStage
from telesales.org.models import Absence, Person

pytestmark = pytest.mark.django_db

RR = AllocationStrategy.ROUND_ROBIN
WEIGHTED = AllocationStrategy.WEIGHTED
MANUAL = AllocationStrategy.MANUAL
VETERAN_HIRED = dt.date(2024, 1, 1)


@pytest.fixture
def rules(db):
    return LeadRuleSetFactory(
        daily_allocation_quota=100,
        default_private_cap=300,
        protection_days=10,
        new_hire_weeks=8,
        new_hire_ab_share=Decimal("0.30"),
    )


@pytest.fixture
def team(db):
    return TeamFactory(stage=TeamStage.RAPID_GROWTH)


def make_agents(team, n, **kwargs):
    kwargs.setdefault("capability_grade", 2)
    kwargs.setdefault("hire_date", VETERAN_HIRED)
    return [PersonFactory(team=team, **kwargs) for _ in range(n)]


def make_leads(n, **kwargs):
    return [LeadFactory(**kwargs) for _ in range(n)]


def preview(officer, people=(), strategy=RR, *, teams=(), seed=1, **criteria):
    manual = criteria.pop("manual", None)
    return allocation_preview(
        actor=officer,
        strategy=strategy,
        criteria=criteria,
        targets={"person_ids": [p.pk for p in people], "team_ids": [t.pk for t in teams]},
        manual=manual,
        seed=seed,
    )


def counts(run) -> Counter:
    return Counter(person for _lead, person in run.plan["assignments"])


def planned_leads(run) -> list[int]:
    return [lead for lead, _person in run.plan["assignments"]]


# --- Preview ------------------------------------------------------------------------------------
def test_preview_changes_no_lead_and_records_the_plan(officer, team, rules):
    agents = make_agents(team, 2)
    leads = make_leads(4)
    run = preview(officer, agents)
    assert len(run.plan["assignments"]) == 4
    assert run.committed_at is None
    assert not Lead.objects.exclude(state=LeadState.PUBLIC).exists()
    assert not LeadEvent.objects.exists()
    assert run.summary["leads"] == {
        "matched": 4,
        "excluded": {"do_not_call": 0, "no_consent": 0},
        "eligible": 4,
        "in_set": 4,
        "planned": 4,
        "left": 0,
    }
    rows = {row["person_id"]: row for row in run.summary["agents"]}
    assert {pk: row["planned"] for pk, row in rows.items()} == {a.pk: 2 for a in agents}
    assert sum(row["grades"]["C"] for row in rows.values()) == 4
    assert run.summary["grade_mix"] == {"A": 0, "B": 0, "C": 4, "D": 0}
    assert set(planned_leads(run)) == {lead.pk for lead in leads}


def test_preview_requires_the_data_officer_or_manager(team, rules):
    agent_user = UserFactory(username="a-user", roles=["agent"])
    with pytest.raises(PermissionDenied):
        preview(agent_user, make_agents(team, 1))


@pytest.mark.parametrize(
    ("strategy", "criteria", "targets", "field"),
    [
        ("lottery", {}, {"person_ids": [1]}, "strategy"),
        (RR, {"grades": ["Z"]}, {"person_ids": [1]}, "grades"),
        (RR, {"limit": 0}, {"person_ids": [1]}, "limit"),
        (RR, {}, {}, "targets"),
        (RR, {}, {"person_ids": [999999]}, "person_ids"),
        (RR, {}, {"team_ids": ["x"]}, "team_ids"),
    ],
)
def test_preview_rejects_bad_input_with_field_errors(officer, strategy, criteria, targets, field):
    with pytest.raises(ValidationFailed) as info:
        allocation_preview(actor=officer, strategy=strategy, criteria=criteria, targets=targets)
    assert field in info.value.fields


def test_back_office_teams_receive_no_leads(officer, rules):
    back = TeamFactory(kind=TeamKind.BACK_OFFICE)
    with pytest.raises(ValidationFailed):
        preview(officer, teams=[back])


def test_criteria_select_the_batch_channel_and_grades(officer, team, rules):
    agent = make_agents(team, 1)
    batch = LeadBatchFactory()
    wanted = LeadFactory(batch=batch, channel=batch.channel, grade=LeadGrade.A)
    LeadFactory(batch=batch, channel=batch.channel, grade=LeadGrade.D)
    LeadFactory(grade=LeadGrade.A)  # another batch
    run = preview(officer, agent, batch_id=batch.pk, grades=["A", "B"])
    assert planned_leads(run) == [wanted.pk]
    run = preview(officer, agent, channel_id=batch.channel_id)
    assert len(planned_leads(run)) == 2


def test_limit_bounds_the_set_and_a_grades_go_first(officer, team, rules):
    agent = make_agents(team, 1)
    c_leads = make_leads(3, grade=LeadGrade.C)
    a_lead = LeadFactory(grade=LeadGrade.A)
    run = preview(officer, agent, limit=2)
    assert planned_leads(run) == [a_lead.pk, c_leads[0].pk]
    assert run.summary["leads"]["in_set"] == 2


# --- Round-robin ------------------------------------------------------------------------------
def test_round_robin_gives_counts_within_one(officer, team, rules):
    agents = make_agents(team, 4)
    make_leads(10)
    run = preview(officer, agents)
    assert sorted(counts(run).values()) == [2, 2, 3, 3]


def test_round_robin_start_is_random_not_the_lowest_id(officer, team, rules):
    agents = make_agents(team, 4)
    make_leads(1)
    firsts = {
        counts(preview(officer, agents, seed=seed)).most_common(1)[0][0] for seed in range(12)
    }
    assert len(firsts) > 1
    assert firsts != {min(a.pk for a in agents)}


def test_preview_is_deterministic_for_a_seed_and_stores_it(officer, team, rules):
    agents = make_agents(team, 3)
    make_leads(7)
    first = preview(officer, agents, seed=42)
    second = preview(officer, agents, seed=42)
    assert first.plan == second.plan
    assert first.summary["seed"] == 42
    unseeded = allocation_preview(
        actor=officer, strategy=RR, criteria={}, targets={"person_ids": [agents[0].pk]}
    )
    assert isinstance(unseeded.summary["seed"], int)


def test_absent_agent_receives_nothing(officer, team, rules):
    present, away = make_agents(team, 2)
    today = timezone.localdate()
    Absence.objects.create(person=away, start_date=today, end_date=today, reason="年假")
    make_leads(4)
    run = preview(officer, [present, away])
    assert counts(run) == {present.pk: 4}
    assert run.summary["skipped_agents"][0]["person_id"] == away.pk
    assert run.summary["skipped_agents"][0]["reason"] == "absent"


def test_absence_that_ended_yesterday_does_not_skip(officer, team, rules):
    (agent,) = make_agents(team, 1)
    yesterday = timezone.localdate() - timedelta(days=1)
    Absence.objects.create(person=agent, start_date=yesterday, end_date=yesterday)
    make_leads(1)
    assert counts(preview(officer, [agent])) == {agent.pk: 1}


@pytest.mark.parametrize("status", [PersonStatus.SUSPENDED, PersonStatus.LEFT])
def test_suspended_or_left_agent_receives_nothing(officer, team, rules, status):
    (working,) = make_agents(team, 1)
    left_on = dt.date(2026, 1, 2) if status == PersonStatus.LEFT else None
    (gone,) = make_agents(team, 1, status=status, left_on=left_on)
    make_leads(4)
    run = preview(officer, [working, gone])
    assert counts(run) == {working.pk: 4}
    assert run.summary["skipped_agents"][0]["reason"] == "inactive"


@pytest.mark.parametrize("status", [PersonStatus.TRAINEE, PersonStatus.WARNING])
def test_trainees_and_agents_on_warning_still_receive_leads(officer, team, rules, status):
    agents = make_agents(team, 1, status=status)
    make_leads(2)
    assert counts(preview(officer, agents)) == {agents[0].pk: 2}


def test_team_target_expands_to_members_without_the_leader_or_leavers(officer, team, rules):
    members = make_agents(team, 2)
    leader = PersonFactory(team=team, capability_grade=3)
    team.leader = leader
    team.save()
    make_agents(team, 1, status=PersonStatus.LEFT, left_on=dt.date(2026, 1, 2))
    make_leads(6)
    run = preview(officer, teams=[team])
    assert set(counts(run)) == {m.pk for m in members}


def test_capped_agent_receives_nothing_beyond_the_private_cap(officer, team, rules):
    level = LevelFactory()
    rules.private_cap_by_level = {level.code: 3}
    rules.save()
    capped, free = make_agents(team, 2, level=level)
    for _ in range(2):
        LeadFactory(state=LeadState.OWNED, owner=capped, owned_since=timezone.now())
    make_leads(6)
    run = preview(officer, [capped, free])
    assert counts(run)[capped.pk] == 1
    assert counts(run)[free.pk] == 3


def test_capped_agent_is_listed_as_skipped(officer, team, rules):
    level = LevelFactory()
    rules.private_cap_by_level = {level.code: 1}
    rules.save()
    capped, free = make_agents(team, 2, level=level)
    LeadFactory(state=LeadState.OWNED, owner=capped, owned_since=timezone.now())
    make_leads(1)
    run = preview(officer, [capped, free])
    assert counts(run) == {free.pk: 1}
    skipped = run.summary["skipped_agents"]
    assert [(s["person_id"], s["reason"]) for s in skipped] == [(capped.pk, "capped")]


def test_daily_quota_counts_leads_claimed_and_allocated_today(officer, team, rules):
    rules.daily_allocation_quota = 3
    rules.save()
    busy, fresh = make_agents(team, 2)
    lead_claim(lead=LeadFactory(), agent=busy, actor=None)
    LeadEvent.objects.create(
        lead=LeadFactory(state=LeadState.OWNED, owner=busy, owned_since=timezone.now()),
        at=timezone.now(),
        action=LeadAction.ALLOCATE,
        to_owner=busy,
    )
    make_leads(6)
    run = preview(officer, [busy, fresh])
    assert counts(run) == {busy.pk: 1, fresh.pk: 3}


def test_leads_left_over_when_everyone_is_capped_are_reported(officer, team, rules):
    rules.daily_allocation_quota = 2
    rules.save()
    agents = make_agents(team, 2)
    make_leads(7)
    run = preview(officer, agents)
    assert len(run.plan["assignments"]) == 4
    assert run.summary["leads"]["left"] == 3
    assert run.summary["left_by_reason"] == {"capacity": 3}
    assert "capacity" in run.summary["left_messages"]


def test_no_working_agent_means_every_lead_is_reported_left(officer, team, rules):
    agents = make_agents(team, 1, status=PersonStatus.SUSPENDED)
    make_leads(3)
    run = preview(officer, agents)
    assert run.plan["assignments"] == []
    assert run.summary["left_by_reason"] == {"no_agents": 3}


# --- Eligibility of leads and pairs -----------------------------------------------------------
def test_agent_only_receives_leads_within_their_capability_grade(officer, team, rules):
    (low,) = make_agents(team, 1, capability_grade=1)
    (high,) = make_agents(team, 1, capability_grade=3)
    hard = make_leads(4, required_grade=3)
    easy = make_leads(4, required_grade=1)
    run = preview(officer, [low, high])
    pairs = dict(run.plan["assignments"])
    assert all(pairs[lead.pk] == high.pk for lead in hard)
    assert sorted(counts(run).values()) == [4, 4]
    assert all(pairs[lead.pk] == low.pk for lead in easy)


def test_lead_nobody_may_sell_is_left_with_reason_grade(officer, team, rules):
    agents = make_agents(team, 2, capability_grade=2)
    make_leads(2, required_grade=4)
    run = preview(officer, agents)
    assert run.plan["assignments"] == []
    assert run.summary["left_by_reason"] == {"grade": 2}


def test_dnc_no_marketing_and_unconsented_leads_are_never_allocated(officer, team, rules):
    agents = make_agents(team, 2)
    on_dnc = LeadFactory(grade=LeadGrade.A)
    DncEntryFactory(number=on_dnc.customer.mobile_e164)
    LeadFactory(grade=LeadGrade.A, customer=CustomerFactory(no_marketing=True))
    LeadFactory(grade=LeadGrade.A, consent_at=None)
    LeadFactory(grade=LeadGrade.A, consent_source="")
    good = LeadFactory(grade=LeadGrade.D)  # last in the allocation order
    run = preview(officer, agents)
    assert planned_leads(run) == [good.pk]
    assert run.summary["leads"]["excluded"] == {"do_not_call": 2, "no_consent": 2}


def test_leads_outside_the_public_pool_are_never_allocated(officer, team, rules):
    agents = make_agents(team, 1)
    other = PersonFactory(team=team)
    LeadFactory(state=LeadState.OWNED, owner=other, owned_since=timezone.now())
    LeadFactory(state=LeadState.WON, owner=other)
    LeadFactory(state=LeadState.NEW)
    assert preview(officer, agents).plan["assignments"] == []


def test_former_owner_inside_the_bar_does_not_get_the_lead_back(officer, team, rules):
    former, other = make_agents(team, 2)
    lead = LeadFactory(
        former_owner=former, former_owner_bar_until=timezone.now() + timedelta(days=3)
    )
    for seed in range(6):
        run = preview(officer, [former, other], seed=seed)
        assert dict(run.plan["assignments"]) == {lead.pk: other.pk}
    run = preview(officer, [former])
    assert run.summary["left_by_reason"] == {"former_owner_bar": 1}


def test_stage_specific_rule_set_applies_to_its_teams(officer, rules):
    start_team = TeamFactory(stage=TeamStage.START_UP)
    plateau_team = TeamFactory(stage=TeamStage.PLATEAU)
    LeadRuleSetFactory(stage=TeamStage.PLATEAU, daily_allocation_quota=1)
    starters = make_agents(start_team, 2)
    plateau = make_agents(plateau_team, 2)
    make_leads(10)
    run = preview(officer, teams=[start_team, plateau_team])
    got = counts(run)
    assert [got[p.pk] for p in plateau] == [1, 1]
    assert [got[p.pk] for p in starters] == [4, 4]
    rows = {row["person_id"]: row for row in run.summary["agents"]}
    assert rows[plateau[0].pk]["quota"] == 1 and rows[starters[0].pk]["quota"] == 100


# --- Weighted ---------------------------------------------------------------------------------
def test_level_weights_shift_counts_towards_heavier_levels(officer, team, rules):
    light, heavy = LevelFactory(), LevelFactory()
    rules.level_weights = {light.code: 1, heavy.code: 3}
    rules.save()
    (a,) = make_agents(team, 1, level=light)
    (b,) = make_agents(team, 1, level=heavy)
    make_leads(20)
    got = counts(preview(officer, [a, b], WEIGHTED))
    assert (got[a.pk], got[b.pk]) == (5, 15)
    # The same agents under round-robin split evenly: the weights made the difference.
    got = counts(preview(officer, [a, b], RR))
    assert (got[a.pk], got[b.pk]) == (10, 10)


def _history(person, *, held, won):
    now = timezone.now()
    for i in range(held):
        lead = LeadFactory(
            state=LeadState.WON if i < won else LeadState.LOST,
            owner=person,
            won_at=now - timedelta(days=3) if i < won else None,
        )
        LeadEvent.objects.create(
            lead=lead, at=now - timedelta(days=5), action=LeadAction.ALLOCATE, to_owner=person
        )


def test_recent_productivity_shifts_counts_towards_the_better_seller(officer, team, rules):
    seller, idler, newcomer = make_agents(team, 3)
    _history(seller, held=30, won=9)
    _history(idler, held=30, won=0)
    make_leads(30)
    run = preview(officer, [seller, idler, newcomer], WEIGHTED)
    got = counts(run)
    assert got[seller.pk] > got[newcomer.pk] > got[idler.pk]
    rows = {row["person_id"]: row for row in run.summary["agents"]}
    assert rows[newcomer.pk]["productivity"] == pytest.approx(
        productivity_factors({seller.pk: 9}, {seller.pk: 30, idler.pk: 30}, rows)[newcomer.pk]
    )


def test_productivity_outside_the_30_day_window_is_ignored(officer, team, rules):
    old, other = make_agents(team, 2)
    _history(old, held=10, won=5)
    LeadEvent.objects.filter(to_owner=old).update(at=timezone.now() - timedelta(days=31))
    Lead.objects.filter(owner=old).update(won_at=timezone.now() - timedelta(days=31))
    make_leads(10)
    assert sorted(counts(preview(officer, [old, other], WEIGHTED)).values()) == [5, 5]


def test_productivity_factor_is_smoothed_and_bounded():
    ids = [1, 2, 3, 4]
    factors = productivity_factors({1: 50, 2: 0}, {1: 50, 2: 400, 4: 40}, ids)
    assert factors[3] == 1.0  # no history: exactly average, never starved
    assert factors[1] == allocation.PRODUCTIVITY_MAX
    assert factors[2] == allocation.PRODUCTIVITY_MIN
    assert allocation.PRODUCTIVITY_MIN <= factors[4] < 1.0
    # A single lucky sale moves a newcomer only a little.
    lucky = productivity_factors({1: 1, 2: 10}, {1: 1, 2: 100}, [1, 2])
    assert 1.0 < lucky[1] < 1.6
    assert productivity_factors({}, {}, [7]) == {7: 1.0}


# --- New-hire protection ------------------------------------------------------------------------
def test_new_hires_get_their_reserved_share_of_a_and_b_leads(officer, team, rules):
    rules.new_hire_ab_share = Decimal("0.50")
    rules.save()
    veterans = make_agents(team, 4)
    newcomers = make_agents(team, 2, hire_date=timezone.localdate() - timedelta(weeks=3))
    make_leads(10, grade=LeadGrade.A)
    make_leads(10, grade=LeadGrade.B)
    make_leads(12, grade=LeadGrade.C)
    run = preview(officer, veterans + newcomers)
    pairs = run.plan["assignments"]
    grade = dict(Lead.objects.values_list("pk", "grade"))
    new_ids = {p.pk for p in newcomers}
    ab_to_new = [pk for lead, pk in pairs if grade[lead] in "AB" and pk in new_ids]
    assert len(ab_to_new) >= 10  # at least half of the 20 A/B leads
    assert abs(Counter(ab_to_new)[newcomers[0].pk] - Counter(ab_to_new)[newcomers[1].pk]) <= 1
    assert run.summary["new_hire"]["ab_to_new_hires"] == len(ab_to_new)
    # Without the protection they only get their round-robin turn.
    plain = preview(officer, veterans + newcomers, new_hire_protection=False)
    plain_ab = [
        pk for lead, pk in plain.plan["assignments"] if grade[lead] in "AB" and pk in new_ids
    ]
    assert len(plain_ab) < 10


def test_new_hire_protection_ends_after_the_configured_weeks(officer, team, rules):
    rules.new_hire_ab_share = Decimal("1.00")
    rules.save()
    veterans = make_agents(team, 3)
    (past,) = make_agents(team, 1, hire_date=timezone.localdate() - timedelta(weeks=8))
    make_leads(8, grade=LeadGrade.A)
    run = preview(officer, [*veterans, past])
    assert counts(run)[past.pk] == 2  # an ordinary round-robin share
    assert run.summary["new_hire"]["new_hires"] == []


def test_new_hire_share_respects_caps_and_falls_back_to_everyone(officer, team, rules):
    rules.new_hire_ab_share = Decimal("1.00")
    level = LevelFactory()
    rules.private_cap_by_level = {level.code: 2}
    rules.save()
    (veteran,) = make_agents(team, 1)
    (newcomer,) = make_agents(team, 1, level=level, hire_date=timezone.localdate())
    make_leads(6, grade=LeadGrade.A)
    got = counts(preview(officer, [veteran, newcomer]))
    assert got == {newcomer.pk: 2, veteran.pk: 4}


# --- Manual -------------------------------------------------------------------------------------
def test_manual_explicit_pairs_are_planned_and_rule_breakers_reported(officer, team, rules):
    a, b = make_agents(team, 2, capability_grade=2)
    ok = LeadFactory()
    too_hard = LeadFactory(required_grade=3)
    owned = LeadFactory(state=LeadState.OWNED, owner=a, owned_since=timezone.now())
    manual = {"assignments": {str(ok.pk): b.pk, too_hard.pk: a.pk, owned.pk: b.pk}}
    run = preview(officer, strategy=MANUAL, manual=manual)
    assert run.plan["assignments"] == [[ok.pk, b.pk]]
    reasons = {r["lead_id"]: r["reason"] for r in run.summary["manual_rejected"]}
    assert reasons == {too_hard.pk: "grade", owned.pk: "not_available"}
    assert run.summary["leads"]["left"] == 2


def test_manual_counts_per_agent(officer, team, rules):
    rules.daily_allocation_quota = 3
    rules.save()
    a, b = make_agents(team, 2)
    make_leads(10)
    run = preview(officer, strategy=MANUAL, manual={"counts": {a.pk: 2, b.pk: 5}})
    assert counts(run) == {a.pk: 2, b.pk: 3}
    assert run.summary["manual_rejected"] == [
        {"person_id": b.pk, "requested": 5, "reason": "capacity"}
    ]


def test_manual_allocation_never_reaches_an_absent_agent(officer, team, rules):
    (away,) = make_agents(team, 1)
    today = timezone.localdate()
    Absence.objects.create(person=away, start_date=today, end_date=today)
    lead = LeadFactory()
    run = preview(officer, strategy=MANUAL, manual={"assignments": {lead.pk: away.pk}})
    assert run.plan["assignments"] == []
    assert run.summary["left_by_reason"] == {"agent_unavailable": 1}


def test_manual_needs_assignments_or_counts(officer, team, rules):
    with pytest.raises(ValidationFailed):
        preview(officer, make_agents(team, 1), strategy=MANUAL, manual={})


# --- Commit -------------------------------------------------------------------------------------
def test_commit_applies_the_plan_with_protection_history_and_one_audit_entry(officer, team, rules):
    LeadRuleSetFactory(stage=TeamStage.PLATEAU, protection_days=4)
    plateau = TeamFactory(stage=TeamStage.PLATEAU)
    (a,) = make_agents(team, 1)
    (b,) = make_agents(plateau, 1)
    make_leads(4)
    run = preview(officer, [a, b])
    audits_before = AuditEntry.objects.filter(action="leads.allocation_commit").count()
    run = allocation_commit(run=run, actor=officer)
    assert run.committed_at is not None and run.assigned == 4
    for lead_id, person_id in run.plan["assignments"]:
        lead = Lead.objects.get(pk=lead_id)
        assert lead.state == LeadState.OWNED and lead.owner_id == person_id
        days = 10 if person_id == a.pk else 4
        assert lead.protect_until == lead.owned_since + timedelta(days=days)
        event = LeadEvent.objects.get(lead=lead)
        assert (event.action, event.from_state, event.to_state) == ("allocate", "public", "owned")
        assert event.to_owner_id == person_id and event.actor == officer
        assert f"#{run.pk}" in event.reason
    assert AuditEntry.objects.filter(action="leads.allocation_commit").count() == audits_before + 1
    entry = AuditEntry.objects.filter(action="leads.allocation_commit").latest("id")
    assert entry.after["assigned"] == 4 and entry.object_id == str(run.pk)


def test_commit_twice_is_refused(officer, team, rules):
    LeadFactory()
    run = preview(officer, make_agents(team, 1))
    allocation_commit(run=run, actor=officer)
    with pytest.raises(InvalidState):
        allocation_commit(run=run, actor=officer)
    assert LeadEvent.objects.filter(action=LeadAction.ALLOCATE).count() == 1


def test_commit_requires_the_data_officer(officer, team, rules):
    make_leads(1)
    run = preview(officer, make_agents(team, 1))
    with pytest.raises(PermissionDenied):
        allocation_commit(run=run, actor=UserFactory(username="tl", roles=["team_lead"]))


def test_stale_preview_is_refused_and_nothing_changes(officer, team, rules):
    agents = make_agents(team, 2)
    leads = make_leads(4)
    run = preview(officer, agents)
    # Between the preview and the commit, another agent claims one of the planned leads.
    outsider = PersonFactory(team=team, capability_grade=2)
    lead_claim(lead=leads[2], agent=outsider, actor=None)
    with pytest.raises(StalePreview) as info:
        allocation_commit(run=run, actor=officer)
    assert info.value.details["problems"] == {"not_in_public_pool": 1}
    run.refresh_from_db()
    assert run.committed_at is None and run.assigned == 0
    assert Lead.objects.filter(state=LeadState.PUBLIC).count() == 3
    assert not LeadEvent.objects.filter(action=LeadAction.ALLOCATE).exists()


@pytest.mark.parametrize(
    "change",
    ["suspended", "absent", "capped", "dnc", "grade_lowered", "consent_withdrawn"],
)
def test_commit_refuses_when_an_agent_or_lead_changed_after_the_preview(
    officer, team, rules, change
):
    (agent,) = make_agents(team, 1, capability_grade=2)
    lead = LeadFactory(required_grade=2)
    run = preview(officer, [agent])
    if change == "suspended":
        Person.objects.filter(pk=agent.pk).update(status=PersonStatus.SUSPENDED)
    elif change == "absent":
        today = timezone.localdate()
        Absence.objects.create(person=agent, start_date=today, end_date=today)
    elif change == "capped":
        rules.daily_allocation_quota = 0
        rules.save()
    elif change == "dnc":
        DncEntryFactory(number=lead.customer.mobile_e164)
    elif change == "grade_lowered":
        Person.objects.filter(pk=agent.pk).update(capability_grade=1)
    elif change == "consent_withdrawn":
        Lead.objects.filter(pk=lead.pk).update(consent_at=None)
    with pytest.raises(StalePreview):
        allocation_commit(run=run, actor=officer)
    lead.refresh_from_db()
    assert lead.state == LeadState.PUBLIC and lead.owner is None


def test_commit_of_an_empty_plan_is_refused(officer, team, rules):
    run = preview(officer, make_agents(team, 1))
    with pytest.raises(InvalidState):
        allocation_commit(run=run, actor=officer)


def test_allocated_leads_count_against_todays_quota_in_the_next_preview(officer, team, rules):
    rules.daily_allocation_quota = 3
    rules.save()
    agents = make_agents(team, 1)
    make_leads(5)
    allocation_commit(run=preview(officer, agents), actor=officer)
    run = preview(officer, agents)
    assert run.plan["assignments"] == []
    assert run.summary["skipped_agents"][0]["reason"] == "capped"


# --- Properties ----------------------------------------------------------------------------------
def _fake_agent(pk, grade, capacity, position, new_hire=False, weight=1.0):
    agent = allocation._Agent(
        person=SimpleNamespace(pk=pk, capability_grade=grade),
        ruleset=None,
        held=0,
        today=0,
        cap=capacity,
        quota=capacity,
        absent=False,
        new_hire=new_hire,
        weight=weight,
        position=position,
    )
    agent.capacity = capacity
    return agent


agent_specs = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.integers(0, 6),
        st.booleans(),
        st.sampled_from([0.5, 1.0, 1.5, 3.0]),
    ),
    min_size=0,
    max_size=8,
)
lead_specs = st.lists(
    st.tuples(
        st.sampled_from(LeadGrade.values),
        st.integers(1, 4),
        st.one_of(st.none(), st.integers(1, 8)),
    ),
    max_size=40,
)


@given(
    agents=agent_specs,
    leads=lead_specs,
    weighted=st.booleans(),
    share=st.sampled_from([Decimal("0"), Decimal("0.3"), Decimal("1")]),
)
@settings(max_examples=300, deadline=None)
def test_distribution_never_exceeds_capacity_or_breaks_a_pair_rule(agents, leads, weighted, share):
    pool = [
        _fake_agent(i + 1, grade, cap, i, new_hire, weight)
        for i, (grade, cap, new_hire, weight) in enumerate(agents)
    ]
    room = {a.pk: a.capacity for a in pool}
    rows = [allocation._LeadRow(i + 1, g, req, barred) for i, (g, req, barred) in enumerate(leads)]
    key = (lambda a: ((a.assigned + 0.5) / a.weight,)) if weighted else (lambda a: (a.assigned,))
    pairs, unplaced, scanned, _info = allocation._distribute(
        pool, iter(rows), key=key, share=share, set_size=len(rows)
    )
    grade_of = {a.pk: a.grade for a in pool}
    by_lead = {r.pk: r for r in rows}
    placed = [lead for lead, _agent in pairs]
    assert len(placed) == len(set(placed))  # never a lead to two agents
    for pk, n in Counter(agent for _lead, agent in pairs).items():
        assert n <= room[pk]  # never beyond capacity
    for lead, agent in pairs:
        assert grade_of[agent] >= by_lead[lead].required_grade
        assert by_lead[lead].barred_owner != agent
    # Every lead of the set is either placed or reported with a reason.
    assert len(pairs) + sum(unplaced.values()) + (len(rows) - scanned) == len(rows)
    # With no pair restriction, exactly min(leads, total capacity) are placed.
    if all(r.required_grade == 1 and r.barred_owner is None for r in rows):
        assert len(pairs) == min(len(rows), sum(room.values()))


@given(
    caps=st.lists(st.integers(0, 4), min_size=1, max_size=4),
    n_leads=st.integers(0, 12),
    seed=st.integers(0, 2**32 - 1),
)
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_preview_assigns_min_of_leads_and_capacity_and_respects_each_cap(
    officer, team, rules, caps, n_leads, seed
):
    with transaction.atomic():
        level_caps = {}
        people = []
        for cap in caps:
            level = LevelFactory()
            level_caps[level.code] = cap
            people.append(PersonFactory(team=team, level=level, capability_grade=2))
        rules.private_cap_by_level = level_caps
        rules.save()
        make_leads(n_leads)
        run = preview(officer, people, seed=seed)
        got = counts(run)
        assert len(run.plan["assignments"]) == min(n_leads, sum(caps))
        assert all(got[p.pk] <= cap for p, cap in zip(people, caps, strict=True))
        assert len(set(planned_leads(run))) == len(planned_leads(run))
        assert run.summary["leads"]["planned"] + run.summary["leads"]["left"] == n_leads
        transaction.set_rollback(True)


def test_allocate_this_batch_opens_the_form_on_the_batch(officer, team, rules):
    """QA: "Allocate this batch" (batch page) opened the form on "any batch" and the whole
    public pool, so a preview made without noticing planned every lead in the pool. The form
    starts on the batch the link names and says how many of its leads are in the pool."""
    from django.test import Client
    from django.urls import reverse

    batch = LeadBatchFactory(name="十一月续保名单")
    make_leads(3, batch=batch, channel=batch.channel)
    make_leads(4)  # other batches
    client = Client(HTTP_HOST="localhost")
    client.force_login(officer)
    url = reverse("leads:allocation_create")

    page = client.get(url, {"batch": batch.pk})

    assert page.status_code == 200
    form = page.context["form"]
    assert form["batch"].value() in (batch, batch.pk)
    html = page.content.decode()
    assert f'<option value="{batch.pk}" selected>' in html
    assert "十一月续保名单" in html and page.context["preset_in_pool"] == 3
    # A batch they may not choose, or garbage, is ignored: the form starts empty.
    for junk in ("999999", "abc", "-1", "9" * 40):
        plain = client.get(url, {"batch": junk})
        assert plain.status_code == 200 and plain.context["preset_batch"] is None
