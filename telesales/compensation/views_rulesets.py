"""Pages of the basic-law rule sets (HR admin and the center manager): every version with the
one in force today, a new draft from a YAML or JSON file or from text (an earlier version's
text to edit: "new version from this one"), a version's page with its text, its download,
its approval or discarding (a draft) and a what-if link. The services check and write
(``rulesets.py``); a file that breaks the format comes back with every problem listed (path,
line, reason) and its text in the editor, so nothing typed or uploaded is lost."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from telesales.compensation import permissions, selectors
from telesales.compensation.choices import RuleSetFormat, RuleSetStatus
from telesales.compensation.forms import (
    RuleSetApproveForm,
    RuleSetDiscardForm,
    RuleSetImportForm,
)
from telesales.compensation.models import RuleSet
from telesales.compensation.rules_format import RuleSetInvalid, document_changes
from telesales.compensation.rulesets import (
    MAX_FILE_BYTES,
    decode_rule_file,
    ruleset_approve,
    ruleset_discard,
    ruleset_import,
    ruleset_locked_periods,
    ruleset_overtaken,
)
from telesales.core import errors
from telesales.core.form_errors import add_domain_error, page_status

#: The changes a version's page lists (the rest are counted).
CHANGES_SHOWN = 200


def _require(user) -> None:
    if not permissions.can_manage_rulesets(user):
        raise PermissionDenied


def _require_reader(user) -> None:
    if not permissions.can_read_rulesets(user):
        raise PermissionDenied


def _get(user, ruleset_id: int) -> RuleSet:
    ruleset = selectors.ruleset_list(user=user).filter(pk=ruleset_id).first()
    if ruleset is None:
        raise Http404
    return ruleset


def _uploaded_text(upload) -> str | None:
    """The text of an uploaded rule file, to put back in the editor when it fails the checks;
    None when it is unreadable or too large (the service says why)."""
    if upload is None or upload.size > MAX_FILE_BYTES:
        return None
    upload.seek(0)
    try:
        return decode_rule_file(upload.read())
    finally:
        upload.seek(0)


def _list_context(user, form: RuleSetImportForm, problems=None) -> dict:
    today = timezone.localdate()
    in_force = selectors.ruleset_in_force(on=today)
    return {
        "rulesets": selectors.ruleset_list(user=user).select_related(
            "created_by__person", "approved_by__person"
        ),
        "in_force": in_force,
        "form": form,
        "problems": problems or [],
        "can_approve": permissions.can_manage_rulesets(user),
    }


@login_required
@require_http_methods(["GET", "POST"])
def ruleset_list_view(request: HttpRequest) -> HttpResponse:
    _require_reader(request.user)
    if request.method == "GET":
        initial: dict = {}
        source = request.GET.get("from", "")
        if source.isascii() and source.isdigit() and len(source) < 12:
            base = selectors.ruleset_list(user=request.user).filter(pk=int(source)).first()
            if base is not None:
                initial["text"] = base.source_text
                initial["reason"] = _("From version %(v)d") % {"v": base.version}
        form = RuleSetImportForm(initial=initial)
        return render(request, "compensation/ruleset_list.html", _list_context(request.user, form))
    _require(request.user)
    form = RuleSetImportForm(request.POST, request.FILES)
    problems: list = []
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        upload = data.get("file")
        try:
            ruleset = ruleset_import(
                actor=request.user,
                effective_from=data["effective_from"],
                file=upload if upload else None,
                text=None if upload else data["text"],
                filename=upload.name if upload else "",
                reason=data.get("reason") or "",
            )
        except RuleSetInvalid as exc:
            problems = exc.errors
            form.add_error(None, exc.message)
            text = _uploaded_text(upload) if upload else None
            if text is not None:  # the file's text goes to the editor: fix it there
                form.data = form.data.copy()
                form.data["text"] = text
        except errors.DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            messages.success(
                request,
                _("Version %(v)d saved as a draft. Check it with a what-if, then approve it.")
                % {"v": ruleset.version},
            )
            return redirect("compensation:ruleset_detail", ruleset.pk)
    context = _list_context(request.user, form, problems)
    return render(request, "compensation/ruleset_list.html", context, status=status)


def _detail_context(
    ruleset: RuleSet,
    approve_form: RuleSetApproveForm | None = None,
    *,
    user=None,
    discard_form: RuleSetDiscardForm | None = None,
) -> dict:
    today = timezone.localdate()
    is_draft = ruleset.status == RuleSetStatus.DRAFT
    before = selectors.ruleset_predecessor(ruleset)
    changes = document_changes(before.document, ruleset.document) if before else []
    return {
        # What the version changes from the one it takes over from, rule by rule.
        "compared_with": before,
        "changes": changes[:CHANGES_SHOWN],
        "changes_count": len(changes),
        "can_manage": user is not None and permissions.can_manage_rulesets(user),
        # A version approved from this draft's day or later: it cannot be approved any more.
        "overtaken": ruleset_overtaken(ruleset.effective_from) if is_draft else "",
        "ruleset": ruleset,
        "in_force_today": ruleset.in_force_on(today),
        "approve_form": approve_form or RuleSetApproveForm(),
        "discard_form": discard_form or RuleSetDiscardForm(prefix="discard"),
        "is_draft": is_draft,
        "starts_in_past": ruleset.effective_from < today,
        # Approved pay or assessment runs it would start over: it cannot be approved.
        "locked_periods": ruleset_locked_periods(ruleset.effective_from) if is_draft else "",
    }


@login_required
@require_GET
def ruleset_detail_view(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    _require_reader(request.user)
    ruleset = _get(request.user, ruleset_id)
    context = _detail_context(ruleset, user=request.user)
    return render(request, "compensation/ruleset_detail.html", context)


def _version_action(request: HttpRequest, ruleset_id: int, form, form_key: str, act):
    """A POST on a version's page: the form checked, then ``act(ruleset, reason)`` (the
    service, its message and the redirect), or the page again with the form's errors."""
    _require(request.user)
    ruleset = _get(request.user, ruleset_id)
    status = 422
    if form.is_valid():
        try:
            return act(ruleset, form.cleaned_data["reason"])
        except errors.DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
    ruleset = _get(request.user, ruleset_id)
    context = _detail_context(ruleset, user=request.user, **{form_key: form})
    return render(request, "compensation/ruleset_detail.html", context, status=status)


