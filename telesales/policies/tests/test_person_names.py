"""A policy's history names people, not their logins (QA: "· agent3", "· renewal")."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from telesales.policies import services

pytestmark = pytest.mark.django_db


def test_policy_history_shows_the_persons_name_not_the_login(world, sell, page_for):
    world.alice.name = "李爱丽"
    world.alice.save(update_fields=["name"])
    world.renewal.name = "运营王敏"
    world.renewal.save(update_fields=["name"])
    policy = sell(at=timezone.now() - dt.timedelta(days=3))
    services.policy_issue(
        policy=policy, issued_at=timezone.now() - dt.timedelta(days=2), actor=world.renewal.user
    )

    html = page_for(world.manager).get(reverse("policies:policy_detail", args=[policy.pk]))
    html = html.content.decode()

    assert "· 李爱丽</div>" in html and "· 运营王敏</div>" in html
    assert "· alice</div>" not in html and "· renewal</div>" not in html
