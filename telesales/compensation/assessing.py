"""Writes of the assessment (考核): run a period, decide each outcome, approve the run.

- ``assessment_run`` evaluates everyone whose level is due at the end of the pay period
  labelled ``YYYY-MM`` under the rule set in force on that day and replaces the outcomes of
  the period's DRAFT run. Same inputs → the same outcomes; an HR decision survives a re-run
  when the person's outcome did not change, and is reset to pending when it did.
- ``assessment_outcome_decide``: HR approves or rejects one proposed outcome of a draft run;
  deciding it twice is ``InvalidState`` (409).
- A period still under way may be run: the draft is a *provisional* preview with the figures
  so far (``AssessmentRun.provisional``), to see early who is heading where. It cannot be
  approved: approval waits for the period to end and for a run computed after that end, so
  levels never move on a part of the period's figures (``_period_ended``).
- ``assessment_run_approve`` locks the run once every outcome is decided and applies each
  approved promotion or demotion through ``org.services.person_update`` (audited), effective
  the day after the period end. A promotion from the sales series into the management series
  also records the development chain (育成): ``developed_by`` = the person's leader at that
  time when the leader holds a management level, ``developed_on`` = the effective date. An
  approved exit is recorded here and carried out through
  the organisation's leaving process (which releases the seat, teams and login); the run does
  not end the employment by itself.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from telesales.compensation import permissions
from telesales.compensation.assessment import DEMOTE, EXTEND, PROMOTE, assess
from telesales.compensation.assessment_inputs import assessment_records, buckets_for
from telesales.compensation.choices import PayRunStatus
from telesales.compensation.models import (
    AssessmentOutcome,
    AssessmentRun,
    AssessmentRunStatus,
    HRDecision,
    PayRun,
)
from telesales.compensation.rules_format import RuleBook
from telesales.compensation.rulesets import ruleset_rulebook
from telesales.compensation.selectors import ruleset_in_force
from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record
from telesales.core.dates import YEAR_MAX, YEAR_MIN
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.model_updates import save_or_conflict
from telesales.org.choices import LevelSeries
from telesales.org.models import Level, Person
from telesales.org.services import person_update


def _require_assessor(actor) -> None:
    if not permissions.can_run_assessment(actor):
        raise PermissionDenied(_("Only the HR admin or the center manager may run assessments"))


def parse_label(label: str) -> tuple[int, int]:
    """``"2026-09"`` → (2026, 9), or ``ValidationFailed``."""
    text = (label or "").strip()
    try:
        year, month = int(text[:4]), int(text[5:7])
        # The center's years (core.dates): an older month is well formed, and is refused
        # for what it lacks (no rule set in force then), not as a format error.
        valid = (
            len(text) == 7
            and text[4] == "-"
            and text[:4].isdigit()
            and 1 <= month <= 12
            and YEAR_MIN <= year <= YEAR_MAX
        )
    except ValueError:
        valid = False
    if not valid:
        raise ValidationFailed(
            _("The period must be written YYYY-MM, for example 2026-09"),
            fields={"label": [_("Expected YYYY-MM")]},
        )
    return year, month


def assessment_rulebook(*, year: int, month: int) -> tuple:
    """The rule set in force at the end of the period ``year-month``, its rule book and that
    period's end. ``ValidationFailed`` without an approved rule set with an assessment."""
    probe = dt.date(year, month, 1)
    ruleset = ruleset_in_force(on=probe)
    if ruleset is None:
        raise ValidationFailed(
            _("No approved rule set is in force in %(y)04d-%(m)02d") % {"y": year, "m": month},
            fields={"label": [_("Approve a rule set for this period first.")]},
        )
    book: RuleBook = ruleset_rulebook(ruleset)
    period_end = buckets_for(book, year=year, month=month)[0].end
    last = ruleset_in_force(on=period_end)
    if last is not None and last.pk != ruleset.pk:
        ruleset, book = last, ruleset_rulebook(last)
    if book.section("assessment") is None:
        raise ValidationFailed(
            _("Rule set version %(v)d has no assessment section") % {"v": ruleset.version},
            fields={"label": [_("Import a rule set with an assessment section.")]},
        )
    return ruleset, book, period_end


