"""JSON endpoints of the organisation app. Same selectors and services as the HTML pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import Field

from telesales.core.errors import NotFound, PermissionDenied, ValidationFailed
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE, ID_MAX, InputSchema
from telesales.org import permissions, selectors, services
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
from telesales.org.models import Person

router = Router(tags=["org"])
PAGE_MAX = 500


class TeamOut(Schema):
    id: int
    name: str
    kind: TeamKind
    stage: TeamStage
    leader_id: int | None
    is_active: bool
    headcount: int | None = None


class TeamIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)
    kind: TeamKind = TeamKind.SALES
    stage: TeamStage = TeamStage.START_UP
    leader_id: int | None = None
    founded_on: dt.date | None = None
    is_active: bool = True


class TeamPatch(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: TeamKind | None = None
    stage: TeamStage | None = None
    leader_id: int | None = None
    founded_on: dt.date | None = None
    is_active: bool | None = None


class LevelOut(Schema):
    id: int
    code: str
    name: str
    series: LevelSeries
    rank: int
    base_salary: Decimal
    assessment_period: AssessmentPeriod
    is_active: bool


class LevelIn(InputSchema):
    code: str = Field(min_length=1, max_length=10)
    name: str = Field(min_length=1, max_length=50)
    series: LevelSeries
    rank: int = Field(ge=0, le=1000)
    base_salary: Decimal = Field(default=Decimal("0"), ge=0, max_digits=10, decimal_places=2)
    assessment_period: AssessmentPeriod = AssessmentPeriod.QUARTERLY
    description: str = Field(default="", max_length=2000)
    is_active: bool = True


class LevelPatch(InputSchema):
    code: str | None = Field(default=None, min_length=1, max_length=10)
    name: str | None = Field(default=None, min_length=1, max_length=50)
    series: LevelSeries | None = None
    rank: int | None = Field(default=None, ge=0, le=1000)
    base_salary: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    assessment_period: AssessmentPeriod | None = None
    description: str | None = Field(default=None, max_length=2000)
    is_active: bool | None = None


class PersonOut(Schema):
    id: int
    employee_no: str
    name: str
    team_id: int
    team_name: str
    status: PersonStatus
    hire_date: dt.date
    left_on: dt.date | None
    level_code: str | None
    capability_grade: int
    practice_reg_no: str
    leader_id: int | None
    recruiter_id: int | None
    mentor_id: int | None
    developed_by_id: int | None
    developed_on: dt.date | None

    @staticmethod
    def resolve_team_name(obj: Person) -> str:
        return obj.team.name

    @staticmethod
    def resolve_level_code(obj: Person) -> str | None:
        return obj.level.code if obj.level_id else None


class PersonIn(InputSchema):
    name: str = Field(min_length=1, max_length=50)
    employee_no: str = Field(min_length=1, max_length=20)
    team_id: int
    hire_date: dt.date
    status: PersonStatus = PersonStatus.TRAINEE
    contract_type: ContractType = ContractType.LABOUR
    level_id: int | None = None
    capability_grade: CapabilityGrade = CapabilityGrade.GRADE_1
    practice_reg_no: str = Field(default="", max_length=40)
    leader_id: int | None = None
    recruiter_id: int | None = None
    mentor_id: int | None = None
    developed_by_id: int | None = None
    developed_on: dt.date | None = None


class PersonPatch(InputSchema):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    team_id: int | None = None
    status: PersonStatus | None = None
    left_on: dt.date | None = None
    level_id: int | None = None
    capability_grade: CapabilityGrade | None = None
    practice_reg_no: str | None = Field(default=None, max_length=40)
    leader_id: int | None = None
    recruiter_id: int | None = None
    mentor_id: int | None = None
    developed_by_id: int | None = None
    developed_on: dt.date | None = None
    reason: str = Field(default="", max_length=500)


class SeatOut(Schema):
    id: int
    code: str
    site: str
    status: SeatStatus
    monthly_cost: Decimal
    person_id: int | None


class SeatIn(InputSchema):
    code: str = Field(min_length=1, max_length=20)
    site: str = Field(default="", max_length=50)
    status: SeatStatus = SeatStatus.VACANT
    monthly_cost: Decimal = Field(default=Decimal("0"), ge=0, max_digits=10, decimal_places=2)
    phone_line: str = Field(default="", max_length=30)
    person_id: int | None = None


class SeatPatch(InputSchema):
    site: str | None = Field(default=None, max_length=50)
    status: SeatStatus | None = None
    monthly_cost: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    phone_line: str | None = Field(default=None, max_length=30)
    person_id: int | None = None


class PersonFilter(InputSchema):
    team_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    status: PersonStatus | None = None
    level_id: int | None = Field(default=None, ge=1, le=ID_MAX)
    q: str = Field(default="", max_length=50)
    team_kind: TeamKind | None = None
    left_since: dt.date | None = None
    left_until: dt.date | None = None
    limit: int = Field(default=100, ge=1, le=PAGE_MAX)
    offset: int = Field(default=0, ge=0, le=ID_MAX - PAGE_MAX)


def _center():
    center = selectors.center_default()
    if center is None:
        raise ValidationFailed(_("No center exists yet; run 'telesales bootstrap'"))
    return center


def _missing_ref(name: str) -> str:
    """The field error for an ``*_id`` that names nothing the caller may see."""
    if name == "team":
        return _("No such team, or you may not see it.")
    if name == "level":
        return _("No such level.")
    return _("No such person, or you may not see them.")


def _resolve_refs(request: HttpRequest, data: dict) -> dict:
    """Turn ``*_id`` fields into visible objects; an invisible id is a field error."""
    user = request.auth
    out = {}
    for key, value in data.items():
        if not key.endswith("_id"):
            out[key] = value
            continue
        name = key[:-3]
        if value is None:
            out[name] = None
            continue
        try:
            if name == "team":
                out[name] = selectors.team_get(user=user, team_id=value)
            elif name == "level":
                out[name] = selectors.level_get(user=user, level_id=value)
            else:
                out[name] = selectors.person_get(user=user, person_id=value)
        except NotFound as exc:
            raise ValidationFailed(
                _("Unknown reference"), fields={key: [_missing_ref(name)]}
            ) from exc
    return out


# --- Teams -------------------------------------------------------------------------------
@router.get("/teams", response={200: list[TeamOut], **ERRORS_READ}, operation_id="org_team_list")
def team_list(request, kind: TeamKind | None = None):
    return list(selectors.team_list(user=request.auth, kind=kind))


@router.get("/teams/{team_id}", response={200: TeamOut, **ERRORS_READ}, operation_id="org_team_get")
def team_get(request, team_id: int):
    return selectors.team_get(user=request.auth, team_id=team_id)


@router.post("/teams", response={201: TeamOut, **ERRORS_WRITE}, operation_id="org_team_create")
def team_create(request, payload: TeamIn):
    if not permissions.can_edit_team(request.auth):
        raise PermissionDenied(_("You may not %(action)s") % {"action": _("create teams")})
    data = _resolve_refs(request, payload.dict())
    return Status(201, services.team_create(center=_center(), actor=request.auth, **data))


@router.patch(
    "/teams/{team_id}", response={200: TeamOut, **ERRORS_WRITE}, operation_id="org_team_update"
)
def team_update(request, team_id: int, payload: TeamPatch):
    if not permissions.can_edit_team(request.auth):
        raise PermissionDenied(_("You may not %(action)s") % {"action": _("change teams")})
    team = selectors.team_get(user=request.auth, team_id=team_id)
    data = _resolve_refs(request, payload.dict(exclude_unset=True))
    return services.team_update(team=team, actor=request.auth, **data)


# --- Levels ------------------------------------------------------------------------------
@router.get("/levels", response={200: list[LevelOut], **ERRORS_READ}, operation_id="org_level_list")
def level_list(request):
    return list(selectors.level_list(user=request.auth))


@router.post("/levels", response={201: LevelOut, **ERRORS_WRITE}, operation_id="org_level_create")
def level_create(request, payload: LevelIn):
    return Status(201, services.level_create(actor=request.auth, **payload.dict()))


@router.patch(
    "/levels/{level_id}", response={200: LevelOut, **ERRORS_WRITE}, operation_id="org_level_update"
)
def level_update(request, level_id: int, payload: LevelPatch):
    """The same change as the level edit page (``services.level_update``), audited there."""
    if not permissions.can_edit_level(request.auth):
        raise PermissionDenied(
            _("You may not %(action)s") % {"action": _("change the level ladder")}
        )
    level = selectors.level_get(user=request.auth, level_id=level_id)
    # No level field takes null: a null sent for one leaves it as it is.
    data = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    return services.level_update(level=level, actor=request.auth, **data)


# --- People ------------------------------------------------------------------------------
@router.get(
    "/people", response={200: list[PersonOut], **ERRORS_READ}, operation_id="org_person_list"
)
def person_list(request, filters: Query[PersonFilter]):
    qs = selectors.person_list(
        user=request.auth,
        team_id=filters.team_id,
        status=filters.status,
        level_id=filters.level_id,
        search=filters.q,
        team_kind=filters.team_kind,
        left_since=filters.left_since,
        left_until=filters.left_until,
    )
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.get(
    "/people/{person_id}", response={200: PersonOut, **ERRORS_READ}, operation_id="org_person_get"
)
def person_get(request, person_id: int):
    return selectors.person_get(user=request.auth, person_id=person_id)


@router.post("/people", response={201: PersonOut, **ERRORS_WRITE}, operation_id="org_person_create")
def person_create(request, payload: PersonIn):
    if not permissions.can_edit_person(request.auth):
        raise PermissionDenied(_("You may not %(action)s") % {"action": _("add people")})
    data = _resolve_refs(request, payload.dict())
    return Status(201, services.person_create(center=_center(), actor=request.auth, **data))


@router.patch(
    "/people/{person_id}",
    response={200: PersonOut, **ERRORS_WRITE},
    operation_id="org_person_update",
)
def person_update(request, person_id: int, payload: PersonPatch):
    if not permissions.can_edit_person(request.auth):
        raise PermissionDenied(_("You may not %(action)s") % {"action": _("change people")})
    person = selectors.person_get(user=request.auth, person_id=person_id)
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    data = _resolve_refs(request, data)
    person = services.person_update(person=person, actor=request.auth, reason=reason, **data)
    return selectors.person_get(user=request.auth, person_id=person.pk)


# --- Seats -------------------------------------------------------------------------------
@router.get("/seats", response={200: list[SeatOut], **ERRORS_READ}, operation_id="org_seat_list")
def seat_list(request, status: SeatStatus | None = None):
    return list(selectors.seat_list(user=request.auth, status=status))


@router.post("/seats", response={201: SeatOut, **ERRORS_WRITE}, operation_id="org_seat_create")
def seat_create(request, payload: SeatIn):
    if not permissions.can_edit_seat(request.auth):
        raise PermissionDenied(_("You may not %(action)s") % {"action": _("manage seats")})
    data = _resolve_refs(request, payload.dict())
    return Status(201, services.seat_create(center=_center(), actor=request.auth, **data))


@router.patch(
    "/seats/{seat_id}", response={200: SeatOut, **ERRORS_WRITE}, operation_id="org_seat_update"
)
def seat_update(request, seat_id: int, payload: SeatPatch):
    if not permissions.can_edit_seat(request.auth):
        raise PermissionDenied(_("You may not %(action)s") % {"action": _("manage seats")})
    seat = selectors.seat_get(user=request.auth, seat_id=seat_id)
    data = _resolve_refs(request, payload.dict(exclude_unset=True))
    return services.seat_update(seat=seat, actor=request.auth, **data)


# --- Logins and roles --------------------------------------------------------------------
class LoginIn(InputSchema):
    username: str = Field(min_length=1, max_length=150)
    roles: list[str] = Field(min_length=1, max_length=9)


class LoginOut(Schema):
    username: str
    roles: list[str]
    one_time_password: str | None = None


class RolesIn(InputSchema):
    roles: list[str] = Field(min_length=1, max_length=9)


@router.post(
    "/people/{person_id}/login",
    response={201: LoginOut, **ERRORS_WRITE},
    operation_id="org_person_login_create",
)
def person_login_create(request, person_id: int, payload: LoginIn):
    if not permissions.can_edit_person(request.auth):
        raise PermissionDenied(_("You may not %(action)s") % {"action": _("create logins")})
    person = selectors.person_get(user=request.auth, person_id=person_id)
    person, password = services.person_login_create(
        person=person, username=payload.username, roles=payload.roles, actor=request.auth
    )
    return Status(
        201,
        {
            "username": payload.username,
            "roles": selectors.person_roles(person=person),
            "one_time_password": password,
        },
    )


@router.put(
    "/people/{person_id}/roles",
    response={200: LoginOut, **ERRORS_WRITE},
    operation_id="org_person_roles_set",
)
def person_roles_set(request, person_id: int, payload: RolesIn):
    if not permissions.can_edit_person(request.auth):
        raise PermissionDenied(_("You may not %(action)s") % {"action": _("change roles")})
    person = selectors.person_get(user=request.auth, person_id=person_id)
    person = services.person_roles_set(person=person, roles=payload.roles, actor=request.auth)
    return {"username": person.user.get_username(), "roles": selectors.person_roles(person=person)}
