"""The pay run in the background (``tasks.py``): queued on commit, computed by the task with
its progress recorded, and a failed run keeping every problem for the page; the approval as a
job of its own, one job at a time per period."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading

import pytest
from django.db import connection
from django.utils import timezone, translation

from telesales.compensation import tasks
from telesales.compensation.models import (
    PayLine,
    PayRun,
    PayRunJob,
    PayRunJobKind,
    PayRunJobStatus,
    PolicyPay,
)
from telesales.compensation.payrun import payrun_approve, payrun_compute
from telesales.compensation.tests.payrun_world import FEB, MAR, build_center, build_march
from telesales.core.errors import Conflict, InvalidState, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.tests.concurrency_helpers import at_once


def test_the_task_runs_after_commit_and_records_the_run(march, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = tasks.payrun_compute_start(period_start=MAR, actor=march.hr, reason="monthly")
    # Nothing runs before the request's transaction commits.
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert job.status == PayRunJobStatus.QUEUED and tasks.job_progress(job).percent == 0
    assert not PayRun.objects.filter(period_start=MAR).exists()
    callbacks[0]()
    job.refresh_from_db()
    run = PayRun.objects.get(period_start=MAR)
    assert (job.status, job.run, job.stage) == (PayRunJobStatus.DONE, run, "done")
    assert job.done == job.total == run.line_count == PayLine.objects.filter(run=run).count() > 0
    assert run.run_count == 1 and job.started_at and job.finished_at
    assert tasks.job_progress(job).percent == 100
    # The progress file is gone; the queueing is audited.
    assert not tasks._progress_path(job.pk).exists()
    assert AuditEntry.objects.filter(action="compensation.payrun_compute_queue").count() == 1


def test_progress_reports_reading_computing_and_writing_every_line(march, monkeypatch):
    seen: list[tuple[str, int, int]] = []
    from telesales.compensation import payrun as payrun_module

    monkeypatch.setattr(payrun_module, "_WRITE_CHUNK", 2)
    run = payrun_compute(period_start=MAR, actor=march.hr, progress=lambda *args: seen.append(args))
    assert seen[0] == ("reading", 0, 0)
    assert seen[1] == ("computing", 0, 5)  # the five people of the center
    writes = [s for s in seen if s[0] == "writing"]
    assert writes[-1] == ("writing", run.line_count, run.line_count)
    assert [d for _s, d, _t in writes] == sorted(
        {min(n, run.line_count) for n in range(2, run.line_count + 2, 2)}
    )


def test_a_running_job_shows_its_stage_from_the_progress_file(march):
    job = PayRunJob.objects.create(period_start=MAR, status=PayRunJobStatus.RUNNING)
    tasks._write_progress(job.pk, "writing", 30, 60)
    progress = tasks.job_progress(job)
    assert (progress.stage, progress.done, progress.total, progress.percent) == (
        "writing",
        30,
        60,
        70,
    )
    assert json.loads(tasks._progress_path(job.pk).read_text())["done"] == 30
    tasks._progress_path(job.pk).unlink()
    # No file (a worker on another host, or not started writing): the row's stage.
    assert tasks.job_progress(job).stage == "reading"


def test_a_failing_run_keeps_every_problem(march, django_capture_on_commit_callbacks):
    # Nobody's attendance for April: every person is a problem; nothing is saved.
    from telesales.compensation.tests.payrun_world import APR

    with django_capture_on_commit_callbacks(execute=True):
        job = tasks.payrun_compute_start(period_start=APR, actor=march.hr)
    job.refresh_from_db()
    assert job.status == PayRunJobStatus.FAILED and job.run is None
    people = {march.lee, march.tina, march.sam, march.kai, march.ann}
    records = {record for record, _reason in job.problems}
    assert {f"person:{p.pk}" for p in people} <= records
    assert all(reason for _record, reason in job.problems)
    assert "problem" in job.message
    assert not PayRun.objects.filter(period_start=APR).exists()
    # The page shows the problems; a corrected period can be queued again.
    assert tasks.job_progress(job).stage == "failed"
    with django_capture_on_commit_callbacks(execute=False):
        again = tasks.payrun_compute_start(period_start=APR, actor=march.hr)
    assert again.pk != job.pk


def test_start_refuses_bad_periods_duplicates_and_other_roles(march):
    with pytest.raises(ValidationFailed) as exc:
        tasks.payrun_compute_start(period_start=MAR.replace(day=2), actor=march.hr)
    assert "period_start" in exc.value.fields
    # February is approved: locked.
    with pytest.raises(InvalidState):
        tasks.payrun_compute_start(period_start=FEB, actor=march.hr)
    # A period being computed already is not queued twice.
    tasks.payrun_compute_start(period_start=MAR, actor=march.hr)
    with pytest.raises(Conflict):
        tasks.payrun_compute_start(period_start=MAR, actor=march.hr)
    assert PayRunJob.objects.filter(period_start=MAR).count() == 1
    with pytest.raises(PermissionDenied):
        tasks.payrun_compute_start(period_start=MAR, actor=march.tina.user)


def test_a_job_taken_already_is_skipped(march):
    job = PayRunJob.objects.create(period_start=MAR, status=PayRunJobStatus.DONE)
    assert tasks.payrun_compute_task(job.pk) == {"job_id": job.pk, "status": "skipped"}
    assert tasks.payrun_compute_task(999999)["status"] == "skipped"


def test_a_requester_without_the_right_any_more_fails_the_job_clearly(march):
    job = PayRunJob.objects.create(period_start=MAR, requested_by=march.tina.user)
    result = tasks.payrun_compute_task(job.pk)
    job.refresh_from_db()
    assert result["status"] == "failed" and result["code"] == "permission_denied"
    assert job.status == PayRunJobStatus.FAILED and job.message and job.problems == []


def _running_job(minutes_ago: int, *, reports_now: bool = False) -> PayRunJob:
    job = PayRunJob.objects.create(period_start=MAR, status=PayRunJobStatus.RUNNING)
    PayRunJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - dt.timedelta(minutes=minutes_ago)
    )
    if reports_now:
        tasks._write_progress(job.pk, "writing", 10, 100)  # the worker's news, just now
    return job


def test_an_abandoned_job_does_not_block_the_period_for_ever(march, settings):
    settings.TELESALES_PAYRUN_STALE_MINUTES = 45
    stale = _running_job(46)
    job = tasks.payrun_compute_start(period_start=MAR, actor=march.hr)
    stale.refresh_from_db()
    assert stale.status == PayRunJobStatus.FAILED and "Abandoned" in stale.message
    assert job.status == PayRunJobStatus.QUEUED


@pytest.mark.parametrize(
    ("stale_minutes", "reports_now"),
    [
        (45, True),  # a long run whose worker still writes progress
        (120, False),  # younger than the setting
    ],
)
def test_a_job_still_alive_blocks_the_period(march, settings, stale_minutes, reports_now):
    settings.TELESALES_PAYRUN_STALE_MINUTES = stale_minutes
    running = _running_job(90, reports_now=reports_now)
    with pytest.raises(Conflict):
        tasks.payrun_compute_start(period_start=MAR, actor=march.hr)
    running.refresh_from_db()
    assert running.status == PayRunJobStatus.RUNNING


# --- the approval in the background -----------------------------------------------------------
def _computed_march(march) -> PayRun:
    return payrun_compute(period_start=MAR, actor=march.hr)


def test_the_approval_runs_after_commit_and_locks_the_run(
    march, django_capture_on_commit_callbacks
):
    run = _computed_march(march)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = tasks.payrun_approve_start(run=run, actor=march.hr, reason="checked")
    assert len(callbacks) == 1
    job.refresh_from_db()
    assert (job.kind, job.status, job.run) == (PayRunJobKind.APPROVE, PayRunJobStatus.QUEUED, run)
    run.refresh_from_db()
    assert run.status == "open"  # nothing approved before the worker runs
    callbacks[0]()
    job.refresh_from_db()
    run.refresh_from_db()
    assert (job.status, job.stage) == (PayRunJobStatus.DONE, "done")
    assert run.status == "approved" and run.approved_by == march.hr
    assert PolicyPay.objects.filter(run=run).exists()  # the ledger is written
    assert tasks.job_progress(job).percent == 100 and not tasks._progress_path(job.pk).exists()
    queued = AuditEntry.objects.get(action="compensation.payrun_approve_queue")
    approved = AuditEntry.objects.get(action="compensation.payrun_approve", object_id=str(run.pk))
    assert queued.reason == approved.reason == "checked"


def test_a_running_approval_shows_its_stage(march):
    job = PayRunJob.objects.create(
        period_start=MAR, kind=PayRunJobKind.APPROVE, status=PayRunJobStatus.RUNNING
    )
    tasks._write_progress(job.pk, "approving", 0, 0)
    progress = tasks.job_progress(job)
    assert (progress.stage, progress.percent) == ("approving", 50)
    assert "ledger" in progress.label


def test_approval_start_refuses_other_roles_approved_runs_and_busy_periods(march):
    february = PayRun.objects.get(period_start=FEB)  # approved by the world
    with pytest.raises(InvalidState, match="already approved"):
        tasks.payrun_approve_start(run=february, actor=march.hr)
    run = _computed_march(march)
    with pytest.raises(PermissionDenied):
        tasks.payrun_approve_start(run=run, actor=march.tina.user)
    # A computation under way: no approval of what it is about to replace.
    computing = tasks.payrun_compute_start(period_start=MAR, actor=march.hr)
    with pytest.raises(Conflict, match="being computed"):
        tasks.payrun_approve_start(run=run, actor=march.hr)
    PayRunJob.objects.filter(pk=computing.pk).update(status=PayRunJobStatus.DONE)
    # An approval under way: neither a second one nor a computation.
    tasks.payrun_approve_start(run=run, actor=march.hr)
    with pytest.raises(Conflict, match="being approved"):
        tasks.payrun_approve_start(run=run, actor=march.hr)
    with pytest.raises(Conflict, match="being approved"):
        tasks.payrun_compute_start(period_start=MAR, actor=march.hr)
    assert PayRunJob.objects.filter(kind=PayRunJobKind.APPROVE).count() == 1


def test_approval_start_refuses_a_run_never_computed(march):
    run = _computed_march(march)
    PayRun.objects.filter(pk=run.pk).update(run_count=0)
    run.refresh_from_db()
    with pytest.raises(InvalidState, match="Compute the pay run"):
        tasks.payrun_approve_start(run=run, actor=march.hr)
    assert not PayRunJob.objects.filter(kind=PayRunJobKind.APPROVE).exists()


def test_an_approval_refused_by_the_worker_fails_the_job_with_the_reason(march):
    run = _computed_march(march)
    job = tasks.payrun_approve_start(run=run, actor=march.hr)
    payrun_approve(run=run, actor=march.hr)  # approved meanwhile (the API, another tab)
    result = tasks.payrun_approve_task(job.pk)
    job.refresh_from_db()
    assert result["status"] == "failed" and result["code"] == "invalid_state"
    assert job.status == PayRunJobStatus.FAILED and "already approved" in job.message
    # Each task takes only its own kind of job.
    assert tasks.payrun_compute_task(job.pk)["status"] == "skipped"


def test_an_abandoned_approval_does_not_block_the_period_for_ever(march, settings):
    settings.TELESALES_PAYRUN_STALE_MINUTES = 45
    run = _computed_march(march)
    stale = tasks.payrun_approve_start(run=run, actor=march.hr)
    PayRunJob.objects.filter(pk=stale.pk).update(
        status=PayRunJobStatus.RUNNING, updated_at=timezone.now() - dt.timedelta(minutes=46)
    )
    job = tasks.payrun_approve_start(run=run, actor=march.hr)
    stale.refresh_from_db()
    assert stale.status == PayRunJobStatus.FAILED
    assert stale.message == "Abandoned: the approval did not finish in time"
    assert job.status == PayRunJobStatus.QUEUED


@pytest.mark.django_db(transaction=True)
def test_a_computation_and_an_approval_asked_at_once_queue_one(monkeypatch):
    """Both requests pass their checks at the same moment: the run's row, locked by both
    starts, makes the second wait for the first's job and refuse (without the lock, each
    would see no job under way and both would queue)."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent transactions need PostgreSQL (SQLite serialises writers)")
    with translation.override("en"):
        world = build_march(build_center())
    run = payrun_compute(period_start=MAR, actor=world.hr)
    started = threading.Barrier(2, timeout=20)
    checked = threading.Barrier(2, timeout=2)
    allowed, refuse_if_busy = tasks.permissions.can_run_pay, tasks._refuse_if_busy

    def meet_then_allow(user):
        started.wait()  # both requests in flight
        return allowed(user)

    def check_then_meet(period_start, label):
        refuse_if_busy(period_start, label)
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait()  # the other one too, unless it waits for this one's lock

    monkeypatch.setattr(tasks.permissions, "can_run_pay", meet_then_allow)
    monkeypatch.setattr(tasks, "_refuse_if_busy", check_then_meet)
    monkeypatch.setattr(tasks.payrun_compute_task, "delay", lambda job_id: None)
    monkeypatch.setattr(tasks.payrun_approve_task, "delay", lambda job_id: None)
    outcomes = at_once(
        lambda: tasks.payrun_approve_start(run=run, actor=world.hr),
        lambda: tasks.payrun_compute_start(period_start=MAR, actor=world.hr),
        timeout=30,
    )
    queued = [v for v in outcomes if isinstance(v, PayRunJob)]
    refused = [v for v in outcomes if isinstance(v, Conflict)]
    assert len(queued) == 1 and len(refused) == 1, outcomes
    assert PayRunJob.objects.filter(period_start=MAR).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_computations_of_a_period_without_a_run_asked_at_once_queue_one(monkeypatch):
    """A period never computed has no run row to lock: both requests see no job under way and
    both insert one; the database's one-busy-job-per-period constraint lets the first stand
    and the second is refused as the check would have refused it."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent transactions need PostgreSQL (SQLite serialises writers)")
    with translation.override("en"):
        world = build_march(build_center())
    assert not PayRun.objects.filter(period_start=MAR).exists()
    checked = threading.Barrier(2, timeout=20)
    refuse_if_busy = tasks._refuse_if_busy
    calls = {"n": 0}

    def check_then_meet(period_start, label):
        refuse_if_busy(period_start, label)
        calls["n"] += 1
        if calls["n"] <= 2:  # the first check of each request; the retry after the clash
            checked.wait()  # both have seen no job under way

    monkeypatch.setattr(tasks, "_refuse_if_busy", check_then_meet)
    monkeypatch.setattr(tasks.payrun_compute_task, "delay", lambda job_id: None)

    def ask() -> object:
        with translation.override("en"):
            return tasks.payrun_compute_start(period_start=MAR, actor=world.hr)

    outcomes = at_once(ask, ask, timeout=30)
    queued = [v for v in outcomes if isinstance(v, PayRunJob)]
    refused = [v for v in outcomes if isinstance(v, Conflict)]
    assert len(queued) == 1 and len(refused) == 1, outcomes
    assert "being computed already" in refused[0].message
    assert PayRunJob.objects.filter(period_start=MAR).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_job_under_way_for_a_period():
    """The constraint itself, on both engines: a finished job does not count."""
    from django.db import IntegrityError, transaction

    PayRunJob.objects.create(period_start=MAR, status=PayRunJobStatus.DONE)
    PayRunJob.objects.create(period_start=MAR, status=PayRunJobStatus.QUEUED)
    PayRunJob.objects.create(period_start=FEB, status=PayRunJobStatus.RUNNING)
    with pytest.raises(IntegrityError), transaction.atomic():
        PayRunJob.objects.create(period_start=MAR, status=PayRunJobStatus.RUNNING)
