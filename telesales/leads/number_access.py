"""Who had a customer's number: the auditor's answer to "who saw my number?".

Given a phone number in any spelling, :func:`number_access_lookup` finds the customer it
belongs to (by the keyed hash, never by the stored number) and reports, for each of their
leads, where the number came from (the batch, its file and who uploaded it), who held the
lead (the agents it was assigned to, from the lead history) and every time the full number
was shown (``leads.phone_reveal``: on the lead page, through the API, or in an export with
full numbers), with who, when, how and why. It also lists every download, with full numbers,
of a batch's rejection report (``leads.batch_rejection_report``, ``full_numbers``) whose
rejected rows held the number: found by the hash kept on each rejected row, so that a number
the import turned away (DNC, a duplicate) and that never became a customer is traced too.

The lookup itself is a look at personal data: only a user who may read the audit log may make
it, with a reason, and it is audited (``leads.number_access_lookup``, the number masked).
Nothing here answers the full number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from telesales.core.audit import audit_record
from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.permissions import can_view_audit_log
from telesales.core.phone_numbers import PHONE_ERRORS, mask_phone, normalise_phone, phone_hash
from telesales.leads.choices import RejectReason
from telesales.leads.masking import mask_numbers_in
from telesales.leads.models import BatchRejection, Customer, Lead, LeadBatch, LeadEvent

#: What a reveal's ``after.via`` says about where the full number was shown.
VIA_PAGE, VIA_API, VIA_EXPORT = "page", "api", "export"
MAX_REVEALS = 500
MAX_DOWNLOADS = 500
#: Rejected rows listed per download (the report's row numbers, to find them in the file).
MAX_ROWS_SHOWN = 20
#: Rejections whose row holds a valid number (the others have no hash to match).
NUMBERED_REASONS = (
    RejectReason.DUPLICATE_IN_FILE,
    RejectReason.DUPLICATE_EXISTING,
    RejectReason.DNC,
    RejectReason.INVALID_ID_NUMBER,
    RejectReason.INVALID_VALUE,
)


@dataclass(frozen=True)
class Reveal:
    at: dt.datetime
    actor_name: str
    via: str  # page | api | export | "" (recorded before the channel was kept)
    lead_id: int
    reason: str


@dataclass(frozen=True)
class Holder:
    person_id: int
    name: str
    first_at: dt.datetime
    lead_ids: tuple[int, ...]


@dataclass(frozen=True)
class LeadSource:
    lead_id: int
    state: str
    owner_name: str
    batch_name: str
    file_name: str
    channel: str
    uploader: str
    imported_at: dt.datetime | None


@dataclass(frozen=True)
class RejectedRow:
    row_number: int
    reason: str  # the reason's label


@dataclass(frozen=True)
class ReportDownload:
    """A download, with full numbers, of a rejection report that held the number."""

    at: dt.datetime
    actor_name: str
    batch_id: int
    batch_name: str
    format: str
    rows: tuple[RejectedRow, ...]
    reason: str


@dataclass
class NumberAccess:
    masked: str
    customer_id: int | None = None
    customer_name: str = ""
    leads: list[LeadSource] = field(default_factory=list)
    holders: list[Holder] = field(default_factory=list)
    reveals: list[Reveal] = field(default_factory=list)
    #: More reveals than ``MAX_REVEALS`` exist: the newest are listed.
    reveals_truncated: bool = False
    report_downloads: list[ReportDownload] = field(default_factory=list)
    report_downloads_truncated: bool = False


def clean_lookup_phone(phone: str) -> str:
    """The number to look up in E.164; ``ValidationFailed`` (field ``phone``) for a string
    that is no phone number. The page's form checks with it too, so that it shows this error
    together with the others."""
    result = normalise_phone((phone or "").replace("\x00", "").strip()[:40])
    if result.e164 is None:
        message = PHONE_ERRORS.get(result.error or "", _("not a phone number"))
        raise ValidationFailed(
            _("Not a valid phone number: %(why)s") % {"why": message},
            fields={"phone": [str(message)]},
        )
    return result.e164


def _via(entry: AuditEntry) -> str:
    via = (entry.after or {}).get("via", "")
    return via if via in (VIA_PAGE, VIA_API, VIA_EXPORT) else ""


@transaction.atomic
def number_access_lookup(*, actor, phone: str, reason: str) -> NumberAccess:
    """Everyone who brought in, held or saw the full number of the customer with ``phone``.
    Raises ``PermissionDenied`` for a user who may not read the audit log and
    ``ValidationFailed`` for a missing reason or a string that is no phone number."""
    if not can_view_audit_log(actor):
        raise PermissionDenied(_("Only those who may read the audit log may look this up"))
    reason = mask_numbers_in((reason or "").strip())
    problems: dict[str, list[str]] = {}
    if len(reason) < 2:
        problems["reason"] = [_("say why you look this number up")]
    try:
        e164 = clean_lookup_phone(phone)
    except ValidationFailed as exc:
        problems.update(exc.fields)
        e164 = ""
    if problems:
        raise ValidationFailed(_("The lookup needs a valid number and a reason"), fields=problems)
    access = NumberAccess(masked=mask_phone(e164))
    digest = phone_hash(e164)
    customer = Customer.objects.filter(mobile_hash=digest).first()
    _report_downloads(access, e164=e164, digest=digest)
    audit_record(
        actor=actor,
        action="leads.number_access_lookup",
        instance=customer,
        object_type="" if customer else "leads.customer",
        object_repr=access.masked,
        after={"found": customer is not None, "report_downloads": len(access.report_downloads)},
        reason=reason,
    )
    if customer is None:
        return access
    access.customer_id = customer.pk
    access.customer_name = customer.name
    leads = list(
        Lead.objects.filter(customer=customer)
        .select_related("batch__channel", "batch__uploader", "owner", "channel")
        .order_by("id")
    )
    for lead in leads:
        batch = lead.batch
        access.leads.append(
            LeadSource(
                lead_id=lead.pk,
                state=lead.get_state_display(),
                owner_name=lead.owner.name if lead.owner_id else "",
                batch_name=batch.name if batch else "",
                file_name=batch.file_name if batch else "",
                channel=(batch.channel.name if batch else lead.channel.name),
                uploader=(batch.uploader.get_username() if batch and batch.uploader_id else ""),
                imported_at=batch.created_at if batch else None,
            )
        )
    lead_ids = [lead.pk for lead in leads]
    holders: dict[int, dict] = {}
    events = (
        LeadEvent.objects.filter(lead_id__in=lead_ids, to_owner__isnull=False)
        .select_related("to_owner")
        .order_by("at", "id")
    )
    for event in events:
        held = holders.setdefault(
            event.to_owner_id,
            {"name": event.to_owner.name, "first_at": event.at, "leads": []},
        )
        if event.lead_id not in held["leads"]:
            held["leads"].append(event.lead_id)
    access.holders = [
        Holder(person_id=pid, name=h["name"], first_at=h["first_at"], lead_ids=tuple(h["leads"]))
        for pid, h in holders.items()
    ]
    entries = list(
        AuditEntry.objects.filter(
            action="leads.phone_reveal",
            object_type="leads.lead",
            object_id__in=[str(pk) for pk in lead_ids],
        ).order_by("-at", "-id")[: MAX_REVEALS + 1]
    )
    access.reveals_truncated = len(entries) > MAX_REVEALS
    access.reveals = [
        Reveal(
            at=entry.at,
            actor_name=entry.actor_name,
            via=_via(entry),
            lead_id=int(entry.object_id),
            reason=entry.reason,
        )
        for entry in entries[:MAX_REVEALS]
    ]
    return access


def _report_downloads(access: NumberAccess, *, e164: str, digest: str) -> None:
    """Fill ``access.report_downloads``: the full-number downloads of rejection reports
    whose rows held the number, newest first. Only batches whose report was downloaded with
    full numbers are searched (through the batch's own index)."""
    downloads = AuditEntry.objects.filter(
        action="leads.batch_rejection_report",
        object_type="leads.leadbatch",
        after__full_numbers=True,
    )
    batch_ids = {
        int(pk)
        for pk in downloads.order_by().values_list("object_id", flat=True).distinct()
        if str(pk).isdigit()
    }
    if not batch_ids:
        return
    labels = dict(RejectReason.choices)
    rows: dict[int, list[RejectedRow]] = {}
    matched = (
        BatchRejection.objects.filter(batch_id__in=batch_ids, phone_hash=digest)
        .order_by("batch_id", "row_number")
        .values_list("batch_id", "row_number", "reason")
    )
    for batch_id, row_number, reason in matched:
        rows.setdefault(batch_id, []).append(
            RejectedRow(row_number, str(labels.get(reason, reason)))
        )
    for batch_id, row_number, reason in _legacy_rows(batch_ids, e164):
        rows.setdefault(batch_id, []).append(
            RejectedRow(row_number, str(labels.get(reason, reason)))
        )
    if not rows:
        return
    names = dict(LeadBatch.objects.filter(pk__in=list(rows)).values_list("pk", "name"))
    entries = list(
        downloads.filter(object_id__in=[str(pk) for pk in rows]).order_by("-at", "-id")[
            : MAX_DOWNLOADS + 1
        ]
    )
    access.report_downloads_truncated = len(entries) > MAX_DOWNLOADS
    access.report_downloads = [
        ReportDownload(
            at=entry.at,
            actor_name=entry.actor_name,
            batch_id=int(entry.object_id),
            batch_name=names.get(int(entry.object_id), entry.object_repr),
            format=str((entry.after or {}).get("format", "")),
            rows=tuple(sorted(rows[int(entry.object_id)], key=lambda r: r.row_number))[
                :MAX_ROWS_SHOWN
            ],
            reason=entry.reason,
        )
        for entry in entries[:MAX_DOWNLOADS]
    ]


def _legacy_rows(batch_ids: set[int], e164: str):
    """(batch id, row, reason) of rows recorded before rejected rows kept their number's
    hash: the phone cell of the row as read, normalised as the import did (rows whose
    cells were purged can no longer be told)."""
    batches = LeadBatch.objects.filter(
        pk__in=BatchRejection.objects.filter(
            batch_id__in=batch_ids, phone_hash="", reason__in=NUMBERED_REASONS
        )
        .exclude(raw=[])
        .values("batch_id")
    ).values_list("pk", "mapping")
    for batch_id, mapping in batches:
        columns = (mapping or {}).get("columns") or {}
        phone_column = next((int(i) for i, f in columns.items() if f == "mobile"), None)
        if phone_column is None:
            continue
        legacy = (
            BatchRejection.objects.filter(
                batch_id=batch_id, phone_hash="", reason__in=NUMBERED_REASONS
            )
            .exclude(raw=[])
            .order_by("row_number")
            .values_list("row_number", "reason", "raw")
        )
        for row_number, reason, raw in legacy.iterator(chunk_size=5000):
            cells = raw if isinstance(raw, list) else []
            if phone_column < len(cells) and normalise_phone(cells[phone_column]).e164 == e164:
                yield batch_id, row_number, reason
