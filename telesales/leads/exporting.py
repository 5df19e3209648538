"""Exports of lead data (CSV and XLSX): audited, row-capped, safe to open in a spreadsheet.

- Only the data officer and the center manager export leads (``permissions.can_export_leads``).
- Every export writes an audit row: who, the filter, the format and the row count.
- A filter matching more than ``TELESALES_EXPORT_MAX_ROWS`` leads (default 50,000) is refused
  with a message to narrow it; a silently truncated file would look complete.
- Phone numbers are masked unless the exporter may reveal numbers, ticks "include full
  numbers" and gives a reason; then each exported row is also audited as a reveal
  (``leads.phone_reveal``, one entry per lead, with the reason).
- Text cells starting with ``= + - @``, a tab or a carriage return get a leading apostrophe,
  so that a spreadsheet program shows them instead of running them as formulas.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.audit import audit_record
from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.phone_numbers import mask_phone
from telesales.leads import permissions, selectors

FORMATS = ("csv", "xlsx")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FILTER_KEYS = ("state", "grade", "batch_id", "channel_id", "owner_id", "team_id", "search")
DEFAULT_MAX_ROWS = 50_000


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    content: bytes
    rows: int


def export_max_rows() -> int:
    return int(getattr(settings, "TELESALES_EXPORT_MAX_ROWS", DEFAULT_MAX_ROWS))


#: An international phone number as written (``+8613812345678``, ``+86-138-0013-8002``,
#: ``＋86 (10) 1234 5678``): a plus, then only digits, spaces, dashes, dots and brackets. No
#: formula can be made of those, and an apostrophe in front would spoil every number a dialer
#: or partner reads from the file (QA: exported numbers came out as ``'+8619978294165``).
_INTERNATIONAL_NUMBER = re.compile(r"[+\uff0b][\d(\uff08][\d \-.()\u3000\uff0d\uff08\uff09]*")


def neutralise(value: Any) -> Any:
    """A cell value that a spreadsheet program shows as text, never runs as a formula."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _INTERNATIONAL_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def xlsx_safe(value: Any) -> Any:
    """A cell value a worksheet accepts: the control characters XML 1.0 forbids (all below
    U+0020 but tab, line feed and carriage return; pasted text brings them, a vertical tab from
    a spreadsheet cell, a bell from a terminal) are dropped, not left to fail the whole file."""
    if isinstance(value, str):
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value.tzinfo else value
    return value


MONEY_FORMAT = "#,##0.00"


def _is_money(value: Any) -> bool:
    """Money is a Decimal of whole cents (``8000.00``; stored with two places, sums too);
    a Decimal with more places is a rate or a share and keeps Excel's general format."""
    return (
        isinstance(value, Decimal)
        and value.is_finite()
        and isinstance(value.as_tuple().exponent, int)
        and value.as_tuple().exponent >= -2
    )


def _xlsx_cell(sheet: Any, value: Any) -> Any:
    """One worksheet value: money as a number shown with two decimals (8000 shows 8,000.00,
    not 8000); whole numbers, other numbers and text as they are (text neutralised)."""
    if _is_money(value):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = MONEY_FORMAT
        return cell
    return xlsx_safe(neutralise(_plain(value)))


