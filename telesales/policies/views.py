"""HTML pages of the policies app: the catalogue, policies and their actions, the agent's
service tasks, the stabilisation report and the post-sale rules.

Customers are shown by name and masked number only; free text goes through ``mask_numbers``.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telesales.core.errors import DomainError, ValidationFailed
from telesales.core.form_errors import add_domain_error, page_status
from telesales.core.pages import get_or_404, page_of, require
from telesales.core.roles import Role, has_role
from telesales.leads.masking import mask_numbers_in
from telesales.policies import permissions, selectors, services
from telesales.policies.choices import (
    CANCELLABLE_STATUSES,
    NOT_SOLD_STATUSES,
    CancelReason,
    PolicyStatus,
    ProductCategory,
    TaskStatus,
)
from telesales.policies.forms import (
    CancelForm,
    DeclineForm,
    IssueForm,
    PolicyFilterForm,
    ProductForm,
    ReceiptForm,
    ReportForm,
    RuleSetForm,
    TaskCompleteForm,
    TaskRescheduleForm,
    task_auto_id,
)
from telesales.policies.hooks import policy_links, policy_states
from telesales.policies.rules import ruleset_in_force

#: The task list shows the stabilisation calls missed in these last days.
MISSED_DAYS = 30


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


# --- Policies ----------------------------------------------------------------------------
@login_required
def policy_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_policies(user))
    form = PolicyFilterForm(request.GET or None)
    policies = selectors.policy_list(user=user, **form.selector_filters())
    # The sales figure of the cards and the sales panel: the policies listed less those
    # cancelled in free look or declined (QA: the card said 200 policies and ¥719,970, the
    # list it opens said 207 and no premium).
    sold = (
        policies.exclude(status__in=NOT_SOLD_STATUSES)
        .order_by()
        .aggregate(n=Count("id"), premium=Sum("annualised_premium"))
    )
    page = page_of(request, policies)
    page.object_list = list(page.object_list)
    states = policy_states(p.pk for p in page.object_list)
    for policy in page.object_list:  # what other apps offer on each row (hooks.policy_links)
        policy.page_links = policy_links(user=user, policy=policy)
        policy.state_words = states.get(policy.pk, "")
    template = "policies/policy_list.html#table" if request.htmx else "policies/policy_list.html"
    return render(
        request,
        template,
        {
            "page": page,
            "form": form,
            "sees_all": permissions.sees_all_policies(user),
            "sold": sold,
        },
    )


def _policy_context(request: HttpRequest, policy, **forms) -> dict:
    user = request.user
    can_operate = permissions.can_operate_policies(user)
    window_open = policy.status in CANCELLABLE_STATUSES and not (
        policy.free_look_end and timezone.localdate() > policy.free_look_end
    )
    return {
        "policy": policy,
        "links": policy_links(user=user, policy=policy),
        "state_words": policy_states([policy.pk]).get(policy.pk, ""),
        "insured": list(policy.insured.all()),
        "events": selectors.policy_history(policy=policy),
        "tasks": selectors.policy_tasks(policy=policy),
        "can_operate": can_operate,
        "can_issue": can_operate and policy.status == PolicyStatus.APPLIED,
        "can_receipt": can_operate and policy.status == PolicyStatus.ISSUED,
        "can_cancel": can_operate and window_open,
        "issue_form": forms.get("issue_form") or IssueForm(),
        "receipt_form": forms.get("receipt_form")
        or ReceiptForm(initial={"receipt_date": timezone.localdate()}),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "decline_form": forms.get("decline_form") or DeclineForm(),
        "cancel_reason_label": dict(CancelReason.choices).get(policy.cancel_reason, ""),
    }


@login_required
def policy_detail_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    require(permissions.can_view_policies(request.user))
    policy = get_or_404(selectors.policy_get, user=request.user, policy_id=policy_id)
    return render(request, "policies/policy_detail.html", _policy_context(request, policy))


def _policy_action(request, policy_id: int, form_class, form_key: str, run, done_message):
    user = request.user
    require(permissions.can_operate_policies(user))
    policy = get_or_404(selectors.policy_get, user=user, policy_id=policy_id)
    form = form_class(request.POST)
    status = 422
    refusal = ""
    if form.is_valid():
        try:
            run(policy, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
            refusal = "" if isinstance(exc, ValidationFailed) else exc.message
        else:
            messages.success(request, done_message)
            return redirect("policies:policy_detail", policy_id=policy.pk)
    if "note" in form.data:  # shown again: a number typed into the note leaves masked
        form.data = form.data.copy()
        form.data["note"] = mask_numbers_in(form.data["note"])
    policy = selectors.policy_get(user=user, policy_id=policy_id)
    context = _policy_context(request, policy, **{form_key: form})
    context["refusal"] = refusal
    return render(request, "policies/policy_detail.html", context, status=status)


@login_required
@require_POST
def policy_issue_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    return _policy_action(
        request,
        policy_id,
        IssueForm,
        "issue_form",
        lambda policy, data: services.policy_issue(
            policy=policy,
            number=data.get("number") or None,
            issued_at=data.get("issued_at"),
            actor=request.user,
        ),
        _("The policy is issued; the agent's stabilisation tasks are scheduled."),
    )


@login_required
@require_POST
def policy_receipt_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    return _policy_action(
        request,
        policy_id,
        ReceiptForm,
        "receipt_form",
        lambda policy, data: services.policy_receipt_confirm(
            policy=policy, receipt_date=data["receipt_date"], actor=request.user
        ),
        _("Receipt confirmed; the free-look window runs from that day."),
    )


@login_required
@require_POST
def policy_cancel_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    return _policy_action(
        request,
        policy_id,
        CancelForm,
        "cancel_form",
        lambda policy, data: services.policy_free_look_cancel(
            policy=policy, reason=data["reason"], note=data.get("note") or "", actor=request.user
        ),
        _("The free-look cancellation is recorded."),
    )


@login_required
@require_POST
def policy_decline_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    return _policy_action(
        request,
        policy_id,
        DeclineForm,
        "decline_form",
        lambda policy, data: services.policy_decline(
            policy=policy, note=data["note"], actor=request.user
        ),
        _("The decline is recorded; the lead is back with the agent unless it was won otherwise."),
    )


# --- Products ----------------------------------------------------------------------------
@login_required
def product_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_products(user))
    products = list(selectors.product_list(user=user))
    labels = dict(ProductCategory.choices)
    return render(
        request,
        "policies/product_list.html",
        {
            "products": products,
            "category_labels": labels,
            "can_manage": permissions.can_manage_products(user),
        },
    )


@login_required
def product_create_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_products(user))
    status = 200
    if request.method == "POST":
        form = ProductForm(request.POST)
        status = 422
        if form.is_valid():
            try:
                product = services.product_create(actor=user, **form.changes())
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(
                    request, _("%(name)s is in the catalogue.") % {"name": product.name}
                )
                return redirect("policies:product_list")
    else:
        form = ProductForm(initial={"allowed_modes": ["annual"], "allowed_terms": "1"})
    return render(
        request, "policies/product_form.html", {"form": form, "product": None}, status=status
    )


@login_required
def product_edit_view(request: HttpRequest, product_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_products(user))
    product = get_or_404(selectors.product_get, user=user, product_id=product_id)
    status = 200
    initial = ProductForm.initial_for(product)
    if request.method == "POST":
        form = ProductForm(request.POST, initial=initial, editing=True)
        status = 422
        if form.is_valid():
            try:
                product = services.product_update(product=product, actor=user, **form.changes())
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(request, _("%(name)s is saved.") % {"name": product.name})
                return redirect("policies:product_list")
    else:
        form = ProductForm(initial=initial, editing=True)
    return render(
        request, "policies/product_form.html", {"form": form, "product": product}, status=status
    )


# --- Service tasks -----------------------------------------------------------------------
def _task_row(request, task, **extra) -> dict:
    return {
        "task": task,
        "complete_form": extra.get("complete_form")
        or TaskCompleteForm(kind=task.kind, auto_id=task_auto_id(task.pk)),
        "reschedule_form": extra.get("reschedule_form")
        or TaskRescheduleForm(auto_id=task_auto_id(task.pk)),
        "show_agent": extra.get("show_agent", False),
        "now": timezone.now(),
        # Done just now with the customer interested: when the next service call falls.
        "service_call_due_at": extra.get("service_call_due_at"),
    }


@login_required
def task_list_view(request: HttpRequest) -> HttpResponse:
    """The agent's post-sale calls: due now, coming up, missed (stabilisation calls not made
    before the window ended, last ``MISSED_DAYS`` days), recently done (a team lead: the
    team's)."""
    user = request.user
    require(permissions.can_view_tasks(user))
    now = timezone.now()
    qs = selectors.service_task_list(user=user)
    show_agent = has_role(user, Role.TEAM_LEAD, Role.MANAGER)
    due = list(qs.filter(status=TaskStatus.OPEN, due_at__lte=now)[:200])
    upcoming = list(qs.filter(status=TaskStatus.OPEN, due_at__gt=now)[:100])
    # Stabilisation calls not made in time: shown apart, in red, to the agent and their lead.
    missed = list(
        qs.filter(
            status=TaskStatus.MISSED, done_at__gte=now - dt.timedelta(days=MISSED_DAYS)
        ).order_by("-done_at", "-id")[:100]
    )
    done = list(
        qs.exclude(status__in=(TaskStatus.OPEN, TaskStatus.MISSED)).order_by("-done_at", "-id")[:20]
    )
    return render(
        request,
        "policies/task_list.html",
        {
            "due": [_task_row(request, t, show_agent=show_agent) for t in due],
            "upcoming": [_task_row(request, t, show_agent=show_agent) for t in upcoming],
            "done": done,
            "missed": missed,
            "show_agent": show_agent,
        },
    )


def _task_answer(request, task, *, status: int = 200, **forms) -> HttpResponse:
    if request.htmx:
        return render(
            request,
            "policies/task_list.html#task_row",
            {"row": _task_row(request, task, show_agent=False, **forms)},
            status=status,
        )
    if status == 200:
        return redirect(_back(request, reverse("policies:task_list")))
    problems = [str(e) for f in forms.values() for errors in f.errors.values() for e in errors]
    messages.error(request, "; ".join(problems) or _("The task could not be changed."))
    return redirect(_back(request, reverse("policies:task_list")))


@login_required
@require_POST
def task_complete_view(request: HttpRequest, task_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_view_tasks(user))
    task = get_or_404(selectors.service_task_get, user=user, task_id=task_id)
    form = TaskCompleteForm(request.POST, kind=task.kind, auto_id=task_auto_id(task.pk))
    status = 422
    if form.is_valid():
        try:
            done = services.service_task_complete(
                task=task,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data.get("note") or "",
                actor=user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            booked = done.service_call_due_at
            if not request.htmx:
                if booked is None:
                    messages.success(request, _("Task done."))
                else:
                    messages.success(
                        request,
                        _("Task done. The next service call is booked for %(when)s.")
                        % {"when": timezone.localtime(booked).strftime("%Y-%m-%d %H:%M")},
                    )
            task = selectors.service_task_get(user=user, task_id=task_id)
            return _task_answer(request, task, service_call_due_at=booked)
    return _task_answer(request, task, status=status, complete_form=form)


@login_required
@require_POST
def task_reschedule_view(request: HttpRequest, task_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_view_tasks(user))
    task = get_or_404(selectors.service_task_get, user=user, task_id=task_id)
    form = TaskRescheduleForm(request.POST, auto_id=task_auto_id(task.pk))
    status = 422
    if form.is_valid():
        try:
            task = services.service_task_reschedule(
                task=task,
                due_at=form.cleaned_data["due_at"],
                note=form.cleaned_data.get("note") or "",
                actor=user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            if not request.htmx:
                messages.success(request, _("Task moved."))
            task = selectors.service_task_get(user=user, task_id=task_id)
            return _task_answer(request, task)
    return _task_answer(request, task, status=status, reschedule_form=form)


# --- Reports -----------------------------------------------------------------------------
def _percent(value):
    return round(value * 100, 1) if value is not None else None


@login_required
def stabilisation_report_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_reports(user))
    form = ReportForm(request.GET or None)
    by, since, until = form.period()
    form.show_period(by=by, since=since, until=until)
    rows = selectors.stabilisation_rate(user=user, by=by, since=since, until=until)
    total = selectors.stabilisation_total(rows)
    reasons = selectors.free_look_cancel_reasons(user=user, since=since, until=until)
    labels = dict(CancelReason.choices)
    conversions = selectors.extended_service_conversion(user=user, by=by, since=since, until=until)
    chart = {
        "names": [r["name"] for r in rows],
        "rate": [_percent(r["rate"]) for r in rows],
        "kept": [r["kept"] for r in rows],
        "cancelled": [r["cancelled"] for r in rows],
        "pending": [r["pending"] for r in rows],
        "labels": {
            "rate": _("Stabilisation rate %"),
            "kept": _("Kept"),
            "cancelled": _("Cancelled in free-look"),
            "pending": _("In the window"),
        },
    }
    return render(
        request,
        "policies/stabilisation_report.html",
        {
            "form": form,
            "by": by,
            "since": since,
            "until": until,
            "rows": rows,
            "total": total,
            "reasons": [
                {"label": labels.get(r["cancel_reason"], "—"), "n": r["n"]} for r in reasons
            ],
            "conversions": conversions,
            "chart": chart,
        },
    )


# --- Rule sets ---------------------------------------------------------------------------
@login_required
def ruleset_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_rules(user) or permissions.sees_all_policies(user))
    versions = list(selectors.ruleset_list(user=user))
    in_force = ruleset_in_force()
    return render(
        request,
        "policies/ruleset_list.html",
        {
            "versions": versions,
            "in_force": in_force,
            "today": timezone.localdate(),
            "can_manage": permissions.can_manage_rules(user),
        },
    )


@login_required
def ruleset_create_view(request: HttpRequest) -> HttpResponse:
    """A new version, usually from an existing one (``?from=<id>``): never an edit."""
    user = request.user
    require(permissions.can_manage_rules(user))
    source = request.GET.get("from", "")
    based_on = None
    if source.isascii() and source.isdigit() and len(source) < 12:
        based_on = selectors.ruleset_list(user=user).filter(pk=int(source)).first()
    if based_on is None:
        based_on = ruleset_in_force()
    status = 200
    if request.method == "POST":
        form = RuleSetForm(request.POST)
        status = 422
        if form.is_valid():
            try:
                version = services.stabilisation_ruleset_create(
                    actor=user,
                    name=form.cleaned_data["name"],
                    effective_from=form.cleaned_data["effective_from"],
                    based_on=based_on if based_on.pk else None,
                    reason=form.cleaned_data.get("reason", ""),
                    **form.parameters(),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(
                    request,
                    _("New rule set version saved; it applies from %(day)s.")
                    % {"day": version.effective_from.isoformat()},
                )
                return redirect("policies:ruleset_list")
    else:
        form = RuleSetForm(instance=based_on, initial={"effective_from": timezone.localdate()})
    return render(
        request, "policies/ruleset_form.html", {"form": form, "based_on": based_on}, status=status
    )
