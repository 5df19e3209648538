"""Lead data models: customers and households, channels, batches, leads and their history,
pool rule sets, allocation runs and the do-not-call list.

Phone numbers are stored in E.164 with a keyed hash (``core.phone_numbers.phone_hash``); the
hash is what deduplication and DNC checks use. Pages and API responses show them masked.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telesales.core.models import TimeStampedModel
from telesales.leads.choices import (
    AllocationStrategy,
    BatchStatus,
    DncSource,
    Gender,
    LeadAction,
    LeadGrade,
    LeadState,
    RejectReason,
    Relation,
)


class Household(TimeStampedModel):
    """A family: the unit of extended service (延伸服务) after a sale."""

    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class Customer(TimeStampedModel):
    """A person we may call. One customer per mobile number (the hash is unique)."""

    name = models.CharField(_("name"), max_length=50, blank=True)
    mobile_e164 = models.CharField(_("mobile"), max_length=20)
    mobile_hash = models.CharField(max_length=64)  # unique: see Meta.constraints
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    province = models.CharField(_("province"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=30, blank=True)
    id_number = models.CharField(_("ID number"), max_length=18, blank=True)
    household = models.ForeignKey(
        Household,
        verbose_name=_("household"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        db_index=False,  # partial index in Meta: most customers have no household
    )
    #: The member's relation to ``relation_to`` (the customer they were recorded with); blank
    #: when not known (extended service then reads spouse and child from age and gender).
    relation = models.CharField(
        _("relation"), max_length=10, choices=Relation.choices, blank=True, default=""
    )
    relation_to = models.ForeignKey(
        "self",
        verbose_name=_("relation to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    no_marketing = models.BooleanField(
        _("no marketing"), default=False, help_text=_("Permanent: never call for sales")
    )

    class Meta:
        ordering = ["id"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # One index per job, as few as the queries need: a lead import inserts a row into
        # every index of the table, a million times for a big file.
        # - The hash is unique through one index that compares bytes (varchar_pattern_ops on
        #   PostgreSQL, where ``unique=True`` on a CharField would add a second, pattern
        #   index; the hashes are hex, so byte order is all any lookup needs).
        # - Households: only the customers that have one are indexed.
        constraints = [
            models.UniqueConstraint(
                fields=["mobile_hash"],
                name="leads_customer_mobile_hash_uniq",
                opclasses=["varchar_pattern_ops"],
            ),
        ]
        indexes = [
            models.Index(
                fields=["household"],
                name="leads_customer_household_idx",
                condition=Q(household__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"#{self.pk}"


class Channel(TimeStampedModel):
    """Where leads come from (source channel): a gift campaign, a partner, a purchased list."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    default_cost_per_lead = models.DecimalField(
        _("default cost per lead"), max_digits=10, decimal_places=2, default=Decimal("0")
    )
    consent_wording = models.TextField(
        _("consent wording"),
        blank=True,
        help_text=_("What the customer agreed to, when the file carries no consent columns"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name


class LeadBatch(TimeStampedModel):
    """One imported file. Counts are final once the status is done."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    channel = models.ForeignKey(Channel, verbose_name=_("channel"), on_delete=models.PROTECT)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    stored_file = models.CharField(max_length=500, blank=True)
    cost = models.DecimalField(
        _("cost"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
    )
    status = models.CharField(
        _("status"), max_length=10, choices=BatchStatus.choices, default=BatchStatus.PENDING
    )
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    default_grade = models.CharField(
        _("default grade"), max_length=1, choices=LeadGrade.choices, default=LeadGrade.C
    )
    required_grade = models.PositiveSmallIntegerField(
        _("required sales-capability grade"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    rows = models.PositiveIntegerField(_("rows"), default=0)
    processed = models.PositiveIntegerField(_("processed"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    duplicate = models.PositiveIntegerField(_("duplicates"), default=0)
    invalid = models.PositiveIntegerField(_("invalid"), default=0)
    dnc_blocked = models.PositiveIntegerField(_("DNC blocked"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lead batch")
        verbose_name_plural = _("lead batches")
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="leads_batch_cost_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def progress(self) -> int:
        return int(100 * self.processed / self.rows) if self.rows else 0


class BatchRejection(models.Model):
    """One rejected row of an import, for the downloadable rejection report."""

    batch = models.ForeignKey(
        LeadBatch,
        on_delete=models.CASCADE,
        related_name="rejections",
        db_index=False,  # leads_rejection_row_idx (batch, row_number) serves it
    )
    row_number = models.PositiveIntegerField(_("row"))
    reason = models.CharField(_("reason"), max_length=24, choices=RejectReason.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    raw = models.JSONField(_("row as read"), default=list, blank=True)
    #: The keyed hash of the row's number when it held a valid one (duplicates, DNC,
    #: warnings): who downloaded a report holding a number is found by it, also after the
    #: raw cells were purged. Empty for rows without a valid number and for rows recorded
    #: before the field existed.
    phone_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["batch_id", "row_number"]
        verbose_name = _("rejected row")
        verbose_name_plural = _("rejected rows")
        indexes = [
            models.Index(fields=["batch", "row_number"], name="leads_rejection_row_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_number} {self.reason}"


class Lead(TimeStampedModel):
    """A customer to call for a sale, owned by nobody (public pool) or by one agent."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="leads")
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="leads")
    batch = models.ForeignKey(
        LeadBatch,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,  # leads_lead_batch_idx (batch, state) serves it
    )
    grade = models.CharField(
        _("grade"), max_length=1, choices=LeadGrade.choices, default=LeadGrade.C
    )
    required_grade = models.PositiveSmallIntegerField(
        _("required sales-capability grade"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    state = models.CharField(
        _("state"), max_length=12, choices=LeadState.choices, default=LeadState.PUBLIC
    )
    owner = models.ForeignKey(
        "org.Person",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,  # leads_lead_owner_idx (owner, state) serves it
    )
    owned_since = models.DateTimeField(_("owned since"), null=True, blank=True)
    protect_until = models.DateTimeField(_("protected until"), null=True, blank=True)
    former_owner = models.ForeignKey(
        "org.Person",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # only ever read with the lead itself, never searched by
    )
    former_owner_bar_until = models.DateTimeField(null=True, blank=True)
    recycle_warned_at = models.DateTimeField(null=True, blank=True)
    # Consent (PIPL; R7/R8: no clear consent means no call)
    consent_source = models.CharField(_("consent source"), max_length=100, blank=True)
    consent_at = models.DateTimeField(_("consent time"), null=True, blank=True)
    consent_wording = models.TextField(_("consent wording"), blank=True)
    consent_evidence = models.CharField(_("consent evidence"), max_length=300, blank=True)
    # Activity, maintained by the workspace (calls) and read by recycling.
    dial_count = models.PositiveIntegerField(_("dials"), default=0)
    connect_count = models.PositiveIntegerField(_("connects"), default=0)
    first_dialled_at = models.DateTimeField(null=True, blank=True)
    last_dialled_at = models.DateTimeField(null=True, blank=True)
    last_contact_at = models.DateTimeField(null=True, blank=True)
    last_followup_at = models.DateTimeField(null=True, blank=True)
    won_at = models.DateTimeField(null=True, blank=True)
    premium = models.DecimalField(
        _("premium won"), max_digits=12, decimal_places=2, default=Decimal("0")
    )

    class Meta:
        ordering = ["-id"]
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        # Every index costs each imported lead an insert. Owner and protection are indexed
        # only where set (a query for an owner or a deadline implies "is set", so both
        # engines use the partial indexes for it); imported public leads have neither.
        indexes = [
            models.Index(fields=["state", "grade", "id"], name="leads_lead_pool_idx"),
            models.Index(
                fields=["owner", "state"],
                name="leads_lead_owner_set_idx",
                condition=Q(owner__isnull=False),
            ),
            models.Index(fields=["batch", "state"], name="leads_lead_batch_idx"),
            models.Index(
                fields=["protect_until"],
                name="leads_lead_protect_set_idx",
                condition=Q(protect_until__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(owner__isnull=True) | ~Q(state__in=["public", "new"]),
                name="leads_public_has_no_owner",
            ),
            models.CheckConstraint(
                condition=Q(owner__isnull=False) | ~Q(state__in=["owned", "in_progress"]),
                name="leads_private_has_owner",
            ),
            models.CheckConstraint(
                condition=Q(required_grade__gte=1) & Q(required_grade__lte=4),
                name="leads_required_grade_range",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def has_consent(self) -> bool:
        return bool(self.consent_at and self.consent_source)


class LeadEvent(models.Model):
    """Lead history: every transition, with its actor and reason."""

    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        related_name="events",
        db_index=False,  # leads_event_lead_idx (lead, at) serves it
    )
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=20, choices=LeadAction.choices)
    from_state = models.CharField(max_length=12, choices=LeadState.choices, blank=True)
    to_state = models.CharField(max_length=12, choices=LeadState.choices, blank=True)
    from_owner = models.ForeignKey(
        "org.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_owner = models.ForeignKey(
        "org.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["lead_id", "at", "id"]
        verbose_name = _("lead event")
        verbose_name_plural = _("lead events")
        indexes = [models.Index(fields=["lead", "at"], name="leads_event_lead_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id} {self.action} {self.at:%Y-%m-%d %H:%M}"


class LeadRuleSet(TimeStampedModel):
    """Pool, allocation and recycling parameters: data with versions and effective dates.

    The rule set in force for a team is the latest active one effective on the day whose
    ``stage`` matches the team's life-cycle stage, else the latest one with no stage.
    Every threshold here is a default a center changes (DOMAIN.md §5.3).
    """

    name = models.CharField(_("name"), max_length=100)
    stage = models.CharField(
        _("for teams in stage"),
        max_length=20,
        blank=True,
        help_text=_("Empty: applies to every team without a stage-specific rule set"),
    )
    effective_from = models.DateField(_("effective from"))
    is_active = models.BooleanField(_("active"), default=True)
    # Pools
    default_private_cap = models.PositiveIntegerField(_("private pool cap"), default=300)
    private_cap_by_level = models.JSONField(
        _("private pool cap by level"),
        default=dict,
        blank=True,
        help_text=_('Level code to cap, e.g. {"T0": 150, "S3": 600}'),
    )
    daily_claim_limit = models.PositiveIntegerField(
        _("daily claims from the public pool"), default=30
    )
    protection_days = models.PositiveIntegerField(_("protection days"), default=10)
    protection_extend_days = models.PositiveIntegerField(
        _("protection extended on activity by (days)"), default=3
    )
    protection_max_days = models.PositiveIntegerField(_("maximum protection days"), default=30)
    former_owner_bar_days = models.PositiveIntegerField(_("former-owner bar (days)"), default=7)
    recycle_warning_days = models.PositiveIntegerField(_("warn before recycling (days)"), default=2)
    # Recycling
    recycle_no_dial_days = models.PositiveIntegerField(
        _("recycle if not dialled within (days)"), default=3
    )
    recycle_no_connect_attempts = models.PositiveIntegerField(
        _("recycle after attempts without a connect"), default=6
    )
    recycle_no_connect_days = models.PositiveIntegerField(
        _("…and days without a connect"), default=7
    )
    recycle_no_followup_days = models.PositiveIntegerField(
        _("recycle if no follow-up for (days)"), default=15
    )
    recycle_on_owner_leaving = models.BooleanField(_("recycle when the owner leaves"), default=True)
    # Allocation
    daily_allocation_quota = models.PositiveIntegerField(
        _("new leads per agent per day"), default=25
    )
    level_weights = models.JSONField(
        _("allocation weight by level"),
        default=dict,
        blank=True,
        help_text=_('Level code to weight, e.g. {"T0": 0.8, "S3": 1.4}; missing levels weigh 1'),
    )
    new_hire_weeks = models.PositiveIntegerField(_("new-hire protection (weeks)"), default=8)
    new_hire_ab_share = models.DecimalField(
        _("share of A/B leads reserved for new hires"),
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.30"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    # Compliance
    dnc_days = models.PositiveIntegerField(_("a refusal blocks calls for (days)"), default=180)

    class Meta:
        ordering = ["-effective_from", "-id"]
        verbose_name = _("lead rule set")
        verbose_name_plural = _("lead rule sets")
        constraints = [
            models.CheckConstraint(
                condition=Q(protection_max_days__gte=models.F("protection_days")),
                name="leads_ruleset_max_protection_gte_protection",
            ),
            models.CheckConstraint(condition=Q(dnc_days__gte=1), name="leads_ruleset_dnc_days"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from:%Y-%m-%d})"

    def cap_for_level(self, level_code: str | None) -> int:
        value = (self.private_cap_by_level or {}).get(level_code or "")
        return int(value) if value is not None else self.default_private_cap

    def weight_for_level(self, level_code: str | None) -> Decimal:
        value = (self.level_weights or {}).get(level_code or "")
        return Decimal(str(value)) if value is not None else Decimal("1")


class AllocationRun(TimeStampedModel):
    """An allocation: previewed first, then committed as one audited operation."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    strategy = models.CharField(_("strategy"), max_length=12, choices=AllocationStrategy.choices)
    criteria = models.JSONField(_("lead filter"), default=dict)
    targets = models.JSONField(_("teams or agents"), default=dict)
    plan = models.JSONField(_("planned assignments"), default=dict)
    summary = models.JSONField(_("preview summary"), default=dict)
    committed_at = models.DateTimeField(null=True, blank=True)
    assigned = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return f"{self.get_strategy_display()} #{self.pk}"


class DncEntry(TimeStampedModel):
    """A number that must not be called, until ``expires_at`` (None: for good)."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    phone_masked = models.CharField(_("number"), max_length=20)
    source = models.CharField(_("source"), max_length=20, choices=DncSource.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    expires_at = models.DateTimeField(_("blocked until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("do-not-call entry")
        verbose_name_plural = _("do-not-call list")
        indexes = [models.Index(fields=["phone_hash", "expires_at"], name="leads_dnc_lookup_idx")]
        constraints = [
            # One entry in force per number: a later block supersedes (ends) the earlier one
            # and an entry that lapsed is closed (``removed_at`` = its expiry) before a new
            # one is added (``services.dnc_add``, ``importing.dnc_import``).
            models.UniqueConstraint(
                fields=["phone_hash"],
                condition=Q(removed_at__isnull=True),
                name="leads_dnc_one_open_entry_per_number",
            ),
        ]

    def __str__(self) -> str:
        return self.phone_masked
