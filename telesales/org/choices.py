from django.db import models
from django.utils.translation import gettext_lazy as _


class TeamKind(models.TextChoices):
    SALES = "sales", _("Sales team")
    BACK_OFFICE = "back_office", _("Back office")


class TeamStage(models.TextChoices):
    """The seed document's four life-cycle stages; each may select a parameter set."""

    START_UP = "start_up", _("Start-up")
    RAPID_GROWTH = "rapid_growth", _("Rapid growth")
    PLATEAU = "plateau", _("Plateau")
    STEADY_GROWTH = "steady_growth", _("Steady growth")


class PersonStatus(models.TextChoices):
    TRAINEE = "trainee", _("Trainee")
    ACTIVE = "active", _("Active")
    WARNING = "warning", _("Warning")
    SUSPENDED = "suspended", _("Suspended")
    LEFT = "left", _("Left")


class ContractType(models.TextChoices):
    LABOUR = "labour", _("Labour contract")
    DISPATCH = "dispatch", _("Agency labour (dispatch)")
    AGENCY = "agency", _("Agency agreement")


class LevelSeries(models.TextChoices):
    SALES = "sales", _("Sales series")
    MANAGEMENT = "mgmt", _("Management series")


class AssessmentPeriod(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    QUARTERLY = "quarterly", _("Quarterly")
    HALF_YEARLY = "half_yearly", _("Half-yearly")
    YEARLY = "yearly", _("Yearly")


class SeatStatus(models.TextChoices):
    OCCUPIED = "occupied", _("Occupied")
    VACANT = "vacant", _("Vacant")
    MAINTENANCE = "maintenance", _("Maintenance")


class CapabilityGrade(models.IntegerChoices):
    """Sales-capability grade (销售能力分级, 2023 rule Art. 16); maps to product grades."""

    GRADE_1 = 1, _("Grade 1 (basic)")
    GRADE_2 = 2, _("Grade 2")
    GRADE_3 = 3, _("Grade 3")
    GRADE_4 = 4, _("Grade 4 (highest)")
