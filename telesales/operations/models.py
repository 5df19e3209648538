"""Operations and renewal (运营续期): what happens to a policy after it is issued.

The policies app keeps the new-business life cycle (applied → issued → receipt confirmed →
free-look ended, or cancelled). This app keeps the in-force life: the delivery of the policy
document and its receipt (回执), the return visit (回访), the premium schedule with its grace
and lapse, the renewal tasks, the in-force status and its servicing owner, the exit notices
owed when an agent leaves, and the premium receipts imported from the insurer.

Money is ``Decimal`` (12 digits, 2 decimals). Every threshold is a versioned rule set
(:class:`OperationsRuleSet`), never a constant.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telesales.core.models import TimeStampedModel
from telesales.operations.choices import (
    BatchStatus,
    ContactOutcome,
    DeliveryMethod,
    DeliveryStatus,
    ExitReassign,
    NoticeChannel,
    NoticeStatus,
    PremiumStatus,
    ReceiptRejectReason,
    RenewalOutcome,
    ServicingStatus,
    TaskStatus,
    VisitOutcome,
    VisitStatus,
)

MONEY = {"max_digits": 12, "decimal_places": 2}


def _default_reminders() -> list[int]:
    return [30, 7, 1]


def _default_visit_categories() -> list[str]:
    return ["critical_illness", "life", "pension", "education"]


class OperationsRuleSet(TimeStampedModel):
    """The numbers renewal operations work by: data with versions and effective dates.

    The version in force on a day is the latest active one effective on or before it. Every
    number here is a default a center changes (DOMAIN.md §4 and §7)."""

    name = models.CharField(_("name"), max_length=100)
    effective_from = models.DateField(_("effective from"))
    is_active = models.BooleanField(_("active"), default=True)
    # Renewal
    grace_days = models.PositiveSmallIntegerField(
        _("grace period (days after the due date)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    reinstatement_days = models.PositiveSmallIntegerField(
        _("reinstatement possible for (days after the lapse)"),
        default=730,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
    )
    reminder_days_before = models.JSONField(
        _("remind this many days before the due date"),
        default=_default_reminders,
        help_text=_("A list of days, e.g. [30, 7, 1]; the renewal task opens at the first"),
    )
    schedule_years_ahead = models.PositiveSmallIntegerField(
        _("premium schedule kept this many years ahead"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    renewal_recontact_days = models.PositiveSmallIntegerField(
        _("a renewal customer reached is called again after (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_(
            "Next-lead dispatch hands out a renewal task again this long after the "
            "customer was reached; one not reached comes back the next day"
        ),
    )
    # Delivery
    default_delivery_method = models.CharField(
        _("default delivery"),
        max_length=12,
        choices=DeliveryMethod.choices,
        default=DeliveryMethod.ELECTRONIC,
    )
    delivery_overdue_days = models.PositiveSmallIntegerField(
        _("a delivery is overdue after (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_("Counted from the issue (not sent yet) or from the sending"),
    )
    # Return visits (2023 rule Art. 35)
    return_visit_categories = models.JSONField(
        _("return visits for the categories"),
        default=_default_visit_categories,
        blank=True,
        help_text=_("Product categories whose policies get a return visit"),
    )
    return_visit_products = models.JSONField(
        _("…and for the products"),
        default=list,
        blank=True,
        help_text=_("Product codes visited whatever their category"),
    )
    return_visit_excluded_products = models.JSONField(
        _("never for the products"), default=list, blank=True
    )
    return_visit_due_days = models.PositiveSmallIntegerField(
        _("return visit due (days after the receipt)"),
        default=10,
        validators=[MinValueValidator(0), MaxValueValidator(365)],
    )
    return_visit_max_attempts = models.PositiveSmallIntegerField(
        _("attempts before a visit counts as unreachable"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(20)],
    )
    # Agent exit (2023 rule Art. 36)
    exit_notice_days = models.PositiveSmallIntegerField(
        _("notify policyholders within (days of the leaving)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    exit_notice_min_term_years = models.PositiveSmallIntegerField(
        _("notify for policies with a term longer than (years)"),
        default=1,
        validators=[MaxValueValidator(100)],
    )
    exit_reassign_to = models.CharField(
        _("a leaving agent's policies go to"),
        max_length=12,
        choices=ExitReassign.choices,
        default=ExitReassign.POOL,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-effective_from", "-id"]
        verbose_name = _("operations rule set")
        verbose_name_plural = _("operations rule sets")
        constraints = [
            models.CheckConstraint(
                condition=Q(grace_days__gte=1), name="operations_ruleset_grace_gte_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from:%Y-%m-%d})"

    @property
    def reminder_offsets(self) -> list[int]:
        """The reminder days, largest first, without repeats."""
        return sorted({int(d) for d in (self.reminder_days_before or [])}, reverse=True)

    @property
    def task_lead_days(self) -> int:
        """How many days before its due date a renewal task opens (the first reminder)."""
        offsets = self.reminder_offsets
        return offsets[0] if offsets else 0


class ReceiptBatch(TimeStampedModel):
    """One imported file of premium receipts, with its per-row report."""

    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.DONE
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    applied = models.PositiveIntegerField(_("applied"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    amount = models.DecimalField(_("amount applied"), **MONEY, default=0)
    headers = models.JSONField(_("headers"), default=list, blank=True)
    summary = models.JSONField(_("summary"), default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("premium receipt batch")
        verbose_name_plural = _("premium receipt batches")

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"


class ReceiptRejection(models.Model):
    """One rejected row of a receipt file, for the downloadable report."""

    batch = models.ForeignKey(ReceiptBatch, on_delete=models.CASCADE, related_name="rejections")
    row_number = models.PositiveIntegerField(_("row"))
    reason = models.CharField(_("reason"), max_length=24, choices=ReceiptRejectReason.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    raw = models.JSONField(_("row as read"), default=list, blank=True)

    class Meta:
        ordering = ["batch_id", "row_number", "id"]
        verbose_name = _("rejected receipt")
        verbose_name_plural = _("rejected receipts")

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_number} {self.reason}"


class PolicyServicing(TimeStampedModel):
    """The in-force side of an issued policy: its status with dates, and who serves it.

    ``servicing_owner`` is the selling agent at first; ``None`` means the renewal operations
    pool. ``scheduled_until`` is the last due date of the premium schedule created so far."""

    policy = models.OneToOneField(
        "policies.Policy",
        verbose_name=_("policy"),
        on_delete=models.CASCADE,
        related_name="servicing",
    )
    status = models.CharField(
        _("in-force status"),
        max_length=20,
        choices=ServicingStatus.choices,
        default=ServicingStatus.IN_FORCE,
    )
    in_force_since = models.DateField(_("in force since"))
    lapsed_on = models.DateField(_("lapsed on"), null=True, blank=True)
    reinstatement_until = models.DateField(_("reinstatement possible until"), null=True, blank=True)
    reinstated_on = models.DateField(_("reinstated on"), null=True, blank=True)
    terminated_on = models.DateField(_("ended on"), null=True, blank=True)
    servicing_owner = models.ForeignKey(
        "org.Person",
        verbose_name=_("servicing owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="serviced_policies",
        help_text=_("Empty: the renewal operations pool"),
    )
    owner_since = models.DateField(_("owner since"), null=True, blank=True)
    term_ends_on = models.DateField(_("term ends on"))
    scheduled_until = models.DateField(_("premiums scheduled until"), null=True, blank=True)
    schedule_complete = models.BooleanField(_("whole term scheduled"), default=False)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["-in_force_since", "-id"]
        verbose_name = _("policy servicing")
        verbose_name_plural = _("policy servicing")
        indexes = [
            models.Index(fields=["status", "lapsed_on"], name="ops_servicing_status_idx"),
            models.Index(fields=["servicing_owner", "status"], name="ops_servicing_owner_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="lapsed")
                | (Q(lapsed_on__isnull=False) & Q(reinstatement_until__isnull=False)),
                name="operations_lapsed_has_dates",
            ),
            models.CheckConstraint(
                condition=~Q(status="reinstated") | Q(reinstated_on__isnull=False),
                name="operations_reinstated_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(
                    status__in=[
                        "surrendered",
                        "claim_terminated",
                        "transferred_out",
                        "matured",
                        "cancelled",
                    ]
                )
                | Q(terminated_on__isnull=False),
                name="operations_ended_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.get_status_display()}"


class Delivery(TimeStampedModel):
    """How the policy document reaches the customer (Art. 34), and the receipt (回执)."""

    policy = models.OneToOneField(
        "policies.Policy",
        verbose_name=_("policy"),
        on_delete=models.CASCADE,
        related_name="delivery",
    )
    method = models.CharField(
        _("delivery method"),
        max_length=12,
        choices=DeliveryMethod.choices,
        default=DeliveryMethod.ELECTRONIC,
    )
    status = models.CharField(
        _("delivery status"),
        max_length=10,
        choices=DeliveryStatus.choices,
        default=DeliveryStatus.PENDING,
    )
    sent_on = models.DateField(_("sent on"), null=True, blank=True)
    delivered_on = models.DateField(_("delivered on"), null=True, blank=True)
    failed_on = models.DateField(_("failed on"), null=True, blank=True)
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    tracking_ref = models.CharField(_("tracking reference"), max_length=100, blank=True)
    attempts = models.PositiveSmallIntegerField(_("times sent"), default=0)
    problem = models.CharField(_("problem"), max_length=300, blank=True)
    receipt_confirmed_on = models.DateField(_("receipt confirmed on"), null=True, blank=True)
    overdue_since = models.DateField(_("overdue since"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        indexes = [models.Index(fields=["status", "overdue_since"], name="ops_delivery_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_on__isnull=False),
                name="operations_sent_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_on__isnull=False),
                name="operations_delivered_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="failed") | Q(failed_on__isnull=False),
                name="operations_failed_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | Q(returned_on__isnull=False),
                name="operations_returned_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.get_status_display()}"


class PremiumDue(TimeStampedModel):
    """One premium of a policy's schedule: period 1 is the first premium (paid at the issue),
    the later ones are renewal premiums (续期保费)."""

    policy = models.ForeignKey(
        "policies.Policy",
        verbose_name=_("policy"),
        on_delete=models.CASCADE,
        related_name="premium_dues",
    )
    period = models.PositiveSmallIntegerField(_("period"))
    policy_year = models.PositiveSmallIntegerField(_("policy year"))
    due_date = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount due"), **MONEY)
    status = models.CharField(
        _("status"), max_length=10, choices=PremiumStatus.choices, default=PremiumStatus.DUE
    )
    grace_until = models.DateField(_("grace until"), null=True, blank=True)
    paid_date = models.DateField(_("paid on"), null=True, blank=True)
    paid_amount = models.DecimalField(_("amount paid"), **MONEY, null=True, blank=True)
    batch = models.ForeignKey(
        ReceiptBatch,
        verbose_name=_("receipt import"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="premiums",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["policy_id", "period"]
        verbose_name = _("premium due")
        verbose_name_plural = _("premiums due")
        indexes = [
            models.Index(fields=["status", "due_date"], name="ops_due_status_idx"),
            models.Index(fields=["status", "grace_until"], name="ops_due_grace_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["policy", "period"], name="operations_due_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="operations_due_amount_gt_0"),
            models.CheckConstraint(condition=Q(period__gte=1), name="operations_due_period_gte_1"),
            models.CheckConstraint(
                condition=~Q(status="paid")
                | (Q(paid_date__isnull=False) & Q(paid_amount__isnull=False)),
                name="operations_paid_has_date",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["in_grace", "lapsed"]) | Q(grace_until__isnull=False),
                name="operations_grace_has_end",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} #{self.period} {self.due_date:%Y-%m-%d}"


class RenewalTask(TimeStampedModel):
    """The work of collecting one renewal premium: owned by the servicing owner while they
    work here (the selling agent at first), else by the renewal operations pool (``None``)."""

    premium_due = models.OneToOneField(
        PremiumDue,
        verbose_name=_("premium due"),
        on_delete=models.CASCADE,
        related_name="renewal_task",
    )
    policy = models.ForeignKey(
        "policies.Policy",
        verbose_name=_("policy"),
        on_delete=models.CASCADE,
        related_name="renewal_tasks",
    )
    owner = models.ForeignKey(
        "org.Person",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="renewal_tasks",
        help_text=_("Empty: the renewal operations pool"),
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=RenewalOutcome.choices, blank=True
    )
    reminder_offsets_sent = models.JSONField(default=list, blank=True)
    reminders_sent = models.PositiveSmallIntegerField(_("reminders sent"), default=0)
    last_reminded_on = models.DateField(_("last reminded on"), null=True, blank=True)
    contact_count = models.PositiveSmallIntegerField(_("contacts"), default=0)
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    last_contact_outcome = models.CharField(
        _("last contact outcome"), max_length=12, choices=ContactOutcome.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("renewal task")
        verbose_name_plural = _("renewal tasks")
        indexes = [
            models.Index(fields=["owner", "status", "due_date"], name="ops_task_queue_idx"),
            models.Index(fields=["status", "due_date"], name="ops_task_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | Q(done_at__isnull=False),
                name="operations_task_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} #{self.premium_due.period if self.premium_due_id else '?'}"


class ReturnVisit(TimeStampedModel):
    """The return visit (回访) of a policy that needs one (2023 rule Art. 35)."""

    policy = models.OneToOneField(
        "policies.Policy",
        verbose_name=_("policy"),
        on_delete=models.CASCADE,
        related_name="return_visit",
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(
        _("status"), max_length=10, choices=VisitStatus.choices, default=VisitStatus.OPEN
    )
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=VisitOutcome.choices, blank=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    flagged_to = models.ForeignKey(
        "org.Person",
        verbose_name=_("flagged to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="flagged_visits",
    )
    flagged_at = models.DateTimeField(_("flagged at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(_("resolution"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("return visit")
        verbose_name_plural = _("return visits")
        indexes = [models.Index(fields=["status", "due_date"], name="ops_visit_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | Q(done_at__isnull=False),
                name="operations_visit_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(outcome="misunderstanding") | Q(flagged_at__isnull=False),
                name="operations_misunderstanding_flagged",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.get_status_display()}"

    @property
    def counts_as_done(self) -> bool:
        """Done for the commission rules: confirmed, or a misunderstanding since resolved."""
        if self.status != VisitStatus.DONE:
            return False
        if self.outcome == VisitOutcome.CONFIRMED:
            return True
        return self.outcome == VisitOutcome.MISUNDERSTANDING and self.resolved_at is not None


class ExitNotice(TimeStampedModel):
    """A policyholder to tell, within the rule set's days, that their agent has left and who
    serves them now (2023 rule Art. 36)."""

    policy = models.ForeignKey(
        "policies.Policy",
        verbose_name=_("policy"),
        on_delete=models.CASCADE,
        related_name="exit_notices",
    )
    former_agent = models.ForeignKey(
        "org.Person",
        verbose_name=_("agent who left"),
        on_delete=models.PROTECT,
        related_name="exit_notices",
    )
    new_owner = models.ForeignKey(
        "org.Person",
        verbose_name=_("new servicing owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty: the renewal operations pool"),
    )
    left_on = models.DateField(_("left on"))
    due_date = models.DateField(_("notify by"))
    status = models.CharField(
        _("status"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.OPEN
    )
    channel = models.CharField(
        _("notified by"), max_length=10, choices=NoticeChannel.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("exit notice")
        verbose_name_plural = _("exit notices")
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "former_agent"], name="operations_notice_unique"
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(done_at__isnull=False),
                name="operations_notice_closed_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(channel=""),
                name="operations_notice_done_has_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.policy} ← {self.former_agent_id}"
