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
