"""The center of the assessment tests: the pay-run center (payrun_world.Center: default rule
set approved from 2026-01-01, Lee and Kai M1 leading A and B, Tina T0, Sam S2, Ann S1, all
hired 2025-03-01, every product paying 30 % first-year commission) plus helpers to record
policies with a given FYC and a paid or lapsed 13-month premium."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from telesales.compensation.assessing import assessment_outcome_decide, assessment_run
from telesales.compensation.models import AssessmentRun, HRDecision
from telesales.compensation.tests.payrun_world import Center, at
from telesales.operations.choices import PremiumStatus
from telesales.operations.models import PremiumDue

RATE = D("0.3")


class AssessmentCenter(Center):
    def sale(self, agent, fyc: str, day: dt.date, category: str = "medical"):
        """A policy of ``agent`` issued on ``day`` whose FYC is ``fyc`` (premium = FYC / 0.3)."""
        premium = (D(fyc) / RATE).quantize(D("0.01"))
        assert premium * RATE == D(fyc), "choose an FYC that is 30 % of a whole-cent premium"
        return self.policy(agent, category, 10, str(premium), at(day.year, day.month, day.day))

    def second_year_premium(self, policy, *, paid: bool):
        """The 13-month premium of ``policy``: paid on its due date, or left unpaid."""
        issued = policy.issued_at.date()
        due = dt.date(issued.year + 1, issued.month, issued.day)
        return PremiumDue.objects.create(
            policy=policy,
            period=2,
            policy_year=2,
            due_date=due,
            amount=policy.annualised_premium,
            status=PremiumStatus.PAID if paid else PremiumStatus.DUE,
            paid_date=due if paid else None,
            paid_amount=policy.annualised_premium if paid else None,
        )

    def run_and_approve_all(self, label: str, decision: str = HRDecision.APPROVED):
        from telesales.compensation.assessing import assessment_run_approve

        run = assessment_run(label=label, actor=self.hr)
        for outcome in run.outcomes.all():
            assessment_outcome_decide(
                outcome=outcome, decision=decision, actor=self.hr, note="HR review"
            )
        return assessment_run_approve(run=run, actor=self.hr)


def outcomes_of(run: AssessmentRun) -> dict[str, tuple]:
    """person name → (outcome, from level, to level, decision)."""
    return {
        o.person.name: (
            o.outcome,
            o.from_level.code,
            o.to_level.code if o.to_level else None,
            o.decision,
        )
        for o in run.outcomes.select_related("person", "from_level", "to_level")
    }


def criterion(run: AssessmentRun, person, key: str, measure: str) -> dict:
    outcome = run.outcomes.get(person=person)
    return next(c for c in outcome.criteria[key]["criteria"] if c["measure"] == measure)
