"""The call rules page: the thresholds the guards read, version by version, for the manager
(QA, session 20: they could be seen only through the API)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from telesales.calls.tests.factories import CallRuleSetFactory, UserFactory
from telesales.core.roles import Role

pytestmark = pytest.mark.django_db


def test_the_manager_reads_each_version_with_the_one_in_force_marked(db):
    today = timezone.localdate()
    old = CallRuleSetFactory(name="旧规则", effective_from=today - dt.timedelta(days=60))
    now = CallRuleSetFactory(
        name="现行规则",
        effective_from=today - dt.timedelta(days=1),
        window_start=dt.time(9, 30),
        window_end=dt.time(20, 30),
        max_attempts_per_day=2,
    )
    boss = UserFactory(username="rules-boss", roles=[Role.MANAGER])
    client = Client()
    client.force_login(boss)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("calls:callrules"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "09:30–20:30" in html and "现行规则" in html and "旧规则" in html
    head = html[html.index("现行规则") : html.index("</th>", html.index("现行规则"))]
    assert 'data-testid="callrules-in-force"' in head
    assert html.count('data-testid="callrules-in-force"') == 1
    assert old.pk != now.pk


@pytest.mark.parametrize("role", [Role.AGENT, Role.TEAM_LEAD, Role.DATA_OFFICER])
def test_other_roles_may_not_read_it(db, role):
    client = Client()
    client.force_login(UserFactory(username=f"rules-{role}", roles=[role]))
    assert client.get(reverse("calls:callrules")).status_code == 403
