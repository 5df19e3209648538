"""Dispatch's candidate reads in SQL (``calls.pool_sql``) against the guards: the SQL may
narrow the candidates, never drop one the guards allow (it would be lost to dispatch), and for
mainland numbers it narrows exactly as far as the guards; the leads it reads back are the
leads the ORM reads, facts included."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from telesales.calls import pool_sql
from telesales.calls.dispatch import _private_qs, _public_qs
from telesales.calls.guards import lead_blocks_many, prefetched_facts
from telesales.calls.models import FollowUp
from telesales.calls.rules import callrules_for_person
from telesales.calls.tests.conftest import shanghai
from telesales.calls.tests.factories import (
    CallAttemptFactory,
    CallRuleSetFactory,
    CustomerFactory,
    DncEntryFactory,
    FollowUpFactory,
    LeadFactory,
    owned_lead,
    registered_agent,
)
from telesales.leads.choices import LeadState
from telesales.leads.models import Lead

pytestmark = pytest.mark.django_db

NOON = shanghai(2026, 6, 1, 12, 0)
MOMENTS = [
    NOON,
    shanghai(2026, 6, 1, 8, 30),  # before the window opens
    shanghai(2026, 6, 1, 20, 59),  # its last minute
    shanghai(2026, 6, 2, 0, 5),  # a new day: today's count starts again
]


@pytest.fixture(autouse=True)
def rules(db):
    return CallRuleSetFactory(min_minutes_between_attempts=30)


def _public(agent, **kw):
    return LeadFactory(state=LeadState.PUBLIC, owner=None, **kw)


def _cases(agent, make, dispo, at) -> list[Lead]:
    """One lead per thing a guard looks at, in ``make``'s pool, on both sides of each limit."""
    rules = callrules_for_person(agent, on=at.date())
    leads = [make(agent) for _ in range(3)]
    leads.append(make(agent, dial_count=rules.max_attempts_lifetime - 1))  # one call left
    twice = make(agent)  # one call left today
    for n in range(1, rules.max_attempts_per_day):
        CallAttemptFactory(lead=twice, agent=agent, started_at=at - dt.timedelta(hours=n))
    leads.append(twice)
    for minutes in (5, 31, 60 * 23, 60 * 25):  # the cool-down, the 24 h and today's caps
        lead = make(agent)
        CallAttemptFactory(lead=lead, agent=agent, started_at=at - dt.timedelta(minutes=minutes))
        leads.append(lead)
    busy = make(agent)
    for hours in (1, 2, 3):
        CallAttemptFactory(lead=busy, agent=agent, started_at=at - dt.timedelta(hours=hours))
    refused = make(agent)
    CallAttemptFactory(
        lead=refused,
        agent=agent,
        started_at=at - dt.timedelta(days=3),
        disposition=dispo("refused"),
    )
    worn = make(agent, dial_count=14)
    CallAttemptFactory(lead=worn, agent=agent, started_at=at - dt.timedelta(days=9))
    undisposed = make(agent, dial_count=14)
    CallAttemptFactory(lead=undisposed, agent=agent, started_at=at - dt.timedelta(days=4))
    dnc = make(agent)
    DncEntryFactory(number=dnc.customer.mobile_e164)
    make(agent, last_dialled_at=at - dt.timedelta(minutes=10))  # dialled, attempt not kept
    make(agent, consent_source="", consent_at=None)
    make(agent, customer=CustomerFactory(no_marketing=True))
    make(agent, required_grade=4)
    make(agent, customer=CustomerFactory(mobile_e164="+61291234567"))
    return [*leads, busy, refused, worn, undisposed, dnc]


def _allowed(agent, at, rules, qs, require_owner=True) -> set[int]:
    leads = list(qs.select_related("customer"))
    blocks = lead_blocks_many(
        leads=leads, agent=agent, at=at, rules=rules, require_owner=require_owner
    )
    return {pk for pk, b in blocks.items() if not b}


def _read(pool, agent, at, rules) -> list[Lead]:
    with transaction.atomic():
        return pool_sql.pool_candidates(pool, agent=agent, at=at, rules=rules, limit=1000)


def _mainland(ids) -> set[int]:
    return {pk for pk in ids if Lead.objects.get(pk=pk).customer.mobile_e164.startswith("+86")}


@pytest.mark.parametrize("at", MOMENTS)
def test_the_private_pool_read_agrees_with_the_guards(agent, dispo, at):
    _cases(agent, owned_lead, dispo, at)
    later = owned_lead(agent)  # a follow-up booked for later keeps it out of the pool
    FollowUpFactory(lead=later, agent=agent, due_at=at + dt.timedelta(hours=1))
    owned_lead(registered_agent())  # someone else's
    rules = callrules_for_person(agent, on=at.date())
    # The pool as the workspace counts and dispatch diagnoses it (the ORM's definition): the
    # SQL read must agree with it, not only with the guards.
    pool = _private_qs(agent, at)
    assert set(pool.values_list("pk", flat=True)) == set(
        Lead.objects.filter(owner=agent).exclude(pk=later.pk).values_list("pk", flat=True)
    )
    allowed = _allowed(agent, at, rules, pool)
    read = {lead.pk for lead in _read("private", agent, at, rules)}
    assert allowed <= read
    assert _mainland(read) <= allowed
    assert later.pk not in read
    if at == NOON:  # the cases are not vacuous: some pass, some are held back
        assert allowed and _mainland(read) != _mainland(
            Lead.objects.filter(owner=agent).values_list("pk", flat=True)
        )


