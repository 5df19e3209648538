"""Fixtures for the policy tests: a small world built with factories (fast), and the demo
center for the crawl and role tests.

``world``: team A led by ``lead_a`` (team lead) with agents ``alice`` (grade 2, registered)
and ``trainee`` (grade 1, no registration); team B with agent ``bob``; a manager, renewal
operations, a planner and an HR admin; the household 张家 — ``holder`` (man, born 1990),
``spouse`` (woman, 1992), ``child`` (2016) and ``grandpa`` (1958) — and a lead on the holder
that alice is working; products for every category.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest

from telesales.core.roles import Role
from telesales.core.tests.api_helpers import JsonClient
from telesales.leads.choices import LeadState
from telesales.leads.models import Household
from telesales.org.choices import CapabilityGrade, PersonStatus
from telesales.policies.choices import ProductCategory
from telesales.policies.tests.factories import (
    CustomerFactory,
    LeadFactory,
    PersonFactory,
    ProductFactory,
    TeamFactory,
    UserFactory,
)


def _person(team, username, role, **kw):
    user = UserFactory(username=username, roles=[role])
    return PersonFactory(team=team, user=user, name=username, **kw)


@pytest.fixture
def world(db):
    team_a = TeamFactory(name="A组")
    team_b = TeamFactory(name="B组", center=team_a.center)
    lead_a = _person(
        team_a, "lead_a", Role.TEAM_LEAD, capability_grade=3, practice_reg_no="REG-L-A"
    )
    team_a.leader = lead_a
    team_a.save()
    lead_b = _person(
        team_b, "lead_b", Role.TEAM_LEAD, capability_grade=3, practice_reg_no="REG-L-B"
    )
    team_b.leader = lead_b
    team_b.save()
    alice = _person(
        team_a,
        "alice",
        Role.AGENT,
        capability_grade=CapabilityGrade.GRADE_2,
        practice_reg_no="REG-ALICE",
    )
    trainee = _person(
        team_a, "trainee", Role.AGENT, capability_grade=1, status=PersonStatus.TRAINEE
    )
    bob = _person(team_b, "bob", Role.AGENT, capability_grade=2, practice_reg_no="REG-BOB")
    office = TeamFactory(name="办公室", center=team_a.center, kind="back_office")
    manager = _person(office, "boss", Role.MANAGER, capability_grade=4)
    renewal = _person(office, "ops", Role.RENEWAL_OPS)
    planner = _person(office, "plan", Role.PLANNER)
    hr = _person(office, "hr1", Role.HR_ADMIN)
    household = Household.objects.create(name="张家")
    holder = CustomerFactory(
        name="张伟", gender="M", birth_date=dt.date(1990, 5, 1), household=household
    )
    spouse = CustomerFactory(
        name="李娜", gender="F", birth_date=dt.date(1992, 3, 1), household=household
    )
    child = CustomerFactory(
        name="张小宝", gender="M", birth_date=dt.date(2016, 6, 1), household=household
    )
    grandpa = CustomerFactory(
        name="张老", gender="M", birth_date=dt.date(1958, 1, 1), household=household
    )
    stranger = CustomerFactory(name="王五", gender="M", birth_date=dt.date(1985, 1, 1))
    lead = LeadFactory(customer=holder, owner=alice, state=LeadState.IN_PROGRESS)
    products = {
        "accident": ProductFactory(
            code="acc", name="综合意外险", category=ProductCategory.ACCIDENT
        ),
        "ci": ProductFactory(
            code="ci",
            name="重大疾病保险",
            category=ProductCategory.CRITICAL_ILLNESS,
            grade=2,
            allowed_modes=["annual", "monthly"],
            allowed_terms=[10, 20],
            min_premium=Decimal("1000"),
            max_premium=Decimal("50000"),
        ),
        "pension": ProductFactory(
            code="pen",
            name="养老年金",
            category=ProductCategory.PENSION,
            grade=3,
            free_look_days=20,
            allowed_modes=["single", "annual"],
            allowed_terms=[5, 10],
            min_premium=Decimal("3000"),
            max_premium=Decimal("500000"),
        ),
        "education": ProductFactory(
            code="edu",
            name="少儿教育金",
            category=ProductCategory.EDUCATION,
            allowed_terms=[10],
            min_premium=Decimal("2000"),
            max_premium=Decimal("100000"),
        ),
        "medical": ProductFactory(code="med", name="百万医疗险", category=ProductCategory.MEDICAL),
    }
    return SimpleNamespace(
        team_a=team_a,
        team_b=team_b,
        lead_a=lead_a,
        lead_b=lead_b,
        alice=alice,
        trainee=trainee,
        bob=bob,
        manager=manager,
        renewal=renewal,
        planner=planner,
        hr=hr,
        household=household,
        holder=holder,
        spouse=spouse,
        child=child,
        grandpa=grandpa,
        stranger=stranger,
        lead=lead,
        products=products,
    )


@pytest.fixture
def sell(world):
    """Record a sale by alice on her lead (defaults: accident, 1200 a year, annual, 1 year,
    the holder insured); keyword arguments override."""
    from telesales.policies.services import sale_record

    def make(**kw):
        args = {
            "lead": world.lead,
            "agent": world.alice,
            "product": world.products["accident"],
            "annualised_premium": Decimal("1200.00"),
            "payment_mode": "annual",
            "term_years": 1,
            "insured_ids": [world.holder.pk],
            "actor": world.alice.user,
            "recording_ref": "rec-0001",
        }
        args.update(kw)
        return sale_record(**args)

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
