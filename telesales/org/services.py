"""Writes to organisation data. Each service validates, writes and audits in one transaction."""

from __future__ import annotations

import re
import secrets
import unicodedata
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.audit import audit_record, model_snapshot
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.core.model_updates import apply_changes, save_or_conflict, validate_instance
from telesales.core.roles import Role, has_role
from telesales.org import permissions, selectors
from telesales.org.choices import PersonStatus, SeatStatus
from telesales.org.hooks import person_stops_working_run
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
    "developed_by",
    "developed_on",
}
SEAT_FIELDS = {"code", "site", "status", "monthly_cost", "phone_line", "person"}


def _require(allowed: bool, what: str) -> None:
    """``what`` is an already translated action phrase, such as ``_("create teams")``."""
    if not allowed:
        # Translators: %(action)s is an action phrase such as "create teams".
        raise PermissionDenied(_("You may not %(action)s") % {"action": what})


def _guard_manager_logins(*, actor, user_ids, message: str) -> None:
    """Only a center manager may touch the login of a center manager or a superuser (reset
    its password, change its roles, move it to another record, change the record it belongs
    to): anyone else could take over the center manager's account."""
    if not has_role(actor, Role.MANAGER) and selectors.protected_login_exists(user_ids=user_ids):
        raise PermissionDenied(message)


def _write(*, actor, instance, action: str, before: dict | None) -> None:
    validate_instance(instance)
    save_or_conflict(instance)
    audit_record(
        actor=actor, action=action, instance=instance, before=before, after=model_snapshot(instance)
    )


# --- Center ------------------------------------------------------------------------------
@transaction.atomic
def center_create(*, name: str, code: str, city: str = "", actor) -> Center:
    _require(permissions.can_edit_center(actor), _("create centers"))
    center = Center(name=name, code=code, city=city)
    _write(actor=actor, instance=center, action="org.center_create", before=None)
    return center


CENTER_FIELDS = {"name", "code", "city"}


@transaction.atomic
def center_update(*, center: Center, actor, **data: Any) -> Center:
    _require(permissions.can_edit_center(actor), _("change the center"))
    center = Center.objects.select_for_update().get(pk=center.pk)
    before = model_snapshot(center)
    if apply_changes(center, data, allowed=CENTER_FIELDS):
        _write(actor=actor, instance=center, action="org.center_update", before=before)
    return center


# --- Team --------------------------------------------------------------------------------
def _check_team_rules(team: Team) -> None:
    if (
        team.name
        and Team.objects.filter(center_id=team.center_id, name=team.name)
        .exclude(pk=team.pk)
        .exists()
    ):
        raise ValidationFailed(
            _("A team with this name exists already"),
            fields={
                "name": [_("The center has a team named %(name)s already.") % {"name": team.name}]
            },
        )
    if team.leader_id and team.leader and team.leader.status == PersonStatus.LEFT:
        raise ValidationFailed(_("Leader has left"), fields={"leader": [_("this person has left")]})
    if team.leader_id and team.leader and team.leader.center_id != team.center_id:
        raise ValidationFailed(
            _("Leader is in another center"), fields={"leader": [_("wrong center")]}
        )


@transaction.atomic
def team_create(*, center: Center, actor, **data: Any) -> Team:
    _require(permissions.can_edit_team(actor), _("create teams"))
    team = Team(center=center)
    apply_changes(team, data, allowed=TEAM_FIELDS)
    _check_team_rules(team)
    _write(actor=actor, instance=team, action="org.team_create", before=None)
    return team


@transaction.atomic
def team_update(*, team: Team, actor, **data: Any) -> Team:
    _require(permissions.can_edit_team(actor), _("change teams"))
    team = Team.objects.select_for_update().get(pk=team.pk)
    before = model_snapshot(team)
    if apply_changes(team, data, allowed=TEAM_FIELDS):
        _check_team_rules(team)
        _write(actor=actor, instance=team, action="org.team_update", before=before)
    return team


