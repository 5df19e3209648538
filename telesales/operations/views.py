"""HTML pages of operations and renewal: the renewal-operations home and queues, the renewal
task, the policy in servicing (delivery, schedule, return visit, in-force changes), return
visits, exit notices, the premium receipt import, persistency and the rule set versions.

Every read goes through a selector scoped to the user, every write through one service;
refusals come back as form errors (422) or the 403/404 pages. Customers' numbers are shown
masked only.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telesales.core.errors import DomainError
from telesales.core.form_errors import add_domain_error, page_status
from telesales.core.pages import get_or_404, page_of, require
from telesales.core.roles import Role, has_role
from telesales.operations import importing, permissions, selectors, services
from telesales.operations.choices import (
    UNPAID,
    DeliveryStatus,
    PremiumStatus,
    ReceiptRejectReason,
    ServicingStatus,
    TaskStatus,
    VisitStatus,
)
from telesales.operations.forms import (
    ContactForm,
    DayForm,
    DeliverySendForm,
    EndForm,
    NoticeForm,
    OwnerForm,
    PaymentForm,
    PersistencyForm,
    ProblemForm,
    ReceiptUploadForm,
    ReinstateForm,
    ResolveForm,
    RuleSetForm,
    TransferForm,
    VisitForm,
    WaiveForm,
)
from telesales.operations.rules import ruleset_in_force
from telesales.operations.scheduling import add_months
from telesales.org import selectors as org_selectors
from telesales.org.choices import TeamKind
from telesales.org.models import Person, Team
from telesales.policies.choices import ProductCategory

CONTENT_TYPES = importing.CONTENT_TYPES


def _back(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target.startswith("/operations/") and "//" not in target and "\\" not in target:
        return target
    return fallback


def _queue(request: HttpRequest, allowed: tuple[str, ...], default: str) -> str:
    value = request.GET.get("queue", default)
    return value if value in allowed else default


# --- Home and queues --------------------------------------------------------------------------
@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    """The renewal-operations home: today's queues at a glance."""
    user = request.user
    require(permissions.sees_all_operations(user))
    today = timezone.localdate()
    context = {
        "counts": selectors.home_counts(user=user, today=today),
        "due_today": list(selectors.renewal_task_list(user=user, queue="today", today=today)[:10]),
        "in_grace": list(selectors.renewal_task_list(user=user, queue="grace", today=today)[:10]),
        "lapsed": list(selectors.lapsed_list(user=user, today=today)[:10]),
        "deliveries": list(selectors.delivery_list(user=user, queue="problem")[:10]),
        "visits": list(selectors.return_visit_list(user=user, queue="due", today=today)[:10]),
        "notices": list(selectors.exit_notice_list(user=user)[:10]),
        "collected": selectors.premium_collected(
            user=user, since=today.replace(day=1), until=today
        ),
        "today": today,
        "can_operate": permissions.can_operate(user),
    }
    return render(request, "operations/home.html", context)


@login_required
def my_renewals_view(request: HttpRequest) -> HttpResponse:
    """An agent's (or a team lead's) renewal tasks and, for a team lead, the
    misunderstandings flagged to them."""
    user = request.user
    require(permissions.can_work_renewals(user))
    me = org_selectors.person_for_user(user)
    context: dict = {"me": me, "today": timezone.localdate()}
    if me is not None:
        context["due"] = list(selectors.renewal_task_due_list(user=user, agent=me)[:100])
        context["tasks"] = page_of(request, selectors.renewal_task_list(user=user, owner_id=me.pk))
        if has_role(user, Role.TEAM_LEAD):
            context["team_tasks"] = list(
                selectors.renewal_task_list(user=user).exclude(owner_id=me.pk)[:100]
            )
            context["flagged"] = list(
                selectors.return_visit_list(user=user, queue="flagged").filter(flagged_to=me)
            )
    return render(request, "operations/my_renewals.html", context)


