"""The leads API: who may call each operation, one happy path and one error mapping each,
bad bodies in the one error shape, and list query ceilings that do not grow with rows."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from telesales.core.models import AuditEntry
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.leads.choices import BatchStatus, LeadAction, LeadState
from telesales.leads.models import (
    AllocationRun,
    Channel,
    DncEntry,
    Lead,
    LeadBatch,
    LeadEvent,
    LeadRuleSet,
)
from telesales.leads.tests.factories import CustomerFactory, LeadFactory
from telesales.org.models import Team

pytestmark = pytest.mark.django_db

USERS = ("manager", "data", "planner", "teamlead1", "agent1", "hr", "renewal")
MANAGE = frozenset({"manager", "data"})
READ = MANAGE | {"planner"}
VIEW = READ | {"teamlead1", "agent1"}
# Only the agent role claims: a claimed lead is called from the workspace, which is theirs.
CLAIM = frozenset({"agent1"})
MASKED = re.compile(r"1[3-9]\d\*{4}\d{4}")


@pytest.fixture
def leads_demo(leads_demo_shared, db):
    return leads_demo_shared


@pytest.fixture
def objects(leads_demo, person_of):
    agent1 = person_of("agent1")
    run = AllocationRun.objects.create(
        created_by=person_of("data").user, strategy="round_robin", summary={}
    )
    return {
        "lead_id": Lead.objects.filter(owner=agent1, state=LeadState.OWNED).first().pk,
        "batch_id": LeadBatch.objects.filter(status=BatchStatus.DONE).first().pk,
        "run_id": run.pk,
        "ruleset_id": LeadRuleSet.objects.first().pk,
        "entry_id": DncEntry.objects.filter(removed_at__isnull=True).first().pk,
        "channel_id": Channel.objects.get(code="demo-web").pk,
        "member_id": 999999,  # no such member: a role with the right hears 404
    }


# operationId -> (who gets it, body, the status they get). Bodies pass the schema, so that a
# role without the right hears 403 (not a validation error); an allowed role is mostly
# refused by the service (a lead owned already, a date in the past, ...). Each role runs in
# its own transaction, so the few real writes (release, reveal, remove) do not leak.
EMPTY_FILE = "empty"
OPERATIONS = {
    "leads_lead_list": (VIEW, None, 200),
    "leads_lead_get": (VIEW, None, 200),
    "leads_lead_claim": (CLAIM, None, 409),  # the lead is owned already
    "leads_lead_release": (
        VIEW,
        {"reason": "矩阵测试"},
        {"agent1": 200, **dict.fromkeys(MANAGE, 200)},
    ),
    "leads_lead_reveal": (MANAGE, {"reason": "矩阵测试"}, 200),
    # The family: the owner, their team lead, the data officer, the manager (planner: 403).
    # (The routes come before claim and release: a role's run goes in route order, and
    # agent1's release would otherwise have given the lead away first.)
    "leads_household_member_add": (
        VIEW,
        {"name": "矩阵", "mobile": "12"},  # not a phone number: refused after the right check
        dict.fromkeys(("agent1", "teamlead1", *MANAGE), 422),
    ),
    "leads_household_member_remove": (
        VIEW,
        {"reason": "矩阵测试"},
        dict.fromkeys(("agent1", "teamlead1", *MANAGE), 404),
    ),
    "leads_lead_export": (MANAGE, {"format": "csv", "state": "won"}, 200),
    "leads_number_access": (
        frozenset({"manager"}),
        {"phone": "13800138000", "reason": "矩阵测试"},
        200,
    ),
    "leads_pool_get": (READ, None, 200),
    "leads_channel_list": (VIEW, None, 200),
    "leads_channel_create": (MANAGE, {"code": "demo-web", "name": "重复"}, 409),  # code taken
    "leads_channel_update": (MANAGE, {}, 200),
    "leads_batch_list": (READ, None, 200),
    "leads_batch_create": (MANAGE, EMPTY_FILE, 422),  # an empty file is refused
    "leads_batch_get": (READ, None, 200),
    "leads_batch_mapping_set": (MANAGE, {"columns": {"0": "mobile"}}, 409),  # batch is done
    "leads_batch_header_set": (MANAGE, {"header_row": 2}, 409),  # batch is done
    "leads_batch_discard": (MANAGE, None, 409),  # batch is done: it imported leads
    "leads_batch_resume": (MANAGE, None, 409),  # batch is done: nothing to resume
    "leads_batch_rejection_report": (MANAGE, None, 200),
    "leads_batch_rejection_report_full": (MANAGE, {"format": "csv", "reason": "矩阵测试"}, 200),
    "leads_dnc_list": (MANAGE, None, 200),
    "leads_dnc_lookup": (MANAGE, {"phone": "x"}, 422),
    "leads_dnc_add": (MANAGE, {"phone": "123"}, 422),
    "leads_dnc_remove": (MANAGE, {"reason": "矩阵测试"}, 200),
    "leads_dnc_import": (MANAGE, EMPTY_FILE, 422),
    "leads_ruleset_list": (READ, None, 200),
    "leads_ruleset_get": (READ, None, 200),
    "leads_ruleset_create": (MANAGE, {"name": "过去", "effective_from": "2020-01-01"}, 422),
    "leads_allocation_list": (MANAGE, None, 200),
    "leads_allocation_preview": (MANAGE, {"strategy": "round_robin"}, 422),  # no targets
    "leads_allocation_get": (MANAGE, None, 200),
    "leads_allocation_commit": (MANAGE, None, 409),  # nothing planned
    "leads_quality_get": (READ, None, 200),
    "leads_quality_export": (READ, None, 200),
}


# Without the right: 403, except where the role sees the lead but the service refuses it.
def _operations(client) -> dict[str, tuple[str, str]]:
    document = client.get("/api/v1/openapi.json").json()
    return {
        op["operationId"]: (method, path)
        for path, methods in document["paths"].items()
        for method, op in methods.items()
        if op["operationId"].startswith("leads_")
    }


def _fill(path: str, objects) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(objects[m.group(1)]), path)


def test_every_operation_has_an_access_rule(leads_demo):
    assert set(_operations(JsonClient())) == set(OPERATIONS)


@pytest.mark.parametrize("username", USERS)
def test_api_answers_each_role_as_the_matrix_says(username, api_as, objects):
    client = api_as(username)
    problems = []
    for op_id, (method, path) in _operations(client).items():
        allowed, body, success = OPERATIONS[op_id]
        url = _fill(path, objects)
        if method == "get":
            response = client.get(url)
        elif body == EMPTY_FILE:
            upload = SimpleUploadedFile("empty.csv", b"", "text/csv")
            response = client.post(url, {"file": upload, "name": "矩阵", "channel": "demo-web"})
        else:
            response = client._send(method, url, body or {})
        if isinstance(success, dict):
            expected = success.get(username, 403) if username in allowed else 403
        else:
            expected = success if username in allowed else 403
        if response.status_code != expected:
            problems.append((op_id, response.status_code, expected, response.content[:200]))
        elif expected >= 400:
            assert_error_shape(response, expected)
    assert not problems, "\n".join(map(str, problems))


def test_anonymous_callers_get_401(leads_demo, objects):
    client = JsonClient()
    for _op_id, (method, path) in _operations(client).items():
        url = _fill(path, objects)
        response = client.get(url) if method == "get" else client._send(method, url, {})
        assert_error_shape(response, 401, "authentication_required")


# --- Leads ---------------------------------------------------------------------------------
def test_lead_list_exposes_only_masked_numbers(api_as, person_of):
    body = api_as("agent1").get("/api/v1/leads/leads?mine=true&limit=500").json()
    me = person_of("agent1")
    assert body and {row["owner_id"] for row in body} == {me.pk}
    for row in body:
        assert MASKED.fullmatch(row["mobile_masked"]), row["mobile_masked"]
        assert not {"mobile", "mobile_e164", "customer"} & set(row)
    public = api_as("agent1").get("/api/v1/leads/leads?state=public&limit=5").json()
    assert public and {row["state"] for row in public} == {"public"}


def test_lead_get_holds_history_and_consent_and_hides_other_teams(api_as, person_of):
    lead = Lead.objects.filter(owner=person_of("agent1"), state=LeadState.IN_PROGRESS).first()
    body = api_as("agent1").get(f"/api/v1/leads/leads/{lead.pk}").json()
    assert body["id"] == lead.pk and body["events"] and body["consent_source"]
    other = Lead.objects.filter(state=LeadState.OWNED).exclude(owner__team=person_of("agent1").team)
    response = api_as("agent1").get(f"/api/v1/leads/leads/{other.first().pk}")
    assert_error_shape(response, 404, "not_found")


def test_refusals_speak_the_centers_language(api_as, person_of):
    """The UI is Chinese: a lead out of sight (404), a role without the right (403), a
    removed DNC entry (409) and a permanent block with days (422) say so in Chinese."""
    other = Lead.objects.filter(state=LeadState.OWNED).exclude(owner__team=person_of("agent1").team)
    body = assert_error_shape(
        api_as("agent1").get(f"/api/v1/leads/leads/{other.first().pk}"), 404, "not_found"
    )
    assert body["message"] == "线索不存在，或您无权查看"
    body = assert_error_shape(api_as("agent1").get("/api/v1/leads/batches"), 403)
    assert body["message"] == "您的角色无权查看数据批次"
    body = assert_error_shape(api_as("hr").get("/api/v1/leads/leads"), 403)
    assert body["message"] == "您的角色无权访问线索数据"
    entry = DncEntry.objects.filter(removed_at__isnull=False).first() or DncEntry.objects.first()
    entry.removed_at = entry.removed_at or timezone.now()
    entry.save(update_fields=["removed_at"])
    body = assert_error_shape(
        api_as("data").post_json(f"/api/v1/leads/dnc/{entry.pk}/remove", {"reason": "测试"}),
        409,
    )
    assert body["message"] == "该禁呼记录已被移除"
    response = api_as("data").post_json(
        "/api/v1/leads/dnc",
        {"phone": "13912345678", "source": "manual", "permanent": True, "days": 30},
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["details"]["fields"]["days"] == ["永久禁呼不能同时填写禁呼天数"]


def test_lead_list_bad_filters_are_422(api_as):
    for query in ("state=nope", "limit=0", "limit=100000", "batch_id=-1", "q=" + "x" * 60):
        response = api_as("data").get(f"/api/v1/leads/leads?{query}")
        body = assert_error_shape(response, 422, "validation_failed")
        assert body["details"]["fields"], query


def _public_lead():
    return (
        Lead.objects.filter(state=LeadState.PUBLIC, consent_at__isnull=False, required_grade=1)
        .exclude(former_owner__isnull=False)
        .order_by("id")
        .first()
    )


def test_claim_and_release(api_as, person_of):
    lead = _public_lead()
    client = api_as("agent1")
    claimed = client.post_json(f"/api/v1/leads/leads/{lead.pk}/claim", {})
    assert claimed.status_code == 200
    assert claimed.json()["state"] == "owned"
    assert claimed.json()["owner_id"] == person_of("agent1").pk
    taken = api_as("agent2").post_json(f"/api/v1/leads/leads/{lead.pk}/claim", {})
    assert_error_shape(taken, (404, 409))
    released = client.post_json(f"/api/v1/leads/leads/{lead.pk}/release", {"reason": "不需要"})
    assert released.status_code == 200 and released.json()["state"] == "public"
    assert LeadEvent.objects.filter(lead=lead, action=LeadAction.RELEASE).exists()


def test_claim_refusal_says_why(api_as):
    LeadRuleSet.objects.update(daily_claim_limit=0)
    response = api_as("agent1").post_json(f"/api/v1/leads/leads/{_public_lead().pk}/claim", {})
    body = assert_error_shape(response, 409, "claim_limit_reached")
    assert "0" in body["message"]


def test_reveal_answers_the_number_and_audits_it(api_as, user_named):
    lead = Lead.objects.filter(state=LeadState.OWNED).select_related("customer").first()
    response = api_as("manager").post_json(
        f"/api/v1/leads/leads/{lead.pk}/reveal", {"reason": "核对投保人号码"}
    )
    assert response.status_code == 200
    assert response.json() == {"lead_id": lead.pk, "mobile": lead.customer.mobile_e164}
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="leads.phone_reveal")
    assert (entry.actor, entry.object_id, entry.reason) == (
        user_named("manager"),
        str(lead.pk),
        "核对投保人号码",
    )


def test_export_answers_a_masked_csv_and_audits_it(api_as):
    response = api_as("data").post_json(
        "/api/v1/leads/exports/leads", {"format": "csv", "state": "won"}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == Lead.objects.filter(state=LeadState.WON).count() + 1
    assert all(MASKED.fullmatch(row[2]) for row in rows[1:])
    assert AuditEntry.objects.get(action="leads.lead_export").after["rows"] == len(rows) - 1
    refused = api_as("data").post_json(
        "/api/v1/leads/exports/leads", {"format": "csv", "include_full_numbers": True}
    )
    body = assert_error_shape(refused, 422, "validation_failed")
    assert "reason" in body["details"]["fields"]


def test_export_refuses_an_unknown_format(api_as):
    response = api_as("data").post_json("/api/v1/leads/exports/leads", {"format": "pdf"})
    body = assert_error_shape(response, 422, "validation_failed")
    assert "format" in body["details"]["fields"]


def test_export_row_cap(api_as, settings):
    settings.TELESALES_EXPORT_MAX_ROWS = 5
    response = api_as("manager").post_json("/api/v1/leads/exports/leads", {"format": "xlsx"})
    assert_error_shape(response, 422, "validation_failed")


# --- Pools and channels --------------------------------------------------------------------
def test_pool_summary_adds_up(api_as):
    body = api_as("planner").get("/api/v1/leads/pools").json()
    assert body["public_total"] == Lead.objects.filter(state=LeadState.PUBLIC).count()
    assert (
        sum(row["held"] for row in body["private"])
        == Lead.objects.filter(state__in=[LeadState.OWNED, LeadState.IN_PROGRESS]).count()
    )
    channels = api_as("agent1").get("/api/v1/leads/channels").json()
    assert {c["code"] for c in channels} >= {"demo-gift", "demo-web"}


# --- Batches -------------------------------------------------------------------------------
def test_batch_upload_imports_in_the_background(api_as, django_capture_on_commit_callbacks):
    client = api_as("data")
    upload = SimpleUploadedFile(
        "api.csv", "姓名,手机号码\n甲,13900000201\n乙,13900000202\n".encode(), "text/csv"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/leads/batches",
            {"file": upload, "name": "接口批次", "channel": "demo-web", "cost": "10"},
        )
    assert response.status_code == 201, response.content
    batch_id = response.json()["id"]
    body = client.get(f"/api/v1/leads/batches/{batch_id}").json()
    assert (body["status"], body["rows"], body["imported"]) == ("done", 2, 2)
    report = client.get(f"/api/v1/leads/batches/{batch_id}/rejections?format=csv")
    assert report.status_code == 200 and report["Content-Type"].startswith("text/csv")
    again = client.post(
        "/api/v1/leads/batches",
        {
            "file": SimpleUploadedFile(
                "api.csv", "姓名,手机号码\n甲,13900000201\n乙,13900000202\n".encode()
            ),
            "name": "接口批次2",
            "channel": "demo-web",
        },
    )
    assert_error_shape(again, 409, "file_already_imported")


def test_batch_upload_with_an_unknown_channel_is_a_field_error(api_as):
    upload = SimpleUploadedFile("x.csv", b"mobile\n13900000301\n", "text/csv")
    response = api_as("data").post(
        "/api/v1/leads/batches", {"file": upload, "name": "坏渠道", "channel": "no-such"}
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert "channel" in body["details"]["fields"]


def test_batch_mapping_set_continues_the_import(api_as, django_capture_on_commit_callbacks):
    client = api_as("data")
    upload = SimpleUploadedFile(
        "m.csv", "客户,联络方式\n丙,13900000401\n丁,13900000402\n".encode(), "text/csv"
    )
    created = client.post(
        "/api/v1/leads/batches", {"file": upload, "name": "接口映射", "channel": "demo-web"}
    ).json()
    assert created["status"] == "mapping"
    assert all("139****04" in cell for cell in [created["sample"][0][1]])
    batch_id = created["id"]
    refused = client.put_json(f"/api/v1/leads/batches/{batch_id}/mapping", {"columns": {"1": ""}})
    assert_error_shape(refused, 422, "validation_failed")
    with django_capture_on_commit_callbacks(execute=True):
        done = client.put_json(
            f"/api/v1/leads/batches/{batch_id}/mapping", {"columns": {"1": "mobile"}}
        )
    assert done.status_code == 200
    assert client.get(f"/api/v1/leads/batches/{batch_id}").json()["imported"] == 2


# --- Do-not-call list ----------------------------------------------------------------------
def test_dnc_add_lookup_remove(api_as):
    client = api_as("data")
    added = client.post_json(
        "/api/v1/leads/dnc", {"phone": "139 0000 0501", "permanent": True, "reason": "投诉"}
    )
    assert added.status_code == 201
    body = added.json()
    assert body["phone_masked"] == "139****0501" and body["expires_at"] is None
    found = client.post_json("/api/v1/leads/dnc/lookup", {"phone": "+8613900000501"}).json()
    assert [e["id"] for e in found] == [body["id"]]
    removed = client.post_json(f"/api/v1/leads/dnc/{body['id']}/remove", {"reason": "误加"})
    assert removed.status_code == 200 and removed.json()["removed_at"]
    twice = client.post_json(f"/api/v1/leads/dnc/{body['id']}/remove", {"reason": "误加"})
    assert_error_shape(twice, 409, "invalid_state")
    both = client.post_json(
        "/api/v1/leads/dnc", {"phone": "13900000502", "days": 5, "permanent": True}
    )
    assert_error_shape(both, 422, "validation_failed")


def test_dnc_add_refuses_a_number_listed_already(api_as):
    client = api_as("data")
    first = client.post_json(
        "/api/v1/leads/dnc", {"phone": "13900000511", "days": 30, "source": "manual"}
    )
    assert first.status_code == 201
    again = client.post_json("/api/v1/leads/dnc", {"phone": "+86 139 0000 0511"})
    assert_error_shape(again, 409, "dnc_already_listed")
    body = again.json()
    assert body["details"]["entry_id"] == first.json()["id"]
    assert "139****0511" in body["message"] and "13900000511" not in again.content.decode()


def test_the_rejection_report_is_masked_unless_asked_for_with_a_reason(api_as):
    from telesales.core.models import AuditEntry
    from telesales.leads.models import BatchRejection, LeadBatch

    batch = LeadBatch.objects.filter(status="done").first()
    BatchRejection.objects.create(
        batch=batch, row_number=99999, reason="dnc", raw=["x", "13900000702"]
    )
    client = api_as("data")
    url = f"/api/v1/leads/batches/{batch.pk}/rejections"
    masked = client.get(url, {"format": "csv"})
    assert masked.status_code == 200 and b"13900000702" not in masked.content
    no_reason = client.post_json(url, {"format": "csv"})
    assert_error_shape(no_reason, 422, "validation_failed")
    assert "reason" in no_reason.json()["details"]["fields"]
    full = client.post_json(url, {"format": "csv", "reason": "接口核对"})
    assert full.status_code == 200 and "13900000702" in full.content.decode("utf-8-sig")
    entry = AuditEntry.objects.filter(action="leads.batch_rejection_report").latest("id")
    assert (entry.after["full_numbers"], entry.reason) == (True, "接口核对")


def test_dnc_import(api_as):
    upload = SimpleUploadedFile("d.csv", b"13900000601\n13900000602\nabc\n", "text/csv")
    response = api_as("data").post("/api/v1/leads/dnc/import", {"file": upload, "days": "200"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["added"], body["invalid"]) == (2, 1)
    empty = api_as("data").post(
        "/api/v1/leads/dnc/import", {"file": SimpleUploadedFile("e.csv", b"")}
    )
    assert_error_shape(empty, 422)


# --- Rule sets -----------------------------------------------------------------------------
def test_ruleset_create_makes_a_new_version(api_as):
    base = LeadRuleSet.objects.get(stage="")
    response = api_as("data").post_json(
        "/api/v1/leads/rulesets",
        {
            "based_on_id": base.pk,
            "name": "接口新版",
            "effective_from": timezone.localdate().isoformat(),
            "daily_claim_limit": 12,
            "private_cap_by_level": {"S1": 200},
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["daily_claim_limit"] == 12 and body["id"] != base.pk
    assert body["protection_days"] == base.protection_days
    base.refresh_from_db()
    assert base.daily_claim_limit != 12 or base.name != "接口新版"


def test_ruleset_errors_name_the_field(api_as):
    response = api_as("data").post_json(
        "/api/v1/leads/rulesets",
        {
            "name": "过去",
            "effective_from": "2020-01-01",
            "protection_days": 20,
            "protection_max_days": 5,
            "private_cap_by_level": {"NOPE": 1},
        },
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert {"effective_from", "protection_max_days", "private_cap_by_level"} <= set(
        body["details"]["fields"]
    )


# --- Allocation ----------------------------------------------------------------------------
def test_allocation_preview_and_commit(api_as):
    client = api_as("data")
    team = Team.objects.filter(kind="sales").order_by("name").first()
    preview = client.post_json(
        "/api/v1/leads/allocations",
        {"strategy": "round_robin", "criteria": {"limit": 4}, "targets": {"team_ids": [team.pk]}},
    )
    assert preview.status_code == 201, preview.content
    run = preview.json()
    assert run["summary"]["leads"]["planned"] > 0 and run["committed_at"] is None
    assert run["summary"]["agents"]
    committed = client.post_json(f"/api/v1/leads/allocations/{run['id']}/commit", {})
    assert committed.status_code == 200 and committed.json()["assigned"] > 0
    again = client.post_json(f"/api/v1/leads/allocations/{run['id']}/commit", {})
    assert_error_shape(again, 409, "invalid_state")


def test_allocation_without_targets_is_a_field_error(api_as):
    response = api_as("data").post_json("/api/v1/leads/allocations", {"strategy": "round_robin"})
    body = assert_error_shape(response, 422, "validation_failed")
    assert "targets" in body["details"]["fields"]


# --- Quality -------------------------------------------------------------------------------
def test_quality_report_and_export(api_as):
    body = api_as("planner").get("/api/v1/leads/quality").json()
    assert body["batches"] and body["channels"]
    gift = next(c for c in body["channels"] if c["code"] == "demo-gift")
    leads = Lead.objects.filter(channel__code="demo-gift")
    assert gift["leads"] == leads.count()
    assert gift["conversion"] == round(leads.filter(state="won").count() / leads.count(), 4)
    export = api_as("planner").get("/api/v1/leads/quality/export")
    assert export.status_code == 200 and export.content[:2] == b"PK"


# --- Bad bodies ----------------------------------------------------------------------------
BAD_BODIES = ["{not json", "[]", "null", '{"reason": 5}', '{"reason": "a\\u0000b"}', "x" * 20000]


@pytest.mark.parametrize("raw", BAD_BODIES)
def test_bad_bodies_answer_the_error_shape(raw, api_as, objects):
    client = api_as("data")
    for url in (
        f"/api/v1/leads/leads/{objects['lead_id']}/reveal",
        f"/api/v1/leads/leads/{objects['lead_id']}/release",
        "/api/v1/leads/dnc",
        f"/api/v1/leads/dnc/{objects['entry_id']}/remove",
        "/api/v1/leads/rulesets",
        "/api/v1/leads/allocations",
        "/api/v1/leads/dnc/lookup",
    ):
        response = client.post_json(url, raw)
        assert_error_shape(response, (400, 422))
    assert not AuditEntry.objects.filter(action="leads.phone_reveal").exists()


# --- Query ceilings ------------------------------------------------------------------------
LISTS = [
    ("data", "/api/v1/leads/leads?limit=500"),
    ("agent1", "/api/v1/leads/leads?mine=true&limit=500"),
    ("data", "/api/v1/leads/batches"),
    ("data", "/api/v1/leads/dnc?limit=500"),
    ("data", "/api/v1/leads/rulesets"),
    ("data", "/api/v1/leads/pools"),
    ("data", "/api/v1/leads/quality"),
    ("data", "/api/v1/leads/allocations"),
]


@pytest.mark.parametrize(("username", "url"), LISTS)
def test_api_list_queries_do_not_grow_with_rows(username, url, api_as, person_of):
    client = api_as(username)
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        assert client.get(url).status_code == 200
    agent = person_of("agent1")
    channel = Channel.objects.first()
    now = timezone.now()
    for i in range(20):
        LeadFactory(
            customer=CustomerFactory(mobile_e164=f"+86197{80000000 + i:08d}"),
            channel=channel,
            state=LeadState.OWNED,
            owner=agent,
            owned_since=now,
            protect_until=now,
        )
    DncEntry.objects.bulk_create(
        [
            DncEntry(phone_hash=f"q{i}", phone_masked="197****0000", source="import")
            for i in range(20)
        ]
    )
    with CaptureQueriesContext(connection) as after:
        assert client.get(url).status_code == 200
    assert len(after) == len(before) <= 25, (len(before), len(after))
