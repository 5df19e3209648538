"""The demo center's pay: approved runs for the past months, the current month computed and
open, with the attendance that every paid month needs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from telesales.compensation.choices import PayRunStatus, RuleSetStatus
from telesales.compensation.demo import PAST_MONTHS, seed_payrun_demo
from telesales.compensation.engine import Period
from telesales.compensation.models import AssessmentRun, Attendance, PayLine, PayRun, RuleSet
from telesales.compensation.payrun import days_employed
from telesales.core.setup_steps import demo_steps
from telesales.policies.choices import CommissionBasis
from telesales.policies.models import Policy, Product


def test_the_step_runs_after_the_demos_that_sell(db):
    order = {s.name: s.order for s in demo_steps()}
    assert order["compensation.payruns"] > max(order["operations.demo"], order["policies.demo"])


def test_demo_has_approved_past_runs_and_an_open_current_one(demo):
    from telesales.leads.demo import seed_leads_demo
    from telesales.operations.demo import seed_operations_demo
    from telesales.policies.demo import seed_policies_demo

    seed_leads_demo(agents=12)
    seed_policies_demo()
    seed_operations_demo(agents=12)
    stats = seed_payrun_demo(agents=12)
    assert stats["created"] and stats["approved"] == PAST_MONTHS and stats["open"] == 1
    current = timezone.localdate().replace(day=1)
    # A draft for next month, for the what-if page to compare.
    (draft,) = RuleSet.objects.filter(status=RuleSetStatus.DRAFT)
    assert stats["draft"] == draft.version and draft.effective_from > timezone.localdate()
    assert str(draft.document["trainee_factor"]["factor"]) == "0.9"
    # Last month's assessment, for HR to decide: the trainees (monthly) at least are in it.
    (assessed,) = AssessmentRun.objects.all()
    last = (current - dt.timedelta(days=1)).replace(day=1)
    assert assessed.label == f"{last:%Y-%m}" and assessed.status == "draft"
    assert assessed.outcomes.count() == stats["assessed"] > 0
    assert not assessed.outcomes.exclude(decision="pending").exists()

    runs = list(PayRun.objects.order_by("period_start"))
    assert len(runs) == PAST_MONTHS + 1
    assert [r.status for r in runs] == [PayRunStatus.APPROVED] * PAST_MONTHS + [PayRunStatus.OPEN]
    assert runs[-1].period_start == current and runs[-1].run_count == 1
    assert all(r.period_start < current for r in runs[:-1])
    for run in runs:
        paid = set(
            PayLine.objects.filter(run=run, kind="base_pay").values_list("person", flat=True)
        )
        assert len(paid) >= 12  # the twelve agents at least
        attended = set(
            Attendance.objects.filter(period_start=run.period_start).values_list(
                "person", flat=True
            )
        )
        assert paid <= attended
        assert run.total > 0 and run.line_count == PayLine.objects.filter(run=run).count()
        # Nobody attended more days than they were employed in the month (a hire on the 24th
        # was recorded 21 of 22 days; QA, session 20).
        period = Period(run.label, run.period_start, run.period_end)
        for row in Attendance.objects.filter(period_start=run.period_start).select_related(
            "person"
        ):
            assert row.days_attended <= days_employed(row.person, period), row.person
    # Sales were paid commission in the past months.
    assert PayLine.objects.filter(kind="commission", run__status="approved").exists()
    # The products on the standardised premium (标保) keep their basis and are paid.
    standard = Product.objects.filter(commission_basis=CommissionBasis.STANDARD)
    assert standard.exists()
    standard_policies = {
        f"policy:{pk}"
        for pk in Policy.objects.filter(product__in=standard).values_list("pk", flat=True)
    }
    assert any(
        name in standard_policies and amount > 0
        for line in PayLine.objects.filter(kind="commission")
        for name, amount, _basis in line.source_parts
    )
    # The manager (M2) leads the team leads: her management allowance reads their teams'
    # FYC (QA: the team leads had no leader, so she was paid base pay alone).
    from telesales.org.models import Person

    head = Person.objects.get(user__username="manager")
    assert head.level.code == "M2"
    assert set(Person.objects.filter(user__username__startswith="teamlead")) == set(
        head.direct_reports.all()
    )
    # Her early warning measures her department (QA: a team FYC of ¥0.00 and no members).
    from telesales.compensation.early_warning import early_warning
    from telesales.compensation.rulesets import ruleset_rulebook

    approved = RuleSet.objects.filter(status=RuleSetStatus.APPROVED).order_by("-version")[0]
    [row] = early_warning(
        ruleset_rulebook(approved), day=timezone.localdate(), person_ids={head.pk}
    )
    measured = {c["measure"]: c["value"] for c in row["maintain"]["criteria"]}
    under = Person.objects.filter(team__kind="sales", left_on__isnull=True).count()
    assert measured["dept_headcount"] == str(under) and Decimal(measured["dept_fyc"]) > 0
    # Idempotent.
    assert seed_payrun_demo(agents=12) == {"created": False}
    assert PayRun.objects.count() == PAST_MONTHS + 1