def _levels(codes: set[str]) -> dict[str, Level]:
    found = {level.code: level for level in Level.objects.filter(code__in=codes)}
    missing = sorted(codes - set(found))
    if missing:
        raise ValidationFailed(
            _("Level(s) %(codes)s of the rule set do not exist in the organisation")
            % {"codes": ", ".join(missing)},
            fields={"label": [_("Add the levels to the ladder first.")]},
        )
    return found


def _period_started(book: RuleBook, *, year: int, month: int) -> None:
    """Refuse a period that has not started (its first day after today, the center's date):
    nothing has been sold or kept in it yet, so everyone would fail every criterion and be
    proposed for an exit or a demotion. ``ValidationFailed`` on ``label``."""
    period = buckets_for(book, year=year, month=month)[0]
    today = timezone.localdate()
    if period.start > today:
        raise ValidationFailed(
            _("The assessment period %(p)s has not started yet: it starts on %(day)s")
            % {"p": period.label, "day": period.start.isoformat()},
            fields={
                "label": [
                    _("Choose a period that has started (today is %(today)s).")
                    % {"today": today.isoformat()}
                ]
            },
        )


def _period_ended(run: AssessmentRun) -> None:
    """Refuse to approve a run whose period is still under way, or whose outcomes were
    computed before the period ended (a provisional preview with the figures so far):
    approving moves levels at once, on figures that are not final. ``InvalidState`` saying
    from when it can be approved."""
    today = timezone.localdate()
    if today <= run.period_end:
        raise InvalidState(
            _(
                "The assessment period %(p)s has not ended: it ends on %(end)s. It can be "
                "approved from %(day)s, once it has been run again with the whole period's "
                "figures."
            )
            % {
                "p": run.label,
                "end": run.period_end.isoformat(),
                "day": run.approvable_from.isoformat(),
            }
        )
    if run.run_count and run.provisional:
        raise InvalidState(
            _(
                "This draft was computed on %(on)s, before the period %(p)s ended on %(end)s: "
                "run it again for the whole period's figures, then approve it."
            )
            % {
                "on": timezone.localdate(run.computed_at).isoformat(),
                "p": run.label,
                "end": run.period_end.isoformat(),
            }
        )


@transaction.atomic
def assessment_run(*, label: str, actor, reason: str = "") -> AssessmentRun:
    """Evaluate the period ``label`` (``YYYY-MM``) and replace the outcomes of its draft run
    (created on the first run). ``InvalidState`` when the period's run is approved."""
    _require_assessor(actor)
    year, month = parse_label(label)
    ruleset, book, period_end = assessment_rulebook(year=year, month=month)
    _period_started(book, year=year, month=month)
    label = f"{year:04d}-{month:02d}"
    run = AssessmentRun.objects.select_for_update().filter(label=label).first()
    if run is not None and run.status != AssessmentRunStatus.DRAFT:
        raise InvalidState(_("The assessment of %(p)s is approved and locked") % {"p": label})
    frame, records = assessment_records(book, year=year, month=month)
    # Stored text is in the center's language whoever runs it, so a re-run is identical.
    with translation.override(settings.LANGUAGE_CODE):
        outcomes = assess(book=book, people=records, frame=frame)
    codes = {o.from_level for o in outcomes} | {o.to_level for o in outcomes if o.to_level}
    levels = _levels(codes)
    if run is None:
        run = AssessmentRun(
            label=label, period_end=period_end, ruleset=ruleset, ruleset_version=ruleset.version
        )
        save_or_conflict(run)
    kept = {row.person_id: row for row in run.outcomes.exclude(decision=HRDecision.PENDING).all()}
    effective = period_end + dt.timedelta(days=1)
    rows = []
    for outcome in outcomes:
        row = AssessmentOutcome(
            run=run,
            person_id=outcome.person_id,
            from_level=levels[outcome.from_level],
            outcome=outcome.outcome,
            to_level=levels[outcome.to_level] if outcome.to_level else None,
            effective_date=effective,
            criteria=outcome.criteria,
        )
        old = kept.get(outcome.person_id)
        if (
            old is not None
            and old.outcome == row.outcome
            and old.to_level_id == row.to_level_id
            and old.from_level_id == row.from_level_id
        ):
            row.decision, row.decided_by_id, row.decided_at = (
                old.decision,
                old.decided_by_id,
                old.decided_at,
            )
            row.decision_note = old.decision_note
        rows.append(row)
    before = {"run_count": run.run_count, "outcomes": run.outcomes.count()}
    run.outcomes.all().delete()
    AssessmentOutcome.objects.bulk_create(rows)
    run.ruleset, run.ruleset_version = ruleset, ruleset.version
    run.period_end = period_end
    run.run_count += 1
    run.computed_at = timezone.now()
    run.computed_by = user_or_none(actor)
    run.save()
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.outcome] = counts.get(row.outcome, 0) + 1
    audit_record(
        actor=actor,
        action="compensation.assessment_run",
        instance=run,
        before=before,
        after={
            "period": label,
            "ruleset_version": run.ruleset_version,
            "run_count": run.run_count,
            "outcomes": counts,
        },
        reason=reason,
    )
    return run


