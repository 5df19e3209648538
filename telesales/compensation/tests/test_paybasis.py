"""The pay basis (ADR 0017): each policy's pay kept current before the run.

The pay run sums the period's plain policies from ``PolicyPayBasis`` instead of computing
every policy again. What must hold, on SQLite and PostgreSQL:

- every write to a policy, its delivery or its return visit is logged by the database's own
  triggers, whoever writes (the ORM, ``QuerySet.update``, raw SQL, a delete);
- after any sequence of changes — premiums, receipts, visits, cancellations, deletions, new
  policies, an agent's level or leaving, a product's rate — the basis gives exactly the
  cells and the per-policy rest that the statement over the policies gives;
- a change reaches every period that has a basis, not only the first one refreshed;
- a trigger that went missing (SQLite drops them when a migration rebuilds a table) is put
  back, and the basis computed again from the data;
- the approval of a period drops its basis.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from telesales.compensation import paybasis
from telesales.compensation.engine import PayInputInvalid, period_for
from telesales.compensation.models import (
    PayBasisChange,
    PayBasisPending,
    PayBasisState,
    PayBasisSum,
    PayRun,
    PolicyPay,
    PolicyPayBasis,
)
from telesales.compensation.payinputs import pay_inputs
from telesales.compensation.payrun import paybasis_upkeep, payrun_approve, payrun_compute
from telesales.compensation.tests.payrun_world import FEB, MAR, at
from telesales.compensation.tests.test_payrun_plain import (
    BOOK,
    _db_policy,
    _make,
    _spec,
    plain_center,
)
from telesales.core.tests.concurrency_helpers import at_once
from telesales.operations.models import Delivery, ReturnVisit
from telesales.org.models import Person
from telesales.policies.choices import PolicyStatus
from telesales.policies.models import Policy, Product


@pytest.fixture
def center(db):
    return plain_center()


MARCH = period_for(BOOK, year=2026, month=3)
FEBRUARY = period_for(BOOK, year=2026, month=2)


def _both(period):
    """(from the basis, from the policies): the cells and the rest's policy ids."""
    out = []
    for basis in (True, False):
        with transaction.atomic():
            inputs = pay_inputs(period, plain=True, basis=basis)
        out.append((inputs.cells, sorted(p.id for p in inputs.policies), inputs.problems))
    return out


def _assert_same(period):
    from_basis, direct = _both(period)
    assert from_basis == direct
    return from_basis


def _logged() -> set[int]:
    return set(PayBasisChange.objects.values_list("policy_id", flat=True))


def test_the_triggers_are_installed_by_migrate(db):
    assert paybasis.installed_triggers() == set(paybasis.trigger_names())


def test_every_writer_of_a_policys_inputs_is_logged(center):
    c = center
    one, two, three = (_make(c, _spec(visit=None)) for _ in range(3))
    assert {one.pk, two.pk, three.pk} <= _logged()  # created
    PayBasisChange.objects.all().delete()
    Policy.objects.filter(pk=one.pk).update(annualised_premium=D("1234.00"))
    assert _logged() == {one.pk}
    with connection.cursor() as cursor:
        cursor.execute("UPDATE policies_policy SET receipt_date = NULL WHERE id = %s", [two.pk])
    assert _logged() == {one.pk, two.pk}
    PayBasisChange.objects.all().delete()
    Policy.objects.filter(pk__in=[one.pk, three.pk]).update(term_years=7)  # one statement
    assert _logged() == {one.pk, three.pk}
    PayBasisChange.objects.all().delete()
    Delivery.objects.create(policy=three, receipt_confirmed_on=dt.date(2026, 3, 9))
    assert _logged() == {three.pk}
    Delivery.objects.filter(policy=three).update(receipt_confirmed_on=dt.date(2026, 3, 10))
    visit = ReturnVisit.objects.create(policy=two, due_date=dt.date(2026, 3, 20))
    assert _logged() == {two.pk, three.pk}
    PayBasisChange.objects.all().delete()
    visit.delete()
    Delivery.objects.filter(policy=three).delete()
    Policy.objects.filter(pk=one.pk).delete()
    assert _logged() == {one.pk, two.pk, three.pk}


# --- any sequence of changes --------------------------------------------------------------

