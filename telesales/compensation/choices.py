from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleSetStatus(models.TextChoices):
    """A draft can be replaced or approved; an approved version is never edited."""

    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")


class RuleSetFormat(models.TextChoices):
    YAML = "yaml", _("YAML")
    JSON = "json", _("JSON")


class PayRunStatus(models.TextChoices):
    """An open run can be recomputed; an approved run locks its period."""

    OPEN = "open", _("Open")
    APPROVED = "approved", _("Approved")


class PayLineKind(models.TextChoices):
    """The kinds of line on a payslip, in payslip order (``engine.KINDS`` + adjustments)."""

    BASE_PAY = "base_pay", _("Base pay")
    COMMISSION = "commission", _("FYC commission")
    CLAWBACK = "clawback", _("Clawback")
    MANAGEMENT_ALLOWANCE = "management_allowance", _("Management allowance")
    DEVELOPMENT_BONUS = "development_bonus", _("Development bonus")
    PERFORMANCE_BONUS = "performance_bonus", _("Performance bonus")
    ADJUSTMENT = "adjustment", _("Adjustment")
