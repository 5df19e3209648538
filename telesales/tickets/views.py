"""HTML pages of the tickets app: the queue, a ticket with its actions (htmx), the new-ticket
form with its customer search, the SLA report and the SLA target versions.

No page holds a full phone number: customers show ``mask_phone``, free text goes through
``mask_numbers``, and a refused form shows what was typed with numbers masked too.
"""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telesales.core.errors import DomainError, NotFound, ValidationFailed
from telesales.core.form_errors import add_domain_error, page_status
from telesales.core.pages import get_or_404, page_of, require
from telesales.core.phone_numbers import PHONE_LIKE
from telesales.policies.models import Policy
from telesales.policies.selectors import policy_visible_q
from telesales.tickets import permissions, rulesets, selectors, services
from telesales.tickets.choices import PRIORITY_ORDER, TicketKind, TicketPriority
from telesales.tickets.errors import DuplicateTicket
from telesales.tickets.forms import (
    TEXT_FIELDS,
    AssignForm,
    CloseForm,
    PeriodForm,
    ReopenForm,
    ResolveForm,
    RespondForm,
    RuleSetForm,
    TicketFilterForm,
    TicketForm,
)
from telesales.tickets.masking import mask_ticket_text
from telesales.tickets.rules import ruleset_in_force, target_matrix

#: Active tickets due within this time are highlighted as "due soon" in the queue.
DUE_SOON = dt.timedelta(hours=2)


#: The session key of what a refused form's text held before its numbers were masked.
_TYPED_KEY = "tickets.typed_before_masking"
_TYPED_KEPT = 20


def _mask_typed(form, request: HttpRequest | None = None) -> None:
    """Show a refused form again without echoing a full phone number someone typed. With the
    request, what was typed is kept in the session (on the server, never in the page), so that
    the same text sent back masked gets its numbers again (``_restore_typed``): QA found a
    complaint's callback number stored as 138****5678 after a refused first submit."""
    if not form.is_bound:
        return
    data = form.data.copy()
    kept = {}
    for name in TEXT_FIELDS:
        prefixed = form.add_prefix(name)
        if prefixed in data:
            typed = data.get(prefixed, "")
            data[prefixed] = mask_ticket_text(typed)
            if data[prefixed] != typed:
                kept[data[prefixed]] = typed
    form.data = data
    if request is not None and kept:
        store = dict(request.session.get(_TYPED_KEY) or {})
        store.update(kept)
        request.session[_TYPED_KEY] = dict(list(store.items())[-_TYPED_KEPT:])


def _restore_typed(request: HttpRequest, form) -> None:
    """A refused form sent again: text that comes back exactly as it was shown (masked) is
    what the user typed before, numbers included."""
    store = request.session.get(_TYPED_KEY) or {}
    if not store or not form.is_bound:
        return
    data = form.data.copy()
    used = False
    for name in TEXT_FIELDS:
        prefixed = form.add_prefix(name)
        value = data.get(prefixed)
        if value and value in store:
            data[prefixed] = store[value]
            used = True
    if used:
        form.data = data


def _customer_filter(user, form):
    """The customer the queue is filtered on (shown with a masked number), if any."""
    customer_id = form.selector_filters()["customer_id"]
    if not customer_id:
        return None
    return selectors.customer_search(user=user, q=f"#{customer_id}")[:1] or None


def _base_query(request: HttpRequest) -> str:
    """The list's filters for the pager links (without the page; numbers masked)."""
    params = request.GET.copy()
    params.pop("page", None)
    return mask_ticket_text(params.urlencode())


def _redirect_without_number(request: HttpRequest, phone: str | None) -> HttpResponse:
    """A phone number typed into the search must not stay in the address (pages, history,
    logs): find its customer and show their tickets by customer id instead."""
    params = request.GET.copy()
    params.pop("q", None)
    params.pop("page", None)
    customers = selectors.customer_search(user=request.user, q=phone) if phone else []
    if customers:
        params["customer"] = str(customers[0].pk)
    else:
        messages.info(request, _("No customer you may see has this phone number."))
    for key in list(params):
        params.setlist(key, [mask_ticket_text(v) for v in params.getlist(key)])
    query = params.urlencode()
    return redirect(reverse("tickets:ticket_list") + (f"?{query}" if query else ""))