@login_required
def renewal_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_operations(user))
    queue = _queue(request, selectors.RENEWAL_QUEUES, "today")
    search = request.GET.get("q", "").replace("\x00", "")[:50]
    tasks = selectors.renewal_task_list(user=user, queue=queue, search=search)
    template = (
        "operations/renewal_list.html#table" if request.htmx else "operations/renewal_list.html"
    )
    return render(
        request,
        template,
        {
            "page": page_of(request, tasks),
            "queue": queue,
            "q": search,
            "queues": [
                ("today", _("Due today")),
                ("upcoming", _("Coming up")),
                ("grace", _("In grace")),
                ("pool", _("Operations pool")),
                ("open", _("All open")),
                ("done", _("Closed")),
            ],
            "today": timezone.localdate(),
        },
    )


def _task_context(request: HttpRequest, task, **forms) -> dict:
    user = request.user
    due = task.premium_due
    can_operate = permissions.can_operate(user)
    open_task = task.status == TaskStatus.OPEN
    context = {
        "task": task,
        "due": due,
        "policy": task.policy,
        "servicing": getattr(task.policy, "servicing", None),
        "can_pay": can_operate
        and open_task
        and due.status in (PremiumStatus.DUE, PremiumStatus.IN_GRACE),
        "can_contact": open_task and permissions.can_work_renewals(user),
        "can_assign": can_operate and open_task,
        "pay_form": forms.get("pay_form")
        or PaymentForm(initial={"amount": due.amount, "paid_date": timezone.localdate()}),
        "contact_form": forms.get("contact_form") or ContactForm(),
        "assign_form": forms.get("assign_form") or OwnerForm(initial={"owner": task.owner_id}),
        "next": request.GET.get("next", "") or request.POST.get("next", ""),
    }
    return context


@login_required
def renewal_detail_view(request: HttpRequest, task_id: int) -> HttpResponse:
    require(permissions.can_view_operations(request.user))
    task = get_or_404(selectors.renewal_task_get, user=request.user, task_id=task_id)
    return render(request, "operations/renewal_detail.html", _task_context(request, task))


def _task_action(request, task_id, form_class, form_key, run, done_message):
    user = request.user
    task = get_or_404(selectors.renewal_task_get, user=user, task_id=task_id)
    form = form_class(request.POST)
    status = 422
    if form.is_valid():
        try:
            run(task, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            messages.success(request, done_message(task))
            fallback = reverse("operations:renewal_detail", args=[task.pk])
            return redirect(_back(request, fallback))
    context = _task_context(request, task, **{form_key: form})
    return render(request, "operations/renewal_detail.html", context, status=status)


@login_required
@require_POST
def renewal_pay_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """Record the premium of a renewal task as paid (operations only)."""
    require(permissions.can_operate(request.user))

    def run(task, data):
        services.premium_payment_record(
            due=task.premium_due,
            paid_date=data["paid_date"],
            amount=data["amount"],
            note=data.get("note", ""),
            actor=request.user,
        )

    return _task_action(
        request,
        task_id,
        PaymentForm,
        "pay_form",
        run,
        lambda task: (
            _("Premium %(period)s of policy %(number)s recorded as paid.")
            % {"period": task.premium_due.period, "number": task.policy.number}
        ),
    )


@login_required
@require_POST
def renewal_contact_view(request: HttpRequest, task_id: int) -> HttpResponse:
    require(permissions.can_work_renewals(request.user))

    def run(task, data):
        services.renewal_task_contact_record(
            task=task, outcome=data["outcome"], note=data.get("note", ""), actor=request.user
        )

    return _task_action(
        request, task_id, ContactForm, "contact_form", run, lambda task: _("Contact recorded.")
    )


@login_required
@require_POST
def renewal_assign_view(request: HttpRequest, task_id: int) -> HttpResponse:
    require(permissions.can_operate(request.user))

    def run(task, data):
        services.renewal_task_assign(
            task=task, owner=data.get("owner"), reason=data.get("reason", ""), actor=request.user
        )

    return _task_action(
        request, task_id, OwnerForm, "assign_form", run, lambda task: _("Renewal task reassigned.")
    )


@login_required
def lapsed_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_operations(user))
    return render(
        request,
        "operations/lapsed_list.html",
        {"page": page_of(request, selectors.lapsed_list(user=user))},
    )


