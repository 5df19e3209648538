"""Retention of uploaded files (PIPL Art. 19) and leads whose do-not-call block ended."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from telesales.core.models import AuditEntry
from telesales.leads.choices import BatchStatus, LeadAction, LeadState
from telesales.leads.models import BatchRejection, LeadEvent
from telesales.leads.retention import dnc_lapsed_leads_release, import_files_purge
from telesales.leads.tasks import leads_retention_task
from telesales.leads.tests.factories import (
    CustomerFactory,
    DncEntryFactory,
    LeadBatchFactory,
    LeadFactory,
)

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def _batch_with_file(name: str, *, status: str, finished_days_ago: int | None, created_days_ago=0):
    folder = Path(settings.MEDIA_ROOT) / "imports" / "test"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    path.write_text("姓名,手机\n张三,13800000001\n", encoding="utf-8")
    finished = NOW - dt.timedelta(days=finished_days_ago) if finished_days_ago is not None else None
    batch = LeadBatchFactory(
        name=name,
        status=status,
        finished_at=finished,
        stored_file=str(path.relative_to(settings.MEDIA_ROOT)),
    )
    if created_days_ago:
        type(batch).objects.filter(pk=batch.pk).update(
            created_at=NOW - dt.timedelta(days=created_days_ago)
        )
    BatchRejection.objects.create(
        batch=batch, row_number=2, reason="invalid_phone", raw=["张三", "1380000"]
    )
    return batch, path


def test_files_past_retention_are_deleted_and_raw_rows_cleared():
    old, old_path = _batch_with_file("old", status=BatchStatus.DONE, finished_days_ago=31)
    fresh, fresh_path = _batch_with_file("fresh", status=BatchStatus.DONE, finished_days_ago=29)
    result = import_files_purge(now=NOW, days=30)
    assert result == {"files": 1, "batches": 1, "rejection_rows": 1}
    assert not old_path.exists() and fresh_path.exists()
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert old.stored_file == "" and fresh.stored_file != ""
    # The report keeps its row number and reason; only the copy of the row goes.
    kept = BatchRejection.objects.get(batch=old)
    assert kept.raw == [] and kept.reason == "invalid_phone" and kept.row_number == 2
    assert BatchRejection.objects.get(batch=fresh).raw == ["张三", "1380000"]
    assert AuditEntry.objects.filter(action="leads.import_files_purge").count() == 1


def test_an_import_still_running_is_never_purged_and_abandoned_uploads_are():
    _running, running_path = _batch_with_file(
        "running", status=BatchStatus.RUNNING, finished_days_ago=None, created_days_ago=90
    )
    _abandoned, abandoned_path = _batch_with_file(
        "abandoned", status=BatchStatus.MAPPING, finished_days_ago=None, created_days_ago=40
    )
    import_files_purge(now=NOW, days=30)
    assert running_path.exists()
    assert not abandoned_path.exists()


def test_the_retention_comes_from_the_setting(settings):
    settings.TELESALES_IMPORT_FILE_DAYS = 60
    _, path = _batch_with_file("forty", status=BatchStatus.DONE, finished_days_ago=40)
    assert import_files_purge(now=NOW)["files"] == 0
    assert path.exists()
    settings.TELESALES_IMPORT_FILE_DAYS = 39
    assert import_files_purge(now=NOW)["files"] == 1


def test_a_file_already_gone_is_no_error():
    batch, path = _batch_with_file("gone", status=BatchStatus.DONE, finished_days_ago=100)
    path.unlink()
    assert import_files_purge(now=NOW, days=30)["files"] == 0
    batch.refresh_from_db()
    assert batch.stored_file == ""


def _dnc_lead(number: str, **entry):
    customer = CustomerFactory(mobile_e164=number)
    lead = LeadFactory(customer=customer, state=LeadState.DNC)
    DncEntryFactory(number=number, **entry)
    return lead


def test_a_lead_returns_to_the_public_pool_when_its_block_expires():
    expired = _dnc_lead("+8613911110001", expires_at=NOW - dt.timedelta(minutes=1))
    active = _dnc_lead("+8613911110002", expires_at=NOW + dt.timedelta(minutes=1))
    permanent = _dnc_lead("+8613911110003", expires_at=None)
    removed = _dnc_lead("+8613911110004", expires_at=None, removed_at=NOW)
    assert dnc_lapsed_leads_release(now=NOW) == 2
    states = {
        lead.pk: type(lead).objects.get(pk=lead.pk).state
        for lead in [expired, active, permanent, removed]
    }
    assert states == {
        expired.pk: LeadState.PUBLIC,
        active.pk: LeadState.DNC,
        permanent.pk: LeadState.DNC,
        removed.pk: LeadState.PUBLIC,
    }
    event = LeadEvent.objects.get(lead=expired, action=LeadAction.STATE)
    assert (event.from_state, event.to_state) == (LeadState.DNC, LeadState.PUBLIC)
    # A second run moves nothing more.
    assert dnc_lapsed_leads_release(now=NOW) == 0


def test_no_marketing_keeps_the_lead_blocked_whatever_the_list_says():
    lead = _dnc_lead("+8613911110005", expires_at=NOW - dt.timedelta(days=1))
    type(lead.customer).objects.filter(pk=lead.customer_id).update(no_marketing=True)
    assert dnc_lapsed_leads_release(now=NOW) == 0
    lead.refresh_from_db()
    assert lead.state == LeadState.DNC


def test_a_second_active_entry_for_the_same_number_keeps_it_blocked():
    # The lapsed entry was closed at its expiry when the new one came (one open entry per
    # number).
    lapsed = NOW - dt.timedelta(days=1)
    lead = _dnc_lead("+8613911110006", expires_at=lapsed, removed_at=lapsed)
    DncEntryFactory(number="+8613911110006", expires_at=NOW + dt.timedelta(days=100))
    assert dnc_lapsed_leads_release(now=NOW) == 0
    lead.refresh_from_db()
    assert lead.state == LeadState.DNC


def test_the_daily_task_runs_both():
    _batch_with_file("task", status=BatchStatus.DONE, finished_days_ago=400)
    _dnc_lead("+8613911110007", expires_at=NOW - dt.timedelta(days=1))
    result = leads_retention_task()
    assert result["purged"]["files"] == 1
    assert result["dnc_released"] == 1
