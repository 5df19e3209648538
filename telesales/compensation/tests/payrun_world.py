"""The center of the pay-run tests (see the docstring of test_payrun.py for the numbers):
built with the factories of the org, leads and policies tests; attendance through the
service; policies recorded as issued."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from django.utils import timezone

from telesales.compensation.payrun import attendance_record, payrun_approve, payrun_compute
from telesales.compensation.rulesets import (
    DEFAULT_RULESET_PATH,
    ruleset_approve,
    ruleset_import,
    ruleset_import_default,
)
from telesales.core.roles import Role
from telesales.operations.choices import VisitOutcome, VisitStatus
from telesales.operations.models import ReturnVisit
from telesales.org.choices import TeamKind
from telesales.org.models import Level
from telesales.org.reference_data import load_reference_data
from telesales.policies.choices import PolicyStatus, ProductCategory
from telesales.policies.models import Policy
from telesales.policies.tests.factories import (
    CustomerFactory,
    LeadFactory,
    PersonFactory,
    ProductFactory,
    TeamFactory,
    UserFactory,
)

FEB = dt.date(2026, 2, 1)
MAR = dt.date(2026, 3, 1)
APR = dt.date(2026, 4, 1)


def policy_part(run, policy, kind: str = "commission"):
    """(line, amount, basis) of ``policy`` in the run's line of ``kind`` that holds it (a
    rate-cell line holds many policies, each with its own amount and basis)."""
    source = f"policy:{policy.pk}"
    for line in run.lines.filter(kind=kind).order_by("position"):
        for name, amount, basis in line.source_parts:
            if name == source:
                return line, amount, basis
    raise AssertionError(f"no {kind} line of {source} in {run.label}")


def at(year, month, day, hour=10):
    return timezone.make_aware(dt.datetime(year, month, day, hour))


class Center:
    """The world above, built with factories; ``policy(...)`` records an issued policy."""

    def __init__(self, *, work_month=False):
        load_reference_data()
        self.levels = {lv.code: lv for lv in Level.objects.all()}
        self.hr = UserFactory(username="hana", roles=[Role.HR_ADMIN])
        PersonFactory(
            team=TeamFactory(name="人事", kind=TeamKind.BACK_OFFICE), user=self.hr, name="Hana"
        )
        if work_month:
            text = DEFAULT_RULESET_PATH.read_text(encoding="utf-8").replace(
                "  calendar: calendar_month", "  calendar: work_month\n  start_day: 26"
            )
            draft = ruleset_import(actor=self.hr, effective_from=dt.date(2026, 1, 1), text=text)
        else:
            draft = ruleset_import_default(actor=self.hr, effective_from=dt.date(2026, 1, 1))
        ruleset_approve(ruleset=draft, actor=self.hr)
        self.team_a = TeamFactory(name="A组")
        self.team_b = TeamFactory(name="B组", center=self.team_a.center)
        self.lee = self.person(self.team_a, "lee", Role.TEAM_LEAD, "M1")
        self.tina = self.person(self.team_a, "tina", Role.AGENT, "T0", leader=self.lee)
        self.sam = self.person(self.team_a, "sam", Role.AGENT, "S2", leader=self.lee)
        self.kai = self.person(self.team_b, "kai", Role.TEAM_LEAD, "M1")
        self.ann = self.person(self.team_b, "ann", Role.AGENT, "S1", leader=self.kai)
        self.team_a.leader, self.team_b.leader = self.lee, self.kai
        self.team_a.save()
        self.team_b.save()
        self.products = {
            category: ProductFactory(category=category, first_year_commission_rate=D("0.3000"))
            for category in ProductCategory.values
        }
        self.customer = CustomerFactory()
        self.lead = LeadFactory(customer=self.customer)
        self.numbers = 0

    def person(self, team, username, role, level, **kw):
        user = UserFactory(username=username, roles=[role])
        return PersonFactory(team=team, user=user, name=username, level=self.levels[level], **kw)

    def attend(self, period_start, days: dict):
        for person, (attended, required) in days.items():
            attendance_record(
                person=person,
                period_start=period_start,
                days_attended=attended,
                days_required=required,
                actor=self.hr,
            )

    def policy(self, agent, category, term, premium, issued, mode="annual"):
        """An issued policy whose receipt and return visit are done on its issue day, so the
        withholding rule holds nothing back (lines_world.py builds the withheld cases)."""
        self.numbers += 1
        policy = Policy.objects.create(
            number=f"P{self.numbers:04d}",
            lead=self.lead,
            holder=self.customer,
            agent=agent,
            team=agent.team,
            product=self.products[category],
            annualised_premium=D(premium),
            payment_mode=mode,
            term_years=term,
            status=PolicyStatus.ISSUED,
            applied_at=issued - dt.timedelta(days=1),
            issued_at=issued,
            receipt_date=issued.date(),
        )
        ReturnVisit.objects.create(
            policy=policy,
            due_date=issued.date(),
            status=VisitStatus.DONE,
            outcome=VisitOutcome.CONFIRMED,
            done_at=issued,
        )
        return policy


def build_center() -> Center:
    """The center with February's attendance and Sam's policy issued on 02-20."""
    c = Center()
    c.attend(FEB, dict.fromkeys((c.lee, c.tina, c.sam, c.kai, c.ann), (20, 20)))
    c.sams = c.policy(c.sam, "critical_illness", 20, "5000.00", at(2026, 2, 20))
    return c


def build_march(c: Center) -> Center:
    """February computed and approved; March's data in place (not computed)."""
    february = payrun_compute(period_start=FEB, actor=c.hr)
    payrun_approve(run=february, actor=c.hr)
    c.february = february
    Policy.objects.filter(pk=c.sams.pk).update(
        status=PolicyStatus.CANCELLED, cancelled_at=at(2026, 3, 8), cancel_reason="changed_mind"
    )
    c.attend(
        MAR,
        {c.lee: (21, 22), c.tina: (20, 22), c.sam: (22, 22), c.kai: (22, 22), c.ann: (22, 22)},
    )
    c.policy(c.tina, "medical", 1, "4115.00", at(2026, 3, 5))
    c.policy(c.lee, "life", 10, "10000.00", at(2026, 3, 10))
    c.policy(c.ann, "accident", 1, "1000.00", at(2026, 3, 6))
    return c
