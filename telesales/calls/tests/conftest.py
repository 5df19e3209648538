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


@pytest.fixture
def center_afternoon(settings):
    """The center's clock in the afternoon (about 16:00), whatever time the suite runs: tests
    of "today" whose records reach minutes or hours back (a break since ten minutes ago, a
    call dialled three hours ago) would otherwise find them on yesterday's side of midnight
    (CI at 00:05 Shanghai time failed eight of them). The center's zone becomes a fixed-offset
    one in which it is now 16:xx; calling windows keep the customers' own zones."""
    import datetime as _dt

    from django.utils import timezone as _tz

    shift = (16 - _tz.now().astimezone(_dt.UTC).hour) % 24
    if shift > 14:
        shift -= 24
    settings.TIME_ZONE = "UTC" if shift == 0 else f"Etc/GMT{-shift:+d}"
    return settings.TIME_ZONE
