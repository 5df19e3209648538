"""Resuming a lead import (继续导入) from the batch page and the API: a run that died
(``running``, its lock free: interrupted) or a batch queued that no worker started
(``pending`` past ``TELESALES_IMPORT_QUEUE_MINUTES``: overdue) is queued again through the
upload's task, resumes as ``telesales leads-import --resume`` does, and imports every row
exactly once. Anything else is refused and nothing changes; asking twice queues once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone, translation

from telesales.core.errors import InvalidState, NotFound, PermissionDenied
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape
from telesales.leads import importing
from telesales.leads.choices import BatchStatus
from telesales.leads.importing import (
    ImportInProgress,
    ImportQueued,
    NeedsMapping,
    batch_discard,
    batch_import_run,
    batch_resume,
)
from telesales.leads.models import Customer, Lead, LeadBatch
from telesales.leads.tests.factories import UserFactory
from telesales.leads.tests.test_import_mapping import (
    TITLED,
    left_running,
    national,
    run_lock_held_elsewhere,
    upload,
)

pytestmark = pytest.mark.django_db

# Five rows: three new numbers, one repeated within the file, one invalid number.
ROWS = [
    ["姓名", "手机号码"],
    ["甲", national(1)],
    ["乙", national(2)],
    ["丙", national(1)],
    ["丁", "12345"],
    ["戊", national(3)],
]
COUNTS = (5, 3, 1, 1, 0)  # rows, imported, duplicate, invalid, dnc_blocked


def counts(batch: LeadBatch) -> tuple[int, int, int, int, int]:
    batch.refresh_from_db()
    return (batch.rows, batch.imported, batch.duplicate, batch.invalid, batch.dnc_blocked)


def interrupted(tmp_path, officer) -> LeadBatch:
    """A batch whose run died while reading: ``running``, a row processed, nothing merged."""
    return left_running(upload(tmp_path, ROWS, actor=officer))


def overdue(batch: LeadBatch, minutes: int = 11) -> LeadBatch:
    """The batch as queued ``minutes`` ago without a worker starting it."""
    LeadBatch.objects.filter(pk=batch.pk).update(
        updated_at=timezone.now() - dt.timedelta(minutes=minutes)
    )
    batch.refresh_from_db()
    return batch


def assert_each_number_once() -> None:
    assert Customer.objects.count() == Customer.objects.values("mobile_hash").distinct().count()
    assert Lead.objects.count() == Lead.objects.values("customer").distinct().count()


# --- The service ----------------------------------------------------------------------------
def test_an_interrupted_import_is_queued_again_and_imports_every_row_once(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    batch = interrupted(tmp_path, officer)
    assert importing.batches_stale_mark([batch])[0].state == "interrupted"
    with django_capture_on_commit_callbacks(execute=True) as queued:
        batch_resume(batch=batch, actor=officer)
    assert len(queued) == 1  # the upload's task, queued once the batch is committed
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE and counts(batch) == COUNTS
    assert batch.mapping["summary"]["resumed"] is True
    assert batch.mapping["resume"]["from"] == "interrupted"
    assert batch.mapping["resume"]["by"] == officer.username
    assert Lead.objects.filter(batch=batch).count() == 3 and Customer.objects.count() == 3
    assert_each_number_once()
    entry = AuditEntry.objects.get(action="leads.batch_resume")
    assert entry.actor == officer and entry.object_id == str(batch.pk)
    assert entry.before["status"] == "interrupted" and entry.before["leads"] == 0
    assert entry.after == {"status": "pending"}
    assert importing.batches_stale_mark([batch])[0].state == "done"


def test_a_resume_asked_twice_queues_the_import_once(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    """No worker runs here (the callbacks are not run): the batch waits ``pending``; a
    second resume (a double click) is refused and changes nothing."""
    batch = interrupted(tmp_path, officer)
    with django_capture_on_commit_callbacks() as queued:
        batch_resume(batch=batch, actor=officer)
        batch.refresh_from_db()
        assert batch.status == BatchStatus.PENDING
        before = (batch.status, batch.updated_at, batch.mapping)
        with translation.override("en"), pytest.raises(ImportQueued) as refused:
            batch_resume(batch=batch, actor=officer)
    assert "queued already" in refused.value.message and refused.value.status == 409
    assert len(queued) == 1
    batch.refresh_from_db()
    assert (batch.status, batch.updated_at, batch.mapping) == before
    assert AuditEntry.objects.filter(action="leads.batch_resume").count() == 1
    marked = importing.batches_stale_mark([batch])[0]
    assert (marked.state, marked.resumable) == ("pending", False)
    # The queued task runs later: the run counts as resumed and imports each row once.
    batch = batch_import_run(batch_id=batch.pk)
    assert counts(batch) == COUNTS and batch.mapping["summary"]["resumed"] is True
    assert_each_number_once()


def test_a_batch_being_imported_is_not_resumed(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    batch = interrupted(tmp_path, officer)
    with run_lock_held_elsewhere(batch.pk), django_capture_on_commit_callbacks() as queued:
        assert importing.batches_stale_mark([batch])[0].state == "running"
        assert importing.batch_resume_refusal(batch)
        with pytest.raises(ImportInProgress):
            batch_resume(batch=batch, actor=officer)
    assert queued == []
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING and batch.processed == 1
    assert "resume" not in batch.mapping
    assert not AuditEntry.objects.filter(action="leads.batch_resume").exists()


def test_done_failed_mapping_and_discarded_batches_are_not_resumed(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    done = batch_import_run(batch_id=upload(tmp_path, ROWS, name="完成", actor=officer).pk)
    mapping = upload(tmp_path, TITLED, name="待映射", file_name="t.csv", actor=officer)
    failed = upload(tmp_path, [["手机"], [national(9)]], name="失败", file_name="f.csv")
    LeadBatch.objects.filter(pk=failed.pk).update(status=BatchStatus.FAILED, error="坏文件")
    failed.refresh_from_db()
    discarded = upload(tmp_path, [["手机"], [national(8)]], name="丢弃", file_name="d.csv")
    batch_discard(batch=discarded, actor=officer)
    expected = {done: InvalidState, mapping: NeedsMapping, failed: InvalidState}
    with django_capture_on_commit_callbacks() as queued:
        for batch, error in expected.items():
            assert importing.batch_resume_refusal(batch), batch.name
            before = LeadBatch.objects.filter(pk=batch.pk).values().get()
            with pytest.raises(error):
                batch_resume(batch=batch, actor=officer)
            assert LeadBatch.objects.filter(pk=batch.pk).values().get() == before
        with pytest.raises(NotFound):
            batch_resume(batch=discarded, actor=officer)
    assert queued == [] and not AuditEntry.objects.filter(action="leads.batch_resume").exists()
    assert counts(done) == COUNTS and Lead.objects.count() == 3


def test_only_the_roles_that_import_may_resume(tmp_path, channel, officer):
    batch = interrupted(tmp_path, officer)
    for roles in ([Role.PLANNER], [Role.AGENT], []):
        with pytest.raises(PermissionDenied):
            batch_resume(batch=batch, actor=UserFactory(roles=roles))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING


def test_a_run_that_died_after_its_leads_were_merged_adds_no_lead_when_resumed(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    """The merge commits the leads with the status ``done``, so a ``running`` batch that
    holds leads cannot come from a run that died; should one exist, resuming it reads the
    file again and its numbers are customers already: no lead is added twice."""
    batch = upload(tmp_path, ROWS, actor=officer)
    batch = left_running(batch_import_run(batch_id=batch.pk))
    with django_capture_on_commit_callbacks(execute=True):
        batch_resume(batch=batch, actor=officer)
    assert AuditEntry.objects.get(action="leads.batch_resume").before["leads"] == 3
    rows, imported, duplicate, invalid, dnc = counts(batch)
    assert rows == imported + duplicate + invalid + dnc == 5
    assert Lead.objects.count() == 3 and Customer.objects.count() == 3
    assert_each_number_once()


# --- Waiting too long for a worker ------------------------------------------------------------
def test_a_batch_queued_past_the_threshold_is_overdue_and_may_be_queued_again(
    tmp_path, channel, officer, settings, django_capture_on_commit_callbacks
):
    batch = upload(tmp_path, ROWS, actor=officer)  # pending: its task was never run
    assert importing.batches_stale_mark([batch])[0].state == "pending"
    with translation.override("en"), pytest.raises(ImportQueued):
        batch_resume(batch=batch, actor=officer)
    batch = overdue(batch, minutes=11)
    assert importing.batch_is_overdue(batch)
    settings.TELESALES_IMPORT_QUEUE_MINUTES = 30
    assert not importing.batch_is_overdue(batch)
    assert importing.batches_stale_mark([batch])[0].state == "pending"
    settings.TELESALES_IMPORT_QUEUE_MINUTES = 10
    marked = importing.batches_stale_mark([batch])[0]
    assert (marked.state, marked.overdue, marked.resumable, marked.stale) == (
        "overdue",
        True,
        True,
        False,
    )
    with django_capture_on_commit_callbacks(execute=True) as queued:
        batch_resume(batch=batch, actor=officer)
    assert len(queued) == 1
    assert counts(batch) == COUNTS and batch.status == BatchStatus.DONE
    assert batch.mapping["resume"]["from"] == "overdue"
    assert batch.mapping["summary"]["resumed"] is False  # no run had started
    entry = AuditEntry.objects.get(action="leads.batch_resume")
    assert entry.before["status"] == "overdue" and entry.before["queued_since"]
    assert_each_number_once()


def test_the_queue_threshold_is_a_checked_setting():
    from config.environment import NUMBER_VARIABLES

    assert NUMBER_VARIABLES["TELESALES_IMPORT_QUEUE_MINUTES"] == (10, 1, 24 * 60)
    assert importing.import_queue_timeout() == dt.timedelta(minutes=10)


# --- The pages ------------------------------------------------------------------------------
def test_the_batch_page_offers_to_resume_an_interrupted_import_and_resumes_it(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    batch = interrupted(tmp_path, officer)
    client = Client()
    client.force_login(officer)
    detail = f"/leads/batches/{batch.pk}/"
    resume = f"/leads/batches/{batch.pk}/resume/"
    page = client.get(detail).content.decode()
    assert f'href="{resume}"' in page and 'data-testid="batch-resume"' in page
    assert "继续导入…" in page and "已中断" in page and "hx-trigger" not in page
    confirm = client.get(resume)
    html = confirm.content.decode()
    assert confirm.status_code == 200 and 'data-testid="resume-confirm"' in html
    assert 'data-testid="resume-error"' not in html and 'data-stale="1"' in html
    assert LeadBatch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING  # GET: nothing
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(resume)
    assert done.status_code == 302 and done["Location"] == detail
    assert counts(batch) == COUNTS and batch.status == BatchStatus.DONE
    assert_each_number_once()
    page = client.get(detail).content.decode()
    assert "已重新排队导入" in page and 'data-testid="batch-resume"' not in page
    # Asked again on the old confirmation page: there is nothing to resume.
    again = client.post(resume)
    assert again.status_code == 409 and 'data-testid="resume-error"' in again.content.decode()
    assert AuditEntry.objects.filter(action="leads.batch_resume").count() == 1


def test_a_double_click_on_resume_queues_once_and_says_so(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    batch = interrupted(tmp_path, officer)
    client = Client()
    client.force_login(officer)
    resume = f"/leads/batches/{batch.pk}/resume/"
    with django_capture_on_commit_callbacks() as queued:
        first = client.post(resume)
        second = client.post(resume)
    assert first.status_code == second.status_code == 302 and len(queued) == 1
    assert AuditEntry.objects.filter(action="leads.batch_resume").count() == 1
    page = client.get(second["Location"]).content.decode()
    assert "已在排队" in page and 'hx-trigger="every' in page  # waiting: the page follows it
    refused = client.get(resume).content.decode()
    assert 'data-testid="resume-error"' in refused and "resume-confirm" not in refused


def test_the_resume_page_refuses_a_live_run_and_other_roles(tmp_path, channel, officer):
    batch = interrupted(tmp_path, officer)
    client = Client()
    client.force_login(officer)
    resume = f"/leads/batches/{batch.pk}/resume/"
    with run_lock_held_elsewhere(batch.pk):
        live = client.get(f"/leads/batches/{batch.pk}/").content.decode()
        assert 'data-testid="batch-resume"' not in live and 'hx-trigger="every' in live
        html = client.get(resume).content.decode()
        assert 'data-testid="resume-error"' in html and "resume-confirm" not in html
        assert client.post(resume).status_code == 302  # a run is live: the page follows it
    assert LeadBatch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING
    planner = Client()
    planner.force_login(UserFactory(username="planner", roles=[Role.PLANNER]))
    page = planner.get(f"/leads/batches/{batch.pk}/").content.decode()
    assert "已中断" in page and "batch-resume" not in page and "请联系数据岗继续导入" in page
    assert planner.get(resume).status_code == 403 and planner.post(resume).status_code == 403
    assert not AuditEntry.objects.filter(action="leads.batch_resume").exists()


def test_a_batch_no_worker_started_is_shown_waiting_too_long_not_polled_forever(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    batch = upload(tmp_path, ROWS, actor=officer)
    client = Client()
    client.force_login(officer)
    detail = f"/leads/batches/{batch.pk}/"
    waiting = client.get(detail).content.decode()
    assert 'hx-trigger="every' in waiting and "data-overdue" not in waiting
    assert "batch-resume" not in waiting
    overdue(batch)
    page = client.get(detail).content.decode()
    assert "hx-trigger" not in page and 'data-overdue="1"' in page and "等待超时" in page
    assert 'data-testid="batch-overdue"' in page and "10 分钟内没有后台任务开始执行" in page
    assert "导入完成后，被拒的行将显示在这里" in page and "没有被拒的行" not in page
    assert f'href="/leads/batches/{batch.pk}/resume/"' in page
    # A page that was polling is told to reload, and shows the state.
    part = client.get(detail, {"part": "progress"}, HTTP_HX_REQUEST="true")
    assert part["HX-Refresh"] == "true"
    for listing in ("/leads/batches/", "/leads/dashboard/"):
        html = client.get(listing).content.decode()
        assert 'data-overdue="1"' in html and "等待超时" in html, listing
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(f"/leads/batches/{batch.pk}/resume/").status_code == 302
    assert counts(batch) == COUNTS


# --- The API --------------------------------------------------------------------------------
def test_the_api_reports_the_interrupted_state_as_the_page_does(tmp_path, channel, officer):
    batch = interrupted(tmp_path, officer)
    client = JsonClient()
    client.force_login(officer)
    url = f"/api/v1/leads/batches/{batch.pk}"
    body = client.get(url).json()
    assert body["status"] == "running" and body["state"] == "interrupted"
    assert (body["interrupted"], body["overdue"], body["resumable"]) == (True, False, True)
    [listed] = [b for b in client.get("/api/v1/leads/batches").json() if b["id"] == batch.pk]
    assert listed["state"] == "interrupted" and listed["interrupted"] is True
    with run_lock_held_elsewhere(batch.pk):
        live = client.get(url).json()
        assert (live["state"], live["interrupted"], live["resumable"]) == ("running", False, False)
    LeadBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.PENDING)
    overdue(batch)
    body = client.get(url).json()
    assert (body["state"], body["overdue"], body["resumable"]) == ("overdue", True, True)


def test_the_api_resumes_an_interrupted_import_once(
    tmp_path, channel, officer, django_capture_on_commit_callbacks
):
    batch = interrupted(tmp_path, officer)
    client = JsonClient()
    client.force_login(officer)
    url = f"/api/v1/leads/batches/{batch.pk}/resume"
    with django_capture_on_commit_callbacks() as queued:
        first = client.post_json(url, {})
        assert first.status_code == 200, first.content
        assert first.json()["status"] == "pending" and first.json()["resumable"] is False
        body = assert_error_shape(client.post_json(url, {}), 409, "import_queued")
        assert "已在排队" in body["message"]
    assert len(queued) == 1
    queued[0]()  # the worker takes the task
    assert counts(batch) == COUNTS and batch.status == BatchStatus.DONE
    assert_each_number_once()
    done = client.get(f"/api/v1/leads/batches/{batch.pk}").json()
    assert (done["state"], done["imported"], done["resumable"]) == ("done", 3, False)
    assert_error_shape(client.post_json(url, {}), 409, "invalid_state")
    assert_error_shape(client.post_json("/api/v1/leads/batches/999999/resume", {}), 404)
    planner = JsonClient()
    planner.force_login(UserFactory(username="planner", roles=[Role.PLANNER]))
    assert_error_shape(planner.post_json(url, {}), 403)
