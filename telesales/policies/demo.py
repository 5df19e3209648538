"""The demo center's product catalogue and the default stabilisation rules.

Products cover every category the extended service suggests (accident, critical illness,
medical, life, pension, education) at different sales-capability grades, plus one product no
longer on sale. Sales are generated later by the workspace's demo (through ``sale_record``).
Idempotent: products that exist (by code) are left alone.

Last of all (``seed_service_history``), the extended-service suggestions of the policies the
other demos issued months and years back are worked, as a working center's would have been:
only those of the last four weeks are still open.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from telesales.core.audit import audit_record
from telesales.policies.choices import (
    CommissionBasis,
    PaymentMode,
    ProductCategory,
    TaskKind,
    TaskOutcome,
    TaskStatus,
)
from telesales.policies.models import Product, ServiceTask
from telesales.policies.rules import default_ruleset_ensure

INSURER = "示范人寿保险股份有限公司"
M = PaymentMode
# code, name, category, grade, free-look days, basis, FYC rate, modes, terms, min, max, text
PRODUCTS = [
    (
        "demo-accident",
        "综合意外险",
        ProductCategory.ACCIDENT,
        1,
        15,
        CommissionBasis.FYP,
        "0.3000",
        [M.ANNUAL, M.MONTHLY],
        [1],
        "100",
        "3000",
        "意外身故、伤残、意外医疗，一年期，可按月缴费。",
    ),
    (
        "demo-child-accident",
        "少儿意外险",
        ProductCategory.ACCIDENT,
        1,
        15,
        CommissionBasis.FYP,
        "0.3000",
        [M.ANNUAL],
        [1],
        "50",
        "1000",
        "0–17 周岁少儿意外伤害及意外医疗保障。",
    ),
    (
        "demo-critical-illness",
        "重大疾病保险",
        ProductCategory.CRITICAL_ILLNESS,
        2,
        15,
        CommissionBasis.STANDARD,
        "0.3500",
        [M.ANNUAL, M.SEMI_ANNUAL, M.MONTHLY],
        [10, 20, 30],
        "1000",
        "50000",
        "保障 110 种重大疾病，确诊即赔。",
    ),
    (
        "demo-medical",
        "百万医疗险",
        ProductCategory.MEDICAL,
        1,
        15,
        CommissionBasis.FYP,
        "0.2000",
        [M.ANNUAL, M.MONTHLY],
        [1],
        "200",
        "5000",
        "一般医疗与重疾医疗，年度保额 300 万元。",
    ),
    (
        "demo-term-life",
        "定期寿险",
        ProductCategory.LIFE,
        2,
        15,
        CommissionBasis.FYP,
        "0.3000",
        [M.ANNUAL],
        [10, 20, 30],
        "500",
        "30000",
        "身故或全残给付保险金，保障家庭责任期。",
    ),
    (
        "demo-pension",
        "养老年金",
        ProductCategory.PENSION,
        3,
        20,
        CommissionBasis.STANDARD,
        "0.2500",
        [M.SINGLE, M.ANNUAL],
        [5, 10, 20],
        "3000",
        "500000",
        "60 周岁起按年领取养老金，保证领取 20 年。",
    ),
    (
        "demo-education",
        "少儿教育金",
        ProductCategory.EDUCATION,
        2,
        15,
        CommissionBasis.STANDARD,
        "0.2500",
        [M.ANNUAL],
        [5, 10, 15],
        "2000",
        "100000",
        "高中、大学阶段按年给付教育金。",
    ),
    (
        "demo-senior-cancer",
        "老年防癌险（停售）",
        ProductCategory.CRITICAL_ILLNESS,
        2,
        15,
        CommissionBasis.FYP,
        "0.2500",
        [M.ANNUAL],
        [10],
        "800",
        "8000",
        "已停售，仅供查看历史保单。",
    ),
]


@transaction.atomic
def seed_policies_demo(*, agents: int = 0, seed: int = 0, stdout=None) -> dict:
    """Create the demo catalogue (products missing by code) and the default rule set."""
    default_ruleset_ensure()
    existing = set(Product.objects.values_list("code", flat=True))
    created = []
    for (
        code,
        name,
        category,
        grade,
        free_look,
        basis,
        rate,
        modes,
        terms,
        low,
        high,
        text,
    ) in PRODUCTS:
        if code in existing:
            continue
        created.append(
            Product(
                code=code,
                name=name,
                insurer=INSURER,
                category=category,
                grade=grade,
                free_look_days=free_look,
                commission_basis=basis,
                first_year_commission_rate=Decimal(rate),
                allowed_modes=[str(m) for m in modes],
                allowed_terms=terms,
                min_premium=Decimal(low),
                max_premium=Decimal(high),
                description=text,
                is_active=not code.endswith("senior-cancer"),
            )
        )
    Product.objects.bulk_create(created)
    if created:
        audit_record(
            actor="cli",
            action="policies.demo_seed",
            object_type="policies.product",
            after={"products": len(created)},
        )
    if stdout:
        stdout.write(f"  products: {len(created)} created")
    return {"products": len(created)}


#: Extended-service suggestions that fell due longer ago than this (the span of the demo's
#: call history) have been worked by the time the demo opens.
HISTORY_DAYS = 28
#: How they were worked: the outcomes an agent records (``services.OUTCOMES_BY_KIND``), by
#: weight; a suggestion that became a sale is converted by the sale itself, not here.
HISTORY_OUTCOMES = (
    (TaskOutcome.NOT_INTERESTED, 5),
    (TaskOutcome.NOT_REACHED, 3),
    (TaskOutcome.INTERESTED, 2),
)
#: Worked within this many hours of falling due.
HISTORY_DELAY_HOURS = 96


@transaction.atomic
def seed_service_history(*, agents: int = 0, seed: int = 20261101, stdout=None) -> dict:
    """Work the extended-service suggestions still open that fell due more than
    ``HISTORY_DAYS`` ago: done by their agent within ``HISTORY_DELAY_HOURS`` of falling due
    (never later than the start of the call history), with an outcome drawn from
    ``HISTORY_OUTCOMES``. Stabilisation tasks are left alone (their windows close them).
    Idempotent: nothing old is open the second time."""
    now = timezone.now()
    start = now - dt.timedelta(days=HISTORY_DAYS)
    rng = random.Random(seed + 90)  # noqa: S311  (deterministic demo data)
    outcomes = [outcome for outcome, _weight in HISTORY_OUTCOMES]
    weights = [weight for _outcome, weight in HISTORY_OUTCOMES]
    tasks = list(
        ServiceTask.objects.filter(
            kind=TaskKind.EXTENDED_SERVICE, status=TaskStatus.OPEN, due_at__lt=start
        )
        .select_related("agent")
        .order_by("pk")
    )
    for task in tasks:
        task.outcome = rng.choices(outcomes, weights)[0]
        task.status = TaskStatus.DONE
        delay = dt.timedelta(minutes=rng.randint(10, HISTORY_DELAY_HOURS * 60))
        task.done_at = min(task.due_at + delay, start)
        task.done_by_id = task.agent.user_id
        task.updated_at = now
    ServiceTask.objects.bulk_update(
        tasks, ["outcome", "status", "done_at", "done_by", "updated_at"], batch_size=500
    )
    if tasks:
        audit_record(
            actor="cli",
            action="policies.demo_service_history",
            object_type="policies.servicetask",
            after={"worked": len(tasks)},
        )
    if stdout:
        stdout.write(f"  extended-service suggestions worked before the call history: {len(tasks)}")
    return {"worked": len(tasks)}