# --- Level -------------------------------------------------------------------------------
def _check_level_rules(level: Level) -> None:
    errors: dict[str, list[str]] = {}
    others = Level.objects.exclude(pk=level.pk)
    if level.code and others.filter(code=level.code).exists():
        errors["code"] = [_("A level %(code)s exists already.") % {"code": level.code}]
    clash = (
        others.filter(series=level.series, rank=level.rank).first()
        if level.series and level.rank is not None
        else None
    )
    if clash is not None:
        errors["rank"] = [
            _("Rank %(rank)s of this series is %(code)s %(name)s already.")
            % {"rank": level.rank, "code": clash.code, "name": clash.name}
        ]
    if errors:
        raise ValidationFailed(_("Invalid input"), fields=errors)


@transaction.atomic
def level_create(*, actor, **data: Any) -> Level:
    _require(permissions.can_edit_level(actor), _("change the level ladder"))
    level = Level()
    apply_changes(level, data, allowed=LEVEL_FIELDS)
    _check_level_rules(level)
    _write(actor=actor, instance=level, action="org.level_create", before=None)
    return level


@transaction.atomic
def level_update(*, level: Level, actor, **data: Any) -> Level:
    _require(permissions.can_edit_level(actor), _("change the level ladder"))
    level = Level.objects.select_for_update().get(pk=level.pk)
    before = model_snapshot(level)
    if apply_changes(level, data, allowed=LEVEL_FIELDS):
        _check_level_rules(level)
        _write(actor=actor, instance=level, action="org.level_update", before=before)
    return level


# --- Person ------------------------------------------------------------------------------
#: Codes typed by hand or pasted from a spreadsheet or a chat: full-width letters and digits
#: (Ｅ００１２) and spaces inside are folded, so that search and the uniqueness rules see one code.
PERSON_CODE_FIELDS = ("employee_no", "practice_reg_no")


def _person_codes_normalised(data: dict[str, Any]) -> dict[str, Any]:
    for name in PERSON_CODE_FIELDS:
        value = data.get(name)
        if isinstance(value, str):
            data[name] = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))
    return data


def _check_person_rules(person: Person, *, hire_date_changed: bool = True) -> None:
    errors: dict[str, list[str]] = {}
    others = Person.objects.exclude(pk=person.pk) if person.pk else Person.objects.all()
    if person.employee_no:
        clash = others.filter(employee_no__iexact=person.employee_no).first()
        if clash is not None:
            errors.setdefault("employee_no", []).append(
                _("employee number %(no)s belongs to %(name)s already")
                % {"no": clash.employee_no, "name": clash.name}
            )
    if person.practice_reg_no:
        clash = others.filter(practice_reg_no__iexact=person.practice_reg_no).first()
        if clash is not None:
            errors.setdefault("practice_reg_no", []).append(
                _("practice registration number %(no)s belongs to %(name)s already")
                % {"no": clash.practice_reg_no, "name": clash.name}
            )
    if hire_date_changed and person.hire_date and person.hire_date > timezone.localdate():
        errors.setdefault("hire_date", []).append(
            _("cannot be in the future: add the person on their first day")
        )
    for name in ("leader", "recruiter", "mentor", "developed_by"):
        other_id = getattr(person, f"{name}_id")
        if other_id and person.pk and other_id == person.pk:
            errors.setdefault(name, []).append(_("cannot be the person themself"))
    if person.developed_by_id and person.pk and person.developed_by_id != person.pk:
        cycle = _development_cycle(person)
        if cycle:
            errors.setdefault("developed_by", []).append(
                _("cycle in the development chain: %(chain)s") % {"chain": " → ".join(cycle)}
            )
    if person.developed_by_id and not person.developed_on:
        errors.setdefault("developed_on", []).append(_("required when a developer is given"))
    if person.team_id and person.team.center_id != person.center_id:
        errors.setdefault("team", []).append(_("team belongs to another center"))
    if person.status == PersonStatus.LEFT and not person.left_on:
        errors.setdefault("left_on", []).append(_("required when the status is 'left'"))
    if person.status != PersonStatus.LEFT and person.left_on:
        errors.setdefault("left_on", []).append(_("only for people who have left"))
    if person.left_on and person.hire_date and person.left_on < person.hire_date:
        errors.setdefault("left_on", []).append(_("cannot be before the hire date"))
    if person.user_id:
        clash = Person.objects.filter(user_id=person.user_id).exclude(pk=person.pk).first()
        if clash:
            errors.setdefault("user", []).append(
                _("this login already belongs to %(name)s") % {"name": clash.name}
            )
    if errors:
        raise ValidationFailed(_("Invalid input"), fields=errors)


