"""Public and private pools: claiming, releasing, protection and every limit on a claim."""

from __future__ import annotations

import datetime as dt
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from telesales.core.errors import PermissionDenied
from telesales.leads import services
from telesales.leads.choices import OPEN_STATES, LeadAction, LeadState
from telesales.leads.errors import (
    AgentNotWorking,
    ClaimLimitReached,
    DoNotCall,
    FormerOwnerBarred,
    GradeTooLow,
    LeadTaken,
    NoConsent,
    NotInPrivatePool,
    NotInPublicPool,
    PrivateCapReached,
)
from telesales.leads.models import DncEntry, Lead, LeadEvent
from telesales.leads.services import (
    lead_claim,
    lead_protection_extend,
    lead_release,
    leads_return_to_public,
)
from telesales.leads.tests.factories import (
    CustomerFactory,
    DncEntryFactory,
    LeadFactory,
    LeadRuleSetFactory,
    LevelFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
    agent_login,
    data_officer,
)
from telesales.org.choices import PersonStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def rules(db):
    return LeadRuleSetFactory(
        protection_days=10,
        protection_extend_days=3,
        protection_max_days=30,
        daily_claim_limit=3,
        former_owner_bar_days=7,
        default_private_cap=50,
    )


@pytest.fixture
def team(db):
    return TeamFactory()


@pytest.fixture
def agent(team, rules):
    person = PersonFactory(team=team, capability_grade=2)
    agent_login(person)
    return person


@pytest.fixture
def other_agent(team, rules):
    person = PersonFactory(team=team, capability_grade=2)
    agent_login(person)
    return person


def claim(lead, person):
    return lead_claim(lead=lead, agent=person, actor=person.user)


def owned_by(person, **kwargs) -> Lead:
    now = timezone.now()
    defaults = {
        "state": LeadState.OWNED,
        "owned_since": now,
        "protect_until": now + timedelta(days=10),
    }
    return LeadFactory(owner=person, **(defaults | kwargs))


# --- Claim and release --------------------------------------------------------------------
def test_claim_moves_lead_to_private_pool_with_protection_and_history(agent, rules):
    lead = LeadFactory()
    before = timezone.now()
    lead = claim(lead, agent)
    assert lead.state == LeadState.OWNED
    assert lead.owner == agent
    assert before <= lead.owned_since <= timezone.now()
    assert lead.protect_until == lead.owned_since + timedelta(days=rules.protection_days)
    event = LeadEvent.objects.get(lead=lead)
    assert (event.action, event.from_state, event.to_state) == ("claim", "public", "owned")
    assert event.to_owner == agent and event.actor == agent.user


def test_claim_refused_when_lead_is_not_in_the_public_pool(agent, other_agent):
    lead = owned_by(other_agent)
    with pytest.raises(NotInPublicPool):
        claim(lead, agent)
    lead.refresh_from_db()
    assert lead.owner == other_agent


def test_claim_refused_for_a_role_that_cannot_claim(agent):
    planner = UserFactory(username="planner-x", roles=["planner"])
    with pytest.raises(PermissionDenied):
        lead_claim(lead=LeadFactory(), agent=agent, actor=planner)


def test_release_returns_lead_to_public_pool_with_former_owner_bar(agent, rules):
    lead = claim(LeadFactory(), agent)
    lead = lead_release(lead=lead, actor=agent.user, reason="客户说没兴趣")
    assert lead.state == LeadState.PUBLIC and lead.owner is None
    assert lead.protect_until is None and lead.owned_since is None
    assert lead.former_owner == agent
    expected = timezone.now() + timedelta(days=rules.former_owner_bar_days)
    assert abs(lead.former_owner_bar_until - expected) < timedelta(seconds=5)
    event = LeadEvent.objects.filter(lead=lead).latest("id")
    assert event.action == LeadAction.RELEASE and event.from_owner == agent
    assert event.reason == "客户说没兴趣"