# --- Queue -------------------------------------------------------------------------------
@login_required
def ticket_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_tickets(user))
    phone = selectors.phone_in(request.GET.get("q", ""))
    if phone or PHONE_LIKE.search(request.GET.urlencode()):
        return _redirect_without_number(request, phone)
    form = TicketFilterForm(request.GET or None, leads_teams=bool(selectors.led_team_ids(user)))
    now = timezone.now()
    tickets = selectors.ticket_list(user=user, now=now, **form.selector_filters())
    page = page_of(request, tickets)
    _mask_typed(form)
    context = {
        "page": page,
        "form": form,
        "counts": selectors.ticket_counts(user=user, now=now),
        "now": now,
        "soon": now + DUE_SOON,
        "can_open": permissions.can_open_ticket(user),
        "base_query": _base_query(request),
        "customer": _customer_filter(user, form),
    }
    template = "tickets/ticket_list.html#table" if request.htmx else "tickets/ticket_list.html"
    return render(request, template, context)


# --- Detail and actions ------------------------------------------------------------------
def _sla_state(*, due, done_at, active: bool, now) -> str:
    if done_at is not None:
        return "met" if done_at <= due else "missed"
    if not active:
        return "none"
    return "overdue" if now > due else ("soon" if due - now <= DUE_SOON else "pending")


def _detail_context(request: HttpRequest, ticket, **forms) -> dict:
    user = request.user
    now = timezone.now()
    can_work = selectors.may_work_ticket(user, ticket)
    can_assign = permissions.can_assign_tickets(user) and ticket.is_active
    owners = selectors.owner_choices(user=user) if can_assign else None
    return {
        "ticket": ticket,
        "events": selectors.ticket_history(ticket=ticket),
        # reopened: the escalation starts again, but how far it went before is shown too
        "escalated_before": selectors.ticket_escalation_before_reopening(ticket=ticket),
        "now": now,
        "overdue": ticket.is_overdue(now),
        "response_state": _sla_state(
            due=ticket.response_due_at,
            done_at=ticket.first_response_at,
            active=ticket.is_active,
            now=now,
        ),
        "resolution_state": _sla_state(
            due=ticket.resolution_due_at,
            done_at=ticket.resolved_at,
            active=ticket.is_active,
            now=now,
        ),
        "can_work": can_work,
        "can_assign": can_assign,
        "assign_form": forms.get("assign_form") or AssignForm(owners=owners),
        "respond_form": forms.get("respond_form") or RespondForm(),
        "resolve_form": forms.get("resolve_form") or ResolveForm(),
        "close_form": forms.get("close_form") or CloseForm(),
        "reopen_form": forms.get("reopen_form") or ReopenForm(),
        "error": forms.get("error", ""),
        "show_policy": ticket.policy_id
        and Policy.objects.filter(policy_visible_q(user), pk=ticket.policy_id).exists(),
    }


@login_required
def ticket_detail_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    require(permissions.can_view_tickets(request.user))
    ticket = get_or_404(selectors.ticket_get, user=request.user, ticket_id=ticket_id)
    return render(request, "tickets/ticket_detail.html", _detail_context(request, ticket))


