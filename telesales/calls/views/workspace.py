"""The agent workspace (/calls/workspace/): the page an agent works in all day.

One page, updated in place with htmx: "next lead" (button or the N key) hands out exactly one
lead (``calls.dispatch.next_lead``) and shows it — masked number, customer and household,
holdings, history, this lead's calls and the call script — or says exactly why there is none.
Calling, answering, hanging up, the disposition, a follow-up and a sale are posted from the
lead panel and answered with the parts of the page they change.

Every view parses and authorises, calls one service or selectors, and maps a ``DomainError``
onto the form or the panel it came from (never a 500). Without htmx the same URLs answer with
the whole page. Only agents use the workspace (a team lead who also holds the agent role
too), and only on their own leads. Numbers are shown masked, always.
"""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from telesales.calls import dispatch, selectors, services
from telesales.calls.choices import AgentState, CallKind, DispatchSource
from telesales.calls.errors import LeadMoved, NothingToDispatch
from telesales.calls.forms import (
    DispositionForm,
    FollowUpForm,
    PresenceForm,
    SaleForm,
    ServiceTaskOutcomeForm,
    age_of,
)
from telesales.calls.guards import dial_blocks
from telesales.calls.models import CallAttempt
from telesales.core.dates import date_out_of_range
from telesales.core.errors import DomainError, NotFound
from telesales.core.form_errors import add_domain_error
from telesales.core.roles import Role, has_role
from telesales.leads import selectors as lead_selectors
from telesales.leads.choices import OPEN_STATES
from telesales.operations import selectors as operations_selectors
from telesales.operations.choices import PremiumStatus
from telesales.operations.services import grace_end
from telesales.org.selectors import person_for_user
from telesales.policies import selectors as policy_selectors
from telesales.policies.choices import PaymentMode, ProductCategory, TaskKind, TaskOutcome
from telesales.policies.forms import TaskRescheduleForm, task_auto_id
from telesales.policies.suggestions import household_members, household_suggestions

TEMPLATE = "calls/workspace.html"
QUEUE_LIMIT = 30
HISTORY_LIMIT = 30
ATTEMPTS_LIMIT = 20
#: htmx swaps these refusals into the page (see includes/htmx_config.html).
SWAPPED = (403, 404, 409, 422)
#: The element of the page each partial fills.
TARGETS = {"lead_panel": "#lead-panel", "call_update": "#call-box", "followup": "#followup-box"}


# --- The call script -------------------------------------------------------------------------
def _general_prompts(product) -> list[tuple[str, str]]:
    """The prompts before a purchase (2023 rule Art. 25, 26, 28, 29), in calling order."""
    if product is not None:
        free_look = _(
            "%(days)d days from the day the customer signs the receipt: cancelling "
            "within them refunds the premium in full."
        ) % {"days": product.free_look_days}
    else:
        free_look = _(
            "Counted from the day the customer signs the receipt: cancelling within it "
            "refunds the premium in full. Say how many days this product gives."
        )
    return [
        (
            _("Terms"),
            _("Send the policy terms and go through the cover, the premium and the term."),
        ),
        (_("Free-look period"), free_look),
        (
            _("Grace period"),
            _(
                "After a premium falls due the cover continues through the grace period in "
                "the terms; unpaid after it, the policy lapses."
            ),
        ),
        (
            _("Waiting period"),
            _(
                "Illness that starts in the waiting period after the policy begins is not "
                "covered; say how long it is for this product."
            ),
        ),
        (
            _("Exclusions"),
            _("Read out the exclusions and explain each one: they must be highlighted."),
        ),
        (
            _("Surrender and cash value"),
            _(
                "Surrendering after the free-look period returns the cash value only, which "
                "can be far below the premiums paid in the first years."
            ),
        ),
        (
            _("Lapse and reinstatement"),
            _(
                "A lapsed policy may be reinstated by agreement with the insurer within the "
                "period the terms and the law allow."
            ),
        ),
        (
            _("Duty of disclosure"),
            _(
                "The customer must answer the health and other questions truthfully; an "
                "untrue answer can void the cover and a claim."
            ),
        ),
        (
            _("Complaint channels"),
            _("Give the insurer's service and complaint hotline and the regulator's 12378 line."),
        ),
        (
            _("Suitability"),
            _(
                "If the product clearly does not fit the customer's needs or means, or "
                "duplicates cover they hold, advise them not to buy."
            ),
        ),
        (
            _("Confirmation"),
            _(
                "Before recording the sale, ask the customer to confirm on the recording that "
                "they understood and want to buy."
            ),
        ),
    ]


