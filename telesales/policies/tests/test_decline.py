"""Declined by underwriting (拒保): only an applied policy, with underwriting's reason; the
premium comes off the lead, which goes back to the agent in progress unless another policy
was won on it; a declined application is no sale in the figures and does not block the same
sale being recorded again; the page and the API offer it to the operators."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.leads.choices import LeadState
from telesales.leads.models import LeadEvent
from telesales.policies import services
from telesales.policies.choices import PolicyAction, PolicyStatus
from telesales.policies.errors import WrongStatus
from telesales.policies.selectors import policies_summary_for_day

NOTE = "健康告知：高血压三级，拒保"


def test_a_declined_application_reopens_the_lead_for_its_agent(world, sell):
    policy = sell()
    # Its protection ran out while it was won (a won lead is never recycled).
    from telesales.leads.models import Lead

    Lead.objects.filter(pk=world.lead.pk).update(
        protect_until=timezone.now() - dt.timedelta(days=30),
        recycle_warned_at=timezone.now() - dt.timedelta(days=31),
    )
    world.lead.refresh_from_db()
    assert (world.lead.state, world.lead.premium) == (LeadState.WON, Decimal("1200.00"))
    policy = services.policy_decline(policy=policy, note=NOTE, actor=world.renewal.user)
    assert policy.status == PolicyStatus.DECLINED and policy.declined_at
    assert policy.decline_note == NOTE and policy.number == "" and policy.issued_at is None
    event = policy.events.get(action=PolicyAction.DECLINE)
    assert (event.from_status, event.to_status, event.reason) == (
        PolicyStatus.APPLIED,
        PolicyStatus.DECLINED,
        NOTE,
    )
    world.lead.refresh_from_db()
    assert world.lead.state == LeadState.IN_PROGRESS and world.lead.owner_id == world.alice.pk
    assert world.lead.premium == 0 and world.lead.won_at is None
    # A fresh protection period, so that recycling leaves it to the agent's call back.
    from telesales.leads.rules import ruleset_for_person

    days = ruleset_for_person(world.alice).protection_days
    assert world.lead.owned_since == policy.declined_at
    assert world.lead.protect_until == policy.declined_at + dt.timedelta(days=days)
    assert world.lead.recycle_warned_at is None
    history = LeadEvent.objects.filter(lead=world.lead).order_by("-id").first()
    assert (history.from_state, history.to_state) == (LeadState.WON, LeadState.IN_PROGRESS)
    assert f"#{policy.pk}" in history.reason
    audit = AuditEntry.objects.get(action="policies.policy_decline", object_id=str(policy.pk))
    assert audit.reason == NOTE and audit.after["lead_state"] == LeadState.IN_PROGRESS


def test_a_lead_won_by_another_policy_stays_won_with_the_rest_of_its_premium(world, sell):
    kept = sell()
    declined = sell(
        product=world.products["ci"],
        annualised_premium=Decimal("3000.00"),
        term_years=10,
        insured_ids=[world.spouse.pk],
    )
    world.lead.refresh_from_db()
    assert world.lead.premium == Decimal("4200.00")
    services.policy_decline(policy=declined, note=NOTE, actor=world.renewal.user)
    world.lead.refresh_from_db()
    assert (world.lead.state, world.lead.premium) == (LeadState.WON, kept.annualised_premium)


def test_only_an_applied_policy_is_declined_and_only_with_a_reason(world, sell):
    policy = sell()
    with pytest.raises(ValidationFailed) as missing:
        services.policy_decline(policy=policy, note="  ", actor=world.renewal.user)
    assert "note" in missing.value.fields
    with pytest.raises(ValidationFailed) as early:
        services.policy_decline(
            policy=policy,
            note=NOTE,
            actor=world.renewal.user,
            at=policy.applied_at - dt.timedelta(minutes=1),
        )
    assert "at" in early.value.fields
    with pytest.raises(ValidationFailed):
        services.policy_decline(
            policy=policy,
            note=NOTE,
            actor=world.renewal.user,
            at=timezone.now() + dt.timedelta(hours=1),
        )
    with pytest.raises(PermissionDenied):
        services.policy_decline(policy=policy, note=NOTE, actor=world.alice.user)
    policy.refresh_from_db()
    assert policy.status == PolicyStatus.APPLIED  # nothing half-written
    services.policy_issue(policy=policy, actor=world.renewal.user)
    with pytest.raises(WrongStatus):
        services.policy_decline(policy=policy, note=NOTE, actor=world.renewal.user)


def test_a_declined_application_is_no_sale_and_the_sale_may_be_recorded_again(world, sell):
    start = timezone.now() - dt.timedelta(minutes=5)
    first = sell(duplicates_since=start)
    today = timezone.localdate()
    assert (
        policies_summary_for_day(agent_ids=[world.alice.pk], day=today)[world.alice.pk]["count"]
        == 1
    )
    services.policy_decline(policy=first, note=NOTE, actor=world.renewal.user)
    assert policies_summary_for_day(agent_ids=[world.alice.pk], day=today)[world.alice.pk] == {
        "count": 0,
        "premium": Decimal("0.00"),
    }
    # The same product for the same people again (another insurer's view, a new answer on
    # the health form): not refused as a double submission of the declined one.
    again = sell(duplicates_since=start)
    assert again.pk != first.pk and again.status == PolicyStatus.APPLIED
    world.lead.refresh_from_db()
    assert world.lead.state == LeadState.WON


def test_the_policy_page_and_the_api_record_a_decline(world, sell, page_for, api_for):
    policy = sell()
    page = page_for(world.renewal)
    detail = reverse("policies:policy_detail", args=[policy.pk])
    assert 'data-testid="decline-form"' in page.get(detail).content.decode()
    url = reverse("policies:policy_decline", args=[policy.pk])
    refused = page.post(url, {"note": ""})
    assert refused.status_code == 422 and b'data-testid="field-error-note"' in refused.content
    assert page.post(url, {"note": NOTE}).status_code == 302
    shown = page.get(detail).content.decode()
    assert 'data-testid="declined"' in shown and 'data-testid="decline-form"' not in shown
    # The agent may not decline; the API answers with the policy as declined.
    other = sell(product=world.products["medical"], insured_ids=[world.child.pk])
    assert (
        page_for(world.alice)
        .post(reverse("policies:policy_decline", args=[other.pk]), {"note": NOTE})
        .status_code
        == 403
    )
    api = api_for(world.renewal)
    answer = api.post_json(f"/api/v1/policies/policies/{other.pk}/decline", {"note": NOTE})
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["status"] == "declined" and body["decline_note"] == NOTE
    again = api.post_json(f"/api/v1/policies/policies/{other.pk}/decline", {"note": NOTE})
    assert again.status_code == 409 and again.json()["code"] == "wrong_policy_status"


def test_a_suggestion_converted_by_the_declined_sale_is_open_again(world, sell):
    from telesales.policies.choices import TaskKind, TaskOutcome, TaskStatus
    from telesales.policies.models import ServiceTask

    first = sell()
    services.policy_issue(policy=first, actor=world.renewal.user)  # suggestions for the family
    task = ServiceTask.objects.get(
        kind=TaskKind.EXTENDED_SERVICE, for_customer=world.spouse, suggested_category="accident"
    )
    second = sell(insured_ids=[world.spouse.pk])
    task.refresh_from_db()
    assert (task.status, task.outcome, task.converted_policy_id) == (
        TaskStatus.DONE,
        TaskOutcome.CONVERTED,
        second.pk,
    )
    services.policy_decline(policy=second, note=NOTE, actor=world.renewal.user)
    task.refresh_from_db()
    assert (task.status, task.outcome, task.converted_policy_id, task.done_at) == (
        TaskStatus.OPEN,
        "",
        None,
        None,
    )
