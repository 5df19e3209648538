"""Attendance (出勤) for the pay run: the sheet of one pay period, saved all at once, read from
a CSV or XLSX file, and the template file to fill in.

The basic law pays base pay pro rata: the level's amount × days attended ÷ days required
(``base_pay.attendance: pro_rata``); a person the pay run pays without an ``Attendance`` row
for the period stops the run ("no attendance for 2026-03"). HR (人管岗) and the center manager
enter it here.

- **The period** is a pay period of the rule set in force (a calendar month, or a work month
  from the 26th: 2026-03 runs 2026-02-26 … 2026-03-25), named by its label ``YYYY-MM``
  (``attendance_period_get``).
- **The people** are those the pay run of that period pays (``payinputs.pay_population``);
  the days required are suggested as the period's weekdays (Mon–Fri) when none are recorded.
- **Writes** go through ``payrun.attendance_record`` (one audit row per person changed), in
  one transaction for the whole sheet or file: every row is checked first and a single bad
  row saves nothing (``AttendanceRowsInvalid`` carries each row's problems). An approved
  period is locked (``InvalidState``).
- **Files**: CSV (UTF-8 with or without a BOM, or GBK as Excel saves "CSV" on a Chinese
  Windows) or XLSX; columns found by their header in Chinese or English (工号 / Employee no.,
  姓名 / Name, 应出勤天数 / Days required, 实出勤天数 / Days attended); people matched by
  employee number (full-width characters and spaces folded as the organisation stores it),
  the name only checked. ``attendance_import_preview`` checks without writing;
  ``attendance_import_apply`` writes all or nothing and adds one audit row for the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from telesales.compensation import permissions
from telesales.compensation.choices import PayRunStatus
from telesales.compensation.engine import Period, period_for
from telesales.compensation.models import Attendance, PayRun, RuleSet
from telesales.compensation.payinputs import pay_population
from telesales.compensation.payrun import (
    attendance_beyond_employment,
    attendance_record,
    payrun_period,
)
from telesales.compensation.rulesets import ruleset_rulebook
from telesales.compensation.selectors import ruleset_in_force
from telesales.core.audit import audit_record
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.leads.exporting import CONTENT_TYPES, ExportFile, spreadsheet_bytes
from telesales.org.models import Person

#: The largest attendance file read (a sheet of a thousand people is ~40 KB; the preview
#: carries the file to its "apply" form, within a request's limit).
MAX_FILE_BYTES = 1024 * 1024
#: The most data rows a file may have.
MAX_FILE_ROWS = 20_000
#: The rows searched for the header (a title line or two may come first).
HEADER_SEARCH_ROWS = 10

_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")


def _require(actor) -> None:
    if not permissions.can_run_pay(actor):
        raise PermissionDenied(_("Only the HR admin or the center manager may enter attendance"))


# --- The period ---------------------------------------------------------------------------------
def working_days(period: Period) -> int:
    """The weekdays (Monday to Friday) of the period: the suggested days required."""
    days = (period.end - period.start).days + 1
    return sum((period.start + dt.timedelta(days=i)).weekday() < 5 for i in range(days))


@dataclass(frozen=True)
class AttendancePeriod:
    """A pay period as the attendance sheet sees it."""

    period: Period
    ruleset: RuleSet
    #: The period's pay run, when it has been computed.
    run: PayRun | None
    #: Whether the rule set pays base pay pro rata by attendance.
    prorated: bool

    @property
    def label(self) -> str:
        return self.period.label

    @property
    def start(self) -> dt.date:
        return self.period.start

    @property
    def end(self) -> dt.date:
        return self.period.end

    @property
    def locked(self) -> bool:
        return self.run is not None and self.run.status == PayRunStatus.APPROVED

    @property
    def working_days(self) -> int:
        return working_days(self.period)

    @property
    def days(self) -> int:
        """The period's calendar days: no one can be required more."""
        return (self.period.end - self.period.start).days + 1


