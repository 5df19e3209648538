"""The workspace and calls API: shapes, permissions, error mapping, and no full number in any
answer. The API runs on the real clock, so these tests use a rule set whose calling window
is the whole day (or, to test the refusal, one that excludes the present moment)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from telesales.calls.models import CALL_NOTE_MAX_LENGTH, CallAttempt, FollowUp
from telesales.calls.tests.factories import (
    CallRuleSetFactory,
    LeadFactory,
    owned_lead,
    registered_agent,
    team_lead_of,
)
from telesales.core.phone_numbers import PHONE_LIKE
from telesales.core.tests.api_helpers import assert_error_shape
from telesales.leads.models import DncEntry

pytestmark = pytest.mark.django_db

WS = "/api/v1/workspace"
CALLS = "/api/v1/calls"


@pytest.fixture(autouse=True)
def all_day(db):
    return CallRuleSetFactory(
        window_start=dt.time(0, 0), window_end=dt.time(23, 59, 59), min_minutes_between_attempts=0
    )


@pytest.fixture
def client(agent, api_for):
    return api_for(agent.user)


def no_full_number(response, *numbers: str) -> None:
    body = response.content.decode()
    assert not PHONE_LIKE.search(body), body[:500]
    for number in numbers:
        assert number not in body and number.removeprefix("+86") not in body


def test_next_lead_answers_the_lead_with_a_masked_number(agent, client):
    lead = owned_lead(agent)
    r = client.post(f"{WS}/next-lead")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["source"] == "private"
    assert body["lead"]["id"] == lead.pk
    assert body["lead"]["mobile_masked"] == "138****0001"[:3] + body["lead"]["mobile_masked"][3:]
    assert "****" in body["lead"]["mobile_masked"]
    no_full_number(r, lead.customer.mobile_e164)


def test_next_lead_409_with_code_and_reasons(agent, client):
    r = client.post(f"{WS}/next-lead")
    body = assert_error_shape(r, 409, "nothing_to_dispatch")
    (reason,) = body["details"]["reasons"]
    assert set(reason) >= {"code", "message", "fix", "count"}
    assert reason["code"] == "pools_empty"


def test_next_lead_409_is_documented_by_the_shape_it_answers(agent, client):
    """An integrator reads the 409 from the OpenAPI document: its schema names the reasons'
    fields, and a real refusal validates against it (an unknown key would not be caught, so
    the keys are compared too)."""
    from telesales.calls.schemas import DispatchReasonOut, NextLeadRefusalOut

    body = client.post(f"{WS}/next-lead").json()
    refusal = NextLeadRefusalOut.model_validate(body)
    assert refusal.code == "nothing_to_dispatch" and refusal.details.reasons
    for reason in body["details"]["reasons"]:
        assert set(reason) <= set(DispatchReasonOut.model_fields), reason

    doc = client.get("/api/v1/openapi.json").json()
    answer = doc["paths"]["/api/v1/workspace/next-lead"]["post"]["responses"]["409"]
    ref = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    details = doc["components"]["schemas"][ref]["properties"]["details"]["$ref"].rsplit("/")[-1]
    fields = doc["components"]["schemas"][details]["properties"]
    assert {"reasons", "attempt_id"} <= set(fields)


def test_next_lead_refused_to_roles_without_a_workspace(api_for):
    from telesales.calls.tests.factories import UserFactory

    planner = UserFactory(username="planner-x", roles=["planner"])
    assert_error_shape(api_for(planner).post(f"{WS}/next-lead"), 403)
    assert_error_shape(api_for(None).post(f"{WS}/next-lead"), 401)


def test_the_softphone_loop(agent, client, product):
    lead = owned_lead(agent)
    assert client.post(f"{WS}/next-lead").status_code == 200
    r = client.post_json(f"{WS}/calls", {"lead_id": lead.pk})
    assert r.status_code == 201, r.content
    call = r.json()
    assert call["adapter_call_id"] == f"sim-{call['id']}"
    assert client.get(f"{WS}/presence").json()["state"] == "dialling"
    assert client.post_json(f"{WS}/calls/{call['id']}/answer", {}).status_code == 200
    r = client.post_json(f"{WS}/calls/{call['id']}/end", {})
    assert r.status_code == 200 and r.json()["ended_at"]
    when = (timezone.now() + dt.timedelta(days=1)).isoformat()
    r = client.post_json(
        f"{WS}/calls/{call['id']}/disposition",
        {"code": "interested", "note": "明天再聊 13912345678", "callback_at": None},
    )
    assert r.status_code == 200, r.content
    assert r.json()["disposition"] == "interested"
    no_full_number(r, "+8613912345678")
    fu = FollowUp.objects.get(lead=lead, status="open")
    # Tomorrow's queue holds it.
    tomorrow = timezone.localdate(fu.due_at).isoformat()
    r = client.get(f"{WS}/queue", {"day": tomorrow})
    assert [f["id"] for f in r.json()] == [fu.pk]
    assert client.get(f"{WS}/queue").json() == []
    # A callback booked by hand replaces it.
    r = client.post_json(f"{WS}/followups", {"lead_id": lead.pk, "due_at": when, "note": "回拨"})
    assert r.status_code == 201, r.content
    assert r.json()["sequence"] == 1
    no_full_number(r, lead.customer.mobile_e164)


def test_dial_outside_the_window_is_409_with_the_reason(agent, client):
    now = timezone.localtime()
    if now.hour < 22:
        start, end = (now + dt.timedelta(hours=1)).time().replace(microsecond=0), dt.time(23, 59)
        if start >= end:
            start, end = dt.time(0, 0), dt.time(0, 30)
    else:
        start, end = dt.time(0, 0), dt.time(1, 0)
    CallRuleSetFactory(window_start=start, window_end=end)
    lead = owned_lead(agent)
    r = client.post_json(f"{WS}/calls", {"lead_id": lead.pk})
    body = assert_error_shape(r, 409, "dial_blocked")
    assert body["details"]["reasons"][0]["code"] == "outside_window"
    assert not CallAttempt.objects.exists()


def test_dial_of_someone_elses_lead_is_refused(agent, client):
    other = registered_agent()
    theirs = owned_lead(other)
    assert_error_shape(client.post_json(f"{WS}/calls", {"lead_id": theirs.pk}), 404)


def test_disposition_of_someone_elses_call_is_404(agent, api_for):
    other = registered_agent()
    lead = owned_lead(other)
    call = CallAttempt.objects.create(lead=lead, agent=other, started_at=timezone.now())
    r = api_for(agent.user).post_json(f"{WS}/calls/{call.pk}/disposition", {"code": "busy"})
    assert_error_shape(r, 404)
    call.refresh_from_db()
    assert call.disposition_id is None


def test_team_lead_records_a_disposition_for_their_agent(agent, api_for):
    leader = team_lead_of(agent.team)
    call = CallAttempt.objects.create(
        lead=owned_lead(agent), agent=agent, started_at=timezone.now()
    )
    r = api_for(leader.user).post_json(f"{WS}/calls/{call.pk}/disposition", {"code": "busy"})
    assert r.status_code == 200, r.content


def test_unknown_disposition_code_is_a_field_error_on_code(agent, client):
    call = CallAttempt.objects.create(
        lead=owned_lead(agent), agent=agent, started_at=timezone.now()
    )
    r = client.post_json(f"{WS}/calls/{call.pk}/disposition", {"code": "nope"})
    assert list(assert_error_shape(r, 422, "validation_failed")["details"]["fields"]) == ["code"]
    r = client.post_json(f"{WS}/calls/{call.pk}/disposition", {"code": "sale"})
    assert list(assert_error_shape(r, 422, "validation_failed")["details"]["fields"]) == ["code"]


def test_dnc_disposition_blocks_the_number_at_once(agent, client):
    lead = owned_lead(agent)
    call = client.post_json(f"{WS}/calls", {"lead_id": lead.pk}).json()
    client.post_json(f"{WS}/calls/{call['id']}/answer", {})
    r = client.post_json(f"{WS}/calls/{call['id']}/disposition", {"code": "dnc"})
    assert r.status_code == 200, r.content
    assert DncEntry.objects.filter(phone_hash=lead.customer.mobile_hash).exists()


def test_followup_in_the_past_is_422(agent, client):
    lead = owned_lead(agent)
    past = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    r = client.post_json(f"{WS}/followups", {"lead_id": lead.pk, "due_at": past})
    body = assert_error_shape(r, 422, "followup_in_past")
    assert "due_at" in body["details"]["fields"]
    assert not FollowUp.objects.exists()


def test_followup_outside_the_calling_window_is_422_with_the_next_time(agent, client):
    CallRuleSetFactory(window_start=dt.time(9, 0), window_end=dt.time(21, 0))
    lead = owned_lead(agent)
    night = timezone.localtime().replace(hour=23, minute=0, second=0, microsecond=0)
    night += dt.timedelta(days=1)
    r = client.post_json(f"{WS}/followups", {"lead_id": lead.pk, "due_at": night.isoformat()})
    body = assert_error_shape(r, 422, "validation_failed")
    assert "due_at" in body["details"]["fields"]
    assert (night + dt.timedelta(days=1)).strftime("%Y-%m-%d 09:00") in body["message"]
    assert not FollowUp.objects.exists()


@pytest.fixture
def product(db):
    from telesales.policies.tests.factories import ProductFactory

    return ProductFactory(allowed_terms=[1, 20])


def _answered_call(client, lead):
    call = client.post_json(f"{WS}/calls", {"lead_id": lead.pk}).json()
    client.post_json(f"{WS}/calls/{call['id']}/answer", {})
    return call


def test_sale_records_the_policy(agent, client, product):
    lead = owned_lead(agent)
    call = _answered_call(client, lead)
    r = client.post_json(
        f"{WS}/sales",
        {
            "call_id": call["id"],
            "product_id": product.pk,
            "annualised_premium": "1200.00",
            "payment_mode": "annual",
            "term_years": 20,
            "insured_ids": [lead.customer_id],
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "applied" and body["annualised_premium"] == "1200.00"
    assert body["recording_retain_until"] >= str(timezone.localdate().year + 30)


def _sale_of_premium(agent, client, product, premium):
    """A one-year annual sale of ``premium`` on an answered call of a new lead: the answer
    and the call."""
    lead = owned_lead(agent)
    call = _answered_call(client, lead)
    r = client.post_json(
        f"{WS}/sales",
        {
            "call_id": call["id"],
            "product_id": product.pk,
            "annualised_premium": premium,
            "payment_mode": "annual",
            "term_years": 1,
            "insured_ids": [lead.customer_id],
        },
    )
    return r, call


@pytest.mark.parametrize("premium", ["-100.00", "0", "9999999999.99", "abc", "1e3", "2.5E2"])
def test_sale_with_a_negative_or_absurd_premium_is_422(agent, client, product, premium):
    r, call = _sale_of_premium(agent, client, product, premium)
    assert_error_shape(r, 422)
    attempt = CallAttempt.objects.get(pk=call["id"])
    assert attempt.disposition_id is None


def test_presence_put_and_get(agent, client):
    r = client.put_json(f"{WS}/presence", {"state": "break"})
    assert r.status_code == 200 and r.json()["state"] == "break"
    assert_error_shape(client.put_json(f"{WS}/presence", {"state": "talking"}), 422)


def test_today_figures(agent, client):
    owned_lead(agent)
    LeadFactory()
    body = client.get(f"{WS}/today").json()
    assert body["private"] == 1 and body["public"] == 1 and body["dials"] == 0


def test_board_for_the_team_lead_only(agent, api_for, client):
    leader = team_lead_of(agent.team)
    lead = owned_lead(agent)
    client.post_json(f"{WS}/calls", {"lead_id": lead.pk})
    r = api_for(leader.user).get(f"{CALLS}/board")
    assert r.status_code == 200, r.content
    row = next(a for a in r.json()["agents"] if a["agent_id"] == agent.pk)
    assert (row["agent_id"], row["state"], row["dials"]) == (agent.pk, "dialling", 1)
    assert r.json()["seats"][0]["seat_code"] == agent.seat.code
    assert_error_shape(client.get(f"{CALLS}/board"), 403)


def test_the_board_api_marks_a_call_open_past_the_limit(
    agent, api_for, client, settings, center_afternoon
):
    settings.TELESALES_CALL_OPEN_LIMIT_MINUTES = 120
    leader = api_for(team_lead_of(agent.team).user)
    call = client.post_json(f"{WS}/calls", {"lead_id": owned_lead(agent).pk}).json()
    row = next(
        a for a in leader.get(f"{CALLS}/board").json()["agents"] if a["agent_id"] == agent.pk
    )
    assert (row["call_id"], row["call_open_too_long"]) == (call["id"], False)
    CallAttempt.objects.filter(pk=call["id"]).update(
        started_at=timezone.now() - dt.timedelta(hours=3)
    )
    body = leader.get(f"{CALLS}/board").json()
    row = next(a for a in body["agents"] if a["agent_id"] == agent.pk)
    assert row["call_open_too_long"] is True and body["totals"]["calls_open_too_long"] == 1
    # Hanging up now counts the limit as talk time, flagged.
    client.post_json(f"{WS}/calls/{call['id']}/answer", {})
    CallAttempt.objects.filter(pk=call["id"]).update(
        answered_at=timezone.now() - dt.timedelta(hours=3)
    )
    ended = client.post_json(f"{WS}/calls/{call['id']}/end", {}).json()
    assert (ended["talk_seconds"], ended["talk_capped"]) == (7200, True)


def test_attempt_list_is_scoped(agent, client, api_for):
    other = registered_agent()
    CallAttempt.objects.create(lead=owned_lead(other), agent=other, started_at=timezone.now())
    mine = CallAttempt.objects.create(
        lead=owned_lead(agent), agent=agent, started_at=timezone.now()
    )
    r = client.get(f"{CALLS}/attempts")
    assert [c["id"] for c in r.json()] == [mine.pk]
    no_full_number(r)


def test_dispositions_list_and_manager_changes(agent, client, api_for):
    from telesales.calls.tests.factories import UserFactory

    r = client.get(f"{CALLS}/dispositions")
    codes = [d["code"] for d in r.json()]
    assert {"no_answer", "interested", "callback", "sale", "dnc", "refused"} <= set(codes)
    assert_error_shape(client.post_json(f"{CALLS}/dispositions", {"code": "x", "name": "x"}), 403)
    manager = UserFactory(username="mgr-calls", roles=["center_manager"])
    m = api_for(manager)
    r = m.post_json(
        f"{CALLS}/dispositions",
        {"code": "gift_only", "name": "只领赠险", "human_answered": True, "contact": True},
    )
    assert r.status_code == 201, r.content
    bad = m.post_json(f"{CALLS}/dispositions", {"code": "weird", "name": "x", "sale": True})
    assert_error_shape(bad, 422)
    r = m.put_json(f"{CALLS}/dispositions/gift_only", {"is_active": False})
    assert r.status_code == 200 and r.json()["is_active"] is False


def test_rule_set_versions(agent, api_for):
    from telesales.calls.tests.factories import UserFactory

    manager = UserFactory(username="mgr-rules", roles=["center_manager"])
    m = api_for(manager)
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    r = m.post_json(
        f"{CALLS}/rulesets",
        {
            "name": "新规",
            "effective_from": tomorrow,
            "max_attempts_per_day": 2,
            "window_start": "09:00:00",
            "window_end": "21:00:00",
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["max_attempts_per_day"] == 2
    bad = m.post_json(
        f"{CALLS}/rulesets",
        {
            "name": "夜呼",
            "effective_from": tomorrow,
            "window_start": "09:00:00",
            "window_end": "22:00:00",
        },
    )
    body = assert_error_shape(bad, 422)
    assert "window_start" in body["details"]["fields"]
    past = m.post_json(f"{CALLS}/rulesets", {"name": "旧", "effective_from": "2020-01-01"})
    assert_error_shape(past, 422)


def test_cdr_import_endpoint_and_unknown_columns(agent, api_for):
    from telesales.calls.tests.factories import UserFactory

    data = UserFactory(username="data-cdr", roles=["data_officer"])
    c = api_for(data)
    bad = SimpleUploadedFile("Master.csv", b"foo,bar,dst\n1,2,3\n", content_type="text/csv")
    r = c.post(f"{CALLS}/cdr-imports", {"file": bad})
    body = assert_error_shape(r, 409, "cdr_layout_unknown")
    assert body["details"]["unknown_columns"] == ["foo", "bar"]
    ok = SimpleUploadedFile(
        "Master.csv",
        b"start,end,dst,billsec,uniqueid\n"
        b"2026-06-01 10:00:00,2026-06-01 10:01:00,13800000999,50,x1\n",
        content_type="text/csv",
    )
    r = c.post(f"{CALLS}/cdr-imports", {"file": ok})
    assert r.status_code == 201, r.content
    assert r.json()["rejected"] == 1
    assert r.json()["rejections"][0]["dst"] == "138****0999"
    no_full_number(r, "+8613800000999")
    assert json.loads(r.content)["rows"] == 1
    assert_error_shape(api_for(agent.user).get(f"{CALLS}/cdr-imports"), 403)


def test_refusals_speak_the_callers_language(client):
    # An agent asking for the team lead's board: refused in Chinese (the center's language).
    board = assert_error_shape(client.get(f"{CALLS}/board"), 403)
    assert board["message"] == "只有主管和经理可以查看实时看板"
    missing = assert_error_shape(client.get(f"{WS}/calls/999999999"), 404)
    assert missing["message"] == "通话记录不存在，或您无权查看"


# --- Notes: one limit with the forms and the model; refused whole, never cut ----------------
def test_a_note_at_the_limit_is_kept_whole_on_the_call_and_its_follow_up(agent, client):
    lead = owned_lead(agent)
    call = _answered_call(client, lead)
    note = ("客户关心等待期" * 300)[:CALL_NOTE_MAX_LENGTH]
    r = client.post_json(
        f"{WS}/calls/{call['id']}/disposition", {"code": "interested", "note": note}
    )
    assert r.status_code == 200, r.content
    assert CallAttempt.objects.get(pk=call["id"]).note == note
    assert FollowUp.objects.get(lead=lead, status="open").note == note


@pytest.mark.parametrize("path", ["disposition", "followups", "done", "sales"])
def test_a_note_at_the_limit_with_windows_line_breaks_is_accepted(agent, client, path):
    """CR LF counts as one character, as the workspace form and the services count it."""
    from telesales.calls.tests.factories import FollowUpFactory

    lead = owned_lead(agent)
    stored = "\n".join(["客户关心等待期。"] * 300)[:CALL_NOTE_MAX_LENGTH]
    note = stored.replace("\n", "\r\n")
    assert not stored.endswith("\n") and len(note) > CALL_NOTE_MAX_LENGTH
    when = (timezone.now() + dt.timedelta(days=1)).isoformat()
    if path == "disposition":
        call = _answered_call(client, lead)
        r = client.post_json(
            f"{WS}/calls/{call['id']}/disposition", {"code": "not_interested", "note": note}
        )
        assert r.status_code == 200, r.content
        assert CallAttempt.objects.get(pk=call["id"]).note == stored
    elif path == "followups":
        r = client.post_json(f"{WS}/followups", {"lead_id": lead.pk, "due_at": when, "note": note})
        assert r.status_code == 201, r.content
        assert FollowUp.objects.get(pk=r.json()["id"]).note == stored
    elif path == "done":
        fu = FollowUpFactory(lead=lead, agent=agent, due_at=timezone.now())
        r = client.post_json(f"{WS}/followups/{fu.pk}/done", {"note": note})
        assert r.status_code == 200, r.content
        fu.refresh_from_db()
        assert fu.note == stored
    else:
        r = client.post_json(f"{WS}/sales", {"call_id": 0, "note": note})
        # The note is not what is refused (the rest of the sale is).
        assert r.status_code == 422
        assert "note" not in r.json()["details"].get("fields", {})


@pytest.mark.parametrize("path", ["disposition", "followups", "done"])
def test_a_note_past_the_limit_is_422_on_the_note_and_nothing_changes(agent, client, path):
    from telesales.calls.tests.factories import FollowUpFactory

    lead = owned_lead(agent)
    note = "长" * (CALL_NOTE_MAX_LENGTH + 1)
    when = (timezone.now() + dt.timedelta(days=1)).isoformat()
    if path == "disposition":
        call = _answered_call(client, lead)
        r = client.post_json(
            f"{WS}/calls/{call['id']}/disposition", {"code": "callback", "note": note}
        )
    elif path == "followups":
        r = client.post_json(f"{WS}/followups", {"lead_id": lead.pk, "due_at": when, "note": note})
    else:
        fu = FollowUpFactory(lead=lead, agent=agent, due_at=timezone.now())
        r = client.post_json(f"{WS}/followups/{fu.pk}/done", {"note": note})
    body = assert_error_shape(r, 422, "validation_failed")
    assert list(body["details"]["fields"]) == ["note"]
    assert not CallAttempt.objects.exclude(note="").exists()
    assert not FollowUp.objects.exclude(note="").exists()
    assert not FollowUp.objects.exclude(status="open").exists()


def test_a_long_follow_up_note_is_accepted_whole(agent, client):
    lead = owned_lead(agent)
    when = (timezone.now() + dt.timedelta(days=1)).isoformat()
    note = "周五发工资后再谈。" * 150  # 1,350 characters: the API took only 300
    r = client.post_json(f"{WS}/followups", {"lead_id": lead.pk, "due_at": when, "note": note})
    assert r.status_code == 201, r.content
    assert FollowUp.objects.get(pk=r.json()["id"]).note == note


def test_marking_a_follow_up_done_adds_its_note_to_the_booking_note(agent, client):
    from telesales.calls.tests.factories import FollowUpFactory

    fu = FollowUpFactory(
        lead=owned_lead(agent), agent=agent, due_at=timezone.now(), note="先问配偶"
    )
    r = client.post_json(f"{WS}/followups/{fu.pk}/done", {"note": "配偶同意，下周投保"})
    assert r.status_code == 200, r.content
    fu.refresh_from_db()
    assert fu.note == "先问配偶\n配偶同意，下周投保"
    # Together past the limit: refused with what still fits, nothing changed.
    fu2 = FollowUpFactory(
        lead=owned_lead(agent), agent=agent, due_at=timezone.now(), note="记" * 1990
    )
    r = client.post_json(f"{WS}/followups/{fu2.pk}/done", {"note": "再补充二十个字" * 3})
    body = assert_error_shape(r, 422, "validation_failed")
    assert "9" in body["details"]["fields"]["note"][0]
    fu2.refresh_from_db()
    assert (fu2.status, fu2.note) == ("open", "记" * 1990)


def test_a_second_sale_on_the_call_adds_its_note_to_the_call(agent, client, product):
    from telesales.calls.tests.factories import CustomerFactory
    from telesales.leads.models import Household

    household = Household.objects.create(name="张家")
    lead = owned_lead(agent, customer=CustomerFactory(household=household))
    spouse = CustomerFactory(household=household)
    call = _answered_call(client, lead)
    sale = {
        "call_id": call["id"],
        "product_id": product.pk,
        "annualised_premium": "1200.00",
        "payment_mode": "annual",
        "term_years": 20,
        "insured_ids": [lead.customer_id],
    }
    assert client.post_json(f"{WS}/sales", {**sale, "note": "本人投保"}).status_code == 201
    r = client.post_json(f"{WS}/sales", {**sale, "insured_ids": [spouse.pk], "note": "配偶投保"})
    assert r.status_code == 201, r.content
    assert CallAttempt.objects.get(pk=call["id"]).note == "本人投保\n配偶投保"


@pytest.mark.parametrize("premium", ["1,200", "1200元", "１，２００元", "¥1,200.00", 1200, 1200.0])
def test_sale_reads_grouped_digits_yuan_and_full_width(agent, client, product, premium):
    r, _call = _sale_of_premium(agent, client, product, premium)
    assert r.status_code == 201, r.content
    assert r.json()["annualised_premium"] == "1200.00"


@pytest.mark.parametrize("premium", ["12k", "1,20", "一千二", True])
def test_sale_with_no_amount_says_what_to_send(agent, client, product, premium):
    r, _call = _sale_of_premium(agent, client, product, premium)
    body = assert_error_shape(r, 422)
    (message,) = body["details"]["fields"]["annualised_premium"]
    assert "1200" in message


def test_a_call_time_ahead_of_the_servers_clock_is_refused(agent, client, settings):
    """QA: an end time two days ahead was taken (ended "tomorrow", the recording's retention
    moved). A softphone's clock may run a little ahead (``TELESALES_CALL_CLOCK_SKEW_SECONDS``);
    further is refused with the server's time, and nothing is written."""
    settings.TELESALES_CALL_CLOCK_SKEW_SECONDS = 120
    call = client.post_json(f"{WS}/calls", {"lead_id": owned_lead(agent).pk}).json()
    ahead = (timezone.now() + dt.timedelta(days=2)).isoformat()
    for path, body in (("answer", {"at": ahead}), ("end", {"answered_at": ahead})):
        refused = client.post_json(f"{WS}/calls/{call['id']}/{path}", body)
        assert_error_shape(refused, 422)
        field = next(iter(body))
        assert "晚于服务器时钟" in str(refused.json()["details"]), refused.json()
        assert field in refused.json()["details"]["fields"]
    attempt = CallAttempt.objects.get(pk=call["id"])
    assert attempt.answered_at is None and attempt.ended_at is None
    soon = (timezone.now() + dt.timedelta(seconds=60)).isoformat()  # inside the drift allowed
    ended = client.post_json(f"{WS}/calls/{call['id']}/end", {"at": soon})
    assert ended.status_code == 200, ended.content
