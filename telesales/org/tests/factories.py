"""factory_boy factories for organisation records (test set-up only; the code under test
writes through services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from telesales.org.choices import LevelSeries, PersonStatus, SeatStatus, TeamKind, TeamStage
from telesales.org.models import Center, Level, Person, Seat, Team


class UserFactory(factory.django.DjangoModelFactory):
    """A login. ``roles=["agent", …]`` puts it in those role groups."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")
    is_active = True

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=[str(r) for r in extracted]))


class CenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Center
        django_get_or_create = ("code",)

    name = factory.Sequence(lambda n: f"测试中心{n}")
    code = factory.Sequence(lambda n: f"c{n}")
    city = "上海"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    center = factory.SubFactory(CenterFactory)
    name = factory.Sequence(lambda n: f"测试组{n}")
    kind = TeamKind.SALES
    stage = TeamStage.START_UP


class LevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Level

    code = factory.Sequence(lambda n: f"X{n}")
    name = factory.Sequence(lambda n: f"测试职级{n}")
    series = LevelSeries.SALES
    rank = factory.Sequence(lambda n: 100 + n)
    base_salary = Decimal("4000.00")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    team = factory.SubFactory(TeamFactory)
    center = factory.SelfAttribute("team.center")
    employee_no = factory.Sequence(lambda n: f"F{n:06d}")
    name = factory.Sequence(lambda n: f"测试员{n}")
    hire_date = dt.date(2025, 3, 1)
    status = PersonStatus.ACTIVE


class SeatFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seat

    center = factory.SubFactory(CenterFactory)
    code = factory.Sequence(lambda n: f"Z{n:04d}")
    site = "9楼"
    status = SeatStatus.VACANT
    monthly_cost = Decimal("1500.00")
