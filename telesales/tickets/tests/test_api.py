"""The tickets API: who may call each operation, a happy path each, the error shapes (422 with
fields, 409 with a stable code, 403, 404, 401) for bad input, and no full phone number in any
answer."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from telesales.core.phone_numbers import PHONE_LIKE
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.tickets.models import SlaRuleSet, Ticket
from telesales.tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/tickets"


def body(**kw) -> dict:
    data = {"kind": "complaint", "channel": "phone", "subject": "客户投诉", "description": "详情"}
    data.update(kw)
    return data


def test_every_operation_is_in_the_openapi_document(api_for, world):
    document = api_for(world.ops).get("/api/v1/openapi.json").json()
    ids = {op["operationId"] for path in document["paths"].values() for op in path.values()}
    assert {
        "tickets_ticket_list",
        "tickets_ticket_open",
        "tickets_ticket_get",
        "tickets_ticket_assign",
        "tickets_ticket_respond",
        "tickets_ticket_resolve",
        "tickets_ticket_close",
        "tickets_ticket_reopen",
        "tickets_sla_report",
        "tickets_complaint_rate",
        "tickets_ruleset_list",
        "tickets_ruleset_get",
        "tickets_ruleset_create",
    } <= ids


def test_without_credentials_every_operation_answers_401(world):
    client = JsonClient()
    ticket = TicketFactory()
    for method, path in (
        ("get", f"{BASE}/tickets"),
        ("post", f"{BASE}/tickets"),
        ("get", f"{BASE}/tickets/{ticket.pk}"),
        ("post", f"{BASE}/tickets/{ticket.pk}/respond"),
        ("get", f"{BASE}/reports/sla"),
        ("get", f"{BASE}/sla-rules"),
    ):
        response = client.get(path) if method == "get" else client.post_json(path, {})
        assert_error_shape(response, 401, "authentication_required")


# --- Open and read -------------------------------------------------------------------------
def test_open_answers_201_with_the_ticket_and_its_due_times(api_for, world):
    response = api_for(world.ops).post_json(
        f"{BASE}/tickets",
        body(priority="urgent", policy_id=world.policy.pk, owner_id=world.ops.pk),
    )
    assert response.status_code == 201, response.content
    data = response.json()
    ticket = Ticket.objects.get(pk=data["id"])
    assert data["number"] == ticket.number and data["status"] == "open"
    assert data["customer_id"] == world.holder.pk and data["agent_id"] == world.alice.pk
    assert data["owner_name"] == "ops"
    assert data["customer_mobile_masked"] == (
        f"{world.holder.mobile_e164[3:6]}****{world.holder.mobile_e164[-4:]}"
    )
    assert [e["action"] for e in data["events"]] == ["open"]
    assert ticket.response_due_at - ticket.opened_at == timezone.timedelta(hours=2)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (body(kind="praise"), "kind"),
        (body(channel="fax"), "channel"),
        (body(priority="p0"), "priority"),
        (body(subject=""), "subject"),
        (body(subject="x" * 201), "subject"),
        (body(description="y" * 5001), "description"),
        (body(subject="客户\u0000投诉"), "subject"),
        (body(description="a\u0000b"), "description"),
        (body(customer_id=0), "customer_id"),
        (body(customer_id=2**70), "customer_id"),
        (body(opened_at="yesterday"), "opened_at"),
        ({"channel": "phone", "subject": "缺少类别"}, "kind"),
    ],
)
def test_open_refuses_bad_bodies_with_422_and_the_field(api_for, world, payload, field):
    response = api_for(world.ops).post_json(f"{BASE}/tickets", payload)
    data = assert_error_shape(response, 422, "validation_failed")
    assert field in data["details"]["fields"], data
    assert not Ticket.objects.exists()


def test_open_refuses_a_policy_of_another_customer_and_unknown_ids(api_for, world):
    client = api_for(world.ops)
    response = client.post_json(
        f"{BASE}/tickets", body(customer_id=world.holder.pk, policy_id=world.other_policy.pk)
    )
    assert "policy" in assert_error_shape(response, 422)["details"]["fields"]
    response = client.post_json(f"{BASE}/tickets", body(customer_id=999_999))
    assert "customer" in assert_error_shape(response, 422)["details"]["fields"]
    response = client.post_json(f"{BASE}/tickets", body(opened_at="2099-01-01T00:00:00+08:00"))
    assert "opened_at" in assert_error_shape(response, 422)["details"]["fields"]
    response = client.post_json(f"{BASE}/tickets", "{not json")
    assert_error_shape(response, (400, 422))
    assert not Ticket.objects.exists()


def test_roles_without_tickets_get_403_and_out_of_sight_is_404(api_for, world):
    ticket = TicketFactory(owner=world.bob)
    assert_error_shape(api_for(world.hr).get(f"{BASE}/tickets"), 403, "permission_denied")
    assert_error_shape(api_for(world.hr).post_json(f"{BASE}/tickets", body()), 403)
    assert_error_shape(api_for(world.alice).get(f"{BASE}/tickets/{ticket.pk}"), 404, "not_found")
    assert_error_shape(api_for(world.alice).get(f"{BASE}/tickets/999999"), 404)
    assert api_for(world.bob).get(f"{BASE}/tickets/{ticket.pk}").status_code == 200


def test_refusals_are_in_the_users_language(api_for, world):
    """The API answers in the UI language (Chinese by default), never in raw English."""
    hr = api_for(world.hr)
    data = assert_error_shape(hr.get(f"{BASE}/tickets"), 403, "permission_denied")
    assert data["message"] == "您的角色无权访问服务工单"
    data = assert_error_shape(api_for(world.alice).get(f"{BASE}/reports/sla"), 403)
    assert data["message"] == "您的角色无权查看服务时限报表"
    data = assert_error_shape(
        api_for(world.ops).post_json(f"{BASE}/tickets", body(customer_id=999_999)), 422
    )
    assert data["message"] == "输入有误"
    assert data["details"]["fields"]["customer"] == ["记录不存在。"]
    data = assert_error_shape(
        api_for(world.boss).post_json(
            f"{BASE}/sla-rules",
            {
                "name": "新版",
                "effective_from": timezone.localdate().isoformat(),
                "based_on_id": 999,
            },
        ),
        422,
    )
    assert data["details"]["fields"]["based_on_id"] == ["规则集不存在。"]


def test_list_filters_and_has_a_query_ceiling(api_for, world):
    for _ in range(3):
        TicketFactory(
            owner=world.ops,
            customer=world.holder,
            agent=world.alice,
            policy=world.policy,
            hours_ago=100,
        )
    TicketFactory(owner=None)
    client = api_for(world.ops)
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(f"{BASE}/tickets").json()) == 4
    for _ in range(20):
        TicketFactory(owner=world.ops, customer=world.holder, agent=world.alice)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(f"{BASE}/tickets").json()) == 24
    assert len(many) == len(few) <= 10
    assert len(client.get(f"{BASE}/tickets?overdue=true").json()) == 3
    assert len(client.get(f"{BASE}/tickets?unassigned=true").json()) == 1
    assert client.get(f"{BASE}/tickets?status=closed").json() == []
    assert_error_shape(client.get(f"{BASE}/tickets?status=lost"), 422)
    assert_error_shape(client.get(f"{BASE}/tickets?limit=501"), 422)
    assert_error_shape(client.get(f"{BASE}/tickets?q=%00"), 422)


# --- The life cycle --------------------------------------------------------------------------
def test_assign_respond_resolve_close_reopen_through_the_api(api_for, world):
    client = api_for(world.ops)
    ticket_id = client.post_json(f"{BASE}/tickets", body()).json()["id"]
    url = f"{BASE}/tickets/{ticket_id}"
    data = client.post_json(f"{url}/assign", {"owner_id": world.carol.pk, "note": "转给她"}).json()
    assert data["owner_id"] == world.carol.pk
    carol = api_for(world.carol)
    data = carol.post_json(f"{url}/respond", {"note": "已回电", "waiting_customer": True}).json()
    assert data["status"] == "waiting_customer" and data["first_response_at"]
    data = carol.post_json(f"{url}/resolve", {"resolution": "已致歉并处理"}).json()
    assert data["status"] == "resolved" and data["resolution"] == "已致歉并处理"
    data = carol.post_json(f"{url}/close", {"note": "客户确认"}).json()
    assert data["status"] == "closed"
    data = client.post_json(f"{url}/reopen", {"reason": "客户再次来电"}).json()
    assert data["status"] == "in_progress" and data["reopen_count"] == 1
    assert [e["action"] for e in data["events"]] == [
        "open",
        "assign",
        "respond",
        "resolve",
        "close",
        "reopen",
    ]


def test_refused_transitions_answer_409_with_a_stable_code(api_for, world):
    client = api_for(world.ops)
    ticket_id = client.post_json(f"{BASE}/tickets", body()).json()["id"]
    url = f"{BASE}/tickets/{ticket_id}"
    assert_error_shape(
        client.post_json(f"{url}/respond", {"note": "x"}), 409, "ticket_not_assigned"
    )
    assert_error_shape(client.post_json(f"{url}/close", {}), 409, "ticket_wrong_status")
    assert_error_shape(
        client.post_json(f"{url}/reopen", {"reason": "x"}), 409, "ticket_wrong_status"
    )
    client.post_json(f"{url}/assign", {"owner_id": world.ops.pk})
    client.post_json(f"{url}/resolve", {"resolution": "ok"})
    assert_error_shape(
        client.post_json(f"{url}/resolve", {"resolution": "ok"}), 409, "ticket_wrong_status"
    )
    assert_error_shape(client.post_json(f"{url}/assign", {"owner_id": world.carol.pk}), 409)


def test_assignment_refusals(api_for, world):
    ops = api_for(world.ops)
    ticket_id = ops.post_json(f"{BASE}/tickets", body(agent_id=world.alice.pk)).json()["id"]
    url = f"{BASE}/tickets/{ticket_id}/assign"
    data = assert_error_shape(
        ops.post_json(url, {"owner_id": world.alice.pk}), 422, "owner_not_eligible"
    )
    assert "owner" in data["details"]["fields"]
    assert_error_shape(ops.post_json(url, {"owner_id": world.hr.pk}), 422, "owner_not_eligible")
    assert_error_shape(ops.post_json(url, {"owner_id": 999_999}), 422, "validation_failed")
    assert_error_shape(ops.post_json(url, {"owner_id": "me"}), 422, "validation_failed")
    assert_error_shape(
        api_for(world.alice).post_json(url, {"owner_id": world.alice.pk}), (403, 404)
    )
    lead = api_for(world.lead_a)
    assert_error_shape(lead.post_json(url, {"owner_id": world.bob.pk}), 422, "owner_not_eligible")
    assert lead.post_json(url, {"owner_id": world.carol.pk}).status_code == 200


@pytest.mark.parametrize(
    ("action", "payload", "field"),
    [
        ("respond", {"note": ""}, "note"),
        ("respond", {"note": "x" * 2001}, "note"),
        ("respond", {"note": "a\u0000"}, "note"),
        ("respond", {"note": "ok", "waiting_customer": "maybe"}, "waiting_customer"),
        ("resolve", {"resolution": "z" * 5001}, "resolution"),
        ("resolve", {}, "resolution"),
        ("close", {"note": "n" * 2001}, "note"),
        ("reopen", {"reason": ""}, "reason"),
    ],
)
def test_bad_action_bodies_are_422_with_the_field(api_for, world, action, payload, field):
    ticket = TicketFactory(owner=world.ops)
    response = api_for(world.ops).post_json(f"{BASE}/tickets/{ticket.pk}/{action}", payload)
    assert field in assert_error_shape(response, 422, "validation_failed")["details"]["fields"]


# --- Reports and rules -----------------------------------------------------------------------
def test_reports_answer_the_figures_to_the_roles_that_see_them(api_for, world):
    TicketFactory(owner=world.alice, hours_ago=100)
    TicketFactory(owner=world.ops, kind="complaint")
    data = api_for(world.ops).get(f"{BASE}/reports/sla").json()
    assert data["total"]["opened"] == 2 and data["total"]["overdue"] == 1
    assert len(data["by_month"]) == 6 and len(data["by_kind"]) == 5
    assert api_for(world.lead_a).get(f"{BASE}/reports/sla").json()["total"]["opened"] == 1
    assert_error_shape(api_for(world.alice).get(f"{BASE}/reports/sla"), 403)
    rate = api_for(world.boss).get(f"{BASE}/reports/complaint-rate").json()
    assert rate["complaints"] == 2 and rate["policies_in_force"] == 2
    assert rate["rate_per_1000"] == "1000.00"
    assert len(rate["by_month"]) == 6
    assert_error_shape(api_for(world.lead_a).get(f"{BASE}/reports/complaint-rate"), 403)
    bad = api_for(world.ops).get(f"{BASE}/reports/sla?since=2026-10-10&until=2026-10-01")
    body = assert_error_shape(bad, 422)
    messages = [m for ms in body["details"]["fields"].values() for m in ms]
    assert messages == ["起始日期（since）不能晚于结束日期（until）"]
    long = assert_error_shape(
        api_for(world.ops).get(f"{BASE}/reports/sla?since=2020-01-01&until=2026-01-01"), 422
    )
    assert next(m for ms in long["details"]["fields"].values() for m in ms).startswith("最多 ")
    assert_error_shape(api_for(world.ops).get(f"{BASE}/reports/sla?since=notadate"), 422)
    # A start alone, centuries back, used to run one query per month since then (found by
    # schemathesis: a request that did not answer within 10 s).
    for report in ("sla", "complaint-rate"):
        far = api_for(world.boss).get(f"{BASE}/reports/{report}?since=0314-11-19")
        assert_error_shape(far, 422)
        assert "since" in far.json()["details"]["fields"]


def test_sla_rules_read_by_operations_and_written_by_the_manager(api_for, world):
    ops = api_for(world.ops)
    rows = ops.get(f"{BASE}/sla-rules").json()
    assert [r["id"] for r in rows] == [world.ruleset.pk] and len(rows[0]["targets"]) == 20
    assert ops.get(f"{BASE}/sla-rules/{world.ruleset.pk}").json()["name"] == world.ruleset.name
    assert_error_shape(ops.get(f"{BASE}/sla-rules/999999"), 404)
    new = {
        "name": "2027 服务时限",
        "effective_from": timezone.localdate().isoformat(),
        "based_on_id": world.ruleset.pk,
        "manager_escalation_hours": 12,
        "targets": {"complaint": {"urgent": {"response_hours": 1, "resolution_hours": 12}}},
    }
    assert_error_shape(ops.post_json(f"{BASE}/sla-rules", new), 403)
    boss = api_for(world.boss)
    response = boss.post_json(f"{BASE}/sla-rules", new)
    assert response.status_code == 201, response.content
    created = SlaRuleSet.objects.get(pk=response.json()["id"])
    assert created.manager_escalation_hours == 12
    bad = {
        **new,
        "targets": {"complaint": {"urgent": {"response_hours": 30, "resolution_hours": 20}}},
    }
    data = assert_error_shape(boss.post_json(f"{BASE}/sla-rules", bad), 422)
    assert "complaint__urgent__resolution" in data["details"]["fields"]
    for broken in (
        {**new, "targets": {"praise": {}}},
        {**new, "effective_from": "2020-01-01"},
        {**new, "manager_escalation_hours": 0},
        {**new, "name": "a\u0000"},
        {**new, "based_on_id": 999_999},
    ):
        assert_error_shape(boss.post_json(f"{BASE}/sla-rules", broken), 422)


# --- Masking -------------------------------------------------------------------------------
def test_no_answer_holds_a_full_phone_number(api_for, world):
    number = world.other.mobile_e164[3:]
    client = api_for(world.ops)
    response = client.post_json(
        f"{BASE}/tickets",
        body(
            subject=f"请回拨 {number}",
            description=f"客户新号码 {number} 与 +86 {number}",
            customer_id=world.holder.pk,
            external_ref=number,
        ),
    )
    ticket_id = response.json()["id"]
    client.post_json(f"{BASE}/tickets/{ticket_id}/assign", {"owner_id": world.ops.pk})
    client.post_json(f"{BASE}/tickets/{ticket_id}/respond", {"note": f"已拨 {number}"})
    client.post_json(f"{BASE}/tickets/{ticket_id}/resolve", {"resolution": f"改用 {number}"})
    texts = [
        response.content.decode(),
        client.get(f"{BASE}/tickets/{ticket_id}").content.decode(),
        client.get(f"{BASE}/tickets?status=all").content.decode(),
        client.get(f"{BASE}/tickets?status=all&q={number}").content.decode(),
    ]
    stored = [world.holder.mobile_e164[3:], number]
    for text in texts:
        assert not PHONE_LIKE.search(text), PHONE_LIKE.search(text)
        assert not any(n in text for n in stored)
        assert not any(n in json.dumps(json.loads(text), ensure_ascii=False) for n in stored)
    assert re.search(r"1[3-9]\d\*{4}\d{4}", texts[1])


def test_a_full_phone_number_searches_the_customers_tickets(api_for, world):
    mine = TicketFactory(customer=world.holder, owner=world.ops)
    TicketFactory(customer=world.other, owner=world.ops)
    number = world.holder.mobile_e164[3:]
    spaced = f"{number[:3]}-{number[3:7]}-{number[7:]}"
    for q in (number, spaced, world.holder.mobile_e164.replace("+", "%2B")):
        rows = api_for(world.ops).get(f"{BASE}/tickets?q={q}").json()
        assert [r["id"] for r in rows] == [mine.pk], q


def test_the_list_filters_on_the_opening_days_and_refuses_a_reversed_period(api_for, world):
    today = timezone.localdate()
    old = TicketFactory(owner=world.ops, hours_ago=24 * 20)
    new = TicketFactory(owner=world.ops, hours_ago=1)
    api = api_for(world.ops)
    since = (today - timezone.timedelta(days=5)).isoformat()
    listed = api.get(f"{BASE}/tickets?status=all&since={since}").json()
    assert [t["id"] for t in listed] == [new.pk]
    until = (today - timezone.timedelta(days=10)).isoformat()
    listed = api.get(f"{BASE}/tickets?status=all&until={until}").json()
    assert [t["id"] for t in listed] == [old.pk]
    assert_error_shape(
        api.get(f"{BASE}/tickets?since={today.isoformat()}&until={until}"), 422, "validation_failed"
    )
    assert_error_shape(api.get(f"{BASE}/tickets?since=2026-02-30"), 422, "validation_failed")