def _category_prompts() -> dict[str, list[str]]:
    return {
        ProductCategory.ACCIDENT: [
            _("Accident cover pays for accidental injury only, never for illness."),
            _("Name the excluded high-risk activities and occupations."),
        ],
        ProductCategory.CRITICAL_ILLNESS: [
            _("Only the diseases the terms define, at the severity they define, are covered."),
            _("A diagnosis in the waiting period is not paid and may end the policy."),
        ],
        ProductCategory.MEDICAL: [
            _("Explain the deductible, the share reimbursed and the hospitals covered."),
            _("Say whether renewal is guaranteed, and that pre-existing conditions are excluded."),
        ],
        ProductCategory.LIFE: [
            _("Explain the suicide clause, the beneficiaries and the cash value table."),
        ],
        ProductCategory.PENSION: [
            _("Say when payments start and how long premiums are paid."),
            _("Only the guaranteed part is certain; any illustrated return above it is not."),
        ],
        ProductCategory.EDUCATION: [
            _("Say when each payment falls due and to whom."),
            _("Explain what happens to the policy if the policyholder dies."),
        ],
    }


def call_script(*, agent, product=None) -> dict:
    """The call script: the mandatory opening (the seller's name, the full company name and
    the practice registration number; 2023 rule Art. 24), the recording notice, and the
    prompts before a purchase — those of the product's category when one is chosen."""
    company = agent.center.name if agent.center_id else ""
    reg_no = (agent.practice_reg_no or "").strip()
    opening = _(
        "Hello, this is %(agent)s of %(company)s. My practice registration number is %(reg_no)s."
    ) % {"agent": agent.name, "company": company, "reg_no": reg_no or "—"}
    facts = []
    if product is not None:
        modes = dict(PaymentMode.choices)
        facts = [
            (_("Product"), product.name),
            (_("Insurer"), product.insurer or "—"),
            (_("Category"), product.get_category_display()),
            (_("Free-look days"), str(product.free_look_days)),
            (
                _("Payment modes"),
                ", ".join(str(modes.get(m, m)) for m in product.allowed_modes or []) or "—",
            ),
            (
                _("Terms (years)"),
                ", ".join(str(t) for t in product.allowed_terms or []) or "—",
            ),
            (
                _("Annualised premium"),
                f"{product.min_premium} – {product.max_premium}",
            ),
        ]
    return {
        "opening": opening,
        "registered": bool(reg_no),
        "recording": _("Before we go on: this call is recorded, to protect your rights and ours."),
        "prompts": _general_prompts(product),
        "category_prompts": _category_prompts().get(product.category, []) if product else [],
        "facts": facts,
    }


# --- Access --------------------------------------------------------------------------------
def _require_agent(request: HttpRequest):
    """The signed-in agent's employee record. Other roles: 403 (a team lead only when they
    also hold the agent role). ``None`` when the login has no employee record."""
    if not has_role(request.user, Role.AGENT):
        raise PermissionDenied
    return person_for_user(request.user)


def _require_person(request: HttpRequest):
    me = _require_agent(request)
    if me is None:
        raise PermissionDenied(_("Your login is not linked to an employee record."))
    return me


def _why_not_yours(me, lead_id: int) -> str:
    """Why a lead the agent held is out of their reach now ("" when they never held it): the
    last move away from them (recycled, released, allocated to someone else) or its block (the
    do-not-call list), with its time. QA (session 20): a lead put on the do-not-call list
    vanished behind a bare "not found"."""
    event = lead_selectors.lead_departure(lead_id=lead_id, person=me)
    if event is None:
        return ""
    return _("This lead is no longer in your pool: %(what)s on %(when)s.") % {
        "what": event.get_action_display(),
        "when": timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M"),
    }


def _my_lead(request: HttpRequest, me, lead_id: int):
    """One of the agent's own leads; another agent's lead is refused (403), an unknown one
    is not found (404), with the reason when the agent held it before."""
    try:
        lead = lead_selectors.lead_get(user=request.user, lead_id=lead_id)
    except NotFound as exc:
        raise Http404(_why_not_yours(me, lead_id) or exc.message) from exc
    if lead.owner_id != me.pk:
        raise PermissionDenied(_("This lead is not yours: you may only work your own leads."))
    return lead