def _act(request: HttpRequest, ticket_id: int, *, form_name: str, form, run, done: str):
    """Run one action from the detail page: the service on a valid form; the ticket partial
    (htmx) or a redirect back on success; the form with its errors (4xx) on a refusal."""
    user = request.user
    require(permissions.can_view_tickets(user))
    ticket = get_or_404(selectors.ticket_get, user=user, ticket_id=ticket_id)
    status = 200
    error = ""
    _restore_typed(request, form)
    if form.is_valid():
        try:
            run(ticket, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
            error = exc.message
            status = page_status(exc)
            if status == 403 and not request.htmx:
                raise PermissionDenied from exc
        else:
            ticket = selectors.ticket_get(user=user, ticket_id=ticket_id)
            if request.htmx:
                context = _detail_context(request, ticket)
                context["done"] = done
                return render(request, "tickets/ticket_detail.html#ticket", context)
            messages.success(request, done)
            return redirect(reverse("tickets:ticket_detail", args=[ticket.pk]))
    else:
        status = 422
    _mask_typed(form, request)
    context = _detail_context(
        request, ticket, **{form_name: form, "error": mask_ticket_text(error)}
    )
    template = "tickets/ticket_detail.html#ticket" if request.htmx else "tickets/ticket_detail.html"
    return render(request, template, context, status=status)


@login_required
@require_POST
def ticket_assign_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_assign_tickets(user))
    owners = selectors.owner_choices(user=user)
    form = AssignForm(request.POST, owners=owners)
    return _act(
        request,
        ticket_id,
        form_name="assign_form",
        form=form,
        run=lambda t, d: services.ticket_assign(
            ticket=t, owner=d["owner"], actor=user, note=d.get("note", "")
        ),
        done=_("The ticket is assigned."),
    )


@login_required
@require_POST
def ticket_take_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """ "Assign to me": the same service with the caller as the owner."""
    user = request.user
    require(permissions.can_assign_tickets(user))
    me = selectors.owner_choices(user=user).filter(user=user).first()
    form = AssignForm({"owner": me.pk if me else ""}, owners=selectors.owner_choices(user=user))
    return _act(
        request,
        ticket_id,
        form_name="assign_form",
        form=form,
        run=lambda t, d: services.ticket_assign(ticket=t, owner=d["owner"], actor=user),
        done=_("The ticket is yours."),
    )


@login_required
@require_POST
def ticket_respond_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = request.user
    return _act(
        request,
        ticket_id,
        form_name="respond_form",
        form=RespondForm(request.POST),
        run=lambda t, d: services.ticket_respond(
            ticket=t, actor=user, note=d["note"], waiting_customer=d["waiting_customer"]
        ),
        done=_("Your reply is recorded."),
    )


@login_required
@require_POST
def ticket_resolve_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = request.user
    return _act(
        request,
        ticket_id,
        form_name="resolve_form",
        form=ResolveForm(request.POST),
        run=lambda t, d: services.ticket_resolve(ticket=t, actor=user, resolution=d["resolution"]),
        done=_("The ticket is resolved."),
    )


@login_required
@require_POST
def ticket_close_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = request.user
    return _act(
        request,
        ticket_id,
        form_name="close_form",
        form=CloseForm(request.POST),
        run=lambda t, d: services.ticket_close(ticket=t, actor=user, note=d.get("note", "")),
        done=_("The ticket is closed."),
    )


@login_required
@require_POST
def ticket_reopen_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    user = request.user
    return _act(
        request,
        ticket_id,
        form_name="reopen_form",
        form=ReopenForm(request.POST),
        run=lambda t, d: services.ticket_reopen(ticket=t, actor=user, reason=d["reason"]),
        done=_("The ticket is open again."),
    )


def _form_fields(exc: DomainError) -> DomainError:
    """The service names the policy ``policy``; the form's field is ``policy_number``."""
    if isinstance(exc, ValidationFailed) and "policy" in exc.fields:
        fields = dict(exc.fields)
        fields["policy_number"] = fields.pop("policy")
        return ValidationFailed(exc.message, fields=fields)
    return exc


# --- New ticket --------------------------------------------------------------------------
def _customer_rows(user, customers) -> list[dict]:
    """Search results: name, masked number, city and the visible policy numbers."""
    ids = [c.pk for c in customers]
    numbers: dict[int, list[str]] = {}
    for holder_id, number in (
        Policy.objects.filter(policy_visible_q(user), holder_id__in=ids)
        .exclude(number="")
        .order_by("-applied_at")
        .values_list("holder_id", "number")
    ):
        numbers.setdefault(holder_id, []).append(number)
    return [{"customer": c, "policies": numbers.get(c.pk, [])[:5]} for c in customers]