def _development_cycle(person: Person) -> list[str]:
    """The names along the development chain from ``person`` back to ``person`` when their
    developer is (indirectly) developed by them; else []."""
    parent = dict(
        Person.objects.filter(developed_by__isnull=False).values_list("id", "developed_by_id")
    )
    parent[person.pk] = person.developed_by_id
    chain: list[int] = []
    node = person.developed_by_id
    while node is not None and node != person.pk and node not in chain:
        chain.append(node)
        node = parent.get(node)
    if node != person.pk:
        return []
    names = dict(Person.objects.filter(pk__in=chain).values_list("id", "name"))
    return [person.name, *(names[pk] for pk in chain), person.name]


@transaction.atomic
def person_create(*, center: Center, actor, **data: Any) -> Person:
    _require(permissions.can_edit_person(actor), _("add people"))
    person = Person(center=center)
    apply_changes(person, _person_codes_normalised(data), allowed=PERSON_FIELDS)
    _guard_manager_logins(
        actor=actor,
        user_ids=[person.user_id],
        message=_("Only a center manager may link a center manager's login to a record"),
    )
    _check_person_rules(person)
    _write(actor=actor, instance=person, action="org.person_create", before=None)
    if person.status == PersonStatus.LEFT:
        _person_release_on_leaving(person=person, actor=actor)
    return person


@transaction.atomic
def person_update(*, person: Person, actor, reason: str = "", **data: Any) -> Person:
    _require(permissions.can_edit_person(actor), _("change people"))
    person = Person.objects.select_for_update().get(pk=person.pk)
    before = model_snapshot(person)
    login_before = person.user_id
    changed = apply_changes(person, _person_codes_normalised(data), allowed=PERSON_FIELDS)
    if not changed:
        return person
    if "team" in changed and "leader" not in changed:
        _person_leader_follow_team(person=person, old_team_id=before["team"], changed=changed)
    # The login the record had and the one it gets: unlinking the manager's login in the same
    # edit must not open their record to HR.
    _guard_manager_logins(
        actor=actor,
        user_ids=[login_before, person.user_id],
        message=_("Only a center manager may change a center manager's record"),
    )
    _check_person_rules(person, hire_date_changed="hire_date" in changed)
    validate_instance(person)
    save_or_conflict(person)
    if person.status == PersonStatus.LEFT:
        _person_release_on_leaving(person=person, actor=actor)
    elif before["status"] == PersonStatus.LEFT:
        _person_login_restore_on_return(person=person, actor=actor)
    if "status" in changed and person.status in (PersonStatus.LEFT, PersonStatus.SUSPENDED):
        person_stops_working_run(person=person, actor=actor)
    audit_record(
        actor=actor,
        action="org.person_update",
        instance=person,
        before=before,
        after=model_snapshot(person),
        reason=reason,
    )
    return person


def _person_leader_follow_team(*, person: Person, old_team_id: int, changed: list[str]) -> None:
    """Someone moved to another team whose leader was their old team's lead reports to the
    new team's lead (assessment and the team override follow ``leader``). A leader HR chose
    by hand (not the old team's lead), or one changed in the same edit, stays."""
    old_leader_id = Team.objects.filter(pk=old_team_id).values_list("leader_id", flat=True).first()
    if person.team_id is None or person.leader_id is None or person.leader_id != old_leader_id:
        return  # no team (refused by the validation next) or a leader chosen by hand
    new_leader_id = person.team.leader_id
    person.leader_id = new_leader_id if new_leader_id != person.pk else None
    changed.append("leader")


