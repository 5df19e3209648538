"""factory_boy factories for policy data (test set-up only; the code under test writes
through services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from telesales.leads.tests.factories import (  # noqa: F401  (re-exported for the policy tests)
    CustomerFactory,
    LeadFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from telesales.policies.choices import CommissionBasis, ProductCategory
from telesales.policies.models import Product, StabilisationRuleSet


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"p{n}")
    name = factory.Sequence(lambda n: f"测试产品{n}")
    category = ProductCategory.ACCIDENT
    grade = 1
    free_look_days = 15
    commission_basis = CommissionBasis.FYP
    first_year_commission_rate = Decimal("0.3000")
    allowed_modes = factory.LazyFunction(lambda: ["annual", "monthly"])
    allowed_terms = factory.LazyFunction(lambda: [1])
    min_premium = Decimal("100.00")
    max_premium = Decimal("5000.00")


class RuleSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StabilisationRuleSet

    name = factory.Sequence(lambda n: f"稳单规则{n}")
    effective_from = dt.date(2020, 1, 1)
