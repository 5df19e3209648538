"""JSON endpoints with no domain: tokens and the current user."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import authenticate
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Path, Router, Schema
from pydantic import Field

from telesales.core import selectors, services
from telesales.core.errors import AuthenticationFailed, InvalidState, LockedOut
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE, ID_MAX, ErrorOut, InputSchema
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


class TokenInfoOut(Schema):
    """One of the caller's tokens (never its secret)."""

    id: int
    prefix: str
    name: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    current: bool = Field(default=False, description="The token this request came with.")


def _token_info(request, token) -> dict:
    secret = getattr(request, "bearer_secret", None)
    current = bool(secret) and services.token_hash(secret) == token.key_hash
    return {
        "id": token.pk,
        "prefix": token.prefix,
        "name": token.name,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "current": current,
    }


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
        raise LockedOut(_("Too many failed sign-ins; try again later"))
    if user is None:
        raise AuthenticationFailed(_("Wrong username or password"))
    token, secret = services.token_create(user=user, actor=user, name=payload.name)
    return {"token": secret, "prefix": token.prefix, "expires_at": token.expires_at.isoformat()}


@router.get(
    "/auth/tokens",
    response={200: list[TokenInfoOut], **ERRORS_READ},
    operation_id="core_tokens_list",
)
def tokens_list(request):
    """The caller's own tokens, newest first: which are live, when each was last used."""
    return [_token_info(request, t) for t in selectors.token_list(user=request.auth)[:200]]


@router.post(
    "/auth/tokens/{token_id}/revoke",
    response={200: TokenInfoOut, **ERRORS_WRITE},
    operation_id="core_token_revoke",
)
def token_revoke(request, token_id: int = Path(..., ge=1, le=ID_MAX)):
    """Revoke one of the caller's tokens (a superuser: anyone's) at once; revoking it again
    changes nothing. Someone else's token is 404."""
    token = services.token_revoke(token_id=token_id, actor=request.auth)
    return _token_info(request, token)


@router.delete(
    "/auth/token", response={200: TokenInfoOut, **ERRORS_WRITE}, operation_id="core_token_sign_out"
)
def token_sign_out(request):
    """Revoke the bearer token this request came with (a softphone signing out). A request
    signed in by the browser's session has none: 409 ``invalid_state``."""
    secret = getattr(request, "bearer_secret", None)
    if not secret:
        raise InvalidState(
            _("This request came without a bearer token: revoke a token by its id instead")
        )
    token = services.token_revoke_secret(secret=secret, actor=request.auth)
    return _token_info(request, token)


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