@transaction.atomic
def assessment_outcome_decide(
    *, outcome: AssessmentOutcome, decision: str, actor, note: str = ""
) -> AssessmentOutcome:
    """HR approves or rejects one proposed outcome of a draft run (once)."""
    _require_assessor(actor)
    if decision not in (HRDecision.APPROVED, HRDecision.REJECTED):
        raise ValidationFailed(
            _("The decision is approved or rejected"),
            fields={"decision": [_("approved or rejected")]},
        )
    outcome = AssessmentOutcome.objects.select_for_update().select_related("run").get(pk=outcome.pk)
    if outcome.run.status != AssessmentRunStatus.DRAFT:
        raise InvalidState(_("The assessment run is approved and locked"))
    if outcome.decision != HRDecision.PENDING:
        raise InvalidState(
            _("This outcome is already %(d)s") % {"d": HRDecision(outcome.decision).label}
        )
    note = (note or "").strip()
    if decision == HRDecision.REJECTED and len(note) < 2:
        # A rejection keeps the person where the rules would move them: say why (QA: one
        # mis-click rejected a proposed demotion with nothing on record).
        raise ValidationFailed(
            _("Say why the outcome is rejected"), fields={"note": [_("a reason is required")]}
        )
    outcome.decision = decision
    outcome.decided_by = user_or_none(actor)
    outcome.decided_at = timezone.now()
    outcome.decision_note = (note or "")[:500]
    outcome.save(
        update_fields=["decision", "decided_by", "decided_at", "decision_note", "updated_at"]
    )
    audit_record(
        actor=actor,
        action="compensation.assessment_outcome_decide",
        instance=outcome,
        before={"decision": HRDecision.PENDING},
        after={
            "decision": outcome.decision,
            "person": outcome.person_id,
            "outcome": outcome.outcome,
            "to_level": outcome.to_level_id,
        },
        reason=note,
    )
    return outcome


@transaction.atomic
def assessment_outcomes_approve_pending(*, run: AssessmentRun, actor, note: str = "") -> int:
    """Approve every outcome of a draft run still pending (after the ones HR looked at one by
    one), each recorded and audited as ``assessment_outcome_decide`` does. Returns how many."""
    _require_assessor(actor)
    run = AssessmentRun.objects.select_for_update().get(pk=run.pk)
    if run.status != AssessmentRunStatus.DRAFT:
        raise InvalidState(_("The assessment run is approved and locked"))
    pending = list(run.outcomes.filter(decision=HRDecision.PENDING).order_by("pk"))
    for outcome in pending:
        assessment_outcome_decide(
            outcome=outcome, decision=HRDecision.APPROVED, actor=actor, note=note
        )
    return len(pending)


def _development(person: Person, row: AssessmentOutcome) -> dict:
    """The development-chain fields a promotion from the sales into the management series
    records: the leader who developed the new group (when they hold a management level) and
    the effective date; nothing for any other move."""
    entering = (
        row.from_level.series == LevelSeries.SALES and row.to_level.series == LevelSeries.MANAGEMENT
    )
    leader = person.leader
    if not entering or leader is None or leader.level is None:
        return {}
    if leader.level.series != LevelSeries.MANAGEMENT:
        return {}
    return {"developed_by": leader, "developed_on": row.effective_date}


