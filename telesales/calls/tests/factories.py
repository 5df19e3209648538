"""factory_boy factories for the calls tests (set-up only; the code under test writes through
services). Reuses the lead and organisation factories; ``registered_agent`` makes an agent who
may dial (working, practice registration number, a login)."""

from __future__ import annotations

import datetime as dt
import itertools

import factory
from django.utils import timezone

from telesales.calls.models import CallAttempt, CallRuleSet, Disposition, FollowUp
from telesales.core.roles import Role
from telesales.leads.choices import LeadState
from telesales.leads.tests.factories import (  # noqa: F401  (re-exported)
    ChannelFactory,
    CustomerFactory,
    DncEntryFactory,
    LeadFactory,
    LeadRuleSetFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
    mobile,
)
from telesales.org.choices import PersonStatus, SeatStatus
from telesales.org.tests.factories import SeatFactory

_reg = itertools.count(1)


class CallRuleSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallRuleSet

    name = factory.Sequence(lambda n: f"外呼规则{n}")
    effective_from = dt.date(2020, 1, 1)


class DispositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Disposition
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"code{n}")
    name = factory.Sequence(lambda n: f"结束码{n}")


class CallAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallAttempt

    lead = factory.SubFactory(LeadFactory)
    agent = factory.SubFactory(PersonFactory)
    started_at = factory.LazyFunction(timezone.now)


class FollowUpFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FollowUp

    lead = factory.SubFactory(LeadFactory)
    agent = factory.SubFactory(PersonFactory)
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))


def registered_agent(*, team=None, grade: int = 2, username: str | None = None, seat=True, **kw):
    """A working agent with a practice registration number, an agent login and a seat."""
    n = next(_reg)
    extra = {"team": team} if team is not None else {}
    person = PersonFactory(
        status=kw.pop("status", PersonStatus.ACTIVE),
        capability_grade=grade,
        practice_reg_no=kw.pop("practice_reg_no", f"REG{n:08d}-{id(extra) % 9973}"),
        **extra,
        **kw,
    )
    user = UserFactory(username=username or f"calls-agent-{person.pk}", roles=[Role.AGENT])
    person.user = user
    person.save(update_fields=["user"])
    if seat:
        SeatFactory(
            center=person.center,
            code=f"S{person.pk:04d}",
            status=SeatStatus.OCCUPIED,
            person=person,
            phone_line=f"8{person.pk:03d}",
        )
    return person


def team_lead_of(team, *, username: str | None = None):
    lead = PersonFactory(
        team=team, status=PersonStatus.ACTIVE, practice_reg_no=f"TL{next(_reg):08d}"
    )
    user = UserFactory(username=username or f"calls-tl-{lead.pk}", roles=[Role.TEAM_LEAD])
    lead.user = user
    lead.save(update_fields=["user"])
    team.leader = lead
    team.save(update_fields=["leader"])
    return lead


def owned_lead(agent, **kw):
    """A callable lead in ``agent``'s private pool."""
    return LeadFactory(
        state=kw.pop("state", LeadState.OWNED),
        owner=agent,
        owned_since=kw.pop("owned_since", timezone.now() - dt.timedelta(days=1)),
        protect_until=kw.pop("protect_until", timezone.now() + dt.timedelta(days=9)),
        **kw,
    )