@login_required
def customer_search_view(request: HttpRequest) -> HttpResponse:
    """The customer picker of the new-ticket form (htmx partial; a full page otherwise)."""
    user = request.user
    require(permissions.can_open_ticket(user))
    q = (request.GET.get("q") or "")[:50]
    customers = selectors.customer_search(user=user, q=q)
    context = {
        "results": _customer_rows(user, customers),
        "searched": bool(q.strip()),
        "q_masked": mask_ticket_text(q),
        "selected": None,
    }
    return render(request, "tickets/ticket_form.html#customers", context)


def _customer_id(value) -> bool:
    """Is ``value`` a customer id (ASCII digits, fewer than 10)? "²" is a digit to Python but
    no number to ``int``."""
    text = "" if value is None else str(value)
    return text.isascii() and text.isdigit() and len(text) < 10


@login_required
def ticket_create_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_open_ticket(user))
    agents = selectors.agent_choices(user=user)
    owners = selectors.owner_choices(user=user)
    me = owners.filter(user=user).first()
    status = 200
    if request.method == "POST":
        form = TicketForm(request.POST, agents=agents, owners=owners)
        _restore_typed(request, form)
        if form.is_valid():
            data = form.cleaned_data
            try:
                customer = (
                    selectors.customer_get(user=user, customer_id=data["customer"])
                    if data.get("customer")
                    else None
                )
                policy = (
                    selectors.policy_get(user=user, number=data["policy_number"])
                    if data.get("policy_number")
                    else None
                )
            except NotFound as exc:
                form.add_error(
                    "policy_number" if data.get("policy_number") else None,
                    exc.message,
                )
            else:
                opened_at = data.get("opened_at")
                try:
                    ticket = services.ticket_open(
                        actor=user,
                        kind=data["kind"],
                        channel=data["channel"],
                        priority=data["priority"],
                        subject=data["subject"],
                        description=data.get("description", ""),
                        customer=customer,
                        policy=policy,
                        agent=data.get("agent"),
                        owner=data.get("owner"),
                        external_ref=data.get("external_ref", ""),
                        opened_at=opened_at,
                    )
                except DuplicateTicket as exc:
                    # submitted twice (a double click, a reload): show the first one
                    messages.info(request, exc.message)
                    return redirect(reverse("tickets:ticket_detail", args=[exc.details["ticket"]]))
                except DomainError as exc:
                    add_domain_error(form, _form_fields(exc))
                    status = page_status(exc)
                else:
                    messages.success(
                        request, _("Ticket %(number)s is open.") % {"number": ticket.number}
                    )
                    return redirect(reverse("tickets:ticket_detail", args=[ticket.pk]))
        status = status if status != 200 else 422
    else:
        initial = {"owner": me.pk if me and permissions.sees_all_tickets(user) else None}
        for name in ("kind", "channel", "priority"):
            if request.GET.get(name):
                initial[name] = request.GET[name][:30]
        if request.GET.get("policy"):
            initial["policy_number"] = request.GET["policy"][:32]
        if _customer_id(request.GET.get("customer")):
            initial["customer"] = int(request.GET["customer"])
        form = TicketForm(initial=initial, agents=agents, owners=owners)
    selected = None
    customer_id = form["customer"].value()
    if _customer_id(customer_id):
        selected = selectors.customer_search(user=user, q=f"#{customer_id}")
    _mask_typed(form, request)
    return render(
        request,
        "tickets/ticket_form.html",
        {
            "form": form,
            "results": _customer_rows(user, selected or []),
            "selected": selected[0].pk if selected else None,
            "searched": False,
            "q_masked": "",
        },
        status=status,
    )


# --- SLA report ----------------------------------------------------------------------------
def _pct(value) -> float | None:
    return round(value * 100, 1) if value is not None else None