# --- A policy in servicing --------------------------------------------------------------------
def _servicing_context(request: HttpRequest, servicing, *, open_form: str = "", **forms) -> dict:
    """``open_form`` names the form that was just sent back with errors (``send``,
    ``delivered`` … or ``waive-<due id>``): only that one shows them, and its folded section
    opens, so the errors are seen and the other forms stay blank."""
    user = request.user
    policy = servicing.policy
    delivery = getattr(policy, "delivery", None)
    visit = getattr(policy, "return_visit", None)
    can_operate = permissions.can_operate(user)
    active = servicing.status in (ServicingStatus.IN_FORCE, ServicingStatus.REINSTATED)
    dues = list(selectors.premium_due_list(servicing=servicing))
    waive_due_id = int(open_form[6:]) if open_form.startswith("waive-") else None
    waive_sent = forms.get("waive_form")
    # A refused waiver of a premium that no longer offers one (paid meanwhile …): its errors
    # go above the schedule, as there is no form on its row to show them.
    # No premium of a lapsed or ended policy is waived: the page says why instead of offering
    # the forms (the service refuses with the same words).
    waive_refusal = services.waive_refusal(servicing) if can_operate else ""
    waivable = not waive_refusal and any(
        d.pk == waive_due_id
        and d.period > 1
        and d.status in (PremiumStatus.DUE, PremiumStatus.IN_GRACE)
        for d in dues
    )
    waive_orphan_errors = (
        [e for errs in waive_sent.errors.values() for e in errs]
        if waive_sent is not None and not waivable
        else []
    )
    # What a reinstatement today would record as paid (QA: the form never said how much).
    today = timezone.localdate()
    owed = [d for d in dues if d.status in UNPAID and d.due_date <= today]
    arrears = {"n": len(owed), "amount": sum((d.amount for d in owed), Decimal(0))}
    return {
        "arrears": arrears,
        "servicing": servicing,
        "policy": policy,
        "delivery": delivery,
        "visit": visit,
        "dues": dues,
        "tasks": {t.premium_due_id: t for t in policy.renewal_tasks.select_related("owner")},
        "notices": list(policy.exit_notices.select_related("former_agent", "new_owner")),
        "can_operate": can_operate,
        "can_end": can_operate and (active or servicing.status == ServicingStatus.LAPSED),
        "can_reinstate": can_operate and servicing.status == ServicingStatus.LAPSED,
        "delivery_actions": [
            (action, _delivery_form(action, delivery, forms if action == open_form else {}))
            for action in (_delivery_actions(delivery) if can_operate and delivery else [])
        ],
        "open_form": open_form,
        "reinstate_form": forms.get("reinstate_form") or ReinstateForm(),
        "end_form": forms.get("end_form") or EndForm(),
        "owner_form": forms.get("owner_form")
        or OwnerForm(initial={"owner": servicing.servicing_owner_id}, reason_required=True),
        "can_waive": can_operate and not waive_refusal,
        # Why the unpaid premiums below offer no waiver (a lapsed policy's arrears).
        "waive_note": waive_refusal
        if not waive_orphan_errors
        and any(
            d.period > 1 and d.status in (PremiumStatus.DUE, PremiumStatus.IN_GRACE) for d in dues
        )
        else "",
        "waive_form": WaiveForm(),
        # The premium whose waiver came back with errors, and that form.
        "waive_due_id": waive_due_id,
        "waive_sent": waive_sent,
        "waive_orphan_errors": waive_orphan_errors,
        "today": timezone.localdate(),
    }


def _delivery_form(action: str, delivery, sent: dict):
    """The form of one delivery action: the one sent back with errors, or a blank one."""
    form_class, key = DELIVERY_ACTIONS[action]
    if sent.get(key) is not None:
        return sent[key]
    if form_class is DeliverySendForm:
        return DeliverySendForm(initial={"method": delivery.method})
    return form_class()


