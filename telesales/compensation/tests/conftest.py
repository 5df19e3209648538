"""The compensation tests assert the English reasons of the rule-file errors: run them in
English so that the zh-Hans catalogue (the default language) cannot change what they read."""

from __future__ import annotations

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield
