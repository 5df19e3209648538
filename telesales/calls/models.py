"""Calls: dispositions, call rule sets, call attempts, follow-ups, agent presence, hand-outs
and CDR imports.

A call attempt never stores the dialled number: it points at the lead, whose customer holds
the number (E.164 plus its keyed hash). CDR matching compares hashes.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telesales.calls.choices import (
    AgentState,
    CallKind,
    DispatchSource,
    FollowUpKind,
    FollowUpStatus,
)
from telesales.core.formatting import line_breaks_normalised
from telesales.core.models import TimeStampedModel

#: The longest note an agent may write on a call's outcome, a sale or a follow-up. The
#: workspace forms, the API schemas and the services all refuse a longer one with a clear
#: error (nothing is ever cut), and ``FollowUp.note`` holds this many characters.
CALL_NOTE_MAX_LENGTH = 2000


def open_call_limit() -> dt.timedelta:
    """How long a call may stay open before it counts as left open (the agent forgot to hang
    up): ``TELESALES_CALL_OPEN_LIMIT_MINUTES``, default 120."""
    return dt.timedelta(minutes=int(getattr(settings, "TELESALES_CALL_OPEN_LIMIT_MINUTES", 120)))


def note_normalised(text: str | None) -> str:
    """A note as it is counted and stored on every path (the forms, the API, the services):
    line breaks as one LF, ends trimmed (``core.formatting.line_breaks_normalised``)."""
    return line_breaks_normalised(text)


def _default_spacing() -> list[int]:
    return [1, 2, 3, 5, 7]


class Disposition(TimeStampedModel):
    """A disposition code (结束码) with the outcome flags that drive what happens next.

    ``code`` is a stable English identifier; ``name`` is data (stored in Chinese for the
    default set). The flags: ``human_answered`` (a person picked up), ``contact`` (we spoke
    to the customer), ``effective`` (a real sales conversation), ``sale``, ``callback``
    (schedules a follow-up), ``dnc`` (the customer asked not to be called: the number goes on
    the DNC list at once), ``invalid_number``, ``refusal`` (starts the refusal cool-down) and
    ``final`` (the lead's sales life ends).
    """

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=50)
    human_answered = models.BooleanField(_("human answered"), default=False)
    contact = models.BooleanField(_("contact"), default=False)
    effective = models.BooleanField(_("effective conversation"), default=False)
    sale = models.BooleanField(_("sale"), default=False)
    callback = models.BooleanField(_("schedules a follow-up"), default=False)
    dnc = models.BooleanField(_("do not call"), default=False)
    invalid_number = models.BooleanField(_("invalid number"), default=False)
    refusal = models.BooleanField(_("refusal"), default=False)
    final = models.BooleanField(_("final"), default=False)
    order = models.PositiveSmallIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "code"]
        verbose_name = _("disposition")
        verbose_name_plural = _("dispositions")
        constraints = [
            models.CheckConstraint(
                condition=Q(sale=False) | Q(contact=True), name="calls_disposition_sale_is_contact"
            ),
            models.CheckConstraint(
                condition=Q(contact=False) | Q(human_answered=True),
                name="calls_disposition_contact_is_answered",
            ),
            models.CheckConstraint(
                condition=~(Q(sale=True) & (Q(dnc=True) | Q(invalid_number=True))),
                name="calls_disposition_sale_not_dnc_or_invalid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class CallRuleSet(TimeStampedModel):
    """Calling rules: the window, attempt caps, cool-downs, the follow-up cadence and
    recording retention. Data with versions and effective dates, like ``leads.LeadRuleSet``:
    the rule set in force for a team is the latest active one effective on the day whose
    ``stage`` matches the team's life-cycle stage, else the latest one with no stage.
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
    # Calling window, in the customer's local time (R1: no outbound sales 21:00–09:00)
    window_start = models.TimeField(_("calls from"), default=dt.time(9, 0))
    window_end = models.TimeField(_("calls until"), default=dt.time(21, 0))
    # Attempt caps per lead (R9: carriers and regulators cap calls per number)
    max_attempts_per_day = models.PositiveIntegerField(
        _("attempts per lead per day"), default=3, validators=[MinValueValidator(1)]
    )
    max_attempts_24h = models.PositiveIntegerField(
        _("attempts per lead in any 24 hours"), default=4, validators=[MinValueValidator(1)]
    )
    max_attempts_lifetime = models.PositiveIntegerField(
        _("attempts per lead in its life"), default=15, validators=[MinValueValidator(1)]
    )
    min_minutes_between_attempts = models.PositiveIntegerField(
        _("cool-down between attempts (minutes)"), default=30
    )
    refusal_cooldown_days = models.PositiveIntegerField(
        _("no calls after a refusal for (days)"), default=30
    )
    effective_call_seconds = models.PositiveIntegerField(
        _("an effective call lasts at least (seconds)"), default=60
    )
    # Follow-up cadence
    cadence_min_followups = models.PositiveSmallIntegerField(
        _("follow-ups a missed call does not use up"), default=2
    )
    cadence_max_followups = models.PositiveSmallIntegerField(
        _("follow-ups before the lead is recycled"), default=5, validators=[MinValueValidator(1)]
    )
    cadence_spacing_days = models.JSONField(
        _("days between follow-ups"),
        default=_default_spacing,
        help_text=_("Days before the 1st, 2nd, … follow-up, e.g. [1, 2, 3, 5, 7]"),
    )
    overdue_escalate_hours = models.PositiveIntegerField(
        _("escalate an overdue follow-up after (hours)"),
        # One calling day of the default window: what 24 hours by the clock used to be.
        default=12,
        help_text=_(
            "Calling hours: only the time inside the calling window counts, so a follow-up "
            "due 20:30 with 2 hours escalates at 10:30 the next day"
        ),
    )
    callback_reassign_when_owner_absent = models.BooleanField(
        _("move callbacks of absent agents to a teammate"), default=True
    )
    # Recording retention (R1/R12; PIPL Art. 19)
    non_sale_recording_days = models.PositiveIntegerField(
        _("keep recordings without a sale for (days)"), default=90
    )
    sale_recording_years_short = models.PositiveSmallIntegerField(
        _("keep sale recordings, policy up to 1 year (years after it ends)"),
        default=5,
        validators=[MinValueValidator(5)],
    )
    sale_recording_years_long = models.PositiveSmallIntegerField(
        _("keep sale recordings, policy over 1 year (years after it ends)"),
        default=10,
        validators=[MinValueValidator(10)],
    )

    class Meta:
        ordering = ["-effective_from", "-id"]
        verbose_name = _("call rule set")
        verbose_name_plural = _("call rule sets")
        constraints = [
            models.CheckConstraint(
                condition=Q(window_end__gt=models.F("window_start")),
                name="calls_ruleset_window_order",
            ),
            models.CheckConstraint(
                condition=Q(cadence_max_followups__gte=models.F("cadence_min_followups")),
                name="calls_ruleset_cadence_order",
            ),
            models.CheckConstraint(
                condition=Q(sale_recording_years_short__gte=5)
                & Q(sale_recording_years_long__gte=10),
                name="calls_ruleset_sale_recording_minimum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from:%Y-%m-%d})"

    def spacing_for(self, sequence: int) -> int:
        """Days before follow-up number ``sequence`` (1-based); the last spacing repeats."""
        spacing = [int(d) for d in (self.cadence_spacing_days or [1])] or [1]
        return spacing[min(max(sequence, 1), len(spacing)) - 1]


class CallAttempt(TimeStampedModel):
    """One dial of a lead by an agent: start, answer, end, talk time, disposition, recording."""

    lead = models.ForeignKey(
        "leads.Lead", verbose_name=_("lead"), on_delete=models.PROTECT, related_name="attempts"
    )
    agent = models.ForeignKey(
        "org.Person",
        verbose_name=_("agent"),
        on_delete=models.PROTECT,
        related_name="call_attempts",
    )
    seat = models.ForeignKey(
        "org.Seat",
        verbose_name=_("seat"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="call_attempts",
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=CallKind.choices, default=CallKind.SALES
    )
    started_at = models.DateTimeField(_("started"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    talk_seconds = models.PositiveIntegerField(_("talk seconds"), default=0)
    #: Hung up after being left open past ``open_call_limit()``: ``talk_seconds`` counts only
    #: the limit (the rest was most likely not talk). A matched CDR replaces the figure.
    talk_capped = models.BooleanField(_("talk time capped"), default=False)
    disposition = models.ForeignKey(
        Disposition,
        verbose_name=_("disposition"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attempts",
    )
    disposed_at = models.DateTimeField(_("disposition recorded"), null=True, blank=True)
    recording_ref = models.CharField(_("recording"), max_length=300, blank=True)
    recording_retain_until = models.DateField(_("keep recording until"), null=True, blank=True)
    #: The day the recording store reported the recording deleted (``recordings-due
    #: --mark-deleted``); the reference stays, as the trace of what was kept and until when.
    recording_deleted_on = models.DateField(_("recording deleted on"), null=True, blank=True)
    adapter = models.CharField(_("telephony adapter"), max_length=100, blank=True)
    adapter_call_id = models.CharField(_("telephony call id"), max_length=100, blank=True)
    note = models.TextField(_("note"), blank=True)
    cdr_matched_at = models.DateTimeField(_("CDR matched"), null=True, blank=True)
    cdr_billsec = models.PositiveIntegerField(_("CDR billed seconds"), null=True, blank=True)
    cdr_disposition = models.CharField(_("CDR disposition"), max_length=20, blank=True)
    renewal_task = models.ForeignKey(
        "operations.RenewalTask",
        verbose_name=_("renewal task"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The renewal premium this call was made for (its outcome is recorded there)"),
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("call attempt")
        verbose_name_plural = _("call attempts")
        indexes = [
            models.Index(fields=["lead", "started_at"], name="calls_attempt_lead_idx"),
            models.Index(fields=["agent", "started_at"], name="calls_attempt_agent_idx"),
            models.Index(fields=["started_at"], name="calls_attempt_started_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["adapter_call_id"],
                condition=~Q(adapter_call_id=""),
                name="calls_attempt_unique_call_id",
            ),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | Q(answered_at__gte=models.F("started_at")),
                name="calls_attempt_answer_after_start",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=models.F("started_at")),
                name="calls_attempt_end_after_start",
            ),
        ]

    #: Not stored: set by the outcome that ran out the follow-up cadence (the number of
    #: follow-ups), so that the page can say the lead went back to the public pool.
    returned_to_pool_after: int | None = None

    def __str__(self) -> str:
        return f"#{self.pk} lead {self.lead_id} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class FollowUp(TimeStampedModel):
    """A callback or follow-up the agent owes a lead, due at a time. A lead has at most one
    open follow-up; ``sequence`` is its place in the cadence (1, 2, …)."""

    lead = models.ForeignKey(
        "leads.Lead", verbose_name=_("lead"), on_delete=models.CASCADE, related_name="followups"
    )
    agent = models.ForeignKey(
        "org.Person", verbose_name=_("agent"), on_delete=models.PROTECT, related_name="followups"
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=FollowUpKind.choices, default=FollowUpKind.FOLLOW_UP
    )
    due_at = models.DateTimeField(_("due"))
    sequence = models.PositiveSmallIntegerField(
        _("follow-up number"), default=1, validators=[MinValueValidator(1)]
    )
    status = models.CharField(
        _("status"), max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN
    )
    created_from = models.ForeignKey(
        CallAttempt,
        verbose_name=_("scheduled on call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followups_created",
    )
    completed_by = models.ForeignKey(
        CallAttempt,
        verbose_name=_("done on call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="followups_completed",
    )
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)
    escalated_to = models.ForeignKey(
        "org.Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=CALL_NOTE_MAX_LENGTH, blank=True)
    moved_from = models.ForeignKey(
        "org.Person",
        verbose_name=_("moved from"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [
            models.Index(fields=["agent", "status", "due_at"], name="calls_followup_agent_idx"),
            models.Index(fields=["status", "due_at"], name="calls_followup_due_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=Q(status="open"),
                name="calls_followup_one_open_per_lead",
            ),
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id} #{self.sequence} {self.due_at:%Y-%m-%d %H:%M}"


class AgentPresence(models.Model):
    """An agent's state on the floor and the lead dispatch handed them (at most one).

    The unique constraint on ``lead`` is the database's own guarantee that one lead is never
    in the hands of two agents at once (see ADR 0011)."""

    person = models.OneToOneField(
        "org.Person", verbose_name=_("agent"), on_delete=models.CASCADE, related_name="presence"
    )
    state = models.CharField(
        _("state"), max_length=10, choices=AgentState.choices, default=AgentState.OFFLINE
    )
    since = models.DateTimeField(_("since"))
    lead = models.ForeignKey(
        "leads.Lead",
        verbose_name=_("lead in hand"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField(
        _("dispatched from"), max_length=10, choices=DispatchSource.choices, blank=True
    )
    followup = models.ForeignKey(
        FollowUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    renewal_task = models.ForeignKey(
        "operations.RenewalTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    handed_at = models.DateTimeField(_("handed out"), null=True, blank=True)
    attempt = models.ForeignKey(
        CallAttempt,
        verbose_name=_("current call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["person_id"]
        verbose_name = _("agent presence")
        verbose_name_plural = _("agent presence")
        constraints = [
            models.UniqueConstraint(
                fields=["lead"],
                condition=Q(lead__isnull=False),
                name="calls_presence_one_agent_per_lead",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.state}"


class Handout(models.Model):
    """History of dispatch: which lead went to which agent, when, from which source."""

    agent = models.ForeignKey("org.Person", on_delete=models.CASCADE, related_name="handouts")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="handouts")
    source = models.CharField(_("source"), max_length=10, choices=DispatchSource.choices)
    followup = models.ForeignKey(
        FollowUp, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    renewal_task = models.ForeignKey(
        "operations.RenewalTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(_("time"), db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("hand-out")
        verbose_name_plural = _("hand-outs")
        indexes = [models.Index(fields=["agent", "at"], name="calls_handout_agent_idx")]

    def __str__(self) -> str:
        return f"lead {self.lead_id} → {self.agent_id} ({self.source})"


class CdrImport(TimeStampedModel):
    """One imported CDR file (Asterisk Master.csv layout): counts and per-row rejections.

    Rejections hold the row number, the reason and a masked destination, never a number."""

    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, db_index=True)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    matched = models.PositiveIntegerField(_("matched"), default=0)
    already = models.PositiveIntegerField(_("already matched"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    rejections = models.JSONField(_("rejected rows"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("CDR import")
        verbose_name_plural = _("CDR imports")

    def __str__(self) -> str:
        return self.file_name or f"#{self.pk}"
