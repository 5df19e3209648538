"""Compensation models: versioned basic-law rule sets (基本法).

A rule set is data: a document in the rule-set format (``rules_format.py``), imported from a
YAML or JSON file, numbered by version, in force from ``effective_from`` until
``effective_to`` once approved. An approved version is never edited: a change is a new
version, so every pay line stays traceable to the rules that produced it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telesales.compensation.choices import RuleSetFormat, RuleSetStatus
from telesales.core.models import TimeStampedModel


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
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
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