def _my_attempt(request: HttpRequest, me, attempt_id: int) -> CallAttempt:
    try:
        attempt = selectors.attempt_get(user=request.user, attempt_id=attempt_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if attempt.agent_id != me.pk:
        raise PermissionDenied(_("This is not your call."))
    return attempt


def _lead_of_my_call(request: HttpRequest, me, attempt: CallAttempt):
    """The lead of the agent's own call, still in their hands. When it moved since the page
    was opened (the team lead transferred it, it went back to the pool), a stale form is
    refused with ``LeadMoved`` (409), and nothing is written."""
    try:
        return _my_lead(request, me, attempt.lead_id)
    except (Http404, PermissionDenied) as exc:
        raise LeadMoved(
            _(
                "This lead is no longer in your hands: it was moved after you opened it. "
                "Nothing was recorded."
            )
        ) from exc


def _workspace(view):
    """An htmx request that is refused (403) or names something missing (404) gets a short
    alert in the lead panel rather than the whole error page; so does a form for a call
    whose lead moved meanwhile (409; without htmx, a message on the workspace)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except LeadMoved as exc:
            if not request.htmx:
                messages.error(request, exc.message)
                return redirect("calls:workspace")
            response = render(
                request, f"{TEMPLATE}#refused", {"message": exc.message}, status=exc.status
            )
            response["HX-Retarget"] = "#lead-panel"
            response["HX-Reswap"] = "innerHTML"
            return response
        except (PermissionDenied, Http404) as exc:
            if not request.htmx:
                raise
            status = 403 if isinstance(exc, PermissionDenied) else 404
            message = str(exc) or (
                _("You may not do this here.") if status == 403 else _("Not found.")
            )
            response = render(request, f"{TEMPLATE}#refused", {"message": message}, status=status)
            response["HX-Retarget"] = "#lead-panel"
            response["HX-Reswap"] = "innerHTML"
            return response

    return wrapper


def _status_for(exc: DomainError) -> int:
    """A refusal's status: one htmx swaps into the page (bad input is 422)."""
    return exc.status if exc.status in SWAPPED else 422


# --- Context -------------------------------------------------------------------------------
def _today_bounds(now: dt.datetime) -> tuple[dt.date, dt.date]:
    today = timezone.localdate(now)
    return today, today + timedelta(days=1)


def _queue_context(request: HttpRequest, me, *, day: str = "") -> dict:
    """The follow-up queue: due now (overdue first), or the queue of a day (today, tomorrow
    or any ``YYYY-MM-DD``): the follow-ups due by the end of that day."""
    now = timezone.now()
    today, tomorrow = _today_bounds(now)
    chosen = None
    if day == "today":
        chosen = today
    elif day == "tomorrow":
        chosen = tomorrow
    elif day:
        try:
            chosen = dt.date.fromisoformat(day[:10])
        except ValueError:
            chosen = None
        if chosen is not None and date_out_of_range(chosen):
            chosen = None  # a day outside the center's years (9999-12-31): the due queue
    if chosen is None:
        qs = selectors.followup_due_list(user=request.user, agent=me, until=now)
        tab = "due"
    else:
        qs = selectors.followup_day_list(user=request.user, agent=me, day=chosen)
        tab = "today" if chosen == today else ("tomorrow" if chosen == tomorrow else "day")
    rows = list(qs[: QUEUE_LIMIT + 1])
    return {
        "queue": rows[:QUEUE_LIMIT],
        "queue_more": len(rows) > QUEUE_LIMIT,
        "queue_tab": tab,
        "queue_day": chosen,
        "today": today,
        "tomorrow": tomorrow,
        "now": now,
    }


def _tasks_context(request: HttpRequest, me) -> dict:
    tasks = list(
        policy_selectors.service_task_due_list(user=request.user, agent=me).select_related("lead")[
            :QUEUE_LIMIT
        ]
    )
    return {"tasks": tasks}


def _presence_context(me, *, error: str = "") -> dict:
    presence = selectors.presence_get(agent=me)
    return {
        "presence": presence,
        "presence_error": error,
        "self_states": [AgentState.IDLE, AgentState.BREAK, AgentState.OFFLINE],
        "on_call": presence.state in (AgentState.DIALLING, AgentState.TALKING),
    }


def _header_context(me) -> dict:
    figures = selectors.agent_day_figures(agent=me)
    figures = {**figures, "talk_minutes": talk_minutes(figures.get("talk_seconds"))}
    return {
        "figures": figures,
        "pools": dispatch.pool_counts(agent=me),
    }


def _unfinished_call(me) -> CallAttempt | None:
    """The agent's current call (presence) while it is open or has no outcome yet."""
    presence = selectors.presence_get(agent=me)
    attempt = presence.attempt if presence.attempt_id else None
    if attempt is not None and attempt.disposition_id is None and attempt.lead.owner_id == me.pk:
        return attempt
    return None


def _pending_attempt(attempts: list[CallAttempt], me) -> CallAttempt | None:
    """This agent's latest call on the lead while it still needs them: in progress, or
    ended without an outcome. (A sale recorded during the call leaves it in progress.)"""
    for attempt in attempts:
        if attempt.agent_id == me.pk:
            if attempt.ended_at is None or attempt.disposition_id is None:
                return attempt
            return None
    return None


def _sale_attempt(attempts: list[CallAttempt], me) -> CallAttempt | None:
    """The call a sale is recorded on: the agent's latest answered call on the lead that has
    no outcome yet, or whose outcome is a sale (a second policy for the household)."""
    for attempt in attempts:
        if attempt.agent_id != me.pk:
            continue
        if attempt.answered_at and (attempt.disposition_id is None or attempt.disposition.sale):
            return attempt
        return None
    return None


def _member_rows(members: list, today: dt.date) -> list[dict]:
    return [{"customer": m, "age": age_of(m.birth_date, today)} for m in members]


def _sale_form(request: HttpRequest, me, lead, members, data=None) -> SaleForm:
    """The sale form: the products on sale that the agent's grade allows, the household as
    the insured persons (the customer ticked). Choosing a product shows its prompts."""
    products = policy_selectors.product_list(user=request.user, active_only=True).filter(
        grade__lte=me.capability_grade or 1
    )
    form = SaleForm(data, products=products, members=members, prefix="sale")
    if data is None and members:
        form.initial["insured_ids"] = [members[0].pk]
    form.fields["product"].widget.attrs.update(
        {
            "hx-get": reverse("calls:workspace_script", args=[lead.pk]),
            "hx-target": "#script",
            "hx-swap": "innerHTML",
        }
    )
    return form


def _script_products(request: HttpRequest) -> list:
    return list(policy_selectors.product_list(user=request.user, active_only=True))


def _product_for_script(request: HttpRequest, value) -> object | None:
    if not value or not str(value).isdigit() or len(str(value)) > 12:
        return None
    try:
        return policy_selectors.product_get(user=request.user, product_id=int(value))
    except NotFound:
        return None


def _talk_elapsed(pending: CallAttempt | None) -> int | None:
    """Seconds the call in progress has been answered, by the server's clock: the page's
    timer counts on from this, so a PC clock that is off does not change what it shows."""
    if pending is None or pending.answered_at is None or pending.ended_at is not None:
        return None
    return max(0, int((timezone.now() - pending.answered_at).total_seconds()))


def talk_clock(seconds: int | None) -> str:
    """The talk timer's text: ``mm:ss``, and ``h:mm:ss`` from an hour on (a call left open
    since yesterday reads 27:46:57, not 1666:57). The page's script counts on the same way."""
    if seconds is None:
        return ""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes:02d}:{secs:02d}"