def test_release_refused_for_an_agent_who_does_not_own_the_lead(agent, other_agent):
    lead = claim(LeadFactory(), agent)
    with pytest.raises(PermissionDenied):
        lead_release(lead=lead, actor=other_agent.user)


def test_data_officer_may_release_any_lead(agent):
    from telesales.core.models import AuditEntry

    lead = claim(LeadFactory(), agent)
    officer = data_officer()
    lead = lead_release(lead=lead, actor=officer, reason="客户投诉坐席态度，收回")
    assert lead.state == LeadState.PUBLIC
    # Taken from its owner: in the audit log too, with who, whose and why (QA: the lead's
    # history alone held it). An agent releasing their own lead is history only.
    entry = AuditEntry.objects.get(action="leads.lead_release")
    assert (entry.actor, entry.object_id) == (officer, str(lead.pk))
    assert entry.reason == "客户投诉坐席态度，收回" and entry.before["owner"] == agent.pk
    own = claim(LeadFactory(), agent)
    lead_release(lead=own, actor=agent.user, reason="客户说没兴趣")
    assert AuditEntry.objects.filter(action="leads.lead_release").count() == 1


def test_release_refused_for_a_lead_in_the_public_pool(agent):
    with pytest.raises(NotInPrivatePool) as refused:
        lead_release(lead=LeadFactory(), actor=data_officer())
    assert refused.value.code == "not_in_private_pool"


# --- Former-owner bar ---------------------------------------------------------------------
def test_former_owner_is_barred_until_the_bar_ends(agent, other_agent):
    lead = lead_release(lead=claim(LeadFactory(), agent), actor=agent.user)
    with pytest.raises(FormerOwnerBarred):
        claim(lead, agent)
    # One second before the end of the bar: still barred.
    Lead.objects.filter(pk=lead.pk).update(
        former_owner_bar_until=timezone.now() + timedelta(seconds=1)
    )
    with pytest.raises(FormerOwnerBarred):
        claim(lead, agent)
    # Bar over: the former owner may claim again.
    Lead.objects.filter(pk=lead.pk).update(
        former_owner_bar_until=timezone.now() - timedelta(seconds=1)
    )
    assert claim(lead, agent).owner == agent


def test_former_owner_bar_does_not_block_other_agents(agent, other_agent):
    lead = lead_release(lead=claim(LeadFactory(), agent), actor=agent.user)
    assert claim(lead, other_agent).owner == other_agent


def test_former_owner_bar_length_comes_from_the_owners_rule_set(agent, team, rules):
    team.stage = "plateau"
    team.save()
    LeadRuleSetFactory(stage="plateau", former_owner_bar_days=2)
    lead = owned_by(agent)
    now = timezone.now()
    leads_return_to_public(leads=[lead], actor=None, action=LeadAction.RELEASE, reason="x", now=now)
    lead.refresh_from_db()
    assert lead.former_owner_bar_until == now + timedelta(days=2)


# --- Protection -----------------------------------------------------------------------------
def test_activity_extends_protection_to_now_plus_extension(agent, rules):
    now = timezone.now()
    lead = owned_by(agent, owned_since=now - timedelta(days=9), protect_until=now + timedelta(1))
    lead = lead_protection_extend(lead=lead, at=now)
    assert lead.protect_until == now + timedelta(days=rules.protection_extend_days)
    lead.refresh_from_db()
    assert lead.protect_until == now + timedelta(days=rules.protection_extend_days)


def test_protection_extension_is_capped_at_the_maximum(agent, rules):
    now = timezone.now()
    owned = now - timedelta(days=28)
    lead = owned_by(agent, owned_since=owned, protect_until=now + timedelta(days=1))
    lead = lead_protection_extend(lead=lead, at=now)
    assert lead.protect_until == owned + timedelta(days=rules.protection_max_days)
    # Further activity never pushes it past the maximum.
    lead = lead_protection_extend(lead=lead, at=now + timedelta(days=1, hours=20))
    assert lead.protect_until == owned + timedelta(days=rules.protection_max_days)