_change = st.one_of(
    st.tuples(st.just("new"), _db_policy),
    st.tuples(st.just("premium"), st.integers(0, 99), st.integers(100, 9_000_000)),
    st.tuples(st.just("receipt"), st.integers(0, 99), st.sampled_from([None, 5, 14, 20])),
    st.tuples(st.just("deliver"), st.integers(0, 99), st.sampled_from([3, 13, 25])),
    st.tuples(st.just("visit"), st.integers(0, 99), st.sampled_from([4, 13, 22])),
    st.tuples(st.just("unvisit"), st.integers(0, 99)),
    st.tuples(st.just("cancel"), st.integers(0, 99), st.sampled_from([(3, 25), (4, 3)])),
    st.tuples(st.just("delete"), st.integers(0, 99)),
    st.tuples(
        st.just("level"),
        st.sampled_from(["lee", "tina", "sam"]),
        st.sampled_from(["T0", "S1", "S3"]),
    ),
    st.tuples(st.just("leave"), st.sampled_from(["lee", "sam"])),
    st.tuples(st.just("swap")),
    st.tuples(
        st.just("rate"),
        st.sampled_from(["accident", "medical", "life"]),
        st.sampled_from(["0.3000", "0.4500"]),
    ),
)


def _apply(c, change) -> None:
    kind, *args = change
    policies = list(Policy.objects.filter(number__startswith="H").order_by("pk"))
    if kind == "new":
        _make(c, args[0])
        return
    if kind in ("level", "leave", "rate", "swap"):
        if kind == "level":
            Person.objects.filter(pk=getattr(c, args[0]).pk).update(level=c.levels[args[1]])
        elif kind == "leave":
            Person.objects.filter(pk=getattr(c, args[0]).pk).update(left_on=dt.date(2026, 2, 20))
        elif kind == "swap":
            # The same levels in service, so the same rates: only the agents' keys tell.
            sam, ann = (Person.objects.get(pk=p.pk) for p in (c.sam, c.ann))
            Person.objects.filter(pk=sam.pk).update(level=ann.level)
            Person.objects.filter(pk=ann.pk).update(level=sam.level)
        else:
            Product.objects.filter(pk=c.products[args[0]].pk).update(
                first_year_commission_rate=D(args[1])
            )
        return
    if not policies:
        return
    policy = policies[args[0] % len(policies)]
    same = Policy.objects.filter(pk=policy.pk)
    if kind == "premium":
        same.update(annualised_premium=D(args[1]) / 100)
    elif kind == "receipt":
        same.update(receipt_date=args[1] and dt.date(2026, 4, args[1]))
    elif kind == "deliver":
        Delivery.objects.update_or_create(
            policy=policy, defaults={"receipt_confirmed_on": dt.date(2026, 4, args[1])}
        )
    elif kind == "visit":
        ReturnVisit.objects.update_or_create(
            policy=policy,
            defaults={
                "due_date": dt.date(2026, 3, 20),
                "status": "done",
                "outcome": "confirmed",
                "done_at": at(2026, 4, args[1]),
            },
        )
    elif kind == "unvisit":
        ReturnVisit.objects.filter(policy=policy).delete()
    elif kind == "cancel":
        same.update(
            status=PolicyStatus.CANCELLED,
            cancelled_at=at(2026, *args[1]),
            cancel_reason="changed_mind",
        )
    elif kind == "delete":
        Delivery.objects.filter(policy=policy).delete()
        ReturnVisit.objects.filter(policy=policy).delete()
        same.delete()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(_db_policy, min_size=1, max_size=12),
    st.lists(st.lists(_change, min_size=1, max_size=4), min_size=1, max_size=4),
)
def test_after_any_changes_the_basis_gives_what_the_policies_give(center, specs, rounds):
    c = center
    with transaction.atomic():
        sid = transaction.savepoint()
        for spec in specs:
            _make(c, spec)
        _assert_same(MARCH)
        for changes in rounds:
            for change in changes:
                _apply(c, change)
            _assert_same(MARCH)
        assert PayBasisState.objects.filter(period_start=MAR).exists()
        # The sums kept agent by agent are those of the whole period summed again.
        kept = _sums(MAR)
        PayBasisState.objects.filter(period_start=MAR).delete()
        _assert_same(MARCH)
        assert _sums(MAR) == kept
        transaction.savepoint_rollback(sid)


def _sums(day) -> list[tuple]:
    return sorted(
        PayBasisSum.objects.filter(period_start=day).values_list(
            "kind", "agent_id", "cell", "late", "count", "amount", "fyc", "first", "ck"
        )
    )


