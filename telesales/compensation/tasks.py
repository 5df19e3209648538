"""The pay run in the background: ``payrun_compute_start`` checks the request, records a
``PayRunJob`` and queues ``payrun_compute_task`` once the request's transaction commits; the
task runs ``payrun.payrun_compute`` and records how far it got and how it ended.
``payrun_approve_start`` and ``payrun_approve_task`` do the same for the approval, which
writes the ledger of every policy the run paid (seconds at a large center, beyond what a web
request should hold). One job at a time per period: a period being computed cannot be approved
and the other way round.

The compute is one transaction (a failed run saves nothing), so its stages (reading the
inputs, computing, writing N of M lines) cannot be committed as they happen: the task writes
them to a small JSON file under ``$TELESALES_DATA_DIR/compensation/`` that the run page reads
(``job_progress``); the job row holds the outcome, with every problem of a failed run.
Tasks take ids, not model instances.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.compensation import permissions
from telesales.compensation.choices import PayRunStatus
from telesales.compensation.models import PayRun, PayRunJob, PayRunJobKind, PayRunJobStatus
from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import Conflict, DomainError, InvalidState, PermissionDenied

BUSY = (PayRunJobStatus.QUEUED, PayRunJobStatus.RUNNING)
STAGE_LABELS = {
    "queued": gettext_lazy("Waiting for the worker"),
    "reading": gettext_lazy("Reading the inputs"),
    "computing": gettext_lazy("Computing"),
    "writing": gettext_lazy("Writing the lines"),
    "approving": gettext_lazy("Approving: writing the ledger of every policy paid"),
    "done": gettext_lazy("Done"),
    "failed": gettext_lazy("Failed"),
}


@dataclass(frozen=True)
class Progress:
    stage: str
    done: int
    total: int
    percent: int

    @property
    def label(self) -> str:
        return str(STAGE_LABELS.get(self.stage, self.stage))


def stale_after() -> dt.timedelta:
    """A job queued or running without news for longer than this is abandoned (its worker is
    gone): ``TELESALES_PAYRUN_STALE_MINUTES``, default 30."""
    return dt.timedelta(minutes=settings.TELESALES_PAYRUN_STALE_MINUTES)


def _progress_path(job_id: int) -> Path:
    return Path(settings.DATA_DIR) / "compensation" / f"payrun-job-{job_id}.json"


def _last_news(job: PayRunJob) -> dt.datetime:
    """When the job last gave news: its row's last change, or the worker's last progress
    report while it computes (a large run reports often but saves its row only at the end)."""
    try:
        reported = dt.datetime.fromtimestamp(_progress_path(job.pk).stat().st_mtime, dt.UTC)
    except OSError:
        return job.updated_at
    return max(job.updated_at, reported)


def _write_progress(job_id: int, stage: str, done: int, total: int) -> None:
    path = _progress_path(job_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps({"stage": stage, "done": done, "total": total}), encoding="utf-8")
    os.replace(temp, path)


def _percent(stage: str, done: int, total: int) -> int:
    if stage == "writing" and total:
        return 40 + (60 * min(done, total)) // total
    return {"queued": 0, "reading": 5, "computing": 20, "approving": 50, "done": 100}.get(stage, 0)


def job_progress(job: PayRunJob) -> Progress:
    """How far a job got: from its file while it runs, from the row once it ended."""
    if job.status == PayRunJobStatus.RUNNING:
        try:
            data = json.loads(_progress_path(job.pk).read_text(encoding="utf-8"))
            stage, done, total = str(data["stage"]), int(data["done"]), int(data["total"])
        except (OSError, ValueError, KeyError, TypeError):
            stage, done, total = job.stage or "reading", job.done, job.total
        return Progress(stage, done, total, _percent(stage, done, total))
    if job.status == PayRunJobStatus.QUEUED:
        return Progress("queued", 0, 0, 0)
    return Progress(job.status, job.done, job.total, 100)


def payrun_compute_start(*, period_start: dt.date, actor, reason: str = "") -> PayRunJob:
    """Queue the computation of the period starting on ``period_start``. Refused at once (and
    nothing queued) for a period that is not a pay period or has not started yet, an approved
    period, or a period being computed already."""
    from telesales.compensation.payrun import payrun_period, payrun_period_started

    if not permissions.can_run_pay(actor):
        raise PermissionDenied(_("Only the HR admin or the center manager may run the pay"))
    with transaction.atomic():
        _ruleset, _book, period = payrun_period(period_start=period_start)
        payrun_period_started(period)
        # The run's row locked, as the approval's start locks it: a computation and an
        # approval asked for at the same moment queue one after the other, not both.
        run = PayRun.objects.select_for_update().filter(period_start=period.start).first()
        if run is not None and run.status != PayRunStatus.OPEN:
            raise InvalidState(
                _("The pay run for %(p)s is approved; correct it with an adjustment instead")
                % {"p": run.label}
            )
        return _queue(
            PayRunJobKind.COMPUTE, period.start, period.label, run=run, actor=actor, reason=reason
        )


def _refuse_if_busy(period_start: dt.date, label: str) -> None:
    """Raise ``Conflict`` when a job of the period is queued or running (inside the caller's
    transaction, the job rows locked). A job without news for ``stale_after`` is let go: its
    worker died and it will never end."""
    busy = (
        PayRunJob.objects.select_for_update()
        .filter(period_start=period_start, status__in=BUSY)
        .first()
    )
    if busy is not None and _last_news(busy) < timezone.now() - stale_after():
        _finish(
            busy.pk,
            status=PayRunJobStatus.FAILED,
            stage="failed",
            message=_("Abandoned: the approval did not finish in time")
            if busy.kind == PayRunJobKind.APPROVE
            else _("Abandoned: the computation did not finish in time"),
        )
        busy = None
    if busy is None:
        return
    if busy.kind == PayRunJobKind.APPROVE:
        raise Conflict(_("The pay run for %(p)s is being approved") % {"p": label})
    raise Conflict(_("The pay for %(p)s is being computed already") % {"p": label})


def payrun_approve_start(
    *, run: PayRun, actor, reason: str = "", negatives_acknowledged: bool = False
) -> PayRunJob:
    """Queue the approval of ``run``. Refused at once (and nothing queued) for another role, a
    run approved already, never computed or too early (``payrun.payrun_too_early``), a run
    with cancelled adjustments or unacknowledged negative totals
    (``payrun.payrun_approval_checks``), and a period with a job under way."""
    from telesales.compensation.payrun import payrun_approval_checks, payrun_too_early

    if not permissions.can_run_pay(actor):
        raise PermissionDenied(_("Only the HR admin or the center manager may run the pay"))
    with transaction.atomic():
        run = PayRun.objects.select_for_update().get(pk=run.pk)
        if run.status != PayRunStatus.OPEN:
            raise InvalidState(_("The pay run for %(p)s is already approved") % {"p": run.label})
        if run.run_count == 0:
            raise InvalidState(_("Compute the pay run before approving it"))
        if too_early := payrun_too_early(run):
            raise InvalidState(too_early)
        payrun_approval_checks(run, negatives_acknowledged=negatives_acknowledged)
        return _queue(
            PayRunJobKind.APPROVE, run.period_start, run.label, run=run, actor=actor, reason=reason
        )


def _queue(kind: str, period_start: dt.date, label: str, *, run, actor, reason: str) -> PayRunJob:
    """Inside the caller's transaction: refuse a busy period, record the job (audited as
    ``compensation.payrun_<kind>_queue``) and queue its task once the transaction commits."""
    _refuse_if_busy(period_start, label)
    try:
        with transaction.atomic():
            job = PayRunJob.objects.create(
                period_start=period_start,
                kind=kind,
                run=run,
                reason=reason.strip()[:500],
                requested_by=user_or_none(actor),
            )
    except IntegrityError:
        # Another request queued a job of this period in the moment since the check (a
        # period without a pay run has no row both could lock): its job stands, this one
        # is refused as the check would have refused it.
        _refuse_if_busy(period_start, label)
        raise
    audit_record(
        actor=actor,
        action=f"compensation.payrun_{kind}_queue",
        instance=job,
        after={"period": label},
        reason=reason,
    )
    task = payrun_approve_task if kind == PayRunJobKind.APPROVE else payrun_compute_task
    job_id = job.pk
    transaction.on_commit(lambda: task.delay(job_id))
    return job


def _finish(job_id: int, **fields) -> None:
    fields.setdefault("finished_at", timezone.now())
    PayRunJob.objects.filter(pk=job_id).update(updated_at=timezone.now(), **fields)
    _progress_path(job_id).unlink(missing_ok=True)


@shared_task(name="compensation.paybasis_upkeep_task")
def paybasis_upkeep_task() -> list[str]:
    """Keep the open periods' pay basis current (ADR 0017; every few minutes by beat)."""
    from telesales.compensation.payrun import paybasis_upkeep

    return [start.isoformat() for start in paybasis_upkeep()]


