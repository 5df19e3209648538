"""HTML pages of the assessment (考核) and the promotion early warning (晋升预警): the HR
admin's list of runs with a run form, a run's outcomes with each criterion and the HR
decision (htmx swaps the row), approval; and the early warning of the people in sight on any
day. Same services and selectors as the API."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from telesales.compensation import assessing, permissions, selectors
from telesales.compensation.models import HRDecision
from telesales.core import errors
from telesales.core.dates import validate_center_year
from telesales.core.form_errors import add_domain_error, page_status
from telesales.core.forms import StyledForm
from telesales.core.pages import get_or_404, require
from telesales.org.models import Person


class AssessmentRunForm(StyledForm, forms.Form):
    """Styled, with a month picker, as the pay run's form (QA, session 20: a bare text box)."""

    label = forms.RegexField(
        label=gettext_lazy("Period (YYYY-MM)"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        max_length=7,
        widget=forms.TextInput(attrs={"type": "month"}),
        error_messages={"invalid": gettext_lazy("Expected YYYY-MM, for example 2026-09")},
    )
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            (HRDecision.APPROVED, gettext_lazy("Approve")),
            (HRDecision.REJECTED, gettext_lazy("Reject")),
        ]
    )
    note = forms.CharField(max_length=500, required=False)


class WarningForm(forms.Form):
    day = forms.DateField(
        validators=[validate_center_year], label=gettext_lazy("Day"), required=False
    )
    person = forms.IntegerField(min_value=1, required=False)
    # A team among those listed (QA: the manager's cross-team view had no team filter).
    team = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    flag = forms.ChoiceField(
        label=gettext_lazy("Show"),
        choices=[
            ("", gettext_lazy("Everyone")),
            ("attention", gettext_lazy("At risk or failing")),
        ],
        required=False,
    )


#: Worst first: what needs the team lead's or HR's attention leads the list.
_SEVERITY = {"failing": 0, "at_risk": 1, "on_track": 2, "met": 3}


def _person_flag(row: dict) -> str:
    return (row.get("maintain") or row.get("promote") or {}).get("flag", "met")


@login_required
def assessment_list_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_run_assessment(request.user))
    return render(
        request,
        "compensation/assessment_list.html",
        {"runs": selectors.assessment_run_list(user=request.user), "form": AssessmentRunForm()},
    )


