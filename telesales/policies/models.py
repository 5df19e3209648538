"""Policies: the product catalogue, policies sold on the phone and their life cycle, the
stabilisation (稳单) and extended-service (延伸服务) tasks that follow a sale, and the rule set
versions that schedule them.

Money is ``Decimal`` (12 digits, 2 decimals). A policy keeps what later work needs: the
annualised premium, payment mode, term, issue, receipt and free-look dates, the status with
the time of each step, and the cancellation reason (persistency, renewals, commission and
clawback are computed from these).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telesales.core.models import TimeStampedModel
from telesales.policies.choices import (
    INSTALMENTS_PER_YEAR,
    CancelReason,
    CommissionBasis,
    PaymentMode,
    PolicyAction,
    PolicyStatus,
    ProductCategory,
    SuggestionRule,
    TaskKind,
    TaskOutcome,
    TaskStatus,
)

#: A free-look window shorter than this is refused (健康保险管理办法: at least 10 days).
FREE_LOOK_MIN_DAYS = 10
MONEY = {"max_digits": 12, "decimal_places": 2}


class Product(TimeStampedModel):
    """One insurance product the center may sell, with the limits a sale is checked against."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    insurer = models.CharField(_("insurer"), max_length=100, blank=True)
    category = models.CharField(_("category"), max_length=20, choices=ProductCategory.choices)
    grade = models.PositiveSmallIntegerField(
        _("required sales-capability grade"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
        help_text=_("Only agents of this sales-capability grade or higher may sell it"),
    )
    free_look_days = models.PositiveSmallIntegerField(
        _("free-look days"),
        default=15,
        validators=[MinValueValidator(FREE_LOOK_MIN_DAYS), MaxValueValidator(366)],
        help_text=_("Counted from the receipt date"),
    )
    commission_basis = models.CharField(
        _("commission basis"),
        max_length=10,
        choices=CommissionBasis.choices,
        default=CommissionBasis.FYP,
    )
    first_year_commission_rate = models.DecimalField(
        _("first-year commission rate"),
        max_digits=5,
        decimal_places=4,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text=_("A share of the basis, e.g. 0.3000 for 30%"),
    )
    allowed_modes = models.JSONField(
        _("payment modes allowed"),
        default=list,
        help_text=_("single, annual, semi_annual, quarterly, monthly"),
    )
    allowed_terms = models.JSONField(
        _("terms allowed (years)"), default=list, help_text=_("e.g. [1] or [10, 20]")
    )
    min_premium = models.DecimalField(
        _("minimum annualised premium"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))]
    )
    max_premium = models.DecimalField(
        _("maximum annualised premium"), **MONEY, validators=[MinValueValidator(Decimal("0.01"))]
    )
    #: The ages the product insures (the insured person's age on the day of the sale, in
    #: whole years); empty: no limit on that side.
    min_insured_age = models.PositiveSmallIntegerField(
        _("youngest insured age"), null=True, blank=True
    )
    max_insured_age = models.PositiveSmallIntegerField(
        _("oldest insured age"), null=True, blank=True
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        ordering = ["category", "name", "id"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1) & Q(grade__lte=4), name="policies_product_grade_range"
            ),
            models.CheckConstraint(
                condition=Q(free_look_days__gte=FREE_LOOK_MIN_DAYS),
                name="policies_product_free_look_min",
            ),
            models.CheckConstraint(
                condition=Q(min_premium__gt=0) & Q(max_premium__gte=models.F("min_premium")),
                name="policies_product_premium_range",
            ),
            models.CheckConstraint(
                condition=Q(first_year_commission_rate__gte=0)
                & Q(first_year_commission_rate__lte=1),
                name="policies_product_fyc_rate_range",
            ),
            models.CheckConstraint(
                condition=Q(min_insured_age__isnull=True)
                | Q(max_insured_age__isnull=True)
                | Q(max_insured_age__gte=models.F("min_insured_age")),
                name="policies_product_insured_age_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def age_range(self) -> str:
        """The ages insured as people read them ("ages 0–17", "ages 18 and over"); "" when
        any age may be insured."""
        young, old = self.min_insured_age, self.max_insured_age
        if young is not None and old is not None:
            return _("ages %(low)d–%(high)d") % {"low": young, "high": old}
        if young is not None:
            return _("ages %(low)d and over") % {"low": young}
        if old is not None:
            return _("ages up to %(high)d") % {"high": old}
        return ""

    def mode_labels(self) -> list[str]:
        """The payment modes allowed, by their names (a code not known is shown as it is)."""
        labels = dict(PaymentMode.choices)
        return [str(labels.get(mode, mode)) for mode in self.allowed_modes]


class Policy(TimeStampedModel):
    """A policy sold on the phone: applied when the sale is recorded, then issued, receipt
    confirmed and kept past the free-look window — or cancelled inside it, with a reason."""

    number = models.CharField(_("policy number"), max_length=32, blank=True)
    lead = models.ForeignKey(
        "leads.Lead", verbose_name=_("lead"), on_delete=models.PROTECT, related_name="policies"
    )
    holder = models.ForeignKey(
        "leads.Customer",
        verbose_name=_("policy holder"),
        on_delete=models.PROTECT,
        related_name="policies_held",
    )
    insured = models.ManyToManyField(
        "leads.Customer", verbose_name=_("insured persons"), related_name="policies_insured"
    )
    agent = models.ForeignKey(
        "org.Person", verbose_name=_("agent"), on_delete=models.PROTECT, related_name="policies"
    )
    team = models.ForeignKey(
        "org.Team",
        verbose_name=_("team at the sale"),
        on_delete=models.PROTECT,
        related_name="policies",
    )
    product = models.ForeignKey(
        Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="policies"
    )
    annualised_premium = models.DecimalField(_("annualised premium"), **MONEY)
    payment_mode = models.CharField(_("payment mode"), max_length=12, choices=PaymentMode.choices)
    term_years = models.PositiveSmallIntegerField(_("term (years)"))
    status = models.CharField(
        _("status"), max_length=20, choices=PolicyStatus.choices, default=PolicyStatus.APPLIED
    )
    applied_at = models.DateTimeField(_("applied at"))
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    receipt_date = models.DateField(_("receipt date"), null=True, blank=True)
    free_look_end = models.DateField(_("free-look ends on"), null=True, blank=True)
    free_look_ended_at = models.DateTimeField(_("free-look ended at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(
        _("cancellation reason"), max_length=20, choices=CancelReason.choices, blank=True
    )
    cancel_note = models.TextField(_("cancellation note"), blank=True)
    declined_at = models.DateTimeField(_("declined at"), null=True, blank=True)
    decline_note = models.TextField(_("underwriting's reason"), blank=True)
    recording_ref = models.CharField(_("sale recording"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-applied_at", "-id"]
        verbose_name = _("policy")
        verbose_name_plural = _("policies")
        indexes = [
            models.Index(fields=["agent", "applied_at"], name="policies_agent_applied_idx"),
            models.Index(fields=["team", "issued_at"], name="policies_team_issued_idx"),
            models.Index(fields=["status", "free_look_end"], name="policies_free_look_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(number=""), name="policies_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(annualised_premium__gt=0), name="policies_premium_gt_0"
            ),
            models.CheckConstraint(condition=Q(term_years__gte=1), name="policies_term_gte_1"),
            models.CheckConstraint(
                condition=Q(status__in=["applied", "declined"])
                | (Q(issued_at__isnull=False) & ~Q(number="")),
                name="policies_issued_has_number",
            ),
            models.CheckConstraint(
                condition=~Q(status="declined")
                | (Q(declined_at__isnull=False) & ~Q(decline_note="")),
                name="policies_declined_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["receipt_confirmed", "free_look_ended"])
                | (Q(receipt_date__isnull=False) & Q(free_look_end__isnull=False)),
                name="policies_receipt_has_dates",
            ),
            models.CheckConstraint(
                condition=~Q(status="cancelled")
                | (Q(cancelled_at__isnull=False) & ~Q(cancel_reason="")),
                name="policies_cancelled_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def issue_date(self):
        return timezone.localdate(self.issued_at) if self.issued_at else None

    @property
    def instalments_per_year(self) -> int:
        return INSTALMENTS_PER_YEAR[PaymentMode(self.payment_mode)]

    @property
    def instalment_premium(self) -> Decimal:
        """What each payment is (the annualised premium for a single premium)."""
        return (self.annualised_premium / self.instalments_per_year).quantize(Decimal("0.01"))


class PolicyEvent(models.Model):
    """Policy history: every status change, with its actor and reason."""

    policy = models.ForeignKey(Policy, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=20, choices=PolicyAction.choices)
    from_status = models.CharField(max_length=20, choices=PolicyStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=PolicyStatus.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)

    class Meta:
        ordering = ["policy_id", "at", "id"]
        verbose_name = _("policy event")
        verbose_name_plural = _("policy events")

    def __str__(self) -> str:
        return f"{self.policy_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


DEFAULT_WELCOME_SCRIPT = (
    "您好，{holder}，我是{company}的保险顾问{agent}（执业登记号{reg_no}）。您投保的《{product}》"
    "（保单号{policy_number}）已经生效，感谢您的信任。电子保单已发送，请您查收并确认回执。"
    "犹豫期内如有任何疑问，都可以随时联系我。"
)
DEFAULT_CHECKIN_SCRIPT = (
    "您好，{holder}，我是{company}的保险顾问{agent}（执业登记号{reg_no}）。您的《{product}》"
    "犹豫期到{free_look_end}结束，想再跟您确认一下保障内容和缴费安排是否清楚，"
    "还有什么需要我解释的吗？"
)
DEFAULT_EXTENDED_SCRIPT = (
    "您好，{holder}，我是{company}的保险顾问{agent}（执业登记号{reg_no}）。"
    "上次您为家庭配置了保障，"
    "根据您家里现有的保单，{member}还缺少{category}方面的保障。"
    "保险是对家人责任的延续，方便的话我给您介绍一下适合的方案？"
)


class StabilisationRuleSet(TimeStampedModel):
    """When the post-sale tasks fall due and what the extended service suggests.

    Versions with effective dates: the version in force on the day of the issue schedules a
    policy's tasks. Every number here is a default a center changes.
    """

    name = models.CharField(_("name"), max_length=100)
    effective_from = models.DateField(_("effective from"))
    is_active = models.BooleanField(_("active"), default=True)
    welcome_call_day = models.PositiveSmallIntegerField(
        _("welcome call on day"),
        default=1,
        validators=[MaxValueValidator(FREE_LOOK_MIN_DAYS - 1)],
        help_text=_("Days after the issue (0: the day of the issue)"),
    )
    checkin_days_before_end = models.PositiveSmallIntegerField(
        _("check-in days before the free-look window ends"),
        default=3,
        validators=[MaxValueValidator(FREE_LOOK_MIN_DAYS - 1)],
    )
    extended_service_after_days = models.PositiveSmallIntegerField(
        _("extended service after (days)"),
        default=7,
        validators=[MaxValueValidator(365)],
        help_text=_("Days after the issue the extended-service tasks fall due"),
    )
    extended_service_after_free_look_days = models.PositiveSmallIntegerField(
        _("extended service at the earliest (days after the free-look window)"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text=_(
            "Stabilisation comes first: extended-service tasks never fall due before this many "
            "days after the first policy's free-look window ends (1: the day after)"
        ),
    )
    task_due_hour = models.PositiveSmallIntegerField(
        _("tasks fall due at (hour)"),
        default=9,
        validators=[MinValueValidator(9), MaxValueValidator(20)],
        help_text=_("Local time, inside the calling window"),
    )
    child_max_age = models.PositiveSmallIntegerField(
        _("a child is at most (years old)"), default=17, validators=[MaxValueValidator(25)]
    )
    spouse_max_age_gap = models.PositiveSmallIntegerField(
        _("a spouse is at most this many years older or younger"),
        default=15,
        validators=[MaxValueValidator(50)],
    )
    pension_max_age = models.PositiveSmallIntegerField(
        _("suggest a pension up to the age of"),
        default=60,
        validators=[MinValueValidator(18), MaxValueValidator(80)],
    )
    suggest_spouse_accident = models.BooleanField(
        SuggestionRule.SPOUSE_ACCIDENT.label, default=True
    )
    suggest_critical_illness = models.BooleanField(
        SuggestionRule.CRITICAL_ILLNESS.label, default=True
    )
    suggest_pension = models.BooleanField(SuggestionRule.PENSION.label, default=True)
    suggest_child_accident = models.BooleanField(SuggestionRule.CHILD_ACCIDENT.label, default=True)
    suggest_child_education = models.BooleanField(
        SuggestionRule.CHILD_EDUCATION.label, default=True
    )
    welcome_script = models.TextField(_("welcome call script"), default=DEFAULT_WELCOME_SCRIPT)
    checkin_script = models.TextField(_("check-in script"), default=DEFAULT_CHECKIN_SCRIPT)
    extended_script = models.TextField(
        _("extended-service script"), default=DEFAULT_EXTENDED_SCRIPT
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-effective_from", "-id"]
        verbose_name = _("stabilisation rule set")
        verbose_name_plural = _("stabilisation rule sets")
        constraints = [
            models.CheckConstraint(
                condition=Q(welcome_call_day__lt=FREE_LOOK_MIN_DAYS)
                & Q(checkin_days_before_end__lt=FREE_LOOK_MIN_DAYS),
                name="policies_ruleset_inside_free_look",
            ),
            models.CheckConstraint(
                condition=Q(task_due_hour__gte=9) & Q(task_due_hour__lte=20),
                name="policies_ruleset_due_hour",
            ),
            models.CheckConstraint(
                condition=Q(extended_service_after_free_look_days__gte=1),
                name="policies_ruleset_extended_after_free_look",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from:%Y-%m-%d})"

    def rule_enabled(self, rule: str) -> bool:
        return bool(getattr(self, f"suggest_{rule}"))


class ServiceTask(TimeStampedModel):
    """A call the selling agent owes a customer after a sale: the welcome call and the
    free-look check-in (稳单), or an extended-service suggestion (延伸服务)."""

    kind = models.CharField(_("kind"), max_length=20, choices=TaskKind.choices)
    policy = models.ForeignKey(
        Policy, verbose_name=_("policy"), on_delete=models.CASCADE, related_name="tasks"
    )
    customer = models.ForeignKey(
        "leads.Customer",
        verbose_name=_("customer to call"),
        on_delete=models.PROTECT,
        related_name="service_tasks",
    )
    for_customer = models.ForeignKey(
        "leads.Customer",
        verbose_name=_("cover suggested for"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    lead = models.ForeignKey(
        "leads.Lead",
        verbose_name=_("lead"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_tasks",
    )
    agent = models.ForeignKey(
        "org.Person",
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="service_tasks",
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    outcome = models.CharField(_("outcome"), max_length=20, choices=TaskOutcome.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    script = models.TextField(_("script"), blank=True)
    suggestion_rule = models.CharField(
        _("suggestion"), max_length=20, choices=SuggestionRule.choices, blank=True
    )
    suggested_category = models.CharField(
        _("suggested category"), max_length=20, choices=ProductCategory.choices, blank=True
    )
    converted_policy = models.ForeignKey(
        Policy,
        verbose_name=_("converted into"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="converted_tasks",
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("service task")
        verbose_name_plural = _("service tasks")
        indexes = [
            models.Index(fields=["agent", "status", "due_at"], name="policies_task_queue_idx"),
            models.Index(fields=["lead", "status"], name="policies_task_lead_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="extended_service") | ~Q(suggested_category=""),
                name="policies_task_extended_has_category",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(done_at__isnull=False),
                name="policies_task_closed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"