def spreadsheet_bytes(
    *, fmt: str, sheets: Sequence[tuple[str, Sequence[str], Iterable[Sequence[Any]]]]
) -> bytes:
    """Write ``(title, headers, rows)`` sheets as XLSX, or the first one as CSV (UTF-8 with a
    byte-order mark, which Chinese Excel needs to read UTF-8). Every cell is neutralised, and
    in XLSX rid of the control characters a worksheet refuses. In XLSX a Decimal of at most
    two places (money) is a number formatted ``#,##0.00``; integers stay integers, text
    stays text; CSV writes each value as its text (``8000.00``)."""
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        _title, headers, rows = sheets[0]
        writer.writerow([neutralise(str(h)) for h in headers])
        for row in rows:
            writer.writerow([neutralise(_plain(v)) for v in row])
        return ("\ufeff" + out.getvalue()).encode("utf-8")
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, headers, rows in sheets:
        sheet = book.create_sheet(title=xlsx_safe(str(title))[:31])
        sheet.append([xlsx_safe(neutralise(str(h))) for h in headers])
        for row in rows:
            sheet.append([_xlsx_cell(sheet, v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValidationFailed(_("Unknown format"), fields={"format": [_("csv or xlsx")]})


def _stamp() -> str:
    return timezone.localtime().strftime("%Y%m%d-%H%M")


LEAD_HEADERS = (
    "Lead",
    "Customer",
    "Mobile",
    "Province",
    "City",
    "Channel",
    "Batch",
    "Grade",
    "State",
    "Owner",
    "Protected until",
    "Dials",
    "Connects",
    "Last contact",
    "Premium won",
    "Consent source",
    "Consent time",
)


def _lead_headers() -> list[str]:
    labels = {
        "Lead": _("Lead"),
        "Customer": _("Customer"),
        "Mobile": _("Mobile"),
        "Province": _("Province"),
        "City": _("City"),
        "Channel": _("Channel"),
        "Batch": _("Batch"),
        "Grade": _("Lead grade"),
        "State": _("State"),
        "Owner": _("Owner"),
        "Protected until": _("Protected until"),
        "Dials": _("Dials"),
        "Connects": _("Connects"),
        "Last contact": _("Last contact"),
        "Premium won": _("Premium won"),
        "Consent source": _("Consent source"),
        "Consent time": _("Consent time"),
    }
    return [str(labels[h]) for h in LEAD_HEADERS]


def _lead_row(lead, *, full: bool) -> list[Any]:
    number = lead.customer.mobile_e164
    return [
        lead.pk,
        lead.customer.name,
        number if full else mask_phone(number),
        lead.customer.province,
        lead.customer.city,
        lead.channel.name,
        lead.batch.name if lead.batch_id else "",
        lead.grade,
        lead.get_state_display(),
        lead.owner.name if lead.owner_id else "",
        lead.protect_until,
        lead.dial_count,
        lead.connect_count,
        lead.last_contact_at,
        lead.premium,
        lead.consent_source,
        lead.consent_at,
    ]


def _clean_filters(filters: dict[str, Any] | None) -> dict[str, Any]:
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise ValidationFailed(
            _("Unknown filter"), fields={n: [_("not a lead filter")] for n in unknown}
        )
    search = str(filters.get("search", ""))
    if search.isdigit() and not (search.isascii() and len(search) <= 18):
        filters.pop("search")  # the lead-number search takes an integer id only
    return filters


@transaction.atomic
def lead_export(
    *,
    actor,
    filters: dict[str, Any] | None = None,
    fmt: str = "xlsx",
    include_full_numbers: bool = False,
    reason: str = "",
) -> ExportFile:
    """The leads matching ``filters`` (the lead list's filters) as a CSV or XLSX file."""
    if not permissions.can_export_leads(actor):
        raise PermissionDenied(_("Only the data officer or the center manager may export leads"))
    _check_format(fmt)
    reason = (reason or "").strip()
    if include_full_numbers:
        if not permissions.can_reveal_phone(actor):
            raise PermissionDenied(_("You may not see full phone numbers"))
        if len(reason) < 2:
            raise ValidationFailed(
                _("Say why you need the full numbers"),
                fields={"reason": [_("a reason is required for full numbers")]},
            )
    clean = _clean_filters(filters)
    leads = selectors.lead_list(user=actor, **clean)
    total = leads.count()
    cap = export_max_rows()
    if total > cap:
        raise ValidationFailed(
            _(
                "The filter matches %(total)d leads; an export holds at most %(cap)d. "
                "Narrow the filter (by batch, channel, state or grade)."
            )
            % {"total": total, "cap": cap},
            fields={"__all__": [_("too many rows: narrow the filter")]},
        )
    rows = list(leads.order_by("id")[:cap])
    content = spreadsheet_bytes(
        fmt=fmt,
        sheets=[
            (
                _("Leads"),
                _lead_headers(),
                (_lead_row(lead, full=include_full_numbers) for lead in rows),
            )
        ],
    )
    audit_record(
        actor=actor,
        action="leads.lead_export",
        object_type="leads.lead",
        object_repr=_("%(n)d leads") % {"n": len(rows)},
        after={
            "filters": clean,
            "format": fmt,
            "rows": len(rows),
            "full_numbers": bool(include_full_numbers),
        },
        reason=reason,
    )
    if include_full_numbers and rows:
        name = actor.get_username()[:150]
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    actor=actor,
                    actor_name=name,
                    action="leads.phone_reveal",
                    object_type="leads.lead",
                    object_id=str(lead.pk),
                    object_repr=f"lead #{lead.pk} {mask_phone(lead.customer.mobile_e164)}"[:200],
                    after={"via": "export", "format": fmt},
                    reason=reason[:500],
                )
                for lead in rows
            ],
            batch_size=1000,
        )
    return ExportFile(
        filename=f"leads-{_stamp()}.{fmt}",
        content_type=CONTENT_TYPES[fmt],
        content=content,
        rows=len(rows),
    )


# --- Batch and source quality -----------------------------------------------------------
def _quality_headers(first: str) -> list[str]:
    return [
        first,
        str(_("Leads")),
        str(_("Dialled")),
        str(_("Share dialled")),
        str(_("Connected")),
        str(_("Connect rate")),
        str(_("Won")),
        str(_("Conversion")),
        str(_("Premium")),
        str(_("Premium per lead")),
        str(_("Cost")),
        str(_("Cost per sale")),
    ]


def _quality_row(row: dict) -> list[Any]:
    def share(v):
        return "" if v is None else v

    return [
        row["name"],
        row["leads"],
        row["dialled"],
        share(row["dialled_share"]),
        row["connected"],
        share(row["connect_rate"]),
        row["won"],
        share(row["conversion"]),
        row["premium"],
        share(row["premium_per_lead"]),
        row["cost"],
        share(row["cost_per_sale"]),
    ]


@transaction.atomic
def quality_report_export(*, actor, fmt: str = "xlsx") -> ExportFile:
    """The batch and channel quality tables as one workbook (two sheets), audited."""
    if not permissions.sees_all_leads(actor):
        raise PermissionDenied(_("You may not see the lead quality report"))
    _check_format(fmt)
    batches = selectors.batch_quality_list(user=actor)
    channels = selectors.channel_quality_list(user=actor)
    content = spreadsheet_bytes(
        fmt=fmt,
        sheets=[
            (_("By batch"), _quality_headers(str(_("Batch"))), map(_quality_row, batches)),
            (_("By channel"), _quality_headers(str(_("Channel"))), map(_quality_row, channels)),
        ],
    )
    audit_record(
        actor=actor,
        action="leads.quality_export",
        object_type="leads.leadbatch",
        object_repr=_("Batch and source quality"),
        after={"format": fmt, "batches": len(batches), "channels": len(channels)},
    )
    return ExportFile(
        filename=f"lead-quality-{_stamp()}.{fmt}",
        content_type=CONTENT_TYPES[fmt],
        content=content,
        rows=len(batches) + len(channels),
    )