def attendance_month_parse(text: object) -> dt.date:
    """A period label ``YYYY-MM`` (as the month input and the API give it) → the month's first
    day. ``ValidationFailed`` on ``period``."""
    match = _MONTH.fullmatch(str(text or "").strip())
    month = int(match.group(2)) if match else 0
    if match is None or not 1 <= month <= 12 or not 1900 <= int(match.group(1)) <= 2200:
        raise ValidationFailed(
            _("Give the period as YYYY-MM, such as 2026-03."),
            fields={"period": [_("Give a month as YYYY-MM.")]},
        )
    return dt.date(int(match.group(1)), month, 1)


def _period_start_of_month(month: dt.date) -> dt.date:
    """The first day of the pay period labelled with ``month`` under the rule set in force
    on its first day (a work month 2026-03 starts on 2026-02-26)."""
    first = month.replace(day=1)
    ruleset = ruleset_in_force(on=first)
    if ruleset is None:
        return first  # payrun_period says that no rule set is in force
    return period_for(ruleset_rulebook(ruleset), year=first.year, month=first.month).start


def _attendance_period(period_start: dt.date, *, lock: bool = False) -> AttendancePeriod:
    try:
        ruleset, book, period = payrun_period(period_start=period_start)
    except ValidationFailed as exc:
        raise ValidationFailed(
            exc.message, fields={"period": exc.fields.get("period_start", [])}
        ) from None
    runs = PayRun.objects.filter(period_start=period.start)
    if lock:  # against an approval at the same moment (it locks the run's row too)
        runs = runs.select_for_update()
    base_pay = book.section("base_pay") or {}
    return AttendancePeriod(
        period=period,
        ruleset=ruleset,
        run=runs.first(),
        prorated=base_pay.get("attendance") == "pro_rata",
    )


def attendance_period_get(*, month: dt.date) -> AttendancePeriod:
    """The pay period labelled with ``month`` (any day of it), under the rule set in force.
    ``ValidationFailed`` on ``period`` when no approved rule set covers it."""
    return _attendance_period(_period_start_of_month(month))


def attendance_period_starting(*, start: dt.date) -> AttendancePeriod:
    """The pay period starting on ``start``. ``ValidationFailed`` on ``period`` when no
    period of the rule set in force starts that day."""
    return _attendance_period(start)


def attendance_month_current(*, today: dt.date | None = None) -> dt.date:
    """The label month (its first day) of the pay period that contains ``today`` (the
    center's date): with a work month from the 26th, 29 November is in the period 2026-12."""
    today = today or timezone.localdate()
    ruleset = ruleset_in_force(on=today)
    if ruleset is not None:
        book = ruleset_rulebook(ruleset)
        for index in (today.year * 12 + today.month - 1, today.year * 12 + today.month):
            year, month = divmod(index, 12)
            if today in period_for(book, year=year, month=month + 1):
                return dt.date(year, month + 1, 1)
    return today.replace(day=1)


