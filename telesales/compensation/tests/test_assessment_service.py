"""Assessment runs against the database: inputs from policies and persistency, HR decisions,
approval moving levels through the audited org service, re-runs and locking.

The default rule set: S1 keeps its level with 2 of (3-month FYC ≥ 3000, cases ≥ 3,
persistency ≥ 0.80); M1 needs team FYC ≥ 45000 and 8 people; T0 is promoted with 3-month FYC
≥ 3000 and 3 cases and exits after 3 months of probation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telesales.compensation.assessing import (
    assessment_outcome_decide,
    assessment_run,
    assessment_run_approve,
)
from telesales.compensation.models import AssessmentRunStatus, HRDecision
from telesales.compensation.tests.assessment_world import (
    AssessmentCenter,
    criterion,
    outcomes_of,
)
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.models import AuditEntry
from telesales.org.models import Person
from telesales.policies.choices import PolicyStatus
from telesales.policies.models import Policy
from telesales.policies.tests.factories import UserFactory


@pytest.fixture
def c(db):
    center = AssessmentCenter()
    Person.objects.filter(pk=center.tina.pk).update(hire_date=dt.date(2026, 4, 10))
    return center


def test_run_measures_fyc_and_cases_from_policies_in_the_window(c):
    c.sale(c.ann, "1500.00", dt.date(2026, 4, 1))  # first day of the window
    c.sale(c.ann, "1500.00", dt.date(2026, 6, 30))  # last day
    c.sale(c.ann, "900.00", dt.date(2026, 3, 31))  # the day before: outside
    cancelled = c.sale(c.ann, "600.00", dt.date(2026, 5, 2))
    Policy.objects.filter(pk=cancelled.pk).update(
        status=PolicyStatus.CANCELLED,
        cancelled_at=cancelled.issued_at + dt.timedelta(days=3),
        cancel_reason="changed_mind",
    )
    run = assessment_run(label="2026-06", actor=c.hr)
    fyc = criterion(run, c.ann, "maintain", "fyc")
    assert (fyc["value"], fyc["threshold"], fyc["met"]) == ("3000.00", "3000.00", True)
    assert criterion(run, c.ann, "maintain", "cases")["value"] == "2"
    assert criterion(run, c.ann, "maintain", "persistency13")["waived"] == "no_cohort"
    # 2 of the 2 that remain are needed: cases fall short.
    got = outcomes_of(run)
    assert got["ann"] == ("extend", "S1", "S1", HRDecision.PENDING)
    assert got["tina"] == ("maintain", "T0", "T0", HRDecision.PENDING)
    assert got["lee"][0] == "extend" and got["sam"][0] == "extend"
    assert run.outcomes.get(person=c.ann).effective_date == dt.date(2026, 7, 1)


def test_only_levels_due_are_assessed(c):
    run = assessment_run(label="2026-05", actor=c.hr)
    assert set(outcomes_of(run)) == {"tina"}  # T0 monthly; S1, S2, M1 quarterly


def test_persistency_comes_from_the_13_month_cohorts_of_the_window(c):
    kept = c.sale(c.ann, "300.00", dt.date(2025, 4, 15))
    lapsed = c.sale(c.ann, "300.00", dt.date(2025, 6, 3))
    c.second_year_premium(kept, paid=True)
    c.second_year_premium(lapsed, paid=False)
    c.sale(c.ann, "3000.00", dt.date(2026, 5, 5))
    run = assessment_run(label="2026-06", actor=c.hr)
    per = criterion(run, c.ann, "maintain", "persistency13")
    assert (per["value"], per["met"], per["waived"]) == ("0.5000", False, None)
    assert outcomes_of(run)["ann"][0] == "extend"  # FYC met, 1 case, persistency 50 %


def test_trainee_promoted_and_approval_moves_the_level_with_an_audit_entry(c):
    for day in (dt.date(2026, 5, 3), dt.date(2026, 5, 9), dt.date(2026, 6, 1)):
        c.sale(c.tina, "1200.00", day)
    run = assessment_run(label="2026-06", actor=c.hr)
    assert outcomes_of(run)["tina"][:3] == ("promote", "T0", "S1")
    for outcome in run.outcomes.all():
        decision = HRDecision.APPROVED if outcome.person_id == c.tina.pk else HRDecision.REJECTED
        assessment_outcome_decide(outcome=outcome, decision=decision, actor=c.hr, note="ok")
    assessment_run_approve(run=run, actor=c.hr)
    c.tina.refresh_from_db()
    c.ann.refresh_from_db()
    assert c.tina.level.code == "S1"
    assert c.ann.level.code == "S1"  # rejected: unchanged
    entry = AuditEntry.objects.get(action="org.person_update", object_id=str(c.tina.pk))
    assert "2026-07-01" in entry.reason and "S1" in entry.reason
    assert AuditEntry.objects.filter(action="compensation.assessment_run_approve").count() == 1
    assert AuditEntry.objects.filter(action="compensation.assessment_outcome_decide").count() == (
        run.outcomes.count()
    )


@pytest.mark.django_db(transaction=True)
def test_approval_runs_in_its_own_transaction_outside_any_request():
    """The approval was not atomic (its decorator sat on a helper): outside a transaction,
    as the API calls it, PostgreSQL refused its row lock (a server error found by fuzzing),
    and a refused move would have left the earlier ones applied. Here no test transaction
    wraps the call."""
    c = AssessmentCenter()
    Person.objects.filter(pk=c.tina.pk).update(hire_date=dt.date(2026, 4, 10))
    for day in (dt.date(2026, 5, 3), dt.date(2026, 5, 9), dt.date(2026, 6, 1)):
        c.sale(c.tina, "1200.00", day)
    run = assessment_run(label="2026-06", actor=c.hr)
    for outcome in run.outcomes.all():
        assessment_outcome_decide(outcome=outcome, decision=HRDecision.APPROVED, actor=c.hr)
    approved = assessment_run_approve(run=run, actor=c.hr)
    assert approved.status == AssessmentRunStatus.APPROVED
    assert Person.objects.get(pk=c.tina.pk).level.code == "S1"


def test_trainee_not_confirmed_by_the_end_of_probation_exits(c):
    run = assessment_run(label="2026-07", actor=c.hr)  # probation ends 2026-07-09
    assert outcomes_of(run)["tina"][:3] == ("exit", "T0", None)


def test_extend_once_then_demote_across_runs(c):
    march = c.run_and_approve_all("2026-03")
    assert outcomes_of(march)["ann"] == ("extend", "S1", "S1", HRDecision.APPROVED)
    run = assessment_run(label="2026-06", actor=c.hr)
    got = outcomes_of(run)
    assert got["ann"][:3] == ("demote", "S1", "T0")
    assert run.outcomes.get(person=c.ann).criteria["extensions_used"] == 1
    assert got["lee"][:3] == ("demote", "M1", "S3")  # demotes_to in the default rule set
    for outcome in run.outcomes.all():
        assessment_outcome_decide(outcome=outcome, decision=HRDecision.APPROVED, actor=c.hr)
    assessment_run_approve(run=run, actor=c.hr)
    c.ann.refresh_from_db()
    assert c.ann.level.code == "T0"


def test_rejected_extension_does_not_count(c):
    c.run_and_approve_all("2026-03", decision=HRDecision.REJECTED)
    run = assessment_run(label="2026-06", actor=c.hr)
    assert outcomes_of(run)["ann"][0] == "extend"


def test_rerunning_a_draft_gives_identical_outcomes_and_keeps_decisions(c):
    c.sale(c.ann, "3000.00", dt.date(2026, 5, 5))
    run = assessment_run(label="2026-06", actor=c.hr)
    before = [(o.person_id, o.outcome, o.to_level_id, o.criteria) for o in run.outcomes.all()]
    decided = run.outcomes.get(person=c.sam)
    assessment_outcome_decide(outcome=decided, decision=HRDecision.APPROVED, actor=c.hr)
    again = assessment_run(label="2026-06", actor=c.hr)
    assert again.pk == run.pk and again.run_count == 2
    after = [(o.person_id, o.outcome, o.to_level_id, o.criteria) for o in again.outcomes.all()]
    assert after == before
    assert again.outcomes.get(person=c.sam).decision == HRDecision.APPROVED
    # A changed outcome goes back to pending.
    assessment_outcome_decide(
        outcome=again.outcomes.get(person=c.ann), decision=HRDecision.APPROVED, actor=c.hr
    )
    for day in (dt.date(2026, 6, 1), dt.date(2026, 6, 2)):
        c.sale(c.ann, "300.00", day)
    third = assessment_run(label="2026-06", actor=c.hr)
    assert outcomes_of(third)["ann"] == ("maintain", "S1", "S1", HRDecision.PENDING)


def test_an_approved_run_is_locked(c):
    run = c.run_and_approve_all("2026-06")
    assert run.status == AssessmentRunStatus.APPROVED
    with pytest.raises(InvalidState):
        assessment_run(label="2026-06", actor=c.hr)
    with pytest.raises(InvalidState):
        assessment_run_approve(run=run, actor=c.hr)
    with pytest.raises(InvalidState):
        assessment_outcome_decide(
            outcome=run.outcomes.first(), decision=HRDecision.REJECTED, actor=c.hr
        )


def test_approval_needs_every_outcome_decided(c):
    run = assessment_run(label="2026-06", actor=c.hr)
    with pytest.raises(InvalidState, match="wait for a decision"):
        assessment_run_approve(run=run, actor=c.hr)


def test_deciding_twice_is_refused(c):
    run = assessment_run(label="2026-06", actor=c.hr)
    outcome = run.outcomes.first()
    assessment_outcome_decide(outcome=outcome, decision=HRDecision.APPROVED, actor=c.hr)
    with pytest.raises(InvalidState, match="already"):
        assessment_outcome_decide(outcome=outcome, decision=HRDecision.REJECTED, actor=c.hr)


def test_bad_decision_and_bad_label_are_rejected(c):
    run = assessment_run(label="2026-06", actor=c.hr)
    with pytest.raises(ValidationFailed):
        assessment_outcome_decide(outcome=run.outcomes.first(), decision="maybe", actor=c.hr)
    for label in ("2026-13", "2026/06", "", "June"):
        with pytest.raises(ValidationFailed):
            assessment_run(label=label, actor=c.hr)
    with pytest.raises(ValidationFailed, match="No approved rule set"):
        assessment_run(label="2025-06", actor=c.hr)


def _next_month_label() -> str:
    from django.utils import timezone

    today = timezone.localdate()
    index = today.year * 12 + today.month  # next month, 0-based month
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def test_a_period_that_has_not_started_is_neither_run_nor_approved(c):
    # It used to run: with nothing sold yet everyone failed, and trainees were proposed to exit.
    from telesales.compensation.models import AssessmentRun
    from telesales.compensation.selectors import ruleset_in_force

    label = _next_month_label()
    with pytest.raises(ValidationFailed, match="has not started yet") as caught:
        assessment_run(label=label, actor=c.hr)
    assert list(caught.value.fields) == ["label"]
    assert not AssessmentRun.objects.filter(label=label).exists()
    # A draft of such a period left from before cannot be approved either.
    ruleset = ruleset_in_force(on=dt.date(2026, 6, 1))
    year, month = int(label[:4]), int(label[5:])
    draft = AssessmentRun.objects.create(
        label=label,
        period_end=dt.date(year + 1, month, 1),
        ruleset=ruleset,
        ruleset_version=ruleset.version,
        run_count=1,
    )
    with pytest.raises(InvalidState, match="has not started yet"):
        assessment_run_approve(run=draft, actor=c.hr)
    draft.refresh_from_db()
    assert draft.status == AssessmentRunStatus.DRAFT


def test_only_hr_and_the_manager_may_run_or_decide(c):
    agent = c.ann.user
    lead = c.lee.user
    for user in (agent, lead, UserFactory(username="nobody", roles=[])):
        with pytest.raises(PermissionDenied):
            assessment_run(label="2026-06", actor=user)
    run = assessment_run(label="2026-06", actor=c.hr)
    with pytest.raises(PermissionDenied):
        assessment_outcome_decide(
            outcome=run.outcomes.first(), decision=HRDecision.APPROVED, actor=agent
        )
    with pytest.raises(PermissionDenied):
        assessment_run_approve(run=run, actor=lead)


def test_run_query_count_does_not_grow_with_people(c, django_assert_max_num_queries):
    from telesales.core.roles import Role

    for i in range(20):
        agent = c.person(c.team_a, f"extra{i}", Role.AGENT, "S1", leader=c.lee)
        c.sale(agent, "300.00", dt.date(2026, 5, 3))
    with django_assert_max_num_queries(40):
        run = assessment_run(label="2026-06", actor=c.hr)
    assert run.outcomes.count() == 25  # June: every level of the center is due


def test_an_assessment_may_leave_premiums_still_in_grace_out(c):
    """``persistency_in_grace: pending``: computed on 2026-07-02, a 13-month premium due
    2026-06-10 and not paid yet (grace until 2026-08-09) is left out instead of lapsed; with
    nothing decided at all the criterion is waived as pending."""
    from telesales.compensation.assessment import assess
    from telesales.compensation.assessment_inputs import assessment_records
    from telesales.compensation.rules_format import ruleset_parse
    from telesales.compensation.rulesets import DEFAULT_RULESET_PATH

    kept = c.sale(c.ann, "300.00", dt.date(2025, 4, 15))
    waiting = c.sale(c.ann, "300.00", dt.date(2025, 6, 10))
    c.second_year_premium(kept, paid=True)
    c.second_year_premium(waiting, paid=False)
    text = DEFAULT_RULESET_PATH.read_text(encoding="utf-8")
    marker = "  persistency_waived_below_months: 14\n"
    assert marker in text

    def persistency(option: str | None, computed_on=dt.date(2026, 7, 2)):
        extra = f"  persistency_in_grace: {option}\n" if option else ""
        book, _raw = ruleset_parse(text.replace(marker, marker + extra), fmt="yaml")
        frame, records = assessment_records(book, year=2026, month=6, computed_on=computed_on)
        (ann,) = [
            o for o in assess(book=book, people=records, frame=frame) if o.person_id == c.ann.pk
        ]
        return next(
            r for r in ann.criteria["maintain"]["criteria"] if r["measure"] == "persistency13"
        )

    assert persistency(None)["value"] == "0.5000"  # the default: unpaid counts as lapsed
    assert persistency("lapsed")["value"] == "0.5000"
    left_out = persistency("pending")
    assert (left_out["value"], left_out["pending"], left_out["met"]) == ("1.0000", 1, True)
    # Once the grace period is over, the unpaid premium has lapsed under either rule.
    assert persistency("pending", computed_on=dt.date(2026, 8, 10))["value"] == "0.5000"
    # Nothing decided: waived as pending (no cohort yet), not failed.
    Policy.objects.filter(pk=kept.pk).delete()
    only = persistency("pending")
    assert (only["value"], only["waived"], only["pending"]) == (None, "pending", 1)


def _this_month_label() -> str:
    from django.utils import timezone

    return f"{timezone.localdate():%Y-%m}"


def _decide_all(run, decision=HRDecision.APPROVED):
    for outcome in run.outcomes.all():
        assessment_outcome_decide(outcome=outcome, decision=decision, actor=run.computed_by)


def test_the_month_in_progress_runs_as_a_provisional_preview_and_cannot_be_approved(c):
    """It used to be approved at once: levels moved on a part of the month's figures."""
    levels = dict(Person.objects.values_list("pk", "level_id"))
    run = assessment_run(label=_this_month_label(), actor=c.hr)
    assert run.provisional and run.outcomes.exists()
    _decide_all(run)
    ends = run.period_end.isoformat()
    from_day = (run.period_end + dt.timedelta(days=1)).isoformat()
    with pytest.raises(InvalidState, match=f"has not ended: it ends on {ends}") as caught:
        assessment_run_approve(run=run, actor=c.hr)
    assert f"approved from {from_day}" in caught.value.message
    run.refresh_from_db()
    assert run.status == AssessmentRunStatus.DRAFT and run.approved_at is None
    assert dict(Person.objects.values_list("pk", "level_id")) == levels
    assert not AuditEntry.objects.filter(action="compensation.assessment_run_approve").exists()


