"""Fixtures for the operations tests.

``world``: team A led by ``lead_a`` with agents ``alice`` and ``amy``; team B led by
``lead_b`` with ``bob``; a manager, renewal operations (``ops``), a planner and an HR admin;
products ``ci`` (critical illness: return visit) and ``acc`` (accident: none). ``policy(...)``
makes an issued policy (default: alice, 1,200 a year, annual, 10 years, issued 2025-01-15) and
``sync(today)`` takes every issued policy into servicing as of ``today``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from telesales.core.roles import Role
from telesales.core.tests.api_helpers import JsonClient
from telesales.operations.scheduling import operations_advance, operations_sync
from telesales.operations.tests.factories import (
    PersonFactory,
    PolicyFactory,
    ProductFactory,
    RuleSetFactory,
    TeamFactory,
    UserFactory,
)
from telesales.policies.choices import ProductCategory


def _person(team, username, role, **kw):
    user = UserFactory(username=username, roles=[role])
    kw.setdefault("practice_reg_no", f"REG-{username}")
    kw.setdefault("capability_grade", 3)
    kw.setdefault("hire_date", dt.date(2020, 1, 1))
    return PersonFactory(team=team, user=user, name=username, **kw)


@pytest.fixture
def world(db):
    RuleSetFactory(name="默认")
    team_a = TeamFactory(name="A组")
    team_b = TeamFactory(name="B组", center=team_a.center)
    lead_a = _person(team_a, "lead_a", Role.TEAM_LEAD)
    team_a.leader = lead_a
    team_a.save()
    lead_b = _person(team_b, "lead_b", Role.TEAM_LEAD)
    team_b.leader = lead_b
    team_b.save()
    alice = _person(team_a, "alice", Role.AGENT)
    amy = _person(team_a, "amy", Role.AGENT)
    bob = _person(team_b, "bob", Role.AGENT)
    office = TeamFactory(name="办公室", center=team_a.center, kind="back_office")
    manager = _person(office, "boss", Role.MANAGER)
    ops = _person(office, "ops", Role.RENEWAL_OPS)
    planner = _person(office, "plan", Role.PLANNER)
    hr = _person(office, "hr1", Role.HR_ADMIN)
    ci = ProductFactory(
        code="ci",
        name="重大疾病保险",
        category=ProductCategory.CRITICAL_ILLNESS,
        allowed_modes=["annual", "monthly", "single"],
        allowed_terms=[1, 10, 20],
        min_premium=Decimal("100"),
        max_premium=Decimal("100000"),
    )
    acc = ProductFactory(code="acc", name="综合意外险", category=ProductCategory.ACCIDENT)
    return SimpleNamespace(
        team_a=team_a,
        team_b=team_b,
        lead_a=lead_a,
        lead_b=lead_b,
        alice=alice,
        amy=amy,
        bob=bob,
        manager=manager,
        ops=ops,
        planner=planner,
        hr=hr,
        ci=ci,
        acc=acc,
    )


@pytest.fixture
def policy(world):
    def make(**kw):
        kw.setdefault("agent", world.alice)
        kw.setdefault("product", world.ci)
        return PolicyFactory(**kw)

    return make


@pytest.fixture
def sync(world):
    def run(today: dt.date):
        operations_sync(today=today)
        return operations_advance(today=today)

    return run


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
def ops_demo(demo):
    """The demo center (12 agents) with its leads, products and the operations demo."""
    from telesales.leads.demo import seed_leads_demo
    from telesales.operations.demo import seed_operations_demo
    from telesales.policies.demo import seed_policies_demo

    seed_leads_demo(agents=12)
    seed_policies_demo()
    return seed_operations_demo(agents=12)
