"""Reads of compensation data, scoped to what the user may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from telesales.compensation import permissions
from telesales.compensation.choices import PayRunStatus, RuleSetStatus
from telesales.compensation.models import PayLine, PayRun, RuleSet
from telesales.core.errors import NotFound, PermissionDenied
from telesales.org.models import Person, Team

ZERO = Decimal("0")


def ruleset_list(*, user) -> QuerySet[RuleSet]:
    """Every version, newest first, for the HR admin and the manager; nothing for others."""
    if not permissions.can_manage_rulesets(user):
        return RuleSet.objects.none()
    return RuleSet.objects.all()


def ruleset_in_force(*, on: dt.date) -> RuleSet | None:
    """The approved version in force on a day (pay runs use it for the period's last day)."""
    return (
        RuleSet.objects.filter(status=RuleSetStatus.APPROVED, effective_from__lte=on)
        .filter(Q(effective_to__isnull=True) | Q(effective_to__gte=on))
        .order_by("-effective_from")
        .first()
    )


@dataclass(frozen=True)
class Payslip:
    run: PayRun
    person: Person
    lines: list[PayLine]
    total: Decimal


@dataclass(frozen=True)
class TeamTotals:
    run: PayRun
    team: Team
    #: (person, total) of each member with lines in the run, by name.
    people: list[tuple[Person, Decimal]]
    total: Decimal


def payrun_list(*, user) -> QuerySet[PayRun]:
    """Every run (newest first) for HR and the manager; approved runs for everyone else
    (they then read their own payslip or their team's totals)."""
    if permissions.can_read_all_payslips(user):
        return PayRun.objects.all()
    if not getattr(user, "is_authenticated", False):
        return PayRun.objects.none()
    return PayRun.objects.filter(status=PayRunStatus.APPROVED)


def payslip_get(*, user, run: PayRun, person: Person) -> Payslip:
    """A person's lines in a run, in payslip order. A person reads only their own (once
    approved); HR and the manager read all; a team lead reads team totals, not lines."""
    if not permissions.can_read_payslip(user, person=person, run=run):
        raise PermissionDenied(_("You may only read your own payslip"))
    lines = list(run.lines.filter(person=person).order_by("position"))
    return Payslip(
        run=run, person=person, lines=lines, total=sum((ln.amount for ln in lines), ZERO)
    )


def payrun_totals(*, user, run: PayRun) -> dict[int, Decimal]:
    """Each person's total in a run (person id → amount): HR and the manager only."""
    if not permissions.can_read_all_payslips(user):
        raise PermissionDenied(_("Only the HR admin or the center manager may read all pay"))
    rows = run.lines.values("person_id").annotate(total=Sum("amount")).order_by("person_id")
    return {row["person_id"]: row["total"] for row in rows}


def payrun_team_totals(*, user, run: PayRun, team: Team) -> TeamTotals:
    """The totals of a team's members in a run (no lines): the lead of the team once the run
    is approved, HR and the manager always."""
    if not permissions.can_read_team_totals(user, team=team, run=run):
        raise PermissionDenied(_("You may only read the totals of the team you lead"))
    rows = (
        run.lines.filter(person__team=team)
        .values("person_id")
        .annotate(total=Sum("amount"))
        .order_by("person_id")
    )
    totals = {row["person_id"]: row["total"] for row in rows}
    members = Person.objects.filter(pk__in=totals).order_by("name", "id")
    people = [(p, totals[p.pk]) for p in members]
    return TeamTotals(run=run, team=team, people=people, total=sum(totals.values(), ZERO))


def payrun_get(*, user, pk: int) -> PayRun:
    """One run the user may list (``payrun_list``), or ``NotFound``."""
    run = payrun_list(user=user).filter(pk=pk).first()
    if run is None:
        raise NotFound(_("No such pay run"))
    return run
