"""Attendance pages (HR admin and the center manager): the sheet of one pay period — everyone
its pay run pays, the days required (the period's weekdays suggested) and attended, who is
missing — saved all at once; the import of a CSV or XLSX file, previewed row by row before it
is applied; the template file. The services check and write (``attendance.py``): a bad row
comes back in place with its problem and nothing is saved."""

from __future__ import annotations

import base64
import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from telesales.compensation import attendance, permissions
from telesales.compensation.attendance import (
    AttendanceEntry,
    AttendancePeriod,
    AttendanceRowsInvalid,
)
from telesales.compensation.choices import PayRunStatus
from telesales.compensation.forms_attendance import AttendanceFileForm, AttendancePeriodForm
from telesales.core import errors
from telesales.core.downloads import attachment_disposition
from telesales.core.form_errors import page_status
from telesales.core.pages import require

#: The signed preview carries the file to its "apply" form for this long.
PREVIEW_MAX_AGE = 60 * 60
_SIGNING_SALT = "compensation.attendance_import"


def _month(request: HttpRequest) -> tuple[AttendancePeriodForm, dt.date | None]:
    """The period asked for (``?period=YYYY-MM``, its label; the current one when none) and
    the team."""
    data = request.GET.copy()
    if not data.get("period"):
        data["period"] = attendance.attendance_month_current().strftime("%Y-%m")
    form = AttendancePeriodForm(data)
    if not form.is_valid():
        return form, None
    return form, form.cleaned_data["period"]


def _period(form: AttendancePeriodForm, month: dt.date | None) -> AttendancePeriod | None:
    """The pay period of ``month`` — or, given as a full date (``2026-02-26``, as a pay-run
    job names its period), the period starting that day."""
    if month is None:
        return None
    try:
        if len(str(form.data.get("period", "")).strip()) > len("YYYY-MM"):
            period = attendance.attendance_period_starting(start=month)
        else:
            period = attendance.attendance_period_get(month=month)
    except errors.ValidationFailed as exc:
        form.add_error("period", exc.message)
        for problem in exc.fields.get("period", []):
            form.add_error("period", problem)
        return None
    form.data["period"] = period.label  # the month input shows the label
    return period


def _page_url(period_label: str, team=None) -> str:
    query = {"period": period_label}
    if team is not None:
        query["team"] = team.pk
    return reverse("compensation:attendance_edit") + "?" + urlencode(query)


def _too_many(rows) -> bool:
    """Whether the sheet would post more fields than Django takes in one request
    (``DATA_UPLOAD_MAX_NUMBER_FIELDS``: two per person, and a few more); the page then asks
    for one team at a time or a file instead of offering a save that would be refused."""
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    return limit is not None and 2 * len(rows) + 10 > limit


def _context(request, form, month, period, rows, *, file_form=None, problem="") -> dict:
    recorded = sum(1 for r in rows if not r.missing)
    context = {
        "too_many": _too_many(rows),
        "form": form,
        "period": period,
        "rows": rows,
        "people": len(rows),
        "recorded": recorded,
        "missing": len(rows) - recorded,
        "no_level": sum(1 for r in rows if not r.person.level_id),
        "file_form": file_form or AttendanceFileForm(),
        "problem": problem,
        "team": form.cleaned_data.get("team") if form.is_valid() else None,
    }
    if period is not None:
        month = dt.date(int(period.label[:4]), int(period.label[5:7]), 1)
    if month is not None:
        context["previous"] = attendance.month_shift(month, -1).strftime("%Y-%m")
        context["next"] = attendance.month_shift(month, 1).strftime("%Y-%m")
    return context


@login_required
@require_http_methods(["GET", "POST"])
def attendance_edit_view(request: HttpRequest) -> HttpResponse:
    """The period's sheet (GET) and its "save all" (POST: every row or none)."""
    require(permissions.can_run_pay(request.user))
    form, month = _month(request)
    period = _period(form, month)
    if period is None:
        status = 422 if request.method == "POST" or request.GET.get("period") else 200
        return render(
            request,
            "compensation/attendance_edit.html",
            _context(request, form, month, None, []),
            status=status,
        )
    team = form.cleaned_data.get("team")
    rows = attendance.attendance_sheet(user=request.user, period=period)
    if team is not None:
        rows = [r for r in rows if r.person.team_id == team.pk]
    if request.method == "GET":
        response = render(
            request,
            "compensation/attendance_edit.html",
            _context(request, form, month, period, rows),
        )
        add_never_cache_headers(response)
        return response
    for row in rows:
        row.days_required = request.POST.get(f"required-{row.person.pk}", "").strip()
        row.days_attended = request.POST.get(f"attended-{row.person.pk}", "").strip()
    entries = [
        AttendanceEntry(
            person_id=row.person.pk,
            days_required=row.days_required,
            days_attended=row.days_attended,
        )
        for row in rows
    ]
    try:
        saved = attendance.attendance_bulk_record(
            period_start=period.start, entries=entries, actor=request.user, blank_skips=True
        )
    except AttendanceRowsInvalid as exc:
        problems = attendance.attendance_row_errors(exc)
        for row in rows:
            row.errors = problems.get(row.person.pk, {})
        context = _context(request, form, month, period, rows, problem=exc.message)
        return render(request, "compensation/attendance_edit.html", context, status=422)
    except errors.DomainError as exc:
        context = _context(request, form, month, period, rows, problem=exc.message)
        return render(
            request, "compensation/attendance_edit.html", context, status=page_status(exc)
        )
    changed = saved.created + saved.updated
    messages.success(
        request,
        ngettext(
            "Attendance saved: %(n)d person's days changed.",
            "Attendance saved: %(n)d people's days changed.",
            changed,
        )
        % {"n": changed},
    )
    _tell_to_recompute(request, period, changed)
    return redirect(_page_url(period.label, team))