@transaction.atomic
def assessment_run_approve(*, run: AssessmentRun, actor, reason: str = "") -> AssessmentRun:
    """Lock a draft run whose outcomes are all decided, and move each approved promotion or
    demotion to its new level (``person_update``, audited), effective the day after the
    period end. All or nothing: a refused move leaves every level and the run as they were."""
    _require_assessor(actor)
    run = AssessmentRun.objects.select_for_update().get(pk=run.pk)
    if run.status != AssessmentRunStatus.DRAFT:
        raise InvalidState(_("The assessment of %(p)s is already approved") % {"p": run.label})
    pending = run.outcomes.filter(decision=HRDecision.PENDING).count()
    year, month = parse_label(run.label)
    try:  # a draft run of a period not started yet (one run before this was refused)
        _period_started(ruleset_rulebook(run.ruleset), year=year, month=month)
    except ValidationFailed as exc:
        raise InvalidState(exc.message) from None
    _period_ended(run)
    if run.run_count == 0 or pending:
        raise InvalidState(
            _("%(n)d outcome(s) still wait for a decision") % {"n": pending}
            if pending
            else _("Run the assessment before approving it")
        )
    changes = run.outcomes.filter(
        decision=HRDecision.APPROVED, outcome__in=(PROMOTE, DEMOTE)
    ).select_related("person", "to_level", "from_level")
    moved = 0
    for row in changes:
        person = Person.objects.get(pk=row.person_id)
        if person.level_id != row.from_level_id:
            raise InvalidState(
                _("%(name)s is no longer at level %(level)s; run the assessment again")
                % {"name": person.name, "level": row.from_level.code}
            )
        person_update(
            person=person,
            actor=actor,
            level=row.to_level,
            **_development(person, row),
            reason=_("Assessment %(p)s: %(outcome)s to %(level)s, effective %(day)s")
            % {
                "p": run.label,
                "outcome": row.get_outcome_display(),
                "level": row.to_level.code,
                "day": row.effective_date.isoformat(),
            },
        )
        moved += 1
    run.status = AssessmentRunStatus.APPROVED
    run.approved_by = user_or_none(actor)
    run.approved_at = timezone.now()
    run.save(update_fields=["status", "approved_by", "approved_at", "updated_at"])
    audit_record(
        actor=actor,
        action="compensation.assessment_run_approve",
        instance=run,
        before={"status": AssessmentRunStatus.DRAFT},
        after={"status": run.status, "level_changes": moved},
        reason=reason,
    )
    return run


def assessment_paid_before(run: AssessmentRun) -> str:
    """What an approved run changes that pay runs approved already did not pay ("" when
    nothing): its promotions, demotions and extensions take effect on a day inside a period
    whose pay run is approved (the run was approved late), so those months were paid at the
    old level, without the extension's factor. QA (session 20): approving September's
    assessment after October's pay said nothing of October."""
    changes = list(
        run.outcomes.filter(
            decision=HRDecision.APPROVED, outcome__in=(PROMOTE, DEMOTE, EXTEND)
        ).values_list("effective_date", flat=True)
    )
    if not changes:
        return ""
    first = min(changes)
    paid = list(
        PayRun.objects.filter(status=PayRunStatus.APPROVED, period_end__gte=first)
        .order_by("period_start")
        .values_list("label", flat=True)
    )
    if not paid:
        return ""
    return ngettext(
        "%(n)d person's level or extension takes effect from %(day)s, but pay runs "
        "%(runs)s are approved already: they paid the old terms. Correct them with "
        "adjustments in the next pay run.",
        "%(n)d people's levels or extensions take effect from %(day)s, but pay runs "
        "%(runs)s are approved already: they paid the old terms. Correct them with "
        "adjustments in the next pay run.",
        len(changes),
    ) % {"n": len(changes), "day": first.isoformat(), "runs": _(", ").join(paid)}
