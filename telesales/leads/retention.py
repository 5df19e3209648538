"""Keeping lead data no longer than needed, and giving back numbers whose block has ended.

- ``import_files_purge``: an uploaded lead file holds every row's personal data. PIPL Art. 19
  asks for the shortest necessary retention, so the stored copy of a file is deleted
  ``TELESALES_IMPORT_FILE_DAYS`` days (default 30) after its import finished (or, for a batch
  that never finished, after it was uploaded), and the raw row copies kept in its rejection
  report are cleared at the same time. The batch, its counts and the rejection reasons stay.
- ``dnc_lapsed_leads_release``: a refusal blocks a number for the rule set's ``dnc_days``;
  when the block ends (expired or removed) and the customer has not asked for no marketing at
  all, the leads that were closed as do-not-call go back to the public pool, each with a
  history row.

Both run daily from Celery beat (``leads.leads_retention_task``).
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.audit import audit_record
from telesales.leads.choices import BatchStatus, LeadAction, LeadState
from telesales.leads.models import BatchRejection, DncEntry, Lead, LeadBatch
from telesales.leads.services import dnc_active_q, lead_events_record

CHUNK = 500


def import_files_purge(*, now: dt.datetime | None = None, days: int | None = None) -> dict:
    """Delete stored upload files past their retention; clear the raw rows of their reports."""
    now = now or timezone.now()
    days = settings.TELESALES_IMPORT_FILE_DAYS if days is None else days
    cutoff = now - timedelta(days=days)
    finished = Q(status__in=[BatchStatus.DONE, BatchStatus.FAILED], finished_at__lt=cutoff)
    abandoned = Q(finished_at__isnull=True, created_at__lt=cutoff) & ~Q(status=BatchStatus.RUNNING)
    batches = list(LeadBatch.objects.filter(finished | abandoned).exclude(stored_file=""))
    files = 0
    media = Path(settings.MEDIA_ROOT)
    for batch in batches:
        path = media / batch.stored_file
        try:
            path.unlink()
            files += 1
        except FileNotFoundError:
            pass
        LeadBatch.objects.filter(pk=batch.pk).update(stored_file="")
    done_ids = LeadBatch.objects.filter(finished | abandoned).values("pk")
    rows = BatchRejection.objects.filter(batch__in=done_ids).exclude(raw=[]).update(raw=[])
    result = {"files": files, "batches": len(batches), "rejection_rows": rows}
    if batches or rows:
        audit_record(
            actor="system",
            action="leads.import_files_purge",
            object_type="leads.leadbatch",
            object_repr=_("uploaded files past retention"),
            after=result | {"days": days},
        )
    return result


def dnc_lapsed_leads_release(*, now: dt.datetime | None = None, actor=None) -> int:
    """Leads closed as do-not-call whose number is no longer blocked → public pool."""
    now = now or timezone.now()
    active = DncEntry.objects.filter(
        dnc_active_q(now), phone_hash=OuterRef("customer__mobile_hash")
    )
    candidates = (
        Lead.objects.filter(state=LeadState.DNC, customer__no_marketing=False)
        .exclude(Exists(active))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    moved = 0
    last = 0
    while True:
        ids = list(candidates.filter(pk__gt=last)[:CHUNK])
        if not ids:
            break
        last = ids[-1]
        with transaction.atomic():
            leads = list(
                Lead.objects.select_for_update()
                .filter(pk__in=ids, state=LeadState.DNC, customer__no_marketing=False)
                .exclude(Exists(active))
            )
            if not leads:
                continue
            Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(
                state=LeadState.PUBLIC, owner=None, protect_until=None, updated_at=now
            )
            lead_events_record(
                leads=leads,
                action=LeadAction.STATE,
                actor=actor,
                from_state=LeadState.DNC,
                to_state=LeadState.PUBLIC,
                reason=_("the do-not-call block ended"),
                at=now,
            )
            moved += len(leads)
    if moved:
        audit_record(
            actor=actor or "system",
            action="leads.dnc_lapsed_release",
            object_type="leads.lead",
            object_repr=_("leads whose do-not-call block ended"),
            after={"released": moved},
        )
    return moved
