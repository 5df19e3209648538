"""Compensation models: versioned basic-law rule sets (基本法).

A pay run (``PayRun``) holds the itemised lines (``PayLine``) of every person for one period;
an approved run is never recomputed, and a later correction is a ``PayAdjustment`` that the
next computed run pays as an ``adjustment`` line. ``Attendance`` holds the days attended and
required per person and period (the organisation keeps absences, not attendance).

A rule set is data: a document in the rule-set format (``rules_format.py``), imported from a
YAML or JSON file, numbered by version, in force from ``effective_from`` until
``effective_to`` once approved. An approved version is never edited: a change is a new
version, so every pay line stays traceable to the rules that produced it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telesales.compensation.choices import (
    PayLineKind,
    PayRunStatus,
    RuleSetFormat,
    RuleSetStatus,
)
from telesales.core.models import TimeStampedModel


def _user_ref(label) -> models.ForeignKey:
    """Who did something (created, computed, approved …): kept when the user is deleted."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=label,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )


class RuleSet(TimeStampedModel):
    """One version of the basic law: the checked document plus the file it came from."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=RuleSetStatus.choices, default=RuleSetStatus.DRAFT
    )
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    document = models.JSONField(_("rules"))
    source_text = models.TextField(_("source file"), blank=True)
    source_format = models.CharField(
        _("source format"), max_length=4, choices=RuleSetFormat.choices
    )
    source_name = models.CharField(_("file name"), max_length=200, blank=True)
    created_by = _user_ref(_("created by"))
    approved_by = _user_ref(_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("basic-law rule set")
        verbose_name_plural = _("basic-law rule sets")
        indexes = [models.Index(fields=["status", "effective_from"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(effective_to__isnull=True)
                | Q(effective_to__gte=models.F("effective_from")),
                name="compensation_ruleset_dates",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_at__isnull=False),
                name="compensation_ruleset_approved_has_time",
            ),
            models.CheckConstraint(
                condition=Q(version__gte=1), name="compensation_ruleset_version_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.version} {self.name}"

    def in_force_on(self, day: dt.date) -> bool:
        """Approved, and ``day`` lies between its effective dates."""
        return (
            self.status == RuleSetStatus.APPROVED
            and self.effective_from <= day
            and (self.effective_to is None or self.effective_to >= day)
        )


MONEY = {"max_digits": 14, "decimal_places": 2}


class PayRun(TimeStampedModel):
    """The pay of every person for one period under one rule-set version."""

    label = models.CharField(_("period"), max_length=7, unique=True, help_text="YYYY-MM")
    period_start = models.DateField(_("period start"), unique=True)
    period_end = models.DateField(_("period end"))
    ruleset = models.ForeignKey(
        RuleSet, verbose_name=_("rule set"), on_delete=models.PROTECT, related_name="pay_runs"
    )
    ruleset_version = models.PositiveIntegerField(_("rule set version"))
    status = models.CharField(
        _("status"), max_length=10, choices=PayRunStatus.choices, default=PayRunStatus.OPEN
    )
    run_count = models.PositiveIntegerField(_("times computed"), default=0)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    computed_by = _user_ref(_("computed by"))
    approved_by = _user_ref(_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    input_fingerprint = models.CharField(_("input fingerprint"), max_length=64, blank=True)
    total = models.DecimalField(_("total"), default=0, **MONEY)
    line_count = models.PositiveIntegerField(_("lines"), default=0)
    #: The pay basis refresh the run read (ADR 0017): its cell lines stand for the basis
    #: rows current then. NULL: the run has no cell lines.
    basis_seq = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("pay run")
        verbose_name_plural = _("pay runs")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")),
                name="compensation_payrun_dates",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(approved_at__isnull=False),
                name="compensation_payrun_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} (v{self.ruleset_version})"

    @property
    def approvable_from(self) -> dt.date:
        """The first day the run may be approved: the day after its period ends."""
        return self.period_end + dt.timedelta(days=1)

    @property
    def provisional(self) -> bool:
        """An open run computed before its period ended (or never computed): a preview of the
        month in progress with the figures so far (进行中·暂估), which cannot be approved;
        compute it again once the period is over."""
        if self.status != PayRunStatus.OPEN:
            return False
        if self.computed_at is None:
            return True
        return timezone.localdate(self.computed_at) <= self.period_end


class PayLine(models.Model):
    """One itemised line of a payslip: traceable to its rule (id, version) and its sources
    (``policy:17``, ``person:3``, ``adjustment:2``). ``position`` is the payslip order."""

    # The references are checked once per run, not once per line (ADR 0018): the pay run
    # writes its lines in bulk and then locks and checks every person and policy they name
    # (``payrun._lines_check``); the ORM still cascades and protects on delete. The run's
    # own index is the unique (run, position) one.
    run = models.ForeignKey(
        PayRun, on_delete=models.CASCADE, related_name="lines", db_constraint=False, db_index=False
    )
    position = models.PositiveIntegerField(_("position"))
    person = models.ForeignKey(
        "org.Person",
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the (person, run) index serves it
    )
    kind = models.CharField(_("kind"), max_length=24, choices=PayLineKind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    basis = models.DecimalField(_("basis"), **MONEY)
    rate = models.DecimalField(_("rate"), max_digits=12, decimal_places=8, null=True, blank=True)
    rule_id = models.CharField(_("rule"), max_length=100)
    rule_version = models.PositiveIntegerField(_("rule version"))
    modifiers = models.JSONField(_("modifying rules"), default=list, blank=True)
    sources = models.JSONField(_("source records"), default=list)
    #: The policy of a clawback line (one policy each; other lines name theirs in ``sources``).
    policy = models.ForeignKey(
        "policies.Policy",
        verbose_name=_("policy"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    #: A line of one rate cell (ADR 0014): each source policy's [amount, basis] as decimal
    #: strings, in the order of ``sources``; empty for a line of one source.
    parts = models.JSONField(_("amounts per source"), default=list, blank=True)
    #: A line of plain policies (ADR 0017): the pay basis cell it stands for — ``c:<cell>``
    #: (commission) or ``w:<what is waited for>`` (withheld) — of its person, at the run's
    #: ``basis_seq``; its ``sources`` and ``parts`` then list only the policies merged into it
    #: from elsewhere (``paybasis.expand_lines`` puts them all together).
    cell = models.CharField(_("pay basis cell"), max_length=40, blank=True, default="")

    class Meta:
        ordering = ["run", "position"]
        verbose_name = _("pay line")
        verbose_name_plural = _("pay lines")
        indexes = [
            # A payslip (person and run), a person's lines (what protects a person from
            # deletion): one index for both.
            models.Index(fields=["person", "run"], name="compensation_payline_person"),
            # Only clawback lines name a policy: the others stay out of its index.
            models.Index(
                fields=["policy"],
                name="compensation_payline_policy",
                condition=models.Q(policy__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "position"], name="compensation_payline_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run.label} {self.person_id} {self.kind} {self.amount}"

    @property
    def source_parts(self) -> list[tuple[str, Decimal, Decimal]]:
        """(source, amount, basis) of each source of a rate-cell line (its ``parts``), or of
        the one source of a line that has one; empty for a line of several sources that is
        not a rate cell (an allowance over a team's policies). A cell line's policies are read
        from the pay basis first (``paybasis.expand_lines``)."""
        if self.cell and not getattr(self, "expanded", False):
            from telesales.compensation.paybasis import expand_lines

            expand_lines([self])
        if self.parts:
            return [
                (source, Decimal(amount), Decimal(basis))
                for source, (amount, basis) in zip(self.sources, self.parts, strict=True)
            ]
        if len(self.sources) == 1:
            return [(self.sources[0], self.amount, self.basis)]
        return []


class PolicyPay(models.Model):
    """What one approved run paid for one policy (ADR 0014): its commission, what it withheld
    and released of it, and what it took back. Written when the run is approved, from the
    run's lines; the clawbacks and releases of later periods read it (the lines carry a
    rate cell of many policies, not one policy)."""

    # Derived rows, written by one statement from the run's lines (whose references the run
    # checked when it wrote them, ADR 0018): a foreign-key check and an index per column
    # would cost the approval of a million policies four times the statement itself
    # (measured: 14.4 s against 2.8 s at 300,000 on PostgreSQL). Django still protects and
    # cascades on delete; the two indexes below serve every read.
    run = models.ForeignKey(
        PayRun,
        on_delete=models.CASCADE,
        related_name="policy_pay",
        db_constraint=False,
        db_index=False,  # the unique (run, policy) index serves it
    )
    policy = models.ForeignKey(
        "policies.Policy",
        verbose_name=_("policy"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,  # the (policy, run) index serves it
    )
    person = models.ForeignKey(
        "org.Person",
        verbose_name=_("person"),
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    commission = models.DecimalField(_("commission"), default=0, **MONEY)
    withheld = models.DecimalField(_("withheld"), default=0, **MONEY)
    released = models.DecimalField(_("released"), default=0, **MONEY)
    clawback = models.DecimalField(_("clawback"), default=0, **MONEY)

    class Meta:
        verbose_name = _("policy pay")
        verbose_name_plural = _("policy pay")
        constraints = [
            models.UniqueConstraint(fields=["run", "policy"], name="compensation_policypay_unique")
        ]
        indexes = [models.Index(fields=["policy", "run"], name="compensation_policypay_policy")]

    def __str__(self) -> str:
        return f"{self.run.label} policy:{self.policy_id} {self.commission}"


class PayBasisChange(models.Model):
    """A policy whose pay inputs changed (ADR 0017): written by database triggers on the
    policy, delivery and return-visit tables (``paybasis``), whoever wrote — a
    service, ``QuerySet.update``, an import, the admin or a data officer's SQL. The next
    refresh of a period's basis consumes them (``PayBasisPending`` keeps them for the other
    periods)."""

    id = models.BigAutoField(primary_key=True)
    policy_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("pay basis change")
        verbose_name_plural = _("pay basis changes")

    def __str__(self) -> str:
        return f"policy:{self.policy_id}"


class PayBasisState(models.Model):
    """What one period's pay basis was computed for: ``context`` is a digest of everything
    that is not a policy's own (the rule set's rates and cells, the products, the policies
    withheld earlier, the deadline, the zone, the statement itself; a change computes the
    whole period again)."""

    period_start = models.DateField(_("period start"), unique=True)
    context = models.CharField(max_length=64)
    #: The last refresh's number: the rows it wrote have it as ``since``.
    seq = models.BigIntegerField(default=0)
    refreshed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("pay basis state")
        verbose_name_plural = _("pay basis states")

    def __str__(self) -> str:
        return f"{self.period_start} {self.context[:12]}"


class PayBasisPending(models.Model):
    """Changed policies that a period's basis has still to apply: the change log is consumed
    by the first refresh that reads it, which leaves its entries here for every other
    period that has a basis (``paycells``)."""

    pk = models.CompositePrimaryKey("period_start", "policy_id")
    period_start = models.DateField()
    policy_id = models.BigIntegerField()

    class Meta:
        verbose_name = _("pending pay basis change")
        verbose_name_plural = _("pending pay basis changes")

    def __str__(self) -> str:
        return f"{self.period_start} policy:{self.policy_id}"


class PolicyPayBasis(models.Model):
    """One policy's pay in its period as the cell statement computes it (ADR 0017), kept
    current before the run: the agent, the agent's rate key (``k``: level and extension,
    NULL when not paid by the statement), the rate cell (NULL: not plain, the per-policy
    path pays it), the commission in cents, the FYC numerator and in cents, what the
    withholding waits for, the share withheld in cents and a checksum of the policy's inputs.
    Written and read by SQL only (``paycells``, ``paybasis``); the numbers mean something
    only with the state's context.

    Versioned (ADR 0017, second stage): a row is current from refresh ``since`` until the
    refresh ``until`` that replaced it (NULL: current). A run reads the rows current at its
    ``PayRun.basis_seq``, and its cell lines (``PayLine.cell``) stand for them: the rows a run
    may still show are kept until the period's next run or its approval."""

    pk = models.CompositePrimaryKey("period_start", "policy_id", "since")
    period_start = models.DateField()
    policy_id = models.BigIntegerField()
    since = models.BigIntegerField()
    until = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    k = models.IntegerField(null=True)
    cell = models.IntegerField(null=True)
    amount = models.BigIntegerField(null=True)
    fyc = models.BigIntegerField(null=True)
    fyc_cents = models.BigIntegerField(null=True)
    late = models.CharField(max_length=24, null=True)
    withheld = models.BigIntegerField(null=True)
    ck = models.BigIntegerField(null=True)

    class Meta:
        verbose_name = _("policy pay basis")
        verbose_name_plural = _("policy pay basis")
        indexes = [
            models.Index(fields=["period_start", "agent_id"], name="compensation_paybasis_agent"),
            # The replaced versions only (few): what a run or the upkeep deletes.
            models.Index(
                fields=["period_start", "until"],
                condition=Q(until__isnull=False),
                name="compensation_paybasis_until",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_start} policy:{self.policy_id} {self.amount}"


class PayBasisSum(models.Model):
    """The period's current pay basis summed as the run reads it (ADR 0017, third stage):
    one row per agent and rate cell (``kind`` ``c``), per agent and what the withholding
    waits for (``w``) and per policy that is not plain (``r``), with the count, the sums,
    the least policy id, the checksum and the least and greatest rate key of its policies.
    Kept by the refresh that changes the basis (the sums of the agents whose policies it
    computed again), so that a run reads these rows instead of summing a million policies.
    Written and read by SQL only (``paybasis``)."""

    #: In this order, the key serves the refresh's deletes of an agent's sums too.
    pk = models.CompositePrimaryKey("period_start", "agent_id", "kind", "cell", "late", "first")
    period_start = models.DateField()
    kind = models.CharField(max_length=1)
    agent_id = models.BigIntegerField()
    #: -1 for the rows of no cell (``w`` and ``r``): part of the key, so never NULL.
    cell = models.IntegerField()
    late = models.CharField(max_length=24)
    count = models.BigIntegerField()
    amount = models.BigIntegerField()
    fyc = models.BigIntegerField()
    first = models.BigIntegerField()
    ck = models.BigIntegerField()
    kmin = models.IntegerField(null=True)
    kmax = models.IntegerField(null=True)

    class Meta:
        verbose_name = _("pay basis sum")
        verbose_name_plural = _("pay basis sums")

    def __str__(self) -> str:
        return f"{self.period_start} {self.kind} {self.agent_id} {self.cell} {self.amount}"


class PayAdjustment(TimeStampedModel):
    """A correction to an approved period, paid as an ``adjustment`` line by the next run
    that is computed (``applied_run``); locked once that run is approved. Until then it can
    be cancelled (``cancelled_at``)."""

    person = models.ForeignKey(
        "org.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=500)
    corrects_run = models.ForeignKey(
        PayRun,
        verbose_name=_("corrects"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
    )
    applied_run = models.ForeignKey(
        PayRun,
        verbose_name=_("paid in"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="adjustments",
    )
    created_by = _user_ref(_("created by"))
    #: Cancelled before a run paid it for good (``payrun.payadjustment_cancel``): no run pays
    #: it any more; the row stays, with who cancelled it and why.
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancelled_by = _user_ref(_("cancelled by"))
    cancel_reason = models.CharField(_("cancellation reason"), max_length=500, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("pay adjustment")
        verbose_name_plural = _("pay adjustments")
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="compensation_adjustment_not_0"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.amount}"


class Attendance(TimeStampedModel):
    """Days attended and days required of one person in one pay period (entered by HR)."""

    person = models.ForeignKey(
        "org.Person", verbose_name=_("person"), on_delete=models.CASCADE, related_name="+"
    )
    period_start = models.DateField(_("period start"))
    days_attended = models.PositiveSmallIntegerField(_("days attended"))
    days_required = models.PositiveSmallIntegerField(_("days required"))

    class Meta:
        ordering = ["period_start", "person_id"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(
                fields=["person", "period_start"], name="compensation_attendance_unique"
            ),
            models.CheckConstraint(
                condition=Q(days_required__gte=1), name="compensation_attendance_required_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.period_start}: {self.days_attended}/{self.days_required}"


# --- assessment (考核) ------------------------------------------------------------------------


class AssessmentRunStatus(models.TextChoices):
    """A draft run can be re-run (same inputs, same outcomes); an approved run is locked."""

    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")


class AssessmentOutcomeKind(models.TextChoices):
    """What the assessment proposes for one person (``assessment.OUTCOMES``)."""

    PROMOTE = "promote", _("Promote")
    MAINTAIN = "maintain", _("Maintain")
    EXTEND = "extend", _("Extend")
    DEMOTE = "demote", _("Demote")
    EXIT = "exit", _("Exit")


class HRDecision(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class AssessmentRun(TimeStampedModel):
    """The assessment of everyone whose assessment period ends on ``period_end`` under one
    rule-set version. A draft may be re-run; once approved the run and its outcomes are locked."""

    label = models.CharField(_("period"), max_length=7, unique=True, help_text="YYYY-MM")
    period_end = models.DateField(_("period end"), unique=True)
    ruleset = models.ForeignKey(
        RuleSet,
        verbose_name=_("rule set"),
        on_delete=models.PROTECT,
        related_name="assessment_runs",
    )
    ruleset_version = models.PositiveIntegerField(_("rule set version"))
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AssessmentRunStatus.choices,
        default=AssessmentRunStatus.DRAFT,
    )
    run_count = models.PositiveIntegerField(_("times computed"), default=0)
    computed_at = models.DateTimeField(_("computed at"), null=True, blank=True)
    computed_by = _user_ref(_("computed by"))
    approved_by = _user_ref(_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)

    class Meta:
        ordering = ["-period_end"]
        verbose_name = _("assessment run")
        verbose_name_plural = _("assessment runs")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(approved_at__isnull=False),
                name="compensation_assessmentrun_approved_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} (v{self.ruleset_version})"

    @property
    def approvable_from(self) -> dt.date:
        """The first day the run may be approved: the day after its period ends."""
        return self.period_end + dt.timedelta(days=1)

    @property
    def provisional(self) -> bool:
        """A draft computed before its period ended (or never computed): a preview with the
        figures so far, which cannot be approved; run it again once the period is over."""
        if self.status != AssessmentRunStatus.DRAFT:
            return False
        if self.computed_at is None:
            return True
        return timezone.localdate(self.computed_at) <= self.period_end


class AssessmentOutcome(TimeStampedModel):
    """The proposed outcome for one person in one assessment run, with every criterion's
    measured value, threshold and result (``criteria``), and HR's decision on it."""

    run = models.ForeignKey(AssessmentRun, on_delete=models.CASCADE, related_name="outcomes")
    person = models.ForeignKey(
        "org.Person", verbose_name=_("person"), on_delete=models.PROTECT, related_name="+"
    )
    from_level = models.ForeignKey(
        "org.Level",
        verbose_name=_("from level"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome = models.CharField(
        _("proposed outcome"), max_length=10, choices=AssessmentOutcomeKind.choices
    )
    to_level = models.ForeignKey(
        "org.Level",
        verbose_name=_("to level"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    effective_date = models.DateField(_("effective date"))
    criteria = models.JSONField(_("criteria"), default=dict)
    decision = models.CharField(
        _("HR decision"), max_length=10, choices=HRDecision.choices, default=HRDecision.PENDING
    )
    decided_by = _user_ref(_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=500, blank=True)

    class Meta:
        ordering = ["run", "person_id"]
        verbose_name = _("assessment outcome")
        verbose_name_plural = _("assessment outcomes")
        constraints = [
            models.UniqueConstraint(
                fields=["run", "person"], name="compensation_assessmentoutcome_unique_person"
            ),
            models.CheckConstraint(
                condition=Q(decision="pending") | Q(decided_at__isnull=False),
                name="compensation_assessmentoutcome_decided_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run.label} {self.person_id} {self.outcome}"


# --- background pay runs ----------------------------------------------------------------------


class PayRunJobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class PayRunJobKind(models.TextChoices):
    COMPUTE = "compute", _("Computation")
    APPROVE = "approve", _("Approval")


class PayRunJob(TimeStampedModel):
    """One background job on a pay period: a computation (``tasks.payrun_compute_task``) or
    the approval of a computed run (``tasks.payrun_approve_task``, which writes the ledger of
    every policy paid): its status, how far it got and, when it failed, every problem it
    reported. The job page polls it. One job at a time per period.

    The stages inside the compute's transaction (reading, computing, writing N of M lines)
    cannot be committed before the compute is; the task keeps them in a small file beside the
    data (``tasks.job_progress``) and the row holds the outcome."""

    period_start = models.DateField(_("period start"))
    kind = models.CharField(
        _("kind"), max_length=10, choices=PayRunJobKind.choices, default=PayRunJobKind.COMPUTE
    )
    status = models.CharField(
        _("status"), max_length=10, choices=PayRunJobStatus.choices, default=PayRunJobStatus.QUEUED
    )
    stage = models.CharField(_("stage"), max_length=16, blank=True)
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    message = models.CharField(_("message"), max_length=500, blank=True)
    #: [record, reason] pairs of a failed compute (``PayInputInvalid.problems``).
    problems = models.JSONField(_("problems"), default=list, blank=True)
    run = models.ForeignKey(
        PayRun,
        verbose_name=_("pay run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="jobs",
    )
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    requested_by = _user_ref(_("requested by"))
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("pay run job")
        verbose_name_plural = _("pay run jobs")
        indexes = [models.Index(fields=["period_start", "status"], name="compensation_job_period")]
        constraints = [
            # One job under way per period, whatever its kind: the last word when two
            # requests for a period without a pay run yet (no row to lock) pass their checks
            # at the same moment (``tasks._queue``).
            models.UniqueConstraint(
                fields=["period_start"],
                condition=Q(status__in=["queued", "running"]),
                name="compensation_one_busy_job_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.period_start:%Y-%m} {self.status}"
