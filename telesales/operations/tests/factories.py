"""factory_boy factories for operations tests (set-up only; the code under test writes through
services). A :class:`PolicyFactory` policy is issued (``issued_on``) and past its free-look
window unless a test says otherwise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from telesales.leads.choices import LeadState
from telesales.leads.tests.factories import (  # noqa: F401  (re-exported for the tests)
    CustomerFactory,
    LeadFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from telesales.operations.models import OperationsRuleSet
from telesales.policies.choices import PolicyStatus, ProductCategory
from telesales.policies.models import Policy
from telesales.policies.tests.factories import ProductFactory


def at_noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


class PolicyFactory(factory.django.DjangoModelFactory):
    """An issued policy of ``agent``; ``issued_on`` sets the issue day (default 2025-01-15)."""

    class Meta:
        model = Policy
        exclude = ("issued_on",)

    issued_on = dt.date(2025, 1, 15)
    agent = factory.SubFactory(PersonFactory, practice_reg_no="REG-X", capability_grade=3)
    team = factory.SelfAttribute("agent.team")
    lead = factory.SubFactory(
        LeadFactory, owner=factory.SelfAttribute("..agent"), state=LeadState.WON
    )
    holder = factory.SelfAttribute("lead.customer")
    product = factory.SubFactory(
        ProductFactory,
        code="ci",
        name="重大疾病保险",
        category=ProductCategory.CRITICAL_ILLNESS,
        allowed_modes=["annual", "monthly", "single"],
        allowed_terms=[1, 10, 20],
        min_premium=Decimal("100"),
        max_premium=Decimal("100000"),
    )
    annualised_premium = Decimal("1200.00")
    payment_mode = "annual"
    term_years = 10
    status = PolicyStatus.FREE_LOOK_ENDED
    number = factory.Sequence(lambda n: f"TS{n:08d}")
    applied_at = factory.LazyAttribute(lambda o: at_noon(o.issued_on - dt.timedelta(days=2)))
    issued_at = factory.LazyAttribute(lambda o: at_noon(o.issued_on))
    receipt_date = factory.LazyAttribute(lambda o: o.issued_on + dt.timedelta(days=2))
    free_look_end = factory.LazyAttribute(lambda o: o.issued_on + dt.timedelta(days=17))
    recording_ref = "rec-1"


class RuleSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OperationsRuleSet

    name = factory.Sequence(lambda n: f"运营规则{n}")
    effective_from = dt.date(2000, 1, 1)