def test_protection_extension_never_shortens_protection(agent):
    now = timezone.now()
    lead = owned_by(agent, owned_since=now, protect_until=now + timedelta(days=10))
    lead = lead_protection_extend(lead=lead, at=now)
    assert lead.protect_until == now + timedelta(days=10)


def test_protection_extension_clears_the_recycle_warning(agent):
    now = timezone.now()
    lead = owned_by(
        agent,
        owned_since=now - timedelta(days=9),
        protect_until=now + timedelta(days=1),
        recycle_warned_at=now - timedelta(hours=1),
    )
    lead_protection_extend(lead=lead, at=now)
    lead.refresh_from_db()
    assert lead.recycle_warned_at is None


def test_protection_extension_ignores_public_leads():
    lead = LeadFactory()
    assert lead_protection_extend(lead=lead).protect_until is None


# --- Limits ---------------------------------------------------------------------------------
def test_daily_claim_limit_refuses_the_claim_after_the_limit(agent, rules):
    for _ in range(rules.daily_claim_limit):
        claim(LeadFactory(), agent)
    with pytest.raises(ClaimLimitReached) as info:
        claim(LeadFactory(), agent)
    assert str(rules.daily_claim_limit) in info.value.message


def test_daily_claim_limit_counts_only_todays_claims(agent, rules):
    for _ in range(rules.daily_claim_limit):
        claim(LeadFactory(), agent)
    yesterday = timezone.localtime() - timedelta(days=1)
    LeadEvent.objects.filter(to_owner=agent).update(at=yesterday)
    assert claim(LeadFactory(), agent).owner == agent


def test_private_cap_depends_on_the_agents_level(team, rules):
    junior_level, senior_level = LevelFactory(), LevelFactory()
    rules.private_cap_by_level = {junior_level.code: 2}
    rules.save()
    junior = PersonFactory(team=team, level=junior_level, capability_grade=2)
    senior = PersonFactory(team=team, level=senior_level, capability_grade=2)
    agent_login(junior)
    agent_login(senior)
    owned_by(junior)
    owned_by(junior, state=LeadState.IN_PROGRESS)
    owned_by(senior)
    owned_by(senior, state=LeadState.IN_PROGRESS)
    with pytest.raises(PrivateCapReached) as info:
        claim(LeadFactory(), junior)
    assert "2" in info.value.message
    assert claim(LeadFactory(), senior).owner == senior  # default cap 50


def test_won_leads_do_not_count_against_the_private_cap(team, rules):
    level = LevelFactory()
    rules.private_cap_by_level = {level.code: 1}
    rules.save()
    person = PersonFactory(team=team, level=level, capability_grade=2)
    agent_login(person)
    LeadFactory(state=LeadState.WON, owner=person)
    assert claim(LeadFactory(), person).owner == person


def test_grade_check_refuses_a_lead_above_the_agents_capability_grade(team, rules):
    grade2 = PersonFactory(team=team, capability_grade=2)
    grade3 = PersonFactory(team=team, capability_grade=3)
    agent_login(grade2)
    agent_login(grade3)
    lead = LeadFactory(required_grade=3)
    with pytest.raises(GradeTooLow):
        claim(lead, grade2)
    assert claim(lead, grade3).owner == grade3


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (PersonStatus.TRAINEE, True),
        (PersonStatus.ACTIVE, True),
        (PersonStatus.WARNING, True),
        (PersonStatus.SUSPENDED, False),
        (PersonStatus.LEFT, False),
    ],
)
def test_only_working_agents_may_hold_leads(team, rules, status, allowed):
    left_on = dt.date(2026, 1, 1) if status == PersonStatus.LEFT else None
    person = PersonFactory(team=team, status=status, left_on=left_on, capability_grade=2)
    lead = LeadFactory()
    if allowed:
        assert lead_claim(lead=lead, agent=person, actor=None).owner == person
    else:
        with pytest.raises(AgentNotWorking):
            lead_claim(lead=lead, agent=person, actor=None)
        lead.refresh_from_db()
        assert lead.state == LeadState.PUBLIC


