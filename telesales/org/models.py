"""Organisation models: center, team, level ladder, person (employee) and seat (工位)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from telesales.core.models import TimeStampedModel
from telesales.org.choices import (
    AssessmentPeriod,
    CapabilityGrade,
    ContractType,
    LevelSeries,
    PersonStatus,
    SeatStatus,
    TeamKind,
    TeamStage,
)


class Center(TimeStampedModel):
    """A telesales center (电销中心): one site or a group of sites run as one unit."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    code = models.SlugField(_("code"), max_length=30, unique=True)
    city = models.CharField(_("city"), max_length=50, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("center")
        verbose_name_plural = _("centers")

    def __str__(self) -> str:
        return self.name


class Team(TimeStampedModel):
    """A sales team (led by a team lead) or a back-office team (one per function)."""

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="teams")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(
        _("kind"), max_length=20, choices=TeamKind.choices, default=TeamKind.SALES
    )
    stage = models.CharField(
        _("life-cycle stage"), max_length=20, choices=TeamStage.choices, default=TeamStage.START_UP
    )
    leader = models.ForeignKey(
        "Person",
        verbose_name=_("leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_teams",
    )
    founded_on = models.DateField(_("founded on"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["center_id", "kind", "name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        constraints = [
            models.UniqueConstraint(fields=["center", "name"], name="org_team_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Level(TimeStampedModel):
    """One rung of the level ladder (职级). The ladder is data: centers configure their own."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=50)
    series = models.CharField(_("series"), max_length=10, choices=LevelSeries.choices)
    rank = models.PositiveSmallIntegerField(_("rank"), help_text=_("Higher is more senior"))
    base_salary = models.DecimalField(
        _("base salary"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    assessment_period = models.CharField(
        _("assessment period"),
        max_length=12,
        choices=AssessmentPeriod.choices,
        default=AssessmentPeriod.QUARTERLY,
    )
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["series", "rank"]
        verbose_name = _("level")
        verbose_name_plural = _("levels")
        constraints = [
            models.UniqueConstraint(fields=["series", "rank"], name="org_level_unique_rank"),
            models.CheckConstraint(condition=Q(base_salary__gte=0), name="org_level_salary_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Person(TimeStampedModel):
    """An employee of the center: agent, team lead, manager or back-office staff."""

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="people")
    team = models.ForeignKey(
        Team, verbose_name=_("team"), on_delete=models.PROTECT, related_name="members"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("login"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="person",
    )
    employee_no = models.CharField(_("employee number"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=50)
    hire_date = models.DateField(_("hire date"))
    left_on = models.DateField(_("left on"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PersonStatus.choices, default=PersonStatus.TRAINEE
    )
    contract_type = models.CharField(
        _("contract type"), max_length=10, choices=ContractType.choices, default=ContractType.LABOUR
    )
    level = models.ForeignKey(
        Level, verbose_name=_("level"), null=True, blank=True, on_delete=models.PROTECT
    )
    capability_grade = models.PositiveSmallIntegerField(
        _("sales-capability grade"),
        choices=CapabilityGrade.choices,
        default=CapabilityGrade.GRADE_1,
    )
    practice_reg_no = models.CharField(_("practice registration number"), max_length=40, blank=True)
    leader = models.ForeignKey(
        "self",
        verbose_name=_("leader"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="direct_reports",
    )
    recruiter = models.ForeignKey(
        "self",
        verbose_name=_("recruiter"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recruits",
    )
    mentor = models.ForeignKey(
        "self",
        verbose_name=_("mentor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mentees",
    )
    #: The development chain (育成): the lead who developed the group this person leads, and
    #: the day it was developed. Set when an assessment promotes them into the management
    #: series (or by HR); the development bonus pays along this chain.
    developed_by = models.ForeignKey(
        "self",
        verbose_name=_("developed by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="developed",
    )
    developed_on = models.DateField(_("developed on"), null=True, blank=True)

    class Meta:
        ordering = ["team_id", "name", "id"]
        verbose_name = _("person")
        verbose_name_plural = _("people")
        indexes = [models.Index(fields=["team", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="left", left_on__isnull=False) | ~Q(status="left"),
                name="org_person_left_has_date",
            ),
            models.CheckConstraint(
                condition=Q(left_on__isnull=True) | Q(left_on__gte=models.F("hire_date")),
                name="org_person_left_after_hire",
            ),
            models.UniqueConstraint(
                fields=["practice_reg_no"],
                condition=~Q(practice_reg_no=""),
                name="org_person_unique_practice_reg_no",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.employee_no})"

    @property
    def is_current(self) -> bool:
        return self.status != PersonStatus.LEFT


class Seat(TimeStampedModel):
    """A seat (工位): a desk with a phone line. Capacity and per-seat productivity hang on it."""

    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="seats")
    code = models.CharField(_("code"), max_length=20)
    site = models.CharField(_("site"), max_length=50, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=SeatStatus.choices, default=SeatStatus.VACANT
    )
    monthly_cost = models.DecimalField(
        _("monthly cost"),
        max_digits=10,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    phone_line = models.CharField(_("phone line"), max_length=30, blank=True)
    person = models.OneToOneField(
        Person,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="seat",
    )

    class Meta:
        ordering = ["center_id", "site", "code"]
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        constraints = [
            models.UniqueConstraint(fields=["center", "code"], name="org_seat_unique_code"),
            models.CheckConstraint(
                condition=Q(person__isnull=True) | Q(status="occupied"),
                name="org_seat_assigned_is_occupied",
            ),
            models.CheckConstraint(condition=Q(monthly_cost__gte=0), name="org_seat_cost_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.code}".strip()


class Absence(TimeStampedModel):
    """Leave or other absence: allocation skips people absent on the day."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="absences")
    start_date = models.DateField(_("from"))
    end_date = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=100, blank=True)

    class Meta:
        ordering = ["-start_date", "id"]
        verbose_name = _("absence")
        verbose_name_plural = _("absences")
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="org_absence_dates"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person} {self.start_date:%Y-%m-%d}–{self.end_date:%Y-%m-%d}"