def talk_minutes(seconds: int | None) -> int:
    """Talk time in whole minutes, the minutes begun but not finished left out: the rule of
    the home page's "my day" card (90 s of talk is 1 minute in both)."""
    return max(0, int(seconds or 0)) // 60


def _call_context(
    request: HttpRequest, me, lead, attempts, *, members, kind=CallKind.SALES, **forms
) -> dict:
    pending = _pending_attempt(attempts, me)
    sale_attempt = _sale_attempt(attempts, me)
    blocks = [] if pending else dial_blocks(lead=lead, agent=me, kind=kind)
    dispositions = list(selectors.disposition_list())
    call_error = forms.get("call_error", "")
    # A refused form whose section is no longer shown (the call's outcome was recorded
    # meanwhile, the call was not answered): its errors go to the top of the call box.
    awaiting_outcome = pending if pending and not pending.disposition_id else None
    for name, shown in (("disposition_form", awaiting_outcome), ("sale_form", sale_attempt)):
        form = forms.get(name)
        if form is not None and form.errors and shown is None and not call_error:
            call_error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    context = {
        "pending": pending,
        "sale_attempt": sale_attempt,
        "blocks": blocks,
        "disposition_form": forms.get("disposition_form")
        or DispositionForm(dispositions=dispositions, prefix="dispo"),
        "sale_form": forms.get("sale_form") or _sale_form(request, me, lead, members),
        "last_attempt": next((a for a in attempts if a.agent_id == me.pk), None),
        "call_error": call_error,
        "talk_elapsed": _talk_elapsed(pending),
        "talk_elapsed_text": talk_clock(_talk_elapsed(pending)),
        # A call answered on an earlier day (left open overnight) shows its date.
        "talk_since_other_day": bool(
            pending
            and pending.answered_at
            and timezone.localdate(pending.answered_at) != timezone.localdate()
        ),
    }
    return context


def _renewal_context(request: HttpRequest, me, lead, attempts) -> dict | None:
    """The renewal premium this lead is in the agent's hands for (a renewal dispatch), or
    that the agent's open call on it serves: policy number, premium, due date, grace end."""
    presence = selectors.presence_get(agent=me)
    task_id = presence.renewal_task_id if presence.lead_id == lead.pk else None
    pending = _pending_attempt(attempts, me)
    if pending is not None and pending.renewal_task_id:
        task_id = pending.renewal_task_id
    if not task_id:
        return None
    try:
        task = operations_selectors.renewal_task_get(user=request.user, task_id=task_id)
    except NotFound:
        return None
    return {
        "task": task,
        "policy_number": task.policy.number,
        "amount": task.premium_due.amount,
        "due_date": task.premium_due.due_date,
        "grace_until": grace_end(task.premium_due),
        "in_grace": task.premium_due.status == PremiumStatus.IN_GRACE,
    }


