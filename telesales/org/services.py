"""Writes to organisation data. Each service validates, writes and audits in one transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from telesales.core.audit import audit_record, model_snapshot
from telesales.core.errors import PermissionDenied, ValidationFailed
from telesales.core.model_updates import apply_changes, save_or_conflict, validate_instance
from telesales.org import permissions
from telesales.org.choices import PersonStatus, SeatStatus
from telesales.org.models import Center, Level, Person, Seat, Team

TEAM_FIELDS = {"name", "kind", "stage", "leader", "founded_on", "is_active"}
LEVEL_FIELDS = {
    "code",
    "name",
    "series",
    "rank",
    "base_salary",
    "assessment_period",
    "description",
    "is_active",
}
PERSON_FIELDS = {
    "team",
    "user",
    "employee_no",
    "name",
    "hire_date",
    "left_on",
    "status",
    "contract_type",
    "level",
    "capability_grade",
    "practice_reg_no",
    "leader",
    "recruiter",
    "mentor",
}
SEAT_FIELDS = {"code", "site", "status", "monthly_cost", "phone_line", "person"}


def _require(allowed: bool, what: str) -> None:
    if not allowed:
        raise PermissionDenied(f"You may not {what}")


def _write(*, actor, instance, action: str, before: dict | None) -> None:
    validate_instance(instance)
    save_or_conflict(instance)
    audit_record(
        actor=actor, action=action, instance=instance, before=before, after=model_snapshot(instance)
    )


# --- Center ------------------------------------------------------------------------------
@transaction.atomic
def center_create(*, name: str, code: str, city: str = "", actor) -> Center:
    center = Center(name=name, code=code, city=city)
    _write(actor=actor, instance=center, action="org.center_create", before=None)
    return center


# --- Team --------------------------------------------------------------------------------
def _check_team_rules(team: Team) -> None:
    if team.leader_id and team.leader and team.leader.status == PersonStatus.LEFT:
        raise ValidationFailed("Leader has left", fields={"leader": ["this person has left"]})
    if team.leader_id and team.leader and team.leader.center_id != team.center_id:
        raise ValidationFailed("Leader is in another center", fields={"leader": ["wrong center"]})


@transaction.atomic
def team_create(*, center: Center, actor, **data: Any) -> Team:
    _require(permissions.can_edit_team(actor), "create teams")
    team = Team(center=center)
    apply_changes(team, data, allowed=TEAM_FIELDS)
    _check_team_rules(team)
    _write(actor=actor, instance=team, action="org.team_create", before=None)
    return team


@transaction.atomic
def team_update(*, team: Team, actor, **data: Any) -> Team:
    _require(permissions.can_edit_team(actor), "change teams")
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = model_snapshot(team)
    if apply_changes(team, data, allowed=TEAM_FIELDS):
        _check_team_rules(team)
        _write(actor=actor, instance=team, action="org.team_update", before=before)
    return team


# --- Level -------------------------------------------------------------------------------
@transaction.atomic
def level_create(*, actor, **data: Any) -> Level:
    _require(permissions.can_edit_level(actor), "change the level ladder")
    level = Level()
    apply_changes(level, data, allowed=LEVEL_FIELDS)
    _write(actor=actor, instance=level, action="org.level_create", before=None)
    return level


@transaction.atomic
def level_update(*, level: Level, actor, **data: Any) -> Level:
    _require(permissions.can_edit_level(actor), "change the level ladder")
    level = Level.objects.select_for_update().get(pk=level.pk)
    before = model_snapshot(level)
    if apply_changes(level, data, allowed=LEVEL_FIELDS):
        _write(actor=actor, instance=level, action="org.level_update", before=before)
    return level


# --- Person ------------------------------------------------------------------------------
def _check_person_rules(person: Person) -> None:
    errors: dict[str, list[str]] = {}
    for name in ("leader", "recruiter", "mentor"):
        other_id = getattr(person, f"{name}_id")
        if other_id and person.pk and other_id == person.pk:
            errors.setdefault(name, []).append("cannot be the person themself")
    if person.team_id and person.team.center_id != person.center_id:
        errors.setdefault("team", []).append("team belongs to another center")
    if person.status == PersonStatus.LEFT and not person.left_on:
        errors.setdefault("left_on", []).append("required when the status is 'left'")
    if person.status != PersonStatus.LEFT and person.left_on:
        errors.setdefault("left_on", []).append("only for people who have left")
    if person.left_on and person.hire_date and person.left_on < person.hire_date:
        errors.setdefault("left_on", []).append("cannot be before the hire date")
    if person.user_id:
        clash = Person.objects.filter(user_id=person.user_id).exclude(pk=person.pk).first()
        if clash:
            errors.setdefault("user", []).append(f"this login already belongs to {clash.name}")
    if errors:
        raise ValidationFailed("Invalid input", fields=errors)


@transaction.atomic
def person_create(*, center: Center, actor, **data: Any) -> Person:
    _require(permissions.can_edit_person(actor), "add people")
    person = Person(center=center)
    apply_changes(person, data, allowed=PERSON_FIELDS)
    _check_person_rules(person)
    _write(actor=actor, instance=person, action="org.person_create", before=None)
    return person


@transaction.atomic
def person_update(*, person: Person, actor, reason: str = "", **data: Any) -> Person:
    _require(permissions.can_edit_person(actor), "change people")
    person = Person.objects.select_for_update().get(pk=person.pk)
    before = model_snapshot(person)
    changed = apply_changes(person, data, allowed=PERSON_FIELDS)
    if not changed:
        return person
    _check_person_rules(person)
    validate_instance(person)
    save_or_conflict(person)
    if person.status == PersonStatus.LEFT:
        _person_release_on_leaving(person=person, actor=actor)
    audit_record(
        actor=actor,
        action="org.person_update",
        instance=person,
        before=before,
        after=model_snapshot(person),
        reason=reason,
    )
    return person


def _person_release_on_leaving(*, person: Person, actor) -> None:
    """Someone who leaves gives up their seat and their login stops working."""
    seat = Seat.objects.filter(person=person).first()
    if seat:
        seat_update(seat=seat, actor=actor, person=None, status=SeatStatus.VACANT)
    if person.user_id:
        user = get_user_model().objects.get(pk=person.user_id)
        if user.is_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
            audit_record(
                actor=actor,
                action="org.login_deactivate",
                object_type="auth.user",
                object_id=str(user.pk),
                object_repr=user.get_username(),
                before={"is_active": True},
                after={"is_active": False},
                reason="person left",
            )


# --- Seat --------------------------------------------------------------------------------
def _check_seat_rules(seat: Seat) -> None:
    if seat.person_id and seat.status != SeatStatus.OCCUPIED:
        seat.status = SeatStatus.OCCUPIED
    if seat.person_id and seat.person.status == PersonStatus.LEFT:
        raise ValidationFailed("That person has left", fields={"person": ["this person has left"]})
    if seat.person_id:
        clash = Seat.objects.filter(person_id=seat.person_id).exclude(pk=seat.pk).first()
        if clash:
            raise ValidationFailed(
                "Already seated", fields={"person": [f"already assigned to seat {clash.code}"]}
            )
    if not seat.person_id and seat.status == SeatStatus.OCCUPIED:
        raise ValidationFailed(
            "An occupied seat needs a person", fields={"person": ["required when occupied"]}
        )


@transaction.atomic
def seat_create(*, center: Center, actor, **data: Any) -> Seat:
    _require(permissions.can_edit_seat(actor), "manage seats")
    data.setdefault("monthly_cost", Decimal("0"))
    seat = Seat(center=center)
    apply_changes(seat, data, allowed=SEAT_FIELDS)
    _check_seat_rules(seat)
    _write(actor=actor, instance=seat, action="org.seat_create", before=None)
    return seat


@transaction.atomic
def seat_update(*, seat: Seat, actor, **data: Any) -> Seat:
    _require(permissions.can_edit_seat(actor), "manage seats")
    seat = Seat.objects.select_for_update().get(pk=seat.pk)
    before = model_snapshot(seat)
    if "person" in data and data["person"] is None and "status" not in data:
        data["status"] = SeatStatus.VACANT
    if apply_changes(seat, data, allowed=SEAT_FIELDS):
        _check_seat_rules(seat)
        _write(actor=actor, instance=seat, action="org.seat_update", before=before)
    return seat
