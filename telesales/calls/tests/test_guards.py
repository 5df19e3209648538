"""The compliance guards, each at its boundaries."""

from __future__ import annotations

import datetime as dt

import pytest

from telesales.calls.guards import customer_zones, dial_blocks, window_opens
from telesales.calls.tests.conftest import shanghai
from telesales.calls.tests.factories import (
    CallAttemptFactory,
    CallRuleSetFactory,
    CustomerFactory,
    DncEntryFactory,
    owned_lead,
    registered_agent,
)
from telesales.leads.choices import LeadState
from telesales.org.choices import PersonStatus

pytestmark = pytest.mark.django_db

NOON = shanghai(2026, 6, 1, 12, 0)


def codes(blocks) -> list[str]:
    return [b.code for b in blocks]


@pytest.fixture
def rules():
    return CallRuleSetFactory(
        max_attempts_per_day=3,
        max_attempts_24h=4,
        max_attempts_lifetime=6,
        min_minutes_between_attempts=30,
        refusal_cooldown_days=30,
    )


@pytest.mark.parametrize(
    ("hh", "mm", "blocked"),
    [(8, 59, True), (9, 0, False), (20, 59, False), (21, 0, True), (3, 0, True)],
)
def test_calling_window_boundaries_in_customer_time(agent, rules, hh, mm, blocked):
    lead = owned_lead(agent)
    blocks = dial_blocks(lead=lead, agent=agent, at=shanghai(2026, 6, 1, hh, mm))
    assert ("outside_window" in codes(blocks)) is blocked
    if blocked:
        block = blocks[0]
        assert block.code == "outside_window"
        assert "09:00" in block.message and "21:00" in block.message
        assert block.until is not None


def test_window_uses_the_customers_zone_not_the_servers(agent, rules):
    """A Sydney number at 12:00 Shanghai time is at 14:00 there: fine; at 19:30 Shanghai it is
    21:30 in Sydney: refused."""
    assert [z.key for z in customer_zones("+61291234567")] == ["Australia/Sydney"]
    lead = owned_lead(agent, customer=CustomerFactory(mobile_e164="+61291234567"))
    assert "outside_window" not in codes(dial_blocks(lead=lead, agent=agent, at=NOON))
    late = shanghai(2026, 6, 1, 19, 30)
    assert "outside_window" in codes(dial_blocks(lead=lead, agent=agent, at=late))
    # Mainland numbers are one zone.
    assert [z.key for z in customer_zones("+8613800000001")] == ["Asia/Shanghai"]


def test_window_opens_next_morning_after_closing(rules):
    opens = window_opens("+8613800000001", shanghai(2026, 6, 1, 21, 0), rules)
    assert opens == shanghai(2026, 6, 2, 9, 0)
    assert window_opens("+8613800000001", shanghai(2026, 6, 1, 7, 0), rules) == shanghai(
        2026, 6, 1, 9, 0
    )


def test_dnc_and_no_marketing_and_consent(agent, rules):
    lead = owned_lead(agent)
    DncEntryFactory(number=lead.customer.mobile_e164)
    assert "dnc" in codes(dial_blocks(lead=lead, agent=agent, at=NOON))
    other = owned_lead(agent, customer=CustomerFactory(no_marketing=True))
    assert "no_marketing" in codes(dial_blocks(lead=other, agent=agent, at=NOON))
    bare = owned_lead(agent, consent_source="", consent_at=None)
    assert "no_consent" in codes(dial_blocks(lead=bare, agent=agent, at=NOON))
    assert dial_blocks(lead=owned_lead(agent), agent=agent, at=NOON) == []


def test_expired_dnc_entry_does_not_block(agent, rules):
    lead = owned_lead(agent)
    DncEntryFactory(number=lead.customer.mobile_e164, expires_at=NOON - dt.timedelta(minutes=1))
    assert "dnc" not in codes(dial_blocks(lead=lead, agent=agent, at=NOON))


@pytest.mark.parametrize(("made", "blocked"), [(2, False), (3, True)])
def test_daily_cap_at_n_minus_one_and_n(agent, rules, made, blocked):
    lead = owned_lead(agent)
    for i in range(made):
        started = shanghai(2026, 6, 1, 9, 0) + dt.timedelta(minutes=40 * i)
        CallAttemptFactory(lead=lead, agent=agent, started_at=started)
    at = shanghai(2026, 6, 1, 15, 0)
    assert ("attempts_today" in codes(dial_blocks(lead=lead, agent=agent, at=at))) is blocked


def test_daily_cap_counts_the_customers_calendar_day(agent, rules):
    lead = owned_lead(agent)
    for hh in (18, 19, 20):  # yesterday evening
        CallAttemptFactory(lead=lead, agent=agent, started_at=shanghai(2026, 5, 31, hh, 0))
    blocks = codes(dial_blocks(lead=lead, agent=agent, at=shanghai(2026, 6, 1, 9, 30)))
    assert "attempts_today" not in blocks
    assert "attempts_24h" not in blocks  # 3 in 24 h, the limit is 4


