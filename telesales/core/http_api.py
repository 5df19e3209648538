"""What every JSON endpoint shares: the error shape, authentication and error mapping."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.http import Http404
from django.http.multipartparser import MultiPartParserError
from django.utils import translation
from django.utils.translation import gettext as _
from ninja import Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer
from pydantic import ConfigDict, Field, field_validator

from telesales.core.api_messages import field_message
from telesales.core.dates import YEAR_MAX, YEAR_MIN, date_out_of_range
from telesales.core.errors import DomainError
from telesales.core.middleware import user_language
from telesales.core.services import token_authenticate


class ErrorOut(Schema):
    """Every error answers with this shape and a 4xx status. Match on ``code`` (stable);
    ``message`` is for people, in the user's language."""

    code: str = Field(
        description=(
            "Stable machine code. Everywhere: authentication_required / authentication_failed "
            "(401), permission_denied (403), not_found (404), conflict and invalid_state (409), "
            "validation_failed (422: details.fields = {field: [messages]}), bad_request (400: "
            "a body that is not JSON or not the form expected), request_too_large (413: "
            "details.limit_bytes), locked_out (429), method_not_allowed (405). Operations "
            "name their own codes in their descriptions (e.g. next-lead: nothing_to_dispatch, "
            "call_unfinished; calls: call_not_open, call_already_disposed, duplicate_sale, "
            "not_your_call, followup_in_past, dial_blocked)."
        )
    )
    message: str = Field(description="For people, in the user's saved language.")
    details: dict[str, Any] = Field(
        default={},
        description="What the code needs said: fields, reasons, limits, the record concerned.",
    )


# The largest id a database integer column holds; larger ids in filters are refused (422)
# instead of overflowing the database driver.
ID_MAX = 2**63 - 1


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple | set):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


class InputSchema(Schema):
    """Base of every request body and query filter.

    Text may not contain NUL characters: PostgreSQL can neither store nor compare them, so
    they would otherwise surface as a server error instead of a field error. A decimal sent
    as text in exponent form ("1e3") is refused: amounts are written in plain digits. Dates
    and times must fall in the years ``YEAR_MIN`` to ``YEAR_MAX``, for the NUL's reason.
    A field the operation does not take is refused (``extra_forbidden``), not dropped: a
    misspelled ``callback_time`` lost the callback the customer agreed to.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul_characters(cls, value: Any) -> Any:
        if _has_nul(value):
            raise ValueError(_("must not contain NUL characters"))
        if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent > 0:
            # "1e3" sent as text: a typo as likely as a number; money is written in digits.
            raise ValueError(_("write the number in plain digits, such as 1000 or 120.50"))
        if date_out_of_range(value):
            raise ValueError(
                _("must be a date between %(first)d and %(last)d")
                % {"first": YEAR_MIN, "last": YEAR_MAX}
            )
        return value


# Declared on every operation so that the OpenAPI document lists the error answers.
# A read refuses a malformed id or filter (422) and an unreadable request (400) too.
ERRORS_READ = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
ERRORS_WRITE = {**ERRORS_READ, 409: ErrorOut, 413: ErrorOut}


class SessionAuth(APIKeyCookie):
    """The browser's Django session (with CSRF on unsafe methods)."""

    param_name = "sessionid"

    def _get_key(self, request):
        # Without a signed-in session there is nothing for CSRF to protect: skip the check so
        # that the caller hears "sign in" (401), not "CSRF check failed" (403).
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return user
        return None


class BearerAuth(HttpBearer):
    """``Authorization: Bearer tsk_…`` tokens issued by /auth/token or ``token-create``."""

    def authenticate(self, request, token):
        user = token_authenticate(secret=token)
        if user is None:
            # Sent, but unknown, expired or revoked (an empty one is no token at all).
            request.bearer_token_refused = bool(token and token.strip())
            return None
        request.user = user
        request.bearer_secret = token  # which token this request came with (sign-out)
        # The middleware chose the language before the token named its user: answer in the
        # user's saved language, as their browser session is.
        language = user_language(user)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return user


#: A pydantic location part naming a union's branch, not a field.
_UNION_BRANCH = re.compile(r"[\[\]-]")


def install_error_handlers(api) -> None:
    """Map every error to ``{code, message, details}`` once, for the whole API."""

    def _answer(request, status: int, code: str, message: str, details: dict | None = None):
        return api.create_response(
            request, {"code": code, "message": message, "details": details or {}}, status=status
        )

    @api.exception_handler(DomainError)
    def on_domain_error(request, exc: DomainError):
        return _answer(request, exc.status, exc.code, exc.message, exc.details)

    @api.exception_handler(NinjaValidationError)
    def on_validation_error(request, exc: NinjaValidationError):
        fields: dict[str, list[str]] = {}
        for error in exc.errors:
            loc = [str(p) for p in error.get("loc", []) if p not in ("body", "query", "path")]
            if loc and loc[0] == "payload":
                loc = loc[1:]
            # A union's branches (``str-enum[Relation]``, ``literal['']``) are not fields: the
            # field is the part before them, and its messages are listed once.
            loc = [part for part in loc if not _UNION_BRANCH.search(part)]
            messages = fields.setdefault(".".join(loc) or "__all__", [])
            message = field_message(error)
            if message not in messages:
                messages.append(message)
        return _answer(request, 422, "validation_failed", _("Invalid input"), {"fields": fields})

    @api.exception_handler(MultiPartParserError)
    def on_unreadable_multipart(request, exc: MultiPartParserError):
        return _answer(
            request,
            400,
            "bad_request",
            _("The multipart body cannot be read: %(problem)s") % {"problem": exc},
        )

    @api.exception_handler(RequestDataTooBig)
    def on_body_too_large(request, exc):
        # Django stops reading a body (files aside) past DATA_UPLOAD_MAX_MEMORY_SIZE; it
        # answered a bare English 400.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0
        return _answer(
            request,
            413,
            "request_too_large",
            _(
                "The request is too large: apart from uploaded files it may hold at most "
                "%(size)s. Send a large file as a file upload."
            )
            % {"size": f"{limit / (1024 * 1024):.1f} MB"},
            {"limit_bytes": limit},
        )

    @api.exception_handler(TooManyFieldsSent)
    def on_too_many_fields(request, exc):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS or 0
        return _answer(
            request,
            413,
            "request_too_large",
            _("The request has too many fields: at most %(n)d may be sent at once.") % {"n": limit},
            {"limit_fields": limit},
        )

    @api.exception_handler(AuthenticationError)
    def on_auth_error(request, exc):
        if getattr(request, "bearer_token_refused", False):
            return _answer(
                request,
                401,
                "authentication_failed",
                _("This token is unknown, expired or revoked: ask for a new one"),
            )
        return _answer(request, 401, "authentication_required", _("Sign in or send a bearer token"))

    @api.exception_handler(Http404)
    def on_404(request, exc):
        return _answer(request, 404, "not_found", _("Not found."))

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        if exc.status_code == 403 and "csrf" in str(exc).lower():
            # ninja's session check: the browser's CSRF token is missing or out of date.
            return _answer(
                request,
                403,
                "csrf_failed",
                _(
                    "The request's CSRF token is missing or out of date: send the csrftoken "
                    "cookie's value in the X-CSRFToken header, or use a bearer token."
                ),
            )
        if exc.status_code == 400:
            # ninja could not read the body: not JSON, or not the form the operation takes.
            return _answer(
                request,
                400,
                "bad_request",
                _("The request body cannot be read: send JSON of the form this operation takes."),
            )
        return _answer(request, exc.status_code, "http_error", str(exc))
