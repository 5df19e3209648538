"""One line per rate cell (ADR 0014): a pay run writes one commission, withheld or released
line per person, rule, rate, modifiers and note, whatever the number of policies in it; each
policy keeps its own amount (rounded on its own) in the line's ``parts``; the approval writes
the per-policy ledger (``PolicyPay``) that later clawbacks and releases read.

Ann (S1) in February 2026 (default basic law; every product's FYC rate 30 %):

    A1 accident,  1 year, annual, 1,000.00 → FYC 300.00 × 30 % = 90.00   (cleared)
    A2 accident,  1 year, annual,     3.50 → FYC   1.05 × 30 % = 0.315 → 0.32 (not cleared)
    A3 accident,  1 year, single,     3.50 → 0.32 (not cleared; fyc.protection pays single
                                               payment at the same 30 %: the same cell)
    A5 accident,  1 year, annual,     3.50 → 0.32 (not cleared)
    A4 critical illness, 20 years, 2,000.00 → FYC 600.00 × 35 % = 210.00 (cleared)

    commission fyc.protection 30 %: 90.00 + 0.32 × 3 = 90.96 on FYC 303.15 (rounding the
        cell's sum instead, 303.15 × 30 % = 90.945 → 90.95, would lose a cent: each policy
        is rounded on its own)
    commission fyc.protection 35 %: 210.00
    withheld 50 % of A2, A3, A5: 0.16 each → −0.48 (waiting for receipt and return visit)

March: A2 and A5 cleared on 20 March (released 0.16 each, one line), A3 cancelled in free
look on 8 March (its 0.16 released on the cancellation, its 0.32 clawed back in full).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from telesales.compensation.engine import CELL_KINDS, group_by_cell
from telesales.compensation.engine import PayLine as EngineLine
from telesales.compensation.exporting import POLICY_KINDS, payrun_export_xlsx, policy_headers
from telesales.compensation.models import PayLine, PayRun, PolicyPay
from telesales.compensation.paybasis import expand_lines
from telesales.compensation.payrun import payrun_approve, payrun_compute
from telesales.compensation.tests.lines_world import not_cleared, visit_done
from telesales.compensation.tests.payrun_world import APR, FEB, MAR, Center, at
from telesales.core.tests.api_helpers import assert_error_shape
from telesales.policies.choices import PolicyStatus
from telesales.policies.models import Policy

EVERYONE = ("lee", "tina", "sam", "kai", "ann")


@pytest.fixture
def cells(db):
    c = Center()
    people = [getattr(c, name) for name in EVERYONE]
    for start in (FEB, MAR, APR):
        c.attend(start, dict.fromkeys(people, (20, 20)))
    c.a1 = c.policy(c.ann, "accident", 1, "1000.00", at(2026, 2, 3))
    c.a2 = c.policy(c.ann, "accident", 1, "3.50", at(2026, 2, 4))
    c.a3 = c.policy(c.ann, "accident", 1, "3.50", at(2026, 2, 5), mode="single")
    c.a4 = c.policy(c.ann, "critical_illness", 20, "2000.00", at(2026, 2, 6))
    c.a5 = c.policy(c.ann, "accident", 1, "3.50", at(2026, 2, 7))
    not_cleared(c.a2, c.a3, c.a5)
    return c


def rows(run, person, kinds):
    lines = list(
        PayLine.objects.filter(run=run, person=person, kind__in=kinds).order_by("position")
    )
    expand_lines(lines)  # a cell line's policies, from the pay basis
    return [
        (ln.kind, ln.rule_id, ln.rate, ln.amount, ln.basis, ln.sources, ln.parts) for ln in lines
    ]


def src(*policies):
    return [f"policy:{p.pk}" for p in policies]


def test_a_rate_cell_is_one_line_with_each_policy_rounded_on_its_own(cells):
    c = cells
    run = payrun_compute(period_start=FEB, actor=c.hr)
    assert rows(run, c.ann, {"commission", "withheld"}) == [
        (
            "commission",
            "fyc.protection",
            D("0.3"),
            D("90.96"),
            D("303.15"),
            src(c.a1, c.a2, c.a3, c.a5),
            [["90.00", "300.00"], ["0.32", "1.05"], ["0.32", "1.05"], ["0.32", "1.05"]],
        ),
        ("commission", "fyc.protection", D("0.35"), D("210.00"), D("600.00"), src(c.a4), []),
        (
            "withheld",
            "withholding",
            D("0.5"),
            D("-0.48"),
            D("0.96"),
            src(c.a2, c.a3, c.a5),
            [["-0.16", "0.32"], ["-0.16", "0.32"], ["-0.16", "0.32"]],
        ),
    ]
    # Six lines for Ann in all (base pay, two commission cells, withheld …), not one a policy;
    # the run's total is the sum of the per-policy amounts.
    line = PayLine.objects.get(run=run, person=c.ann, kind="commission", rate=D("0.3"))
    assert [(name, amount) for name, amount, _basis in line.source_parts] == [
        (f"policy:{c.a1.pk}", D("90.00")),
        (f"policy:{c.a2.pk}", D("0.32")),
        (f"policy:{c.a3.pk}", D("0.32")),
        (f"policy:{c.a5.pk}", D("0.32")),
    ]
    assert run.line_count == PayLine.objects.filter(run=run).count()
    # Nothing per policy is written before the approval.
    assert not PolicyPay.objects.exists()


def test_the_approval_writes_each_policys_pay_and_march_reads_it(cells):
    c = cells
    february = payrun_approve(run=payrun_compute(period_start=FEB, actor=c.hr), actor=c.hr)
    ledger = {
        p.policy_id: (p.person_id, p.commission, p.withheld, p.released, p.clawback)
        for p in PolicyPay.objects.filter(run=february)
    }
    assert ledger == {
        c.a1.pk: (c.ann.pk, D("90.00"), 0, 0, 0),
        c.a2.pk: (c.ann.pk, D("0.32"), D("0.16"), 0, 0),
        c.a3.pk: (c.ann.pk, D("0.32"), D("0.16"), 0, 0),
        c.a4.pk: (c.ann.pk, D("210.00"), 0, 0, 0),
        c.a5.pk: (c.ann.pk, D("0.32"), D("0.16"), 0, 0),
    }

    for policy in (c.a2, c.a5):
        Policy.objects.filter(pk=policy.pk).update(receipt_date=dt.date(2026, 3, 20))
        visit_done(policy, dt.date(2026, 3, 20))
    Policy.objects.filter(pk=c.a3.pk).update(
        status=PolicyStatus.CANCELLED, cancelled_at=at(2026, 3, 8), cancel_reason="changed_mind"
    )
    march = payrun_compute(period_start=MAR, actor=c.hr)
    assert [
        (k, rule, amount, sources, parts)
        for k, rule, _r, amount, _b, sources, parts in rows(march, c.ann, {"released", "clawback"})
    ] == [
        (
            "released",
            "withholding",
            D("0.32"),
            src(c.a2, c.a5),
            [["0.16", "0.16"], ["0.16", "0.16"]],
        ),
        ("released", "withholding", D("0.16"), src(c.a3), []),
        ("clawback", "clawback", D("-0.32"), src(c.a3), []),
    ]
    march = payrun_approve(run=march, actor=c.hr)
    assert {
        p.policy_id: (p.commission, p.withheld, p.released, p.clawback)
        for p in PolicyPay.objects.filter(run=march)
    } == {
        c.a2.pk: (0, 0, D("0.16"), 0),
        c.a3.pk: (0, 0, D("0.16"), D("0.32")),
        c.a5.pk: (0, 0, D("0.16"), 0),
    }
    # Released once: April has nothing more to release.
    april = payrun_compute(period_start=APR, actor=c.hr)
    assert not april.lines.filter(kind__in=("released", "withheld", "clawback")).exists()


def test_the_ledger_of_runs_approved_before_it_existed_is_built_from_their_lines(cells):
    """The migration that added the ledger fills it for runs approved before, whose lines
    were one policy each (the policy foreign key, or the first ``policy:`` source)."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("telesales.compensation.migrations.0006_policy_pay_ledger")
    c = cells
    # A run of one policy a line: every policy of its own cell.
    Policy.objects.exclude(pk__in=[c.a2.pk, c.a4.pk]).delete()
    # Written the per-policy way: the lines name their policies, as they did then.
    february = payrun_approve(
        run=payrun_compute(period_start=FEB, actor=c.hr, plain_policies=False), actor=c.hr
    )
    assert not february.lines.exclude(parts=[]).exists()
    assert not february.lines.exclude(cell="").exists()
    written = sorted(PolicyPay.objects.values_list("policy_id", "commission", "withheld"))
    PolicyPay.objects.all().delete()
    migration.ledger_from_lines(apps, None)
    assert sorted(PolicyPay.objects.values_list("policy_id", "commission", "withheld")) == written
    assert written == [
        (c.a2.pk, D("0.32"), D("0.16")),
        (c.a4.pk, D("210.00"), 0),
    ]


