"""The JSON API: the same services and selectors as the pages, one error shape."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.operations.models import Delivery, PremiumDue, RenewalTask, ReturnVisit
from telesales.operations.scheduling import add_months, operations_advance, operations_sync

TODAY = timezone.localdate()
BASE = "/api/v1/operations"


@pytest.fixture
def book(world, policy):
    mine = policy(issued_on=add_months(TODAY, -12), number="API-1")
    bobs = policy(issued_on=add_months(TODAY, -12), agent=world.bob, number="API-2")
    fresh = policy(
        issued_on=TODAY - dt.timedelta(days=2),
        status="issued",
        receipt_date=None,
        free_look_end=None,
        number="API-3",
    )
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    return mine, bobs, fresh


def test_anonymous_gets_401(world):
    assert_error_shape(JsonClient().get(f"{BASE}/renewal-tasks"), 401)


def test_renewal_queue_is_scoped(world, api_for, book):
    _mine, bobs, _fresh = book
    ops = api_for(world.ops).get(f"{BASE}/renewal-tasks?queue=today").json()
    assert {t["policy"]["number"] for t in ops} == {"API-1", "API-2"}
    assert all("*" in t["policy"]["mobile_masked"] for t in ops)
    alice = api_for(world.alice).get(f"{BASE}/renewal-tasks?queue=open").json()
    assert [t["policy"]["number"] for t in alice] == ["API-1"]
    due = api_for(world.alice).get(f"{BASE}/renewal-tasks/due").json()
    assert [t["policy"]["number"] for t in due] == ["API-1"]
    task_b = RenewalTask.objects.get(policy=bobs)
    assert_error_shape(api_for(world.alice).get(f"{BASE}/renewal-tasks/{task_b.pk}"), 404)
    assert_error_shape(api_for(world.hr).get(f"{BASE}/renewal-tasks"), 403)
    assert_error_shape(api_for(world.ops).get(f"{BASE}/renewal-tasks?queue=nope"), 422)


def test_pay_contact_and_assign(world, api_for, book):
    mine, _bobs, _fresh = book
    due = PremiumDue.objects.get(policy=mine, period=2)
    task = RenewalTask.objects.get(premium_due=due)
    body = assert_error_shape(
        api_for(world.ops).post_json(
            f"{BASE}/premiums/{due.pk}/pay", {"paid_date": TODAY.isoformat(), "amount": "1199"}
        ),
        422,
        "amount_mismatch",
    )
    assert "amount" in body["details"]["fields"]
    assert_error_shape(
        api_for(world.alice).post_json(
            f"{BASE}/premiums/{due.pk}/pay", {"paid_date": TODAY.isoformat(), "amount": "1200"}
        ),
        403,
    )
    contact = api_for(world.alice).post_json(
        f"{BASE}/renewal-tasks/{task.pk}/contact", {"outcome": "promised", "note": "明天缴"}
    )
    assert contact.status_code == 200 and contact.json()["contact_count"] == 1
    assign = api_for(world.ops).post_json(
        f"{BASE}/renewal-tasks/{task.pk}/assign", {"owner_id": None}
    )
    assert assign.status_code == 200 and assign.json()["owner_id"] is None
    paid = api_for(world.ops).post_json(
        f"{BASE}/premiums/{due.pk}/pay", {"paid_date": TODAY.isoformat(), "amount": "1200.00"}
    )
    assert paid.status_code == 200 and paid.json()["status"] == "paid"
    assert_error_shape(
        api_for(world.ops).post_json(
            f"{BASE}/premiums/{due.pk}/pay", {"paid_date": TODAY.isoformat(), "amount": "1200"}
        ),
        409,
        "wrong_premium_status",
    )


def test_servicing_detail_and_in_force_changes(world, api_for, book):
    mine, _bobs, _fresh = book
    detail = api_for(world.alice).get(f"{BASE}/policies/{mine.pk}").json()
    assert detail["status"] == "in_force" and detail["premiums"][0]["status"] == "paid"
    assert detail["delivery"]["receipt_confirmed_on"] and detail["return_visit"]["status"] == "open"
    assert_error_shape(
        api_for(world.ops).post_json(
            f"{BASE}/policies/{mine.pk}/reinstate", {"on": TODAY.isoformat()}
        ),
        409,
        "policy_not_in_force",
    )
    ended = api_for(world.ops).post_json(
        f"{BASE}/policies/{mine.pk}/end",
        {"status": "claim_terminated", "on": TODAY.isoformat(), "note": "理赔终止"},
    )
    assert ended.status_code == 200 and ended.json()["status"] == "claim_terminated"
    owner = api_for(world.ops).post_json(
        f"{BASE}/policies/{mine.pk}/owner", {"owner_id": 10**9, "reason": "x"}
    )
    assert_error_shape(owner, 404)


def test_ending_before_the_lapse_is_a_422_and_changes_nothing(world, api_for, policy):
    p = policy(issued_on=dt.date(2022, 1, 10), number="API-LAPSED")
    operations_sync(today=dt.date(2022, 1, 11))
    operations_advance(today=dt.date(2023, 3, 12))
    url = f"{BASE}/policies/{p.pk}/end"
    early = api_for(world.ops).post_json(
        url, {"status": "surrendered", "on": "2023-03-11", "note": "客户退保"}
    )
    assert_error_shape(early, 422, "validation_failed")
    body = early.json()
    assert body["message"] == "已失效保单的终止日期不能早于失效日期（2023-03-12）"
    assert body["details"]["fields"]["on"] == [body["message"]]
    assert api_for(world.ops).get(f"{BASE}/policies/{p.pk}").json()["status"] == "lapsed"
    assert PremiumDue.objects.get(policy=p, period=2).status == "lapsed"
    ended = api_for(world.ops).post_json(
        url, {"status": "surrendered", "on": "2023-03-12", "note": "客户退保"}
    )
    assert ended.status_code == 200 and ended.json()["status"] == "surrendered"
    assert PremiumDue.objects.get(policy=p, period=2).status == "lapsed"


@pytest.mark.parametrize(
    ("text", "error"), [("", "必须填写备注"), ("  ", "必须填写备注"), ("退", "至少 2 个字符")]
)
def test_a_missing_note_is_required_and_a_one_character_note_too_short(
    world, api_for, book, text, error
):
    mine, _bobs, _fresh = book
    ops = api_for(world.ops)
    ended = ops.post_json(
        f"{BASE}/policies/{mine.pk}/end",
        {"status": "surrendered", "on": TODAY.isoformat(), "note": text},
    )
    assert assert_error_shape(ended, 422)["details"]["fields"] == {"note": [error]}
    due = PremiumDue.objects.get(policy=mine, period=2)
    waived = ops.post_json(f"{BASE}/premiums/{due.pk}/waive", {"reason": text})
    assert assert_error_shape(waived, 422)["details"]["fields"] == {"reason": [error]}
    assert ops.get(f"{BASE}/policies/{mine.pk}").json()["status"] == "in_force"
    assert PremiumDue.objects.get(pk=due.pk).status == "due"


def test_a_premium_of_a_lapsed_policy_cannot_be_waived(world, api_for, policy):
    p = policy(issued_on=dt.date(2022, 1, 10), number="API-LAPSED")
    operations_sync(today=dt.date(2022, 1, 11))
    operations_advance(today=dt.date(2023, 3, 12))
    later = PremiumDue.objects.get(policy=p, period=3)
    body = assert_error_shape(
        api_for(world.ops).post_json(f"{BASE}/premiums/{later.pk}/waive", {"reason": "客户豁免"}),
        409,
    )
    assert body["code"] == "policy_not_in_force"
    assert "API-LAPSED" in body["message"] and "2023-03-12" in body["message"]
    assert PremiumDue.objects.get(pk=later.pk).status == "due"


def test_persistency_api_refuses_a_month_that_has_not_begun(world, api_for):
    following = f"{TODAY.replace(day=28) + dt.timedelta(days=7):%Y-%m}"
    for path in ("persistency", "persistency/breakdown", "persistency/trend"):
        body = assert_error_shape(
            api_for(world.manager).get(f"{BASE}/{path}?month={following}"), 422
        )
        assert following in body["message"] and list(body["details"]["fields"]) == ["month"]
    far = assert_error_shape(api_for(world.manager).get(f"{BASE}/persistency?month=2101-01"), 422)
    assert "2000" in far["message"] and "2100" in far["message"]


def test_a_team_leads_breakdown_keeps_to_their_teams(world, api_for, policy):
    month = add_months(TODAY, -1)
    issued = add_months(month, -12)
    policy(issued_on=issued, annualised_premium=Decimal("1000"))
    policy(issued_on=issued, annualised_premium=Decimal("500"), team=world.team_b)
    operations_sync(today=TODAY)
    url = f"{BASE}/persistency/breakdown?month={month:%Y-%m}"
    rows = api_for(world.lead_a).get(url).json()
    assert [r["name"] for r in rows] == ["A组"]
    assert {r["name"] for r in api_for(world.manager).get(url).json()} == {"A组", "B组"}
    one = api_for(world.manager).get(f"{url}&team_id={world.team_b.pk}").json()
    assert [r["name"] for r in one] == ["B组"]
    assert_error_shape(api_for(world.lead_a).get(f"{url}&team_id={world.team_b.pk}"), 404)


def test_delivery_endpoints(world, api_for, book):
    _mine, _bobs, fresh = book
    delivery = Delivery.objects.get(policy=fresh)
    url = f"{BASE}/deliveries/{delivery.pk}"
    assert_error_shape(
        api_for(world.ops).post_json(f"{url}/delivered", {"day": TODAY.isoformat()}),
        409,
        "wrong_delivery_status",
    )
    sent = api_for(world.ops).post_json(f"{url}/send", {"sent_on": TODAY.isoformat()})
    assert sent.status_code == 200 and sent.json()["status"] == "sent"
    failed = api_for(world.ops).post_json(
        f"{url}/failed", {"day": TODAY.isoformat(), "problem": "邮件退回"}
    )
    assert failed.json()["status"] == "failed"
    problems = api_for(world.ops).get(f"{BASE}/deliveries?queue=problem").json()
    assert [d["policy_number"] for d in problems] == ["API-3"]
    api_for(world.ops).post_json(f"{url}/send", {"sent_on": TODAY.isoformat()})
    receipt = api_for(world.ops).post_json(f"{url}/receipt", {"day": TODAY.isoformat()})
    assert (
        receipt.status_code == 200 and receipt.json()["receipt_confirmed_on"] == TODAY.isoformat()
    )
    fresh.refresh_from_db()
    assert fresh.status == "receipt_confirmed"


def test_return_visit_endpoints_and_misunderstanding_counts(world, api_for, book):
    mine, _bobs, _fresh = book
    visit = ReturnVisit.objects.get(policy=mine)
    assert_error_shape(
        api_for(world.ops).post_json(
            f"{BASE}/return-visits/{visit.pk}/record", {"outcome": "misunderstanding"}
        ),
        422,
    )
    done = api_for(world.ops).post_json(
        f"{BASE}/return-visits/{visit.pk}/record",
        {"outcome": "misunderstanding", "note": "不清楚等待期"},
    )
    assert done.status_code == 200 and done.json()["flagged_to_id"] == world.lead_a.pk
    counts = api_for(world.manager).get(f"{BASE}/misunderstandings").json()
    assert counts == [
        {
            "agent_id": world.alice.pk,
            "agent_name": "alice",
            "team_name": "A组",
            "found": 1,
            "open": 1,
        }
    ]
    assert_error_shape(
        api_for(world.lead_b).post_json(
            f"{BASE}/return-visits/{visit.pk}/resolve", {"note": "ok!"}
        ),
        404,
    )
    resolved = api_for(world.lead_a).post_json(
        f"{BASE}/return-visits/{visit.pk}/resolve", {"note": "已解释"}
    )
    assert resolved.status_code == 200 and resolved.json()["counts_as_done"] is True
    status = api_for(world.ops).get(f"{BASE}/withholding?policy_ids={mine.pk}").json()
    assert status == [
        {
            "policy_id": mine.pk,
            "receipt_done": True,
            "return_visit_required": True,
            "return_visit_done": True,
        }
    ]
    assert_error_shape(api_for(world.alice).get(f"{BASE}/withholding?policy_ids=1"), 403)
    assert_error_shape(api_for(world.ops).get(f"{BASE}/withholding?policy_ids=1;2"), 422)


def test_receipt_import_endpoint(world, api_for, book):
    content = f"保单号,期次,金额,缴费日期\nAPI-1,2,1200,{TODAY}\nAPI-2,2,1,{TODAY}\n".encode()
    upload = io.BytesIO(content)
    upload.name = "r.csv"
    response = api_for(world.ops).post(f"{BASE}/receipts", {"file": upload})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["applied"] == 1
    assert [(r["row_number"], r["reason"]) for r in body["rejections"]] == [(3, "wrong_amount")]
    assert (
        "1.00" in body["rejections"][0]["detail"] and "1200.00" in body["rejections"][0]["detail"]
    )
    report = api_for(world.ops).get(f"{BASE}/receipts/{body['id']}/rejections?format=xlsx")
    assert report.status_code == 200
    assert_error_shape(
        api_for(world.ops).get(f"{BASE}/receipts/{body['id']}/rejections?format=pdf"), 422
    )
    empty = io.BytesIO(b"")
    empty.name = "e.csv"
    assert_error_shape(
        api_for(world.ops).post(f"{BASE}/receipts", {"file": empty}), 422, "receipt_file_refused"
    )
    assert_error_shape(api_for(world.alice).post(f"{BASE}/receipts", {"file": upload}), 403)


def test_persistency_endpoints(world, api_for, policy):
    p = policy(issued_on=add_months(TODAY, -13), annualised_premium=Decimal("1000"))
    operations_sync(today=TODAY)
    due = PremiumDue.objects.get(policy=p, period=2)
    from telesales.operations.services import premium_payment_record

    premium_payment_record(due=due, paid_date=due.due_date, amount=due.amount, actor="cli")
    month = f"{add_months(TODAY, -1):%Y-%m}"
    body = api_for(world.manager).get(f"{BASE}/persistency?month={month}").json()
    assert body["13m"]["numerator"] == "1000.00" and body["13m"]["denominator"] == "1000.00"
    assert body["13m"]["rate"] == "1.0000" and body["month"] == month
    mine = api_for(world.bob).get(f"{BASE}/persistency?month={month}").json()
    assert mine["agent_id"] == world.bob.pk and mine["13m"]["denominator"] == "0.00"
    assert_error_shape(api_for(world.manager).get(f"{BASE}/persistency?month=2026-1"), 422)
    rows = api_for(world.manager).get(f"{BASE}/persistency/breakdown?month={month}&by=agent").json()
    assert rows[0]["name"] == "alice" and rows[0]["13m"]["rate"] == "1.0000"
    trend = api_for(world.lead_a).get(f"{BASE}/persistency/trend?month={month}&months=3").json()
    assert [r["month"] for r in trend][-1] == month and len(trend) == 3
    assert_error_shape(api_for(world.hr).get(f"{BASE}/persistency?month={month}"), 403)


def test_rules_endpoints(world, api_for):
    assert api_for(world.planner).get(f"{BASE}/rules").status_code == 200
    created = api_for(world.manager).post_json(
        f"{BASE}/rules",
        {
            "name": "v2",
            "effective_from": TODAY.isoformat(),
            "grace_days": 30,
            "reminder_days_before": [10],
        },
    )
    assert created.status_code == 201 and created.json()["grace_days"] == 30
    assert_error_shape(
        api_for(world.ops).post_json(
            f"{BASE}/rules", {"name": "v3", "effective_from": TODAY.isoformat()}
        ),
        403,
    )
    assert_error_shape(
        api_for(world.manager).post_json(
            f"{BASE}/rules",
            {"name": "v3", "effective_from": TODAY.isoformat(), "return_visit_products": ["zzz"]},
        ),
        422,
    )
    summary = api_for(world.ops).get(f"{BASE}/summary").json()
    assert set(summary) >= {"due_today", "in_grace", "lapsed", "deliveries", "visits_due"}