def test_a_draft_computed_before_its_period_ended_is_run_again_before_approval(c):
    """A preview computed mid-period and approved once the period is over would still move
    levels on the figures of mid-period."""
    from telesales.compensation.models import AssessmentRun
    from telesales.compensation.tests.payrun_world import at

    run = assessment_run(label="2026-06", actor=c.hr)
    assert not run.provisional  # computed today, long after 2026-06-30
    AssessmentRun.objects.filter(pk=run.pk).update(computed_at=at(2026, 6, 20))
    run.refresh_from_db()
    assert run.provisional
    _decide_all(run)
    with pytest.raises(InvalidState, match="computed on 2026-06-20, before the period 2026-06"):
        assessment_run_approve(run=run, actor=c.hr)
    run = assessment_run(label="2026-06", actor=c.hr)  # the same outcomes: decisions kept
    assert not run.provisional
    assert assessment_run_approve(run=run, actor=c.hr).status == AssessmentRunStatus.APPROVED


def test_a_rejection_needs_a_reason_and_the_rest_can_be_approved_at_once(c):
    """QA: 拒绝 took no reason, and 53 rows took 53 clicks. A rejection says why; the
    outcomes still pending can be approved together, each recorded and audited."""
    from telesales.compensation.assessing import assessment_outcomes_approve_pending
    from telesales.core.models import AuditEntry

    run = assessment_run(label="2026-06", actor=c.hr)
    first, *rest = list(run.outcomes.order_by("pk"))
    with pytest.raises(ValidationFailed) as refused:
        assessment_outcome_decide(outcome=first, decision=HRDecision.REJECTED, actor=c.hr, note=" ")
    assert "note" in refused.value.details["fields"]
    assessment_outcome_decide(
        outcome=first, decision=HRDecision.REJECTED, actor=c.hr, note="sick leave in May"
    )
    assert assessment_outcomes_approve_pending(run=run, actor=c.hr) == len(rest)
    assert assessment_outcomes_approve_pending(run=run, actor=c.hr) == 0
    decided = dict(run.outcomes.values_list("pk", "decision"))
    assert decided[first.pk] == HRDecision.REJECTED
    assert {decided[o.pk] for o in rest} == {HRDecision.APPROVED}
    audited = AuditEntry.objects.filter(action="compensation.assessment_outcome_decide")
    assert audited.count() == len(rest) + 1
    assessment_run_approve(run=run, actor=c.hr)
    with pytest.raises(InvalidState):
        assessment_outcomes_approve_pending(run=run, actor=c.hr)


