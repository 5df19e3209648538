"""Fixtures for the calls tests: a clock inside the calling window, the default dispositions,
and registered agents."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from telesales.core.tests.api_helpers import JsonClient

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(y, m, d, hh=0, mm=0, ss=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _dispositions(request):
    """The default dispositions and call rules (a transactional test's flush removes the
    rows the data migration made)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return
    transactional = marker.kwargs.get("transaction", False)
    request.getfixturevalue("transactional_db" if transactional else "db")
    from telesales.calls.reference_data import calls_reference_data_ensure

    calls_reference_data_ensure()


@pytest.fixture
def dispo():
    from telesales.calls.models import Disposition

    return lambda code: Disposition.objects.get(code=code)


@pytest.fixture
def agent(db):
    from telesales.calls.tests.factories import registered_agent

    return registered_agent()


@pytest.fixture
def api_for():
    """A JSON client signed in as ``user``."""

    def make(user) -> JsonClient:
        client = JsonClient()
        if user is not None:
            client.force_login(user)
        return client

    return make
