"""Fixtures shared by every app's tests."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model


@pytest.fixture
def demo(db):
    """A small demo center: 6 sales teams (12 agents), every back-office role, seats.

    Logins (password 'demo'): manager, teamlead1…6, agent1…12, recruiter, hr, trainer,
    planner, data, renewal.
    """
    from telesales.org.demo import seed_org_demo

    seed_org_demo(agents=12)
    return get_user_model().objects


@pytest.fixture
def user_named(demo):
    """Fetch a demo login by username, fresh (no cached roles)."""

    def get(username: str):
        return get_user_model().objects.get(username=username)

    return get


@pytest.fixture
def client_for(client, user_named):
    """A Django test client signed in as the named demo user."""

    def make(username: str):
        from django.test import Client

        c = Client()
        c.force_login(user_named(username))
        return c

    return make
