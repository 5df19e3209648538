"""The reference center and level ladder loaded by ``telesales bootstrap``.

The ladder follows DOMAIN.md §3.3: configurable defaults, not facts. A center edits it on the
Level ladder page; bootstrap only fills an empty ladder. Names and descriptions are in Chinese,
the center's language: they are data the center edits, not interface text.
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
        "见习期 1–3 个月，凭 3 个月 FYC、件数和考试转正。",
    ),
    (
        "S1",
        "正式TSR",
        LevelSeries.SALES,
        1,
        "3500.00",
        AssessmentPeriod.QUARTERLY,
        "转正后的销售代表。",
    ),
    (
        "S2",
        "高级TSR",
        LevelSeries.SALES,
        2,
        "4200.00",
        AssessmentPeriod.QUARTERLY,
        "高级销售代表。",
    ),
    (
        "S3",
        "资深TSR",
        LevelSeries.SALES,
        3,
        "5000.00",
        AssessmentPeriod.HALF_YEARLY,
        "资深销售代表。",
    ),
    (
        "M1",
        "主管",
        LevelSeries.MANAGEMENT,
        1,
        "6000.00",
        AssessmentPeriod.QUARTERLY,
        "带 8–15 名 TSR 的团队主管。",
    ),
    (
        "M2",
        "经理",
        LevelSeries.MANAGEMENT,
        2,
        "8000.00",
        AssessmentPeriod.HALF_YEARLY,
        "管理两个及以上团队的经理。",
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