def month_shift(month: dt.date, months: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


# --- The sheet (a selector: reads, HR and the manager only) --------------------------------------
@dataclass
class SheetRow:
    """One person of the period's pay run with their recorded attendance, if any."""

    person: Person
    attendance: Attendance | None
    #: What the sheet's inputs show: the recorded days, else the period's weekdays and blank.
    days_required: str = ""
    days_attended: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def missing(self) -> bool:
        return self.attendance is None


def attendance_sheet(*, user, period: AttendancePeriod) -> list[SheetRow]:
    """Everyone the pay run of ``period`` pays, by team and employee number, with their
    attendance of the period (None when missing)."""
    _require(user)
    people = (
        pay_population(period.period)
        .select_related("team", "level")
        .order_by("team__name", "employee_no", "id")
    )
    recorded = {a.person_id: a for a in Attendance.objects.filter(period_start=period.start)}
    rows = []
    for person in people:
        row = recorded.get(person.pk)
        rows.append(
            SheetRow(
                person=person,
                attendance=row,
                days_required=str(row.days_required if row else period.working_days),
                days_attended=str(row.days_attended) if row else "",
            )
        )
    return rows


# --- Checking what was entered ------------------------------------------------------------------
@dataclass(frozen=True)
class AttendanceEntry:
    """One row as entered: a person (by id from the sheet or the API, or by employee number
    from a file or the API) and the days, as typed (text) or sent (a number)."""

    days_attended: object = None
    days_required: object = None
    person_id: int | None = None
    employee_no: str = ""
    name: str = ""
    #: The file's row number (an import), for the messages.
    line: int | None = None


#: What a checked row would do.
ERROR, SKIP, NEW, CHANGE, SAME = "error", "skip", "new", "change", "same"


@dataclass
class CheckedRow:
    index: int
    entry: AttendanceEntry
    person: Person | None = None
    days_attended: int | None = None
    days_required: int | None = None
    #: The attendance recorded before: (attended, required).
    before: tuple[int, int] | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    @property
    def action(self) -> str:
        if self.errors:
            return ERROR
        if self.days_attended is None:
            return SKIP
        if self.before is None:
            return NEW
        if self.before == (self.days_attended, self.days_required):
            return SAME
        return CHANGE

    @property
    def where(self) -> str:
        """The row as its reader knows it: the file's row number, else its position."""
        return str(self.entry.line if self.entry.line is not None else self.index + 1)


def employee_no_normalise(value: object) -> str:
    """An employee number as the organisation stores it: full-width letters and digits
    (Ｅ００１２) folded, spaces dropped (``org.services``), a whole number cell without
    ``.0``."""
    text = _cell_text(value)
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _name_key(value: object) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", _cell_text(value))).casefold()


_WHOLE_DAYS = re.compile(r"[0-9]{1,6}(?:\.0*)?")


def _not_days() -> str:
    return _("Give a whole number of days, such as 22.")


def days_parse(raw: object) -> tuple[int | None, str | None]:
    """A number of days as typed or sent → (days, None), (None, None) when blank, or
    (None, why not). Whole numbers only; ``22.0`` (a spreadsheet's number) is 22; full-width
    digits are folded; ``22.5``, ``-1``, ``abc`` are refused."""
    if raw is None:
        return None, None
    if isinstance(raw, bool):
        return None, _not_days()
    if isinstance(raw, int):
        return (raw, None) if raw >= 0 else (None, _not_days())
    if isinstance(raw, float | Decimal):
        if not math.isfinite(raw) or raw != int(raw) or raw < 0:
            return None, _not_days()
        return int(raw), None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if not text:
        return None, None
    if not _WHOLE_DAYS.fullmatch(text):
        return None, _not_days()
    return int(text.split(".", 1)[0]), None


def _check_days(row: CheckedRow, period: AttendancePeriod, *, blank_skips: bool) -> None:
    entry = row.entry
    attended, attended_problem = days_parse(entry.days_attended)
    required, required_problem = days_parse(entry.days_required)
    if attended_problem:
        row.error("days_attended", attended_problem)
    if required_problem:
        row.error("days_required", required_problem)
    if attended_problem or required_problem:
        return
    if attended is None:
        if row.before is not None and not blank_skips:
            row.error(
                "days_attended",
                _(
                    "Attendance is recorded already (%(a)d of %(r)d days): it can be changed, "
                    "not removed."
                )
                % {"a": row.before[0], "r": row.before[1]},
            )
        elif not blank_skips:
            row.error("days_attended", _("Give the days attended."))
        # Left blank on the page or in a file: as it is (the recorded days are kept; without
        # any, the person stays missing). Through the API every row listed must say its days.
        return
    if required is None:
        row.error("days_required", _("Give the days required."))
        return
    if required < 1:
        row.error("days_required", _("At least 1 day."))
    elif required > period.days:
        row.error(
            "days_required",
            _("At most %(n)d: the period %(p)s has %(n)d days.")
            % {"n": period.days, "p": period.label},
        )
    elif attended > required:
        row.error(
            "days_attended",
            _("More than the days required (%(n)d).") % {"n": required},
        )
    elif row.person is not None:
        beyond = attendance_beyond_employment(row.person, period.period, attended)
        if beyond:
            row.error("days_attended", beyond)
    row.days_attended, row.days_required = attended, required


def attendance_check(
    period: AttendancePeriod, entries: Sequence[AttendanceEntry], *, blank_skips: bool = False
) -> list[CheckedRow]:
    """Check every entry against the period's people and the rules; nothing is written. A row
    left without days attended is skipped when ``blank_skips`` (the sheet, a file), else an
    error (the API)."""
    people = {
        p.pk: p
        for p in pay_population(period.period).select_related("team", "level").order_by("id")
    }
    by_code = {p.employee_no.upper(): p for p in people.values() if p.employee_no}
    recorded = {
        person_id: (attended, required)
        for person_id, attended, required in Attendance.objects.filter(
            period_start=period.start
        ).values_list("person_id", "days_attended", "days_required")
    }
    rows = [CheckedRow(index=i, entry=entry) for i, entry in enumerate(entries)]
    unknown: dict[str, list[CheckedRow]] = {}
    for row in rows:
        entry = row.entry
        code = employee_no_normalise(entry.employee_no) if entry.employee_no else ""
        if entry.person_id is not None:
            row.person = people.get(entry.person_id)
            if row.person is None:
                row.error(
                    "person",
                    _("This person is not paid by the pay run of %(p)s.") % {"p": period.label},
                )
            elif code and code.upper() != row.person.employee_no.upper():
                row.error(
                    "employee_no",
                    _("Employee number %(no)s is not this person's (%(own)s).")
                    % {"no": code, "own": row.person.employee_no},
                )
        elif not code:
            row.error("employee_no", _("Give the employee number."))
        else:
            row.person = by_code.get(code.upper())
            if row.person is None:
                unknown.setdefault(code.upper(), []).append(row)
        if row.person is not None:
            row.before = recorded.get(row.person.pk)
            if _name_key(entry.name) and _name_key(entry.name) != _name_key(row.person.name):
                row.error(
                    "name",
                    _("The name does not match: employee number %(no)s is %(name)s.")
                    % {"no": row.person.employee_no, "name": row.person.name},
                )
        _check_days(row, period, blank_skips=blank_skips)
    if unknown:
        # Known people the period does not pay (not employed in it, back office …) are told
        # apart from employee numbers nobody has.
        elsewhere = {
            p.code: p
            for p in Person.objects.annotate(code=Upper("employee_no")).filter(
                code__in=list(unknown)
            )
        }
        for code, bad in unknown.items():
            person = elsewhere.get(code)
            for row in bad:
                if person is None:
                    row.error(
                        "employee_no",
                        _("No one has the employee number %(no)s.")
                        % {"no": employee_no_normalise(row.entry.employee_no)},
                    )
                else:
                    row.error(
                        "employee_no",
                        _(
                            "%(name)s (%(no)s) is not paid by the pay run of %(p)s: not "
                            "employed in the period, or neither in a sales team nor with a "
                            "level."
                        )
                        % {"name": person.name, "no": person.employee_no, "p": period.label},
                    )
    seen: dict[int, list[CheckedRow]] = {}
    for row in rows:
        if row.person is not None:
            seen.setdefault(row.person.pk, []).append(row)
    for twice in (same for same in seen.values() if len(same) > 1):
        where = ", ".join(r.where for r in twice)
        for row in twice:
            row.error(
                "employee_no" if row.entry.employee_no else "person",
                _("%(name)s appears more than once (rows %(rows)s).")
                % {"name": row.person.name, "rows": where},
            )
    return rows


class AttendanceRowsInvalid(ValidationFailed):
    """Some rows have problems; nothing was saved. ``rows`` holds every checked row (the good
    ones too, for a page to show them all); ``fields`` is keyed ``rows[i].<field>`` and
    ``details["rows"]`` lists the bad rows with their errors."""

    def __init__(self, rows: list[CheckedRow]) -> None:
        bad = [r for r in rows if r.errors]
        fields = {
            f"rows[{r.index}].{name}": messages for r in bad for name, messages in r.errors.items()
        }
        super().__init__(
            ngettext(
                "%(n)d row has a problem: nothing was saved.",
                "%(n)d rows have problems: nothing was saved.",
                len(bad),
            )
            % {"n": len(bad)},
            fields=fields,
        )
        self.rows = rows
        self.details["rows"] = [
            {
                "index": r.index,
                "line": r.entry.line,
                "person_id": r.person.pk if r.person else r.entry.person_id,
                "employee_no": r.person.employee_no
                if r.person
                else employee_no_normalise(r.entry.employee_no),
                "errors": r.errors,
            }
            for r in bad
        ]


# --- Writing ------------------------------------------------------------------------------------
@dataclass
class AttendanceSave:
    """What a save did (or, for a preview, would do)."""

    period: AttendancePeriod
    rows: list[CheckedRow]

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def created(self) -> int:
        return self.count(NEW)

    @property
    def updated(self) -> int:
        return self.count(CHANGE)

    @property
    def unchanged(self) -> int:
        return self.count(SAME)

    @property
    def skipped(self) -> int:
        return self.count(SKIP)

    @property
    def bad(self) -> int:
        return self.count(ERROR)

    def counts(self) -> dict[str, int]:
        return {
            "rows": len(self.rows),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": self.bad,
        }


def _period_for_write(period_start: dt.date) -> AttendancePeriod:
    period = _attendance_period(period_start, lock=True)
    if period.start != period_start:  # pragma: no cover - payrun_period checks it
        raise ValidationFailed(_("Not the first day of a pay period"))
    _refuse_locked(period)
    return period


def _refuse_locked(period: AttendancePeriod) -> None:
    if period.locked:
        raise InvalidState(
            _(
                "The pay run for %(p)s is approved: its attendance is locked. Correct a "
                "person's pay with an adjustment in a later period."
            )
            % {"p": period.label}
        )


def _write(period: AttendancePeriod, rows: Iterable[CheckedRow], actor) -> None:
    for row in rows:
        if row.action in (NEW, CHANGE):
            attendance_record(
                person=row.person,
                period_start=period.start,
                days_attended=row.days_attended,
                days_required=row.days_required,
                actor=actor,
            )


@transaction.atomic
def attendance_bulk_record(
    *,
    period_start: dt.date,
    entries: Sequence[AttendanceEntry],
    actor,
    blank_skips: bool = False,
) -> AttendanceSave:
    """Record the attendance of many people of the period starting on ``period_start`` at
    once: all rows or none. Every row is checked first (``attendance_check``);
    ``AttendanceRowsInvalid`` when any has a problem, ``InvalidState`` when the period's pay
    run is approved. Each person whose days change gets ``payrun.attendance_record`` (its own
    audit row); unchanged rows write nothing."""
    _require(actor)
    period = _period_for_write(period_start)
    rows = attendance_check(period, entries, blank_skips=blank_skips)
    if any(r.errors for r in rows):
        raise AttendanceRowsInvalid(rows)
    _write(period, rows, actor)
    return AttendanceSave(period=period, rows=rows)


# --- Files --------------------------------------------------------------------------------------
#: Header (normalised: NFKC, lower case, no notes in brackets, no spaces or punctuation) →
#: column. Chinese and English alike, whatever the reader's language.
HEADERS: dict[str, str] = {
    **dict.fromkeys(
        (
            "工号",
            "员工工号",
            "员工编号",
            "员工号",
            "职工号",
            "人员编号",
            "employeeno",
            "employeenumber",
            "employeeid",
            "empno",
            "staffno",
        ),
        "employee_no",
    ),
    **dict.fromkeys(("姓名", "名字", "员工姓名", "name", "fullname"), "name"),
    **dict.fromkeys(
        (
            "应出勤天数",
            "应出勤",
            "应出勤日数",
            "应到天数",
            "应出勤天",
            "daysrequired",
            "requireddays",
            "workingdays",
        ),
        "days_required",
    ),
    **dict.fromkeys(
        (
            "实出勤天数",
            "实际出勤天数",
            "实出勤",
            "实际出勤",
            "出勤天数",
            "实到天数",
            "实出勤天",
            "daysattended",
            "attendeddays",
        ),
        "days_attended",
    ),
}
_REQUIRED_COLUMNS = ("employee_no", "days_required", "days_attended")
_HEADER_NOTES = re.compile(r"[(\[（【<《][^)\]）】>》]*[)\]）】>》]")
_HEADER_JUNK = re.compile(r"[\W_]+")


def _cell_text(value: object) -> str:
    """A cell as text: whole numbers without ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return str(value)


def header_key(value: object) -> str:
    """``"实出勤天数（天）"`` → ``"实出勤天数"``; ``"Employee no."`` → ``"employeeno"``."""
    text = unicodedata.normalize("NFKC", _cell_text(value)).strip().lower()
    return _HEADER_JUNK.sub("", _HEADER_NOTES.sub("", text))


def column_labels() -> dict[str, str]:
    """The template's header of each column, in the reader's language."""
    return {
        "employee_no": _("Employee no."),
        "name": _("Name"),
        "team": _("Team"),
        "level": _("Level"),
        "days_required": _("Days required"),
        "days_attended": _("Days attended"),
    }


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": [message]})


def _decode(content: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without a BOM), else GBK (read as GB18030, its
    superset) as Excel on a Chinese Windows saves "CSV"."""
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for codec in ("utf-8-sig", "gb18030"):
        try:
            text = content.decode(codec)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise _refuse(
        _("The file is neither UTF-8 nor GBK text: save it as CSV (UTF-8) or as an .xlsx workbook.")
    )


def _csv_rows(content: bytes) -> list[list[object]]:
    text = _decode(content)
    first = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first.count)
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise _refuse(_("The CSV file cannot be read: %(problem)s") % {"problem": exc}) from None