@pytest.mark.parametrize(("made", "blocked"), [(3, False), (4, True)])
def test_rolling_24h_cap(agent, rules, made, blocked):
    lead = owned_lead(agent)
    times = [shanghai(2026, 5, 31, 17, 0), shanghai(2026, 5, 31, 19, 0)]
    times += [shanghai(2026, 6, 1, 9, 0), shanghai(2026, 6, 1, 10, 0)]
    for t in times[:made]:
        CallAttemptFactory(lead=lead, agent=agent, started_at=t)
    blocks = dial_blocks(lead=lead, agent=agent, at=shanghai(2026, 6, 1, 12, 0))
    assert ("attempts_24h" in codes(blocks)) is blocked


@pytest.mark.parametrize(("dials", "blocked"), [(5, False), (6, True)])
def test_lifetime_cap_counts_recorded_dials(agent, rules, dials, blocked):
    lead = owned_lead(agent, dial_count=dials, last_dialled_at=shanghai(2026, 5, 1, 10, 0))
    assert ("attempts_lifetime" in codes(dial_blocks(lead=lead, agent=agent, at=NOON))) is blocked


def test_lifetime_cap_counts_undisposed_attempts_too(agent, rules):
    lead = owned_lead(agent, dial_count=5, last_dialled_at=shanghai(2026, 5, 1, 10, 0))
    CallAttemptFactory(lead=lead, agent=agent, started_at=shanghai(2026, 5, 20, 10, 0))
    assert "attempts_lifetime" in codes(dial_blocks(lead=lead, agent=agent, at=NOON))


@pytest.mark.parametrize(("minutes", "blocked"), [(29, True), (30, False)])
def test_cool_down_between_attempts(agent, rules, minutes, blocked):
    lead = owned_lead(agent)
    CallAttemptFactory(lead=lead, agent=agent, started_at=NOON - dt.timedelta(minutes=minutes))
    blocks = dial_blocks(lead=lead, agent=agent, at=NOON)
    assert ("cool_down" in codes(blocks)) is blocked
    if blocked:
        cool = next(b for b in blocks if b.code == "cool_down")
        assert cool.until == NOON + dt.timedelta(minutes=30 - minutes)


@pytest.mark.parametrize(("days", "blocked"), [(29, True), (30, False)])
def test_refusal_cool_down(agent, rules, dispo, days, blocked):
    lead = owned_lead(agent)
    CallAttemptFactory(
        lead=lead,
        agent=agent,
        started_at=NOON - dt.timedelta(days=days),
        disposition=dispo("refused"),
    )
    assert ("refusal_cool_down" in codes(dial_blocks(lead=lead, agent=agent, at=NOON))) is blocked


@pytest.mark.parametrize(
    ("status", "reg", "code"),
    [
        (PersonStatus.SUSPENDED, "R1", "agent_not_working"),
        (PersonStatus.LEFT, "R2", "agent_not_working"),
        (PersonStatus.TRAINEE, "", "agent_not_trained"),
        (PersonStatus.ACTIVE, "", "agent_not_trained"),
    ],
)
def test_agent_must_be_working_and_registered(rules, status, reg, code):
    extra = {"left_on": dt.date(2026, 5, 1)} if status == PersonStatus.LEFT else {}
    person = registered_agent(status=status, practice_reg_no=reg, **extra)
    lead = owned_lead(person)
    blocks = dial_blocks(lead=lead, agent=person, at=NOON)
    assert code in codes(blocks)
    assert all(b.fix for b in blocks)


def test_trainee_with_registration_may_dial(rules):
    person = registered_agent(status=PersonStatus.TRAINEE)
    assert dial_blocks(lead=owned_lead(person), agent=person, at=NOON) == []


@pytest.mark.parametrize(("grade", "required", "blocked"), [(2, 2, False), (2, 3, True)])
def test_product_grade_within_capability(rules, grade, required, blocked):
    person = registered_agent(grade=grade)
    lead = owned_lead(person, required_grade=required)
    assert ("grade_too_low" in codes(dial_blocks(lead=lead, agent=person, at=NOON))) is blocked


def test_closed_lead_and_someone_elses_lead(agent, rules):
    lost = owned_lead(agent, state=LeadState.LOST)
    assert "lead_closed" in codes(dial_blocks(lead=lost, agent=agent, at=NOON))
    other = registered_agent()
    theirs = owned_lead(other)
    assert "not_owner" in codes(dial_blocks(lead=theirs, agent=agent, at=NOON))


def test_service_calls_skip_marketing_checks_but_keep_the_window(agent, rules):
    lead = owned_lead(agent, state=LeadState.WON)
    DncEntryFactory(number=lead.customer.mobile_e164)
    assert dial_blocks(lead=lead, agent=agent, at=NOON, kind="service") == []
    late = shanghai(2026, 6, 1, 21, 30)
    assert codes(dial_blocks(lead=lead, agent=agent, at=late, kind="service")) == ["outside_window"]


def test_stage_rule_set_overrides_the_general_one(rules):
    person = registered_agent()
    CallRuleSetFactory(stage=person.team.stage, window_start=dt.time(10, 0))
    lead = owned_lead(person)
    at = shanghai(2026, 6, 1, 9, 30)
    assert "outside_window" in codes(dial_blocks(lead=lead, agent=person, at=at))