def _service_task_rows(request: HttpRequest, me, lead, now, refused=None) -> list[dict]:
    """The agent's service calls due for this lead (welcome call, free-look check-in,
    extended-service suggestion), each with a "done" form — the workspace's own, which books
    the next service call of an interested extended-service customer — and the task list's
    "call later" form, so that the call's result is recorded where the call was made.
    ``refused``: a "done" form the service refused, shown with its errors."""
    tasks = policy_selectors.service_task_due_list(user=request.user, agent=me).filter(
        lead_id=lead.pk
    )[:5]
    return [
        {
            "task": task,
            "suggestion": (
                services.service_suggestion_words(task)
                if task.kind == TaskKind.EXTENDED_SERVICE
                else ""
            ),
            "complete_form": (
                refused
                if refused is not None and refused.task_id == task.pk
                else ServiceTaskOutcomeForm(kind=task.kind, auto_id=task_auto_id(task.pk))
            ),
            "reschedule_form": TaskRescheduleForm(auto_id=task_auto_id(task.pk)),
            "show_agent": False,
            "now": now,
        }
        for task in tasks
    ]


def _lead_context(
    request: HttpRequest, me, lead, *, source: str = "", product=None, **forms
) -> dict:
    """Everything the lead panel shows."""
    now = timezone.now()
    today = timezone.localdate(now)
    customer = lead.customer
    members = household_members(customer)
    attempts = list(selectors.lead_attempts(lead=lead)[:ATTEMPTS_LIMIT])
    open_followup = (
        selectors.followup_list(user=request.user, agent=me).filter(lead_id=lead.pk).first()
    )
    events = list(lead_selectors.lead_history(lead=lead).order_by("-at", "-id")[:HISTORY_LIMIT])
    context = {
        "lead": lead,
        "customer": customer,
        "customer_age": age_of(customer.birth_date, today),
        "members": _member_rows(members[1:], today),
        "holdings": list(policy_selectors.household_holdings(customer=customer)[:20]),
        "suggestions": [],
        "events": events,
        "attempts": attempts,
        "open_followup": open_followup,
        "source": source,
        "source_label": DispatchSource(source).label if source in DispatchSource.values else "",
        "followup_form": forms.get("followup_form") or FollowUpForm(prefix="fu"),
        "script": call_script(agent=me, product=product),
        "script_product": product,
        "script_products": _script_products(request),
        "now": now,
        "panel_message": forms.get("panel_message", ""),
        "panel_error": forms.get("panel_error", ""),
        "is_open": lead.state in OPEN_STATES,
        "me": me,
    }
    if context["holdings"]:
        # Extended service (延伸服务): what the household still lacks, after a sale.
        # Only what this agent may sell (their capability grade), as the service tasks do.
        context["suggestions"] = household_suggestions(
            customer=customer, on=today, grade=me.capability_grade or 1
        )
    renewal = _renewal_context(request, me, lead, attempts)
    context["renewal"] = renewal
    context["service_rows"] = _service_task_rows(
        request, me, lead, now, refused=forms.get("task_form")
    )
    # The guards shown are those of the call the button places (``call_start``'s default).
    kind = (
        CallKind.RENEWAL
        if renewal
        else services.default_call_kind(
            presence=selectors.presence_get(agent=me), lead=lead, agent=me
        )
    )
    context.update(_call_context(request, me, lead, attempts, members=members, kind=kind, **forms))
    return context


def _page_context(request: HttpRequest, me) -> dict:
    context = {"me": me}
    if me is None:
        return context
    context.update(_presence_context(me))
    context.update(_header_context(me))
    context.update(_queue_context(request, me))
    context.update(_tasks_context(request, me))
    return context


def _respond(
    request: HttpRequest,
    me,
    partial: str,
    context: dict,
    *,
    status: int = 200,
    refresh_queue: bool = False,
) -> HttpResponse:
    """htmx: the named partial (with the presence card out of band); otherwise the page."""
    if request.htmx:
        context = {**_presence_context(me), **context, "oob": True}
        response = render(request, f"{TEMPLATE}#{partial}", context, status=status)
        response["HX-Retarget"] = TARGETS.get(partial, f"#{partial}")
        response["HX-Reswap"] = "innerHTML"
        if refresh_queue:
            response["HX-Trigger"] = "workspace-changed"
        return response
    lead = context.get("lead")
    if request.method == "POST" and status < 400 and lead is not None:
        # Without htmx: post, redirect, get — a reload never repeats the action.
        if context.get("panel_message"):
            messages.success(request, context["panel_message"])
        return redirect(f"{reverse('calls:workspace')}?lead={lead.pk}")
    full = _page_context(request, me)
    full.update(context)
    return render(request, TEMPLATE, full, status=status)


# --- Pages ---------------------------------------------------------------------------------
@login_required
@require_GET
@never_cache
def workspace_view(request: HttpRequest) -> HttpResponse:
    """The workspace. Opens the lead in the agent's hands, or ``?lead=<id>`` (own leads)."""
    me = _require_agent(request)
    context = _page_context(request, me)
    if me is not None:
        wanted = request.GET.get("lead", "")
        presence = context["presence"]
        lead = None
        source = ""
        if wanted.isascii() and wanted.isdigit() and len(wanted) < 12:
            why = ""
            try:
                lead = _my_lead(request, me, int(wanted))
            except Http404:
                why = _why_not_yours(me, int(wanted))
                if not why:
                    raise
            if why:  # a lead the agent held: the workspace says where it went
                messages.warning(request, why)
        elif presence.lead_id:
            try:
                lead = lead_selectors.lead_get(user=request.user, lead_id=presence.lead_id)
            except NotFound:
                lead = None
            if lead is not None and lead.owner_id != me.pk:
                lead = None
            source = presence.source
        if lead is not None:
            context.update(_lead_context(request, me, lead, source=source))
    return render(request, TEMPLATE, context)


