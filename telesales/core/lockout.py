"""What a locked-out sign-in gets (django-axes calls this): JSON for the API, a page otherwise."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def lockout_response(
    request: HttpRequest, original_response=None, credentials=None
) -> HttpResponse:
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "code": "locked_out",
                "message": _("Too many failed sign-ins; try again in %(minutes)d minutes.")
                % {"minutes": minutes},
                "details": {"cooloff_minutes": minutes},
            },
            status=429,
        )
    return render(request, "registration/locked_out.html", {"cooloff_minutes": minutes}, status=429)
