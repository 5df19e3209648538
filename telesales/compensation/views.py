"""HTML pages of the pay run: the HR admin's list, compute form (a background job with a
progress bar), run page (totals per person and team, approve — also a background job —,
adjustments, xlsx export), any
person's own payslip and a team lead's team totals. Same services and selectors as the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telesales.compensation import exporting, payrun, permissions, selectors
from telesales.compensation.choices import PayRunStatus
from telesales.compensation.forms import (
    AdjustmentCancelForm,
    AdjustmentForm,
    PayRunApproveForm,
    PayRunComputeForm,
)
from telesales.compensation.tasks import (
    BUSY,
    job_progress,
    payrun_approve_start,
    payrun_compute_start,
    period_start_of_month,
)
from telesales.core import errors
from telesales.core.downloads import attachment_disposition
from telesales.core.form_errors import add_domain_error, page_status
from telesales.core.pages import get_or_404, require
from telesales.org.models import Person, Team
from telesales.org.selectors import person_for_user


def _int(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


# --- HR admin and manager: list, compute, run page --------------------------------------------
def _list_context(request: HttpRequest, form: PayRunComputeForm | None = None) -> dict:
    user = request.user
    return {
        "runs": selectors.payrun_list(user=user),
        "jobs": selectors.payrun_job_list(user=user)[:10],
        "form": form or PayRunComputeForm(),
    }


@login_required
def payrun_list_view(request: HttpRequest) -> HttpResponse:
    require(permissions.can_run_pay(request.user))
    return render(request, "compensation/payrun_list.html", _list_context(request))


@login_required
@require_POST
def payrun_compute_view(request: HttpRequest) -> HttpResponse:
    """Queue the computation of a month (from the list's form or a run's "recompute")."""
    require(permissions.can_run_pay(request.user))
    form = PayRunComputeForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            job = payrun_compute_start(
                period_start=period_start_of_month(form.cleaned_data["period"]),
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except errors.DomainError as exc:
            _period_error(form, exc)
            status = page_status(exc)
        else:
            return redirect("compensation:payrun_job", job.pk)
    return render(
        request, "compensation/payrun_list.html", _list_context(request, form), status=status
    )


def _period_error(form: PayRunComputeForm, exc: errors.DomainError) -> None:
    """The service's error on the month field (the service calls it ``period_start``)."""
    form.add_error("period", exc.message)
    fields = exc.fields if isinstance(exc, errors.ValidationFailed) else {}
    for name, problems in (fields or {}).items():
        for problem in problems:
            form.add_error("period" if name == "period_start" else None, problem)