def test_a_change_reaches_every_period_with_a_basis(center):
    c = center
    feb = _make(c, _spec(issued=(2, 10)))
    mar = _make(c, _spec(issued=(3, 15)))
    _assert_same(FEBRUARY)
    _assert_same(MARCH)
    # February's policy moves into March, March's gets a new premium: the March refresh reads
    # the log and leaves both changes pending for February.
    Policy.objects.filter(pk=feb.pk).update(issued_at=at(2026, 3, 5))
    Policy.objects.filter(pk=mar.pk).update(annualised_premium=D("777.00"))
    _assert_same(MARCH)
    assert PayBasisChange.objects.count() == 0
    assert set(PayBasisPending.objects.values_list("period_start", "policy_id")) == {
        (FEB, feb.pk),
        (FEB, mar.pk),
    }
    assert feb.pk in set(
        PolicyPayBasis.objects.filter(period_start=MAR, until__isnull=True).values_list(
            "policy_id", flat=True
        )
    )
    _assert_same(FEBRUARY)
    assert not PayBasisPending.objects.exists()
    assert not PolicyPayBasis.objects.filter(
        period_start=FEB, policy_id=feb.pk, until__isnull=True
    ).exists()
    # A period computed whole (a product's rate changed) still passes the changes it read
    # on to the others.
    other = _make(c, _spec(issued=(2, 12), product="life"))
    Product.objects.filter(pk=c.products["medical"].pk).update(first_year_commission_rate=D("0.41"))
    _assert_same(MARCH)
    assert set(PayBasisPending.objects.values_list("period_start", "policy_id")) == {
        (FEB, other.pk)
    }
    _assert_same(FEBRUARY)


def test_a_missing_trigger_is_put_back_and_the_basis_computed_again(center):
    c = center
    policy = _make(c, _spec(cents=100_000))
    _assert_same(MARCH)
    paybasis.drop_triggers()
    assert paybasis.installed_triggers() == set()
    # A write nobody logged: the basis alone would still pay the old premium.
    Policy.objects.filter(pk=policy.pk).update(annualised_premium=D("5000.00"))
    assert not PayBasisChange.objects.exists()
    cells, _rest, _problems = _assert_same(MARCH)
    assert paybasis.installed_triggers() == set(paybasis.trigger_names())
    commission = next(cell for cell in cells if cell.kind == "commission")
    assert (commission.first_id, commission.count) == (policy.pk, 1)
    assert commission.basis > D("1000")  # FYC of ¥5,000, not of ¥1,000


def test_sums_lost_apart_from_the_basis_are_summed_again(center):
    """The sums are derived from the basis: a period whose sums are gone (the table emptied,
    restored apart) is computed and summed whole at its next refresh, not paid as nothing."""
    c = center
    _make(c, _spec())
    _make(c, _spec(agent="ann", receipt=None))
    cells, *_ = _assert_same(MARCH)
    assert cells
    kept = _sums(MAR)
    PayBasisSum.objects.filter(period_start=MAR).delete()
    again, *_ = _assert_same(MARCH)
    assert again == cells and _sums(MAR) == kept


def test_agents_whose_rate_key_changed_are_computed_again(center):
    """Two agents swap levels (the same levels in service, so the same rates and context),
    then one leaves: read at each run, the people's keys tell which agents to compute again."""
    c = center
    _make(c, _spec(agent="sam"))
    _make(c, _spec(agent="ann"))
    lees = _make(c, _spec(agent="lee"))
    before, *_ = _assert_same(MARCH)
    context = PayBasisState.objects.get(period_start=MAR).context
    _apply(c, ("swap",))
    assert not PayBasisChange.objects.exists()  # not a policy's write
    after, *_ = _assert_same(MARCH)
    assert PayBasisState.objects.get(period_start=MAR).context == context
    rates = {cell.agent_id: cell.rate for cell in before if cell.kind == "commission"}
    swapped = {cell.agent_id: cell.rate for cell in after if cell.kind == "commission"}
    assert swapped[c.sam.pk] == rates[c.ann.pk] and swapped[c.ann.pk] == rates[c.sam.pk]
    _apply(c, ("leave", "lee"))
    cells, rest, _problems = _assert_same(MARCH)
    assert c.lee.pk not in {cell.agent_id for cell in cells}
    assert lees.pk in rest  # paid (or reported) the per-policy way
    assert PayBasisState.objects.get(period_start=MAR).context == context


