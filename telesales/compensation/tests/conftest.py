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


@pytest.fixture(autouse=True)
def _own_data_dir(settings, tmp_path):
    """Each test its own data folder. The pay jobs' progress files are named by the job's
    id, which every test's database numbers from 1 again: a file left by one test's job
    (one still running, on purpose) was read as news of another test's job 1, which then
    looked alive instead of abandoned — a failure that came and went with the order the
    workers took the tests in."""
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()


@pytest.fixture
def center(db):
    """The pay-run center (payrun_world.py) with February's data."""
    return build_center()


@pytest.fixture
def march(center):
    """February computed and approved; March's data in place, not computed."""
    return build_march(center)
