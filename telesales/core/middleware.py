"""Choose the UI language: the signed-in user's saved choice, else the language cookie, else
the center's default (zh-Hans). The browser's Accept-Language is deliberately not used: a
center's screens are Chinese unless a user switches."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _lazy

from telesales.core.models import UserSettings

LANGUAGE_COOKIE = settings.LANGUAGE_COOKIE_NAME


def _supported(code: str | None) -> str | None:
    return code if code in dict(settings.LANGUAGES) else None


def user_language(user) -> str | None:
    """The language the user saved (a supported one), or None."""
    return _supported(
        UserSettings.objects.filter(user_id=user.pk).values_list("language", flat=True).first()
    )


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = user_language(user)
        language = language or _supported(request.COOKIES.get(LANGUAGE_COOKIE))
        language = language or settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = language
        # For this request only: the thread's language is given back afterwards, so that a
        # request in English leaves no English behind (a test client's request used to leave
        # every later test of the worker in the language of the last one).
        with translation.override(language):
            response = self.get_response(request)
        # An API token names its user later (``core.http_api.BearerAuth``), which may switch.
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class OutOfRangeIdMiddleware:
    """A path segment of digits larger than any id a table can hold (2⁶³ − 1) names nothing:
    answer 404 before a view hands it to the database, which may refuse to even bind it
    (SQLite: "Python int too large to convert to SQLite INTEGER", a server error)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import Http404

        from telesales.core.http_api import ID_MAX

        for segment in request.path.split("/"):
            digits = len(segment) >= 19 and segment.isascii() and segment.isdigit()
            if digits and int(segment) > ID_MAX:
                raise Http404("no such object")
        return self.get_response(request)


class ApiErrorShapeMiddleware:
    """Under /api/, answers produced outside the API's own handlers (unknown path, wrong method,
    a server error) still carry the {code, message, details} shape."""

    CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 500: "server_error"}
    #: In the caller's language (the status line's English phrase is not a message).
    MESSAGES = {
        400: _lazy("The request cannot be read."),
        404: _lazy("Not found."),
        405: _lazy("This method is not allowed here: see details.allowed."),
        500: _lazy("Something went wrong on the server; the error has been logged."),
    }

    def __init__(self, get_response):
        self.get_response = get_response

    @staticmethod
    def _language(request) -> str:
        """The caller's language: a bearer token's user's saved one (no API handler ran to
        choose it for an unknown path or method), else the one the request was served in."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[:7].lower() == "bearer ":
            from telesales.core.services import token_authenticate

            user = token_authenticate(secret=header[7:].strip())
            if user is not None:
                return user_language(user) or translation.get_language()
        return translation.get_language()

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or response.status_code not in self.CODES:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        from django.http import JsonResponse

        details = {}
        if response.status_code == 405:
            details["allowed"] = [m.strip() for m in response.get("Allow", "").split(",") if m]
        with translation.override(self._language(request)):
            message = str(self.MESSAGES[response.status_code])
        shaped = JsonResponse(
            {
                "code": self.CODES[response.status_code],
                "message": message,
                "details": details,
            },
            status=response.status_code,
        )
        if response.has_header("Allow"):
            shaped["Allow"] = response["Allow"]
        return shaped