# --- the grouping itself, over any lines ----------------------------------------------------

_line = st.builds(
    lambda person, kind, rule, rate, note, cents_: EngineLine(
        person_id=person,
        kind=kind,
        rule_id=rule,
        rule_version=1,
        amount=D(cents_) / 100,
        basis=D(abs(cents_) * 3) / 100,
        rate=rate,
        sources=(),
        note=note,
    ),
    st.integers(1, 3),
    st.sampled_from([*CELL_KINDS, "base_pay", "clawback"]),
    st.sampled_from(["r1", "r2"]),
    st.sampled_from([D("0.3"), D("0.30"), D("0.35"), None]),
    st.sampled_from(["", "waiting"]),
    st.integers(-100_000, 100_000),
)


@given(st.lists(_line, max_size=40))
def test_grouping_by_cell_keeps_every_policys_amount_and_every_total(raw):
    lines = [replace(line, sources=(f"policy:{i}",)) for i, line in enumerate(raw)]
    grouped = group_by_cell(lines)
    by_source = {line.sources[0]: line for line in lines}

    def key(line):
        return (line.person_id, line.kind, line.rule_id, line.rate, line.modifiers, line.note)

    seen_keys = set()
    expanded = []
    for out in grouped:
        if out.kind not in CELL_KINDS:
            assert out.sources[0] in by_source and out is by_source[out.sources[0]]
        else:
            assert key(out) not in seen_keys
            seen_keys.add(key(out))
        parts = out.parts or ((out.amount, out.basis),)
        assert len(parts) == len(out.sources)
        assert sum(a for a, _b in parts) == out.amount
        for source, (amount, basis) in zip(out.sources, parts, strict=True):
            original = by_source[source]
            assert (amount, basis) == (original.amount, original.basis)
            assert key(original) == key(out)
            expanded.append(source)
    # Every policy once, in its original order within each line; nothing lost.
    assert sorted(expanded) == sorted(by_source)
    assert [ln for ln in grouped if ln.kind not in CELL_KINDS] == [
        ln for ln in lines if ln.kind not in CELL_KINDS
    ]