def _delivery_actions(delivery) -> list[str]:
    status = delivery.status
    actions = []
    if status in (DeliveryStatus.PENDING, DeliveryStatus.FAILED, DeliveryStatus.RETURNED):
        actions.append("send")
    if status == DeliveryStatus.SENT:
        actions.append("delivered")
    if status in (DeliveryStatus.PENDING, DeliveryStatus.SENT):
        actions.append("failed")
    if (
        status in (DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
        and not delivery.receipt_confirmed_on
    ):
        actions += ["returned", "receipt"]
    return actions


@login_required
def servicing_detail_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    require(permissions.can_view_operations(request.user))
    servicing = get_or_404(selectors.servicing_get, user=request.user, policy_id=policy_id)
    return render(
        request, "operations/servicing_detail.html", _servicing_context(request, servicing)
    )


def _servicing_action(
    request, policy_id, form_class, form_key, run, message, *, open_form: str = "", **form_kwargs
):
    user = request.user
    require(permissions.can_operate(user))
    servicing = get_or_404(selectors.servicing_get, user=user, policy_id=policy_id)
    form = form_class(request.POST, **form_kwargs)
    status = 422
    if form.is_valid():
        try:
            run(servicing, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            messages.success(request, message)
            return redirect(
                _back(request, reverse("operations:servicing_detail", args=[policy_id]))
            )
    context = _servicing_context(request, servicing, open_form=open_form, **{form_key: form})
    return render(request, "operations/servicing_detail.html", context, status=status)


DELIVERY_ACTIONS = {
    "send": (DeliverySendForm, "send_form"),
    "delivered": (DayForm, "day_form"),
    "receipt": (DayForm, "day_form"),
    "failed": (ProblemForm, "problem_form"),
    "returned": (ProblemForm, "problem_form"),
}


@login_required
@require_POST
def delivery_action_view(request: HttpRequest, policy_id: int, action: str) -> HttpResponse:
    if action not in DELIVERY_ACTIONS:
        raise Http404
    form_class, key = DELIVERY_ACTIONS[action]

    def run(servicing, data):
        delivery = servicing.policy.delivery
        actor = request.user
        if action == "send":
            services.delivery_send(
                delivery=delivery,
                sent_on=data["sent_on"],
                method=data["method"],
                tracking_ref=data.get("tracking_ref", ""),
                actor=actor,
            )
        elif action == "delivered":
            services.delivery_mark_delivered(
                delivery=delivery, delivered_on=data["day"], actor=actor
            )
        elif action == "receipt":
            services.delivery_receipt_confirm(
                delivery=delivery, receipt_date=data["day"], actor=actor
            )
        elif action == "failed":
            services.delivery_mark_failed(
                delivery=delivery, failed_on=data["day"], problem=data["problem"], actor=actor
            )
        else:
            services.delivery_mark_returned(
                delivery=delivery, returned_on=data["day"], problem=data["problem"], actor=actor
            )

    return _servicing_action(
        request, policy_id, form_class, key, run, _("Delivery updated."), open_form=action
    )


@login_required
@require_POST
def policy_reinstate_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    def run(servicing, data):
        services.policy_reinstate(
            policy=servicing.policy, on=data["on"], note=data.get("note", ""), actor=request.user
        )

    return _servicing_action(
        request, policy_id, ReinstateForm, "reinstate_form", run, _("Policy reinstated.")
    )


@login_required
@require_POST
def policy_end_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    def run(servicing, data):
        services.policy_servicing_end(
            policy=servicing.policy,
            status=data["status"],
            on=data["on"],
            note=data["note"],
            actor=request.user,
        )

    return _servicing_action(request, policy_id, EndForm, "end_form", run, _("Policy ended."))


@login_required
@require_POST
def policy_owner_view(request: HttpRequest, policy_id: int) -> HttpResponse:
    def run(servicing, data):
        services.policy_servicing_owner_set(
            policy=servicing.policy,
            owner=data.get("owner"),
            reason=data["reason"],
            actor=request.user,
        )

    return _servicing_action(
        request,
        policy_id,
        OwnerForm,
        "owner_form",
        run,
        _("Servicing owner changed."),
        reason_required=True,
    )


@login_required
@require_POST
def premium_waive_view(request: HttpRequest, policy_id: int, due_id: int) -> HttpResponse:
    def run(servicing, data):
        due = get_or_404(selectors.premium_due_get, user=request.user, due_id=due_id)
        if due.policy_id != servicing.policy_id:
            raise Http404
        services.premium_due_waive(due=due, reason=data["reason"], actor=request.user)

    return _servicing_action(
        request,
        policy_id,
        WaiveForm,
        "waive_form",
        run,
        _("Premium waived."),
        open_form=f"waive-{due_id}",
    )


# --- Deliveries and return visits -------------------------------------------------------------
@login_required
def delivery_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_operations(user))
    queue = _queue(request, selectors.DELIVERY_QUEUES, "problem")
    return render(
        request,
        "operations/delivery_list.html",
        {
            "page": page_of(request, selectors.delivery_list(user=user, queue=queue)),
            "queue": queue,
            "queues": [
                ("problem", _("Overdue or failed")),
                ("open", _("Not delivered")),
                ("all", _("All")),
            ],
        },
    )


@login_required
def visit_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_operations(user))
    queue = _queue(request, selectors.VISIT_QUEUES, "due")
    return render(
        request,
        "operations/visit_list.html",
        {
            "page": page_of(request, selectors.return_visit_list(user=user, queue=queue)),
            "queue": queue,
            "queues": [
                ("due", _("Due")),
                ("open", _("All open")),
                ("flagged", _("Misunderstandings")),
                ("done", _("Closed")),
            ],
            "misunderstandings": selectors.misunderstanding_counts(user=user)[:20],
            "today": timezone.localdate(),
        },
    )


