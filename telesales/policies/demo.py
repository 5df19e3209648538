"""The demo center's product catalogue and the default stabilisation rules.

Products cover every category the extended service suggests (accident, critical illness,
medical, life, pension, education) at different sales-capability grades, plus one product no
longer on sale. Sales are generated later by the workspace's demo (through ``sale_record``).
Idempotent: products that exist (by code) are left alone.

Last of all (``seed_service_history``), the service tasks of the policies the other demos
issued (welcome calls, free-look check-ins, extended-service suggestions) are worked, as a
working center's would have been: only those that fell due in the last ``OPEN_DAYS`` days,
and those not due yet, are still open. Deterministic for a given seed and moment.
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
from telesales.policies.rules import default_ruleset_ensure, ruleset_in_force

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


#: The ages a demo product insures (its description says so).
INSURED_AGES = {"demo-child-accident": (0, 17)}


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
                min_insured_age=INSURED_AGES.get(code, (None, None))[0],
                max_insured_age=INSURED_AGES.get(code, (None, None))[1],
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


#: Service tasks that fell due in the last ``OPEN_DAYS`` days are still open when the demo
#: opens (the agents' work for today); older ones were worked, as a working center's are.
OPEN_DAYS = 2
#: How extended-service suggestions were worked: the outcomes an agent records
#: (``services.OUTCOMES_BY_KIND``), by weight; a suggestion that became a sale is converted by
#: the sale itself, not here.
HISTORY_OUTCOMES = (
    (TaskOutcome.NOT_INTERESTED, 5),
    (TaskOutcome.NOT_REACHED, 3),
    (TaskOutcome.INTERESTED, 2),
)
#: How welcome calls and free-look check-ins went, by weight (a concern carries a note).
STABILISATION_OUTCOMES = (
    (TaskOutcome.REACHED, 16),
    (TaskOutcome.NOT_REACHED, 3),
    (TaskOutcome.CONCERN, 1),
)
CONCERN_NOTE = "客户对缴费方式有疑问，已解释"
#: Suggestions were worked within this many hours of falling due, welcome calls and check-ins
#: within ``STABILISATION_DELAY_HOURS``.
HISTORY_DELAY_HOURS = 96
STABILISATION_DELAY_HOURS = 8


def service_tasks_work(*, seed: int = 20261101, now: dt.datetime | None = None) -> dict:
    """Work the service tasks still open that fell due more than ``OPEN_DAYS`` before ``now``:
    done by their agent some minutes to ``HISTORY_DELAY_HOURS`` (a suggestion) or
    ``STABILISATION_DELAY_HOURS`` (a welcome call, a check-in) after falling due, never later
    than the ``OPEN_DAYS`` cut, with an outcome drawn from ``HISTORY_OUTCOMES`` or
    ``STABILISATION_OUTCOMES``. The operations demo runs it before the free-look windows close
    (so that its policies' welcome calls were made, not dropped), and ``seed_service_history``
    at the end for the rest. Returns how many of each kind it worked."""
    now = now or timezone.now()
    cut = now - dt.timedelta(days=OPEN_DAYS)
    rng = random.Random(seed + 90)  # noqa: S311  (deterministic demo data)
    tasks = list(
        ServiceTask.objects.filter(status=TaskStatus.OPEN, due_at__lt=cut)
        .select_related("agent")
        .order_by("pk")
    )
    tasks = sorted(tasks + _checkins_planned_before(cut), key=lambda t: t.pk)
    worked = dict.fromkeys(TaskKind.values, 0)
    for task in tasks:
        extended = task.kind == TaskKind.EXTENDED_SERVICE
        table = HISTORY_OUTCOMES if extended else STABILISATION_OUTCOMES
        hours = HISTORY_DELAY_HOURS if extended else STABILISATION_DELAY_HOURS
        task.outcome = rng.choices([o for o, _w in table], [w for _o, w in table])[0]
        task.note = CONCERN_NOTE if task.outcome == TaskOutcome.CONCERN else ""
        task.status = TaskStatus.DONE
        delay = dt.timedelta(minutes=rng.randint(10, hours * 60))
        task.done_at = min(task.due_at + delay, cut)
        task.done_by_id = task.agent.user_id
        task.updated_at = now
        worked[task.kind] += 1
    ServiceTask.objects.bulk_update(
        tasks,
        ["due_at", "outcome", "note", "status", "done_at", "done_by", "updated_at"],
        batch_size=500,
    )
    return worked


def _checkins_planned_before(cut: dt.datetime) -> list[ServiceTask]:
    """Open free-look check-ins planned (three days before the window's end, by the rule set)
    before ``cut`` but due later: the demos confirm past receipts today, and a receipt
    confirmed after the planned day moves the check-in to the moment of the confirmation.
    Their ``due_at`` is put back to the planned moment."""
    from telesales.policies.services import _checkin_due

    rules: dict[dt.date, object] = {}
    found = []
    for task in (
        ServiceTask.objects.filter(
            kind=TaskKind.FREE_LOOK_CHECKIN,
            status=TaskStatus.OPEN,
            due_at__gte=cut,
            policy__free_look_end__isnull=False,
        )
        .select_related("agent", "policy__product")
        .order_by("pk")
    ):
        issued = task.policy.issue_date
        if issued not in rules:
            rules[issued] = ruleset_in_force(on=issued)
        planned, _end = _checkin_due(policy=task.policy, rules=rules[issued])
        if planned < cut:
            task.due_at = planned
            found.append(task)
    return found


@transaction.atomic
def seed_service_history(*, agents: int = 0, seed: int = 20261101, stdout=None) -> dict:
    """Last of the demo: work the service tasks every other demo left open that fell due more
    than ``OPEN_DAYS`` ago (``service_tasks_work``), so that each agent opens the workspace to
    the last days' tasks only, not to weeks of backlog. Idempotent: nothing old is open the
    second time."""
    worked = service_tasks_work(seed=seed)
    total = sum(worked.values())
    if total:
        audit_record(
            actor="cli",
            action="policies.demo_service_history",
            object_type="policies.servicetask",
            after={"worked": total, **worked},
        )
    if stdout:
        stdout.write(
            f"  service tasks worked before the last {OPEN_DAYS} days: {total} "
            f"({worked[TaskKind.EXTENDED_SERVICE]} extended-service suggestions)"
        )
    return {"worked": total}
