"""The reference center and level ladder loaded by ``telesales bootstrap``.

The ladder follows DOMAIN.md §3.3: configurable defaults, not facts. A center edits it on the
Level ladder page; bootstrap only fills an empty ladder.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from telesales.core.audit import audit_record
from telesales.org.choices import AssessmentPeriod, LevelSeries
from telesales.org.models import Center, Level

DEFAULT_CENTER = {"name": "电销中心", "code": "main", "city": ""}

REFERENCE_LADDER = [
    # code, name, series, rank, base salary (CNY/month), assessment period, description
    (
        "T0",
        "见习TSR",
        LevelSeries.SALES,
        0,
        "3000.00",
        AssessmentPeriod.MONTHLY,
        "Probation months 1-3; confirmed on 3-month FYC, cases and the exam.",
    ),
    (
        "S1",
        "正式TSR",
        LevelSeries.SALES,
        1,
        "3500.00",
        AssessmentPeriod.QUARTERLY,
        "Confirmed sales representative.",
    ),
    (
        "S2",
        "高级TSR",
        LevelSeries.SALES,
        2,
        "4200.00",
        AssessmentPeriod.QUARTERLY,
        "Senior sales representative.",
    ),
    (
        "S3",
        "资深TSR",
        LevelSeries.SALES,
        3,
        "5000.00",
        AssessmentPeriod.HALF_YEARLY,
        "Principal sales representative.",
    ),
    (
        "M1",
        "主管",
        LevelSeries.MANAGEMENT,
        1,
        "6000.00",
        AssessmentPeriod.QUARTERLY,
        "Team lead of 8-15 TSRs.",
    ),
    (
        "M2",
        "经理",
        LevelSeries.MANAGEMENT,
        2,
        "8000.00",
        AssessmentPeriod.HALF_YEARLY,
        "Manager of two or more teams.",
    ),
]


@transaction.atomic
def load_reference_data(*, actor=None, stdout=None) -> None:
    """Create the default center and ladder when none exist. Idempotent."""
    if not Center.objects.exists():
        center = Center.objects.create(**DEFAULT_CENTER)
        audit_record(
            actor=actor,
            action="org.center_create",
            instance=center,
            after=DEFAULT_CENTER,
            reason="bootstrap",
        )
        if stdout:
            stdout.write(f"  created center {center.name}")
    if not Level.objects.exists():
        for code, name, series, rank, salary, period, description in REFERENCE_LADDER:
            Level.objects.create(
                code=code,
                name=name,
                series=series,
                rank=rank,
                base_salary=Decimal(salary),
                assessment_period=period,
                description=description,
            )
        audit_record(
            actor=actor,
            action="org.level_ladder_load",
            object_type="org.level",
            object_repr="reference ladder",
            after={"codes": [row[0] for row in REFERENCE_LADDER]},
            reason="bootstrap",
        )
        if stdout:
            stdout.write(f"  loaded the reference level ladder ({len(REFERENCE_LADDER)} levels)")