def _visit_context(request, visit, **forms) -> dict:
    user = request.user
    me = org_selectors.person_for_user(user)
    return {
        "visit": visit,
        "policy": visit.policy,
        "can_record": permissions.can_operate(user) and visit.status == VisitStatus.OPEN,
        "can_resolve": visit.outcome == "misunderstanding"
        and visit.resolved_at is None
        and permissions.can_resolve_visit(user, visit, me=me),
        "visit_form": forms.get("visit_form") or VisitForm(),
        "resolve_form": forms.get("resolve_form") or ResolveForm(),
    }


@login_required
def visit_detail_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    require(permissions.can_view_operations(request.user))
    visit = get_or_404(selectors.return_visit_get, user=request.user, visit_id=visit_id)
    return render(request, "operations/visit_detail.html", _visit_context(request, visit))


def _visit_action(request, visit_id, form_class, key, run, message):
    visit = get_or_404(selectors.return_visit_get, user=request.user, visit_id=visit_id)
    form = form_class(request.POST)
    status = 422
    if form.is_valid():
        try:
            run(visit, form.cleaned_data)
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            messages.success(request, message)
            return redirect(_back(request, reverse("operations:visit_detail", args=[visit_id])))
    return render(
        request,
        "operations/visit_detail.html",
        _visit_context(request, visit, **{key: form}),
        status=status,
    )


@login_required
@require_POST
def visit_record_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    require(permissions.can_operate(request.user))

    def run(visit, data):
        services.return_visit_record(
            visit=visit, outcome=data["outcome"], note=data.get("note", ""), actor=request.user
        )

    return _visit_action(
        request, visit_id, VisitForm, "visit_form", run, _("Return visit recorded.")
    )


@login_required
@require_POST
def visit_resolve_view(request: HttpRequest, visit_id: int) -> HttpResponse:
    require(permissions.can_resolve_misunderstanding(request.user))

    def run(visit, data):
        services.return_visit_misunderstanding_resolve(
            visit=visit, note=data["note"], actor=request.user
        )

    return _visit_action(
        request, visit_id, ResolveForm, "resolve_form", run, _("Misunderstanding resolved.")
    )


# --- Exit notices -----------------------------------------------------------------------------
@login_required
def exit_list_view(request: HttpRequest, transfer_form=None, status: int = 200) -> HttpResponse:
    user = request.user
    require(permissions.can_view_operations(user))
    show = request.GET.get("status", "open")
    show = show if show in ("open", "done", "") else "open"
    return render(
        request,
        "operations/exit_list.html",
        {
            "page": page_of(request, selectors.exit_notice_list(user=user, status=show)),
            "show": show,
            "can_operate": permissions.can_operate(user),
            "notice_form": NoticeForm(),
            "transfer_form": transfer_form or TransferForm(),
            "today": timezone.localdate(),
        },
        status=status,
    )


