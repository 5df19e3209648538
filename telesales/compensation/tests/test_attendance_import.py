"""Attendance from a file (attendance.py): CSV in UTF-8 (with or without a BOM) and GBK, as
Excel saves "CSV" on a Chinese Windows, and XLSX; headers in Chinese or English; people
matched by employee number, the name only checked; every bad row named before anything is
written, and nothing written while one is bad; one audit row for the file; the template
filled in and read back."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from telesales.compensation.attendance import (
    AttendanceRowsInvalid,
    attendance_file_read,
    attendance_import_apply,
    attendance_import_preview,
    attendance_period_get,
    attendance_template_xlsx,
)
from telesales.compensation.models import Attendance
from telesales.compensation.tests.payrun_world import APR, FEB
from telesales.core.errors import InvalidState, ValidationFailed
from telesales.core.models import AuditEntry

pytestmark = pytest.mark.django_db

ZH = ("工号", "姓名", "应出勤天数", "实出勤天数")
EN = ("employee_no", "name", "days_required", "days_attended")


@pytest.fixture
def c(center):
    center.tina.name = "王婷"  # a Chinese name, to go through GBK
    center.tina.save()
    return center


def _rows(c):
    return [
        (c.lee.employee_no, "lee", 22, 21),
        (c.tina.employee_no, "王婷", 22, 18),
        (c.sam.employee_no, "sam", 22, 22),
        (c.kai.employee_no, "kai", 22, 22),
        (c.ann.employee_no, "ann", 22, 20),
    ]


def _csv(header, rows, encoding="utf-8") -> bytes:
    lines = [",".join(header)] + [",".join(str(v) for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def _xlsx(header, rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _saved(period_start=APR) -> dict:
    return {
        a.person_id: (a.days_attended, a.days_required)
        for a in Attendance.objects.filter(period_start=period_start)
    }


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("utf8.csv", lambda rows: _csv(ZH, rows)),
        ("utf8-bom.csv", lambda rows: _csv(ZH, rows, "utf-8-sig")),
        ("gbk.csv", lambda rows: _csv(ZH, rows, "gbk")),
        ("english.csv", lambda rows: _csv(EN, rows)),
        ("attendance.xlsx", lambda rows: _xlsx(ZH, rows)),
    ],
)
def test_a_file_is_previewed_then_applied(c, name, content):
    data = content(_rows(c))
    preview = attendance_import_preview(period_start=APR, content=data, filename=name, actor=c.hr)
    assert (
        preview.bad == 0
        and preview.created == 5
        and not Attendance.objects.filter(period_start=APR)
    )
    result = attendance_import_apply(period_start=APR, content=data, filename=name, actor=c.hr)
    assert result.created == 5
    assert _saved()[c.tina.pk] == (18, 22) and _saved()[c.lee.pk] == (21, 22)
    audit = AuditEntry.objects.get(action="compensation.attendance_import")
    assert audit.after["file"] == name and audit.after["created"] == 5
    assert audit.after["rows"] == 5 and audit.after["period"] == "2026-04"
    assert len(audit.after["sha256"]) == 64
    assert AuditEntry.objects.filter(action="compensation.attendance_record").count() == 5 + 5
    # The same file again changes nothing (the five of February are the fixture's).
    again = attendance_import_apply(period_start=APR, content=data, filename=name, actor=c.hr)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)


def test_headers_with_notes_full_width_numbers_and_a_title_line(c):
    wide = str.maketrans("0123456789F", "０１２３４５６７８９Ｆ")
    text = (
        "四月出勤表,,,,\n"
        "员工编号,姓名（必填）,团队,应出勤,实际出勤天数\n"
        f"{c.tina.employee_no.translate(wide)},王婷,A组,２２,１８\n"
        f"{c.sam.employee_no},sam,A组,22,\n"  # left blank: skipped, stays missing
        ",,,,\n"
    )
    preview = attendance_import_preview(
        period_start=APR, content=text.encode("gbk"), filename="a.csv", actor=c.hr
    )
    assert [(r.where, r.action) for r in preview.rows] == [("3", "new"), ("4", "skip")]
    assert preview.rows[0].person == c.tina


def test_each_kind_of_bad_row_is_named_and_nothing_is_applied(c):
    rows = [
        ("X999", "nobody", 22, 20),  # 2: unknown employee number
        (c.tina.employee_no, "王芳", 22, 18),  # 3: name mismatch
        (c.sam.employee_no, "sam", 22, 23),  # 4: attended > required
        (c.kai.employee_no, "kai", "二十二", 22),  # 5: not a number
        (c.ann.employee_no, "ann", 22, 20),  # 6 and 7: twice
        (c.ann.employee_no, "ann", 22, 21),
        (c.lee.employee_no, "lee", 22, 21.5),  # 8: not whole
        (c.hr.person.employee_no, "Hana", 22, 22),  # 9: not paid by the pay run
    ]
    data = _xlsx(ZH, rows)
    preview = attendance_import_preview(
        period_start=APR, content=data, filename="x.xlsx", actor=c.hr
    )
    problems = {r.where: r.errors for r in preview.rows}
    assert problems["2"] == {"employee_no": ["No one has the employee number X999."]}
    assert problems["3"] == {
        "name": [f"The name does not match: employee number {c.tina.employee_no} is 王婷."]
    }
    assert problems["4"] == {"days_attended": ["More than the days required (22)."]}
    assert problems["5"] == {"days_required": ["Give a whole number of days, such as 22."]}
    assert (
        problems["6"]
        == problems["7"]
        == {"employee_no": ["ann appears more than once (rows 6, 7)."]}
    )
    assert problems["8"] == {"days_attended": ["Give a whole number of days, such as 22."]}
    assert "not paid by the pay run of 2026-04" in problems["9"]["employee_no"][0]
    assert preview.bad == 8
    with pytest.raises(AttendanceRowsInvalid):
        attendance_import_apply(period_start=APR, content=data, filename="x.xlsx", actor=c.hr)
    assert not Attendance.objects.filter(period_start=APR).exists()
    assert not AuditEntry.objects.filter(action="compensation.attendance_import").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "An old Excel (.xls) workbook"),
        (b"PK\x03\x04 not really a zip", "This Excel workbook cannot be read"),
        ("姓名,实出勤天数\nlee,20\n".encode(), "The file has no column"),
        ("工号,姓名,应出勤天数\nF1,lee,20\n".encode(), "“Days attended”"),
        ("工号,姓名,应出勤天数,实出勤天数\n".encode(), "The file has a header but no rows."),
        (b"\x00\x01\x02\xff\xfe\x00binary", "neither UTF-8 nor GBK"),
        (b"a" * (1024 * 1024 + 1), "too large"),
    ],
)
def test_an_unreadable_file_is_refused_with_a_reason(content, message):
    with pytest.raises(ValidationFailed) as caught:
        attendance_file_read(content=content, filename="f")
    assert message in caught.value.fields["file"][0]


def test_an_approved_period_is_refused(march):
    c = march
    data = _csv(ZH, [(c.tina.employee_no, "tina", 20, 10)])
    with pytest.raises(InvalidState):
        attendance_import_apply(period_start=FEB, content=data, filename="f.csv", actor=c.hr)
    assert _saved(FEB)[c.tina.pk] == (20, 20)


def test_the_template_lists_the_people_and_reads_back(c):
    period = attendance_period_get(month=APR)
    export = attendance_template_xlsx(period=period, actor=c.hr)
    assert export.filename == "attendance-2026-04.xlsx" and export.rows == 5
    sheet = load_workbook(io.BytesIO(export.content)).active
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert table[0] == ["Employee no.", "Name", "Team", "Level", "Days required", "Days attended"]
    assert {r[0] for r in table[1:]} == {
        p.employee_no for p in (c.lee, c.tina, c.sam, c.kai, c.ann)
    }
    assert all(r[4] == 22 and r[5] is None for r in table[1:])
    assert AuditEntry.objects.filter(action="compensation.attendance_template").count() == 1
    # HR fills in the days attended and imports the file as it is.
    book = load_workbook(io.BytesIO(export.content))
    for row in book.active.iter_rows(min_row=2):
        row[5].value = 20
    out = io.BytesIO()
    book.save(out)
    result = attendance_import_apply(
        period_start=APR, content=out.getvalue(), filename="filled.xlsx", actor=c.hr
    )
    assert result.created == 5 and set(_saved().values()) == {(20, 22)}


def test_a_file_for_an_approved_month_is_refused_before_any_preview(march):
    """A stale tab posting a file for a locked month got a normal preview with an import
    button, and a 409 only on applying it."""
    c = march
    data = _csv(ZH, [(c.tina.employee_no, "tina", 20, 10)])
    with pytest.raises(InvalidState):
        attendance_import_preview(period_start=FEB, content=data, filename="f.csv", actor=c.hr)
