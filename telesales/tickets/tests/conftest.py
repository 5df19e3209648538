"""Fixtures for the ticket tests: a small world built with factories (fast), and the demo
center for the page and masking crawls.

``world``: sales team A led by ``lead_a`` with agents ``alice`` and ``carol``; team B led by
``lead_b`` with agent ``bob``; the back office (no leader) with ``ops`` (renewal operations),
``boss`` (center manager) and ``hr1`` (HR admin); customers ``holder`` (a lead alice works, a
policy alice sold) and ``other`` (a policy bob sold); the default SLA targets in force.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from telesales.core.roles import Role
from telesales.core.tests.api_helpers import JsonClient
from telesales.leads.choices import LeadState
from telesales.tickets.tests.factories import (
    CustomerFactory,
    LeadFactory,
    PersonFactory,
    PolicyFactory,
    TeamFactory,
    UserFactory,
)


def _person(team, username, role, **kw):
    user = UserFactory(username=username, roles=[role])
    return PersonFactory(team=team, user=user, name=username, **kw)


@pytest.fixture
def world(db):
    from telesales.tickets.rules import default_ruleset_ensure

    team_a = TeamFactory(name="A组")
    team_b = TeamFactory(name="B组", center=team_a.center)
    office = TeamFactory(name="客服中心", center=team_a.center, kind="back_office")
    lead_a = _person(team_a, "lead_a", Role.TEAM_LEAD)
    team_a.leader = lead_a
    team_a.save()
    lead_b = _person(team_b, "lead_b", Role.TEAM_LEAD)
    team_b.leader = lead_b
    team_b.save()
    alice = _person(team_a, "alice", Role.AGENT)
    carol = _person(team_a, "carol", Role.AGENT)
    bob = _person(team_b, "bob", Role.AGENT)
    ops = _person(office, "ops", Role.RENEWAL_OPS)
    boss = _person(office, "boss", Role.MANAGER)
    hr = _person(office, "hr1", Role.HR_ADMIN)
    holder = CustomerFactory(name="张伟")
    other = CustomerFactory(name="李娜")
    lead = LeadFactory(customer=holder, owner=alice, state=LeadState.IN_PROGRESS)
    other_lead = LeadFactory(customer=other, owner=bob, state=LeadState.WON)
    policy = PolicyFactory(lead=lead, holder=holder, agent=alice)
    other_policy = PolicyFactory(lead=other_lead, holder=other, agent=bob)
    ruleset = default_ruleset_ensure()
    return SimpleNamespace(
        team_a=team_a,
        team_b=team_b,
        office=office,
        lead_a=lead_a,
        lead_b=lead_b,
        alice=alice,
        carol=carol,
        bob=bob,
        ops=ops,
        boss=boss,
        hr=hr,
        holder=holder,
        other=other,
        lead=lead,
        policy=policy,
        other_policy=other_policy,
        ruleset=ruleset,
    )


@pytest.fixture
def open_ticket(world):
    """Open a ticket through the service (defaults: a normal complaint by phone about the
    holder, opened by renewal operations, nobody owns it); keyword arguments override."""
    from telesales.tickets.services import ticket_open

    def make(**kw):
        args = {
            "actor": world.ops.user,
            "kind": "complaint",
            "channel": "phone",
            "subject": "客户投诉频繁来电",
            "description": "客户称一周内接到三次来电。",
            "customer": world.holder,
        }
        args.update(kw)
        return ticket_open(**args)

    return make


@pytest.fixture
def api_for(world):
    def make(person) -> JsonClient:
        client = JsonClient()
        client.force_login(person.user)
        return client

    return make


@pytest.fixture
def page_for(world):
    def make(person):
        from django.test import Client

        client = Client()
        client.force_login(person.user)
        return client

    return make


@pytest.fixture
def tickets_demo(demo):
    """The demo center (12 agents) with its lead data, catalogue and tickets."""
    from telesales.leads.demo import seed_leads_demo
    from telesales.policies.demo import seed_policies_demo
    from telesales.tickets.demo import seed_tickets_demo

    seed_leads_demo(agents=12)
    seed_policies_demo(agents=12)
    seed_tickets_demo(agents=12)
    return demo