@login_required
@require_POST
def exit_complete_view(request: HttpRequest, notice_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_operate(user))
    notice = get_or_404(selectors.exit_notice_get, user=user, notice_id=notice_id)
    form = NoticeForm(request.POST)
    if form.is_valid():
        try:
            services.exit_notice_complete(
                notice=notice,
                channel=form.cleaned_data["channel"],
                note=form.cleaned_data.get("note", ""),
                actor=user,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Policyholder notified."))
    else:
        messages.error(request, _("Choose how the policyholder was notified."))
    return redirect(_back(request, reverse("operations:exit_list")))


@login_required
@require_POST
def servicing_transfer_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_operate(user))
    form = TransferForm(request.POST)
    if form.is_valid():
        try:
            result = services.servicing_transfer(
                from_person=form.cleaned_data["from_person"],
                to_person=form.cleaned_data.get("to_person"),
                reason=form.cleaned_data["reason"],
                actor=user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return exit_list_view(request, transfer_form=form, status=page_status(exc))
        messages.success(
            request,
            _("%(n)s policies and %(t)s renewal tasks handed over.")
            % {"n": result["policies"], "t": result["tasks"]},
        )
        return redirect("operations:exit_list")
    return exit_list_view(request, transfer_form=form, status=422)


# --- Premium receipts -------------------------------------------------------------------------
@login_required
def receipt_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_operate(user))
    status = 200
    form = ReceiptUploadForm()
    if request.method == "POST":
        form = ReceiptUploadForm(request.POST, request.FILES)
        status = 422
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                result = importing.receipts_import(file=upload, file_name=upload.name, actor=user)
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                batch = result.batch
                messages.success(
                    request,
                    _("%(applied)s receipts applied, %(rejected)s rejected.")
                    % {"applied": batch.applied, "rejected": batch.rejected},
                )
                return redirect("operations:receipt_detail", batch_id=batch.pk)
    return render(
        request,
        "operations/receipt_list.html",
        {"form": form, "page": page_of(request, selectors.receipt_batch_list(user=user))},
        status=status,
    )


@login_required
def receipt_detail_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_operate(user))
    batch = get_or_404(selectors.receipt_batch_get, user=user, batch_id=batch_id)
    labels = dict(ReceiptRejectReason.choices)
    return render(
        request,
        "operations/receipt_detail.html",
        {
            "batch": batch,
            "reasons": [
                {"label": labels.get(k, k), "n": n}
                for k, n in sorted((batch.summary or {}).get("by_reason", {}).items())
            ],
            "rejections": list(batch.rejections.order_by("row_number")[:200]),
            "labels": labels,
            "applied": list(batch.premiums.select_related("policy").order_by("policy_id")[:200]),
        },
    )


@login_required
def receipt_report_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_operate(user))
    batch = get_or_404(selectors.receipt_batch_get, user=user, batch_id=batch_id)
    fmt = request.GET.get("format", "xlsx")
    fmt = fmt if fmt in CONTENT_TYPES else "xlsx"
    content = importing.receipt_rejection_report(batch=batch, fmt=fmt, actor=user)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="receipts-{batch.pk}-rejections.{fmt}"'
    add_never_cache_headers(response)
    return response


# --- Persistency ------------------------------------------------------------------------------
def _json_ready(value):
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