def _person_release_on_leaving(*, person: Person, actor) -> None:
    """Someone who leaves gives up their seat and the teams they led, and their login stops
    working."""
    seat = Seat.objects.filter(person=person).first()
    if seat:
        seat_update(seat=seat, actor=actor, person=None, status=SeatStatus.VACANT)
    for team in Team.objects.filter(leader=person):
        team.leader = None
        team.save(update_fields=["leader", "updated_at"])
        audit_record(
            actor=actor,
            action="org.team_update",
            instance=team,
            before={"leader": person.pk},
            after={"leader": None},
            reason="leader left",
        )
    _person_login_switch(person=person, active=False, actor=actor)


def _person_login_restore_on_return(*, person: Person, actor) -> None:
    """Someone who left and is taken back (the leaving undone) gets the login back that
    leaving disabled: else a new password would be handed out for a login that cannot sign
    in, and a second login cannot be created for the record."""
    _person_login_switch(person=person, active=True, actor=actor)


def _person_login_switch(*, person: Person, active: bool, actor) -> None:
    """Enable or disable the person's login (none: nothing), audited when it changes:
    ``org.login_reactivate`` / ``org.login_deactivate``."""
    if not person.user_id:
        return
    user = get_user_model().objects.get(pk=person.user_id)
    if user.is_active == active:
        return
    user.is_active = active
    user.save(update_fields=["is_active"])
    audit_record(
        actor=actor,
        action="org.login_reactivate" if active else "org.login_deactivate",
        object_type="auth.user",
        object_id=str(user.pk),
        object_repr=user.get_username(),
        before={"is_active": not active},
        after={"is_active": active},
        reason="person back from leaving" if active else "person left",
    )


# --- Seat --------------------------------------------------------------------------------
def _check_seat_rules(seat: Seat) -> None:
    if (
        seat.code
        and Seat.objects.filter(center_id=seat.center_id, code=seat.code)
        .exclude(pk=seat.pk)
        .exists()
    ):
        raise ValidationFailed(
            _("A seat with this code exists already"),
            fields={"code": [_("The center has a seat %(code)s already.") % {"code": seat.code}]},
        )
    if seat.person_id and seat.status != SeatStatus.OCCUPIED:
        seat.status = SeatStatus.OCCUPIED
    if seat.person_id and seat.person.center_id != seat.center_id:
        raise ValidationFailed(
            _("That person works in another center"),
            fields={"person": [_("works in another center")]},
        )
    if seat.person_id and seat.person.status == PersonStatus.LEFT:
        raise ValidationFailed(
            _("That person has left"), fields={"person": [_("this person has left")]}
        )
    if seat.person_id:
        clash = Seat.objects.filter(person_id=seat.person_id).exclude(pk=seat.pk).first()
        if clash:
            raise ValidationFailed(
                _("Already seated"),
                fields={"person": [_("already assigned to seat %(code)s") % {"code": clash.code}]},
            )
    if not seat.person_id and seat.status == SeatStatus.OCCUPIED:
        raise ValidationFailed(
            _("An occupied seat needs a person"),
            fields={"person": [_("required when occupied")]},
        )


@transaction.atomic
def seat_create(*, center: Center, actor, **data: Any) -> Seat:
    _require(permissions.can_edit_seat(actor), _("manage seats"))
    data.setdefault("monthly_cost", Decimal("0"))
    seat = Seat(center=center)
    apply_changes(seat, data, allowed=SEAT_FIELDS)
    _check_seat_rules(seat)
    _write(actor=actor, instance=seat, action="org.seat_create", before=None)
    return seat


@transaction.atomic
def seat_update(*, seat: Seat, actor, **data: Any) -> Seat:
    _require(permissions.can_edit_seat(actor), _("manage seats"))
    seat = Seat.objects.select_for_update().get(pk=seat.pk)
    before = model_snapshot(seat)
    if "person" in data and data["person"] is None and "status" not in data:
        data["status"] = SeatStatus.VACANT
    if apply_changes(seat, data, allowed=SEAT_FIELDS):
        _check_seat_rules(seat)
        _write(actor=actor, instance=seat, action="org.seat_update", before=before)
    return seat