def test_the_payslip_lists_the_policies_of_a_rate_cell_with_their_amounts(cells):
    c = cells
    run = payrun_approve(run=payrun_compute(period_start=FEB, actor=c.hr), actor=c.hr)
    client = Client()
    client.force_login(c.ann.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("compensation:payslip_detail", args=[run.pk, c.ann.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    # Two cells with parts (the 30 % commission, the withholding); the 35 % cell is one policy.
    assert body.count('data-testid="line-parts"') == 2
    assert "4 policies" in body and "3 policies" in body
    cell = body[body.index("4 policies") : body.index("</details>", body.index("4 policies"))]
    # Each policy by its number (the source in the title), with its own amount.
    for policy, amount in ((c.a1, "90.00"), (c.a2, "0.32"), (c.a3, "0.32"), (c.a5, "0.32")):
        link = reverse("compensation:policy_pay", args=[policy.pk])
        row = (
            f'<td title="policy:{policy.pk}"><a href="{link}">{policy.number}</a></td>'
            f'<td class="text-end">¥{amount}'
        )
        assert row in cell


def test_the_export_has_a_row_per_policy_of_each_rate_cell(cells):
    c = cells
    run = payrun_compute(period_start=FEB, actor=c.hr)
    book = load_workbook(io.BytesIO(payrun_export_xlsx(run=run, actor=c.hr).content))
    rows = list(book["Policies"].iter_rows(values_only=True))
    assert rows[0] == policy_headers()
    # Each row names its policy by number (one column: no raw "policy:17" beside it).
    anns = [(r[-1], r[9], D(str(r[7]))) for r in rows[1:] if r[1] == c.ann.employee_no]
    assert anns == [
        ("commission", c.a1.number, D("90.00")),
        ("commission", c.a2.number, D("0.32")),
        ("commission", c.a3.number, D("0.32")),
        ("commission", c.a5.number, D("0.32")),
        ("commission", c.a4.number, D("210.00")),
        ("withheld", c.a2.number, D("-0.16")),
        ("withheld", c.a3.number, D("-0.16")),
        ("withheld", c.a5.number, D("-0.16")),
    ]
    # The per-policy rows add up to the lines they come from.
    lines = run.lines.filter(kind__in=POLICY_KINDS)
    assert sum(D(str(r[7])) for r in rows[1:]) == sum(ln.amount for ln in lines)


def test_the_api_payslip_gives_each_policy_of_a_rate_cell(cells):
    c = cells
    run = payrun_approve(run=payrun_compute(period_start=FEB, actor=c.hr), actor=c.hr)
    client = Client()
    client.force_login(c.ann.user)
    slip = client.get(f"/api/v1/compensation/payruns/{run.pk}/payslip").json()
    by_rate = {
        (line["kind"], line["rate"]): line for line in slip["lines"] if line["kind"] != "base_pay"
    }
    cell = by_rate["commission", "0.30000000"]
    assert [(p["source"], p["amount"]) for p in cell["parts"]] == [
        (f"policy:{c.a1.pk}", "90.00"),
        (f"policy:{c.a2.pk}", "0.32"),
        (f"policy:{c.a3.pk}", "0.32"),
        (f"policy:{c.a5.pk}", "0.32"),
    ]
    assert by_rate["commission", "0.35000000"]["parts"] == []


def test_what_was_paid_for_a_policy_run_by_run(cells):
    """After February (commission 0.32, withheld 0.16) and March (released 0.16, clawed back
    0.32) A3 was paid nothing in the end; HR, the manager and Ann see it, Sam does not."""
    c = cells
    payrun_approve(run=payrun_compute(period_start=FEB, actor=c.hr), actor=c.hr)
    Policy.objects.filter(pk=c.a3.pk).update(
        status=PolicyStatus.CANCELLED, cancelled_at=at(2026, 3, 8), cancel_reason="changed_mind"
    )
    payrun_approve(run=payrun_compute(period_start=MAR, actor=c.hr), actor=c.hr)
    for user in (c.hr, c.ann.user):
        client = Client()
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        page = client.get(reverse("compensation:policy_pay", args=[c.a3.pk]))
        body = page.content.decode()
        assert page.status_code == 200 and body.count('data-testid="policy-pay-row"') == 2
        assert "Paid for this policy: ¥0.00; withheld and not released yet: ¥0.00." in body
        answer = client.get(f"/api/v1/compensation/policies/{c.a3.pk}/pay").json()
        assert [
            (r["period"], r["commission"], r["withheld"], r["released"], r["clawback"])
            for r in answer["rows"]
        ] == [
            ("2026-02", "0.32", "0.16", "0.00", "0.00"),
            ("2026-03", "0.00", "0.00", "0.16", "0.32"),
        ]
        assert (answer["paid"], answer["outstanding"]) == ("0.00", "0.00")
    # A2, still waiting for its receipt: half its commission is outstanding.
    client = Client()
    client.force_login(c.ann.user)
    answer = client.get(f"/api/v1/compensation/policies/{c.a2.pk}/pay").json()
    assert (answer["paid"], answer["outstanding"]) == ("0.16", "0.16")
    # The payslip links each policy of a cell to this page.
    slip = client.get(
        reverse("compensation:payslip_mine") + "?run=" + str(PayRun.objects.get(label="2026-02").pk)
    )
    assert reverse("compensation:policy_pay", args=[c.a3.pk]) in slip.content.decode()
    # Another agent may not; a policy that does not exist is a 404.
    sam = Client()
    sam.force_login(c.sam.user)
    assert sam.get(reverse("compensation:policy_pay", args=[c.a3.pk])).status_code == 403
    assert sam.get(f"/api/v1/compensation/policies/{c.a3.pk}/pay").status_code == 403
    assert sam.get(reverse("compensation:policy_pay", args=[99999])).status_code == 404
    # Bad ids on the API: the error shape, never a 500.
    for bad in ("99999", "9" * 30, "abc", "-1"):
        assert_error_shape(sam.get(f"/api/v1/compensation/policies/{bad}/pay"), (404, 422))