@login_required
def persistency_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_persistency(user))
    sees_all = permissions.sees_all_operations(user)
    leads = not sees_all and has_role(user, Role.TEAM_LEAD)
    teams = None
    if sees_all:
        teams = org_selectors.team_list(user=user, kind=TeamKind.SALES)
    elif leads:
        me = org_selectors.person_for_user(user)
        teams = org_selectors.team_list(user=user).filter(leader=me) if me else None
        if teams is not None and not teams.exists():
            teams = None  # leads no team (yet): their own figures, no empty choice
    today = timezone.localdate()
    # The whole center is offered only to those who see it; a team lead chooses among the
    # teams they lead (the first one unless they chose).
    form = PersistencyForm(
        request.GET or None, teams=teams, whole_center=sees_all, latest=f"{today:%Y-%m}"
    )
    # The valid choices count even when another one is not (a stale team, a bad breakdown):
    # the figures are then those of the month shown in the form, not of the default month.
    data: dict = {}
    if form.is_bound:
        form.is_valid()  # shows the errors; cleaned_data keeps the fields that are valid
        data = form.cleaned_data
    default = add_months(today.replace(day=1), -1)
    month = data.get("month") or f"{default:%Y-%m}"
    # The month box shows the month in effect, not a blank "--------- ----".
    if not form.is_bound:
        form.initial["month"] = month
    elif not form.data.get("month") and "month" not in form.errors:
        form.data = form.data.copy()
        form.data["month"] = month
    team = data.get("team")
    if team is None and leads and teams is not None and "team" not in form.errors:
        team = teams.first()
    by = data.get("by") or "team"
    status = 200
    context: dict = {"form": form, "month": month, "by": by}
    try:
        figures = selectors.persistency_for_user(
            user=user, month=month, team_id=team.pk if team else None
        )
        trend = selectors.persistency_trend(
            user=user,
            month=month,
            months=12,
            team_id=figures["team_id"],
            agent_id=figures["agent_id"],
        )
        breakdown = []
        if sees_all or leads:
            breakdown = selectors.persistency_breakdown(
                user=user, month=month, by=by, team_id=figures["team_id"]
            )
        context["scope"] = _persistency_scope(figures)
        labels = {
            "single_premium": _("single premium"),
            "free_look_cancelled": _("cancelled in free-look"),
            "term_too_short": _("term too short"),
            "transferred_out": _("transferred out"),
            "claim_terminated": _("terminated by a claim"),
        }
        context.update(
            {
                "figures": figures,
                "excluded_13m": [
                    (labels[k], n) for k, n in figures["13m"]["excluded"].items() if n
                ],
                "excluded_25m": [
                    (labels[k], n) for k, n in figures["25m"]["excluded"].items() if n
                ],
                "breakdown": breakdown,
                "chart": _json_ready(
                    {
                        "months": [row["month"] for row in trend],
                        # None: no policy to measure that month (a gap, not a zero); a
                        # provisional rate is drawn apart from the line of final ones.
                        "m13": [row["13m"]["rate"] for row in trend],
                        "m25": [row["25m"]["rate"] for row in trend],
                        "m13_final": [row["13m"]["final"] for row in trend],
                        "m25_final": [row["25m"]["final"] for row in trend],
                        "labels": {
                            "m13": _("13 months"),
                            "m25": _("25 months"),
                            "m13_provisional": _("13 months (provisional)"),
                            "m25_provisional": _("25 months (provisional)"),
                        },
                    }
                ),
            }
        )
    except DomainError as exc:
        context["error"] = exc.message
        status = page_status(exc)
    return render(request, "operations/persistency.html", context, status=status)


def _persistency_scope(figures: dict) -> str:
    """What the figures shown cover, in words: the whole center, a team, or an agent."""
    if figures.get("agent_id"):
        person = Person.objects.filter(pk=figures["agent_id"]).first()
        return _("Policies sold by %(name)s") % {"name": person.name if person else "—"}
    if figures.get("team_id"):
        team = Team.objects.filter(pk=figures["team_id"]).first()
        return _("Policies credited to %(team)s at the sale") % {"team": team.name if team else "—"}
    return _("The whole center")


# --- Rule sets --------------------------------------------------------------------------------
@login_required
def ruleset_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_operations(user))
    in_force = ruleset_in_force()
    labels = dict(ProductCategory.choices)
    return render(
        request,
        "operations/ruleset_list.html",
        {
            "rulesets": list(selectors.ruleset_list(user=user)[:50]),
            "in_force": in_force,
            "visit_categories": [labels.get(c, c) for c in in_force.return_visit_categories],
            "can_manage": permissions.can_manage_rules(user),
        },
    )


@login_required
def ruleset_create_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_rules(user))
    base = ruleset_in_force()
    status = 200
    if request.method == "POST":
        form = RuleSetForm(request.POST)
        status = 422
        if form.is_valid():
            try:
                services.operations_ruleset_create(
                    actor=user,
                    name=form.cleaned_data["name"],
                    effective_from=form.cleaned_data["effective_from"],
                    reason=form.cleaned_data.get("reason", ""),
                    based_on=base if base.pk else None,
                    **form.parameters(),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(request, _("New rule version saved."))
                return redirect("operations:ruleset_list")
    else:
        form = RuleSetForm(initial=RuleSetForm.initial_from(base))
    return render(request, "operations/ruleset_form.html", {"form": form}, status=status)
