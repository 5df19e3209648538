"""Pages with no domain: the role home redirect, the audit log, language choice, health."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from telesales.core import services
from telesales.core.audit import (
    action_label,
    audit_actor_names_attach,
    audit_changes_attach,
    audit_entry_list,
    object_type_label,
)
from telesales.core.errors import DomainError
from telesales.core.navigation import home_url_name
from telesales.core.permissions import audit_action_scope, can_read_audit_page
from telesales.core.roles import primary_role


@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """Send each user to their role's home page."""
    name = home_url_name(primary_role(request.user))
    if name:
        return redirect(name)
    return render(request, "core/no_role.html", status=200)


def _search_text(params, name: str, limit: int) -> str:
    """A free-text filter, trimmed; NUL characters (which PostgreSQL rejects) are dropped."""
    return params.get(name, "").replace("\x00", "").strip()[:limit]


def _parse_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


@login_required
def audit_list_view(request: HttpRequest) -> HttpResponse:
    if not can_read_audit_page(request.user):
        raise DjangoPermissionDenied
    prefixes = audit_action_scope(request.user)
    params = request.GET
    errors = []
    since, until = _parse_date(params.get("since", "")), _parse_date(params.get("until", ""))
    if params.get("since") and since is None:
        errors.append(_("'From' is not a date (YYYY-MM-DD)."))
    if params.get("until") and until is None:
        errors.append(_("'To' is not a date (YYYY-MM-DD)."))
    entries = audit_entry_list(
        actor=_search_text(params, "actor", 150),
        action=_search_text(params, "action", 80),
        object_type=_search_text(params, "object_type", 80),
        object_id=_search_text(params, "object_id", 64),
        text=_search_text(params, "q", 200),
        since=since,
        until=until,
        prefixes=prefixes,
    )
    page = Paginator(entries, 50).get_page(params.get("page"))
    page.object_list = list(page.object_list)
    audit_changes_attach(page.object_list)
    audit_actor_names_attach(page.object_list)
    labels: dict[str, str] = {}
    for entry in page.object_list:
        if entry.object_type not in labels:
            labels[entry.object_type] = object_type_label(entry.object_type)
        entry.object_type_label = labels[entry.object_type]
        entry.action_label = action_label(entry.action)
    object_types = (
        audit_entry_list(prefixes=prefixes)
        .order_by("object_type")
        .values_list("object_type", flat=True)
        .distinct()
    )
    template = "core/audit_list.html#results" if request.htmx else "core/audit_list.html"
    return render(
        request,
        template,
        {
            "page": page,
            "params": params,
            "errors": errors,
            "object_types": [(code, object_type_label(code)) for code in object_types],
        },
    )


@require_POST
def language_set_view(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; for a signed-in user the choice is saved to their settings."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}):
        next_url = "/"
    response = redirect(next_url)
    try:
        if request.user.is_authenticated:
            services.user_language_set(user=request.user, language=language)
        elif language not in dict(settings.LANGUAGES):
            raise DomainError("unknown language")
    except DomainError:
        messages.error(request, _("Unknown language."))
        return response
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600, samesite="Lax"
    )
    return response


@require_GET
def health_view(request: HttpRequest) -> JsonResponse:
    """Liveness and database check for load balancers and ``make demo``."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return JsonResponse({"status": "ok"})
    except Exception as exc:
        return JsonResponse({"status": "error", "detail": type(exc).__name__}, status=503)


def error_403_view(request, exception=None):
    """403, with the reason the check gave when it gave one (a service's translated message);
    an htmx request gets a short alert to swap in place (403.html)."""
    reason = str(exception) if exception is not None else ""
    return render(request, "403.html", {"exception": reason}, status=403)


def csrf_failure_view(request, reason=""):
    """A form sent with an out-of-date security token (the page stayed open while its user
    signed out and in again, or the browser dropped its cookies): say what happened and what
    to do, in the user's language, instead of Django's technical page. Nothing was saved."""
    message = _(
        "This page was out of date (you signed in again, or it stayed open a long time), so "
        "nothing was saved. Reload the page and do it again."
    )
    return render(request, "403.html", {"exception": message, "csrf_failed": True}, status=403)


def error_404_view(request, exception=None):
    """404; an htmx request gets a short alert to swap in place (404.html)."""
    return render(request, "404.html", status=404)


def error_500_view(request):
    return render(request, "500.html", status=500)
