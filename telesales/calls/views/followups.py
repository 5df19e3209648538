"""Team-lead actions on follow-ups: give an escalated overdue follow-up (and its lead) to a
teammate. Posted from the live board's list of escalated follow-ups; answers with a message
and goes back to the page it came from."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telesales.calls import permissions, selectors, services
from telesales.calls.forms import FollowUpReassignForm
from telesales.core.errors import DomainError, NotFound
from telesales.org.selectors import person_get


def _back(request: HttpRequest, wanted: str) -> HttpResponse:
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(wanted)
    return redirect(reverse("calls:board"))


@login_required
@require_POST
def followup_reassign_view(request: HttpRequest, followup_id: int) -> HttpResponse:
    """Reassign a follow-up to a teammate (``services.followup_reassign``)."""
    if not permissions.can_view_board(request.user):
        raise PermissionDenied(_("Only team leads and managers reassign follow-ups"))
    try:
        followup = selectors.followup_get(user=request.user, followup_id=followup_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = FollowUpReassignForm(request.POST)
    if not form.is_valid():
        text = " ".join(str(e) for errors in form.errors.values() for e in errors)
        messages.error(
            request,
            _("Follow-up #%(id)d was not reassigned: %(why)s")
            % {
                "id": followup.pk,
                "why": text,
            },
        )
        return _back(request, request.POST.get("next", ""))
    data = form.cleaned_data
    try:
        mate = person_get(user=request.user, person_id=data["to_agent_id"])
        moved = services.followup_reassign(
            followup=followup, to_agent=mate, actor=request.user, reason=data["reason"]
        )
    except DomainError as exc:
        messages.error(
            request,
            _("Follow-up #%(id)d was not reassigned: %(why)s")
            % {
                "id": followup.pk,
                "why": exc.message,
            },
        )
    else:
        messages.success(
            request,
            _("Follow-up #%(id)d and its lead #%(lead)d are now %(name)s's.")
            % {"id": followup.pk, "lead": moved.lead_id, "name": moved.agent.name},
        )
    return _back(request, data.get("next", ""))


urlpatterns = [
    path(
        "followups/<int:followup_id>/reassign/",
        followup_reassign_view,
        name="followup_reassign",
    ),
]
