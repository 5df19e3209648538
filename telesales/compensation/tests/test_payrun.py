"""The monthly pay run against the database: inputs read from org and policies, lines saved
and re-computed identically, approval locking the period, adjustments in the next period,
who may read which payslip, missing data reported, the xlsx export.

The center (default basic law, calendar months), numbers computed by hand:

    team A: Lee  M1 team lead, 21 of 22 days in March
            ├── Tina  T0 trainee, 20 of 22
            └── Sam   S2 senior agent, 22 of 22
    team B: Kai  M1 team lead, 22 of 22
            └── Ann   S1 agent, 22 of 22
    back office: Hana, HR admin, no level (not paid by the basic law)

February: Sam's critical-illness policy (20 years, annual, premium 5,000.00 × 30 % = FYC
1,500.00) is issued on 02-20 and paid S2 40 % = 600.00. It is cancelled in free look on 03-08.

March:
    Tina  base 3,000.00 × 20/22 = 2,727.27; medical 1 year 4,115.00 × 30 % = FYC 1,234.50
          × T0 30 % × trainee 0.8 = 296.28                                 total 3,023.55
    Sam   base 4,200.00; clawback of the 600.00 paid in February         total 3,600.00
    Lee   base 6,000.00 × 21/22 = 5,727.27; life 10 years 10,000.00 × 30 % = FYC 3,000.00
          × M1 25 % = 750.00; management 20 % × (3,000.00 + 1,234.50 − 1,500.00) = 546.90
                                                                          total 7,024.17
    Kai   base 6,000.00; management 20 % × 300.00 = 60.00                total 6,060.00
    Ann   base 3,500.00; accident 1 year 1,000.00 × 30 % = FYC 300.00 × 30 % = 90.00
                                                                          total 3,590.00
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal as D

import pytest
from django.utils import translation
from openpyxl import load_workbook

from telesales.compensation.choices import PayRunStatus
from telesales.compensation.engine import PayInputInvalid
from telesales.compensation.exporting import payrun_export_xlsx
from telesales.compensation.models import Attendance, PayAdjustment, PayLine, PayRun, PolicyPay
from telesales.compensation.notes import note_text
from telesales.compensation.paybasis import expand_lines
from telesales.compensation.payrun import (
    payadjustment_create,
    payrun_approve,
    payrun_compute,
    payrun_period,
    payrun_period_started,
)
from telesales.compensation.selectors import (
    payrun_list,
    payrun_team_totals,
    payrun_totals,
    payslip_get,
)
from telesales.compensation.tests.payrun_world import APR, MAR, Center, at, policy_part
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.org.models import Person
from telesales.policies.models import Policy
from telesales.policies.tests.factories import (
    PersonFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def line_tuples(run):
    """Every line of the run as a tuple, in position order (what two computes compare), a
    cell line with all its policies (``paybasis.expand_lines``)."""
    lines = list(PayLine.objects.filter(run=run).order_by("position"))
    expand_lines(lines)
    return [
        (
            ln.position,
            ln.person_id,
            ln.kind,
            ln.amount,
            ln.basis,
            ln.rate,
            ln.rule_id,
            ln.rule_version,
            tuple(ln.modifiers),
            tuple(ln.sources),
            ln.policy_id,
            ln.note,
            ln.parts,
        )
        for ln in lines
    ]


def test_the_march_run_pays_the_hand_computed_amounts_with_rules_and_sources(march):
    c = march
    run = payrun_compute(period_start=MAR, actor=c.hr)
    assert (run.label, run.period_start, run.period_end) == ("2026-03", MAR, dt.date(2026, 3, 31))
    assert run.status == PayRunStatus.OPEN and run.run_count == 1 and run.ruleset_version == 1
    totals = payrun_totals(user=c.hr, run=run)
    assert totals == {
        c.lee.pk: D("7024.17"),
        c.tina.pk: D("3023.55"),
        c.sam.pk: D("3600.00"),
        c.kai.pk: D("6060.00"),
        c.ann.pk: D("3590.00"),
    }
    assert run.total == sum(totals.values()) and run.line_count == run.lines.count()

    tina = payslip_get(user=c.hr, run=run, person=c.tina)
    assert [(ln.kind, ln.amount, ln.rule_id) for ln in tina.lines] == [
        ("base_pay", D("2727.27"), "base_pay"),
        ("commission", D("296.28"), "fyc.protection"),
    ]
    commission = tina.lines[1]
    tina_policy = Policy.objects.get(agent=c.tina)
    assert commission.sources == [f"policy:{tina_policy.pk}"]
    assert commission.modifiers == ["trainee_factor"] and commission.parts == []
    assert commission.basis == D("1234.50") and commission.rule_version == 1

    sam = payslip_get(user=c.hr, run=run, person=c.sam)
    clawback = sam.lines[-1]
    assert (clawback.kind, clawback.amount, clawback.basis) == ("clawback", D("-600.00"), D("600"))
    assert clawback.sources == [f"policy:{c.sams.pk}"] and clawback.policy_id == c.sams.pk
    # The clawback took back exactly what the approved February run paid, which that run's
    # per-policy ledger recorded at its approval.
    _line, paid, _basis = policy_part(c.february, c.sams)
    assert paid == D("600.00")
    ledger = PolicyPay.objects.get(run=c.february, policy=c.sams)
    assert (ledger.person_id, ledger.commission, ledger.clawback) == (c.sam.pk, paid, 0)

    lee = payslip_get(user=c.hr, run=run, person=c.lee)
    allowance = lee.lines[-1]
    assert (allowance.kind, allowance.basis, allowance.amount) == (
        "management_allowance",
        D("2734.50"),
        D("546.90"),
    )
    # Hana (back office, no level) is not paid by the basic law and blocks nothing.
    assert not run.lines.filter(person__name="Hana").exists()


def test_a_rerun_gives_identical_lines_in_the_same_order(march):
    c = march
    first = payrun_compute(period_start=MAR, actor=c.hr)
    before = line_tuples(first)
    fingerprint = first.input_fingerprint
    second = payrun_compute(period_start=MAR, actor=c.hr)
    assert second.pk == first.pk and second.run_count == 2
    assert line_tuples(second) == before
    assert [t[0] for t in before] == list(range(1, len(before) + 1))
    assert [t[1] for t in before] == sorted(t[1] for t in before)
    assert second.input_fingerprint == fingerprint and len(fingerprint) == 64
    # A changed input changes the lines and the fingerprint.
    c.attend(MAR, {c.tina: (22, 22)})
    third = payrun_compute(period_start=MAR, actor=c.hr)
    assert third.input_fingerprint != fingerprint
    assert payrun_totals(user=c.hr, run=third)[c.tina.pk] == D("3296.28")
    audits = AuditEntry.objects.filter(action="compensation.payrun_compute", object_id=first.pk)
    assert audits.count() == 3


def test_approval_locks_the_period(march):
    c = march
    run = payrun_compute(period_start=MAR, actor=c.hr)
    lines = line_tuples(run)
    payrun_approve(run=run, actor=c.hr)
    run.refresh_from_db()
    assert run.status == PayRunStatus.APPROVED and run.approved_by == c.hr
    assert run.approved_at is not None
    with pytest.raises(InvalidState):
        payrun_compute(period_start=MAR, actor=c.hr)
    with pytest.raises(InvalidState):
        payrun_approve(run=run, actor=c.hr)
    with pytest.raises(InvalidState):
        c.attend(MAR, {c.tina: (22, 22)})
    assert line_tuples(run) == lines
    assert AuditEntry.objects.filter(
        action="compensation.payrun_approve", object_id=run.pk
    ).exists()


def test_a_correction_of_an_approved_period_is_paid_in_the_next_run(march):
    c = march
    run = payrun_approve(run=payrun_compute(period_start=MAR, actor=c.hr), actor=c.hr)
    with pytest.raises(ValidationFailed):
        payadjustment_create(person=c.tina, amount=D("0"), reason="x", actor=c.hr)
    # Exponent notation, an absurd figure, NaN: refused by the service whatever the interface.
    for amount, reason in (
        (D("1e5"), "plain digits"),
        (D("1000000.01"), "at most"),
        (D("-1E+12"), "plain digits"),
        (D("NaN"), "amount in yuan"),
        (D("Infinity"), "amount in yuan"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            payadjustment_create(person=c.tina, amount=amount, reason="x", actor=c.hr)
        assert reason in caught.value.fields["amount"][0]
    adjustment = payadjustment_create(
        person=c.tina,
        amount=D("-45.50"),
        reason="March attendance was 19 days",
        actor=c.hr,
        corrects_run=run,
    )
    c.attend(APR, dict.fromkeys((c.lee, c.tina, c.sam, c.kai, c.ann), (21, 21)))
    april = payrun_compute(period_start=APR, actor=c.hr)
    tina = payslip_get(user=c.hr, run=april, person=c.tina)
    assert [(ln.kind, ln.amount) for ln in tina.lines] == [
        ("base_pay", D("3000.00")),
        ("adjustment", D("-45.50")),
    ]
    assert tina.lines[-1].sources == [f"adjustment:{adjustment.pk}", f"payrun:{run.pk}"]
    assert tina.lines[-1].note == "March attendance was 19 days"
    adjustment.refresh_from_db()
    assert adjustment.applied_run == april
    # Re-running April pays it once, with the same lines.
    lines = line_tuples(april)
    assert line_tuples(payrun_compute(period_start=APR, actor=c.hr)) == lines
    assert PayAdjustment.objects.get().applied_run == april


def test_a_person_reads_only_their_own_payslip_once_approved(march):
    c = march
    run = payrun_compute(period_start=MAR, actor=c.hr)
    tina_user, sam_user = c.tina.user, c.sam.user
    with pytest.raises(PermissionDenied):
        payslip_get(user=tina_user, run=run, person=c.tina)  # still open
    assert list(payrun_list(user=tina_user)) == [c.february]  # not the open March run
    payrun_approve(run=run, actor=c.hr)
    run.refresh_from_db()
    own = payslip_get(user=tina_user, run=run, person=c.tina)
    assert own.total == D("3023.55") and {ln.person_id for ln in own.lines} == {c.tina.pk}
    with pytest.raises(PermissionDenied):
        payslip_get(user=tina_user, run=run, person=c.sam)
    with pytest.raises(PermissionDenied):
        payslip_get(user=sam_user, run=run, person=c.tina)
    with pytest.raises(PermissionDenied):
        payrun_totals(user=tina_user, run=run)
    assert list(payrun_list(user=tina_user)) == [run, c.february]


def test_a_team_lead_sees_the_totals_of_their_team_only(march):
    c = march
    run = payrun_approve(run=payrun_compute(period_start=MAR, actor=c.hr), actor=c.hr)
    lee_user = c.lee.user
    totals = payrun_team_totals(user=lee_user, run=run, team=c.team_a)
    assert [(p.name, total) for p, total in totals.people] == [
        ("lee", D("7024.17")),
        ("sam", D("3600.00")),
        ("tina", D("3023.55")),
    ]
    assert totals.total == D("13647.72")
    with pytest.raises(PermissionDenied):
        payslip_get(user=lee_user, run=run, person=c.tina)
    with pytest.raises(PermissionDenied):
        payrun_team_totals(user=lee_user, run=run, team=c.team_b)
    with pytest.raises(PermissionDenied):
        payrun_team_totals(user=c.tina.user, run=run, team=c.team_a)
    assert payrun_team_totals(user=c.hr, run=run, team=c.team_b).total == D("9650.00")


def test_missing_data_is_reported_not_paid_as_zero(march):
    c = march
    unlevelled = PersonFactory(team=c.team_a, name="nolevel", level=None)
    zero_rate = ProductFactory(category="medical", first_year_commission_rate=D("0"))
    policy = c.policy(c.sam, "medical", 1, "800.00", at(2026, 3, 9))
    Policy.objects.filter(pk=policy.pk).update(product=zero_rate)
    Attendance.objects.filter(person=c.ann, period_start=MAR).delete()
    with pytest.raises(PayInputInvalid) as caught:
        payrun_compute(period_start=MAR, actor=c.hr)
    fields = caught.value.fields
    assert fields[f"person:{unlevelled.pk}"] == ["has no level"]
    assert fields[f"policy:{policy.pk}"] == [
        f"product {zero_rate.code} has no first-year commission rate"
    ]
    assert fields[f"person:{c.ann.pk}"] == ["no attendance for 2026-03"]
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.details["fields"] == fields
    assert not PayRun.objects.filter(period_start=MAR).exists()


def test_an_agent_who_left_before_the_period_has_their_clawback_and_no_base_pay(march):
    c = march
    Person.objects.filter(pk=c.sam.pk).update(status="left", left_on=dt.date(2026, 2, 28))
    Attendance.objects.filter(person=c.sam, period_start=MAR).delete()  # not needed
    run = payrun_compute(period_start=MAR, actor=c.hr)
    sam = payslip_get(user=c.hr, run=run, person=c.sam)
    assert [(ln.kind, ln.amount) for ln in sam.lines] == [("clawback", D("-600.00"))]
    # The overrides above him still lose the FYC clawed back (policy 202's 1,500.00).
    assert payrun_totals(user=c.hr, run=run)[c.lee.pk] == D("7024.17")


def test_the_period_must_start_on_a_pay_period_and_have_rules(march):
    c = march
    with pytest.raises(ValidationFailed) as caught:
        payrun_compute(period_start=dt.date(2026, 3, 2), actor=c.hr)
    assert "period_start" in caught.value.fields
    with pytest.raises(ValidationFailed):
        payrun_compute(period_start=dt.date(2025, 12, 1), actor=c.hr)  # no rules in force
    with pytest.raises(PermissionDenied):
        payrun_compute(period_start=MAR, actor=c.lee.user)


def test_the_xlsx_export_opens_and_holds_every_line_with_formulas_neutralised(march):
    c = march
    c.tina.name = "=HYPERLINK(1)"
    c.tina.save()
    run = payrun_compute(period_start=MAR, actor=c.hr)
    with pytest.raises(PermissionDenied):
        payrun_export_xlsx(run=run, actor=c.lee.user)
    exported = payrun_export_xlsx(run=run, actor=c.hr)
    assert exported.filename == "payrun-2026-03.xlsx" and exported.rows == run.line_count
    book = load_workbook(io.BytesIO(exported.content))
    rows = list(book["Lines"].iter_rows(values_only=True))
    assert rows[0][:5] == ("Period", "Employee no.", "Name", "Kind", "Amount")
    assert len(rows) - 1 == run.lines.count()
    tina_rows = [r for r in rows[1:] if r[1] == c.tina.employee_no]
    assert {r[2] for r in tina_rows} == {"'=HYPERLINK(1)"}
    # The kind as its label in the exporter's language (English here), its code last.
    assert [(r[3], D(str(r[4])), r[-1]) for r in tina_rows] == [
        ("Base pay", D("2727.27"), "base_pay"),
        ("FYC commission", D("296.28"), "commission"),
    ]
    # Each person's total with their team; the grand total below (no employee no.).
    people = list(book["Totals"].iter_rows(values_only=True))[1:-1]
    totals = {r[1]: D(str(r[4])) for r in people}
    assert totals[c.lee.employee_no] == D("7024.17")
    assert AuditEntry.objects.filter(action="compensation.payrun_export").count() == 1


def test_the_lines_do_not_depend_on_the_language_of_whoever_computes(march):
    c = march
    with translation.override("en"):
        english = line_tuples(payrun_compute(period_start=MAR, actor=c.hr))
    with translation.override("zh-hans"):
        chinese = line_tuples(payrun_compute(period_start=MAR, actor=c.hr))
    assert chinese == english
    base = PayLine.objects.get(run__label="2026-03", person=c.tina, kind="base_pay")
    # Stored as its message and values; read in each reader's language (QA, session 20: an
    # English payslip read "应出勤 22 天…").
    with translation.override("zh-hans"):
        assert note_text(base.note) == "应出勤 22 天，实出勤 20 天"
    with translation.override("en"):
        assert note_text(base.note) == "20 of 22 days attended"


def test_a_period_that_has_not_started_is_refused_with_a_clear_reason(march):
    """The shipped basic law is in force with no end, so 2099-12 is a pay period; nobody has
    worked it yet. Refused before anything is read (not "person:N: no attendance …")."""
    c = march
    with pytest.raises(ValidationFailed) as caught:
        payrun_compute(period_start=dt.date(2099, 12, 1), actor=c.hr)
    assert caught.value.message == (
        "The pay period 2099-12 has not started yet: it starts on 2099-12-01"
    )
    assert list(caught.value.fields) == ["period_start"]
    assert not PayRun.objects.filter(label="2099-12").exists()
    # The first day of the period is the first day it may be computed (the center's date).
    _ruleset, _book, march_period = payrun_period(period_start=MAR)
    payrun_period_started(march_period, today=MAR)
    with pytest.raises(ValidationFailed, match="2026-03 has not started yet"):
        payrun_period_started(march_period, today=MAR - dt.timedelta(days=1))


def test_a_work_month_runs_from_the_26th_to_the_25th():
    c = Center(work_month=True)
    start = dt.date(2026, 2, 26)
    c.attend(start, dict.fromkeys((c.lee, c.tina, c.sam, c.kai, c.ann), (22, 22)))
    inside = c.policy(c.ann, "accident", 1, "1000.00", at(2026, 3, 25, 23))
    c.policy(c.ann, "accident", 1, "2000.00", at(2026, 3, 26, 0))  # April's
    c.policy(c.ann, "accident", 1, "4000.00", at(2026, 2, 25, 23))  # February's
    with pytest.raises(ValidationFailed):
        payrun_compute(period_start=MAR, actor=c.hr)
    run = payrun_compute(period_start=start, actor=c.hr)
    assert (run.label, run.period_start, run.period_end) == ("2026-03", start, dt.date(2026, 3, 25))
    ann = payslip_get(user=c.hr, run=run, person=c.ann)
    assert [(ln.kind, ln.amount, ln.sources) for ln in ann.lines] == [
        ("base_pay", D("3500.00"), [f"person:{c.ann.pk}"]),
        ("commission", D("90.00"), [f"policy:{inside.pk}"]),
    ]


def test_the_run_checks_once_that_every_person_and_policy_it_names_is_there(march, monkeypatch):
    """The line table checks no reference row by row (ADR 0018): the run checks them all
    at once after writing, and refuses (nothing saved) when one is gone; the ORM still
    refuses to delete a person whose pay lines name them."""
    from django.db.models import ProtectedError

    from telesales.compensation import payrun as payrun_module
    from telesales.compensation.engine import PayLine as EngineLine

    run = payrun_compute(period_start=MAR, actor=march.hr)
    person = run.lines.order_by("position").first().person_id
    gone_person = Person.objects.order_by("-pk").first().pk + 100
    gone_policy = Policy.objects.order_by("-pk").first().pk + 100

    def line(person_id, kind="base_pay", sources=()):
        return EngineLine(person_id, kind, "r", 1, D("1.00"), D("1.00"), None, sources)

    existing = Policy.objects.order_by("pk").first().pk
    payrun_module._lines_check([line(person), line(person, "clawback", (f"policy:{existing}",))])
    with pytest.raises(InvalidState) as refused:
        payrun_module._lines_check(
            [line(person), line(gone_person, "clawback", (f"policy:{gone_policy}",))]
        )
    assert f"person:{gone_person}" in str(refused.value)
    assert f"policy:{gone_policy}" in str(refused.value)
    # Wired into the compute: a line naming a person that is gone refuses the whole run.
    compute = payrun_module.compute_pay
    monkeypatch.setattr(
        payrun_module,
        "compute_pay",
        lambda *args, **kwargs: [*compute(*args, **kwargs), line(gone_person)],
    )
    lines_before = line_tuples(run)
    with pytest.raises(InvalidState):
        payrun_compute(period_start=MAR, actor=march.hr)
    assert line_tuples(PayRun.objects.get(pk=run.pk)) == lines_before
    with pytest.raises(ProtectedError) as protected:
        Person.objects.get(pk=person).delete()
    assert any(isinstance(obj, PayLine) for obj in protected.value.protected_objects)


def test_every_engine_line_kind_is_a_stored_kind_in_payslip_order():
    from telesales.compensation.choices import PayLineKind
    from telesales.compensation.engine import KINDS

    assert [*KINDS, "adjustment"] == list(PayLineKind.values)


def test_the_month_in_progress_is_computed_but_not_approved(march):
    """Computing it is a preview; approving it used to lock the period at once, leaving out
    the sales, cancellations and attendance of the days left."""
    from django.utils import timezone

    from telesales.compensation.tasks import payrun_approve_start

    c = march
    start = timezone.localdate().replace(day=1)
    people = (c.lee, c.tina, c.sam, c.kai, c.ann)
    c.attend(start, dict.fromkeys(people, (10, 22)))
    run = payrun_compute(period_start=start, actor=c.hr)
    assert run.run_count == 1 and run.line_count > 0
    day = (run.period_end + dt.timedelta(days=1)).isoformat()
    ends = run.period_end.isoformat()
    expected = f"has not ended: it ends on {ends}. It can be approved from {day}"
    with pytest.raises(InvalidState, match=expected):
        payrun_approve(run=run, actor=c.hr)
    with pytest.raises(InvalidState, match=expected):
        payrun_approve_start(run=run, actor=c.hr)
    run.refresh_from_db()
    assert run.status == PayRunStatus.OPEN and not PolicyPay.objects.filter(run=run).exists()


def test_a_run_computed_before_its_period_ended_is_computed_again_before_approval(march):
    c = march
    run = payrun_compute(period_start=MAR, actor=c.hr)
    PayRun.objects.filter(pk=run.pk).update(computed_at=at(2026, 3, 20))
    run.refresh_from_db()
    with pytest.raises(InvalidState, match="computed on 2026-03-20, before the period 2026-03"):
        payrun_approve(run=run, actor=c.hr)
    run = payrun_compute(period_start=MAR, actor=c.hr)
    assert payrun_approve(run=run, actor=c.hr).status == PayRunStatus.APPROVED