@login_required
def payrun_job_view(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress of a computation or an approval; polled (``?part=progress``) until it
    ends."""
    require(permissions.can_run_pay(request.user))
    job = get_or_404(selectors.payrun_job_get, user=request.user, pk=job_id)
    context = {"job": job, "busy": job.status in BUSY, "progress": job_progress(job)}
    if job.problems and not (request.htmx and request.GET.get("part") == "progress"):
        # Each record as people know it (a person's name, a policy's number), its code kept
        # in the cell's title.
        labels = selectors.record_labels(record for record, _reason in job.problems)
        context["problems"] = [
            (record, labels.get(record, record), reason) for record, reason in job.problems
        ]
    if request.htmx and request.GET.get("part") == "progress":
        response = render(request, "compensation/payrun_job.html#progress", context)
        if not context["busy"]:
            response["HX-Refresh"] = "true"  # ended: reload for the outcome
        add_never_cache_headers(response)
        return response
    return render(request, "compensation/payrun_job.html", context)


def _run_context(request: HttpRequest, run, **forms) -> dict:
    user = request.user
    people = Person.objects.filter(pk__in=run.lines.values("person_id")).order_by("name", "id")
    busy_job = (
        selectors.payrun_job_list(user=user, period_start=run.period_start)
        .filter(status__in=BUSY)
        .first()
    )
    people_totals = selectors.payrun_person_total_list(user=user, run=run)
    negatives = [row for row in people_totals if row.total < 0]
    return {
        "run": run,
        "people": people_totals,
        # Whose total is below zero: warned about at the top; approving needs a tick.
        "negatives": negatives,
        "teams": selectors.payrun_team_total_list(user=user, run=run),
        "busy_job": busy_job,
        "adjustments": run.adjustments.select_related("person").order_by("id"),
        # Corrections of this run already paid by a later one; those still to be paid are
        # among the pending adjustments.
        "corrections": run.corrections.filter(applied_run__isnull=False)
        .select_related("person", "applied_run")
        .order_by("id"),
        "pending": selectors.payadjustment_pending_list(user=user),
        "approve_form": forms.get("approve_form") or PayRunApproveForm(negatives=len(negatives)),
        "cancel_form": forms.get("cancel_form") or AdjustmentCancelForm(),
        "cancel_failed": forms.get("cancel_failed"),
        "adjust_form": forms.get("adjust_form") or AdjustmentForm(people=people),
        "can_approve": run.status == PayRunStatus.OPEN and run.run_count > 0 and busy_job is None,
        # Why it cannot be approved yet (its period is under way, or it was computed then).
        "too_early": payrun.payrun_too_early(run) if run.status == PayRunStatus.OPEN else "",
        "stale_ruleset": _stale_ruleset(run),
    }


def _stale_ruleset(run) -> str:
    """What to say when an open run was computed under a rule set other than the one now in
    force for its period (QA, session 20: a version approved after the compute left the run
    showing the old one, and HR would have approved stale figures)."""
    if run.status != PayRunStatus.OPEN or not run.run_count:
        return ""
    try:
        ruleset, _book, _period = payrun.payrun_period(period_start=run.period_start)
    except errors.DomainError:
        return ""
    if (ruleset.pk, ruleset.version) == (run.ruleset_id, run.ruleset_version):
        return ""
    return _(
        "Computed under rule set v%(old)s; v%(new)s now applies to %(p)s. Compute it again "
        "before approving."
    ) % {"old": run.ruleset_version, "new": ruleset.version, "p": run.label}


@login_required
def payrun_detail_view(request: HttpRequest, run_id: int) -> HttpResponse:
    require(permissions.can_run_pay(request.user))
    run = get_or_404(selectors.payrun_get, user=request.user, pk=run_id)
    return render(request, "compensation/payrun_detail.html", _run_context(request, run))


@login_required
@require_POST
def payrun_approve_view(request: HttpRequest, run_id: int) -> HttpResponse:
    require(permissions.can_run_pay(request.user))
    run = get_or_404(selectors.payrun_get, user=request.user, pk=run_id)
    negatives = len(payrun.payrun_negative_totals(run))
    form = PayRunApproveForm(request.POST, negatives=negatives)
    status = 422
    if form.is_valid():
        try:
            job = payrun_approve_start(
                run=run,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                negatives_acknowledged=bool(form.cleaned_data.get("acknowledge_negative")),
            )
        except errors.DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            return redirect("compensation:payrun_job", job.pk)
    run.refresh_from_db()
    context = _run_context(request, run, approve_form=form)
    return render(request, "compensation/payrun_detail.html", context, status=status)


@login_required
@require_POST
def payrun_adjust_view(request: HttpRequest, run_id: int) -> HttpResponse:
    """Record an adjustment to a person of this run: it corrects this run when it is approved,
    and is paid by the next run computed."""
    require(permissions.can_run_pay(request.user))
    run = get_or_404(selectors.payrun_get, user=request.user, pk=run_id)
    people = Person.objects.filter(pk__in=run.lines.values("person_id")).order_by("name", "id")
    form = AdjustmentForm(request.POST, people=people)
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            payrun.payadjustment_create(
                person=data["person"],
                amount=data["amount"],
                reason=data["reason"],
                actor=request.user,
                corrects_run=run if run.status == PayRunStatus.APPROVED else None,
                confirmed=bool(data.get("confirm")),
            )
        except errors.DomainError as exc:
            if isinstance(exc, errors.ValidationFailed) and "confirm" in (exc.fields or {}):
                form.offer_confirm()  # the reason is on the amount; the box confirms it
                exc = errors.ValidationFailed(exc.message, fields={"amount": exc.fields["amount"]})
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            messages.success(
                request, _("The adjustment is recorded; the next pay run computed pays it.")
            )
            return redirect("compensation:payrun_detail", run.pk)
    context = _run_context(request, run, adjust_form=form)
    return render(request, "compensation/payrun_detail.html", context, status=status)


@login_required
@require_POST
def adjustment_cancel_view(request: HttpRequest, run_id: int, adjustment_id: int) -> HttpResponse:
    """Cancel an adjustment no approved run has paid (from the run's page), with a reason."""
    require(permissions.can_run_pay(request.user))
    run = get_or_404(selectors.payrun_get, user=request.user, pk=run_id)
    adjustment = get_or_404(selectors.payadjustment_get, user=request.user, pk=adjustment_id)
    form = AdjustmentCancelForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            payrun.payadjustment_cancel(
                adjustment=adjustment, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except errors.DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            if adjustment.applied_run_id is not None:
                text = _(
                    "Adjustment #%(n)d is cancelled. The pay run %(p)s included it: compute it "
                    "again before approving it."
                ) % {"n": adjustment.pk, "p": adjustment.applied_run.label}
            else:
                text = _("Adjustment #%(n)d is cancelled; no run will pay it.") % {
                    "n": adjustment.pk
                }
            messages.success(request, text)
            return redirect("compensation:payrun_detail", run.pk)
    context = _run_context(request, run, cancel_form=form, cancel_failed=adjustment.pk)
    return render(request, "compensation/payrun_detail.html", context, status=status)


@login_required
def payrun_export_view(request: HttpRequest, run_id: int) -> HttpResponse:
    require(permissions.can_run_pay(request.user))
    run = get_or_404(selectors.payrun_get, user=request.user, pk=run_id)
    try:
        export = exporting.payrun_export_xlsx(run=run, actor=request.user)
    except errors.PermissionDenied as exc:
        raise PermissionDenied from exc
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = attachment_disposition(
        export.filename, fallback=exporting.export_fallback_filename(run)
    )
    add_never_cache_headers(response)
    return response


# --- Payslips -------------------------------------------------------------------------------
def _payslip_response(request: HttpRequest, run, person, *, mine: bool) -> HttpResponse:
    try:
        slip = selectors.payslip_get(user=request.user, run=run, person=person)
    except errors.PermissionDenied as exc:
        raise PermissionDenied from exc
    context = {"slip": slip, "mine": mine, "can_run_pay": permissions.can_run_pay(request.user)}
    if mine:
        context["runs"] = selectors.payrun_list(user=request.user).filter(
            status=PayRunStatus.APPROVED
        )
    response = render(request, "compensation/payslip_detail.html", context)
    add_never_cache_headers(response)
    return response


@login_required
def payslip_detail_view(request: HttpRequest, run_id: int, person_id: int) -> HttpResponse:
    """Any person's payslip in a run: HR and the manager (a person reads their own)."""
    run = get_or_404(selectors.payrun_get, user=request.user, pk=run_id)
    person = Person.objects.filter(pk=person_id).first()
    if person is None:
        raise Http404(_("No such person"))
    return _payslip_response(request, run, person, mine=False)


@login_required
def payslip_mine_view(request: HttpRequest) -> HttpResponse:
    """The signed-in person's own payslip of an approved run (the latest, or ``?run=``)."""
    person = person_for_user(request.user)
    runs = selectors.payrun_list(user=request.user).filter(status=PayRunStatus.APPROVED)
    asked = request.GET.get("run", "")
    run_id = _int(asked)
    run = runs.filter(pk=run_id).first() if run_id else None
    if run is None:
        run = runs.first()
        if asked and run is not None and person is not None:
            # An open run, or one that does not exist (or a mistyped id): its payslip is not
            # shown before approval; the latest approved one is.
            messages.warning(
                request,
                _(
                    "That pay run is not approved (or does not exist); showing the latest "
                    "approved one."
                ),
            )
    if person is None or run is None:
        context = {"person": person, "runs": runs}
        return render(request, "compensation/payslip_empty.html", context)
    return _payslip_response(request, run, person, mine=True)


@login_required
def policy_pay_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    """What each approved run paid, withheld, released and took back for one policy: HR and
    the manager, and the agent who sold it."""
    try:
        history = selectors.policy_pay_history(user=request.user, policy_id=policy_id)
    except errors.NotFound as exc:
        raise Http404(exc.message) from exc
    except errors.PermissionDenied as exc:
        raise PermissionDenied from exc
    response = render(request, "compensation/policy_pay.html", {"history": history})
    add_never_cache_headers(response)
    return response


# --- Team lead --------------------------------------------------------------------------------
@login_required
def payrun_team_view(request: HttpRequest) -> HttpResponse:
    """The totals of the teams the user leads, per approved run (no lines)."""
    user = request.user
    teams = list(selectors.payrun_teams_led(user=user))
    require(bool(teams) or permissions.can_read_all_payslips(user))
    if not teams:
        teams = list(Team.objects.select_related("leader").order_by("name"))
    runs = selectors.payrun_list(user=user).filter(status=PayRunStatus.APPROVED)
    run_id = _int(request.GET.get("run", ""))
    run = runs.filter(pk=run_id).first() if run_id else None
    if run is None:
        run = runs.first()
        if run_id and run is not None:
            # An open run, or one that does not exist: its totals are not shown before approval.
            messages.warning(
                request,
                _(
                    "That pay run is not approved (or does not exist); showing the latest "
                    "approved one."
                ),
            )
    totals = []
    if run is not None:
        for team in teams:
            try:
                team_totals = selectors.payrun_team_totals(user=user, run=run, team=team)
            except errors.PermissionDenied:
                continue
            if team_totals.people:  # a team nobody of which is paid in the run: no empty card
                totals.append(team_totals)
    context = {"runs": runs, "run": run, "totals": totals}
    return render(request, "compensation/payrun_team.html", context)
