"""Customer service tickets: the ticket, its history and the versioned SLA targets.

A ticket records what a customer (or the regulator, or the insurer) asked for, through which
channel, how urgent it is, who works it, and the two service-level targets that were in force
when it was opened: the first response and the resolution, each a due time computed from the
rule set version of the day (calendar hours, see ``rules.py``). Free text is stored as typed
and only ever shown with full phone numbers masked.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telesales.core.models import TimeStampedModel
from telesales.tickets.choices import (
    ACTIVE_STATUSES,
    EscalationLevel,
    EscalationReason,
    TicketAction,
    TicketChannel,
    TicketKind,
    TicketPriority,
    TicketStatus,
)

#: Upper bound of any SLA target (hours): a year. Keeps a typo from becoming a rule.
MAX_TARGET_HOURS = 8760
#: Upper bound of the wait before a team-lead escalation goes on to the manager (hours).
MAX_MANAGER_HOURS = 720


class SlaRuleSet(TimeStampedModel):
    """The service-level targets: one version with an effective date, never edited in place.

    A ticket takes its targets from the active version effective on the day it was opened
    (and remembers which one). Hours are calendar hours: nights, weekends and holidays count.
    """

    name = models.CharField(_("name"), max_length=100)
    effective_from = models.DateField(_("effective from"))
    is_active = models.BooleanField(_("active"), default=True)
    manager_escalation_hours = models.PositiveIntegerField(
        _("escalate to the manager after (hours)"),
        default=24,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_MANAGER_HOURS)],
        help_text=_("Hours after the team lead's escalation while the ticket is still unresolved"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-effective_from", "-id"]
        verbose_name = _("SLA rule set")
        verbose_name_plural = _("SLA rule sets")
        constraints = [
            models.CheckConstraint(
                condition=Q(manager_escalation_hours__gte=1)
                & Q(manager_escalation_hours__lte=MAX_MANAGER_HOURS),
                name="tickets_ruleset_manager_hours_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from:%Y-%m-%d})"


class SlaTarget(models.Model):
    """The two targets of one kind and priority in one rule set version (calendar hours)."""

    ruleset = models.ForeignKey(SlaRuleSet, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(_("kind"), max_length=24, choices=TicketKind.choices)
    priority = models.CharField(_("priority"), max_length=10, choices=TicketPriority.choices)
    response_hours = models.PositiveIntegerField(
        _("first response within (hours)"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TARGET_HOURS)],
    )
    resolution_hours = models.PositiveIntegerField(
        _("resolution within (hours)"),
        validators=[MinValueValidator(1), MaxValueValidator(MAX_TARGET_HOURS)],
    )

    class Meta:
        ordering = ["ruleset_id", "kind", "priority"]
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        constraints = [
            models.UniqueConstraint(
                fields=["ruleset", "kind", "priority"], name="tickets_target_unique"
            ),
            models.CheckConstraint(
                condition=Q(response_hours__gte=1)
                & Q(resolution_hours__gte=models.F("response_hours"))
                & Q(resolution_hours__lte=MAX_TARGET_HOURS),
                name="tickets_target_hours_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}/{self.priority}: {self.response_hours}h / {self.resolution_hours}h"


class Ticket(TimeStampedModel):
    """One customer-service case, from opening to closing, with its SLA targets."""

    number = models.CharField(_("ticket number"), max_length=20, blank=True)
    kind = models.CharField(_("kind"), max_length=24, choices=TicketKind.choices)
    channel = models.CharField(_("channel"), max_length=12, choices=TicketChannel.choices)
    priority = models.CharField(
        _("priority"), max_length=10, choices=TicketPriority.choices, default=TicketPriority.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=20, choices=TicketStatus.choices, default=TicketStatus.OPEN
    )
    customer = models.ForeignKey(
        "leads.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    policy = models.ForeignKey(
        "policies.Policy",
        verbose_name=_("policy"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    agent = models.ForeignKey(
        "org.Person",
        verbose_name=_("agent concerned"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets_concerning",
        help_text=_("The seller a complaint is about, or who sold the policy"),
    )
    owner = models.ForeignKey(
        "org.Person",
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets_owned",
    )
    external_ref = models.CharField(
        _("external reference"),
        max_length=64,
        blank=True,
        help_text=_("The regulator's or insurer's case number, when it came from them"),
    )
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    response_due_at = models.DateTimeField(_("first response due"))
    resolution_due_at = models.DateTimeField(_("resolution due"))
    sla_ruleset = models.ForeignKey(
        SlaRuleSet,
        verbose_name=_("SLA rule set"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tickets",
    )
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation level"), choices=EscalationLevel.choices, default=EscalationLevel.NONE
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    escalated_to = models.ForeignKey(
        "org.Person",
        verbose_name=_("escalated to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tickets_escalated",
    )
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("ticket")
        verbose_name_plural = _("tickets")
        indexes = [
            models.Index(fields=["status", "resolution_due_at"], name="tickets_queue_idx"),
            models.Index(fields=["owner", "status"], name="tickets_owner_idx"),
            models.Index(fields=["agent", "status"], name="tickets_agent_idx"),
            models.Index(fields=["kind", "opened_at"], name="tickets_kind_opened_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(number=""), name="tickets_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(response_due_at__gte=models.F("opened_at"))
                & Q(resolution_due_at__gte=models.F("response_due_at")),
                name="tickets_due_after_opening",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "closed"]) | Q(resolved_at__isnull=False),
                name="tickets_resolved_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False),
                name="tickets_closed_has_time",
            ),
            models.CheckConstraint(
                condition=Q(escalation_level__gte=0) & Q(escalation_level__lte=2),
                name="tickets_escalation_level_range",
            ),
        ]

    def __str__(self) -> str:
        return self.number or f"#{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def first_response_time(self) -> dt.timedelta | None:
        return self.first_response_at - self.opened_at if self.first_response_at else None

    @property
    def resolution_time(self) -> dt.timedelta | None:
        return self.resolved_at - self.opened_at if self.resolved_at else None

    def response_overdue(self, now: dt.datetime) -> bool:
        """No first response and the target has passed (strictly after the due time)."""
        return self.first_response_at is None and now > self.response_due_at

    def resolution_overdue(self, now: dt.datetime) -> bool:
        return self.is_active and now > self.resolution_due_at

    def is_overdue(self, now: dt.datetime) -> bool:
        return self.is_active and (self.response_overdue(now) or self.resolution_overdue(now))

    @property
    def response_met(self) -> bool | None:
        """Was the first response in time? None while it is outstanding."""
        if self.first_response_at is None:
            return None
        return self.first_response_at <= self.response_due_at

    @property
    def resolution_met(self) -> bool | None:
        if self.resolved_at is None:
            return None
        return self.resolved_at <= self.resolution_due_at


class TicketEvent(models.Model):
    """Ticket history: every step, with its actor, the status change and a note. An
    escalation row keeps the level it reached, so that a reopened ticket (whose escalation
    starts again) can still say how far it went before."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=12, choices=TicketAction.choices)
    from_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=TicketStatus.choices, blank=True)
    to_person = models.ForeignKey(
        "org.Person",
        verbose_name=_("to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The new owner (assign) or who the ticket was escalated to"),
    )
    escalation_reason = models.CharField(
        _("escalation reason"), max_length=20, choices=EscalationReason.choices, blank=True
    )
    escalation_level = models.PositiveSmallIntegerField(
        _("escalation level"),
        choices=EscalationLevel.choices,
        null=True,
        blank=True,
        help_text=_("The level an escalation reached (escalations only)"),
    )
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["ticket_id", "at", "id"]
        verbose_name = _("ticket event")
        verbose_name_plural = _("ticket events")
        indexes = [models.Index(fields=["ticket", "at"], name="tickets_event_ticket_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(escalation_level__isnull=True)
                | (Q(action="escalate") & Q(escalation_level__gte=1) & Q(escalation_level__lte=2)),
                name="tickets_event_escalation_level",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action} {self.at:%Y-%m-%d %H:%M}"