def _xlsx_rows(content: bytes) -> list[list[object]]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl and zipfile raise their own types for damaged files
        raise _refuse(
            _("This Excel workbook cannot be read: %(problem)s") % {"problem": exc}
        ) from None
    try:
        sheets = [s for s in book.worksheets if getattr(s, "sheet_state", "visible") == "visible"]
        if not sheets:
            return []
        rows = []
        for cells in sheets[0].iter_rows(values_only=True):
            rows.append(list(cells))
            if len(rows) > MAX_FILE_ROWS + HEADER_SEARCH_ROWS:
                break
        return rows
    finally:
        book.close()


def attendance_file_read(*, content: bytes, filename: str = "") -> list[AttendanceEntry]:
    """The rows of an attendance file (CSV or XLSX), each with its row number. Refused with
    ``ValidationFailed`` on ``file`` (a reason people can act on): too large, an old ``.xls``,
    not text, no header naming the employee number and both days columns, no data rows."""
    if not content:
        raise _refuse(_("The file is empty."))
    if len(content) > MAX_FILE_BYTES:
        raise _refuse(
            _("The file is too large: at most %(n)d MB.") % {"n": MAX_FILE_BYTES // (1024 * 1024)}
        )
    if content.startswith(b"PK\x03\x04"):
        table = _xlsx_rows(content)
    elif content.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(_("An old Excel (.xls) workbook: save it as .xlsx or as CSV."))
    else:
        table = _csv_rows(content)
    header_at, columns = None, {}
    for number, cells in enumerate(table[:HEADER_SEARCH_ROWS]):
        found: dict[str, int] = {}
        for position, cell in enumerate(cells):
            name = HEADERS.get(header_key(cell))
            if name and name not in found:
                found[name] = position
        if "employee_no" in found:
            header_at, columns = number, found
            break
    labels = column_labels()
    missing = [name for name in _REQUIRED_COLUMNS if name not in columns]
    if header_at is None or missing:
        wanted = missing if header_at is not None else list(_REQUIRED_COLUMNS)
        separator = pgettext("list separator", ", ")
        raise _refuse(
            _("The file has no column %(columns)s. Use the template's headers: %(headers)s.")
            % {
                "columns": separator.join(f"“{labels[n]}”" for n in wanted),
                "headers": separator.join(
                    (
                        "工号 (employee_no)",
                        "姓名 (name)",
                        "应出勤天数 (days_required)",
                        "实出勤天数 (days_attended)",
                    )
                ),
            }
        )
    entries = []
    for number, cells in enumerate(table[header_at + 1 :], start=header_at + 2):

        def cell(name: str, cells=cells) -> object:
            position = columns.get(name)
            if position is None or position >= len(cells):
                return None
            value = cells[position]
            return value.strip() if isinstance(value, str) else value

        values = [cell(name) for name in ("employee_no", "name", "days_required", "days_attended")]
        if all(v is None or v == "" for v in values):
            continue
        entries.append(
            AttendanceEntry(
                employee_no=_cell_text(values[0]),
                name=_cell_text(values[1]),
                days_required=values[2],
                days_attended=values[3],
                line=number,
            )
        )
        if len(entries) > MAX_FILE_ROWS:
            raise _refuse(_("The file has more than %(n)d rows.") % {"n": MAX_FILE_ROWS})
    if not entries:
        raise _refuse(_("The file has a header but no rows."))
    return entries


@dataclass
class AttendanceImport(AttendanceSave):
    filename: str = ""
    sha256: str = ""
    #: The file itself (the preview page carries it to its "apply" form).
    content: bytes = field(default=b"", repr=False)


def attendance_import_preview(
    *, period_start: dt.date, content: bytes, filename: str, actor
) -> AttendanceImport:
    """What importing the file would do, row by row, with each row's problems; nothing is
    written. ``ValidationFailed`` on ``file`` for a file that cannot be read; ``InvalidState``
    for an approved (locked) period."""
    _require(actor)
    period = _attendance_period(period_start)
    _refuse_locked(period)  # no preview of an import that could never be applied
    entries = attendance_file_read(content=content, filename=filename)
    rows = attendance_check(period, entries, blank_skips=True)
    return AttendanceImport(
        period=period,
        rows=rows,
        filename=filename,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )


@transaction.atomic
def attendance_import_apply(
    *, period_start: dt.date, content: bytes, filename: str, actor
) -> AttendanceImport:
    """Import the file: every row checked again (the records may have changed since the
    preview) and written, or none (``AttendanceRowsInvalid``); ``InvalidState`` for an
    approved period. One audit row ``compensation.attendance_import`` names the file (name and
    SHA-256) and the counts, besides each person's ``compensation.attendance_record``."""
    _require(actor)
    period = _period_for_write(period_start)
    entries = attendance_file_read(content=content, filename=filename)
    rows = attendance_check(period, entries, blank_skips=True)
    if any(r.errors for r in rows):
        raise AttendanceRowsInvalid(rows)
    result = AttendanceImport(
        period=period,
        rows=rows,
        filename=filename,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
    )
    _write(period, rows, actor)
    audit_record(
        actor=actor,
        action="compensation.attendance_import",
        object_type="compensation.attendance",
        object_id=period.label,
        object_repr=f"{period.label} {filename}"[:200],
        after={
            "period": period.label,
            "period_start": period.start,
            "file": filename[:200],
            "sha256": result.sha256,
            **result.counts(),
        },
    )
    return result


# --- The template -------------------------------------------------------------------------------
def attendance_template_filename(period: AttendancePeriod) -> str:
    """``出勤-2026-03.xlsx`` in Chinese; send ``attendance_template_fallback`` for clients
    that only read an ASCII name."""
    name = pgettext("attendance file name", "attendance-%(period)s") % {"period": period.label}
    return f"{name}.xlsx"


def attendance_template_fallback(period: AttendancePeriod) -> str:
    return f"attendance-{period.label}.xlsx"


@transaction.atomic
def attendance_template_xlsx(*, period: AttendancePeriod, actor) -> ExportFile:
    """The file to fill in: everyone the period's pay run pays, with the days recorded, or
    the period's weekdays as the days required and the days attended blank. It lists names
    and employee numbers, so it is audited (``compensation.attendance_template``)."""
    rows = attendance_sheet(user=actor, period=period)
    labels = column_labels()
    headers = [
        labels[n]
        for n in ("employee_no", "name", "team", "level", "days_required", "days_attended")
    ]
    content = spreadsheet_bytes(
        fmt="xlsx",
        sheets=[
            (
                period.label,
                headers,
                (
                    (
                        row.person.employee_no,
                        row.person.name,
                        row.person.team.name if row.person.team_id else "",
                        row.person.level.code if row.person.level_id else "",
                        int(row.days_required),
                        int(row.days_attended) if row.days_attended else None,
                    )
                    for row in rows
                ),
            )
        ],
    )
    audit_record(
        actor=actor,
        action="compensation.attendance_template",
        object_type="compensation.attendance",
        object_id=period.label,
        object_repr=period.label,
        after={"period": period.label, "rows": len(rows)},
    )
    return ExportFile(
        filename=attendance_template_filename(period),
        content_type=CONTENT_TYPES["xlsx"],
        content=content,
        rows=len(rows),
    )


def attendance_row_errors(exc: AttendanceRowsInvalid) -> dict[int, dict[str, list[str]]]:
    """The problems of each person of a refused sheet: person id → field → messages."""
    return {r.person.pk: r.errors for r in exc.rows if r.errors and r.person is not None}
