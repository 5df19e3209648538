"""The what-if page (试算): choose a draft rule set and a past month, see the comparison with
the approved rule set (``whatif.ruleset_whatif``). HR admin and the center manager only. A
read: the form is a GET, nothing is written; htmx requests get the ``result`` partial."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from telesales.compensation import permissions, selectors
from telesales.compensation.choices import RuleSetStatus
from telesales.compensation.forms import MonthInput
from telesales.compensation.models import RuleSet
from telesales.compensation.tasks import period_start_of_month
from telesales.compensation.whatif import ruleset_whatif
from telesales.core import errors
from telesales.core.dates import validate_center_year
from telesales.core.form_errors import page_status


class WhatIfForm(forms.Form):
    draft = forms.ModelChoiceField(
        label=_("Draft rule set"),
        queryset=RuleSet.objects.filter(status=RuleSetStatus.DRAFT),
        empty_label=None,
        error_messages={"invalid_choice": _("Choose a draft rule set.")},
    )
    period = forms.DateField(
        validators=[validate_center_year],
        label=_("Period"),
        widget=MonthInput(),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        help_text=_("A past month: its inputs are run under both rule sets."),
        error_messages={"invalid": _("Give a month as YYYY-MM.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["draft"].widget.attrs["class"] = "form-select form-select-sm"
        self.fields["period"].widget.attrs["class"] = "form-control form-control-sm"


def _add_service_error(form: WhatIfForm, exc: errors.DomainError) -> None:
    """The service's error on the form, each text once: its message on the month (bad input)
    or the draft (not found, not a draft); its hints on the month (the service calls it
    ``period_start``; no field code is shown); each data problem named by its record (a
    person by their name, a policy by its number), not ten times a bare "no attendance"."""
    shown: set[str] = set()

    def add(field: str | None, text: str) -> None:
        if text not in shown:
            shown.add(text)
            form.add_error(field, text)

    add("period" if exc.status == 422 else "draft", exc.message)
    fields = exc.fields if isinstance(exc, errors.ValidationFailed) else {}
    names = selectors.record_labels(name for name in fields if name != "period_start")
    for name, problems in fields.items():
        for problem in problems:
            if name == "period_start":
                add("period", problem)
            else:
                label = names.get(name, name)
                add(None, gettext("%(field)s: %(problem)s") % {"field": label, "problem": problem})


@login_required
@require_GET
def whatif_view(request: HttpRequest) -> HttpResponse:
    if not permissions.can_run_pay(request.user):
        raise PermissionDenied
    asked = "period" in request.GET
    initial = {}
    if not asked and (draft := request.GET.get("draft", "")).isascii() and draft.isdigit():
        initial["draft"] = int(draft[:11])  # from a draft's page: chosen, the month still to give
    form = WhatIfForm(request.GET if asked else None, initial=initial)
    result, status = None, 200
    if asked:
        if form.is_valid():
            try:
                result = ruleset_whatif(
                    user=request.user,
                    draft_id=form.cleaned_data["draft"].pk,
                    period_start=period_start_of_month(form.cleaned_data["period"]),
                )
            except errors.DomainError as exc:
                _add_service_error(form, exc)
                status = page_status(exc)
        else:
            status = 422
    template = "compensation/whatif.html"
    if request.htmx:
        template += "#result"
    return render(request, template, {"form": form, "result": result}, status=status)