@login_required
@require_POST
def assessment_run_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_run_assessment(request.user))
    form = AssessmentRunForm(request.POST)
    if form.is_valid():
        try:
            run = assessing.assessment_run(
                label=form.cleaned_data["label"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except errors.DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Assessment %(p)s run") % {"p": run.label})
            return redirect("compensation:assessment_detail", run_id=run.pk)
    context = {"runs": selectors.assessment_run_list(user=request.user), "form": form}
    return render(request, "compensation/assessment_list.html", context, status=422)


def _detail_context(request: HttpRequest, run) -> dict:
    outcomes = list(
        run.outcomes.select_related("person", "person__team", "from_level", "to_level").order_by(
            "person__name", "person_id"
        )
    )
    exits = selectors.exits_approved_before(run)
    for outcome in outcomes:
        outcome.exit_approved = exits.get(outcome.person_id)
    return {
        "run": run,
        "outcomes": outcomes,
        "pending": sum(1 for o in outcomes if o.decision == HRDecision.PENDING),
        "today": timezone.localdate(),
    }


@login_required
def assessment_detail_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_or_404(selectors.assessment_run_get, user=request.user, pk=run_id)
    return render(request, "compensation/assessment_detail.html", _detail_context(request, run))


@login_required
@require_POST
def assessment_outcome_decide_view(request: HttpRequest, outcome_id: int) -> HttpResponse:
    outcome = get_or_404(selectors.assessment_outcome_get, user=request.user, pk=outcome_id)
    form = DecisionForm(request.POST)
    status, error = 200, ""
    if form.is_valid():
        try:
            outcome = assessing.assessment_outcome_decide(
                outcome=outcome,
                decision=form.cleaned_data["decision"],
                actor=request.user,
                note=form.cleaned_data["note"],
            )
        except errors.DomainError as exc:
            status, error = page_status(exc), exc.message
    else:
        status, error = 422, _("Choose approve or reject")
    if request.htmx:
        outcome = selectors.assessment_outcome_get(user=request.user, pk=outcome.pk)
        return render(
            request,
            "compensation/assessment_detail.html#outcome_row",
            {"o": outcome, "run": outcome.run, "error": error},
            status=status,
        )
    if error:
        messages.error(request, error)
    return redirect("compensation:assessment_detail", run_id=outcome.run_id)


@login_required
@require_POST
def assessment_approve_view(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_or_404(selectors.assessment_run_get, user=request.user, pk=run_id)
    try:
        assessing.assessment_run_approve(
            run=run, actor=request.user, reason=request.POST.get("reason", "")[:500]
        )
    except errors.DomainError as exc:
        context = _detail_context(request, run)
        context["approve_error"] = exc.message
        status = page_status(exc)
        return render(request, "compensation/assessment_detail.html", context, status=status)
    messages.success(request, _("Assessment %(p)s approved") % {"p": run.label})
    late = assessing.assessment_paid_before(run)
    if late:
        messages.warning(request, late)
    return redirect("compensation:assessment_detail", run_id=run.pk)


@login_required
@require_POST
def assessment_approve_pending_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Approve, as proposed, every outcome HR has not decided one by one."""
    run = get_or_404(selectors.assessment_run_get, user=request.user, pk=run_id)
    try:
        count = assessing.assessment_outcomes_approve_pending(run=run, actor=request.user)
    except errors.DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            ngettext("%(n)d outcome approved", "%(n)d outcomes approved", count) % {"n": count},
        )
    return redirect("compensation:assessment_detail", run_id=run.pk)


@login_required
def warning_list_view(request: HttpRequest) -> HttpResponse:
    """The early warning on a day (default today) of the people in sight, worst first
    (failing, at risk, on track, met); ``flag=attention`` keeps the at-risk and failing."""
    form = WarningForm(request.GET or None)
    day: dt.date = timezone.localdate()
    person_id = None
    status = 200
    if form.is_bound:
        if form.is_valid():
            day = form.cleaned_data["day"] or day
            person_id = form.cleaned_data["person"]
        else:
            status = 422
    try:
        rows = selectors.early_warning_list(user=request.user, day=day, person_id=person_id)
    except errors.NotFound as exc:
        raise Http404(exc.message) from exc
    people = Person.objects.filter(pk__in=[r["person_id"] for r in rows])
    names = dict(people.values_list("pk", "name"))
    teams = dict(people.values_list("pk", "team__name"))
    team_ids = dict(people.values_list("pk", "team_id"))
    for row in rows:
        row["name"] = names.get(row["person_id"], "")
        row["team"] = teams.get(row["person_id"]) or ""
        row["team_id"] = team_ids.get(row["person_id"])
        row["flag"] = _person_flag(row)
    # The teams of the people in sight, for the filter (a team lead: theirs only).
    team_choices = sorted(
        {(row["team_id"], row["team"]) for row in rows if row["team_id"]}, key=lambda t: t[1]
    )
    chosen_team = form.cleaned_data.get("team") if form.is_bound and form.is_valid() else None
    if chosen_team:
        rows = [row for row in rows if row["team_id"] == chosen_team]
    if form.is_bound and form.is_valid() and form.cleaned_data["flag"] == "attention":
        rows = [row for row in rows if row["flag"] in ("at_risk", "failing")]
    rows.sort(key=lambda row: (_SEVERITY.get(row["flag"], 9), row["name"], row["person_id"]))
    context = {
        "rows": rows,
        "day": day,
        "form": form,
        "team_choices": team_choices,
        "chosen_team": chosen_team,
    }
    template = "compensation/warning_list.html"
    if request.htmx:
        template += "#table"
    return render(request, template, context, status=status)
