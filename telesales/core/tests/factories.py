"""factory_boy factories for the core app's tests (no domain app is imported here)."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from telesales.core.models import AuditEntry


class UserFactory(factory.django.DjangoModelFactory):
    """A login. ``roles=["center_manager", …]`` puts it in those role groups."""

    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"coreuser{n}")
    password = factory.django.Password("pw-for-tests")
    is_active = True

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(*Group.objects.filter(name__in=[str(r) for r in extracted]))


class AuditEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AuditEntry

    actor = factory.SubFactory(UserFactory)
    actor_name = factory.LazyAttribute(lambda o: o.actor.get_username() if o.actor else "system")
    action = "test.thing_update"
    object_type = "test.thing"
    object_id = factory.Sequence(str)
    object_repr = factory.Sequence(lambda n: f"thing {n}")
    before = factory.LazyFunction(lambda: {"state": "old"})
    after = factory.LazyFunction(lambda: {"state": "new"})
