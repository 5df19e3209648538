from django.db import models
from django.utils.translation import gettext_lazy as _


class RuleSetStatus(models.TextChoices):
    """A draft can be replaced or approved; an approved version is never edited."""

    DRAFT = "draft", _("Draft")
    APPROVED = "approved", _("Approved")


class RuleSetFormat(models.TextChoices):
    YAML = "yaml", _("YAML")
    JSON = "json", _("JSON")