@login_required
def sla_report_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_sla_report(user))
    form = PeriodForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    since, until = selectors.report_period(data.get("since"), data.get("until"))
    if not form.is_bound:
        form = PeriodForm(initial={"since": since, "until": until})
    summary = selectors.sla_summary(user=user, since=since, until=until)
    months = selectors.sla_by_month(user=user, since=since, until=until)
    rates = selectors.complaint_rate_by_month(user=user, since=since, until=until)
    # The same figure as the home page's card: center-wide, or a team lead's own teams.
    rate = selectors.complaint_rate_for_user(user=user, since=since, until=until)
    chart = {
        "months": [m["month"].strftime("%Y-%m") for m in months],
        "opened": [m["opened"] for m in months],
        "response": [_pct(m["response_attainment"]) for m in months],
        "resolution": [_pct(m["resolution_attainment"]) for m in months],
        "rate": [
            float(r["rate_per_1000"]) if r["rate_per_1000"] is not None else None for r in rates
        ],
        "names": {
            "opened": _("Tickets opened"),
            "response": _("First response in time %"),
            "resolution": _("Resolved in time %"),
            "rate": _("Complaints per 1,000 policies"),
        },
    }
    return render(
        request,
        "tickets/sla_report.html",
        {
            "form": form,
            "since": since,
            "until": until,
            "summary": summary,
            "months": months,
            "rate": rate,
            "rates": rates,
            "chart": chart,
            "has_tickets": summary["total"]["opened"] > 0,
        },
    )


# --- SLA rule sets -------------------------------------------------------------------------
def _matrix_rows(ruleset) -> list[dict]:
    matrix = target_matrix(ruleset)
    return [
        {"label": label, "cells": [matrix[(kind, p)] for p in PRIORITY_ORDER]}
        for kind, label in TicketKind.choices
    ]


def _priority_labels() -> list[str]:
    labels = dict(TicketPriority.choices)
    return [labels[p] for p in PRIORITY_ORDER]


@login_required
def ruleset_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_sla_rules(user))
    in_force = ruleset_in_force()
    return render(
        request,
        "tickets/ruleset_list.html",
        {
            "rulesets": selectors.ruleset_list(user=user),
            "in_force": in_force,
            "rows": _matrix_rows(in_force),
            "priorities": _priority_labels(),
            "can_manage": permissions.can_manage_sla_rules(user),
        },
    )


@login_required
def ruleset_detail_view(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_view_sla_rules(user))
    ruleset = get_or_404(selectors.ruleset_get, user=user, ruleset_id=ruleset_id)
    in_force = ruleset_in_force()
    return render(
        request,
        "tickets/ruleset_detail.html",
        {
            "ruleset": ruleset,
            "rows": _matrix_rows(ruleset),
            "priorities": _priority_labels(),
            "is_in_force": in_force is not None and in_force.pk == ruleset.pk,
            "can_manage": permissions.can_manage_sla_rules(user),
        },
    )


@login_required
def ruleset_create_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_sla_rules(user))
    based_on = ruleset_in_force()
    kwargs = {
        "matrix": target_matrix(based_on),
        "manager_hours": based_on.manager_escalation_hours if based_on else 24,
    }
    status = 200
    if request.method == "POST":
        form = RuleSetForm(request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                ruleset = rulesets.sla_ruleset_create(
                    actor=user,
                    name=data["name"],
                    effective_from=data["effective_from"],
                    targets=form.targets(),
                    manager_escalation_hours=data["manager_escalation_hours"],
                    based_on=based_on,
                    reason=data.get("reason", ""),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(request, _("The new service targets are saved."))
                return redirect(reverse("tickets:ruleset_detail", args=[ruleset.pk]))
        status = status if status != 200 else 422
    else:
        form = RuleSetForm(**kwargs)
    return render(
        request,
        "tickets/ruleset_form.html",
        {"form": form, "based_on": based_on, "priorities": _priority_labels()},
        status=status,
    )
