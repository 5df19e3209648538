"""The compensation tests assert the English reasons of the rule-file errors: run them in
English so that the zh-Hans catalogue (the default language) cannot change what they read."""

from __future__ import annotations

import pytest
from django.utils import translation

from telesales.compensation.tests.payrun_world import build_center, build_march


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def center(db):
    """The pay-run center (payrun_world.py) with February's data."""
    return build_center()


@pytest.fixture
def march(center):
    """February computed and approved; March's data in place, not computed."""
    return build_march(center)