def test_the_approval_keeps_only_what_its_lines_stand_for(center):
    """Changes after the run write new versions of the basis; the run's cell lines still show
    the rows it read, and the approval keeps those alone, writes them to the ledger and stops
    keeping the period current."""
    c = center
    policy = _make(c, _spec(issued=(3, 2), cents=100_000))
    _make(c, _spec(issued=(3, 3), cents=200_000))
    run = payrun_compute(period_start=MAR, actor=c.hr)
    line = run.lines.get(kind="commission", person=c.sam)
    assert line.cell
    read = {p: a for p, _n, a, _b in _parts(line)}
    # A later premium: the upkeep computes a new version, the run still shows what it paid.
    Policy.objects.filter(pk=policy.pk).update(annualised_premium=D("9000.00"))
    paybasis_upkeep(today=dt.date(2026, 3, 20))
    assert PolicyPayBasis.objects.filter(period_start=MAR, policy_id=policy.pk).count() == 2
    line = run.lines.get(pk=line.pk)
    assert {p: a for p, _n, a, _b in _parts(line)} == read
    assert sum(read.values()) == line.amount
    assert PayBasisSum.objects.filter(period_start=MAR).exists()
    payrun_approve(run=run, actor=c.hr)
    assert not PayBasisState.objects.filter(period_start=MAR).exists()
    assert not PayBasisSum.objects.filter(period_start=MAR).exists()
    kept = PolicyPayBasis.objects.filter(period_start=MAR)
    assert kept.count() == 2 and not kept.filter(since__gt=run.basis_seq).exists()
    ledger = dict(PolicyPay.objects.filter(run=run).values_list("policy_id", "commission"))
    assert ledger == {f"policy:{p}": a for p, a in read.items()} or ledger == {
        int(p.split(":")[1]): a for p, a in read.items()
    }
    line = run.lines.get(pk=line.pk)
    assert {p: a for p, _n, a, _b in _parts(line)} == read


def _parts(line):
    """(source, number, amount, basis) of each policy of a line, as the payslip lists them."""
    return [(source, None, amount, basis) for source, amount, basis in line.source_parts]


def test_a_rerun_reads_the_basis_without_computing_it_again(center):
    """The second run finds nothing changed: it sums the basis the first one left, without
    computing a policy again; a change is computed alone."""
    c = center
    policies = [_make(c, _spec()) for _ in range(3)]
    first = payrun_compute(period_start=MAR, actor=c.hr)
    with CaptureQueriesContext(connection) as queries:
        second = payrun_compute(period_start=MAR, actor=c.hr)
    assert second.input_fingerprint == first.input_fingerprint
    inserts = [q["sql"] for q in queries if "INSERT INTO compensation_policypaybasis" in q["sql"]]
    assert len(inserts) == 1 and "ts_paybasis_todo" in inserts[0]  # the changed ones only
    # Nothing changed: the sums are read as they were kept.
    assert not [q for q in queries if "INSERT INTO compensation_paybasissum" in q["sql"]]
    before = _sums(MAR)
    ann = _make(c, _spec(agent="ann"))
    Policy.objects.filter(pk=policies[0].pk).update(annualised_premium=D("4321.00"))
    with CaptureQueriesContext(connection) as queries:
        third = payrun_compute(period_start=MAR, actor=c.hr)
    assert third.input_fingerprint != first.input_fingerprint
    # Summed again: the two agents whose policies changed, not the period.
    (cleared,) = [q["sql"] for q in queries if "DELETE FROM compensation_paybasissum" in q["sql"]]
    assert "agent_id" in cleared
    after = _sums(MAR)
    assert {row[1] for row in set(after) ^ set(before)} == {c.sam.pk, ann.agent_id}