@login_required
@require_POST
@_workspace
def workspace_next_view(request: HttpRequest) -> HttpResponse:
    """Hand out the next lead, or show why there is none (every reason, its count and fix)."""
    me = _require_person(request)
    unfinished = _unfinished_call(me)
    if unfinished is not None:
        # One call at a time: the outcome of the current call comes before the next lead.
        lead = lead_selectors.lead_get(user=request.user, lead_id=unfinished.lead_id)
        message = _("Finish the current call and record its outcome before the next lead.")
        context = _lead_context(request, me, lead, panel_error=message)
        return _respond(request, me, "lead_panel", context, status=409)
    try:
        found = dispatch.next_lead(agent=me, actor=request.user)
    except NothingToDispatch as exc:
        context = {"nothing": exc.details.get("reasons", []), "nothing_message": exc.message}
        return _respond(request, me, "lead_panel", context, status=200, refresh_queue=True)
    except DomainError as exc:
        context = {"panel_error": exc.message}
        return _respond(request, me, "lead_panel", context, status=_status_for(exc))
    lead = lead_selectors.lead_get(user=request.user, lead_id=found.lead.pk)
    context = _lead_context(request, me, lead, source=found.source)
    return _respond(request, me, "lead_panel", context, refresh_queue=True)


@login_required
@require_GET
@never_cache
@_workspace
def workspace_lead_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """One of the agent's own leads in the panel (from the queue or the task list)."""
    me = _require_person(request)
    lead = _my_lead(request, me, lead_id)
    return _respond(request, me, "lead_panel", _lead_context(request, me, lead))


@login_required
@require_GET
@never_cache
@_workspace
def workspace_script_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The call script with the prompts of the product chosen (``?product=<id>``)."""
    me = _require_person(request)
    lead = _my_lead(request, me, lead_id)
    product = _product_for_script(
        request, request.GET.get("product") or request.GET.get("sale-product")
    )
    context = {
        "lead": lead,
        "script": call_script(agent=me, product=product),
        "script_product": product,
        "script_products": _script_products(request),
    }
    if request.htmx:
        return render(request, f"{TEMPLATE}#script", context)
    return _respond(request, me, "lead_panel", _lead_context(request, me, lead, product=product))


@login_required
@require_GET
@never_cache
@_workspace
def workspace_queue_view(request: HttpRequest) -> HttpResponse:
    """The side column: the follow-up queue (``?day=today|tomorrow|YYYY-MM-DD``) and the
    due service tasks."""
    me = _require_person(request)
    context = {"me": me, **_queue_context(request, me, day=request.GET.get("day", "")[:10])}
    context.update(_tasks_context(request, me))
    context.update(_header_context(me))
    if request.htmx:
        return render(request, f"{TEMPLATE}#side", context)
    full = _page_context(request, me)
    full.update(context)
    return render(request, TEMPLATE, full)


@login_required
@require_POST
@_workspace
def workspace_presence_view(request: HttpRequest) -> HttpResponse:
    """Ready / break / offline."""
    me = _require_person(request)
    form = PresenceForm(request.POST)
    status = 200
    error = ""
    if not form.is_valid():
        error = _("Choose ready, break or offline.")
        status = 422
    else:
        try:
            services.presence_set(agent=me, state=form.cleaned_data["state"], actor=request.user)
        except DomainError as exc:
            error, status = exc.message, _status_for(exc)
    if request.htmx:
        return render(
            request, f"{TEMPLATE}#presence", _presence_context(me, error=error), status=status
        )
    context = _page_context(request, me)
    context.update(_presence_context(me, error=error))
    return render(request, TEMPLATE, context, status=status)


# --- Calls ---------------------------------------------------------------------------------
#: A form whose input was refused (422) is swapped alone, so that what the agent typed in the
#: call box's other form (the outcome while recording a sale, or the reverse) stays.
_REFUSED_FORM = {
    "disposition_form": ("disposition_box", "#disposition-form"),
    "sale_form": ("sale_box", "#sale-section"),
}


def _call_respond(request, me, lead, *, status=200, refresh=True, whole=False, **forms):
    """After a call action: the call box (and the calls table, out of band), or the whole
    lead panel when the lead itself changed; a form refused for its input, alone. When the
    lead has left the agent's hands (a "do not call" request, an invalid number), the panel
    empties with what was recorded."""
    try:
        lead = lead_selectors.lead_get(user=request.user, lead_id=lead.pk)
    except NotFound:
        return _lead_gone_respond(request, me, forms.get("panel_message", ""))
    context = _lead_context(request, me, lead, **forms)
    refused = [_REFUSED_FORM[name] for name in forms if name in _REFUSED_FORM]
    if request.htmx and status == 422 and len(refused) == 1 and not whole:
        partial, target = refused[0]
        response = render(request, f"{TEMPLATE}#{partial}", context, status=status)
        response["HX-Retarget"] = target
        response["HX-Reswap"] = "outerHTML"
        return response
    partial = "lead_panel" if whole else "call_update"
    return _respond(
        request, me, partial, context, status=status, refresh_queue=refresh and status < 400
    )


def _lead_gone_respond(request, me, message: str) -> HttpResponse:
    """The lead panel without a lead: what was recorded, and that the lead is no longer the
    agent's (htmx); without htmx, the same as a message on the workspace, after a redirect."""
    gone = _("The lead is no longer in your list.")
    message = f"{message} {gone}" if message else gone
    if not request.htmx:
        messages.success(request, message)
        return redirect(reverse("calls:workspace"))
    return _respond(request, me, "lead_panel", {"panel_message": message}, refresh_queue=True)


