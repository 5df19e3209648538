"""The demo center's pay: the shipped basic law in force from three months back, the
attendance of everyone paid, the three past months computed and approved, and the current
month computed and left open (HR can recompute, adjust and approve it). Idempotent.

The demo's products keep their commission basis: those on the standardised premium (标保)
are valued with the shipped rule set's standardisation factors (``standard_premium``).
"""

from __future__ import annotations

import datetime as dt
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from telesales.compensation.assessing import assessment_run
from telesales.compensation.engine import Period
from telesales.compensation.models import Attendance, PayRun, RuleSet
from telesales.compensation.payinputs import pay_inputs
from telesales.compensation.payrun import (
    attendance_record,
    payrun_approve,
    payrun_compute,
    payrun_period,
)
from telesales.compensation.rulesets import (
    DEFAULT_RULESET_PATH,
    ruleset_approve,
    ruleset_import,
    ruleset_import_default,
)
from telesales.compensation.selectors import ruleset_in_force
from telesales.core.roles import Role
from telesales.org.models import Person

PAST_MONTHS = 3
ABSENCES = (0, 0, 0, 0, 0, 1, 1, 2, 3)


def _month_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def _user(role: Role):
    users = get_user_model().objects.filter(groups__name=role.value, is_active=True)
    return users.order_by("id").first()


def _weekdays(period: Period) -> int:
    days = (period.end - period.start).days + 1
    return sum((period.start + dt.timedelta(days=i)).weekday() < 5 for i in range(days))


def _attendance(period: Period, rng: random.Random, hr) -> int:
    """Record the attendance of everyone the period pays who has none yet."""
    required = _weekdays(period)
    have = set(
        Attendance.objects.filter(period_start=period.start).values_list("person_id", flat=True)
    )
    people = [p for p in pay_inputs(period).people if p.in_service and p.id not in have]
    by_id = Person.objects.in_bulk([p.id for p in people])
    for person in people:
        employed = by_id[person.id]
        # Someone hired (or leaving) inside the month attends the weekdays they were employed.
        first = max(employed.hire_date, period.start)
        last = min(employed.left_on or period.end, period.end)
        weekdays = sum(
            (first + dt.timedelta(days=i)).weekday() < 5 for i in range((last - first).days + 1)
        )
        attendance_record(
            person=employed,
            period_start=period.start,
            days_attended=max(min(required - rng.choice(ABSENCES), weekdays), 0),
            days_required=required,
            actor=hr,
        )
    return len(people)


def seed_payrun_demo(*, agents: int = 66, seed: int = 20261101, stdout=None) -> dict:
    """Pay the demo center's past months (approved) and the current one (open); leave a
    draft rule set for the what-if and last month's assessment for HR to decide."""
    if PayRun.objects.exists():
        if stdout:
            stdout.write("  the pay runs exist already; nothing to do")
        return {"created": False}
    hr, manager = _user(Role.HR_ADMIN), _user(Role.MANAGER)
    if hr is None or manager is None:
        if stdout:
            stdout.write("  no HR admin or center manager: the pay-run demo is skipped")
        return {"created": False}
    rng = random.Random(seed + 70)  # noqa: S311  (deterministic demo data)
    current = timezone.localdate().replace(day=1)
    months = [_month_back(current, n) for n in range(PAST_MONTHS, -1, -1)]
    stats = {"created": True, "approved": 0, "open": 0, "attendance": 0}
    with transaction.atomic():
        if ruleset_in_force(on=months[0]) is None and not RuleSet.objects.exists():
            draft = ruleset_import_default(actor=hr, effective_from=months[0])
            ruleset_approve(ruleset=draft, actor=hr, reason="演示数据")
        for month in months:
            _ruleset, _book, period = payrun_period(period_start=month)
            stats["attendance"] += _attendance(period, rng, hr)
            run = payrun_compute(period_start=period.start, actor=hr, reason="演示数据")
            if month < current:
                # Demo data: a negative total (none expected) would not stop the demo.
                payrun_approve(run=run, actor=hr, reason="演示数据", negatives_acknowledged=True)
                stats["approved"] += 1
            else:
                stats["open"] += 1
        stats["draft"] = _draft_ruleset(hr, start=_month_back(current, -1))
        # Last month's assessment, computed and waiting for HR's decisions (not approved: it
        # would move levels under the pay runs above).
        last = _month_back(current, 1)
        run = assessment_run(label=f"{last:%Y-%m}", actor=hr, reason="演示数据")
        stats["assessed"] = run.outcomes.count()
    if stdout:
        stdout.write(
            f"  pay runs: {stats['approved']} approved, {stats['open']} open; "
            f"{stats['attendance']} attendance rows; draft rule set v{stats['draft']}; "
            f"{last:%Y-%m} assessment: {stats['assessed']} outcomes for HR to decide"
        )
    return stats


def _draft_ruleset(hr, *, start: dt.date) -> int:
    """A draft for next month that the what-if page can compare: the shipped basic law with
    the trainee factor raised from 0.8 to 0.9."""
    text = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
    changed = text.replace(
        "name: 默认基本法 / Default basic law",
        'name: "基本法草案：见习系数 0.9 / Draft: trainee factor 0.9"',
        1,
    ).replace("  id: trainee_factor\n  factor: 0.8\n", "  id: trainee_factor\n  factor: 0.9\n", 1)
    assert "  id: trainee_factor\n  factor: 0.9\n" in changed, "the default trainee factor moved"
    draft = ruleset_import(
        actor=hr,
        effective_from=start,
        text=changed,
        filename="basic_law_draft.yaml",
        reason="演示：下月草案，可在测算中对比",
    )
    return draft.version