# --- Logins and roles --------------------------------------------------------------------
def _check_roles(*, roles: list[str], actor) -> list[Role]:
    known = {r.value: r for r in Role}
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise ValidationFailed(
            _("Unknown role"), fields={"roles": [_("unknown role: %s") % ", ".join(unknown)]}
        )
    chosen = [known[r] for r in roles]
    if Role.MANAGER in chosen and not has_role(actor, Role.MANAGER):
        raise PermissionDenied(_("Only a center manager may grant the center manager role"))
    return chosen


def _set_groups(user, roles: list[Role]) -> None:
    role_names = [r.value for r in Role]
    keep = user.groups.exclude(name__in=role_names)
    user.groups.set([*keep, *Group.objects.filter(name__in=[r.value for r in roles])])
    user.__dict__.pop("_telesales_roles", None)


@transaction.atomic
def person_login_create(
    *, person: Person, username: str, roles: list[str], actor
) -> tuple[Person, str]:
    """Give an employee a login with roles. Returns the person and a one-time password."""
    _require(permissions.can_edit_person(actor), _("create logins"))
    person = Person.objects.select_for_update().get(pk=person.pk)
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if person.user_id:
        errors["username"] = [_("this person already has a login")]
    if person.status == PersonStatus.LEFT:
        errors["username"] = [_("this person has left")]
    User = get_user_model()
    if not username or len(username) > 150 or not re.fullmatch(r"[\w.@+-]+", username):
        errors["username"] = [_("1 to 150 letters, digits and @/./+/-/_ only")]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [_("this username is taken")]
    if not roles:
        errors["roles"] = [_("choose at least one role")]
    if errors:
        raise ValidationFailed(_("Invalid input"), fields=errors)
    chosen = _check_roles(roles=roles, actor=actor)
    password = secrets.token_urlsafe(9)
    user = User.objects.create_user(username=username, password=password)
    _set_groups(user, chosen)
    person.user = user
    person.save(update_fields=["user", "updated_at"])
    audit_record(
        actor=actor,
        action="org.person_login_create",
        instance=person,
        after={"username": username, "roles": sorted(r.value for r in chosen)},
    )
    return person, password


@transaction.atomic
def person_roles_set(*, person: Person, roles: list[str], actor) -> Person:
    _require(permissions.can_edit_person(actor), _("change roles"))
    if not person.user_id:
        raise InvalidState(_("This person has no login yet"))
    if not roles:
        raise ValidationFailed(
            _("Invalid input"), fields={"roles": [_("choose at least one role")]}
        )
    chosen = _check_roles(roles=roles, actor=actor)
    user = person.user
    before = sorted(
        user.groups.filter(name__in=[r.value for r in Role]).values_list("name", flat=True)
    )
    if (
        Role.MANAGER.value in before
        and Role.MANAGER not in chosen
        and not has_role(actor, Role.MANAGER)
    ):
        raise PermissionDenied(_("Only a center manager may remove the center manager role"))
    _guard_manager_logins(
        actor=actor,
        user_ids=[user.pk],
        message=_("Only a center manager may change a center manager's record"),
    )
    _set_groups(user, chosen)
    audit_record(
        actor=actor,
        action="org.person_roles_set",
        instance=person,
        before={"roles": before},
        after={"roles": sorted(r.value for r in chosen)},
    )
    return person


@transaction.atomic
def person_password_reset(*, person: Person, actor) -> str:
    """Set a new one-time password for the person's login and return it."""
    _require(permissions.can_edit_person(actor), _("reset passwords"))
    if not person.user_id:
        raise InvalidState(_("This person has no login yet"))
    if person.status == PersonStatus.LEFT:
        raise InvalidState(_("This person has left; their login stays disabled"))
    _guard_manager_logins(
        actor=actor,
        user_ids=[person.user_id],
        message=_("Only a center manager may reset a center manager's password"),
    )
    password = secrets.token_urlsafe(9)
    user = person.user
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_record(
        actor=actor,
        action="org.person_password_reset",
        instance=person,
        object_repr=f"{person} ({user.get_username()})",
    )
    return password
