"""JSON endpoints with no domain: tokens and the current user."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils import translation
from ninja import Router, Schema
from pydantic import Field

from telesales.core import services
from telesales.core.errors import AuthenticationFailed, LockedOut
from telesales.core.http_api import ERRORS_WRITE, ErrorOut, InputSchema
from telesales.core.roles import primary_role, user_roles

router = Router(tags=["core"])


class TokenIn(InputSchema):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=256)
    name: str = Field(default="", max_length=100)


class TokenOut(Schema):
    token: str
    prefix: str
    expires_at: str


class MeOut(Schema):
    username: str
    roles: list[str]
    primary_role: str | None
    language: str


class LanguageIn(InputSchema):
    language: str = Field(min_length=2, max_length=10)


@router.post(
    "/auth/token",
    auth=None,
    response={
        200: TokenOut,
        400: ErrorOut,
        401: ErrorOut,
        413: ErrorOut,
        422: ErrorOut,
        429: ErrorOut,
    },
    operation_id="core_token_create",
    summary="Exchange a username and password for a bearer token",
)
def token_create(request, payload: TokenIn):
    user = authenticate(request, username=payload.username, password=payload.password)
    if getattr(request, "axes_locked_out", False):
        raise LockedOut("Too many failed sign-ins; try again later")
    if user is None:
        raise AuthenticationFailed("Wrong username or password")
    token, secret = services.token_create(user=user, actor=user, name=payload.name)
    return {"token": secret, "prefix": token.prefix, "expires_at": token.expires_at.isoformat()}


@router.get("/me", response={200: MeOut, 401: ErrorOut}, operation_id="core_me_get")
def me_get(request):
    user = request.auth
    role = primary_role(user)
    return {
        "username": user.get_username(),
        "roles": sorted(r.value for r in user_roles(user)),
        "primary_role": role.value if role else None,
        "language": translation.get_language(),
    }


@router.post(
    "/me/language", response={200: MeOut, **ERRORS_WRITE}, operation_id="core_me_language_set"
)
def me_language_set(request, payload: LanguageIn):
    services.user_language_set(user=request.auth, language=payload.language)
    translation.activate(payload.language)
    return me_get(request)