@shared_task(name="compensation.payrun_compute_task")
def payrun_compute_task(job_id: int) -> dict:
    """Run one queued ``PayRunJob``. A refused or failed compute (``PayInputInvalid`` with its
    problems, an approved period …) marks the job ``failed`` with every problem; it is not
    retried. A job that is not queued (done, or taken by another worker) is left alone."""
    from telesales.compensation.engine import PayInputInvalid
    from telesales.compensation.payrun import payrun_compute

    job = _take(job_id, PayRunJobKind.COMPUTE, "reading")
    if job is None:
        return {"job_id": job_id, "status": "skipped"}

    def progress(stage: str, done: int, total: int) -> None:
        _write_progress(job_id, stage, done, total)

    try:
        run = payrun_compute(
            period_start=job.period_start,
            actor=job.requested_by,
            reason=job.reason,
            progress=progress,
        )
    except DomainError as exc:
        problems = exc.problems if isinstance(exc, PayInputInvalid) else []
        _finish(
            job_id,
            status=PayRunJobStatus.FAILED,
            stage="failed",
            message=exc.message[:500],
            problems=[[str(record), str(reason)] for record, reason in problems],
        )
        return {"job_id": job_id, "status": "failed", "code": exc.code, "error": exc.message}
    except Exception as exc:
        _finish_stopped(job, exc)
        raise
    _finish(
        job_id,
        status=PayRunJobStatus.DONE,
        stage="done",
        run=run,
        done=run.line_count,
        total=run.line_count,
    )
    return {"job_id": job_id, "status": "done", "run_id": run.pk, "lines": run.line_count}


