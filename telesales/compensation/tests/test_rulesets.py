"""Importing and approving basic-law rule sets against the database: versions, drafts, the
effective-date hand-over, permissions and the audit trail."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest

from telesales.compensation.choices import RuleSetStatus
from telesales.compensation.models import AssessmentRun, RuleSet
from telesales.compensation.rules_format import RuleSetInvalid, document_to_json, ruleset_parse
from telesales.compensation.rulesets import (
    DEFAULT_RULESET_PATH,
    ruleset_approve,
    ruleset_discard,
    ruleset_import,
    ruleset_import_default,
    ruleset_rulebook,
)
from telesales.compensation.selectors import ruleset_in_force, ruleset_list
from telesales.core.errors import Conflict, InvalidState, PermissionDenied
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.org.reference_data import load_reference_data
from telesales.org.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DEFAULT_TEXT = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")


@pytest.fixture
def ladder():
    load_reference_data()


@pytest.fixture
def hr(ladder):
    return UserFactory(roles=[Role.HR_ADMIN])


def test_import_creates_a_numbered_draft_with_its_source_and_an_audit_row(hr):
    first = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 1, 1))
    second = ruleset_import(
        actor=hr, effective_from=dt.date(2026, 4, 1), text=DEFAULT_TEXT, filename="v2.yaml"
    )
    assert (first.version, second.version) == (1, 2)
    first.refresh_from_db()
    assert first.status == RuleSetStatus.DRAFT
    assert first.name == "默认基本法 / Default basic law"
    assert first.source_name == "basic_law.yaml"
    assert first.source_format == "yaml"
    assert first.source_text == DEFAULT_TEXT
    assert first.created_by == hr
    entry = AuditEntry.objects.get(action="compensation.ruleset_import", object_id=str(first.pk))
    assert entry.actor == hr
    assert entry.after["version"] == 1
    assert entry.after["effective_from"] == "2026-01-01"


def test_the_stored_document_gives_the_same_rules_as_the_file(hr):
    ruleset = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 1, 1))
    ruleset.refresh_from_db()
    expected, _ = ruleset_parse(DEFAULT_TEXT)
    assert ruleset_rulebook(ruleset).document == expected.document
    assert ruleset_rulebook(ruleset).section("trainee_factor")["factor"] == Decimal("0.8")


def test_import_from_an_uploaded_json_file(hr):
    _book, raw = ruleset_parse(DEFAULT_TEXT)
    upload = io.BytesIO(json.dumps(document_to_json(raw), ensure_ascii=False).encode())
    upload.name = "/tmp/uploads/law.json"
    ruleset = ruleset_import(actor=hr, effective_from=dt.date(2026, 1, 1), file=upload)
    assert (ruleset.source_format, ruleset.source_name) == ("json", "law.json")


def test_an_invalid_file_is_rejected_with_its_problems_and_nothing_is_saved(hr):
    text = DEFAULT_TEXT.replace("rates: {M1: 0.20, M2: 0.25}", "rates: {M1: 0.20, M2: -0.25}")
    with pytest.raises(RuleSetInvalid) as caught:
        ruleset_import(actor=hr, effective_from=dt.date(2026, 1, 1), text=text, filename="x.yaml")
    [error] = caught.value.errors
    assert error.path == "management_allowance.rates.M2"
    assert error.reason == "must not be negative (-0.25)"
    assert DEFAULT_TEXT.splitlines()[error.line - 1].startswith("  rates: {M1: 0.20")
    assert not RuleSet.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="compensation.").exists()


def test_a_level_missing_from_the_org_ladder_is_rejected_on_import(ladder):
    hr = UserFactory(roles=[Role.HR_ADMIN])
    text = (
        DEFAULT_TEXT.replace("{code: M2, name: 经理", "{code: M3, name: 经理")
        .replace("M2:", "M3:")
        .replace("[M1, M2]", "[M1, M3]")
        .replace("promotes_to: M2", "promotes_to: M3")
    )
    with pytest.raises(RuleSetInvalid) as caught:
        ruleset_import(actor=hr, effective_from=dt.date(2026, 1, 1), text=text)
    assert [(e.path, e.reason) for e in caught.value.errors] == [
        (
            "levels[5].code",
            "level 'M3' does not exist in the organisation's ladder (M1, M2, S1, S2, S3, T0)",
        )
    ]


def test_only_hr_admin_or_manager_may_import_or_approve(ladder):
    agent = UserFactory(roles=[Role.AGENT])
    with pytest.raises(PermissionDenied):
        ruleset_import_default(actor=agent, effective_from=dt.date(2026, 1, 1))
    manager = UserFactory(roles=[Role.MANAGER])
    ruleset = ruleset_import_default(actor=manager, effective_from=dt.date(2026, 1, 1))
    with pytest.raises(PermissionDenied):
        ruleset_approve(ruleset=ruleset, actor=agent)
    assert list(ruleset_list(user=agent)) == []
    assert list(ruleset_list(user=manager)) == [ruleset]


def test_approving_puts_a_version_in_force_and_closes_the_one_before(hr):
    first = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 1, 1))
    ruleset_approve(ruleset=first, actor=hr)
    second = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 4, 1))
    assert ruleset_in_force(on=dt.date(2026, 5, 1)) == first

    ruleset_approve(ruleset=second, actor=hr, reason="new rates from Q2")
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.status == RuleSetStatus.APPROVED
    assert second.approved_by == hr and second.approved_at is not None
    assert first.effective_to == dt.date(2026, 3, 31)
    assert ruleset_in_force(on=dt.date(2026, 3, 31)) == first
    assert ruleset_in_force(on=dt.date(2026, 4, 1)) == second
    assert ruleset_in_force(on=dt.date(2025, 12, 31)) is None
    actions = list(
        AuditEntry.objects.filter(
            action__in=["compensation.ruleset_close", "compensation.ruleset_approve"]
        )
        .order_by("id")
        .values_list("action", "object_id", "reason")
    )
    assert actions == [
        ("compensation.ruleset_approve", str(first.pk), ""),
        ("compensation.ruleset_close", str(first.pk), "new rates from Q2"),
        ("compensation.ruleset_approve", str(second.pk), "new rates from Q2"),
    ]


def test_an_approved_version_cannot_be_approved_again(hr):
    ruleset = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 1, 1))
    ruleset_approve(ruleset=ruleset, actor=hr)
    with pytest.raises(InvalidState):
        ruleset_approve(ruleset=ruleset, actor=hr)


def test_approving_a_version_that_starts_before_an_approved_one_is_a_conflict(hr):
    later = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 4, 1))
    ruleset_approve(ruleset=later, actor=hr)
    earlier = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 4, 1))
    with pytest.raises(Conflict):
        ruleset_approve(ruleset=earlier, actor=hr)
    earlier.refresh_from_db()
    assert earlier.status == RuleSetStatus.DRAFT


def test_the_same_import_submitted_twice_makes_one_draft(hr):
    first = ruleset_import(actor=hr, effective_from=dt.date(2026, 1, 1), text=DEFAULT_TEXT)
    again = ruleset_import(actor=hr, effective_from=dt.date(2026, 1, 1), text=DEFAULT_TEXT)
    assert again.pk == first.pk and RuleSet.objects.count() == 1
    assert AuditEntry.objects.filter(action="compensation.ruleset_import").count() == 1
    # Another day, or once approved, it is a new version.
    other_day = ruleset_import(actor=hr, effective_from=dt.date(2026, 2, 1), text=DEFAULT_TEXT)
    assert other_day.version == 2
    ruleset_approve(ruleset=other_day, actor=hr)
    assert (
        ruleset_import(actor=hr, effective_from=dt.date(2026, 2, 1), text=DEFAULT_TEXT).version == 3
    )


def test_a_discarded_draft_is_deleted_and_its_text_stays_in_the_audit_log(hr):
    draft = ruleset_import(
        actor=hr, effective_from=dt.date(2026, 1, 1), text=DEFAULT_TEXT, filename="2027.yaml"
    )
    assert ruleset_discard(ruleset=draft, actor=hr, reason="imported by mistake") == 1
    assert not RuleSet.objects.exists()
    entry = AuditEntry.objects.get(action="compensation.ruleset_discard")
    assert entry.object_id == str(draft.pk) and entry.reason == "imported by mistake"
    assert entry.before["source_text"] == DEFAULT_TEXT
    assert (entry.before["version"], entry.before["source_name"]) == (1, "2027.yaml")
    # The text imports again as it was.
    again = ruleset_import(
        actor=hr, effective_from=dt.date(2026, 1, 1), text=entry.before["source_text"]
    )
    assert again.document == draft.document


def test_only_a_draft_nobody_uses_may_be_discarded_by_hr_or_the_manager(hr):
    approved = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 1, 1))
    ruleset_approve(ruleset=approved, actor=hr)
    with pytest.raises(InvalidState):
        ruleset_discard(ruleset=approved, actor=hr)
    draft = ruleset_import_default(actor=hr, effective_from=dt.date(2026, 6, 1))
    with pytest.raises(PermissionDenied):
        ruleset_discard(ruleset=draft, actor=UserFactory(roles=[Role.AGENT]))
    # A run that names the draft (none does today: runs take the approved version in force)
    # keeps it: the deletion is refused, nothing is written.
    AssessmentRun.objects.create(
        label="2026-06", period_end=dt.date(2026, 6, 30), ruleset=draft, ruleset_version=2
    )
    with pytest.raises(Conflict) as caught:
        ruleset_discard(ruleset=draft, actor=UserFactory(roles=[Role.MANAGER]))
    assert "Version 2 is used by a pay or assessment run" in str(caught.value)
    assert RuleSet.objects.count() == 2
    assert not AuditEntry.objects.filter(action="compensation.ruleset_discard").exists()
