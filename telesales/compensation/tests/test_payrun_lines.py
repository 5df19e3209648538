"""The later pay lines through ``payrun_compute`` on the database (lines_world.py).

March 2026, default basic law, everyone 22 of 22 days:

    Ann   S1  base 3,500.00
              released: February withheld 45.00 of policy anns; receipt 3 March and
              return visit 6 March are done by 31 March                      +45.00
              recruiting award: Tina (her recruit) confirmed 15 March with
              FYC to date 1,234.50 ≥ 300.00                                  +500.00
                                                                    total 4,045.00
    Tina  T0  base 3,000.00 (hired 2025-03-01: month 13, no new-hire allowance)
              commission 1,234.50 × T0 30 % × trainee 0.8 = 296.28
              withheld 50 % × 296.28 = 148.14 (no receipt yet)            −148.14
                                                                    total 3,148.14
    Nina  T0  base 3,000.00; hired 2 March: month 1 of service → new-hire allowance
              1,000.00 (no minimum in month 1)                      total 4,000.00
    Sam   S2  base 4,200.00; renewal: 2nd-year premium 2,000.00 × 5 %
              × factor 1.1 (13-month persistency 100 % ≥ 90 %) = 110.00  total 4,310.00
    Lee   M1  base 6,000.00; management 20 % × (Tina 1,234.50) = 246.90 total 6,246.90
    Kai   M1  base 6,000.00 (Ann sold nothing in March)                 total 6,000.00
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import translation

from telesales.compensation.engine import PayInputInvalid, compute_pay, period_for
from telesales.compensation.models import PayLine
from telesales.compensation.notes import note_text
from telesales.compensation.paybasis import expand_lines
from telesales.compensation.payinputs import _clearances, pay_inputs
from telesales.compensation.payrun import payrun_approve, payrun_compute
from telesales.compensation.rulesets import ruleset_rulebook
from telesales.compensation.selectors import payrun_totals, ruleset_in_force
from telesales.compensation.tests.lines_world import (
    APR,
    MAR,
    build_lines_center,
    not_cleared,
    visit_done,
)
from telesales.compensation.tests.payrun_world import at
from telesales.operations.choices import VisitOutcome, VisitStatus
from telesales.operations.models import ReturnVisit
from telesales.operations.selectors import policy_withholding_status
from telesales.policies.models import Policy, Product


@pytest.fixture
def lines_center(db):
    return build_lines_center()


def lines_of(run, person, kinds=None):
    lines = list(PayLine.objects.filter(run=run, person=person).order_by("position"))
    expand_lines(lines)  # a cell line's policies, from the pay basis
    return [
        (line.kind, line.rule_id, line.amount, line.sources)
        for line in lines
        if kinds is None or line.kind in kinds
    ]


def test_february_withheld_half_of_anns_commission(lines_center):
    c = lines_center
    assert lines_of(c.february, c.ann, {"commission", "withheld"}) == [
        ("commission", "fyc.protection", D("90.00"), [f"policy:{c.anns.pk}"]),
        ("withheld", "withholding", D("-45.00"), [f"policy:{c.anns.pk}"]),
    ]


def test_the_march_run_pays_the_later_lines_computed_by_hand(lines_center):
    c = lines_center
    run = payrun_compute(period_start=MAR, actor=c.hr)
    assert payrun_totals(user=c.hr, run=run) == {
        c.lee.pk: D("6246.90"),
        c.tina.pk: D("3148.14"),
        c.sam.pk: D("4310.00"),
        c.kai.pk: D("6000.00"),
        c.ann.pk: D("4045.00"),
        c.nina.pk: D("4000.00"),
    }
    assert lines_of(run, c.ann) == [
        ("base_pay", "base_pay", D("3500.00"), [f"person:{c.ann.pk}"]),
        ("released", "withholding", D("45.00"), [f"policy:{c.anns.pk}"]),
        ("recruiting_award", "award.recruit", D("500.00"), [f"person:{c.tina.pk}"]),
    ]
    assert lines_of(run, c.tina, {"commission", "withheld"}) == [
        ("commission", "fyc.protection", D("296.28"), [f"policy:{c.tinas.pk}"]),
        ("withheld", "withholding", D("-148.14"), [f"policy:{c.tinas.pk}"]),
    ]
    assert lines_of(run, c.nina, {"new_hire_allowance"}) == [
        ("new_hire_allowance", "new_hire_allowance", D("1000.00"), [f"person:{c.nina.pk}"])
    ]
    renewal = PayLine.objects.get(run=run, kind="renewal_commission")
    assert (renewal.person_id, renewal.amount, renewal.basis, renewal.rate) == (
        c.sam.pk,
        D("110.00"),
        D("2000.00"),
        D("0.055"),
    )
    assert renewal.sources == [f"policy:{c.sams_old.pk}", f"premium:{c.renewal.pk}"]
    assert renewal.rule_version == 1
    with translation.override("zh-hans"):
        renewal_note = note_text(renewal.note)
        award_note = note_text(PayLine.objects.get(run=run, kind="recruiting_award").note)
    assert "1.1" in renewal_note and "100.00%" in renewal_note  # the persistency factor
    # The parts of a note are joined as the reader's language joins them (「；」, not "; ").
    assert "；13 个月继续率 100.00%" in renewal_note and "; " not in renewal_note
    # The amounts grouped as on the pay pages.
    assert "2026-03-15" in award_note and "；累计 FYC 1,234.50（至少 300.00）" in award_note
    with translation.override("en"):
        assert "; 13-month persistency 100.00%" in note_text(renewal.note)


def test_a_rerun_of_the_later_lines_is_identical(lines_center):
    c = lines_center

    def snapshot(run):
        return list(
            PayLine.objects.filter(run=run)
            .order_by("position")
            .values_list("person_id", "position", "kind", "amount", "basis", "rate", "sources")
        )

    first = payrun_compute(period_start=MAR, actor=c.hr)
    lines, fingerprint = snapshot(first), first.input_fingerprint
    second = payrun_compute(period_start=MAR, actor=c.hr)
    assert snapshot(second) == lines and second.input_fingerprint == fingerprint


def test_what_march_withheld_is_released_in_april_once_done(lines_center):
    """Tina's receipt on 2 April and return visit on 8 April: April releases 148.14. Ann's
    released withholding is not released twice."""
    c = lines_center
    payrun_approve(run=payrun_compute(period_start=MAR, actor=c.hr), actor=c.hr)
    c.attend(APR, dict.fromkeys((c.lee, c.tina, c.sam, c.kai, c.ann, c.nina), (22, 22)))
    Policy.objects.filter(pk=c.tinas.pk).update(receipt_date=dt.date(2026, 4, 2))
    visit_done(c.tinas, dt.date(2026, 4, 8))
    april = payrun_compute(period_start=APR, actor=c.hr)
    released = PayLine.objects.filter(run=april, kind="released")
    assert [(ln.person_id, ln.amount, ln.sources) for ln in released] == [
        (c.tina.pk, D("148.14"), [f"policy:{c.tinas.pk}"])
    ]


def test_a_release_is_paid_even_when_its_product_lost_its_commission_rate(lines_center):
    """Ann's February policy waits for the release of 45.00; its product has since been
    set to pay no first-year commission. The release pays back what was withheld, not a
    commission, so March still releases it and reports no problem."""
    c = lines_center
    Product.objects.filter(pk=c.anns.product_id).update(first_year_commission_rate=0)
    run = payrun_compute(period_start=MAR, actor=c.hr)
    assert lines_of(run, c.ann, {"released"}) == [
        ("released", "withholding", D("45.00"), [f"policy:{c.anns.pk}"])
    ]


def test_the_inputs_say_what_the_later_lines_read(lines_center):
    c = lines_center
    ruleset = ruleset_in_force(on=MAR)
    period = period_for(ruleset_rulebook(ruleset), year=2026, month=3)
    inputs = pay_inputs(period)
    people = {p.id: p for p in inputs.people}
    assert people[c.tina.pk].extra.recruiter_id == c.ann.pk
    assert people[c.tina.pk].extra.confirmed_on == dt.date(2026, 3, 15)
    assert people[c.tina.pk].extra.fyc_to_date == D("1234.50")
    assert people[c.sam.pk].extra.persistency13 == D("1.0000")
    assert people[c.nina.pk].extra.new_talent_on is None  # no app records the award
    policies = {p.id: p for p in inputs.policies}
    assert policies[c.anns.pk].clearance.withheld_before == D("45.00")
    assert policies[c.anns.pk].clearance.receipt_on == dt.date(2026, 3, 3)
    assert policies[c.tinas.pk].clearance.receipt_on is None


def test_a_renewal_paid_for_a_person_outside_the_run_is_not_paid(lines_center):
    """A renewal premium of a policy whose agent has left before March: no line, no error."""
    c = lines_center
    Policy.objects.filter(pk=c.sams_old.pk).update(agent=c.hr.person)
    run = payrun_compute(period_start=MAR, actor=c.hr)
    assert not PayLine.objects.filter(run=run, kind="renewal_commission").exists()


def test_a_recruiting_award_with_missing_data_is_reported(lines_center):
    """The engine reports a recruit confirmed without FYC to date instead of paying zero."""
    c = lines_center
    ruleset = ruleset_in_force(on=MAR)
    book = ruleset_rulebook(ruleset)
    inputs = pay_inputs(period_for(book, year=2026, month=3))
    people = [
        dataclasses.replace(p, extra=dataclasses.replace(p.extra, fyc_to_date=None))
        if p.id == c.tina.pk
        else p
        for p in inputs.people
    ]
    with pytest.raises(PayInputInvalid) as caught:
        compute_pay(
            book,
            version=1,
            period=period_for(book, year=2026, month=3),
            people=people,
            policies=inputs.policies,
        )
    assert caught.value.problems == [
        (f"person:{c.tina.pk}", "no FYC to date for the recruiting award award.recruit")
    ]


def test_the_clearances_read_what_operations_says(lines_center):
    """The pay run reads receipts and return visits from plain rows; they must say what
    ``operations.selectors.policy_withholding_status`` says, for every kind of visit."""
    c = lines_center
    cases = [c.policy(c.sam, "medical", 1, "100.00", at(2026, 3, 7)) for _ in range(5)]
    not_cleared(*cases)
    done = at(2026, 3, 9)
    ReturnVisit.objects.create(
        policy=cases[0], due_date=MAR, status=VisitStatus.CANCELLED, done_at=done
    )
    ReturnVisit.objects.create(policy=cases[1], due_date=MAR, status=VisitStatus.OPEN)
    for policy, resolved in ((cases[2], at(2026, 3, 20)), (cases[3], None)):
        ReturnVisit.objects.create(
            policy=policy,
            due_date=MAR,
            status=VisitStatus.DONE,
            outcome=VisitOutcome.MISUNDERSTANDING,
            flagged_at=done,
            done_at=done,
            resolved_at=resolved,
        )
    ReturnVisit.objects.create(
        policy=cases[4],
        due_date=MAR,
        status=VisitStatus.FAILED,
        outcome=VisitOutcome.UNREACHABLE,
        done_at=done,
    )
    ids = sorted(Policy.objects.values_list("pk", flat=True))
    march = period_for(ruleset_rulebook(ruleset_in_force(on=MAR)), year=2026, month=3)
    ours = _clearances(march, ids, {})
    theirs = policy_withholding_status(policy_ids=ids)
    assert set(ours) == set(theirs) == set(ids)
    for pid in ids:
        mine = ours[pid]
        assert (
            mine.receipt_on is not None,
            mine.return_visit_required,
            mine.return_visit_on is not None or not mine.return_visit_required,
        ) == (
            theirs[pid]["receipt_done"],
            theirs[pid]["return_visit_required"],
            theirs[pid]["return_visit_done"],
        ), pid
    assert ours[cases[2].pk].return_visit_on == dt.date(2026, 3, 20)  # resolved, not done
    assert ours[c.anns.pk].return_visit_on == dt.date(2026, 3, 6)


def test_a_renewal_line_names_its_premium_by_period_not_by_record(lines_center):
    """The payslip shows a renewal's sources as the policy's number and the premium's period
    ("premium 2", 「第 2 期保费」), not the record ``premium:N``, which stays in the title."""
    from django.utils import translation

    from telesales.compensation.selectors import payslip_get

    c = lines_center
    run = payrun_compute(period_start=MAR, actor=c.hr)
    for language, expected in (("en", "premium 2"), ("zh-hans", "第 2 期保费")):
        with translation.override(language):
            slip = payslip_get(user=c.hr, run=run, person=c.sam)
        [renewal] = [line for line in slip.lines if line.kind == "renewal_commission"]
        labels = {label.source: label.label for label in renewal.source_labels}
        assert labels == {
            f"policy:{c.sams_old.pk}": c.sams_old.number,
            f"premium:{c.renewal.pk}": expected,
        }