def test_the_upkeep_keeps_the_open_periods_current_and_forgets_approved_ones(center):
    from telesales.compensation.payrun import paybasis_upkeep
    from telesales.compensation.tasks import paybasis_upkeep_task

    c = center
    feb = _make(c, _spec(issued=(2, 10)))
    mar = [_make(c, _spec(issued=(3, day))) for day in (1, 15)]
    assert paybasis_upkeep(today=dt.date(2026, 3, 20)) == [MAR]
    assert set(
        PolicyPayBasis.objects.filter(period_start=MAR).values_list("policy_id", flat=True)
    ) == {p.pk for p in mar}
    # A run of February leaves its basis; the upkeep keeps it current until the approval.
    run = payrun_compute(period_start=FEB, actor=c.hr)
    Policy.objects.filter(pk=feb.pk).update(annualised_premium=D("2222.00"))
    assert paybasis_upkeep(today=dt.date(2026, 3, 21)) == [FEB, MAR]
    assert not PayBasisPending.objects.exists() and not PayBasisChange.objects.exists()
    _assert_same(FEBRUARY)
    payrun_approve(run=payrun_compute(period_start=FEB, actor=c.hr), actor=c.hr)
    assert run.pk == PayRun.objects.get(period_start=FEB).pk
    PayBasisState.objects.create(period_start=FEB, context="x", refreshed_at=at(2026, 3, 1))
    done = paybasis_upkeep_task.apply().get()  # today's period too
    assert "2026-03-01" in done and "2026-02-01" not in done
    assert not PayBasisState.objects.filter(period_start=FEB).exists()


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(_db_policy, min_size=1, max_size=15))
def test_the_ledger_of_cell_lines_is_the_per_policy_paths(center, specs):
    """Approved, a run whose lines name their pay basis cells writes the same per-policy
    ledger (commission, withheld, released, clawback of each policy) as the run that lists
    every policy on its lines."""
    c = center
    ledgers = []
    with transaction.atomic():
        outer = transaction.savepoint()
        for spec in specs:
            _make(c, spec)
        for plain in (True, False):
            sid = transaction.savepoint()
            try:
                run = payrun_compute(period_start=MAR, actor=c.hr, plain_policies=plain)
            except PayInputInvalid:
                transaction.savepoint_rollback(sid)
                ledgers.append(None)
                continue
            assert (run.basis_seq is not None) == plain
            payrun_approve(run=run, actor=c.hr, negatives_acknowledged=True)
            ledgers.append(
                sorted(
                    PolicyPay.objects.filter(run=run).values_list(
                        "policy_id", "person_id", "commission", "withheld", "released", "clawback"
                    )
                )
            )
            transaction.savepoint_rollback(sid)
        transaction.savepoint_rollback(outer)
    assert ledgers[0] == ledgers[1]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="an index of SQLite's sums only")
def test_sqlite_sums_the_basis_along_its_index_and_puts_it_back(center):
    """The sums read the partial index of the current rows (no sort, no table read); an index
    lost (a migration that rebuilds the table drops it) is created again by the next refresh."""
    from telesales.compensation.paybasis import BASIS, SUMS_INDEX

    c = center
    _make(c, _spec())
    _assert_same(MARCH)

    asked = []

    def plan() -> str:
        asked.append(1)  # a new text each time: sqlite3 keeps prepared statements and plans
        with connection.cursor() as cursor:
            cursor.execute(
                f"EXPLAIN QUERY PLAN SELECT {len(asked)}, agent_id, cell, late, SUM(amount) "
                f"FROM {BASIS} WHERE period_start = '2026-03-01' AND until IS NULL "
                "GROUP BY agent_id, cell, late"
            )
            return " ".join(str(row[-1]) for row in cursor.fetchall())

    assert SUMS_INDEX in plan() and "TEMP B-TREE" not in plan()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX {SUMS_INDEX}")
    assert SUMS_INDEX not in plan()
    _assert_same(MARCH)
    assert SUMS_INDEX in plan()


@pytest.mark.django_db(transaction=True)
def test_a_run_and_the_upkeep_starting_a_period_at_once_both_finish(monkeypatch):
    """Two refreshes of a period without a basis at the same moment (a run and the upkeep):
    both see no state; the state row is created apart and then locked, so the second waits for
    the first and reads what it wrote, instead of failing on the state's unique period."""
    if connection.vendor != "postgresql":
        pytest.skip("real concurrent transactions need PostgreSQL (SQLite serialises writers)")
    import contextlib
    import threading

    from telesales.compensation.payinputs import pay_basis_refresh

    c = plain_center()
    _make(c, _spec())
    met = threading.Barrier(2, timeout=3)
    consume = paybasis.Refresh._consume_log

    def meet_then_consume(self, *, whole):
        # Both past their look at the state, unless one waits for the other's (then the
        # barrier breaks after 3 s and each goes on).
        with contextlib.suppress(threading.BrokenBarrierError):
            met.wait()
        return consume(self, whole=whole)

    monkeypatch.setattr(paybasis.Refresh, "_consume_log", meet_then_consume)

    def refresh() -> object:
        with transaction.atomic():
            return pay_basis_refresh(MARCH, BOOK)

    outcomes = at_once(refresh, refresh)
    assert outcomes == [1, 1]  # one commission cell each time, no error
    assert PayBasisState.objects.filter(period_start=MAR).count() == 1
    assert PolicyPayBasis.objects.filter(period_start=MAR, until__isnull=True).count() == 1
