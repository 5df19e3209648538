"""Attendance for the pay run (attendance.py) over the center of payrun_world.py: the sheet
lists exactly the people the pay run pays, with the period's weekdays suggested; a save of
many rows writes all or nothing and is audited per person; an approved period is locked;
the period follows the rule set's calendar (a work month from the 26th)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from telesales.compensation.attendance import (
    AttendanceEntry,
    AttendanceRowsInvalid,
    attendance_bulk_record,
    attendance_check,
    attendance_month_current,
    attendance_period_get,
    attendance_sheet,
    days_parse,
)
from telesales.compensation.engine import PayInputInvalid
from telesales.compensation.models import Attendance
from telesales.compensation.payrun import payrun_compute
from telesales.compensation.tests.payrun_world import APR, FEB, Center
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.org.choices import PersonStatus
from telesales.policies.tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def _april_entries(c, **overrides):
    days = {c.lee: (21, 22), c.tina: (18, 22), c.sam: (22, 22), c.kai: (22, 22), c.ann: (20, 22)}
    days.update(overrides)
    return [
        AttendanceEntry(person_id=p.pk, days_attended=a, days_required=r)
        for p, (a, r) in days.items()
    ]


def test_sheet_lists_the_people_the_pay_run_pays_with_weekdays_suggested(center):
    c = center
    gone = PersonFactory(
        team=c.team_a,
        level=c.levels["S1"],
        status=PersonStatus.LEFT,
        hire_date=dt.date(2025, 1, 1),
        left_on=dt.date(2026, 3, 31),
    )
    late = PersonFactory(team=c.team_a, level=c.levels["S1"], hire_date=dt.date(2026, 5, 4))
    leaving = PersonFactory(
        team=c.team_b,
        level=c.levels["S1"],
        status=PersonStatus.LEFT,
        hire_date=dt.date(2025, 1, 1),
        left_on=dt.date(2026, 4, 15),
    )
    period = attendance_period_get(month=dt.date(2026, 4, 1))
    assert (period.label, period.start, period.end) == ("2026-04", APR, dt.date(2026, 4, 30))
    assert period.working_days == 22 and period.prorated and not period.locked
    rows = attendance_sheet(user=c.hr, period=period)
    ids = {r.person.pk for r in rows}
    # Everyone employed in April in a sales team; not the back office (Hana), not who left
    # before April or joined after it; who left in the month is paid for its first half.
    assert ids == {p.pk for p in (c.lee, c.tina, c.sam, c.kai, c.ann, leaving)}
    assert gone.pk not in ids and late.pk not in ids
    assert all(r.missing and r.days_required == "22" and r.days_attended == "" for r in rows)
    february = attendance_sheet(user=c.hr, period=attendance_period_get(month=FEB))
    five = {p.pk for p in (c.lee, c.tina, c.sam, c.kai, c.ann)}
    assert {(r.days_attended, r.days_required) for r in february if r.person.pk in five} == {
        ("20", "20")
    }
    # The two added later have no February attendance: missing, weekdays suggested (20).
    assert {(r.days_attended, r.days_required) for r in february if r.person.pk not in five} == {
        ("", "20")
    }


def test_bulk_record_saves_every_row_and_audits_each_change(center):
    c = center
    saved = attendance_bulk_record(period_start=APR, entries=_april_entries(c), actor=c.hr)
    assert (saved.created, saved.updated, saved.unchanged) == (5, 0, 0)
    assert Attendance.objects.get(person=c.tina, period_start=APR).days_attended == 18
    audits = AuditEntry.objects.filter(action="compensation.attendance_record")
    assert audits.filter(after__days_attended=18).count() == 1
    count = audits.count()
    again = attendance_bulk_record(period_start=APR, entries=_april_entries(c, **{}), actor=c.hr)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert audits.count() == count  # nothing changed: nothing written, nothing audited
    changed = attendance_bulk_record(
        period_start=APR,
        entries=[AttendanceEntry(person_id=c.tina.pk, days_attended=19, days_required=22)],
        actor=c.hr,
    )
    assert (changed.created, changed.updated) == (0, 1)
    entry = audits.latest("id")
    assert entry.before == {"days_attended": 18, "days_required": 22}


def test_bulk_record_saves_nothing_when_one_row_is_bad(center):
    c = center
    entries = _april_entries(c)
    entries[1] = AttendanceEntry(person_id=c.tina.pk, days_attended=23, days_required=22)
    with pytest.raises(AttendanceRowsInvalid) as caught:
        attendance_bulk_record(period_start=APR, entries=entries, actor=c.hr)
    assert not Attendance.objects.filter(period_start=APR).exists()
    assert caught.value.fields == {"rows[1].days_attended": ["More than the days required (22)."]}
    assert caught.value.details["rows"][0]["person_id"] == c.tina.pk
    assert caught.value.status == 422


def test_bulk_record_is_refused_for_an_approved_period(march):
    c = march  # February approved
    before = list(Attendance.objects.filter(period_start=FEB).values_list("days_attended"))
    with pytest.raises(InvalidState, match="approved"):
        attendance_bulk_record(
            period_start=FEB,
            entries=[AttendanceEntry(person_id=c.tina.pk, days_attended=10, days_required=20)],
            actor=c.hr,
        )
    assert list(Attendance.objects.filter(period_start=FEB).values_list("days_attended")) == before
    assert attendance_period_get(month=FEB).locked


def test_only_hr_and_the_manager_enter_attendance(center):
    c = center
    with pytest.raises(PermissionDenied):
        attendance_bulk_record(period_start=APR, entries=_april_entries(c), actor=c.tina.user)
    with pytest.raises(PermissionDenied):
        attendance_sheet(user=c.lee.user, period=attendance_period_get(month=APR))
    manager = UserFactory(roles=[Role.MANAGER])
    assert attendance_bulk_record(period_start=APR, entries=_april_entries(c), actor=manager)


def test_check_names_each_kind_of_bad_row(center):
    c = center
    hana = c.hr.person
    period = attendance_period_get(month=APR)
    rows = attendance_check(
        period,
        [
            AttendanceEntry(employee_no="X999", days_attended=1, days_required=22),
            AttendanceEntry(
                employee_no=c.sam.employee_no, name="Bob", days_attended=1, days_required=22
            ),
            AttendanceEntry(employee_no=c.kai.employee_no, days_attended="abc", days_required=22),
            AttendanceEntry(employee_no=c.ann.employee_no, days_attended=1, days_required=0),
            AttendanceEntry(employee_no=c.ann.employee_no, days_attended=1, days_required=40),
            AttendanceEntry(employee_no=hana.employee_no, days_attended=1, days_required=22),
            AttendanceEntry(employee_no="", days_attended=1, days_required=22),
            AttendanceEntry(person_id=10**12, days_attended=1, days_required=22),
            AttendanceEntry(person_id=c.lee.pk, days_attended=None, days_required=22),
        ],
    )
    errors = [r.errors for r in rows]
    assert errors[0] == {"employee_no": ["No one has the employee number X999."]}
    assert errors[1] == {
        "name": [f"The name does not match: employee number {c.sam.employee_no} is sam."]
    }
    assert errors[2] == {"days_attended": ["Give a whole number of days, such as 22."]}
    assert errors[3]["days_required"] == ["At least 1 day."]
    assert errors[4]["days_required"] == ["At most 30: the period 2026-04 has 30 days."]
    # Ann twice: both rows say so.
    assert "ann appears more than once (rows 4, 5)." in errors[3]["employee_no"]
    assert "ann appears more than once (rows 4, 5)." in errors[4]["employee_no"]
    assert "is not paid by the pay run of 2026-04" in errors[5]["employee_no"][0]
    assert errors[6] == {"employee_no": ["Give the employee number."]}
    assert errors[7] == {"person": ["This person is not paid by the pay run of 2026-04."]}
    assert errors[8] == {"days_attended": ["Give the days attended."]}


def test_check_folds_full_width_employee_numbers_and_spaces(center):
    c = center
    wide = c.tina.employee_no.translate({ord(ch): ord(ch) + 0xFEE0 for ch in "0123456789F"})
    rows = attendance_check(
        attendance_period_get(month=APR),
        [
            AttendanceEntry(
                employee_no=f" {wide} ", name=" tina ", days_attended="１８", days_required="22"
            )
        ],
    )
    assert rows[0].errors == {} and rows[0].person == c.tina
    assert (rows[0].days_attended, rows[0].days_required) == (18, 22)


def test_a_blank_row_stays_as_it_is_on_the_page_and_in_a_file_but_not_through_the_api(center):
    """Left blank on the page or in a file (``blank_skips``), a row changes nothing: the person
    without days stays missing, the recorded days stay (the import said "rows left blank stay
    as they are" while refusing a pre-filled template with one cell cleared). Through the API
    every row listed must say its days."""
    c = center
    attendance_bulk_record(
        period_start=APR,
        entries=[AttendanceEntry(person_id=c.tina.pk, days_attended=18, days_required=22)],
        actor=c.hr,
    )
    blank = [
        AttendanceEntry(person_id=c.sam.pk, days_attended="", days_required="22"),
        AttendanceEntry(person_id=c.tina.pk, days_attended="", days_required="22"),
    ]
    saved = attendance_bulk_record(period_start=APR, entries=blank, actor=c.hr, blank_skips=True)
    assert saved.skipped == 2 and not Attendance.objects.filter(person=c.sam, period_start=APR)
    kept = Attendance.objects.get(person=c.tina, period_start=APR)
    assert (kept.days_attended, kept.days_required) == (18, 22)
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(AttendanceRowsInvalid) as caught:
        attendance_bulk_record(period_start=APR, entries=blank, actor=c.hr)
    assert sorted(caught.value.fields) == ["rows[0].days_attended", "rows[1].days_attended"]
    assert "可以修改，不能清空" in caught.value.fields["rows[1].days_attended"][0]


@pytest.mark.parametrize(
    ("raw", "days", "ok"),
    [
        ("22", 22, True),
        ("２２", 22, True),
        (" 22 ", 22, True),
        ("22.0", 22, True),
        (22.0, 22, True),
        (Decimal("21"), 21, True),
        (0, 0, True),
        ("", None, True),
        (None, None, True),
        ("22.5", None, False),
        (22.5, None, False),
        ("-1", None, False),
        (-1, None, False),
        (True, None, False),
        ("1e1", None, False),
        ("二十", None, False),
        (float("nan"), None, False),
    ],
)
def test_days_parse(raw, days, ok):
    value, problem = days_parse(raw)
    assert value == days and (problem is None) == ok


def test_a_period_without_an_approved_rule_set_is_refused(center):
    with pytest.raises(ValidationFailed) as caught:
        attendance_period_get(month=dt.date(2025, 6, 1))
    assert "period" in caught.value.fields


def test_a_work_month_period_runs_from_the_26th(db):
    c = Center(work_month=True)
    period = attendance_period_get(month=dt.date(2026, 3, 1))
    assert (period.start, period.end, period.working_days) == (
        dt.date(2026, 2, 26),
        dt.date(2026, 3, 25),
        20,
    )
    assert attendance_month_current(today=dt.date(2026, 3, 27)) == dt.date(2026, 4, 1)
    assert attendance_month_current(today=dt.date(2026, 3, 25)) == dt.date(2026, 3, 1)
    with pytest.raises(PayInputInvalid) as caught:
        payrun_compute(period_start=period.start, actor=c.hr)
    assert (f"person:{c.tina.pk}", "no attendance for 2026-03") in caught.value.problems
    attendance_bulk_record(
        period_start=period.start,
        entries=[
            AttendanceEntry(
                person_id=p.pk, days_attended=15 if p == c.tina else 20, days_required=20
            )
            for p in (c.lee, c.tina, c.sam, c.kai, c.ann)
        ],
        actor=c.hr,
    )
    run = payrun_compute(period_start=period.start, actor=c.hr)
    base = run.lines.get(person=c.tina, kind="base_pay")
    assert base.amount == Decimal("2250.00")  # 3,000.00 × 15/20


def test_days_attended_cannot_exceed_the_days_employed_in_the_period(center):
    """QA (session 20): someone hired on the 24th was recorded (and paid) 21 of 22 days. A
    person hired on 24 April was employed 7 days of it, one leaving on 15 April 15 days."""
    from telesales.compensation.payrun import attendance_record

    c = center
    hired = PersonFactory(team=c.team_a, level=c.levels["S1"], hire_date=dt.date(2026, 4, 24))
    leaving = PersonFactory(
        team=c.team_b,
        level=c.levels["S1"],
        status=PersonStatus.LEFT,
        hire_date=dt.date(2025, 1, 1),
        left_on=dt.date(2026, 4, 15),
    )
    with pytest.raises(ValidationFailed) as refused:
        attendance_record(
            person=hired, period_start=APR, days_attended=8, days_required=22, actor=c.hr
        )
    assert "2026-04-24" in refused.value.message and "7" in refused.value.message
    assert not Attendance.objects.filter(person=hired).exists()
    attendance_record(person=hired, period_start=APR, days_attended=7, days_required=22, actor=c.hr)
    period = attendance_period_get(month=APR)
    rows = attendance_check(
        period,
        [
            AttendanceEntry(person_id=hired.pk, days_attended=7, days_required=22),
            AttendanceEntry(person_id=leaving.pk, days_attended=16, days_required=22),
        ],
    )
    assert not rows[0].errors
    assert "2026-04-15" in rows[1].errors["days_attended"][0]
    ok = attendance_check(
        period, [AttendanceEntry(person_id=leaving.pk, days_attended=15, days_required=22)]
    )
    assert not ok[0].errors
