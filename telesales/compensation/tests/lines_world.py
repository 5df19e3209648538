"""The center of the later pay lines on the database (see test_payrun_lines.py for the
numbers): the pay-run center of payrun_world.py, plus

- **February** (computed and approved): Ann's accident policy, 1,000.00 premium × the
  product's 30 % = FYC 300.00, × S1 30 % = 90.00 commission, no receipt → 45.00 withheld;
- **March**: Ann's receipt (3 March) and return visit (6 March) done; Tina (T0, recruited
  by Ann) sells a medical policy (4,115.00 × 30 % = FYC 1,234.50) without receipt and is
  confirmed (trainee → active) on 15 March; Nina (T0, recruited by Sam) joins on 2 March;
  Sam receives the 2nd-year premium (2,000.00, paid 5 March) of a life policy issued on
  10 March 2025 — the only policy of his 13-month cohort, so his persistency is 100 %.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from telesales.compensation.payrun import payrun_approve, payrun_compute
from telesales.compensation.tests.payrun_world import APR, FEB, MAR, Center, at
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.operations.choices import PremiumStatus, VisitOutcome, VisitStatus
from telesales.operations.models import Delivery, PremiumDue, ReturnVisit
from telesales.org.choices import PersonStatus
from telesales.org.models import Person
from telesales.org.services import person_update
from telesales.policies.models import Policy

__all__ = ["APR", "FEB", "MAR", "build_lines_center", "not_cleared", "visit_done"]


def visit_done(policy, day: dt.date) -> ReturnVisit:
    """A return visit of ``policy`` done (confirmed) on ``day``."""
    visit, _created = ReturnVisit.objects.update_or_create(
        policy=policy,
        defaults={
            "due_date": day,
            "status": VisitStatus.DONE,
            "outcome": VisitOutcome.CONFIRMED,
            "done_at": at(day.year, day.month, day.day),
        },
    )
    return visit


def not_cleared(*policies) -> None:
    """No receipt and no return visit yet for these policies, whatever the builders recorded."""
    ids = [p.pk for p in policies]
    Policy.objects.filter(pk__in=ids).update(receipt_date=None)
    Delivery.objects.filter(policy_id__in=ids).update(receipt_confirmed_on=None)
    ReturnVisit.objects.filter(policy_id__in=ids).delete()


def build_lines_center() -> Center:
    c = Center()
    Person.objects.filter(pk=c.tina.pk).update(status=PersonStatus.TRAINEE, recruiter=c.ann)
    c.tina.refresh_from_db()
    # February: Ann's policy, withheld for want of a receipt; computed and approved.
    c.attend(FEB, dict.fromkeys((c.lee, c.tina, c.sam, c.kai, c.ann), (20, 20)))
    c.anns = c.policy(c.ann, "accident", 1, "1000.00", at(2026, 2, 10))
    not_cleared(c.anns)
    c.february = payrun_compute(period_start=FEB, actor=c.hr)
    payrun_approve(run=c.february, actor=c.hr)
    # March.
    c.nina = c.person(c.team_a, "nina", Role.AGENT, "T0", leader=c.lee, recruiter=c.sam)
    Person.objects.filter(pk=c.nina.pk).update(
        hire_date=dt.date(2026, 3, 2), status=PersonStatus.TRAINEE
    )
    c.attend(
        MAR,
        dict.fromkeys((c.lee, c.tina, c.sam, c.kai, c.ann, c.nina), (22, 22)),
    )
    Policy.objects.filter(pk=c.anns.pk).update(receipt_date=dt.date(2026, 3, 3))
    visit_done(c.anns, dt.date(2026, 3, 6))
    c.tinas = c.policy(c.tina, "medical", 1, "4115.00", at(2026, 3, 5))
    not_cleared(c.tinas)
    person_update(person=c.tina, actor=c.hr, status=PersonStatus.ACTIVE, reason="转正")
    AuditEntry.objects.filter(action="org.person_update", object_id=str(c.tina.pk)).update(
        at=at(2026, 3, 15)
    )
    c.sams_old = c.policy(c.sam, "life", 10, "2000.00", at(2025, 3, 10))
    c.renewal = PremiumDue.objects.create(
        policy=c.sams_old,
        period=2,
        policy_year=2,
        due_date=dt.date(2026, 3, 10),
        amount=D("2000.00"),
        status=PremiumStatus.PAID,
        paid_date=dt.date(2026, 3, 5),
        paid_amount=D("2000.00"),
    )
    return c
