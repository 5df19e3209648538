"""JSON endpoints of the attendance of a pay period (HR admin and the center manager): the
sheet (everyone the period's pay run pays, with their days or none) and a save of many rows
at once. Same services as the page (``attendance.py``): every row checked first, nothing
saved when one is wrong (422 with each row's problems in ``details.rows``), 409 for a period
whose pay run is approved."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from telesales.compensation import attendance, permissions
from telesales.compensation.attendance import AttendanceEntry, AttendancePeriod
from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.http_api import ERRORS_WRITE, InputSchema

router = Router(tags=["compensation"])

#: The most rows one PUT may carry.
MAX_ROWS = 20_000


class PeriodQuery(InputSchema):
    #: The pay period's label, ``YYYY-MM`` (a work month 2026-03 may start on 2026-02-26).
    period: str = Field(max_length=10)


class AttendanceRowOut(Schema):
    person_id: int
    employee_no: str
    name: str
    team: str | None
    level: str | None
    #: The recorded days, or null when the person's attendance is missing.
    days_required: int | None
    days_attended: int | None
    recorded: bool


class AttendanceSheetOut(Schema):
    period: str
    period_start: dt.date
    period_end: dt.date
    ruleset_version: int
    #: Whether the rule set pays base pay pro rata by attendance.
    prorated: bool
    #: The period's pay run is approved: attendance can no longer change.
    locked: bool
    #: The period's weekdays (Mon–Fri): the suggested days required.
    working_days: int
    people: int
    recorded: int
    missing: int
    rows: list[AttendanceRowOut]


class AttendanceRowIn(InputSchema):
    """One person's days: ``person_id`` or ``employee_no`` (full-width digits are folded);
    ``name``, when given, must be the person's."""

    person_id: int | None = None
    employee_no: str | None = Field(default=None, max_length=40)
    name: str = Field(default="", max_length=100)
    days_attended: int
    days_required: int


class AttendanceSaveOut(Schema):
    period: str
    period_start: dt.date
    created: int
    updated: int
    unchanged: int
    #: People of the period still without attendance after the save.
    missing: int


def _require(user) -> None:
    if not permissions.can_run_pay(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may enter attendance"))


def _period(label: str) -> AttendancePeriod:
    return attendance.attendance_period_get(month=attendance.attendance_month_parse(label))


def _sheet(user, period: AttendancePeriod) -> tuple[list, int]:
    rows = attendance.attendance_sheet(user=user, period=period)
    return rows, sum(1 for r in rows if r.missing)


@router.get(
    "/attendance",
    response={200: AttendanceSheetOut, **ERRORS_WRITE},
    operation_id="compensation_attendance_list",
)
def attendance_list(request, query: Query[PeriodQuery]):
    """Everyone the pay run of ``period`` pays, by team and employee number, with their
    recorded days (null: missing)."""
    _require(request.auth)
    period = _period(query.period)
    rows, missing = _sheet(request.auth, period)
    return {
        "period": period.label,
        "period_start": period.start,
        "period_end": period.end,
        "ruleset_version": period.ruleset.version,
        "prorated": period.prorated,
        "locked": period.locked,
        "working_days": period.working_days,
        "people": len(rows),
        "recorded": len(rows) - missing,
        "missing": missing,
        "rows": [
            {
                "person_id": r.person.pk,
                "employee_no": r.person.employee_no,
                "name": r.person.name,
                "team": r.person.team.name if r.person.team_id else None,
                "level": r.person.level.code if r.person.level_id else None,
                "days_required": r.attendance.days_required if r.attendance else None,
                "days_attended": r.attendance.days_attended if r.attendance else None,
                "recorded": r.attendance is not None,
            }
            for r in rows
        ],
    }


@router.put(
    "/attendance",
    response={200: AttendanceSaveOut, **ERRORS_WRITE},
    operation_id="compensation_attendance_record",
)
def attendance_put(request, query: Query[PeriodQuery], payload: list[AttendanceRowIn]):
    """Record the days of the people listed (the others are left as they are): every row is
    checked first and nothing is saved when one is wrong — 422, with ``details.rows`` listing
    each bad row (``index`` in the list, ``errors`` by field) and ``details.fields`` keyed
    ``rows[i].<field>``. 409 when the period's pay run is approved."""
    _require(request.auth)
    if len(payload) > MAX_ROWS:
        raise ValidationFailed(
            _("At most %(n)d rows at a time.") % {"n": MAX_ROWS},
            fields={"__all__": [_("At most %(n)d rows at a time.") % {"n": MAX_ROWS}]},
        )
    period = _period(query.period)
    saved = attendance.attendance_bulk_record(
        period_start=period.start,
        entries=[
            AttendanceEntry(
                person_id=row.person_id,
                employee_no=row.employee_no or "",
                name=row.name,
                days_attended=row.days_attended,
                days_required=row.days_required,
            )
            for row in payload
        ],
        actor=request.auth,
    )
    _rows, missing = _sheet(request.auth, period)
    return {
        "period": period.label,
        "period_start": period.start,
        "created": saved.created,
        "updated": saved.updated,
        "unchanged": saved.unchanged,
        "missing": missing,
    }
