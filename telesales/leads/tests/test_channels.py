"""Source channels: the data officer creates and edits them (page and API), audited; bad input
is refused field by field and changes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from telesales.core.models import AuditEntry
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.leads.models import Channel

pytestmark = pytest.mark.django_db

API = "/api/v1/leads/channels"


def _json_client(user_named, username: str) -> JsonClient:
    client = JsonClient()
    client.force_login(user_named(username))
    return client


def test_data_officer_creates_a_channel_from_the_page(client_for):
    client = client_for("data")
    response = client.post(
        reverse("leads:channel_create"),
        {
            "code": "gift-2026",
            "name": "赠险活动 2026",
            "default_cost_per_lead": "3.50",
            "consent_wording": "本人同意接听保险产品介绍电话",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.get(code="gift-2026")
    assert channel.default_cost_per_lead == Decimal("3.50") and channel.is_active
    assert AuditEntry.objects.filter(
        action="leads.channel_create", object_id=str(channel.pk)
    ).exists()
    listing = client.get(reverse("leads:channel_list"))
    assert "gift-2026" in listing.content.decode()


def test_editing_keeps_the_code_and_records_before_and_after(client_for):
    channel = Channel.objects.create(code="partner-a", name="合作方A")
    client = client_for("data")
    response = client.post(
        reverse("leads:channel_update", args=[channel.pk]),
        {"code": "changed", "name": "合作方A（新）", "default_cost_per_lead": "8"},
    )
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.code == "partner-a"  # the code is not editable
    assert channel.name == "合作方A（新）" and not channel.is_active
    entry = AuditEntry.objects.get(action="leads.channel_update")
    assert entry.before["name"] == "合作方A" and entry.after["name"] == "合作方A（新）"


@pytest.mark.parametrize(
    ("field", "value"),
    [("default_cost_per_lead", "-1"), ("default_cost_per_lead", "abc"), ("name", "")],
)
def test_bad_values_are_refused_and_nothing_is_saved(client_for, field, value):
    data = {"code": "bad-one", "name": "坏渠道", "default_cost_per_lead": "1", field: value}
    response = client_for("data").post(reverse("leads:channel_create"), data)
    assert response.status_code == 422
    assert f'data-testid="field-error-{field}"' in response.content.decode()
    assert not Channel.objects.filter(code="bad-one").exists()


def test_a_taken_or_malformed_code_is_refused(client_for):
    Channel.objects.create(code="taken", name="x")
    client = client_for("data")
    taken = client.post(
        reverse("leads:channel_create"),
        {"code": "taken", "name": "y", "default_cost_per_lead": "0"},
    )
    assert taken.status_code == 409
    assert Channel.objects.filter(code="taken").get().name == "x"
    spaced = client.post(
        reverse("leads:channel_create"),
        {"code": "two words", "name": "y", "default_cost_per_lead": "0"},
    )
    assert spaced.status_code == 422
    assert not Channel.objects.filter(name="y").exists()


@pytest.mark.parametrize("username", ["agent1", "teamlead1", "hr"])
def test_other_roles_cannot_open_the_channel_pages(client_for, username):
    client = client_for(username)
    assert client.get(reverse("leads:channel_list")).status_code == 403
    assert client.get(reverse("leads:channel_create")).status_code == 403


def test_the_planner_reads_but_cannot_edit(client_for):
    client = client_for("planner")
    assert client.get(reverse("leads:channel_list")).status_code == 200
    assert client.get(reverse("leads:channel_create")).status_code == 403


def test_api_creates_and_updates_a_channel(user_named):
    client = _json_client(user_named, "data")
    created = client.post_json(
        API, {"code": "api-ch", "name": "接口渠道", "default_cost_per_lead": "2.5"}
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["code"] == "api-ch" and Decimal(body["default_cost_per_lead"]) == Decimal("2.50")
    updated = client.patch_json(f"{API}/{body['id']}", {"is_active": False})
    assert updated.status_code == 200
    assert updated.json()["is_active"] is False and updated.json()["name"] == "接口渠道"


def test_api_errors_have_the_one_shape(user_named):
    client = _json_client(user_named, "data")
    Channel.objects.create(code="dup", name="x")
    assert_error_shape(client.post_json(API, {"code": "dup", "name": "y"}), 409, "conflict")
    assert_error_shape(
        client.post_json(API, {"code": "neg", "name": "y", "default_cost_per_lead": "-3"}), 422
    )
    assert_error_shape(client.post_json(API, {"code": "x", "name": "y" * 101}), 422)
    assert_error_shape(client.patch_json(f"{API}/999999", {"name": "z"}), 404)
    agent = _json_client(user_named, "agent1")
    assert_error_shape(agent.post_json(API, {"code": "a1", "name": "y"}), 403)
    assert not Channel.objects.filter(code__in=["neg", "x", "a1"]).exists()


def test_a_channel_has_a_name_not_a_persons_name(client_for):
    """The form and the list call the channel's name 名称 (姓名 is a person's name)."""
    client = client_for("data")
    form = client.get(reverse("leads:channel_create")).content.decode()
    listing = client.get(reverse("leads:channel_list")).content.decode()
    assert "名称" in form and "姓名" not in form
    assert "<th>名称</th>" in listing and "<th>姓名</th>" not in listing
