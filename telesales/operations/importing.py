"""Premium receipts import: the insurer's file of renewal premiums received (CSV or XLSX, one
payment per row: policy number, period, amount, paid date), applied to the premium schedule
with a per-row rejection report — like the lead import.

- **Columns** are found by their header (Chinese or English: 保单号 / policy number, 期次 /
  period, 金额 / amount, 缴费日期 / paid date; the header is the first non-blank row). A file
  without one of them is refused whole (``ReceiptFileRefused``), as is an empty, binary or
  unreadable file or an old ``.xls``.
- **Period**: the instalment number (``2``), the month it fell due (``2026-11``) or its due
  date (``2026-11-15``).
- **Rows are rejected one by one, with a reason** (``ReceiptRejectReason``): unknown policy,
  no such premium due, duplicate within the file (the first good row wins), already recorded as
  paid (so importing the same file again applies nothing: **idempotent**), amount different
  from the premium due, paid before the issue, in the future or after the grace period, policy
  not in force (cancelled, ended, lapsed), unreadable value, malformed row.
- **Nothing is half-applied**: every row is checked first, then all the good rows are applied
  in one transaction with the batch, its rejection rows and one audit row; each applied row
  runs the same check again under a row lock, so a row is either fully applied (premium paid,
  renewal task closed, a late receipt undoing a lapse) or reported.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.leads.exporting import neutralise, xlsx_safe
from telesales.leads.importing import normalise_header
from telesales.leads.masking import mask_numbers_in
from telesales.operations import permissions
from telesales.operations.choices import BatchStatus, ReceiptRejectReason
from telesales.operations.errors import ReceiptFileRefused
from telesales.operations.models import PolicyServicing, PremiumDue, ReceiptBatch, ReceiptRejection
from telesales.operations.services import payment_apply, payment_problem
from telesales.policies.models import Policy

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 200_000
R = ReceiptRejectReason
COLUMNS = ("policy", "period", "amount", "paid_date")
_SYNONYMS = {
    "policy": (
        "保单号", "保单号码", "保单编号", "保险单号", "合同号", "policy", "policyno",
        "policynumber", "policynum",
    ),
    "period": (
        "期次", "缴费期次", "交费期次", "期数", "应缴期次", "缴费期数", "period", "periodno",
        "instalment", "installment", "instalmentno", "installmentno",
    ),
    "amount": (
        "金额", "实收金额", "缴费金额", "交费金额", "实收保费", "保费", "到账金额", "amount",
        "paidamount", "premium", "amountpaid",
    ),
    "paid_date": (
        "缴费日期", "交费日期", "实收日期", "到账日期", "收费日期", "缴费时间", "paiddate",
        "paidon", "dateofpayment", "paymentdate", "date",
    ),
}  # fmt: skip
_HEADER = {syn: col for col, syns in _SYNONYMS.items() for syn in syns}
_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?", re.ASCII
)
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})", re.ASCII)
_MONTH = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?", re.ASCII)
_EXCEL_EPOCH = dt.date(1899, 12, 30)
REPORT_HEADER = ("行号", "原因", "说明")
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def max_bytes() -> int:
    return int(getattr(settings, "TELESALES_RECEIPTS_MAX_BYTES", DEFAULT_MAX_BYTES))


# --- Reading ---------------------------------------------------------------------------------
def _read_bytes(file: str | Path | IO[bytes]) -> tuple[bytes, str]:
    if isinstance(file, str | Path):
        path = Path(file)
        if path.stat().st_size > max_bytes():
            raise ReceiptFileRefused(_("The file is too large for a receipt import."))
        return path.read_bytes(), path.name
    name = getattr(file, "name", "") or ""
    size = getattr(file, "size", None)
    if size is not None and size > max_bytes():
        raise ReceiptFileRefused(_("The file is too large for a receipt import."))
    data = file.read(max_bytes() + 1)
    if len(data) > max_bytes():
        raise ReceiptFileRefused(_("The file is too large for a receipt import."))
    return data, Path(name).name


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    """(row number as a spreadsheet shows it, cells) of the first sheet or the CSV."""
    if not data.strip():
        raise ReceiptFileRefused(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        yield from _xlsx_rows(data)
        return
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise ReceiptFileRefused(
            _("This is an old Excel workbook (.xls): save it as .xlsx or .csv.")
        )
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16", "replace")
    else:
        if b"\x00" in data:
            raise ReceiptFileRefused(_("This is not a table the import can read."))
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8) :]
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("gb18030", "replace")
        if text.count("\ufffd") > max(3, len(text) // 200):
            raise ReceiptFileRefused(_("This is not a table the import can read."))
    sample = "\n".join(text.splitlines()[:20])
    delimiter = max((",", "\t", ";", "|"), key=sample.count)
    try:
        yield from enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1)
    except csv.Error as exc:
        raise ReceiptFileRefused(_("The file cannot be read as CSV: %(e)s") % {"e": exc}) from exc


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ReceiptFileRefused(_("This Excel workbook cannot be read.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


# --- Cell values ------------------------------------------------------------------------------
def _parse_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 20000 <= value < 80000:  # an Excel serial day
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        value = str(int(value)) if float(value).is_integer() else str(value)
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    match = _DATE.fullmatch(text) or _COMPACT.fullmatch(text)
    if not match:
        return None
    try:
        return dt.date(*(int(p) for p in match.groups()[:3]))
    except ValueError:
        return None


def _parse_amount(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    text = unicodedata.normalize("NFKC", _cell_text(value)).strip()
    text = text.replace(",", "").replace("¥", "").replace("元", "").replace("RMB", "").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("10000000000"):
        return None
    return amount.quantize(Decimal("0.01"))


def _parse_period(value: Any) -> tuple[str, Any] | None:
    """("number", 2) | ("month", date(2026, 11, 1)) | ("date", date) | None."""
    if isinstance(value, dt.date):
        return "date", value if not isinstance(value, dt.datetime) else value.date()
    text = unicodedata.normalize("NFKC", _cell_text(value)).strip()
    text = text.removeprefix("第").removesuffix("期")
    if text.isascii() and text.isdigit() and 1 <= int(text) <= 1200:
        return "number", int(text)
    match = _MONTH.fullmatch(text)
    if match:
        try:
            return "month", dt.date(int(match[1]), int(match[2]), 1)
        except ValueError:
            return None
    day = _parse_date(text)
    return ("date", day) if day else None


# --- The import -------------------------------------------------------------------------------
@dataclass
class _Row:
    number: int
    raw: list[str]
    policy_number: str = ""
    period: tuple[str, Any] | None = None
    amount: Decimal | None = None
    paid_date: dt.date | None = None
    due: PremiumDue | None = None


@dataclass
class ReceiptImportResult:
    batch: ReceiptBatch
    rejections: list[tuple[int, str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        batch = self.batch
        return {
            "batch_id": batch.pk,
            "rows": batch.rows,
            "applied": batch.applied,
            "rejected": batch.rejected,
            "amount": str(batch.amount),
            "by_reason": batch.summary.get("by_reason", {}),
        }


def _header_map(cells: list[Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        column = _HEADER.get(normalise_header(cell))
        if column and column not in found:
            found[column] = index
    return found


def _resolve(row: _Row, dues: dict[int, list[PremiumDue]], policy_id: int) -> PremiumDue | None:
    kind, value = row.period  # type: ignore[misc]
    for due in dues.get(policy_id, []):
        if kind == "number" and due.period == value:
            return due
        if kind == "date" and due.due_date == value:
            return due
        if kind == "month" and (due.due_date.year, due.due_date.month) == (value.year, value.month):
            return due
    return None


def receipts_import(
    *, file: str | Path | IO[bytes], actor, file_name: str = ""
) -> ReceiptImportResult:
    """Read, check and apply a receipt file (see the module docstring). ``actor``: the user
    (renewal operations or the manager) or ``None``/a string for the command line."""
    if actor is not None and not isinstance(actor, str) and not permissions.can_operate(actor):
        raise PermissionDenied(_("Only renewal operations or the center manager import receipts"))
    data, name = _read_bytes(file)
    name = (file_name or name)[:255]
    rows = [(n, cells) for n, cells in _rows(data) if any(_cell_text(c).strip() for c in cells)]
    if not rows:
        raise ReceiptFileRefused(_("The file is empty."))
    header_no, header = rows[0]
    columns = _header_map(header)
    missing = [c for c in COLUMNS if c not in columns]
    if missing:
        labels = {
            "policy": "保单号 / policy number",
            "period": "期次 / period",
            "amount": "金额 / amount",
            "paid_date": "缴费日期 / paid date",
        }
        raise ReceiptFileRefused(
            _("The header must name these columns: %(cols)s")
            % {"cols": ", ".join(labels[c] for c in missing)}
        )
    if len(rows) - 1 > MAX_ROWS:
        raise ReceiptFileRefused(_("At most %(n)s rows per file.") % {"n": MAX_ROWS})
    if len(rows) == 1:
        raise ReceiptFileRefused(_("The file holds a header but no receipts."))
    width = len(header)
    rejections: list[tuple[int, str, str, list[str]]] = []
    parsed: list[_Row] = []

    def reject(row: _Row, reason: str, detail: str = "") -> None:
        rejections.append((row.number, reason, str(detail)[:300], row.raw))

    for number, cells in rows[1:]:
        row = _Row(number=number, raw=[_cell_text(c) for c in cells])
        if len(cells) > width and any(_cell_text(c).strip() for c in cells[width:]):
            reject(
                row,
                R.BAD_ROW,
                _("%(n)s cells, the header has %(w)s") % {"n": len(cells), "w": width},
            )
            continue
        if max(columns.values()) >= len(cells):
            reject(
                row,
                R.BAD_ROW,
                _("%(n)s cells, the header has %(w)s") % {"n": len(cells), "w": width},
            )
            continue
        row.policy_number = unicodedata.normalize(
            "NFKC", _cell_text(cells[columns["policy"]])
        ).strip()
        row.period = _parse_period(cells[columns["period"]])
        row.amount = _parse_amount(cells[columns["amount"]])
        row.paid_date = _parse_date(cells[columns["paid_date"]])
        problems = [
            label
            for label, ok in (
                (_("policy number"), bool(row.policy_number) and len(row.policy_number) <= 32),
                (_("period"), row.period is not None),
                (_("amount"), row.amount is not None),
                (_("paid date"), row.paid_date is not None),
            )
            if not ok
        ]
        if problems:
            reject(row, R.INVALID_VALUE, _("unreadable: %(what)s") % {"what": ", ".join(problems)})
            continue
        parsed.append(row)

    numbers = {r.policy_number for r in parsed}
    policies = {p.number: p for p in Policy.objects.filter(number__in=numbers).exclude(number="")}
    dues: dict[int, list[PremiumDue]] = {}
    for due in PremiumDue.objects.filter(policy__in=policies.values()).order_by("period"):
        dues.setdefault(due.policy_id, []).append(due)
    servicing = {
        s.policy_id: s for s in PolicyServicing.objects.filter(policy__in=policies.values())
    }
    good: list[_Row] = []
    seen: dict[int, int] = {}
    for row in parsed:
        policy = policies.get(row.policy_number)
        if policy is None:
            reject(row, R.UNKNOWN_POLICY, row.policy_number)
            continue
        due = _resolve(row, dues, policy.pk)
        if due is None:
            reject(row, R.UNKNOWN_PERIOD, _cell_text(row.raw[columns["period"]]))
            continue
        if due.pk in seen:
            reject(
                row, R.DUPLICATE_IN_FILE, _("same premium as row %(row)s") % {"row": seen[due.pk]}
            )
            continue
        due.policy = policy
        problem = payment_problem(
            due=due,
            servicing=servicing.get(policy.pk),
            paid_date=row.paid_date,
            amount=row.amount,
            paid_before=seen,  # a file may pay periods 2 and 3 of a policy, in that order
        )
        if problem:
            reject(row, problem[0], problem[1])
            continue
        seen[due.pk] = row.number  # the first good row for a premium wins
        row.due = due
        good.append(row)

    with transaction.atomic():
        batch = ReceiptBatch.objects.create(
            file_name=name,
            file_sha256=hashlib.sha256(data).hexdigest(),
            uploader=user_or_none(actor),
            status=BatchStatus.DONE,
            headers=[_cell_text(c) for c in header],
        )
        applied = 0
        total = Decimal("0.00")
        for row in good:
            due = (
                PremiumDue.objects.select_for_update(of=("self",))
                .select_related("policy")
                .get(pk=row.due.pk)  # type: ignore[union-attr]
            )
            current = (
                PolicyServicing.objects.select_for_update().filter(policy_id=due.policy_id).first()
            )
            problem = payment_problem(
                due=due, servicing=current, paid_date=row.paid_date, amount=row.amount
            )
            if problem:
                reject(row, problem[0], problem[1])
                continue
            payment_apply(
                due=due,
                servicing=current,  # type: ignore[arg-type]
                paid_date=row.paid_date,  # type: ignore[arg-type]
                amount=row.amount,  # type: ignore[arg-type]
                actor=actor,
                batch=batch,
                note=_("receipt import #%(id)s row %(row)s") % {"id": batch.pk, "row": row.number},
            )
            applied += 1
            total += row.amount  # type: ignore[operator]
        rejections.sort(key=lambda r: r[0])
        ReceiptRejection.objects.bulk_create(
            [
                ReceiptRejection(batch=batch, row_number=n, reason=reason, detail=detail, raw=raw)
                for n, reason, detail, raw in rejections
            ],
            batch_size=2000,
        )
        by_reason: dict[str, int] = {}
        for _n, reason, _d, _r in rejections:
            by_reason[str(reason)] = by_reason.get(str(reason), 0) + 1
        earlier = (
            ReceiptBatch.objects.filter(file_sha256=batch.file_sha256)
            .exclude(pk=batch.pk)
            .order_by("id")
            .values_list("pk", flat=True)
            .first()
        )
        batch.rows = len(rows) - 1
        batch.applied = applied
        batch.rejected = len(rejections)
        batch.amount = total
        batch.summary = {
            "by_reason": by_reason,
            "header_row": header_no,
            "same_file_as": earlier,
        }
        batch.save()
        audit_record(
            actor=actor,
            action="operations.receipts_import",
            instance=batch,
            after={
                "rows": batch.rows,
                "applied": applied,
                "rejected": batch.rejected,
                "amount": total,
                "by_reason": by_reason,
                "sha256": batch.file_sha256,
            },
        )
    return ReceiptImportResult(
        batch=batch, rejections=[(n, str(r), d) for n, r, d, _raw in rejections]
    )


def receipt_rejection_report(*, batch: ReceiptBatch, fmt: str = "xlsx", actor=None) -> bytes:
    """The per-row report of an import (row, reason, detail and the row as read), xlsx or
    csv; cells neutralised against formula injection, numbers that look like phone numbers
    masked. With an ``actor`` the permission is checked and the download audited."""
    if fmt not in ("xlsx", "csv"):
        raise ValidationFailed(_("Format xlsx or csv"), fields={"fmt": [_("xlsx or csv")]})
    if actor is not None and not isinstance(actor, str) and not permissions.can_operate(actor):
        raise PermissionDenied(_("Only renewal operations or the center manager see this"))
    title = [*REPORT_HEADER, *(str(h) for h in batch.headers or [])]
    with translation.override(settings.LANGUAGE_CODE):
        labels = {value: str(label) for value, label in ReceiptRejectReason.choices}
        lines = [
            [
                r.row_number,
                labels.get(r.reason, r.reason),
                neutralise(mask_numbers_in(r.detail)),
                *(neutralise(mask_numbers_in(_cell_text(v))) for v in (r.raw or [])),
            ]
            for r in batch.rejections.order_by("row_number", "id")
        ]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([neutralise(t) for t in title])
        writer.writerows(lines)
        content = codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
    else:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("拒绝明细")
        sheet.append([neutralise(t) for t in title])
        for line in lines:
            sheet.append([xlsx_safe(v) for v in line])
        buffer = io.BytesIO()
        workbook.save(buffer)
        content = buffer.getvalue()
    if actor is not None:
        audit_record(
            actor=actor,
            action="operations.receipt_rejection_report",
            instance=batch,
            after={"format": fmt, "rows": len(lines)},
        )
    return content
