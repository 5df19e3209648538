from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class RuleSetStatus(models.TextChoices):
    """A draft can be replaced or approved; an approved version is never edited."""

    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")


class RuleSetFormat(models.TextChoices):
    YAML = "yaml", _("YAML")
    JSON = "json", _("JSON")


class PayRunStatus(models.TextChoices):
    """An open run can be recomputed; an approved run locks its period."""

    OPEN = "open", pgettext_lazy("pay run status", "Open")
    APPROVED = "approved", _("Approved")


class PayLineKind(models.TextChoices):
    """The kinds of line on a payslip, in payslip order (``engine.KINDS`` + adjustments)."""

    BASE_PAY = "base_pay", _("Base pay")
    NEW_HIRE_ALLOWANCE = "new_hire_allowance", _("New-hire allowance")
    COMMISSION = "commission", _("FYC commission")
    WITHHELD = "withheld", _("Withheld until receipt and return visit")
    RELEASED = "released", _("Released withholding")
    CLAWBACK = "clawback", _("Clawback")
    RENEWAL_COMMISSION = "renewal_commission", _("Renewal commission")
    MANAGEMENT_ALLOWANCE = "management_allowance", _("Management allowance")
    DEVELOPMENT_BONUS = "development_bonus", _("Development bonus")
    PERFORMANCE_BONUS = "performance_bonus", _("Performance bonus")
    RECRUITING_AWARD = "recruiting_award", _("Recruiting and referral award")
    ADJUSTMENT = "adjustment", _("Adjustment")