@pytest.mark.parametrize(
    "missing",
    [{"consent_at": None}, {"consent_source": ""}, {"consent_at": None, "consent_source": ""}],
)
def test_lead_without_consent_cannot_be_claimed(agent, missing):
    lead = LeadFactory(**missing)
    with pytest.raises(NoConsent):
        claim(lead, agent)


def test_lead_on_the_dnc_list_cannot_be_claimed(agent):
    lead = LeadFactory()
    DncEntryFactory(number=lead.customer.mobile_e164)
    with pytest.raises(DoNotCall):
        claim(lead, agent)


def test_expired_or_removed_dnc_entries_do_not_block(agent):
    now = timezone.now()
    first, second = LeadFactory(), LeadFactory()
    DncEntryFactory(number=first.customer.mobile_e164, expires_at=now - timedelta(seconds=1))
    DncEntryFactory(number=second.customer.mobile_e164, removed_at=now)
    assert claim(first, agent).owner == agent
    assert claim(second, agent).owner == agent


def test_no_marketing_customer_cannot_be_claimed(agent):
    lead = LeadFactory(customer=CustomerFactory(no_marketing=True))
    with pytest.raises(DoNotCall):
        claim(lead, agent)


# --- Two claims of one lead -------------------------------------------------------------------
def test_second_claim_of_a_lead_taken_in_between_gets_lead_taken(agent, other_agent, monkeypatch):
    """The conditional update is the guard: if another claim lands between our read and our
    write, we get LeadTaken (simulated here in one connection; threads on PostgreSQL below)."""
    lead = LeadFactory()
    original = services._claims_and_held

    def other_claim_lands_first(agent_id, now):
        Lead.objects.filter(pk=lead.pk).update(
            state=LeadState.OWNED, owner=other_agent, owned_since=timezone.now()
        )
        return original(agent_id, now)

    monkeypatch.setattr(services, "_claims_and_held", other_claim_lands_first)
    with pytest.raises(LeadTaken):
        claim(lead, agent)
    assert not LeadEvent.objects.filter(lead=lead, to_owner=agent).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_claims_one_wins_the_other_gets_lead_taken(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent transactions need PostgreSQL (SQLite serialises writers)")
    LeadRuleSetFactory()
    team = TeamFactory()
    people = [PersonFactory(team=team, capability_grade=2) for _ in range(2)]
    lead = LeadFactory()
    # Both claims read the lead as public before either writes: meet at a barrier.
    barrier = threading.Barrier(2, timeout=20)
    original = services._claims_and_held

    def meet_then_count(agent_id, now):
        barrier.wait()
        return original(agent_id, now)

    monkeypatch.setattr(services, "_claims_and_held", meet_then_count)
    outcomes: dict[int, object] = {}

    def run(person):
        try:
            outcomes[person.pk] = lead_claim(lead=lead, agent=person, actor=None)
        except Exception as exc:
            outcomes[person.pk] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    won = [v for v in outcomes.values() if isinstance(v, Lead)]
    lost = [v for v in outcomes.values() if not isinstance(v, Lead)]
    assert len(won) == 1 and len(lost) == 1, outcomes
    assert isinstance(lost[0], LeadTaken)
    lead.refresh_from_db()
    assert lead.owner_id == won[0].owner_id
    assert LeadEvent.objects.filter(lead=lead, action=LeadAction.CLAIM).count() == 1


# --- Transfer between private pools ---------------------------------------------------------
def _team_lead_of(team, username="lead-of-team"):
    from telesales.core.roles import Role

    person = PersonFactory(team=team)
    person.user = UserFactory(username=username, roles=[Role.TEAM_LEAD])
    person.save(update_fields=["user"])
    team.leader = person
    team.save(update_fields=["leader"])
    return person


def test_transfer_by_the_team_lead_of_both_agents_moves_the_lead_with_history(
    agent, other_agent, team
):
    lead = owned_by(agent)
    leader = _team_lead_of(team)

    services.lead_transfer(lead=lead, to_agent=other_agent, actor=leader.user, reason="cover")

    lead.refresh_from_db()
    assert lead.owner_id == other_agent.pk
    event = LeadEvent.objects.filter(lead=lead).latest("pk")
    assert (event.from_owner_id, event.to_owner_id, event.reason) == (
        agent.pk,
        other_agent.pk,
        "cover",
    )


@pytest.mark.parametrize("who", ["owner", "receiver", "other_team_lead", "cross_team"])
def test_transfer_refused_without_the_right_and_nothing_moves(agent, other_agent, team, who):
    """An agent cannot push or pull leads between private pools, and a team lead only moves
    leads between agents of a team they lead."""
    lead = owned_by(agent)
    to_agent = other_agent
    if who == "owner":
        actor = agent.user
    elif who == "receiver":
        actor = other_agent.user
    elif who == "other_team_lead":
        actor = _team_lead_of(TeamFactory()).user
    else:  # the lead of the receiver's team only
        foreign_team = TeamFactory()
        to_agent = PersonFactory(team=foreign_team, capability_grade=2)
        actor = _team_lead_of(foreign_team).user
    with pytest.raises(PermissionDenied):
        services.lead_transfer(lead=lead, to_agent=to_agent, actor=actor, reason="grab")
    lead.refresh_from_db()
    assert lead.owner_id == agent.pk
    assert not LeadEvent.objects.filter(lead=lead, to_owner_id=to_agent.pk).exists()


def test_transfer_by_the_data_officer_and_by_the_system(agent, other_agent):
    lead = owned_by(agent)
    services.lead_transfer(lead=lead, to_agent=other_agent, actor=data_officer(), reason="x")
    services.lead_transfer(lead=lead, to_agent=agent, actor=None, reason="callback cover")
    lead.refresh_from_db()
    assert lead.owner_id == agent.pk


# --- Withdrawing a permanent refusal --------------------------------------------------------
def test_removing_the_last_permanent_dnc_entry_clears_no_marketing_audited(agent):
    from telesales.core.models import AuditEntry

    officer = data_officer()
    customer = CustomerFactory()
    number = customer.mobile_e164
    entry = services.dnc_add(phone=number, permanent=True, actor=officer, reason="拒绝营销")
    customer.refresh_from_db()
    assert customer.no_marketing
    services.dnc_remove(entry=entry, actor=officer, reason="客户书面重新授权")
    customer.refresh_from_db()
    assert not customer.no_marketing
    audit = AuditEntry.objects.get(action="leads.customer_marketing_allowed")
    assert (audit.object_id, audit.reason) == (str(customer.pk), "客户书面重新授权")


def test_a_call_refusal_lengthens_a_shorter_block_and_keeps_a_permanent_one(agent):
    """A customer's refusal on a call (``when_listed="extend"``): a shorter block in force is
    ended (audited) and the new one added; a block at least as long is kept as it is."""
    from telesales.core.models import AuditEntry

    officer = data_officer()
    customer = CustomerFactory()
    number = customer.mobile_e164
    short = services.dnc_add(phone=number, days=30, actor=officer, reason="手工")
    longer = services.dnc_add(
        phone=number, source="customer_request", actor="system", when_listed="extend"
    )
    short.refresh_from_db()
    assert short.removed_at is not None and longer.pk != short.pk
    assert longer.expires_at - short.expires_at > timedelta(days=100)
    superseded = AuditEntry.objects.get(action="leads.dnc_remove", object_id=str(short.pk))
    assert superseded.after == {"superseded": True}
    again = services.dnc_add(
        phone=number, source="customer_request", actor="system", when_listed="extend"
    )
    assert again.pk == longer.pk
    assert (
        DncEntry.objects.filter(phone_hash=longer.phone_hash, removed_at__isnull=True).count() == 1
    )


def test_a_second_entry_in_force_for_a_number_is_refused_in_any_spelling(agent):
    """One entry in force per number: adding it again (any spelling) is refused with a clear
    message naming the entry in force; nothing is written."""
    from telesales.core.errors import Conflict
    from telesales.leads.errors import DncAlreadyListed

    officer = data_officer()
    first = services.dnc_add(phone="13900000888", permanent=True, actor=officer, reason="a")
    for spelling in ("+86 139-0000-0888", "0086 13900000888", "１３９０００００８８８"):
        with pytest.raises(DncAlreadyListed) as refused:
            services.dnc_add(phone=spelling, days=30, actor=officer, reason="b")
        assert isinstance(refused.value, Conflict) and refused.value.code == "dnc_already_listed"
        assert refused.value.details["entry_id"] == first.pk
        assert "139****0888" in refused.value.message and "13900000888" not in str(
            refused.value.details
        )
    assert DncEntry.objects.count() == 1


def test_a_lapsed_or_removed_entry_makes_way_for_a_new_one(agent):
    """An entry that lapsed is closed at its expiry when the number is listed again (the
    list still shows it as expired); a removed one stays removed."""
    officer = data_officer()
    lapsed = DncEntryFactory(number="+8613900000889", expires_at=timezone.now() - timedelta(days=1))
    entry = services.dnc_add(phone="13900000889", days=30, actor=officer, reason="再次")
    lapsed.refresh_from_db()
    assert lapsed.removed_at == lapsed.expires_at
    services.dnc_remove(entry=entry, actor=officer, reason="误登")
    assert services.dnc_add(phone="13900000889", days=30, actor=officer, reason="三次")


def test_the_database_holds_one_open_entry_per_number(agent):
    """The rule holds under concurrency: the database refuses a second open entry."""
    from django.db import IntegrityError, transaction

    DncEntryFactory(number="+8613900000890")
    DncEntryFactory(number="+8613900000890", removed_at=timezone.now())  # removed: allowed
    with pytest.raises(IntegrityError), transaction.atomic():
        DncEntryFactory(number="+8613900000890", expires_at=timezone.now() + timedelta(days=9))


def test_a_claim_with_an_allowance_counts_itself_and_keeps_the_limits(agent, rules):
    """Dispatch counts the agent's room once (``claim_allowance``, under the row lock) and
    claims with it: each claim counts itself, so the daily limit holds without counting again,
    and the lead returned is the row as written."""
    from django.db import transaction

    leads = [LeadFactory() for _ in range(rules.daily_claim_limit + 1)]
    with transaction.atomic():
        allowance = services.claim_allowance(agent)
        assert (allowance.used, allowance.held, allowance.limit) == (0, 0, 3)
        for n, lead in enumerate(leads[:-1], start=1):
            lead = Lead.objects.select_related("customer").get(pk=lead.pk)
            claimed = lead_claim(lead=lead, agent=agent, actor=agent.user, allowance=allowance)
            assert (allowance.used, allowance.held) == (n, n)
            fresh = Lead.objects.get(pk=lead.pk)
            for field in ("state", "owner_id", "owned_since", "protect_until", "updated_at"):
                assert getattr(claimed, field) == getattr(fresh, field), field
        last = Lead.objects.select_related("customer").get(pk=leads[-1].pk)
        with pytest.raises(ClaimLimitReached):
            lead_claim(lead=last, agent=agent, actor=agent.user, allowance=allowance)
    assert Lead.objects.filter(owner=agent).count() == rules.daily_claim_limit
    assert services.claims_today(agent) == rules.daily_claim_limit


def test_the_allowance_counts_as_claims_today_and_the_open_leads_do(agent, other_agent, rules):
    """``claim_allowance`` counts in one SQL statement; it must agree with ``claims_today``
    (claims since local midnight, this agent's only) and with the agent's open leads (owned or
    in progress; not won, lost or another agent's)."""
    now = timezone.localtime(timezone.now()).replace(hour=9, minute=30)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for at, to in (
        (midnight - dt.timedelta(seconds=1), agent),  # yesterday: not counted
        (midnight, agent),
        (now, agent),
        (now, other_agent),
    ):
        LeadEvent.objects.create(
            lead=LeadFactory(), at=at, action="claim", to_owner=to, to_state=LeadState.OWNED
        )
    LeadEvent.objects.create(
        lead=LeadFactory(), at=now, action="allocate", to_owner=agent, to_state=LeadState.OWNED
    )
    for state in (LeadState.OWNED, LeadState.IN_PROGRESS, LeadState.WON, LeadState.LOST):
        LeadFactory(state=state, owner=agent, owned_since=now)
    LeadFactory(state=LeadState.OWNED, owner=other_agent, owned_since=now)
    allowance = services.claim_allowance(agent, now=now)
    assert allowance.used == services.claims_today(agent, now=now) == 2
    assert allowance.held == Lead.objects.filter(owner=agent, state__in=OPEN_STATES).count() == 2


def test_transfer_refused_for_a_lead_nobody_holds(agent, other_agent):
    """Releasing or transferring needs a lead in a private pool; the error says so (it used to
    answer ``not_in_public_pool``, the claim's code, which says the opposite)."""
    lead = LeadFactory()
    with pytest.raises(NotInPrivatePool) as refused:
        services.lead_transfer(lead=lead, to_agent=other_agent, actor=None, reason="补位")
    assert refused.value.code == "not_in_private_pool"
    lead.refresh_from_db()
    assert lead.state == LeadState.PUBLIC and lead.owner is None


@pytest.mark.parametrize("source", ["customer_request", "complaint"])
def test_a_customers_refusal_blocks_for_at_least_the_regulatory_minimum(source):
    """DOMAIN.md R1: a customer who refuses telesales is blocked for at least six months; a
    shorter block is refused for a refusal or a complaint (staff may still block any number
    for a shorter time as a manual entry)."""
    from telesales.core.errors import ValidationFailed
    from telesales.leads.models import DncEntry
    from telesales.leads.rulesets import DNC_MIN_DAYS

    officer = data_officer()
    number = "+8613900000777"
    with pytest.raises(ValidationFailed, match=str(DNC_MIN_DAYS)) as refused:
        services.dnc_add(phone=number, source=source, days=DNC_MIN_DAYS - 1, actor=officer)
    assert "days" in refused.value.fields
    assert not DncEntry.objects.exists()
    entry = services.dnc_add(phone=number, source=source, days=DNC_MIN_DAYS, actor=officer)
    lasts = entry.expires_at - entry.created_at
    assert lasts >= timedelta(days=DNC_MIN_DAYS) - timedelta(seconds=5)
    manual = services.dnc_add(phone="+8613900000778", source="manual", days=30, actor=officer)
    assert manual.expires_at - manual.created_at < timedelta(days=31)


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_the_longest_open_entry_of_each_number():
    """Numbers listed twice before the constraint keep the entry that blocks longest; the
    others are closed (a lapsed one at its expiry), so the constraint can be created."""
    from django.db import connection as conn
    from django.db.migrations.executor import MigrationExecutor

    before = [("leads", "0003_customer_relation")]
    after = [("leads", "0004_rejection_phone_hash_dnc_one_entry")]
    executor = MigrationExecutor(conn)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps.get_model("leads", "DncEntry")
    now = timezone.now()

    def entry(number, **fields):
        return old.objects.create(
            phone_hash=f"h{number}", phone_masked="139****0000", source="manual", **fields
        ).pk

    permanent = entry(1)
    shorter = entry(1, expires_at=now + timedelta(days=30))
    lapsed = entry(2, expires_at=now - timedelta(days=3))
    longest = entry(2, expires_at=now + timedelta(days=300))
    alone = entry(3, expires_at=now + timedelta(days=5))
    executor = MigrationExecutor(conn)
    executor.loader.build_graph()
    executor.migrate(after)
    rows = dict(DncEntry.objects.values_list("pk", "removed_at"))
    assert rows[permanent] is None and rows[longest] is None and rows[alone] is None
    assert rows[shorter] is not None
    assert rows[lapsed] == DncEntry.objects.get(pk=lapsed).expires_at
