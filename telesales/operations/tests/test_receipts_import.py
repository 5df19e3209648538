"""Premium receipts import: each kind of bad row rejected with its reason, nothing
half-applied, idempotent re-import, bad files refused whole, the report and the command."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from telesales.core.errors import PermissionDenied
from telesales.core.models import AuditEntry
from telesales.operations import services
from telesales.operations.choices import PremiumStatus, ServicingStatus, TaskStatus
from telesales.operations.errors import ReceiptFileRefused
from telesales.operations.importing import receipt_rejection_report, receipts_import
from telesales.operations.models import (
    PolicyServicing,
    PremiumDue,
    ReceiptBatch,
    ReceiptRejection,
    RenewalTask,
)
from telesales.operations.scheduling import operations_advance, operations_sync

D = dt.date


def csv_file(rows, header=("保单号", "期次", "金额", "缴费日期"), name="receipts.csv"):
    out = io.StringIO()
    writer = csv.writer(out)
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    f = io.BytesIO(out.getvalue().encode("utf-8"))
    f.name = name
    return f


@pytest.fixture
def book(world, policy):
    annual = policy(issued_on=D(2025, 1, 15), number="P-0001", annualised_premium=Decimal("1200"))
    monthly = policy(
        issued_on=D(2025, 6, 10),
        number="P-0002",
        payment_mode="monthly",
        annualised_premium=Decimal("1200"),
    )
    operations_sync(today=D(2025, 6, 20))
    operations_advance(today=D(2025, 6, 20))
    return annual, monthly


def due(policy, period):
    return PremiumDue.objects.get(policy=policy, period=period)


BAD_FILE_ROWS = [
    ("P-0001", "2", "1200.00", "2026-01-10"),  # 2: applied
    ("NOPE-1", "2", "1200", "2026-01-10"),  # 3: unknown policy
    ("P-0001", "2", "1200", "2026-01-11"),  # 4: duplicate in the file
    ("P-0002", "2025-07", "99.00", "2025-07-10"),  # 5: wrong amount (100 due)
    ("P-0002", "3", "100", "2025-06-01"),  # 6: before the issue
    ("P-0002", "99", "100", "2025-07-10"),  # 7: no such premium
    ("P-0002", "4", "100", "2099-01-01"),  # 8: in the future
    ("P-0002", "5", "abc", "2025-07-10"),  # 9: unreadable amount
    ("P-0002", "2025-07-10", "¥100.00", "2025/7/9"),  # 10: applied (period as its due date)
    ("P-0001", "3", "1200", "not-a-date"),  # 11: unreadable date
    ("=cmd|' /C calc'!A0", "2", "1", "2025-01-01"),  # 12: unknown policy (a formula)
    ("P-0002", "6", "100", "2025-07-10", "extra"),  # 13: more cells than the header
]


def test_each_bad_row_is_rejected_with_its_reason_and_the_good_ones_apply(world, book):
    annual, monthly = book
    result = receipts_import(file=csv_file(BAD_FILE_ROWS), actor=world.ops.user)

    batch = result.batch
    assert (batch.rows, batch.applied, batch.rejected) == (12, 2, 10)
    assert batch.amount == Decimal("1300.00")
    reasons = dict(ReceiptRejection.objects.filter(batch=batch).values_list("row_number", "reason"))
    assert reasons == {
        3: "unknown_policy",
        4: "duplicate_in_file",
        5: "wrong_amount",
        6: "before_issue",
        7: "unknown_period",
        8: "future_date",
        9: "invalid_value",
        11: "invalid_value",
        12: "unknown_policy",
        13: "bad_row",
    }
    paid = due(annual, 2)
    assert paid.status == PremiumStatus.PAID and paid.paid_date == D(2026, 1, 10)
    assert paid.batch == batch and paid.paid_amount == Decimal("1200.00")
    second = due(monthly, 2)
    assert second.status == PremiumStatus.PAID and second.paid_date == D(2025, 7, 9)
    # Nothing else moved.
    for period in (3, 4, 5, 6):
        assert due(monthly, period).status == PremiumStatus.DUE
    entry = AuditEntry.objects.get(action="operations.receipts_import")
    assert entry.after["applied"] == 2 and entry.after["rejected"] == 10


def test_importing_the_same_file_again_applies_nothing(world, book):
    receipts_import(file=csv_file(BAD_FILE_ROWS), actor=world.ops.user)
    before = list(
        PremiumDue.objects.order_by("pk").values_list("pk", "status", "paid_date", "batch")
    )

    again = receipts_import(file=csv_file(BAD_FILE_ROWS), actor=world.ops.user).batch

    assert again.applied == 0 and again.rejected == 12
    assert again.summary["same_file_as"] is not None
    reasons = dict(ReceiptRejection.objects.filter(batch=again).values_list("row_number", "reason"))
    assert reasons[2] == "already_paid" and reasons[10] == "already_paid"
    after = list(
        PremiumDue.objects.order_by("pk").values_list("pk", "status", "paid_date", "batch")
    )
    assert before == after


def test_a_receipt_closes_the_renewal_task(world, book):
    annual, _monthly = book
    operations_advance(today=D(2025, 12, 20))
    task = RenewalTask.objects.get(premium_due=due(annual, 2))
    assert task.status == TaskStatus.OPEN
    receipts_import(file=csv_file([("P-0001", "2", "1200", "2025-12-30")]), actor="cli")
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.outcome == "paid"


def test_a_receipt_paid_after_the_grace_period_is_rejected(world, book):
    rows = [("P-0001", "2", "1200", "2026-03-17")]  # due 2026-01-15: day 61
    batch = receipts_import(file=csv_file(rows), actor="cli").batch
    assert batch.applied == 0
    assert batch.rejections.get().reason == "after_grace"
    ok = receipts_import(file=csv_file([("P-0001", "2", "1200", "2026-03-16")]), actor="cli")
    assert ok.batch.applied == 1  # day 60


def test_a_late_receipt_paid_inside_the_grace_period_undoes_the_lapse(world, book):
    annual, _monthly = book
    operations_advance(today=D(2026, 3, 17))
    assert PolicyServicing.objects.get(policy=annual).status == ServicingStatus.LAPSED

    batch = receipts_import(
        file=csv_file([("P-0001", "2", "1200", "2026-03-01")]), actor="cli"
    ).batch

    assert batch.applied == 1
    servicing = PolicyServicing.objects.get(policy=annual)
    assert servicing.status == ServicingStatus.IN_FORCE and servicing.lapsed_on is None


def test_receipts_for_an_ended_policy_are_rejected(world, book):
    annual, _monthly = book
    services.policy_surrender(policy=annual, on=D(2025, 9, 1), actor="cli", note="退保")
    batch = receipts_import(
        file=csv_file([("P-0001", "2", "1200", "2026-01-10")]), actor="cli"
    ).batch
    assert batch.rejections.get().reason == "not_in_force"


def test_xlsx_with_english_headers_and_real_date_cells(world, book):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Policy number", "Period", "Amount", "Paid date"])
    sheet.append(["P-0001", 2, 1200, dt.datetime(2026, 1, 9)])
    sheet.append([None, None, None, None])
    sheet.append(["P-0002", 2, 100.0, dt.date(2025, 7, 8)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "receipts.xlsx"

    batch = receipts_import(file=buffer, actor="cli").batch

    assert (batch.rows, batch.applied, batch.rejected) == (2, 2, 0)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "xls"),
        (b"PK\x03\x04garbage", "damaged xlsx"),
        ("保单号,金额\nP-0001,1200\n".encode(), "missing columns"),
        ("保单号,期次,金额,缴费日期\n".encode(), "header only"),
    ],
)
def test_a_bad_file_is_refused_whole_and_nothing_is_recorded(world, book, content, why):
    f = io.BytesIO(content)
    f.name = "bad.csv"
    with pytest.raises(ReceiptFileRefused) as info:
        receipts_import(file=f, actor="cli")
    assert info.value.fields["file"], why
    assert not ReceiptBatch.objects.exists()
    assert not PremiumDue.objects.filter(batch__isnull=False).exists()


def test_gbk_csv_is_read(world, book):
    text = "保单号,期次,金额,缴费日期\nP-0001,第2期,1200,2026年1月10日\n"
    f = io.BytesIO(text.encode("gb18030"))
    f.name = "gbk.csv"
    assert receipts_import(file=f, actor="cli").batch.applied == 1


def test_only_operations_import_receipts(world, book):
    with pytest.raises(PermissionDenied):
        receipts_import(file=csv_file(BAD_FILE_ROWS), actor=world.alice.user)
    assert not ReceiptBatch.objects.exists()


def test_rejection_report_is_neutralised_in_csv_and_xlsx(world, book):
    batch = receipts_import(file=csv_file(BAD_FILE_ROWS), actor="cli").batch
    content = receipt_rejection_report(batch=batch, fmt="csv", actor=world.ops.user)
    text = content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["行号", "原因", "说明"] and rows[0][3:] == [
        "保单号",
        "期次",
        "金额",
        "缴费日期",
    ]
    assert [r[0] for r in rows[1:]] == ["3", "4", "5", "6", "7", "8", "9", "11", "12", "13"]
    formula = next(r for r in rows if r[0] == "12")
    assert formula[3].startswith("'=")
    xlsx = receipt_rejection_report(batch=batch, fmt="xlsx", actor=world.ops.user)
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx)).active
    values = [c.value for c in next(r for r in sheet.iter_rows() if r[0].value == 12)]
    assert values[3].startswith("'=")
    assert AuditEntry.objects.filter(action="operations.receipt_rejection_report").count() == 2
    with pytest.raises(PermissionDenied):
        receipt_rejection_report(batch=batch, fmt="csv", actor=world.alice.user)


def test_cli_receipts_import_json_last_line(world, book, tmp_path):
    path = tmp_path / "receipts.csv"
    path.write_bytes(csv_file(BAD_FILE_ROWS).getvalue())
    out = StringIO()
    call_command("receipts_import", str(path), "--json", stdout=out)
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert last["applied"] == 2 and last["rejected"] == 10 and last["rows"] == 12
    assert {"row": 3, "reason": "unknown_policy", "detail": "NOPE-1"} in last["rejections"]
    bad = tmp_path / "bad.csv"
    bad.write_text("保单号,金额\n")
    with pytest.raises(CommandError):
        call_command("receipts_import", str(bad))
    with pytest.raises(CommandError):
        call_command("receipts_import", str(tmp_path / "missing.csv"))


def test_a_premium_is_not_recorded_paid_while_an_earlier_one_is_unpaid(world, book):
    """QA: period 4 was recorded paid (import and API) while periods 2 and 3 were due, so the
    policy read paid ahead while period 2 ran on into grace and lapse. Premiums are paid in
    their order: the later one is refused, saying which one to record first."""
    _annual, monthly = book
    assert due(monthly, 2).status == PremiumStatus.DUE
    rows = [
        ("P-0002", "3", "100", "2025-06-15"),  # 2: refused, period 2 is unpaid
        ("P-0002", "2", "100", "2025-06-15"),  # 3: applied
        ("P-0002", "3", "100", "2025-06-16"),  # 4: applied now (period 2 is paid)
    ]
    batch = receipts_import(file=csv_file(rows), actor=world.ops.user).batch
    rejections = list(batch.rejections.values_list("row_number", "reason", "detail"))
    assert [r[:2] for r in rejections] == [(2, "earlier_unpaid")], rejections
    rejection = batch.rejections.get()
    assert due(monthly, 2).due_date.isoformat() in rejection.detail
    assert due(monthly, 2).status == due(monthly, 3).status == PremiumStatus.PAID


def test_the_renewal_page_and_api_refuse_a_later_premium_too(world, book):
    from telesales.operations.errors import WrongPremiumStatus

    _annual, monthly = book
    later = due(monthly, 3)
    with pytest.raises(WrongPremiumStatus) as refused:
        services.premium_payment_record(
            due=later, paid_date=dt.date(2025, 6, 15), amount=later.amount, actor=world.ops.user
        )
    assert due(monthly, 2).due_date.isoformat() in str(refused.value.message)
    assert due(monthly, 3).status == PremiumStatus.DUE