@login_required
@require_POST
def ruleset_approve_view(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    def approve(ruleset: RuleSet, reason: str) -> HttpResponse:
        ruleset_approve(ruleset=ruleset, actor=request.user, reason=reason)
        messages.success(
            request,
            _("Version %(v)d is approved and applies from %(day)s.")
            % {"v": ruleset.version, "day": ruleset.effective_from.isoformat()},
        )
        return redirect("compensation:ruleset_detail", ruleset.pk)

    form = RuleSetApproveForm(request.POST)
    return _version_action(request, ruleset_id, form, "approve_form", approve)


@login_required
@require_POST
def ruleset_discard_view(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    def discard(ruleset: RuleSet, reason: str) -> HttpResponse:
        version = ruleset_discard(ruleset=ruleset, actor=request.user, reason=reason)
        messages.success(
            request,
            _("Draft version %(v)d is discarded; its text stays in the audit log.")
            % {"v": version},
        )
        return redirect("compensation:ruleset_list")

    form = RuleSetDiscardForm(request.POST, prefix="discard")
    return _version_action(request, ruleset_id, form, "discard_form", discard)


@login_required
@require_GET
def ruleset_download_view(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    """The version's file as it was imported (to edit and import as a new version)."""
    _require_reader(request.user)
    ruleset = _get(request.user, ruleset_id)
    extension = "json" if ruleset.source_format == RuleSetFormat.JSON else "yaml"
    stamp = dt.date.isoformat(ruleset.effective_from)
    name = f"basic-law-v{ruleset.version}-{stamp}.{extension}"
    response = HttpResponse(ruleset.source_text, content_type=f"text/{extension}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
