"""The policies API: who may call each operation, one happy path each, and the error shapes
(422 with fields, 409 with a stable code, 403, 404); no full phone number in any answer."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from telesales.core.phone_numbers import PHONE_LIKE
from telesales.core.tests.api_helpers import assert_error_shape
from telesales.policies import services
from telesales.policies.choices import PolicyStatus, TaskKind
from telesales.policies.models import Policy, Product, ServiceTask, StabilisationRuleSet

pytestmark = pytest.mark.django_db
BASE = "/api/v1/policies"


def sale_body(world, **changes):
    body = {
        "lead_id": world.lead.pk,
        "product_id": world.products["accident"].pk,
        "annualised_premium": "1200.00",
        "payment_mode": "annual",
        "term_years": 1,
        "insured_ids": [world.holder.pk, world.spouse.pk],
        "recording_ref": "rec-2026-0001",
    }
    body.update(changes)
    return body


def no_numbers(response, world):
    text = response.content.decode()
    for customer in (world.holder, world.spouse, world.child):
        assert customer.mobile_e164[3:] not in text
    assert not PHONE_LIKE.search(text), PHONE_LIKE.search(text)


# --- Sale ----------------------------------------------------------------------------------
def test_a_sale_is_not_recorded_here(world, api_for):
    """A sale is recorded on its call, through ``POST /workspace/sales`` (the calls app): that
    route requires the answered call the customer's consent was recorded on and refuses the
    same sale sent twice. This app's route had neither check (QA, session 20: a retried
    request made a second policy) and is gone; the sale's own checks are the service's
    (``test_services.py``)."""
    response = api_for(world.alice).post_json(f"{BASE}/policies", sale_body(world))
    assert_error_shape(response, 405, "method_not_allowed")
    assert not Policy.objects.exists()


# --- Life cycle ---------------------------------------------------------------------------
@pytest.fixture
def applied(world, sell):
    return sell(insured_ids=[world.holder.pk], at=timezone.now() - dt.timedelta(days=3))


def test_issue_receipt_cancel_through_the_api(world, api_for, applied):
    ops = api_for(world.renewal)
    issued = ops.post_json(f"{BASE}/policies/{applied.pk}/issue", {"number": "P-0001"})
    assert issued.status_code == 200, issued.content
    assert issued.json()["status"] == "issued" and issued.json()["number"] == "P-0001"
    kinds = {t["kind"] for t in issued.json()["tasks"]}
    assert {TaskKind.WELCOME_CALL, TaskKind.FREE_LOOK_CHECKIN, TaskKind.EXTENDED_SERVICE} <= kinds
    twice = ops.post_json(f"{BASE}/policies/{applied.pk}/issue", {})
    assert_error_shape(twice, 409, "wrong_policy_status")
    today = timezone.localdate().isoformat()
    receipt = ops.post_json(f"{BASE}/policies/{applied.pk}/receipt", {"receipt_date": today})
    assert receipt.status_code == 200 and receipt.json()["free_look_end"]
    cancel = ops.post_json(
        f"{BASE}/policies/{applied.pk}/cancel", {"reason": "family_objection", "note": "配偶反对"}
    )
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"
    no_numbers(cancel, world)


def test_receipt_before_issue_is_409(world, api_for, applied):
    response = api_for(world.renewal).post_json(
        f"{BASE}/policies/{applied.pk}/receipt", {"receipt_date": timezone.localdate().isoformat()}
    )
    assert_error_shape(response, 409, "wrong_policy_status")


def test_cancel_after_the_free_look_window_is_409(world, api_for, applied):
    services.policy_issue(
        policy=applied, issued_at=timezone.now() - dt.timedelta(days=2), actor=world.renewal.user
    )
    Policy.objects.filter(pk=applied.pk).update(
        status=PolicyStatus.RECEIPT_CONFIRMED,
        receipt_date=timezone.localdate() - dt.timedelta(days=30),
        free_look_end=timezone.localdate() - dt.timedelta(days=15),
    )
    response = api_for(world.renewal).post_json(
        f"{BASE}/policies/{applied.pk}/cancel", {"reason": "changed_mind"}
    )
    assert_error_shape(response, 409, "free_look_over")


def test_bad_action_input_is_422(world, api_for, applied):
    ops = api_for(world.renewal)
    assert_error_shape(ops.post_json(f"{BASE}/policies/{applied.pk}/issue", {"number": "x"}), 422)
    assert_error_shape(
        ops.post_json(f"{BASE}/policies/{applied.pk}/cancel", {"reason": "bored"}), 422
    )
    assert_error_shape(ops.post_json(f"{BASE}/policies/{applied.pk}/receipt", {}), 422)
    assert_error_shape(
        ops.post_json(f"{BASE}/policies/{applied.pk}/issue", "{not json"), (400, 422)
    )


def test_agents_and_team_leads_cannot_operate_policies(world, api_for, applied):
    for person in (world.alice, world.lead_a):
        response = api_for(person).post_json(f"{BASE}/policies/{applied.pk}/issue", {})
        assert_error_shape(response, 403)


# --- Reads and scoping ------------------------------------------------------------------------
def test_an_agent_sees_only_their_policies(world, api_for, applied):
    assert [p["id"] for p in api_for(world.alice).get(f"{BASE}/policies").json()] == [applied.pk]
    assert api_for(world.bob).get(f"{BASE}/policies").json() == []
    assert_error_shape(api_for(world.bob).get(f"{BASE}/policies/{applied.pk}"), 404, "not_found")
    assert api_for(world.lead_a).get(f"{BASE}/policies/{applied.pk}").status_code == 200
    assert_error_shape(api_for(world.lead_b).get(f"{BASE}/policies/{applied.pk}"), 404)
    assert_error_shape(api_for(world.hr).get(f"{BASE}/policies"), 403)
    detail = api_for(world.planner).get(f"{BASE}/policies/{applied.pk}")
    assert detail.status_code == 200
    no_numbers(detail, world)


def test_policy_list_filters(world, api_for, applied, sell):
    sell(product=world.products["medical"], annualised_premium="300")
    client = api_for(world.manager)
    assert len(client.get(f"{BASE}/policies?category=medical").json()) == 1
    assert len(client.get(f"{BASE}/policies?status=applied&limit=1").json()) == 1
    assert_error_shape(client.get(f"{BASE}/policies?status=bogus"), 422)
    assert_error_shape(client.get(f"{BASE}/policies?limit=100000"), 422)


def test_tasks_list_and_complete(world, api_for, applied):
    services.policy_issue(
        policy=applied, issued_at=timezone.now() - dt.timedelta(days=2), actor=world.renewal.user
    )
    alice = api_for(world.alice)
    due = alice.get(f"{BASE}/tasks?due=true").json()
    assert [t["kind"] for t in due] == ["welcome_call"]
    assert api_for(world.bob).get(f"{BASE}/tasks").json() == []
    task_id = due[0]["id"]
    bad = alice.post_json(f"{BASE}/tasks/{task_id}/complete", {"outcome": "interested"})
    assert_error_shape(bad, 422, "validation_failed")
    assert_error_shape(
        api_for(world.bob).post_json(f"{BASE}/tasks/{task_id}/complete", {"outcome": "reached"}),
        404,
    )
    done = alice.post_json(f"{BASE}/tasks/{task_id}/complete", {"outcome": "reached", "note": "好"})
    assert done.status_code == 200 and done.json()["status"] == "done"
    again = alice.post_json(f"{BASE}/tasks/{task_id}/complete", {"outcome": "reached"})
    assert_error_shape(again, 409, "task_closed")
    no_numbers(done, world)


def test_a_follow_up_in_the_past_is_422(world, api_for, applied):
    services.policy_issue(policy=applied, actor=world.renewal.user)
    task = ServiceTask.objects.filter(agent=world.alice, kind="extended_service").first()
    past = (timezone.now() - dt.timedelta(days=1)).isoformat()
    response = api_for(world.alice).post_json(
        f"{BASE}/tasks/{task.pk}/reschedule", {"due_at": past}
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert "due_at" in body["details"]["fields"]
    # Three days ahead at 10:00: inside the calling window whatever the hour the suite runs.
    day = timezone.localdate() + dt.timedelta(days=3)
    future = timezone.make_aware(dt.datetime.combine(day, dt.time(10))).isoformat()
    ok = api_for(world.alice).post_json(f"{BASE}/tasks/{task.pk}/reschedule", {"due_at": future})
    assert ok.status_code == 200


def test_stabilisation_report(world, api_for, applied):
    services.policy_issue(policy=applied, actor=world.renewal.user)
    body = api_for(world.lead_a).get(f"{BASE}/reports/stabilisation?by=team").json()
    assert [(r["name"], r["issued"], r["pending"]) for r in body["rows"]] == [("A组", 1, 1)]
    assert body["total"]["denominator"] == 0 and body["total"]["rate"] is None
    assert_error_shape(api_for(world.hr).get(f"{BASE}/reports/stabilisation"), 403)
    bad = api_for(world.manager).get(
        f"{BASE}/reports/stabilisation?since=2026-02-01&until=2026-01-01"
    )
    assert_error_shape(bad, 422)
    assert_error_shape(api_for(world.manager).get(f"{BASE}/reports/stabilisation?by=center"), 422)
    ext = api_for(world.manager).get(f"{BASE}/reports/extended-service").json()
    # alice (grade 2) gets no pension suggestion: the pension product needs grade 3.
    assert ext["rows"][0]["suggested"] == 4


# --- Products, rule sets ---------------------------------------------------------------------
PRODUCT = {
    "code": "new-ci",
    "name": "新重疾",
    "category": "critical_illness",
    "grade": 2,
    "free_look_days": 15,
    "commission_basis": "standard",
    "first_year_commission_rate": "0.35",
    "allowed_modes": ["annual", "monthly"],
    "allowed_terms": [20, 10],
    "min_premium": "1000",
    "max_premium": "50000",
}


def test_the_manager_manages_the_catalogue(world, api_for):
    boss = api_for(world.manager)
    created = boss.post_json(f"{BASE}/products", PRODUCT)
    assert created.status_code == 200, created.content
    assert created.json()["allowed_terms"] == [10, 20]
    pk = created.json()["id"]
    updated = boss.patch_json(f"{BASE}/products/{pk}", {"max_premium": "80000", "reason": "调整"})
    assert updated.status_code == 200 and updated.json()["max_premium"] == "80000.00"
    assert_error_shape(boss.post_json(f"{BASE}/products", PRODUCT), 422)  # the code is taken
    assert_error_shape(api_for(world.alice).post_json(f"{BASE}/products", PRODUCT), 403)
    assert_error_shape(api_for(world.alice).patch_json(f"{BASE}/products/{pk}", {"grade": 1}), 403)
    assert len(api_for(world.alice).get(f"{BASE}/products").json()) == 6
    assert_error_shape(api_for(world.hr).get(f"{BASE}/products"), 403)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"free_look_days": 7}, "free_look_days"),
        ({"min_premium": "-1"}, "min_premium"),
        ({"min_premium": "0"}, "min_premium"),
        ({"max_premium": "500"}, "max_premium"),
        ({"max_premium": "99999999"}, "max_premium"),
        ({"allowed_terms": [0]}, "allowed_terms"),
        ({"allowed_modes": []}, "allowed_modes"),
        ({"first_year_commission_rate": "1.5"}, "first_year_commission_rate"),
        ({"grade": 5}, "grade"),
    ],
)
def test_bad_products_are_422_with_the_field(world, api_for, changes, field):
    response = api_for(world.manager).post_json(f"{BASE}/products", {**PRODUCT, **changes})
    body = assert_error_shape(response, 422, "validation_failed")
    assert field in body["details"]["fields"], body
    assert not Product.objects.filter(code="new-ci").exists()


def test_rule_set_versions(world, api_for):
    boss = api_for(world.manager)
    body = {
        "name": "新规则",
        "effective_from": timezone.localdate().isoformat(),
        "welcome_call_day": 2,
        "suggest_pension": False,
    }
    created = boss.post_json(f"{BASE}/rulesets", body)
    assert created.status_code == 200, created.content
    assert (
        created.json()["welcome_call_day"] == 2 and created.json()["checkin_days_before_end"] == 3
    )
    past = {**body, "effective_from": "2020-01-01"}
    assert_error_shape(boss.post_json(f"{BASE}/rulesets", past), 422)
    too_late = {**body, "checkin_days_before_end": 12}
    assert (
        "checkin_days_before_end"
        in assert_error_shape(boss.post_json(f"{BASE}/rulesets", too_late), 422)["details"][
            "fields"
        ]
    )
    assert_error_shape(api_for(world.alice).post_json(f"{BASE}/rulesets", body), 403)
    assert len(api_for(world.renewal).get(f"{BASE}/rulesets").json()) == 1
    assert StabilisationRuleSet.objects.count() == 1


def test_anonymous_is_401(client):
    response = client.get(f"{BASE}/policies")
    assert response.status_code == 401
    assert json.loads(response.content)["code"] == "authentication_required"
