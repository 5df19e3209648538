"""Lead import: formats and encodings, header mapping, validation, deduplication, DNC, the
rejection report, idempotency, crash safety, the Celery task and the CLI. Counts are exact."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
import unicodedata
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import phonenumbers
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.id_numbers import id_number_check_character
from telesales.core.models import AuditEntry
from telesales.core.phone_numbers import mask_phone, phone_hash
from telesales.core.roles import Role
from telesales.leads import importing
from telesales.leads.choices import BatchStatus, LeadGrade, LeadState, RejectReason
from telesales.leads.importing import (
    FileAlreadyImported,
    ImportInProgress,
    ImportRefused,
    NeedsMapping,
    batch_create,
    batch_import_run,
    batch_import_with_mapping,
    batch_is_stale,
    batch_rejection_report,
)
from telesales.leads.models import BatchRejection, Channel, Customer, Lead, LeadBatch
from telesales.leads.services import dnc_add
from telesales.leads.tests.factories import CustomerFactory, UserFactory, data_officer

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]


# --- Helpers ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def english():
    """Messages are asserted in English (the center's language is Chinese)."""
    with translation.override("en"):
        yield


@pytest.fixture
def channel(db):
    return Channel.objects.create(
        code="web", name="官网赠险", consent_wording="本人同意接听保险产品介绍电话"
    )


def national(n: int) -> str:
    return f"138{n:08d}"


def e164(n: int) -> str:
    return "+86" + national(n)


def valid_id_number(birth: str = "19900506", sequence: str = "002") -> str:
    first17 = "110105" + birth + sequence
    return first17 + id_number_check_character(first17)


def csv_bytes(
    rows: list[list[object]], *, encoding: str = "utf-8", delimiter: str = ",", bom=False
) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = out.getvalue().encode(encoding)
    return (codecs.BOM_UTF8 if bom else b"") + data


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def xlsx_file(tmp_path: Path, rows: list[list[object]], name: str = "leads.xlsx") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    path = tmp_path / name
    workbook.save(path)
    return path


def run_import(path: Path, *, name: str = "批次一", **options) -> LeadBatch:
    batch = batch_create(file=path, name=name, channel_code="web", actor=None, **options)
    assert batch.status == BatchStatus.PENDING, batch.mapping
    return batch_import_run(batch_id=batch.pk)


def counts(batch: LeadBatch) -> tuple[int, int, int, int, int]:
    return batch.rows, batch.imported, batch.duplicate, batch.invalid, batch.dnc_blocked


def reasons(batch: LeadBatch) -> dict[int, str]:
    return dict(batch.rejections.values_list("row_number", "reason"))


def stored_files() -> list[Path]:
    folder = Path(settings.MEDIA_ROOT) / "imports"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def assert_nothing_imported() -> None:
    assert LeadBatch.objects.count() == 0
    assert Customer.objects.count() == 0
    assert Lead.objects.count() == 0
    assert stored_files() == []


# --- A realistic GBK file ------------------------------------------------------------------

GBK_HEADER = [
    "序号", "客户姓名", "手机号码（必填）", "性别", "出生日期", "身份证号", "省份", "城市",
    "客户等级", "备注",
]  # fmt: skip


def gbk_rows() -> list[list[object]]:
    return [
        GBK_HEADER,
        [1, "张三", national(1), "男", "1985/3/12", "", "广东", "广州", "A", ""],
        [2, "李四", "138 0000 0002", "", "", valid_id_number(), "江苏", "南京", "", "老客户"],
        ["", "", "", "", "", "", "", "", "", ""],
        [3, "王五", "+86 138-0000-0001", "男", "", "", "", "", "", ""],
        [4, "赵六", "1380000", "女", "", "", "", "", "", ""],
        [5, "钱七", "", "女", "", "", "", "", "", ""],
        [6, "孙八", national(3), "男", "", "", "", "", "", ""],
        [7, "周九", national(4), "男", "", "", "", "", "", ""],
        [8, '=HYPERLINK("http://x")', national(5), "男", "", "123", "", "", "", ""],
        [9, "吴十", national(6), "女", "", "", "", "", "b类", ""],
        [10, "郑十一", national(7)],
        [11, "冯十二", national(8), "F", "19800101", "", "浙江", "杭州", "", ""],
    ]


def test_gbk_file_with_chinese_headers_imports_with_exact_counts(tmp_path, channel):
    dnc_add(phone=national(3), reason="拒绝")
    CustomerFactory(mobile_e164=e164(4), mobile_hash=phone_hash(e164(4)))
    path = write(tmp_path, "名单.csv", csv_bytes(gbk_rows(), encoding="gbk"))

    batch = run_import(path)

    assert batch.status == BatchStatus.DONE
    assert counts(batch) == (11, 5, 2, 3, 1)
    assert reasons(batch) == {
        5: RejectReason.DUPLICATE_IN_FILE,
        6: RejectReason.INVALID_PHONE,
        7: RejectReason.MISSING_PHONE,
        8: RejectReason.DNC,
        9: RejectReason.DUPLICATE_EXISTING,
        10: RejectReason.INVALID_ID_NUMBER,  # a warning: the row imported without it
        12: RejectReason.BAD_ROW,
    }
    assert batch.rejections.get(row_number=5).detail == "2"  # first seen on row 2
    assert batch.rejections.get(row_number=6).detail == "too_short"
    summary = batch.mapping["summary"]
    assert summary["blank_rows"] == 1
    assert summary["warnings"] == 1
    assert summary["encoding"] == "gb18030"
    assert batch.rows == batch.imported + batch.duplicate + batch.invalid + batch.dnc_blocked

    leads = Lead.objects.filter(batch=batch).select_related("customer")
    assert leads.count() == 5
    assert set(leads.values_list("state", flat=True)) == {LeadState.PUBLIC}
    assert all(lead.owner_id is None for lead in leads)
    zhang = Customer.objects.get(mobile_e164=e164(1))
    assert (zhang.name, zhang.gender, zhang.birth_date) == ("张三", "M", dt.date(1985, 3, 12))
    assert (zhang.province, zhang.city) == ("广东", "广州")
    li = Customer.objects.get(mobile_e164=e164(2))
    assert li.id_number == valid_id_number()
    assert (li.gender, li.birth_date) == ("F", dt.date(1990, 5, 6))  # from the ID number
    formula = Customer.objects.get(mobile_e164=e164(5))
    assert formula.name == '=HYPERLINK("http://x")'  # stored as text
    assert formula.id_number == ""
    grades = dict(leads.values_list("customer__mobile_e164", "grade"))
    assert grades == {
        e164(1): LeadGrade.A,
        e164(2): LeadGrade.C,
        e164(5): LeadGrade.C,
        e164(6): LeadGrade.B,
        e164(8): LeadGrade.C,
    }
    lead = leads.get(customer__mobile_e164=e164(8))
    assert lead.has_consent
    assert lead.consent_source == "官网赠险"
    assert lead.consent_wording == "本人同意接听保险产品介绍电话"
    assert lead.consent_at == batch.created_at
    assert batch.rejections.get(row_number=9).raw[2] == national(4)


def test_reimporting_the_same_file_is_refused_and_a_forced_run_adds_nothing(tmp_path, channel):
    path = write(tmp_path, "a.csv", csv_bytes(gbk_rows(), encoding="gbk"))
    first = run_import(path)
    assert counts(first) == (11, 7, 1, 3, 0)

    with pytest.raises(FileAlreadyImported) as refused:
        batch_create(file=path, name="again", channel_code="web")
    assert f"#{first.pk}" in refused.value.message
    assert LeadBatch.objects.count() == 1

    again = run_import(path, name="again", allow_repeat=True)
    assert counts(again) == (11, 0, 8, 3, 0)
    assert Customer.objects.count() == 7
    assert Lead.objects.count() == 7


def test_a_different_file_with_the_same_numbers_adds_nothing(tmp_path, channel):
    run_import(write(tmp_path, "a.csv", csv_bytes(gbk_rows(), encoding="gbk")))
    resaved = csv_bytes(gbk_rows(), encoding="utf-8", bom=True)
    batch = run_import(write(tmp_path, "b.csv", resaved), name="re-saved")
    assert counts(batch) == (11, 0, 8, 3, 0)
    assert Lead.objects.count() == 7


def test_a_gbk_file_with_a_stray_byte_rejects_only_that_row(tmp_path, channel):
    content = csv_bytes(gbk_rows(), encoding="gbk")
    broken = content.replace("赵六".encode("gbk"), "赵".encode("gbk") + b"\xff", 1)
    assert broken != content
    batch = run_import(write(tmp_path, "stray.csv", broken))
    # Row 6 (赵六, an invalid number anyway) is now unreadable: bad_encoding, still invalid.
    assert counts(batch) == (11, 7, 1, 3, 0)
    assert reasons(batch)[6] == RejectReason.BAD_ENCODING

    content = csv_bytes(
        [["姓名", "手机"], ["甲", national(21)], ["乙", national(22)]], encoding="gbk"
    )
    broken = content.replace("乙".encode("gbk"), b"\x81\x20")
    batch = run_import(write(tmp_path, "stray2.csv", broken), name="second")
    assert counts(batch) == (2, 1, 0, 1, 0)
    assert reasons(batch) == {3: RejectReason.BAD_ENCODING}


def test_a_file_that_starts_in_ascii_and_turns_gbk_later(tmp_path, channel, monkeypatch):
    monkeypatch.setattr(importing, "HEAD_BYTES", 64)  # the sample sees ASCII only
    monkeypatch.setattr(importing, "BLOCK_BYTES", 64)
    rows = [["name", "mobile"]] + [[f"pinyin{n}", national(n)] for n in range(1, 6)]
    rows += [[f"张{n}", national(n)] for n in range(6, 9)]
    content = csv_bytes(rows, encoding="gbk")
    content += "坏".encode("gbk")[:1] + b"\xff," + national(9).encode() + b"\r\n"
    batch = run_import(write(tmp_path, "late.csv", content))
    assert counts(batch) == (9, 8, 0, 1, 0)
    assert reasons(batch) == {10: RejectReason.BAD_ENCODING}
    assert batch.mapping["summary"]["encoding"] == "gb18030"
    assert Customer.objects.get(mobile_e164=e164(7)).name == "张7"


@pytest.mark.parametrize(
    ("delimiter", "encoding", "bom"),
    [(",", "utf-8", True), (";", "utf-8", False), ("\t", "gb18030", False), ("|", "utf-8", False)],
)
def test_delimiter_and_encoding_are_detected(tmp_path, channel, delimiter, encoding, bom):
    rows = [
        ["姓名", "手机", "城市"],
        ["甲", national(1), "北京"],
        ["乙", "138 0000 0002", "上海"],
        ["丙", "０１０-６２５５ １２３４", "北京"],  # a full-width Beijing landline
    ]
    content = csv_bytes(rows, encoding=encoding, delimiter=delimiter, bom=bom)
    batch = run_import(write(tmp_path, "leads.txt", content))
    assert counts(batch) == (3, 3, 0, 0, 0)
    assert batch.mapping["delimiter"] == delimiter
    assert Customer.objects.get(mobile_e164=e164(2)).city == "上海"
    assert Customer.objects.filter(mobile_e164="+861062551234").exists()


def test_utf16_unicode_text_from_excel_imports(tmp_path, channel):
    rows = [["姓名", "手机号码"], ["甲", national(1)], ["乙", national(2)]]
    content = csv_bytes(rows, encoding="utf-16", delimiter="\t")
    assert content.startswith(codecs.BOM_UTF16_LE)
    batch = run_import(write(tmp_path, "unicode.txt", content))
    assert counts(batch) == (2, 2, 0, 0, 0)


def test_xlsx_with_numeric_phone_cells(tmp_path, channel):
    path = xlsx_file(
        tmp_path,
        [
            ["姓名", "手机", "出生日期"],
            ["a", 13800000011, dt.date(1990, 1, 2)],
            ["b", 13800000012.0, 32874],  # an Excel serial date: 1990-01-01
            ["c", "1.3800000013E10", "1990-01-03"],
            ["d", "138 0000 0014", None],
            ["e", "+86 138-0000-0015", None],
            ["f", "１３８００００００１６", None],
            ["g", "0086 13800000017", None],
            ["h", 1.3800000018e10, None],
            [None, None, None],
            ["i", 13800000011, None],  # row 10 repeats row 2
            ["j", "1.38E+10", None],  # digits lost by the spreadsheet
        ],
    )
    batch = run_import(path)
    assert counts(batch) == (10, 8, 1, 1, 0)
    assert batch.mapping["format"] == "xlsx"
    assert batch.mapping["summary"]["blank_rows"] == 1
    assert reasons(batch) == {11: RejectReason.DUPLICATE_IN_FILE, 12: RejectReason.INVALID_PHONE}
    assert batch.rejections.get(row_number=12).detail == "lost_digits"
    expected = {e164(n) for n in range(11, 19)}
    assert set(Customer.objects.values_list("mobile_e164", flat=True)) == expected
    births = dict(Customer.objects.values_list("name", "birth_date"))
    assert births["a"] == dt.date(1990, 1, 2)
    assert births["b"] == dt.date(1990, 1, 1)
    assert births["c"] == dt.date(1990, 1, 3)


def test_a_title_row_above_the_header_is_skipped(tmp_path, channel):
    rows = [["2026年11月 赠险名单"], [], ["姓名", "电话"], ["甲", national(1)]]
    batch = run_import(write(tmp_path, "t.csv", csv_bytes(rows)))
    assert counts(batch) == (1, 1, 0, 0, 0)
    assert batch.mapping["header_row"] == 3
    assert batch.mapping["summary"]["rows_above_header"] == 1


def test_a_two_level_header_with_merged_group_cells_takes_the_column_names(tmp_path, channel):
    """Group titles in merged cells above the column names ("联系方式" over 手机号码 and
    备用电话) name a phone column too; the row below them is the header."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["2026年11月赠险名单"])
    sheet.merge_cells("A1:F1")
    sheet.append(["客户信息", None, "联系方式", None, "其他", None])
    for cells in ("A2:B2", "C2:D2", "E2:F2"):
        sheet.merge_cells(cells)
    sheet.append(["姓名", "性别", "手机号码", "备用电话", "等级", "授权时间"])
    sheet.append(["甲", "男", 13800000001, "", "B", "2026-11-01 10:00"])
    sheet.append(["乙", "女", float(national(2)), national(9), "A", ""])
    path = tmp_path / "two-level.xlsx"
    workbook.save(path)
    batch = run_import(path)
    assert batch.mapping["header_row"] == 3
    assert batch.mapping["summary"]["rows_above_header"] == 2
    assert counts(batch) == (2, 2, 0, 0, 0)
    leads = {lead.customer.name: lead for lead in Lead.objects.select_related("customer")}
    assert leads["甲"].customer.mobile_e164 == e164(1) and leads["甲"].grade == LeadGrade.B
    assert leads["乙"].customer.gender == "F" and leads["乙"].grade == LeadGrade.A


def test_a_group_title_row_alone_stays_the_header_when_data_follows(tmp_path, channel):
    """A header that is only "联系电话" stays the header: the next row holds numbers."""
    rows = [["联系电话", "客户信息"], [national(1), "甲"], [national(2), "乙"]]
    batch = batch_create(
        file=write(tmp_path, "h.csv", csv_bytes(rows)), name="一", channel_code="web", actor=None
    )
    assert batch.mapping["header_row"] == 1


def test_ragged_rows_are_rejected_and_empty_trailing_cells_are_not(tmp_path, channel):
    rows = [
        ["姓名", "手机", "城市", ""],
        ["甲", national(1), "北京", ""],
        ["乙", national(2), "北京"],  # stops before the unnamed last column: fine
        ["丙", national(3), "北京", "", "", ""],  # empty extra cells: fine
        ["丁", national(4)],  # too few
        ["戊", national(5), "北京", "", "多余"],  # too many
    ]
    batch = run_import(write(tmp_path, "r.csv", csv_bytes(rows)))
    assert counts(batch) == (5, 3, 0, 2, 0)
    assert reasons(batch) == {5: RejectReason.BAD_ROW, 6: RejectReason.BAD_ROW}
    assert batch.rejections.get(row_number=5).detail == "2/3"


def test_consent_columns_of_the_file_are_used(tmp_path, channel):
    rows = [
        ["姓名", "手机", "授权时间", "授权来源", "授权话术", "授权凭证"],
        ["甲", national(1), "2026-10-01 09:30:00", "短信H5", "同意来电", "log-1"],
        ["乙", national(2), "不知道", "", "", ""],
    ]
    batch = run_import(write(tmp_path, "c.csv", csv_bytes(rows)))
    assert counts(batch) == (2, 2, 0, 0, 0)
    first = Lead.objects.get(customer__mobile_e164=e164(1))
    assert first.consent_source == "短信H5"
    assert first.consent_wording == "同意来电"
    assert first.consent_evidence == "log-1"
    assert first.consent_at.astimezone(dt.timezone(dt.timedelta(hours=8))).replace(
        tzinfo=None
    ) == dt.datetime(2026, 10, 1, 9, 30)
    second = Lead.objects.get(customer__mobile_e164=e164(2))
    assert second.consent_source == "官网赠险"  # the channel
    assert second.consent_at == batch.created_at
    assert reasons(batch) == {3: RejectReason.INVALID_VALUE}  # a warning: unreadable time


def test_batch_options_reach_the_leads(tmp_path, channel):
    rows = [["姓名", "手机", "级别"], ["甲", national(1), ""], ["乙", national(2), "a"]]
    batch = batch_create(
        file=write(tmp_path, "o.csv", csv_bytes(rows)),
        name="选项",
        channel_code="web",
        cost="1200.50",
        default_grade=LeadGrade.B,
        required_grade=3,
    )
    batch = batch_import_run(batch_id=batch.pk)
    assert batch.cost == Decimal("1200.50")
    grades = dict(Lead.objects.values_list("customer__mobile_e164", "grade"))
    assert grades == {e164(1): LeadGrade.B, e164(2): LeadGrade.A}
    assert set(Lead.objects.values_list("required_grade", flat=True)) == {3}


# --- Bad input: refused with a message, nothing imported ------------------------------------

ZIP_NOT_XLSX = io.BytesIO()
with zipfile.ZipFile(ZIP_NOT_XLSX, "w") as _archive:
    _archive.writestr("notes.txt", "hello")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\r\n  \r\n\r\n", "empty"),
        (codecs.BOM_UTF8, "empty"),
        ("姓名,手机号码\r\n".encode(), "no data rows"),
        ("姓名,手机号码\r\n,\r\n\r\n".encode("gbk"), "no data rows"),
        (bytes(range(256)) * 40, "binary"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), ".xls"),
        (ZIP_NOT_XLSX.getvalue(), "ZIP"),
        ("姓名,地址\r\n张三,北京市海淀区\r\n李四,上海\r\n".encode(), "No phone column"),
    ],
    ids=[
        "empty",
        "blank-lines",
        "bom-only",
        "header-only",
        "header-and-blank-rows",
        "binary",
        "png-renamed",
        "old-xls",
        "zip",
        "no-phone-column",
    ],
)
def test_bad_files_are_refused_with_a_clear_message(tmp_path, channel, content, message):
    path = write(tmp_path, "leads.csv", content)
    with pytest.raises(ImportRefused) as refused:
        batch_create(file=path, name="bad", channel_code="web")
    assert message in refused.value.message
    assert_nothing_imported()


def test_a_file_over_the_size_limit_is_refused_without_reading_it(tmp_path, channel, settings):
    settings.TELESALES_IMPORT_MAX_BYTES = 1000
    path = write(tmp_path, "big.csv", csv_bytes([["手机"]] + [[national(n)] for n in range(200)]))
    with pytest.raises(ImportRefused, match="too large"):
        batch_create(file=path, name="big", channel_code="web")

    class Upload(io.BytesIO):
        size = 5 * 1024 * 1024 * 1024  # what the upload handler says; never read

        def read(self, *args):
            raise AssertionError("a refused upload must not be read")

    with pytest.raises(ImportRefused, match="too large"):
        batch_create(file=Upload(), name="upload", channel_code="web", file_name="x.csv")

    class Stream(io.BytesIO):  # no size: refused while streaming, partial copy removed
        pass

    with pytest.raises(ImportRefused, match="too large"):
        batch_create(file=Stream(path.read_bytes()), name="stream", channel_code="web")
    assert_nothing_imported()


def test_the_default_limit_is_200_mb():
    assert importing.import_max_bytes() == 200 * 1024 * 1024


def test_unknown_header_goes_to_mapping_then_imports(tmp_path, channel):
    rows = [
        ["客户", "联络号", "车牌号"],
        ["甲", national(1), "京A12345"],
        ["乙", "bad", "沪B00001"],
    ]
    batch = batch_create(
        file=write(tmp_path, "m.csv", csv_bytes(rows)), name="m", channel_code="web"
    )
    assert batch.status == BatchStatus.MAPPING
    assert batch.mapping["headers"] == ["客户", "联络号", "车牌号"]
    assert batch.mapping["unknown"] == [1, 2]
    assert batch.mapping["phone_like_columns"] == [1]
    # The sample waits in the database until the mapping is saved: no full number in it.
    assert batch.mapping["sample"][0] == ["甲", mask_phone(e164(1)), "京A12345"]
    assert national(1) not in json.dumps(batch.mapping)
    with pytest.raises(NeedsMapping):
        batch_import_run(batch_id=batch.pk)

    with pytest.raises(ValidationFailed):
        batch_import_with_mapping(batch=batch, mapping={"联络号": "mobile", 0: "mobile"})
    with pytest.raises(ValidationFailed):
        batch_import_with_mapping(batch=batch, mapping={"联络号": "shoe_size"})

    batch = batch_import_with_mapping(batch=batch, mapping={"联络号": "mobile", "车牌号": "ignore"})
    assert batch.status == BatchStatus.DONE
    assert counts(batch) == (2, 1, 0, 1, 0)
    assert "sample" not in batch.mapping
    assert Customer.objects.get().name == "甲"


def test_a_file_without_a_header_is_mapped_by_column_number(tmp_path, channel):
    rows = [[national(1), "甲"], [national(2), "乙"]]
    batch = batch_create(
        file=write(tmp_path, "h.csv", csv_bytes(rows)), name="h", channel_code="web"
    )
    assert batch.status == BatchStatus.MAPPING
    assert batch.mapping["header_row"] == 0
    batch = batch_import_with_mapping(batch=batch, mapping={0: "mobile", 1: "name"})
    assert counts(batch) == (2, 2, 0, 0, 0)
    assert Customer.objects.get(mobile_e164=e164(2)).name == "乙"


def test_unknown_channel_is_refused_unless_asked_to_create_it(tmp_path, channel):
    path = write(tmp_path, "c.csv", csv_bytes([["手机"], [national(1)]]))
    with pytest.raises(ValidationFailed, match="Unknown channel"):
        batch_create(file=path, name="x", channel_code="partner-9")
    assert_nothing_imported()
    batch = batch_create(file=path, name="x", channel_code="partner-9", create_channel=True)
    assert batch.mapping["channel_created"] is True
    assert Channel.objects.get(code="partner-9").name == "partner-9"


def test_an_inactive_channel_takes_no_new_batch(tmp_path, channel):
    path = write(tmp_path, "i.csv", csv_bytes([["手机"], [national(1)]]))
    channel.is_active = False
    channel.save(update_fields=["is_active"])
    for create in (False, True):  # "create it if missing" does not switch it back on
        with pytest.raises(ValidationFailed, match="inactive") as refused:
            batch_create(file=path, name="x", channel_code="web", create_channel=create)
        assert refused.value.fields == {"channel": ["inactive channel"]}
    assert_nothing_imported()
    with pytest.raises(CommandError, match="inactive"):
        call_command("leads_import", str(path), "--channel", "web", "--batch", "i")
    assert_nothing_imported()
    channel.is_active = True
    channel.save(update_fields=["is_active"])
    assert batch_create(file=path, name="x", channel_code="web").channel == channel


def test_only_the_data_officer_and_the_manager_import(tmp_path, channel):
    path = write(tmp_path, "p.csv", csv_bytes([["手机"], [national(1)]]))
    agent = UserFactory(username="agent-x", roles=[Role.AGENT])
    with pytest.raises(PermissionDenied):
        batch_create(file=path, name="p", channel_code="web", actor=agent)
    officer = data_officer()
    batch = batch_create(file=path, name="p", channel_code="web", actor=officer)
    batch = batch_import_run(batch_id=batch.pk)
    assert batch.uploader == officer
    actions = AuditEntry.objects.filter(object_id=str(batch.pk)).values_list("action", "actor_name")
    assert set(actions) == {
        ("leads.batch_create", officer.username),
        ("leads.batch_import", officer.username),
    }
    cli = run_import(write(tmp_path, "q.csv", csv_bytes([["手机"], [national(2)]])), name="q")
    assert AuditEntry.objects.get(
        action="leads.batch_import", object_id=str(cli.pk)
    ).actor_name == ("system")


def test_progress_is_committed_every_chunk(tmp_path, channel, monkeypatch):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 7)
    rows = [["手机"]] + [[national(n)] for n in range(1, 31)]
    seen: list[tuple[int, int]] = []
    batch = batch_create(
        file=write(tmp_path, "g.csv", csv_bytes(rows)), name="g", channel_code="web"
    )
    batch = batch_import_run(
        batch_id=batch.pk, progress=lambda done, total: seen.append((done, total))
    )
    assert [done for done, _total in seen] == [7, 14, 21, 28, 30]
    assert all(total == 30 for _done, total in seen)
    assert (batch.processed, batch.rows, batch.progress) == (30, 30, 100)


# --- Rejection report -------------------------------------------------------------------------

FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\tTAB", "\rCR"]


def formula_batch(tmp_path) -> LeadBatch:
    rows = [["姓名", "手机", "身份证号"], ["好人", national(1), "123"]]
    rows += [[formula, "not a number", ""] for formula in FORMULAS]
    return run_import(write(tmp_path, "f.csv", csv_bytes(rows)))


def test_rejection_report_csv_neutralises_formulas(tmp_path, channel):
    batch = formula_batch(tmp_path)
    assert counts(batch) == (7, 1, 0, 6, 0)
    content = batch_rejection_report(batch=batch, fmt="csv")
    assert content.startswith(codecs.BOM_UTF8)
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0] == ["行号", "原因", "说明", "处理结果", "姓名", "手机", "身份证号"]
    assert [line[0] for line in lines[1:]] == ["2", "3", "4", "5", "6", "7", "8"]
    assert lines[1][3] == "已导入（该字段未保存）"  # the invalid ID number: a warning
    # The detail in words, as the batch page says it (the import stores codes).
    assert lines[1][2] == "证件号码：证件号码应为 18 位（1999 年以前的旧证为 15 位）。"
    names = [line[4] for line in lines[2:]]
    assert names == ["'" + formula for formula in FORMULAS]
    assert all(line[3] == "未导入" for line in lines[2:])
    assert lines[2][1] == "电话号码无效"
    assert lines[2][2] == "不是电话号码。"


def test_rejection_report_details_are_words_not_codes(tmp_path, channel):
    """A dropped birth date and a bad ID number on one row, and a mistyped number: the
    report's 说明 names the fields and problems in Chinese, like the batch page."""
    rows = [
        ["姓名", "手机", "身份证号", "出生日期"],
        ["甲", national(1), "110105199001011234", "2099-01-01"],
        ["乙", "12345", "", ""],
    ]
    batch = run_import(write(tmp_path, "w.csv", csv_bytes(rows)))
    assert counts(batch) == (2, 1, 0, 1, 0)
    content = batch_rejection_report(batch=batch, fmt="csv").decode("utf-8-sig")
    lines = {line[0]: line for line in csv.reader(io.StringIO(content))}
    assert lines["2"][2] == "证件号码：校验位与其他位不符：有数字录入错误。; 出生日期"
    assert lines["3"][2] == "不是有效的中国手机或固定电话号码（400/800 等服务号码及短号不能外呼）。"
    assert "id_number" not in content and "checksum" not in content


def test_rejection_report_xlsx_neutralises_formulas(tmp_path, channel):
    batch = formula_batch(tmp_path)
    content = batch_rejection_report(batch=batch, fmt="xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][:4] == ["行号", "原因", "说明", "处理结果"]
    assert [row[0] for row in values[1:]] == [2, 3, 4, 5, 6, 7, 8]
    for row, formula in zip(values[2:], FORMULAS, strict=True):
        assert row[4] == "'" + formula.replace("\r", "\n")  # XML turns CR into LF
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_rejection_report_download_is_permission_checked_and_audited(tmp_path, channel):
    batch = formula_batch(tmp_path)
    with pytest.raises(PermissionDenied):
        batch_rejection_report(
            batch=batch, fmt="csv", actor=UserFactory(username="a1", roles=[Role.AGENT])
        )
    officer = data_officer()
    batch_rejection_report(batch=batch, fmt="csv", actor=officer)
    entry = AuditEntry.objects.get(action="leads.batch_rejection_report")
    assert entry.actor_name == officer.username
    assert entry.after == {"format": "csv", "rows": 7, "full_numbers": False}
    assert entry.reason == ""


def test_rejection_report_masks_numbers_for_users_who_may_not_reveal(tmp_path, channel, settings):
    rows = [
        ["姓名", "手机", "备注"],
        ["甲", national(1), ""],
        ["乙", national(1), "回电 13912345678"],
    ]
    batch = run_import(write(tmp_path, "m.csv", csv_bytes(rows)))
    officer = data_officer()
    full = batch_rejection_report(
        batch=batch, fmt="csv", actor=officer, full_numbers=True, reason="核对重复"
    ).decode("utf-8-sig")
    assert national(1) in full and "13912345678" in full
    settings.TELESALES_PHONE_REVEAL_ROLES = ["center_manager"]
    with pytest.raises(PermissionDenied):
        batch_rejection_report(
            batch=batch, fmt="csv", actor=officer, full_numbers=True, reason="核对重复"
        )
    masked = batch_rejection_report(batch=batch, fmt="csv", actor=officer).decode("utf-8-sig")
    assert national(1) not in masked and "13912345678" not in masked
    assert "139****5678" in masked
    entry = AuditEntry.objects.filter(action="leads.batch_rejection_report").latest("id")
    assert entry.after["full_numbers"] is False


def test_the_masked_rejection_report_masks_identity_card_numbers_too(tmp_path, channel):
    # A row kept as a warning (bad ID checksum) carries the ID number as read: the masked
    # report shows it as the pages do; the full one (a reveal, with a reason) in full.
    rows = [
        ["姓名", "手机", "身份证号", "备注"],
        ["甲", national(1), "110105199001011234", "旧证 110105900101123"],
    ]
    batch = run_import(write(tmp_path, "id.csv", csv_bytes(rows)))
    officer = data_officer()

    masked = batch_rejection_report(batch=batch, fmt="csv", actor=officer).decode("utf-8-sig")
    full = batch_rejection_report(
        batch=batch, fmt="csv", actor=officer, full_numbers=True, reason="核对证件"
    ).decode("utf-8-sig")

    assert "110105199001011234" not in masked and "110105********1234" in masked
    assert "110105900101123" not in masked and "110105*****1123" in masked
    assert "110105199001011234" in full and "110105900101123" in full


@pytest.mark.parametrize("reason", ["", " ", "x"])
def test_full_numbers_in_the_rejection_report_need_a_reason_like_a_reveal(
    tmp_path, channel, reason
):
    """Downloading the rows as read with full numbers is a reveal: refused without a reason
    (nothing audited, no file), and the reason is recorded, with any number in it masked.
    The masked download needs none."""
    rows = [["姓名", "手机"], ["甲", national(1)], ["乙", national(1)]]
    batch = run_import(write(tmp_path, "r.csv", csv_bytes(rows)))
    officer = data_officer()
    with pytest.raises(ValidationFailed) as refused:
        batch_rejection_report(
            batch=batch, fmt="csv", actor=officer, full_numbers=True, reason=reason
        )
    assert "reason" in refused.value.fields
    assert not AuditEntry.objects.filter(action="leads.batch_rejection_report").exists()
    batch_rejection_report(
        batch=batch, fmt="xlsx", actor=officer, full_numbers=True, reason="客户 13912345678 投诉"
    )
    entry = AuditEntry.objects.get(action="leads.batch_rejection_report")
    assert entry.after == {"format": "xlsx", "rows": 1, "full_numbers": True}
    assert entry.reason == "客户 139****5678 投诉"


# --- Crash safety and resuming ---------------------------------------------------------------


def test_a_batch_left_running_by_a_dead_process_is_detected_and_run_again(tmp_path, channel):
    path = write(tmp_path, "s.csv", csv_bytes(gbk_rows(), encoding="gbk"))
    batch = batch_create(file=path, name="s", channel_code="web")
    LeadBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, processed=3)
    assert batch_is_stale(batch)  # running, and no process holds its lock
    batch = batch_import_run(batch_id=batch.pk)
    assert counts(batch) == (11, 7, 1, 3, 0)
    assert batch.mapping["summary"]["resumed"] is True
    assert batch_import_run(batch_id=batch.pk).imported == 7  # done: nothing happens
    assert Lead.objects.count() == 7


def test_a_batch_being_imported_is_not_run_twice(tmp_path, channel):
    batch = batch_create(
        file=write(tmp_path, "l.csv", csv_bytes([["手机"], [national(1)]])),
        name="l",
        channel_code="web",
    )
    if connection.vendor == "postgresql":
        # Advisory locks are re-entrant within a session: hold it from another connection.
        import psycopg

        db = connection.settings_dict
        other = psycopg.connect(
            host=db["HOST"] or None,
            port=db["PORT"] or None,
            user=db["USER"] or None,
            password=db["PASSWORD"] or None,
            dbname=db["NAME"],
            autocommit=True,
        )
        other.execute("SELECT pg_advisory_lock(%s, %s)", [importing._LOCK_CLASS, batch.pk])
        try:
            with pytest.raises(ImportInProgress):
                batch_import_run(batch_id=batch.pk)
        finally:
            # Unlock explicitly: closing returns before the server session has ended and let
            # go of its locks, so the run below could still find the batch locked.
            other.execute("SELECT pg_advisory_unlock(%s, %s)", [importing._LOCK_CLASS, batch.pk])
            other.close()
    else:
        with importing._run_lock(batch.pk) as acquired:
            assert acquired
            with pytest.raises(ImportInProgress):
                batch_import_run(batch_id=batch.pk)
    assert batch_import_run(batch_id=batch.pk).imported == 1


def test_a_file_problem_during_the_run_fails_the_batch_with_its_message(tmp_path, channel):
    path = write(tmp_path, "gone.csv", csv_bytes([["手机"], [national(1)]]))
    batch = batch_create(file=path, name="gone", channel_code="web")
    (Path(settings.MEDIA_ROOT) / batch.stored_file).unlink()
    with pytest.raises(ImportRefused):
        batch_import_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.FAILED
    assert "missing" in batch.error
    assert Lead.objects.count() == 0


def _subprocess_env(data_dir: Path) -> dict[str, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.base"}
    env["TELESALES_DATA_DIR"] = str(data_dir)
    env.pop("TELESALES_IMPORT_PAUSE_AT", None)
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        env["DATABASE_URL"] = (
            f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    else:
        env.pop("DATABASE_URL", None)
    return env


def _cli(env: dict[str, str], *args: str, pause_at: str = "") -> subprocess.Popen:
    if pause_at:
        env = {**env, "TELESALES_IMPORT_PAUSE_AT": pause_at}
    return subprocess.Popen(
        [sys.executable, "-m", "config.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_pause(process: subprocess.Popen, point: str) -> None:
    deadline = time.monotonic() + 60
    for line in process.stderr:  # type: ignore[union-attr]
        if f"telesales-import-paused-at {point}" in line:
            return
        assert time.monotonic() < deadline, "the import never reached its pause point"
    raise AssertionError(f"the import ended before {point}: {process.wait()}")


@pytest.mark.django_db(transaction=True)
def test_an_import_killed_mid_way_leaves_no_half_batch_and_resumes_exactly(tmp_path, request):
    """A real process is killed with SIGKILL while reading, then inside the final
    transaction; each time nothing of the batch is in the tables, the batch is seen as
    stale, and the resumed run imports every row exactly once."""
    postgres = connection.vendor == "postgresql"
    # SQLite: a copy of the run's migrated data directory (conftest's ``sqlite_data_dir``).
    data_dir = Path(settings.DATA_DIR) if postgres else request.getfixturevalue("sqlite_data_dir")
    env = _subprocess_env(data_dir)
    if not postgres:
        database = data_dir / "telesales.sqlite3"

        def query(sql: str) -> list[tuple]:
            with sqlite3.connect(database) as db:
                return db.execute(sql).fetchall()
    else:

        def query(sql: str) -> list[tuple]:
            with connection.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall()

    total = importing.CHUNK_ROWS + 5_000  # two staging chunks
    rows = [["姓名", "手机号码"]] + [[f"客户{n}", national(n)] for n in range(1, total + 1)]
    rows += [["重复", national(7)], ["坏号", "12345"]]
    path = write(tmp_path, "big.csv", csv_bytes(rows))
    args = ["leads-import", str(path), "--channel", "kill", "--batch", "killed"]

    def assert_nothing_committed() -> int:
        ((batch_id, status),) = query("SELECT id, status FROM leads_leadbatch")
        assert status == BatchStatus.RUNNING
        assert query("SELECT COUNT(*) FROM leads_customer") == [(0,)]
        assert query("SELECT COUNT(*) FROM leads_lead") == [(0,)]
        assert query("SELECT COUNT(*) FROM leads_batchrejection") == [(0,)]
        return batch_id

    try:
        # 1. Killed while reading (after a chunk and its progress were committed).
        first = _cli(env, *args, "--create-channel", pause_at="staged-chunk")
        _wait_for_pause(first, "staged-chunk")
        ((batch_id, processed),) = query("SELECT id, processed FROM leads_leadbatch")
        assert processed >= importing.CHUNK_ROWS
        busy = subprocess.run(
            [sys.executable, "-m", "config.cli", "leads-import", "--resume", str(batch_id)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        assert busy.returncode != 0  # "being imported by another process"
        assert "Traceback" not in busy.stderr
        first.send_signal(signal.SIGKILL)
        first.wait()
        batch_id = assert_nothing_committed()

        # 2. Killed inside the final transaction, after customers and leads were inserted.
        second = _cli(env, "leads-import", "--resume", str(batch_id), pause_at="merge")
        _wait_for_pause(second, "merge")
        second.send_signal(signal.SIGKILL)
        second.wait()
        assert assert_nothing_committed() == batch_id

        # 3. Resumed to the end: every row exactly once.
        third = _cli(env, "leads-import", "--resume", str(batch_id), "--json")
        out, err = third.communicate(timeout=120)
        assert third.returncode == 0, err
        figures = json.loads(out.strip().splitlines()[-1])
        assert figures["batch_id"] == batch_id
        assert (
            figures["rows"],
            figures["imported"],
            figures["duplicate"],
            figures["invalid"],
            figures["dnc_blocked"],
        ) == (total + 2, total, 1, 1, 0)
        assert query("SELECT COUNT(*), COUNT(DISTINCT mobile_hash) FROM leads_customer") == [
            (total, total)
        ]
        assert query("SELECT COUNT(*) FROM leads_lead") == [(total,)]
        assert query("SELECT status FROM leads_leadbatch") == [(BatchStatus.DONE,)]
    finally:
        for stored in query("SELECT stored_file FROM leads_leadbatch"):
            (data_dir / "media" / stored[0]).unlink(missing_ok=True)


# --- Celery task and CLI ----------------------------------------------------------------------


def test_the_celery_task_imports_a_batch(tmp_path, channel):
    from telesales.leads.tasks import leads_batch_import_task

    path = write(tmp_path, "t.csv", csv_bytes(gbk_rows(), encoding="gbk"))
    batch = batch_create(file=path, name="task", channel_code="web")
    result = leads_batch_import_task.delay(batch.pk).get()
    assert result == {
        "batch_id": batch.pk,
        "status": BatchStatus.DONE,
        "rows": 11,
        "imported": 7,  # no DNC entry and no existing customer in this test
        "duplicate": 1,
        "invalid": 3,
        "dnc_blocked": 0,
    }


def test_the_celery_task_reports_a_failed_file(tmp_path, channel):
    from telesales.leads.tasks import leads_batch_import_task

    batch = batch_create(
        file=write(tmp_path, "x.csv", csv_bytes([["手机"], [national(1)]])),
        name="x",
        channel_code="web",
    )
    (Path(settings.MEDIA_ROOT) / batch.stored_file).unlink()
    result = leads_batch_import_task.delay(batch.pk).get()
    assert result["status"] == "failed"
    assert result["code"] == "import_refused"


def test_the_cli_imports_and_prints_json_last(tmp_path, channel):
    dnc_add(phone=national(3), reason="拒绝")
    path = write(tmp_path, "cli.csv", csv_bytes(gbk_rows(), encoding="gbk"))
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "leads_import", str(path), "--channel", "web", "--batch", "命令行", "--json",
        "--grade", "B", stdout=out, stderr=err,
    )  # fmt: skip
    figures = json.loads(out.getvalue().strip().splitlines()[-1])
    batch = LeadBatch.objects.get(name="命令行")
    assert figures["batch_id"] == batch.pk
    assert (figures["rows"], figures["imported"], figures["duplicate"]) == (11, 6, 1)
    assert (figures["invalid"], figures["dnc_blocked"], figures["blank_rows"]) == (3, 1, 1)
    assert "100%" in err.getvalue()
    assert batch.default_grade == LeadGrade.B


def test_the_cli_refuses_bad_input_with_a_message(tmp_path, channel):
    path = write(tmp_path, "empty.csv", b"")
    with pytest.raises(CommandError, match="empty"):
        call_command("leads_import", str(path), "--channel", "web", "--batch", "e")
    with pytest.raises(CommandError, match="Unknown channel"):
        call_command("leads_import", str(path), "--channel", "nope", "--batch", "e")
    assert_nothing_imported()


def test_the_cli_maps_columns_and_resumes(tmp_path, channel):
    path = write(tmp_path, "m.csv", csv_bytes([["客户", "联络号"], ["甲", national(1)]]))
    with pytest.raises(CommandError, match="--resume"):
        call_command("leads_import", str(path), "--channel", "web", "--batch", "m")
    batch = LeadBatch.objects.get(name="m")
    out = io.StringIO()
    call_command(
        "leads_import", "--resume", str(batch.pk), "--map", "联络号=mobile", "--json", stdout=out
    )
    assert json.loads(out.getvalue().strip().splitlines()[-1])["imported"] == 1


def test_the_cli_exits_non_zero_on_bad_input(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "-m", "config.cli", "leads-import", str(tmp_path / "missing.csv"),
         "--channel", "web", "--batch", "x"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode != 0
    assert "missing.csv" in result.stderr
    assert "Traceback" not in result.stderr


# --- A messy real-world file this project has never seen -------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
LANDLINE_AREAS = ["10", "21", "755", "571", "28"]


def _spellings(national_number: str, rnd: random.Random, *, numeric: bool) -> object:
    """One of the many ways people and spreadsheet programs write a Chinese number."""
    n = national_number
    options: list[object] = [
        n,
        f"{n[:3]} {n[3:7]} {n[7:]}",
        f"{n[:3]}-{n[3:7]}-{n[7:]}",
        f"+86 {n}",
        f"+86-{n[:3]}-{n[3:7]}-{n[7:]}",
        f"0086{n}",
        f"86{n}",
        f"(+86) {n}",
        n.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"}),  # full-width digits
        f" {n} ",
    ]
    if numeric:
        options += [int(n), float(n)]
    return rnd.choice(options)


def _reference_e164(value: object) -> str | None:
    """The reference validator: phonenumbers, row by row, after plain clean-up written here
    (not the project's normaliser): a mobile or a landline of mainland China, else None."""
    if value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = str(int(value))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    compact = "".join(ch for ch in text if ch not in " -()")
    if compact.startswith("86") and len(compact) == 13:
        compact = "+" + compact
    if not compact:
        return None
    try:
        number = phonenumbers.parse(compact, "CN")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) or number.country_code != 86:
        return None
    kind = phonenumbers.number_type(number)
    allowed = (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )
    if kind not in allowed:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _messy_rows(rnd: random.Random, *, numeric: bool) -> tuple[list[list[object]], list[str]]:
    """Rows (header first) and the E.164 numbers that are already customers or on the DNC
    list (the test registers them)."""
    header = ["序号", "*客户姓名", "联系电话", "性别", "生日", "省份", "备注"]
    rows: list[list[object]] = [header]
    used: list[str] = []
    for index in range(1, 1501):
        roll = rnd.random()
        if roll < 0.06:
            rows.append([None if numeric else ""] * len(header))  # blank row
            continue
        if roll < 0.16 and used:
            phone = _spellings(rnd.choice(used), rnd, numeric=numeric)
        elif roll < 0.24:
            phone = rnd.choice(
                ["1380013800", "123456789012", "4008208820", "95588", "12312345678", "无",
                 "N/A", "", "138001380001", "2345678"]
            )  # fmt: skip
        elif roll < 0.28:
            area = rnd.choice(LANDLINE_AREAS)
            subscriber = str(rnd.randint(2, 8)) + "".join(str(rnd.randint(0, 9)) for _ in range(7))
            phone = rnd.choice([f"0{area}-{subscriber}", f"(0{area}) {subscriber}"])
        else:
            prefix = rnd.choice(["138", "139", "150", "186", "177", "199", "135"])
            nat = prefix + f"{rnd.randrange(10**8):08d}"
            used.append(nat)
            phone = _spellings(nat, rnd, numeric=numeric)
        name = rnd.choice(SURNAMES) + rnd.choice(["伟", "芳", "娜", "强", "静", "磊"])
        if rnd.random() < 0.03:
            name = rnd.choice(["=1+1", "@cmd", "+x"])
        rows.append(
            [
                index,
                name,
                phone,
                rnd.choice(["男", "女", "", "M"]),
                rnd.choice(["1980-01-02", "1975/6/7", "", "19900101"]),
                rnd.choice(["广东", "江苏", ""]),
                "",
            ]
        )
    return rows, used


@pytest.mark.parametrize("kind", ["gbk-csv", "bom-csv", "xlsx"])
def test_a_messy_real_world_file_imports_with_exact_counts_and_reimports_nothing(
    tmp_path, channel, kind
):
    rnd = random.Random(f"messy-{kind}")
    rows, used = _messy_rows(rnd, numeric=kind == "xlsx")
    valid = sorted({n for n in used if _reference_e164(n)})
    dnc = {"+86" + n for n in rnd.sample(valid, 8)}
    existing = {"+86" + n for n in rnd.sample(valid, 8)} - dnc
    for number in dnc:
        dnc_add(phone=number)
    for number in existing:
        CustomerFactory(mobile_e164=number, mobile_hash=phone_hash(number))

    expected = {"rows": 0, "imported": 0, "duplicate": 0, "invalid": 0, "dnc_blocked": 0}
    seen: set[str] = set()
    for row in rows[1:]:
        if all(cell in (None, "") for cell in row):
            continue
        expected["rows"] += 1
        number = _reference_e164(row[2])
        if number is None:
            expected["invalid"] += 1
        elif number in seen:
            expected["duplicate"] += 1
        else:
            seen.add(number)
            if number in dnc:
                expected["dnc_blocked"] += 1
            elif number in existing:
                expected["duplicate"] += 1
            else:
                expected["imported"] += 1
    assert min(expected.values()) > 0

    if kind == "xlsx":
        path = xlsx_file(tmp_path, rows)
    else:
        text_rows = [["" if c is None else c for c in row] for row in rows]
        encoding = "gbk" if kind == "gbk-csv" else "utf-8"
        path = write(
            tmp_path, "messy.csv", csv_bytes(text_rows, encoding=encoding, bom=kind == "bom-csv")
        )

    batch = run_import(path)
    got = {k: getattr(batch, k) for k in expected}
    assert got == expected
    assert Lead.objects.filter(batch=batch).count() == expected["imported"]
    rejected = BatchRejection.objects.filter(batch=batch).exclude(
        reason__in=[RejectReason.INVALID_ID_NUMBER, RejectReason.INVALID_VALUE]
    )
    assert rejected.count() == expected["rows"] - expected["imported"]

    again = run_import(path, name="again", allow_repeat=True)
    assert again.imported == 0
    assert again.rows == expected["rows"]
    assert Lead.objects.count() == expected["imported"]


def test_a_channel_without_consent_wording_gives_no_consent(tmp_path, demo):
    """Compliance: the channel stands in for consent only when it says what was agreed."""
    from telesales.leads.importing import batch_create, batch_import_run
    from telesales.leads.models import Channel, Lead

    Channel.objects.create(code="silent", name="无授权渠道", consent_wording="")
    Channel.objects.create(code="worded", name="有授权渠道", consent_wording="同意来电")
    for code in ("silent", "worded"):
        path = tmp_path / f"{code}.csv"
        number = "13912340001" if code == "silent" else "13912340002"
        path.write_text(f"姓名,手机\n张三,{number}\n", encoding="utf-8")
        batch = batch_create(file=path, name=f"b-{code}", channel_code=code)
        batch_import_run(batch_id=batch.pk)
    silent = Lead.objects.get(channel__code="silent")
    worded = Lead.objects.get(channel__code="worded")
    assert not silent.has_consent and silent.consent_at is None
    assert worded.has_consent and worded.consent_wording == "同意来电"


# --- Column-wise reading of plain files: the row loop's results, exactly -----------------------

PLAIN_HEADER = [
    "序号", "姓名", "手机号码", "性别", "出生日期", "身份证号", "省份", "城市", "客户等级",
    "授权时间", "授权来源", "备注", "",
]  # fmt: skip


def _plain_rows() -> list[list[str]]:
    """Rows of a plain file (no quotes) that exercise every decision of the reader."""
    long_name = "长" * 60
    id_1970 = valid_id_number("19700101", "011")
    rows = [["2026年11月 赠险名单"], [""], PLAIN_HEADER]
    cells = [
        ["1", " 张三\u3000", national(1), "男", "1985/3/12", "", "广东", "广州", "A", "", "", ""],
        ["2", "李四", "138 0000 0002", "", "", valid_id_number(), "江苏", "南京", "", "", "", ""],
        ["3", "王五", "+86 138-0000-0001", "男", "", "", "", "", "", "", "", ""],  # dup of 1
        ["4", "赵六", "1380000", "女", "", "", "", "", "", "", "", ""],  # too short
        ["5", "钱七", "", "女", "", "", "", "", "", "", "", ""],  # missing
        ["6", "孙八", national(3), "M", "", "", "", "", "", "", "", ""],  # DNC
        ["7", "周九", national(4), "f", "", "", "", "", "", "", "", ""],  # already a customer
        ["8", "吴十", national(9), "", "", "", "", "", "", "", "", ""],  # no-marketing
        ["9", long_name, national(5), "x", "1990-13-01", "123", "", "", "b类", "", "", ""],
        ["10", "郑十一", national(6)],  # too few cells
        ["11", "冯十二", national(7), "F", "19800101", "", "浙江", "杭州", "", "", "", "", ""],
        ["12", "陈十三", national(8), "", "", "", "", "", "", "", "", "", "", "多余"],  # too many
        ["", "", "", "", "", "", "", "", "", "", "", ""],  # blank
        [" ", "\u3000", "", "", "", "", "", "", "", "", "", ""],  # blank too
        ["13", "褚十四", "１３８００００００１０", "女", "2099-01-01", "", "", "", "", "", "", ""],
        ["14", "卫十五", "010-62345678", "", "", "", "", "", "D", "2024-05-06 07:08", "官网", ""],
        ["15", "蒋十六", national(11), "", "", id_1970, "", "", "", "not a time", "", ""],
        ["16", "沈十七", national(12), "", "bad", "12345", "", "", "", "bad", "", ""],
        ["17", "韩十八", "4008208820", "", "", "", "", "", "", "", "", ""],  # invalid
        ["18", "杨十九", " 8613800000013 ", "", "", "   ", "", "", "", "", "", ""],
        ["19", "朱二十", "0086 138 0000 0002", "", "", "", "", "", "", "", "", ""],  # dup of 2
        ["20", "秦二一", national(14), "", "", "", "", "", "C", "", "", "备注", ""],
    ]
    rows += [[*row, ""] if len(row) == 12 else row for row in cells]
    rows += [["", "", national(1 + n), "", "", "", "", "", "", "", "", "", ""] for n in range(3)]
    return rows


def _plain_bytes(rows: list[list[str]], encoding: str, delimiter: str) -> bytes:
    text = "".join(delimiter.join(row) + "\r\n" for row in rows)
    return text.encode(encoding)


def _outcome(batch: LeadBatch) -> dict:
    batch.refresh_from_db()
    summary = {
        k: v
        for k, v in batch.mapping["summary"].items()
        if k not in ("read_seconds", "staging_seconds", "merge_seconds", "merge_steps", "reader")
    }
    customers = list(
        Customer.objects.filter(leads__batch=batch)
        .order_by("leads__id")
        .values_list(
            "name", "mobile_e164", "mobile_hash", "gender", "birth_date", "province", "city",
            "id_number",
        )
    )  # fmt: skip
    leads = [
        (*lead[:-1], "upload time" if lead[-1] == batch.created_at else lead[-1])
        for lead in Lead.objects.filter(batch=batch)
        .order_by("id")
        .values_list("customer__mobile_e164", "grade", "state", "consent_source", "consent_at")
    ]
    rejections = list(
        batch.rejections.order_by("row_number", "reason").values_list(
            "row_number", "reason", "detail", "raw", "phone_hash"
        )
    )
    return {
        "counts": counts(batch),
        "summary": summary,
        "customers": customers,
        "leads": leads,
        "rejections": rejections,
    }


def _recorder(calls: list) -> importing.ProgressCallback:
    return lambda done, total: calls.append((done, total))


def _forget(batch: LeadBatch) -> None:
    customers = list(Customer.objects.filter(leads__batch=batch).values_list("pk", flat=True))
    Lead.objects.filter(batch=batch).delete()
    Customer.objects.filter(pk__in=customers).delete()
    batch.rejections.all().delete()
    Path(settings.MEDIA_ROOT, batch.stored_file).unlink(missing_ok=True)
    batch.delete()


@pytest.mark.parametrize(
    ("encoding", "delimiter"), [("utf-8", ","), ("gb18030", ","), ("utf-16", "\t")]
)
def test_plain_files_read_column_wise_give_exactly_the_row_loops_results(
    tmp_path, channel, monkeypatch, encoding, delimiter
):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 4)  # duplicates across chunks
    dnc_add(phone=national(3), reason="拒绝")
    CustomerFactory(mobile_e164=e164(4), mobile_hash=phone_hash(e164(4)))
    CustomerFactory(mobile_e164=e164(9), mobile_hash=phone_hash(e164(9)), no_marketing=True)
    path = write(tmp_path, "plain.csv", _plain_bytes(_plain_rows(), encoding, delimiter))
    outcomes = {}
    for reader in ("rows", "columns"):
        progress: list[tuple[int, int]] = []
        with monkeypatch.context() as patch:
            if reader == "rows":
                patch.setattr(importing, "_is_plain_text", lambda source: False)
            batch = batch_create(file=path, name=f"plain-{reader}", channel_code="web")
            batch = batch_import_run(batch_id=batch.pk, progress=_recorder(progress))
        assert batch.mapping["summary"]["reader"] == reader
        outcomes[reader] = {**_outcome(batch), "progress": progress}
        _forget(batch)
    assert outcomes["columns"] == outcomes["rows"]
    result = outcomes["columns"]
    assert result["counts"] == (23, 10, 6, 5, 2)
    assert result["summary"]["blank_rows"] == 2
    assert result["summary"]["rows_above_header"] == 1
    warnings = {r[0]: (r[1], r[2]) for r in result["rejections"] if r[1].startswith("invalid_")}
    assert warnings[12] == (RejectReason.INVALID_ID_NUMBER, "id_number:wrong_length; birth_date")
    assert warnings[20] == (RejectReason.INVALID_VALUE, "consent_at")
    assert warnings[21][1].endswith("; birth_date; consent_at")
    # Rows with a valid number keep its hash (who downloaded a report holding a number is
    # found by it); rows without one have none.
    hashes = {r[0]: r[4] for r in result["rejections"]}
    assert hashes[6] == hashes[26] == phone_hash(e164(1))  # duplicates in the file
    assert hashes[9] == hashes[28] == phone_hash(e164(3))  # DNC, then its duplicate
    assert hashes[10] == phone_hash(e164(4))  # already a customer
    assert hashes[11] == phone_hash(e164(9))  # a no-marketing customer
    assert hashes[12] == phone_hash(e164(5))  # imported with a warning
    assert hashes[7] == hashes[8] == hashes[13] == hashes[22] == ""  # no valid number
    assert [done for done, _total in result["progress"]] == [4, 8, 12, 16, 20, 24, 25]


@pytest.mark.parametrize(
    "content",
    [
        b'\xe5\xa7\x93\xe5\x90\x8d,\xe6\x89\x8b\xe6\x9c\xba\r\n"a,b",13800000001\r\n',  # quotes
        "姓名,手机\r甲,13800000001\r".encode(),  # old Mac line ends
        "姓名,手机\n甲\x1f,13800000001\n".encode(),  # the raw separator
        "姓名,手机\n甲,13800000001\n".encode("gb18030") + b"\xff\xfe,13800000002\n",  # bad bytes
    ],
)
def test_files_that_are_not_plain_take_the_row_loop(tmp_path, channel, content):
    batch = run_import(write(tmp_path, "x.csv", content))
    assert batch.mapping["summary"]["reader"] == "rows"
    assert batch.imported >= 1


def test_a_plain_file_takes_the_column_reader(tmp_path, channel):
    batch = run_import(write(tmp_path, "p.csv", csv_bytes([["姓名", "手机"], ["甲", national(1)]])))
    assert batch.mapping["summary"]["reader"] == "columns"
    assert counts(batch) == (1, 1, 0, 0, 0)


def test_python_whitespace_is_what_the_column_reader_strips():
    everything = map(chr, range(sys.maxunicode + 1))
    assert "".join(c for c in everything if c.isspace()) == importing._PY_WHITESPACE


def test_bulk_phone_hashes_equal_one_by_one():
    from telesales.core.phone_numbers import phone_hashes

    numbers = [e164(n) for n in range(500)] + ["+85291234567", "+12025550123"]
    assert phone_hashes(numbers) == [phone_hash(n) for n in numbers]
    assert phone_hashes(numbers, checked=True) == [phone_hash(n) for n in numbers]
    assert phone_hashes([]) == []
    with pytest.raises(ValueError, match=r"E\.164"):
        phone_hashes([e164(1), "13800000001"])


def test_bulk_block_verdicts_equal_the_fast_paths():
    from telesales.core import phone_numbers

    blocks = [*range(1_300_000, 2_000_000, 997), 1_380_000, 1_400_000, 1_990_000]
    found = phone_numbers.mobile_blocks(blocks)
    for block in blocks:
        probe = f"{block}0000"
        mobile = phone_numbers._is_mobile_by_metadata(probe) or (
            phone_numbers._classify_cn(probe) == ("mobile", None)
        )
        assert (block in found) == mobile, block
        assert (phone_numbers._fast_mobile(f"{block}1234") is not None) == mobile


def test_the_merge_checks_foreign_keys_itself_only_when_allowed(tmp_path, channel, monkeypatch):
    """PostgreSQL: with the row checks switched off (a superuser here) or on, the same result;
    SQLite checks nothing at the end of the import either way."""
    monkeypatch.setattr(importing, "_UNCHECKED_MERGE", False)
    checked = run_import(write(tmp_path, "a.csv", csv_bytes(gbk_rows(), encoding="gbk")))
    monkeypatch.setattr(importing, "_UNCHECKED_MERGE", True)
    rows = [["姓名", "手机"]] + [["甲", national(n)] for n in range(20, 30)]
    unchecked = run_import(write(tmp_path, "b.csv", csv_bytes(rows)), name="批次二")
    assert counts(checked) == (11, 7, 1, 3, 0)
    assert counts(unchecked) == (10, 10, 0, 0, 0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW session_replication_role")
            assert cursor.fetchone()[0] == "origin"
    assert not Lead.objects.exclude(customer__in=Customer.objects.all()).exists()


@pytest.mark.parametrize("plain", [True, False])
def test_a_number_put_on_the_dnc_list_while_the_file_is_read_is_blocked_with_its_row(
    tmp_path, channel, monkeypatch, plain
):
    monkeypatch.setattr(importing, "CHUNK_ROWS", 2)
    rows = [["姓名", "手机"]] + [[f"客户{n}", national(n)] for n in range(1, 7)]
    if not plain:
        rows[1][0] = "甲,乙"  # a quoted cell: the row loop
    batch = batch_create(
        file=write(tmp_path, "d.csv", csv_bytes(rows)), name="d", channel_code="web"
    )

    def meanwhile(done: int, total: int) -> None:
        if done == 2:
            dnc_add(phone=national(1), reason="拒绝")

    batch = batch_import_run(batch_id=batch.pk, progress=meanwhile)
    assert batch.mapping["summary"]["reader"] == ("columns" if plain else "rows")
    assert counts(batch) == (6, 5, 0, 0, 1)
    rejection = batch.rejections.get()
    assert (rejection.row_number, rejection.reason) == (2, RejectReason.DNC)
    assert rejection.raw == [rows[1][0], national(1)]
    assert not Customer.objects.filter(mobile_e164=e164(1)).exists()


def test_a_repeated_plain_file_reports_every_row_as_read(tmp_path, channel):
    rows = [["姓名", "手机", "城市"]] + [[f"客户{n}", national(n), "北京"] for n in range(1, 5)]
    path = write(tmp_path, "r.csv", csv_bytes(rows))
    run_import(path)
    again = run_import(path, name="再来", allow_repeat=True)
    assert again.mapping["summary"]["reader"] == "columns"
    assert counts(again) == (4, 0, 4, 0, 0)
    assert [r.raw for r in again.rejections.order_by("row_number")] == rows[1:]


DATA = Path(__file__).parent / "data"


def test_an_old_excel_97_2003_workbook_is_imported(tmp_path, channel):
    """``data/leads_excel97.xls`` (written with xlwt 1.3 for this test): a Chinese header, a
    number typed as text and one typed as a number, a date cell, a short number and a repeat."""
    path = write(tmp_path, "客户.xls", (DATA / "leads_excel97.xls").read_bytes())
    batch = run_import(path)
    assert batch.mapping["format"] == "xls" and batch.mapping["sheet"] == "客户名单"
    assert counts(batch) == (4, 2, 1, 1, 0)
    assert reasons(batch) == {4: RejectReason.INVALID_PHONE, 5: RejectReason.DUPLICATE_IN_FILE}
    births = dict(Customer.objects.values_list("mobile_e164", "birth_date"))
    assert births == {e164(21): dt.date(1985, 4, 3), e164(22): dt.date(1990, 12, 1)}


def test_an_office_file_that_is_no_workbook_is_refused(tmp_path, channel):
    # The OLE2 signature of .doc/.xls with nothing readable behind it.
    path = write(tmp_path, "报告.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))
    with pytest.raises(ImportRefused) as refused:
        batch_create(file=path, name="doc", channel_code="web")
    assert "Save it as .xlsx or .csv" in refused.value.message
    assert_nothing_imported()


def test_full_width_numbers_are_masked_in_the_report_and_the_mapping_sample(tmp_path, channel):
    """QA: numbers typed in full-width (１３８…, ＋８６…) were shown whole on the mapping page
    and in the masked rejection report, and the number-access page then said they had never
    been shown. They are numbers like any other: masked everywhere."""
    from telesales.core.phone_numbers import PHONE_LIKE

    wide = str.maketrans({str(d): chr(0xFF10 + d) for d in range(10)} | {"+": "＋"})
    first = national(1).translate(wide)
    rows = [
        ["姓名", "手机", "备注"],
        ["甲", first, ""],
        ["乙", "＋８６" + first, "回电 " + "13912345678".translate(wide)],
    ]
    batch = run_import(write(tmp_path, "w.csv", csv_bytes(rows)))
    masked = batch_rejection_report(batch=batch, fmt="csv", actor=data_officer())
    text = masked.decode("utf-8-sig")
    assert first not in text and "13912345678".translate(wide) not in text
    assert PHONE_LIKE.search(text) is None, PHONE_LIKE.search(text)
    assert "139****5678" in text


def test_the_batch_page_tells_warnings_from_rows_not_imported(tmp_path, channel):
    """QA: the batch page listed an imported row with a bad birth date under "Rejected rows",
    next to rows that were not imported, and the chips added them up as rejections."""
    from django.test import Client
    from django.urls import reverse

    rows = [
        ["姓名", "手机", "出生日期"],
        ["甲", national(1), "2099-01-01"],  # imported, the birth date left out
        ["乙", "12345", ""],  # not imported
    ]
    batch = run_import(write(tmp_path, "w.csv", csv_bytes(rows)))
    assert counts(batch) == (2, 1, 0, 1, 0)
    client = Client(HTTP_HOST="localhost")
    client.force_login(data_officer())

    html = client.get(reverse("leads:batch_detail", args=[batch.pk])).content.decode()

    outcomes = re.findall(r'data-testid="row-outcome">([^<]+)<', html)
    assert outcomes == ["已导入（该字段未保存）", "未导入"]
    chips = re.findall(r'data-testid="reason-chip">([^<]+)<', html)
    assert any("已导入" in chip for chip in chips) and any("已导入" not in c for c in chips)


@pytest.mark.parametrize("kind", ["csv", "xlsx"])  # read by columns (polars) / row by row
def test_a_second_number_in_a_cell_is_a_warning_not_dropped_silently(tmp_path, channel, kind):
    """QA: "13800138022/13800139022" imported the first number and said nothing of the
    second. The row is imported with the first, and a warning says the others were not."""
    rows = [["姓名", "手机"], ["甲", f"{national(22)}/{national(23)}"], ["乙", national(24)]]
    path = (
        write(tmp_path, "two.csv", csv_bytes(rows))
        if kind == "csv"
        else xlsx_file(tmp_path, rows, name="two.xlsx")
    )
    batch = run_import(path)
    assert counts(batch)[:2] == (2, 2)  # both rows imported
    assert Customer.objects.filter(mobile_e164=e164(22)).exists()
    assert not Customer.objects.filter(mobile_e164=e164(23)).exists()
    (warning,) = batch.rejections.all()
    assert (warning.row_number, warning.reason, warning.detail) == (
        2,
        "invalid_value",
        "mobile:other",
    )
    with translation.override("zh-hans"):
        text = importing.rejection_detail_text(warning.reason, warning.detail)
    assert text.startswith("手机") and "第一个" in text