def test_approving_late_says_which_approved_pay_runs_paid_the_old_terms(c):
    """QA (session 20): September's assessment approved after October's pay was approved said
    nothing: October had paid the extended agents at the full rate."""
    from telesales.compensation.assessing import assessment_paid_before
    from telesales.compensation.choices import PayRunStatus
    from telesales.compensation.models import PayRun, RuleSet

    for day in (dt.date(2026, 5, 3), dt.date(2026, 5, 9), dt.date(2026, 6, 1)):
        c.sale(c.tina, "1200.00", day)
    run = assessment_run(label="2026-06", actor=c.hr)
    for outcome in run.outcomes.all():
        decision = HRDecision.APPROVED if outcome.person_id == c.tina.pk else HRDecision.REJECTED
        assessment_outcome_decide(outcome=outcome, decision=decision, actor=c.hr, note="ok")
    assessment_run_approve(run=run, actor=c.hr)
    assert assessment_paid_before(run) == ""  # no pay run approved over 2026-07-01 yet
    ruleset = RuleSet.objects.order_by("version").first()
    PayRun.objects.create(
        label="2026-07",
        period_start=dt.date(2026, 7, 1),
        period_end=dt.date(2026, 7, 31),
        ruleset=ruleset,
        ruleset_version=ruleset.version,
        status=PayRunStatus.APPROVED,
        approved_at=timezone.now(),
    )
    said = assessment_paid_before(run)
    assert "2026-07" in said and "2026-07-01" in said and "adjustment" in said
