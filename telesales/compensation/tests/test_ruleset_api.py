"""The basic-law rule-set JSON endpoints: HR lists, reads, imports (a file or text) and
approves versions; everyone else is refused; a file that breaks the format or is not UTF-8
answers 422 with its problems and saves nothing; approving is refused (409) once approved or
out of order."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from telesales.compensation.choices import RuleSetStatus
from telesales.compensation.models import RuleSet
from telesales.compensation.rules_format import document_to_json, ruleset_parse
from telesales.compensation.rulesets import (
    DEFAULT_RULESET_PATH,
    MAX_FILE_BYTES,
    ruleset_approve,
    ruleset_import,
    ruleset_import_default,
)
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.org.reference_data import load_reference_data
from telesales.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
BASE = "/api/v1/compensation/rulesets"
DEFAULT_TEXT = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
LIST_FIELDS = {
    "id",
    "version",
    "name",
    "status",
    "effective_from",
    "effective_to",
    "source_name",
    "source_format",
    "created_at",
    "approved_at",
    "in_force_today",
}


@pytest.fixture
def ladder():
    """The organisation's levels: the rule file's level codes must exist."""
    load_reference_data()


@pytest.fixture
def hr(ladder):
    return UserFactory(roles=[Role.HR_ADMIN])


@pytest.fixture
def agent(ladder):
    return UserFactory(roles=[Role.AGENT])


def client_for(user, language: str = "en") -> JsonClient:
    client = JsonClient()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def upload(content: bytes, name: str = "law.yaml") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def days(n: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=n)


def test_hr_lists_every_version_newest_first_and_reads_one_with_its_text(hr):
    first = ruleset_import_default(actor=hr, effective_from=days(-30))
    ruleset_approve(ruleset=first, actor=hr)
    second = ruleset_import_default(actor=hr, effective_from=days(30))
    ruleset_approve(ruleset=second, actor=hr)  # approved, but not yet in force
    third = ruleset_import_default(actor=hr, effective_from=days(60))  # a draft
    api = client_for(hr)

    response = api.get(BASE)
    assert response.status_code == 200, response.content
    listed = response.json()
    assert [r["id"] for r in listed] == [third.pk, second.pk, first.pk]
    assert all(set(r) == LIST_FIELDS for r in listed)  # no text in the list
    assert [(r["version"], r["status"], r["in_force_today"]) for r in listed] == [
        (3, "draft", False),
        (2, "approved", False),
        (1, "approved", True),
    ]
    oldest = listed[-1]
    assert oldest["effective_from"] == days(-30).isoformat()
    assert oldest["effective_to"] == days(29).isoformat()  # closed by version 2
    assert oldest["approved_at"] is not None and listed[0]["approved_at"] is None
    assert (oldest["name"], oldest["source_name"], oldest["source_format"]) == (
        "默认基本法 / Default basic law",
        "basic_law.yaml",
        "yaml",
    )

    response = api.get(f"{BASE}/{first.pk}")
    assert response.status_code == 200, response.content
    detail = response.json()
    assert set(detail) == LIST_FIELDS | {
        "source_text",
        "document",
        "compared_with_version",
        "changes",
    }
    assert detail["source_text"] == DEFAULT_TEXT
    first.refresh_from_db()
    assert detail["document"] == first.document
    assert detail["document"]["name"] == "默认基本法 / Default basic law"
    assert (detail["version"], detail["in_force_today"]) == (1, True)

    # The center manager manages rule sets too.
    manager = client_for(UserFactory(roles=[Role.MANAGER]))
    assert [r["id"] for r in manager.get(BASE).json()] == [third.pk, second.pk, first.pk]


def test_an_agent_is_refused_on_every_endpoint_and_nothing_changes(hr, agent):
    draft = ruleset_import_default(actor=hr, effective_from=days(1))
    api = client_for(agent)
    answers = [
        api.get(BASE),
        api.get(f"{BASE}/{draft.pk}"),
        api.get(f"{BASE}/{draft.pk + 1000}"),
        api.post(BASE, {"effective_from": "2026-01-01", "file": upload(DEFAULT_TEXT.encode())}),
        api.post(BASE, {"effective_from": "2026-01-01", "text": DEFAULT_TEXT}),
        api.post_json(f"{BASE}/{draft.pk}/approve", {"reason": "mine"}),
        api.post_json(f"{BASE}/{draft.pk}/discard", {"reason": "mine"}),
    ]
    reads = (
        "Only the HR admin, the center manager or the planner may read pay rules",
        "Only the HR admin or the center manager may manage pay rules",
    )
    for response in answers:
        body = assert_error_shape(response, 403, "permission_denied")
        assert body["message"] in reads
    assert list(RuleSet.objects.values_list("version", "status")) == [(1, RuleSetStatus.DRAFT)]


def test_import_from_an_uploaded_yaml_file_creates_a_draft(hr):
    api = client_for(hr)
    response = api.post(
        BASE,
        {
            "effective_from": "2026-04-01",
            "reason": "Q2 rates",
            "file": upload(DEFAULT_TEXT.encode(), name="basic-law-2026.yaml"),
        },
    )
    assert response.status_code == 200, response.content
    created = response.json()
    assert (created["version"], created["status"], created["effective_from"]) == (
        1,
        "draft",
        "2026-04-01",
    )
    assert (created["source_name"], created["source_format"]) == ("basic-law-2026.yaml", "yaml")
    assert created["source_text"] == DEFAULT_TEXT
    assert created["in_force_today"] is False and created["approved_at"] is None
    ruleset = RuleSet.objects.get()
    assert (ruleset.pk, ruleset.created_by) == (created["id"], hr)
    assert created["document"] == ruleset.document
    entry = AuditEntry.objects.get(action="compensation.ruleset_import")
    assert (entry.object_id, entry.reason) == (str(ruleset.pk), "Q2 rates")


def test_import_from_text_creates_the_next_version(hr):
    ruleset_import_default(actor=hr, effective_from=dt.date(2026, 1, 1))
    _book, raw = ruleset_parse(DEFAULT_TEXT)
    text = json.dumps(document_to_json(raw), ensure_ascii=False)
    response = client_for(hr).post(BASE, {"effective_from": "2026-04-01", "text": text})
    assert response.status_code == 200, response.content
    created = response.json()
    assert (created["version"], created["status"]) == (2, "draft")
    assert (created["source_name"], created["source_format"]) == ("", "json")
    assert created["source_text"] == text
    assert list(RuleSet.objects.order_by("version").values_list("version", flat=True)) == [1, 2]


def test_an_invalid_file_answers_422_with_path_line_and_reason_and_saves_nothing(hr):
    text = DEFAULT_TEXT.replace("management_allowance:", "management_allowance:\n  colour: red", 1)
    line = text.splitlines().index("  colour: red") + 1
    response = client_for(hr).post(
        BASE, {"effective_from": "2026-04-01", "file": upload(text.encode(), name="bad.yaml")}
    )
    body = assert_error_shape(response, 422, "validation_failed")
    # An unknown key is a problem of shape: the checks across sections wait for it (QA,
    # session 20: a file with six faults reported two, then four more once they were fixed).
    assert body["message"] == (
        "bad.yaml: The rule set has 1 problem. The checks across sections (bands, levels, "
        "chains) run once these are fixed."
    )
    assert body["details"]["partial"] is True
    assert body["details"]["errors"] == [
        {
            "path": "management_allowance.colour",
            "line": line,
            "reason": "unknown key 'colour'; expected one of: id, include_own, rates",
        }
    ]
    assert "management_allowance.colour" in body["details"]["fields"]
    assert not RuleSet.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="compensation.").exists()


def test_a_gbk_file_is_read_as_gbk(hr):
    """A rule file saved by a Chinese Windows editor (GBK) imports like its UTF-8 twin."""
    content = DEFAULT_TEXT.encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    response = client_for(hr).post(
        BASE, {"effective_from": "2026-04-01", "file": upload(content, name="gbk.yaml")}
    )
    assert response.status_code == 200, response.content
    assert RuleSet.objects.get().source_text == DEFAULT_TEXT


def test_a_file_neither_utf8_nor_gbk_answers_422_and_saves_nothing(hr):
    content = "name: 基本法\n".encode() + b"\xff\xfe\x80\n"
    for codec in ("utf-8", "gb18030"):
        with pytest.raises(UnicodeDecodeError):
            content.decode(codec)
    response = client_for(hr).post(
        BASE, {"effective_from": "2026-04-01", "file": upload(content, name="bad.yaml")}
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["message"] == "The rule file is neither UTF-8 nor GBK text"
    assert body["details"]["fields"] == {"file": ["Save it as UTF-8 (or GBK)."]}
    # In the center's language by default.
    response = client_for(hr, language="zh-hans").post(
        BASE, {"effective_from": "2026-04-01", "file": upload(content, name="bad.yaml")}
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["message"] != "The rule file is neither UTF-8 nor GBK text"
    assert "UTF-8" in body["message"]
    assert not RuleSet.objects.exists()


def test_a_file_over_the_size_limit_answers_422_and_saves_nothing(hr):
    content = DEFAULT_TEXT.encode() + b"#" * MAX_FILE_BYTES
    response = client_for(hr).post(
        BASE, {"effective_from": "2026-04-01", "file": upload(content, name="big.yaml")}
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["message"] == "The rule file is too large"
    assert list(body["details"]["fields"]) == ["file"]
    assert not RuleSet.objects.exists()


def test_missing_date_or_missing_rules_answer_422_and_save_nothing(hr):
    api = client_for(hr)
    body = assert_error_shape(api.post(BASE, {"file": upload(DEFAULT_TEXT.encode())}), 422)
    # The project's handler names form fields "form.<name>" (JSON ones plain).
    assert [k.rsplit(".", 1)[-1] for k in body["details"]["fields"]] == ["effective_from"]
    body = assert_error_shape(api.post(BASE, {"effective_from": "2026-04-01", "text": ""}), 422)
    assert body["message"] == "Give the rules as text or as a file"
    both = {"effective_from": "2026-04-01", "text": DEFAULT_TEXT, "file": upload(b"name: x")}
    body = assert_error_shape(api.post(BASE, both), 422)
    assert body["message"] == "Give the rules as a file or as text, not both."
    assert not RuleSet.objects.exists()


def test_approve_puts_a_draft_in_force_and_a_second_approve_is_409(hr):
    draft = ruleset_import_default(actor=hr, effective_from=days(-1))
    api = client_for(hr)
    response = api.post_json(f"{BASE}/{draft.pk}/approve", {"reason": "signed off"})
    assert response.status_code == 200, response.content
    approved = response.json()
    assert (approved["id"], approved["status"], approved["in_force_today"]) == (
        draft.pk,
        "approved",
        True,
    )
    assert approved["approved_at"] is not None
    draft.refresh_from_db()
    assert (draft.status, draft.approved_by) == (RuleSetStatus.APPROVED, hr)
    entry = AuditEntry.objects.get(action="compensation.ruleset_approve")
    assert entry.reason == "signed off"

    body = assert_error_shape(api.post_json(f"{BASE}/{draft.pk}/approve", {}), 409)
    assert body["code"] == "invalid_state"
    assert body["message"] == "Only a draft rule set can be approved"


def test_approving_a_version_that_starts_before_an_approved_one_is_409(hr):
    later = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 4, 1))
    ruleset_approve(ruleset=later, actor=hr)
    earlier = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 3, 1))
    body = assert_error_shape(
        client_for(hr).post_json(f"{BASE}/{earlier.pk}/approve", {}), 409, "conflict"
    )
    assert "Version 1 is already approved from 2026-04-01" in body["message"]
    earlier.refresh_from_db()
    assert earlier.status == RuleSetStatus.DRAFT


def test_an_unknown_rule_set_is_404(hr):
    draft = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 1, 1))
    api = client_for(hr)
    missing = draft.pk + 1000
    for response in (
        api.get(f"{BASE}/{missing}"),
        api.post_json(f"{BASE}/{missing}/approve", {}),
    ):
        body = assert_error_shape(response, 404, "not_found")
        assert body["message"] == "No such rule set"
    draft.refresh_from_db()
    assert draft.status == RuleSetStatus.DRAFT


def test_an_invalid_file_is_explained_in_chinese_with_full_width_punctuation(hr):
    """The message and each field's problem in the caller's language: 「bad.yaml：规则集有 1 个
    问题。」 and 「…（第 N 行）」, no English "line" and no half-width colon in Chinese."""
    text = DEFAULT_TEXT.replace("management_allowance:", "management_allowance:\n  colour: red", 1)
    line = text.splitlines().index("  colour: red") + 1
    response = client_for(hr, "zh-hans").post(
        BASE, {"effective_from": "2026-04-01", "file": upload(text.encode(), name="bad.yaml")}
    )
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["message"].startswith("bad.yaml：") and ": " not in body["message"]
    (problem,) = body["details"]["fields"]["management_allowance.colour"]
    assert problem.endswith(f"（第 {line} 行）") and "line" not in problem, problem


def test_discard_deletes_a_draft_and_refuses_an_approved_version(hr):
    approved = ruleset_import_default(actor=hr, effective_from=days(-1))
    ruleset_approve(ruleset=approved, actor=hr)
    draft = ruleset_import_default(actor=hr, effective_from=days(30))
    api = client_for(hr)
    response = api.post_json(f"{BASE}/{draft.pk}/discard", {"reason": "wrong rates"})
    assert response.status_code == 200, response.content
    assert response.json() == {"version": 2, "discarded": True}
    assert not RuleSet.objects.filter(pk=draft.pk).exists()
    entry = AuditEntry.objects.get(action="compensation.ruleset_discard")
    assert entry.reason == "wrong rates" and entry.before["version"] == 2
    assert_error_shape(api.post_json(f"{BASE}/{draft.pk}/discard", {}), 404)

    body = assert_error_shape(api.post_json(f"{BASE}/{approved.pk}/discard", {}), 409)
    assert body["code"] == "invalid_state"
    assert body["message"] == (
        "Only a draft can be discarded; a later version replaces an approved one"
    )
    assert RuleSet.objects.filter(pk=approved.pk).exists()


def test_a_version_read_says_what_it_changes_from_the_version_before(hr):
    first = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 1, 1))
    ruleset_approve(ruleset=first, actor=hr)
    text = DEFAULT_TEXT.replace("factor: 0.8\n", "factor: 0.9\n", 1)
    assert text != DEFAULT_TEXT
    draft = ruleset_import(actor=hr, effective_from=dt.date(2026, 12, 1), text=text)
    api = client_for(hr)
    body = api.get(f"{BASE}/{draft.pk}").json()
    assert body["compared_with_version"] == 1
    assert body["changes"] == [{"path": "trainee_factor.factor", "before": "0.8", "after": "0.9"}]
    body = api.get(f"{BASE}/{first.pk}").json()
    assert (body["compared_with_version"], body["changes"]) == (None, [])
