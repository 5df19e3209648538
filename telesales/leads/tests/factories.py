"""factory_boy factories for lead data (test set-up only; the code under test writes through
services). Customers get valid mainland mobiles ``+86138…`` and their keyed hash; leads are
callable (consent recorded) unless a test says otherwise."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from telesales.core.phone_numbers import mask_phone, phone_hash
from telesales.core.roles import Role
from telesales.leads.choices import DncSource, LeadGrade, LeadState
from telesales.leads.models import Channel, Customer, DncEntry, Lead, LeadBatch, LeadRuleSet
from telesales.org.tests.factories import (  # noqa: F401  (re-exported for the lead tests)
    LevelFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)


def mobile(n: int) -> str:
    """The n-th test mobile number: +8613800000001, +8613800000002, …"""
    return f"+86138{n:08d}"


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"ch{n}")
    name = factory.Sequence(lambda n: f"测试渠道{n}")
    default_cost_per_lead = Decimal("5.00")


class LeadBatchFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadBatch

    name = factory.Sequence(lambda n: f"批次{n}")
    channel = factory.SubFactory(ChannelFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n}")
    mobile_e164 = factory.Sequence(lambda n: mobile(n + 1))
    mobile_hash = factory.LazyAttribute(lambda o: phone_hash(o.mobile_e164))


class LeadFactory(factory.django.DjangoModelFactory):
    """A callable lead in the public pool. ``owner=…`` with ``state=owned`` for a private one."""

    class Meta:
        model = Lead

    customer = factory.SubFactory(CustomerFactory)
    channel = factory.SubFactory(ChannelFactory)
    grade = LeadGrade.C
    required_grade = 1
    state = LeadState.PUBLIC
    consent_source = "赠险活动页面"
    consent_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    consent_wording = "本人同意接听保险产品介绍电话"
    consent_evidence = "page-log-0001"


class LeadRuleSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadRuleSet

    name = factory.Sequence(lambda n: f"规则{n}")
    effective_from = dt.date(2020, 1, 1)


class DncEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DncEntry

    phone_hash = factory.LazyAttribute(lambda o: phone_hash(o.number))
    phone_masked = factory.LazyAttribute(lambda o: mask_phone(o.number))
    source = DncSource.CUSTOMER_REQUEST

    class Params:
        number = "+8613900000000"


def data_officer(username: str = "dataofficer"):
    return UserFactory(username=username, roles=[Role.DATA_OFFICER])


def agent_login(person, username: str | None = None):
    """Give ``person`` an agent login and return the user."""
    user = UserFactory(username=username or f"agent-{person.employee_no}", roles=[Role.AGENT])
    person.user = user
    person.save(update_fields=["user"])
    return user
