"""factory_boy factories for ticket data (test set-up only; the code under test writes through
services). ``TicketFactory`` writes a ticket as it stands, with explicit times, for the tests
of figures and escalation that need tickets from the past."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from telesales.leads.tests.factories import (  # noqa: F401  (re-exported for the ticket tests)
    CustomerFactory,
    LeadFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
)
from telesales.policies.choices import PolicyStatus
from telesales.policies.models import Policy
from telesales.policies.tests.factories import ProductFactory
from telesales.tickets.choices import TicketChannel, TicketKind, TicketPriority, TicketStatus
from telesales.tickets.models import Ticket


class PolicyFactory(factory.django.DjangoModelFactory):
    """An issued one-year policy sold by ``agent`` to ``holder`` (pass both, or a lead)."""

    class Meta:
        model = Policy

    number = factory.Sequence(lambda n: f"TS2026{n:09d}")
    lead = factory.SubFactory(LeadFactory)
    holder = factory.SelfAttribute("lead.customer")
    agent = factory.SubFactory(PersonFactory)
    team = factory.SelfAttribute("agent.team")
    product = factory.SubFactory(ProductFactory)
    annualised_premium = Decimal("1200.00")
    payment_mode = "annual"
    term_years = 1
    status = PolicyStatus.ISSUED
    applied_at = factory.LazyAttribute(lambda o: o.issued_at or timezone.now())
    issued_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))


class TicketFactory(factory.django.DjangoModelFactory):
    """A ticket as it stands: opened ``hours_ago`` (default 1) with the default complaint /
    normal targets (8 h / 72 h) unless due times are given."""

    class Meta:
        model = Ticket
        exclude = ("hours_ago",)

    hours_ago = 1
    number = factory.Sequence(lambda n: f"KFTEST{n:06d}")
    kind = TicketKind.COMPLAINT
    channel = TicketChannel.PHONE
    priority = TicketPriority.NORMAL
    status = TicketStatus.OPEN
    subject = factory.Sequence(lambda n: f"测试工单{n}")
    opened_at = factory.LazyAttribute(lambda o: timezone.now() - dt.timedelta(hours=o.hours_ago))
    response_due_at = factory.LazyAttribute(lambda o: o.opened_at + dt.timedelta(hours=8))
    resolution_due_at = factory.LazyAttribute(lambda o: o.opened_at + dt.timedelta(hours=72))