@login_required
@require_POST
@_workspace
def workspace_call_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Dial the lead (the compliance guards decide; a refusal lists every reason)."""
    me = _require_person(request)
    lead = _my_lead(request, me, lead_id)
    # "Call for this service task" (the lead panel's service card): a service call, which
    # the service refuses unless the agent has an open service task on this lead.
    kind = CallKind.SERVICE if request.POST.get("kind") == CallKind.SERVICE else None
    try:
        services.call_start(lead=lead, agent=me, actor=request.user, kind=kind)
    except DomainError as exc:
        reasons = exc.details.get("reasons") if isinstance(exc.details, dict) else None
        text = exc.message
        if reasons:
            text = " ".join(
                _("%(reason)s (%(fix)s)") % {"reason": r["message"], "fix": r["fix"]}
                if r.get("fix")
                else r["message"]
                for r in reasons
            )
        return _call_respond(request, me, lead, status=_status_for(exc), call_error=text)
    return _call_respond(request, me, lead)


@login_required
@require_POST
@_workspace
def workspace_answer_view(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """The customer picked up (the simulated switch cannot tell; a real one reports it)."""
    me = _require_person(request)
    attempt = _my_attempt(request, me, attempt_id)
    lead = _lead_of_my_call(request, me, attempt)
    try:
        services.call_answer(attempt=attempt, actor=request.user)
    except DomainError as exc:
        return _call_respond(request, me, lead, status=_status_for(exc), call_error=exc.message)
    return _call_respond(request, me, lead)


@login_required
@require_POST
@_workspace
def workspace_hangup_view(request: HttpRequest, attempt_id: int) -> HttpResponse:
    me = _require_person(request)
    attempt = _my_attempt(request, me, attempt_id)
    lead = _lead_of_my_call(request, me, attempt)
    try:
        services.call_end(attempt=attempt, actor=request.user)
    except DomainError as exc:
        return _call_respond(request, me, lead, status=_status_for(exc), call_error=exc.message)
    return _call_respond(request, me, lead)


@login_required
@require_POST
@_workspace
def workspace_disposition_view(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Record how the call ended; interested / callback book the next follow-up."""
    me = _require_person(request)
    attempt = _my_attempt(request, me, attempt_id)
    lead = _lead_of_my_call(request, me, attempt)
    form = DispositionForm(
        request.POST, dispositions=list(selectors.disposition_list()), prefix="dispo"
    )
    if form.is_valid():
        try:
            recorded = services.disposition_record(
                attempt=attempt,
                disposition=form.chosen,
                actor=request.user,
                note=form.cleaned_data["note"],
                callback_at=form.cleaned_data["callback_at"],
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return _call_respond(request, me, lead, status=_status_for(exc), disposition_form=form)
        message = _("Outcome recorded: %(name)s.") % {"name": form.chosen.name}
        if recorded.returned_to_pool_after:
            message += " " + _(
                "The lead went back to the public pool after %(n)d follow-ups without a sale."
            ) % {"n": recorded.returned_to_pool_after}
        booked = (
            selectors.followup_list(user=request.user, agent=me)
            .filter(created_from_id=attempt.pk)
            .first()
        )
        if booked is not None:
            # Say what was booked (the cadence's next step, a callback, a won lead's service
            # call), so that the outcome never reads as booked when nothing was.
            message += " " + _("%(kind)s booked for %(when)s.") % {
                "kind": booked.get_kind_display(),
                "when": timezone.localtime(booked.due_at).strftime("%Y-%m-%d %H:%M"),
            }
        return _call_respond(request, me, lead, whole=True, refresh=True, panel_message=message)
    return _call_respond(request, me, lead, status=422, disposition_form=form)


@login_required
@require_POST
@_workspace
def workspace_sale_view(request: HttpRequest, attempt_id: int) -> HttpResponse:
    """Record a sale on an answered call: the policy, the sale outcome, the recording kept."""
    me = _require_person(request)
    attempt = _my_attempt(request, me, attempt_id)
    lead = _lead_of_my_call(request, me, attempt)
    members = household_members(lead.customer)
    form = _sale_form(request, me, lead, members, data=request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            policy = services.sale_record(
                attempt=attempt,
                product=data["product"],
                annualised_premium=data["annualised_premium"],
                payment_mode=data["payment_mode"],
                term_years=data["term_years"],
                insured_ids=list(data["insured_ids"]),
                actor=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            return _call_respond(request, me, lead, status=_status_for(exc), sale_form=form)
        message = _("Sale recorded: %(product)s, %(premium)s yuan a year (policy #%(id)d).") % {
            "product": policy.product.name,
            "premium": policy.annualised_premium,
            "id": policy.pk,
        }
        return _call_respond(request, me, lead, whole=True, refresh=True, panel_message=message)
    return _call_respond(request, me, lead, status=422, sale_form=form)


@login_required
@require_POST
@_workspace
def workspace_followup_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Book the next call on the lead (it replaces the lead's open follow-up)."""
    me = _require_person(request)
    lead = _my_lead(request, me, lead_id)
    form = FollowUpForm(request.POST, prefix="fu")
    if form.is_valid():
        data = form.cleaned_data
        try:
            followup = services.followup_schedule(
                lead=lead,
                agent=me,
                due_at=data["due_at"],
                kind=data["kind"],
                note=data["note"],
                actor=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = _status_for(exc)
        else:
            message = _("Follow-up booked for %(when)s.") % {
                "when": timezone.localtime(followup.due_at).strftime("%Y-%m-%d %H:%M")
            }
            return _call_respond(request, me, lead, whole=True, refresh=True, panel_message=message)
    else:
        status = 422
    lead = lead_selectors.lead_get(user=request.user, lead_id=lead.pk)
    context = _lead_context(request, me, lead, followup_form=form)
    return _respond(request, me, "followup", context, status=status)


@login_required
@require_POST
@_workspace
def workspace_task_complete_view(request: HttpRequest, task_id: int) -> HttpResponse:
    """A service task's outcome, recorded in the lead panel: the task is done and, for an
    interested extended-service customer, the next service call is booked (shown under
    "Next call")."""
    me = _require_person(request)
    try:
        task = policy_selectors.service_task_get(user=request.user, task_id=task_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    if task.agent_id != me.pk or not task.lead_id:
        raise PermissionDenied(_("This task is not yours."))
    lead = _my_lead(request, me, task.lead_id)
    form = ServiceTaskOutcomeForm(request.POST, kind=task.kind, auto_id=task_auto_id(task.pk))
    form.task_id = task.pk
    status = 422
    if form.is_valid():
        data = form.cleaned_data
        try:
            _done, booked = services.service_task_outcome_record(
                task=task,
                outcome=data["outcome"],
                note=data.get("note") or "",
                callback_at=data.get("callback_at"),
                actor=request.user,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = _status_for(exc)
        else:
            message = _("%(task)s done: %(outcome)s.") % {
                "task": task.get_kind_display(),
                "outcome": TaskOutcome(data["outcome"]).label,
            }
            if booked is not None:
                message += " " + _("%(kind)s booked for %(when)s.") % {
                    "kind": booked.get_kind_display(),
                    "when": timezone.localtime(booked.due_at).strftime("%Y-%m-%d %H:%M"),
                }
            return _call_respond(request, me, lead, whole=True, refresh=True, panel_message=message)
    return _call_respond(request, me, lead, status=status, whole=True, task_form=form)


urlpatterns = [
    path("workspace/", workspace_view, name="workspace"),
    path("workspace/next/", workspace_next_view, name="workspace_next"),
    path("workspace/side/", workspace_queue_view, name="workspace_queue"),
    path("workspace/presence/", workspace_presence_view, name="workspace_presence"),
    path("workspace/leads/<int:lead_id>/", workspace_lead_view, name="workspace_lead"),
    path("workspace/leads/<int:lead_id>/script/", workspace_script_view, name="workspace_script"),
    path("workspace/leads/<int:lead_id>/call/", workspace_call_view, name="workspace_call"),
    path(
        "workspace/leads/<int:lead_id>/followup/",
        workspace_followup_view,
        name="workspace_followup",
    ),
    path(
        "workspace/calls/<int:attempt_id>/answer/", workspace_answer_view, name="workspace_answer"
    ),
    path(
        "workspace/calls/<int:attempt_id>/hangup/", workspace_hangup_view, name="workspace_hangup"
    ),
    path(
        "workspace/calls/<int:attempt_id>/disposition/",
        workspace_disposition_view,
        name="workspace_disposition",
    ),
    path("workspace/calls/<int:attempt_id>/sale/", workspace_sale_view, name="workspace_sale"),
    path(
        "workspace/tasks/<int:task_id>/complete/",
        workspace_task_complete_view,
        name="workspace_task_complete",
    ),
]