def _take(job_id: int, kind: str, stage: str) -> PayRunJob | None:
    """Mark a queued job of ``kind`` running at ``stage`` and return it; ``None`` when it is
    not queued (done, or taken by another worker) or of another kind."""
    started = timezone.now()
    taken = PayRunJob.objects.filter(pk=job_id, kind=kind, status=PayRunJobStatus.QUEUED).update(
        status=PayRunJobStatus.RUNNING, stage=stage, started_at=started, updated_at=started
    )
    if not taken:
        return None
    _write_progress(job_id, stage, 0, 0)
    return PayRunJob.objects.select_related("requested_by", "run").get(pk=job_id)


def _finish_stopped(job: PayRunJob, exc: BaseException) -> None:
    """A job ended by an unexpected error: failed, with the error's name (not its text, which
    may hold anything)."""
    if job.kind == PayRunJobKind.APPROVE:
        message = _("The approval stopped: %(problem)s")
    else:
        message = _("The computation stopped: %(problem)s")
    _finish(
        job.pk,
        status=PayRunJobStatus.FAILED,
        stage="failed",
        message=message % {"problem": type(exc).__name__},
    )


@shared_task(name="compensation.payrun_approve_task")
def payrun_approve_task(job_id: int) -> dict:
    """Run one queued approval (``payrun.payrun_approve``). A refusal (approved meanwhile, the
    requester's right withdrawn …) marks the job ``failed`` with the reason; it is not retried."""
    from telesales.compensation.payrun import payrun_approve

    job = _take(job_id, PayRunJobKind.APPROVE, "approving")
    if job is None:
        return {"job_id": job_id, "status": "skipped"}
    try:
        # The negative totals were acknowledged when the job was queued
        # (``payrun_approve_start``); the run cannot be computed again while the job is busy.
        run = payrun_approve(
            run=job.run, actor=job.requested_by, reason=job.reason, negatives_acknowledged=True
        )
    except DomainError as exc:
        _finish(job_id, status=PayRunJobStatus.FAILED, stage="failed", message=exc.message[:500])
        return {"job_id": job_id, "status": "failed", "code": exc.code, "error": exc.message}
    except Exception as exc:
        _finish_stopped(job, exc)
        raise
    _finish(job_id, status=PayRunJobStatus.DONE, stage="done")
    return {"job_id": job_id, "status": "done", "run_id": run.pk}


def period_start_of_month(month: dt.date) -> dt.date:
    """The first day of the pay period labelled with ``month``'s year and month under the rule
    set in force (a work month labelled 2026-03 may start on 2026-02-26)."""
    from telesales.compensation.engine import period_for
    from telesales.compensation.rulesets import ruleset_rulebook
    from telesales.compensation.selectors import ruleset_in_force

    first = month.replace(day=1)
    ruleset = ruleset_in_force(on=first)
    if ruleset is None:
        return first  # payrun_period says that no rule set is in force
    return period_for(ruleset_rulebook(ruleset), year=first.year, month=first.month).start
