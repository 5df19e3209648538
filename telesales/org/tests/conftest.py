"""Fixtures for the organisation tests (the demo center comes from the project conftest)."""

from __future__ import annotations

import pytest

from telesales.core.tests.api_helpers import JsonClient
from telesales.org.models import Center, Person


@pytest.fixture
def center(demo) -> Center:
    return Center.objects.get(code="demo")


@pytest.fixture
def person_of(demo):
    """The employee record of a demo login."""

    def get(username: str) -> Person:
        return Person.objects.select_related("team", "user").get(user__username=username)

    return get


@pytest.fixture
def api_as(user_named):
    """A JSON client signed in (session) as the named demo user; ``None`` for anonymous."""

    def make(username: str | None) -> JsonClient:
        client = JsonClient()
        if username:
            client.force_login(user_named(username))
        return client

    return make


@pytest.fixture(scope="module")
def demo_shared(django_db_setup, django_db_blocker):
    """The demo center of the project's ``demo`` fixture, seeded once per test module.

    A module opts in by overriding ``demo``::

        @pytest.fixture
        def demo(demo_shared, db):
            return demo_shared

    The seed sits in a transaction around the whole module; each test runs in a savepoint
    inside it (pytest-django's ``db``), so every test still starts from the same rows.
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from telesales.org.demo import seed_org_demo

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            seed_org_demo(agents=12)
            yield get_user_model().objects
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
