"""Background work on lead data. Tasks take ids, not model instances."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="leads.leads_recycle_task")
def leads_recycle_task() -> dict:
    """Apply the recycling rules (warnings, then moves back to the public pool); hourly."""
    from telesales.leads.recycling import leads_recycle

    return leads_recycle()


@shared_task(name="leads.leads_retention_task")
def leads_retention_task() -> dict:
    """Delete uploaded files past retention; give back leads whose DNC block ended; daily."""
    from telesales.leads.retention import dnc_lapsed_leads_release, import_files_purge

    return {"purged": import_files_purge(), "dnc_released": dnc_lapsed_leads_release()}


@shared_task(name="leads.leads_batch_import_task")
def leads_batch_import_task(batch_id: int) -> dict:
    """Import one uploaded lead file (``importing.batch_import_run``); the batch page polls
    ``LeadBatch.processed`` for the progress bar. A file that cannot be imported marks the batch
    ``failed`` with its message and is not retried; a batch being imported elsewhere is left
    alone."""
    from telesales.core.errors import DomainError
    from telesales.leads.importing import batch_import_run

    try:
        batch = batch_import_run(batch_id=batch_id)
    except DomainError as exc:
        status = "skipped" if exc.code == "import_in_progress" else "failed"
        return {"batch_id": batch_id, "status": status, "code": exc.code, "error": exc.message}
    return {
        "batch_id": batch.pk,
        "status": batch.status,
        "rows": batch.rows,
        "imported": batch.imported,
        "duplicate": batch.duplicate,
        "invalid": batch.invalid,
        "dnc_blocked": batch.dnc_blocked,
    }