def _tell_to_recompute(request: HttpRequest, period: AttendancePeriod, changed: int) -> None:
    run = period.run
    if changed and run is not None and run.status == PayRunStatus.OPEN and run.run_count:
        messages.info(
            request,
            _("The pay run for %(p)s was computed before this change: compute it again to use it.")
            % {"p": period.label},
        )


# --- Import -----------------------------------------------------------------------------------
def _sign(period: AttendancePeriod, filename: str, content: bytes) -> str:
    return signing.dumps(
        {
            "p": period.start.isoformat(),
            "n": filename,
            "c": base64.b64encode(content).decode("ascii"),
        },
        salt=_SIGNING_SALT,
        compress=True,
    )


def _unsign(token: str) -> tuple[dt.date, str, bytes]:
    data = signing.loads(token, salt=_SIGNING_SALT, max_age=PREVIEW_MAX_AGE)
    return dt.date.fromisoformat(data["p"]), str(data["n"]), base64.b64decode(data["c"])


def _render_preview(request, form, period, result, *, file_form=None, problem="", status=200):
    context = {
        "form": form,
        "period": period,
        "result": result,
        "file_form": file_form or AttendanceFileForm(),
        "problem": problem,
        "token": _sign(period, result.filename, result.content)
        if result is not None and not result.bad
        else "",
        "back": _page_url(period.label) if period is not None else "",
    }
    response = render(request, "compensation/attendance_import.html", context, status=status)
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def attendance_import_view(request: HttpRequest) -> HttpResponse:
    """POST a file: its preview (each row with what it would do and its problems). POST the
    preview's ``token`` with ``apply``: the import, every row or none."""
    require(permissions.can_run_pay(request.user))
    form, month = _month(request)
    period = _period(form, month)
    if period is None:
        return _render_preview(request, form, None, None, status=422)
    if request.POST.get("token"):
        return _apply(request, form, period)
    file_form = AttendanceFileForm(request.POST, request.FILES)
    if not file_form.is_valid():
        return _render_preview(request, form, period, None, file_form=file_form, status=422)
    upload = file_form.cleaned_data["file"]
    content = upload.read()
    try:
        result = attendance.attendance_import_preview(
            period_start=period.start, content=content, filename=upload.name, actor=request.user
        )
    except errors.ValidationFailed as exc:
        for problem in exc.fields.get("file", []) or [exc.message]:
            file_form.add_error("file", problem)
        return _render_preview(request, form, period, None, file_form=file_form, status=422)
    except errors.DomainError as exc:
        return _render_preview(
            request, form, period, None, problem=exc.message, status=page_status(exc)
        )
    return _render_preview(request, form, period, result, status=422 if result.bad else 200)


def _apply(request: HttpRequest, form, period: AttendancePeriod) -> HttpResponse:
    try:
        period_start, filename, content = _unsign(request.POST["token"])
    except (signing.BadSignature, KeyError, ValueError):
        file_form = AttendanceFileForm()
        message = _("The preview has expired or is damaged: upload the file again.")
        return _render_preview(
            request, form, period, None, file_form=file_form, problem=message, status=400
        )
    if period_start != period.start:
        return _render_preview(
            request,
            form,
            period,
            None,
            problem=_("The preview is of another period: upload the file again."),
            status=400,
        )
    try:
        result = attendance.attendance_import_apply(
            period_start=period.start, content=content, filename=filename, actor=request.user
        )
    except AttendanceRowsInvalid as exc:
        # The records changed since the preview: show it again with today's problems.
        result = attendance.AttendanceImport(
            period=period, rows=exc.rows, filename=filename, content=content
        )
        return _render_preview(request, form, period, result, problem=exc.message, status=422)
    except errors.DomainError as exc:
        return _render_preview(
            request, form, period, None, problem=exc.message, status=page_status(exc)
        )
    changed = result.created + result.updated
    messages.success(
        request,
        _(
            "%(file)s imported: %(created)d recorded, %(updated)d changed, %(same)d unchanged, "
            "%(skipped)d left blank."
        )
        % {
            "file": filename,
            "created": result.created,
            "updated": result.updated,
            "same": result.unchanged,
            "skipped": result.skipped,
        },
    )
    _tell_to_recompute(request, period, changed)
    return redirect(_page_url(period.label))


@login_required
@require_GET
def attendance_template_view(request: HttpRequest) -> HttpResponse:
    """The xlsx to fill in: the period's people with their days (audited)."""
    require(permissions.can_run_pay(request.user))
    form, month = _month(request)
    period = _period(form, month)
    if period is None:
        context = _context(request, form, month, None, [])
        return render(request, "compensation/attendance_edit.html", context, status=422)
    export = attendance.attendance_template_xlsx(period=period, actor=request.user)
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = attachment_disposition(
        export.filename, fallback=attendance.attendance_template_fallback(period)
    )
    add_never_cache_headers(response)
    return response
