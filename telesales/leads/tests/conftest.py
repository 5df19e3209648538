"""Fixtures for the lead tests: the demo center with its lead data.

``leads_demo`` runs both demo seeders (the organisation's, through the project's ``demo``
fixture, then the leads') with 12 agents. ``leads_demo_shared`` does the same once per test
module, for modules that read a lot and write little; a module opts in by overriding::

    @pytest.fixture
    def leads_demo(leads_demo_shared, db):
        return leads_demo_shared
"""

from __future__ import annotations

import pytest

from telesales.core.tests.api_helpers import JsonClient
from telesales.leads.models import Channel
from telesales.leads.tests.factories import data_officer

DEMO_AGENTS = 12


@pytest.fixture
def leads_demo(demo):
    """The demo center (12 agents, every role) and its demo lead data."""
    from telesales.leads.demo import seed_leads_demo

    seed_leads_demo(agents=DEMO_AGENTS)
    return demo


@pytest.fixture(scope="module")
def leads_demo_shared(django_db_setup, django_db_blocker):
    """Both demo seeders, once per module, rolled back at its end (each test still runs in
    its own savepoint, so every test starts from the same rows)."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from telesales.leads.demo import seed_leads_demo
    from telesales.org.demo import seed_org_demo

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            seed_org_demo(agents=DEMO_AGENTS)
            seed_leads_demo(agents=DEMO_AGENTS)
            yield get_user_model().objects
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def person_of(leads_demo):
    """The employee record of a demo login."""
    from telesales.org.models import Person

    def get(username: str):
        return Person.objects.select_related("team", "user", "level").get(user__username=username)

    return get


@pytest.fixture
def api_as(leads_demo):
    """A JSON client signed in (session) as the named demo user; ``None`` for anonymous."""
    from django.contrib.auth import get_user_model

    def make(username: str | None) -> JsonClient:
        client = JsonClient()
        if username:
            client.force_login(get_user_model().objects.get(username=username))
        return client

    return make


@pytest.fixture
def page_as(leads_demo):
    """A Django test client signed in as the named demo user."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    def make(username: str) -> Client:
        client = Client()
        client.force_login(get_user_model().objects.get(username=username))
        return client

    return make


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """Uploaded lead files go to the test's own folder, never to the real media directory."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def channel(db):
    """A channel with its consent wording, for imports."""
    return Channel.objects.create(code="web", name="官网赠险", consent_wording="本人同意接听")


@pytest.fixture
def officer(db):
    return data_officer()