@pytest.mark.parametrize("at", MOMENTS)
def test_the_public_pool_read_agrees_with_the_guards(agent, dispo, at):
    _cases(agent, _public, dispo, at)
    barred = _public(agent, former_owner=agent, former_owner_bar_until=at + dt.timedelta(days=1))
    past_bar = _public(agent, former_owner=agent, former_owner_bar_until=at - dt.timedelta(days=1))
    other_bar = _public(
        agent, former_owner=registered_agent(), former_owner_bar_until=at + dt.timedelta(days=1)
    )
    owned_lead(registered_agent())  # not public
    rules = callrules_for_person(agent, on=at.date())
    public = _public_qs(agent, at)
    assert barred.pk not in set(public.values_list("pk", flat=True))
    allowed = _allowed(agent, at, rules, public, require_owner=False)
    read = [lead.pk for lead in _read("public", agent, at, rules)]
    assert allowed <= set(read)
    assert _mainland(read) <= allowed
    assert barred.pk not in read
    if at == NOON:
        assert {past_bar.pk, other_bar.pk} <= set(read)
    # The pool's order: grade A→D, oldest first.
    grades = dict(Lead.objects.filter(pk__in=read).values_list("pk", "grade"))
    assert read == sorted(read, key=lambda pk: (grades[pk], pk))


@pytest.mark.parametrize("at", MOMENTS)
def test_the_follow_up_read_agrees_with_the_guards(agent, dispo, at):
    leads = _cases(agent, owned_lead, dispo, at)
    extra = list(Lead.objects.filter(owner=agent).exclude(pk__in=[x.pk for x in leads]))
    followups = {}
    for i, lead in enumerate([*leads, *extra]):
        followups[lead.pk] = FollowUpFactory(
            lead=lead, agent=agent, due_at=at - dt.timedelta(minutes=1 + i)
        )
    FollowUpFactory(lead=owned_lead(agent), agent=agent, due_at=at + dt.timedelta(hours=1))
    rules = callrules_for_person(agent, on=at.date())
    allowed = _allowed(agent, at, rules, Lead.objects.filter(pk__in=followups))
    with transaction.atomic():
        read = pool_sql.followup_candidates(agent=agent, at=at, rules=rules, limit=1000)
    lead_ids = {fu.lead_id for fu in read}
    assert allowed <= lead_ids
    assert _mainland(lead_ids) <= allowed
    assert all(fu.due_at <= at for fu in read)
    # Earliest due first; each read back as the ORM reads it.
    assert [fu.due_at for fu in read] == sorted(fu.due_at for fu in read)
    for fu in read:
        assert fu == followups[fu.lead_id]
        assert fu.due_at == FollowUp.objects.get(pk=fu.pk).due_at


def test_a_lead_read_in_sql_is_the_lead_the_orm_reads(agent, dispo):
    lead = owned_lead(agent, dial_count=2, last_dialled_at=NOON - dt.timedelta(days=2))
    CallAttemptFactory(
        lead=lead, agent=agent, started_at=NOON - dt.timedelta(days=5), disposition=dispo("refused")
    )
    CallAttemptFactory(lead=lead, agent=agent, started_at=NOON - dt.timedelta(days=2))
    CallAttemptFactory(lead=lead, agent=agent, started_at=NOON - dt.timedelta(hours=30))
    CallRuleSetFactory(min_minutes_between_attempts=30, refusal_cooldown_days=0)
    rules = callrules_for_person(agent, on=NOON.date())
    [read] = _read("private", agent, NOON, rules)
    orm = Lead.objects.select_related("customer").get(pk=lead.pk)
    for field in Lead._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
    for field in read.customer._meta.concrete_fields:
        assert getattr(read.customer, field.attname) == getattr(orm.customer, field.attname)
    facts, dnc = prefetched_facts([read], NOON)
    f = facts[lead.pk]
    assert f.undisposed == 2
    assert f.last_start == NOON - dt.timedelta(hours=30)
    assert f.last_refusal == NOON - dt.timedelta(days=5)
    assert f.recent == [NOON - dt.timedelta(hours=30)]  # read because one is within 48 h
    assert dnc == set()


def test_seen_leads_are_skipped_and_the_limit_holds(agent):
    leads = [owned_lead(agent) for _ in range(6)]
    rules = callrules_for_person(agent, on=NOON.date())
    with transaction.atomic():
        first = pool_sql.pool_candidates("private", agent=agent, at=NOON, rules=rules, limit=4)
        rest = pool_sql.pool_candidates(
            "private", agent=agent, at=NOON, rules=rules, seen=[x.pk for x in first], limit=4
        )
        more = pool_sql.pool_has_more(
            "private", agent=agent, at=NOON, rules=rules, seen=[x.pk for x in first + rest]
        )
    assert len(first) == 4 and len(rest) == 2
    assert {x.pk for x in first + rest} == {x.pk for x in leads}
    assert more is False
