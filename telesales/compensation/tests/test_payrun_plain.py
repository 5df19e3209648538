"""Plain policies (ADR 0016): the pay run has the database pay the bulk of a month's policies,
summed per rate cell (``paycells``), instead of one ``PolicyIn`` and one line per policy. The
two forms must give the same lines, to the cent and in the same order, and report the same
problems:

- ``payrun_compute`` with and without plain policies writes identical lines for centers of
  policies in every state (issued, cancelled in or after the month, earlier months'
  cancellations and withholdings, standard-basis products, deliveries and return visits done,
  open, misunderstood and resolved), on SQLite and on PostgreSQL, and in a zone with daylight
  saving;
- each policy of a cell is rounded on its own; a premium too large for whole-number
  arithmetic is paid the per-policy way;
- what cannot be paid (a product without an FYC rate, no rate for a cell) is reported the
  same way by both.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import ROUND_HALF_UP
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from telesales.compensation import paycells
from telesales.compensation.engine import PayInputInvalid, period_for
from telesales.compensation.models import PayLine, PayRun, PolicyPay
from telesales.compensation.notes import note_text
from telesales.compensation.paybasis import expand_lines
from telesales.compensation.payinputs import pay_inputs
from telesales.compensation.payrun import payrun_approve, payrun_compute
from telesales.compensation.rules_format import ruleset_parse
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH
from telesales.compensation.tests.payrun_world import FEB, MAR, Center, at
from telesales.compensation.tests.test_payrun import line_tuples
from telesales.operations.choices import VisitOutcome, VisitStatus
from telesales.operations.models import Delivery, ReturnVisit
from telesales.org.models import Person
from telesales.policies.choices import CommissionBasis, PolicyStatus
from telesales.policies.models import Policy
from telesales.policies.tests.factories import ProductFactory

d = dt.date
BOOK, _ERRORS = ruleset_parse(DEFAULT_RULESET_PATH.read_text(encoding="utf-8"))
PERIOD = period_for(BOOK, year=2026, month=3)

# --- the cells' text --------------------------------------------------------------------------


# --- the database ----------------------------------------------------------------------------

_db_policy = st.fixed_dictionaries(
    {
        "agent": st.sampled_from(["lee", "tina", "sam", "kai", "ann", "gone"]),
        "product": st.sampled_from(["accident", "medical", "life", "standard_life", "pension"]),
        "mode": st.sampled_from(["annual", "single", "monthly"]),
        "term": st.integers(min_value=1, max_value=30),
        "cents": st.integers(min_value=100, max_value=5_000_000),
        "issued": st.sampled_from([(2, 10), (3, 1), (3, 15), (3, 31)]),
        "cancelled": st.sampled_from([None, None, None, (3, 20), (4, 2)]),
        "receipt": st.sampled_from([None, (3, 5), (4, 10), (4, 20)]),
        "delivered": st.sampled_from([None, None, (3, 3), (4, 15)]),
        "visit": st.sampled_from(
            [
                None,
                "open",
                ("done", (3, 6), 23),
                ("done", (4, 20), 10),
                # 01:00 on 14 April in Shanghai is still 13 April in UTC: the deadline's day.
                ("done", (4, 14), 1),
                "misunderstood",
                "resolved",
            ]
        ),
    }
)


@pytest.fixture
def center(db):
    return plain_center()


def plain_center() -> Center:
    """The pay-run center with an agent who left in February and a standard-basis product."""
    c = Center()
    c.gone = c.person(c.team_b, "gone", "agent", "S3", leader=c.kai)
    Person.objects.filter(pk=c.gone.pk).update(left_on=dt.date(2026, 2, 20))
    c.attend(FEB, dict.fromkeys((c.lee, c.tina, c.sam, c.kai, c.ann, c.gone), (20, 20)))
    c.attend(MAR, dict.fromkeys((c.lee, c.tina, c.sam, c.kai, c.ann), (22, 22)))
    c.products["standard_life"] = ProductFactory(
        category="life",
        commission_basis=CommissionBasis.STANDARD,
        first_year_commission_rate=D("0.2500"),
    )
    return c


def _make(c: Center, spec: dict) -> Policy:
    month, day = spec["issued"]
    issued = at(2026, month, day, hour=23 if day == 31 else 10)
    c.numbers += 1
    status, cancelled_at = PolicyStatus.ISSUED, None
    if spec["cancelled"] is not None:
        status, cancelled_at = PolicyStatus.CANCELLED, at(2026, *spec["cancelled"])
    receipt = spec["receipt"] and d(2026, *spec["receipt"])
    policy = Policy.objects.create(
        number=f"H{c.numbers:05d}",
        lead=c.lead,
        holder=c.customer,
        agent=getattr(c, spec["agent"]),
        team=getattr(c, spec["agent"]).team,
        product=c.products[spec["product"]],
        annualised_premium=D(spec["cents"]) / 100,
        payment_mode=spec["mode"],
        term_years=spec["term"],
        status=status,
        applied_at=issued - dt.timedelta(days=1),
        issued_at=issued,
        receipt_date=receipt,
        cancelled_at=cancelled_at,
        cancel_reason="changed_mind" if cancelled_at else "",
    )
    if spec["delivered"] is not None:
        Delivery.objects.create(policy=policy, receipt_confirmed_on=d(2026, *spec["delivered"]))
    visit = spec["visit"]
    if visit == "open":
        ReturnVisit.objects.create(policy=policy, due_date=d(2026, 3, 20))
    elif isinstance(visit, tuple):
        ReturnVisit.objects.create(
            policy=policy,
            due_date=d(2026, 3, 20),
            status=VisitStatus.DONE,
            outcome=VisitOutcome.CONFIRMED,
            done_at=at(2026, *visit[1], hour=visit[2]),
        )
    elif visit in ("misunderstood", "resolved"):
        ReturnVisit.objects.create(
            policy=policy,
            due_date=d(2026, 3, 20),
            status=VisitStatus.DONE,
            outcome=VisitOutcome.MISUNDERSTANDING,
            done_at=at(2026, 3, 7),
            flagged_at=at(2026, 3, 7),
            # Resolved after the receipt deadline (13 April): late, unlike the visit itself.
            resolved_at=at(2026, 4, 20) if visit == "resolved" else None,
        )
    return policy


def _compare(c: Center, period_start: dt.date):
    out = []
    for plain in (False, True):
        try:
            run = payrun_compute(period_start=period_start, actor=c.hr, plain_policies=plain)
            out.append((line_tuples(run), run.total, run.line_count))
        except PayInputInvalid as exc:
            out.append(sorted(exc.problems))
    per_policy, plain = out
    assert plain == per_policy
    return plain


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(_db_policy, min_size=1, max_size=25))
def test_payrun_with_plain_policies_writes_the_lines_of_the_per_policy_path(center, specs):
    c = center
    Policy.objects.filter(number__startswith="H").delete()
    for spec in specs:
        _make(c, spec)
    # February computed and approved (its withholdings and commissions feed March's releases
    # and clawbacks), then March both ways; undone afterwards for the next example.
    with contextlib.suppress(PayInputInvalid):  # February may hold a policy without a rate
        payrun_approve(run=payrun_compute(period_start=FEB, actor=c.hr), actor=c.hr)
    try:
        result = _compare(c, MAR)
        event("problems reported" if isinstance(result, list) else "lines written")
    finally:
        PolicyPay.objects.all().delete()
        PayLine.objects.all().delete()
        PayRun.objects.all().delete()


def test_plain_and_per_policy_report_the_same_problems(center):
    c = center
    broken = ProductFactory(category="medical", first_year_commission_rate=D("0"))
    c.products["broken"] = broken
    _make(c, _spec(product="broken"))
    _make(c, _spec(product="medical"))
    _make(c, _spec(product="broken", agent="ann"))
    problems = _compare(c, MAR)
    assert [record for record, _reason in problems] == [
        f"policy:{p.pk}" for p in Policy.objects.filter(product=broken).order_by("pk")
    ]


def test_plain_policies_pay_what_the_per_policy_path_pays(center):
    c = center
    specs = [
        _spec(),
        _spec(agent="tina", product="standard_life", term=12),
        _spec(agent="ann", receipt=None, visit=None),
        _spec(agent="ann", receipt=(4, 20), visit=("done", (3, 6), 10)),
        _spec(agent="kai", visit="resolved"),
        _spec(agent="kai", visit=("done", (4, 14), 1)),
        _spec(agent="gone"),
        _spec(agent="sam", cancelled=(4, 2)),
        _spec(agent="sam", cancelled=(3, 20)),
    ]
    for spec in specs:
        _make(c, spec)
    lines, total, count = _compare(c, MAR)
    assert total > 0 and count == len(lines)
    kinds = {line[2] for line in lines}
    assert {"commission", "withheld", "management_allowance"} <= kinds


def test_the_policies_done_after_the_deadline_are_one_withheld_line(center):
    """Policies whose receipt came back after the deadline (13 April), on different days:
    one withheld line for the person, naming the deadline, its parts the policies (ADR
    0018), on both paths; what still waits keeps its own line."""
    c = center
    late = [_make(c, _spec(receipt=(4, day))) for day in (15, 20, 22)]
    waiting = _make(c, _spec(receipt=None))
    _compare(c, MAR)
    run = PayRun.objects.get(period_start=MAR)
    held = list(run.lines.filter(kind="withheld", person=c.sam).order_by("position"))
    assert [note_text(line.note) for line in held] == [
        "done after the deadline 2026-04-13",
        "waiting for: receipt",
    ]
    expand_lines(held)
    assert held[0].sources == [f"policy:{p.pk}" for p in late]
    assert held[1].sources == [f"policy:{waiting.pk}"]
    share = held[0].rate  # the rule set's share withheld
    assert share and held[1].rate == share
    commission = {
        source: amount
        for line in run.lines.filter(kind="commission", person=c.sam)
        for source, amount, _basis in line.source_parts
    }
    assert [amount for _source, amount, _basis in held[0].source_parts] == [
        -(commission[f"policy:{p.pk}"] * share).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        for p in late
    ]


def _spec(**overrides) -> dict:
    spec = {
        "agent": "sam",
        "product": "medical",
        "mode": "annual",
        "term": 5,
        "cents": 123_456,
        "issued": (3, 15),
        "cancelled": None,
        "receipt": (3, 5),
        "delivered": None,
        "visit": ("done", (3, 6), 10),
    }
    spec.update(overrides)
    return spec


def test_the_fingerprint_follows_the_plain_policies_inputs(center):
    """The plain policies are hashed as read: the same data gives the same fingerprint, a
    premium or a receipt changed gives another one."""
    c = center
    policy = _make(c, _spec())
    _make(c, _spec(agent="ann", receipt=None, visit=None))

    def fingerprint():
        return payrun_compute(period_start=MAR, actor=c.hr).input_fingerprint

    first = fingerprint()
    assert fingerprint() == first
    Policy.objects.filter(pk=policy.pk).update(annualised_premium=D("1234.57"))
    second = fingerprint()
    assert second != first
    Policy.objects.filter(pk=policy.pk).update(receipt_date=d(2026, 3, 6))
    assert fingerprint() not in (first, second)


def test_each_policy_of_a_cell_is_rounded_on_its_own(center):
    """Three policies of one rate cell whose commissions end in half a cent or less: each is
    rounded half up on its own, as the per-policy path rounds them, and the cell's amount is
    the sum of the rounded ones."""
    c = center
    made = [
        _make(c, _spec(cents=cents, receipt=(3, 5), visit=("done", (3, 6), 10)))
        for cents in (105, 333, 30_000_001)
    ]
    _compare(c, MAR)
    run = PayRun.objects.get(period_start=MAR)
    line = run.lines.get(kind="commission", person=c.sam)
    assert line.cell and line.sources == [] and line.parts == []  # it names its cell
    expand_lines([line])  # the cell's policies, from the pay basis
    assert line.sources == [f"policy:{p.pk}" for p in made]
    rate = line.rate
    fyc_rate = c.products["medical"].first_year_commission_rate
    expected = [
        (D(cents) / 100 * fyc_rate * rate).quantize(D("0.01"), rounding=ROUND_HALF_UP)
        for cents in (105, 333, 30_000_001)
    ]
    assert [D(amount) for amount, _basis in line.parts] == expected
    assert line.amount == sum(expected)
    fyc = sum(D(cents) / 100 * fyc_rate for cents in (105, 333, 30_000_001))
    assert line.basis == fyc.quantize(D("0.01"), rounding=ROUND_HALF_UP)  # stored to the cent


def test_a_premium_too_large_for_whole_numbers_is_paid_per_policy(center, monkeypatch):
    """A premium whose commission in whole numbers could overflow is left out of the cells
    and paid the per-policy way: the same lines. (The largest premium a policy may hold is far
    below the limit of 64-bit integers; the test lowers that limit to reach the case.)"""
    monkeypatch.setattr(paycells, "_INT_MAX", 10**12)
    c = center
    huge = _make(c, _spec(cents=999_999_999_999))
    small = _make(c, _spec(cents=123_456))
    inputs = pay_inputs(period_for(BOOK, year=2026, month=3), plain=True)
    assert huge.pk in {p.id for p in inputs.policies}
    assert [(cell.first_id, cell.count) for cell in inputs.cells if cell.kind == "commission"] == [
        (small.pk, 1)
    ]
    lines, _total, _count = _compare(c, MAR)
    assert any(f"policy:{huge.pk}" in line[9] for line in lines)


def test_a_zone_with_daylight_saving_reads_return_visit_days_the_slow_way(center):
    """SQLite shifts a stored UTC time by the zone's offset to find its local day only when
    the zone has kept one offset; across a daylight-saving change (London, 29 March 2026) it
    asks Django's function, and the plain cells still pay what the per-policy path pays."""
    c = center
    period = period_for(BOOK, year=2026, month=3)
    assert paycells._fixed_offset(period) == 8 * 60  # Shanghai: no daylight saving
    with timezone.override(ZoneInfo("Europe/London")):
        assert paycells._fixed_offset(period) is None
        for spec in (
            _spec(visit=("done", (3, 30), 23)),  # 23:00 Shanghai = 16:00 London, same day
            _spec(agent="ann", visit=("done", (4, 14), 1)),  # 13 April in London
            _spec(agent="kai", visit="resolved"),
        ):
            _make(c, spec)
        lines, _total, _count = _compare(c, MAR)
    assert any(line[2] == "withheld" for line in lines)
