"""HTML pages of the leads app: the data officer's screens, the agent's pools, lead details.

Phone numbers never reach a page in full: lists and details show ``mask_phone``; the one
exception is the reveal answer, shown once to a permitted user, audited, and sent with
``Cache-Control: no-store`` (never put in a message, the session or a log). A form the data
officer must correct (adding a number to the do-not-call list) keeps what they typed.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from telesales.core.errors import DomainError, ValidationFailed
from telesales.core.form_errors import add_domain_error, page_status
from telesales.core.id_numbers import mask_id_number
from telesales.core.pages import get_or_404, page_of, require
from telesales.core.permissions import can_view_audit_log
from telesales.core.phone_numbers import mask_phone, normalise_phone, phone_hash
from telesales.core.roles import Role, has_role
from telesales.leads import (
    allocation,
    channels,
    exporting,
    importing,
    number_access,
    permissions,
    rulesets,
    selectors,
    services,
)
from telesales.leads.choices import (
    OPEN_STATES,
    AllocationStrategy,
    BatchStatus,
    LeadState,
    RejectReason,
)
from telesales.leads.errors import DncAlreadyListed
from telesales.leads.forms import (
    AllocationForm,
    BatchUploadForm,
    ChannelForm,
    DncAddForm,
    DncImportForm,
    HouseholdMemberForm,
    LeadExportForm,
    LeadFilterForm,
    MappingForm,
    NumberAccessForm,
    PoolFilterForm,
    ReasonForm,
    RejectionReportForm,
    RuleSetForm,
)
from telesales.leads.models import LeadRuleSet
from telesales.leads.recycling import lead_recycle_warnings
from telesales.leads.rules import ruleset_for_person, ruleset_in_force
from telesales.org import selectors as org_selectors
from telesales.org.choices import PersonStatus, TeamKind, TeamStage


# --- Data officer home -------------------------------------------------------------------
@login_required
def home_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.sees_all_leads(user))
    counts = selectors.lead_state_counts(user=user)
    can_manage = permissions.can_manage_leads(user)
    pool = selectors.public_pool_summary(user=user)
    context = {
        "counts": counts,
        "total": sum(counts.values()),
        "private": counts[LeadState.OWNED] + counts[LeadState.IN_PROGRESS],
        "state_labels": dict(LeadState.choices),
        "batches": importing.batches_stale_mark(selectors.batch_list(user=user)[:8]),
        "dnc_count": selectors.dnc_list(user=user).count() if can_manage else None,
        "pool_by_grade": pool["by_grade"],
        "pool_total": sum(row["n"] for row in pool["by_grade"]),
        "allocations": list(selectors.allocation_list(user=user)[:5]),
        "can_manage": can_manage,
    }
    return render(request, "leads/home.html", context)


# --- Lead list and detail ----------------------------------------------------------------
@login_required
def lead_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_leads(user))
    sees_all = permissions.sees_all_leads(user)
    form = LeadFilterForm(
        request.GET or None,
        channels=selectors.channel_list(user=user),
        batches=selectors.batch_list(user=user) if sees_all else None,
        teams=org_selectors.team_list(user=user, kind=TeamKind.SALES) if sees_all else None,
    )
    leads = selectors.lead_list(user=user, **form.selector_filters())
    page = page_of(request, leads)
    template = "leads/lead_list.html#table" if request.htmx else "leads/lead_list.html"
    return render(
        request,
        template,
        {
            "page": page,
            "form": form,
            "can_export": permissions.can_export_leads(user),
            "sees_all": sees_all,
            "query": request.GET.urlencode(),
        },
    )


def _lead_context(request: HttpRequest, lead, **extra) -> dict:
    user = request.user
    me = org_selectors.person_for_user(user)
    household = []
    if lead.customer.household_id:
        household = list(
            lead.customer.household.members.exclude(pk=lead.customer_id)
            .select_related("relation_to")
            .order_by("id")[:20]
        )
    can_manage = permissions.can_manage_leads(user)
    is_owner = bool(me and lead.owner_id == me.pk)
    return {
        "lead": lead,
        "customer": lead.customer,
        "household": household,
        "events": selectors.lead_history(lead=lead),
        "can_reveal": permissions.can_reveal_phone(user),
        "can_claim": permissions.can_claim(user) and lead.state == LeadState.PUBLIC,
        "can_release": lead.state in OPEN_STATES and (is_owner or can_manage),
        "is_owner": is_owner,
        "show_id_number": can_manage,
        "id_number_masked": mask_id_number(lead.customer.id_number) if can_manage else "",
        "reveal_form": ReasonForm(placeholder=_("Why do you need the full number?")),
        "release_form": ReasonForm(placeholder=_("Why do you release this lead?")),
        "can_edit_household": services.can_edit_household(user, lead),
        "household_form": HouseholdMemberForm(),
        "now": timezone.now(),
        **extra,
    }


@login_required
def lead_detail_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    require(permissions.can_view_leads(request.user))
    lead = get_or_404(selectors.lead_get, user=request.user, lead_id=lead_id)
    return render(request, "leads/lead_detail.html", _lead_context(request, lead))


@login_required
@require_POST
def lead_reveal_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Show the full number once, to a permitted user, with a reason; audited by the service
    (a refused attempt too)."""
    if not permissions.can_reveal_phone(request.user):
        services.phone_reveal_refused(
            lead_id=lead_id, actor=request.user, via="page", reason=request.POST.get("reason", "")
        )
        require(False)
    lead = get_or_404(selectors.lead_get, user=request.user, lead_id=lead_id)
    form = ReasonForm(request.POST, placeholder=_("Why do you need the full number?"))
    number = None
    status = 200
    if form.is_valid():
        try:
            number = services.lead_phone_reveal(
                lead=lead, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
    else:
        status = 422
    if request.htmx:
        response = render(
            request,
            "leads/lead_detail.html#reveal",
            {"lead": lead, "reveal_form": form, "revealed": number, "can_reveal": True},
            status=status,
        )
    else:
        context = _lead_context(request, lead, revealed=number)
        context["reveal_form"] = form
        response = render(request, "leads/lead_detail.html", context, status=status)
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def household_add_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    """Record a family member of the lead's customer (feeds extended service)."""
    require(permissions.can_view_leads(request.user))
    lead = get_or_404(selectors.lead_get, user=request.user, lead_id=lead_id)
    require(services.can_edit_household(request.user, lead))
    form = HouseholdMemberForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            with transaction.atomic():
                member = services.household_member_add(
                    lead=lead, actor=request.user, **form.cleaned_data
                )
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            messages.success(
                request,
                _("%(name)s is recorded in the household.") % {"name": member.name},
            )
            return redirect("leads:lead_detail", lead_id=lead.pk)
    lead = get_or_404(selectors.lead_get, user=request.user, lead_id=lead_id)
    context = _lead_context(request, lead)
    context["household_form"] = form
    return render(request, "leads/lead_detail.html", context, status=status)


@login_required
@require_POST
def household_remove_view(request: HttpRequest, lead_id: int, member_id: int) -> HttpResponse:
    require(permissions.can_view_leads(request.user))
    lead = get_or_404(selectors.lead_get, user=request.user, lead_id=lead_id)
    require(services.can_edit_household(request.user, lead))
    member = (
        lead.customer.household.members.filter(pk=member_id).first()
        if (lead.customer.household_id)
        else None
    )
    if member is None:
        raise Http404("No such household member")
    reason = (request.POST.get("reason") or "").strip() or _("removed from the lead page")
    try:
        with transaction.atomic():
            services.household_member_remove(
                lead=lead, member=member, actor=request.user, reason=reason[:200]
            )
    except DomainError as exc:
        messages.error(request, str(exc))
        return redirect("leads:lead_detail", lead_id=lead.pk)
    messages.success(request, _("%(name)s is no longer in the household.") % {"name": member.name})
    return redirect("leads:lead_detail", lead_id=lead.pk)


def _back(request: HttpRequest, fallback: str) -> str:
    """Where to return after an action: the page the form came from, if it is ours."""
    target = request.POST.get("next", "")
    if target.startswith("/leads/") and "//" not in target:
        return target
    return fallback


@login_required
@require_POST
def lead_claim_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_claim(user))
    lead = get_or_404(selectors.lead_get, user=user, lead_id=lead_id)
    me = org_selectors.person_for_user(user)
    error = None
    status = 200
    if me is None:
        error = _("Your login is not linked to an employee record. Ask HR to link it.")
        status = 409
    else:
        try:
            lead = services.lead_claim(lead=lead, agent=me, actor=user)
        except DomainError as exc:
            error, status = exc.message, page_status(exc)
    if request.htmx:
        return render(
            request,
            "leads/public_pool.html#claim_result",
            {"lead": lead, "error": error},
            status=status,
        )
    if error:
        messages.error(request, error)
        return redirect(_back(request, reverse("leads:public_pool")))
    messages.success(request, _("Lead #%(id)d is now in your private pool.") % {"id": lead.pk})
    return redirect(_back(request, reverse("leads:lead_detail", args=[lead.pk])))


@login_required
@require_POST
def lead_release_view(request: HttpRequest, lead_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_view_leads(user))
    lead = get_or_404(selectors.lead_get, user=user, lead_id=lead_id)
    form = ReasonForm(request.POST, placeholder=_("Why do you release this lead?"))
    status = 200
    if form.is_valid():
        try:
            lead = services.lead_release(lead=lead, actor=user, reason=form.cleaned_data["reason"])
        except DomainError as exc:
            add_domain_error(form, exc)
            status = page_status(exc)
        else:
            if request.htmx:
                return render(
                    request, "leads/my_leads.html#released", {"lead": lead, "released": True}
                )
            messages.success(
                request, _("Lead #%(id)d is back in the public pool.") % {"id": lead.pk}
            )
            return redirect(_back(request, reverse("leads:my_leads")))
    else:
        status = 422
    if request.htmx:
        return render(
            request,
            "leads/my_leads.html#release_form",
            {"lead": lead, "release_form": form},
            status=status,
        )
    context = _lead_context(request, lead)
    context["release_form"] = form
    return render(request, "leads/lead_detail.html", context, status=status)


# --- Agent: my leads, the public pool; team lead: the team's leads -------------------------
@login_required
def my_leads_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_hold_leads(user))
    me = org_selectors.person_for_user(user)
    context: dict = {"me": me}
    if me is not None:
        ruleset = ruleset_for_person(me)
        leads = selectors.my_leads(user=user)
        context.update(
            {
                "page": page_of(request, leads),
                "warnings": list(lead_recycle_warnings(person=me)[:50]),
                "held": leads.count(),
                "cap": ruleset.cap_for_level(me.level.code if me.level_id else None),
                "claims_today": services.claims_today(me),
                "claim_limit": ruleset.daily_claim_limit,
                "soon": timezone.now() + timedelta(days=ruleset.recycle_warning_days),
                "release_form": ReasonForm(placeholder=_("Why do you release this lead?")),
            }
        )
    return render(request, "leads/my_leads.html", context)


@login_required
def public_pool_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_view_leads(user))
    form = PoolFilterForm(request.GET or None, channels=selectors.channel_list(user=user))
    filters = form.cleaned_data if form.is_valid() else {}
    leads = selectors.public_pool(user=user, grade=filters.get("grade") or None)
    if filters.get("channel"):
        leads = leads.filter(channel=filters["channel"])
    can_claim = permissions.can_claim(user)
    me = org_selectors.person_for_user(user) if can_claim else None
    quota = None
    if me is not None:
        quota = {
            "used": services.claims_today(me),
            "limit": ruleset_for_person(me).daily_claim_limit,
        }
    template = "leads/public_pool.html#table" if request.htmx else "leads/public_pool.html"
    return render(
        request,
        template,
        {"page": page_of(request, leads), "form": form, "can_claim": can_claim, "quota": quota},
    )


@login_required
def team_leads_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(has_role(user, Role.TEAM_LEAD))
    owner = request.GET.get("owner", "")
    owner_id = int(owner) if owner.isascii() and owner.isdigit() and len(owner) < 12 else None
    leads = selectors.team_lead_list(user=user, owner_id=owner_id)
    return render(
        request,
        "leads/team_leads.html",
        {
            "members": selectors.team_lead_counts(user=user),
            "page": page_of(request, leads),
            "owner_id": owner_id,
        },
    )


# --- Batches ---------------------------------------------------------------------------
@login_required
def batch_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.sees_all_leads(user))
    page = page_of(request, selectors.batch_list(user=user))
    page.object_list = importing.batches_stale_mark(page.object_list)
    return render(
        request,
        "leads/batch_list.html",
        {"page": page, "can_manage": permissions.can_manage_leads(user)},
    )


BUSY = (BatchStatus.PENDING, BatchStatus.RUNNING)


@login_required
def batch_detail_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    user = request.user
    require(permissions.sees_all_leads(user))
    batch = get_or_404(selectors.batch_get, user=user, batch_id=batch_id)
    # A batch left ``running`` by a run that died is not polled: it is shown interrupted,
    # with what applies (resume it, or discard it if it imported nothing). Nor is a batch
    # queued longer than TELESALES_IMPORT_QUEUE_MINUTES that no worker started: it is shown
    # waiting too long, and its import may be queued again.
    [batch] = importing.batches_stale_mark([batch])
    context = {
        "batch": batch,
        "busy": batch.status in BUSY and not batch.resumable,
        "queue_minutes": int(importing.import_queue_timeout().total_seconds() // 60),
        "can_manage": permissions.can_manage_leads(user),
        "may_reveal": permissions.can_reveal_phone(user),
        "can_discard": permissions.can_manage_leads(user) and importing.batch_discardable(batch),
        "stale_imported": max(batch.imported, batch.leads.count()) if batch.stale else 0,
    }
    if request.htmx and request.GET.get("part") == "progress":
        response = render(request, "leads/batch_detail.html#progress", context)
        if not context["busy"]:
            response["HX-Refresh"] = "true"  # finished: reload for the counts and rejections
        return response

    labels = dict(RejectReason.choices)
    # Warnings (a bad birth date, an ID number that fails its check) were imported, the field
    # left out: shown apart from the rows not imported (QA: both read as rejections).
    context["reasons"] = [
        {
            "label": labels.get(row["reason"], row["reason"]),
            "n": row["n"],
            "warning": importing.rejection_is_warning(row["reason"]),
        }
        for row in batch.rejections.order_by()
        .values("reason")
        .annotate(n=Count("id"))
        .order_by("-n")
    ]
    context["rejection_total"] = sum(row["n"] for row in context["reasons"])
    context["rejections"] = list(batch.rejections.order_by("row_number")[:20])
    for rejection in context["rejections"]:
        rejection.detail_text = importing.rejection_detail_text(rejection.reason, rejection.detail)
        rejection.warning = importing.rejection_is_warning(rejection.reason)
    context["lead_states"] = list(
        batch.leads.order_by().values("state").annotate(n=Count("id")).order_by("state")
    )
    context["state_labels"] = dict(LeadState.choices)
    return render(request, "leads/batch_detail.html", context)


# --- Pools -------------------------------------------------------------------------------
@login_required
def pool_overview_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.sees_all_leads(user))
    private = selectors.private_pool_counts(user=user)
    owners = (
        {
            p.pk: p
            for p in org_selectors.person_list(user=user, include_left=True).filter(
                pk__in=[row["owner_id"] for row in private]
            )
        }
        if private
        else {}
    )
    rulesets_by_stage: dict[str, LeadRuleSet] = {}
    for row in private:
        person = owners.get(row["owner_id"])
        if person is None:
            row["cap"] = None
            continue
        stage = person.team.stage
        if stage not in rulesets_by_stage:
            rulesets_by_stage[stage] = ruleset_in_force(stage=stage)
        row["cap"] = rulesets_by_stage[stage].cap_for_level(
            person.level.code if person.level_id else None
        )
        row["status"] = person.get_status_display()
        row["working"] = person.status not in (PersonStatus.LEFT, PersonStatus.SUSPENDED)
    pool = selectors.public_pool_summary(user=user)
    return render(
        request,
        "leads/pool_overview.html",
        {
            "pool": pool,
            "pool_total": sum(row["n"] for row in pool["by_grade"]),
            "private": private,
            "private_total": sum(row["held"] for row in private),
        },
    )


# --- Allocation --------------------------------------------------------------------------
_ALLOCATION_FIELDS = {
    "team_ids": "teams",
    "person_ids": "agents",
    "targets": "teams",
    "manual": "manual_counts",
    "manual.counts": "manual_counts",
    "manual.assignments": "manual_counts",
    "batch_id": "batch",
    "channel_id": "channel",
}


def _allocation_preset(user, params) -> dict:
    """``?batch=ID`` / ``?channel=ID`` from a link ("Allocate this batch"): the form starts
    on them when the user may choose them; anything else is ignored."""
    preset = {}
    for name, options in (
        ("batch", selectors.batch_list(user=user)),
        ("channel", selectors.channel_list(user=user)),
    ):
        value = params.get(name, "")
        if value.isdigit() and len(value) < 19:
            found = options.filter(pk=int(value)).first()
            if found is not None:
                preset[name] = found
    return preset


def _allocation_form(user, data=None, preset=None) -> AllocationForm:
    teams = org_selectors.team_list(user=user, kind=TeamKind.SALES)
    agents = (
        org_selectors.person_list(user=user)
        .filter(team__kind=TeamKind.SALES)
        .exclude(status__in=[PersonStatus.LEFT, PersonStatus.SUSPENDED])
        .order_by("team__name", "name")
    )
    return AllocationForm(
        data,
        batches=selectors.batch_list(user=user),
        channels=selectors.channel_list(user=user),
        teams=teams,
        agents=agents,
        initial={
            "strategy": AllocationStrategy.ROUND_ROBIN,
            "new_hire_protection": True,
            **(preset or {}),
        },
    )


@login_required
def allocation_create_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_leads(user))
    preset = _allocation_preset(user, request.GET) if request.method != "POST" else {}
    form = _allocation_form(user, request.POST if request.method == "POST" else None, preset)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                run = allocation.allocation_preview(actor=user, **form.service_arguments())
            except DomainError as exc:
                if hasattr(exc, "fields"):
                    exc.fields = {_ALLOCATION_FIELDS.get(k, k): v for k, v in exc.fields.items()}
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                return redirect("leads:allocation_detail", run_id=run.pk)
    return render(
        request,
        "leads/allocation_form.html",
        {
            "form": form,
            "runs": list(selectors.allocation_list(user=user)[:10]),
            "pool_total": selectors.public_pool(user=user).count(),
            # The batch the link came for: how many of its leads the pool still holds.
            "preset_batch": preset.get("batch"),
            "preset_in_pool": (
                selectors.public_pool(user=user).filter(batch=preset["batch"]).count()
                if "batch" in preset
                else None
            ),
        },
        status=status,
    )


def _run_or_404(user, run_id: int):
    run = selectors.allocation_list(user=user).filter(pk=run_id).first()
    if run is None:
        raise Http404("No such allocation")
    return run


def _allocation_detail(request: HttpRequest, run, *, error: str = "", status: int = 200):
    summary = run.summary or {}
    skip_labels = allocation.SKIP_REASONS
    return render(
        request,
        "leads/allocation_detail.html",
        {
            "run": run,
            "summary": summary,
            "leads": summary.get("leads", {}),
            "agents": summary.get("agents", []),
            # The summary stores reason codes; the labels are looked up now, in the reader's
            # language (the stored messages are in the language of whoever made the preview).
            "skipped": [
                {**row, "message": skip_labels.get(row.get("reason")) or row.get("message", "")}
                for row in summary.get("skipped_agents", [])
            ],
            "left": [
                {
                    "code": code,
                    "n": n,
                    "message": allocation.LEFT_REASONS.get(code)
                    or summary.get("left_messages", {}).get(code, code),
                }
                for code, n in sorted(
                    summary.get("left_by_reason", {}).items(), key=lambda kv: -kv[1]
                )
            ],
            "grade_mix": summary.get("grade_mix", {}),
            "can_commit": not run.committed_at and summary.get("leads", {}).get("planned", 0) > 0,
            "error": error,
        },
        status=status,
    )


@login_required
def allocation_detail_view(request: HttpRequest, run_id: int) -> HttpResponse:
    require(permissions.can_manage_leads(request.user))
    return _allocation_detail(request, _run_or_404(request.user, run_id))


@login_required
@require_POST
def allocation_commit_view(request: HttpRequest, run_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_leads(user))
    run = _run_or_404(user, run_id)
    try:
        run = allocation.allocation_commit(run=run, actor=user)
    except DomainError as exc:
        return _allocation_detail(request, run, error=exc.message, status=page_status(exc))
    messages.success(
        request,
        _("%(n)d leads allocated (allocation #%(id)d).") % {"n": run.assigned, "id": run.pk},
    )
    return redirect("leads:allocation_detail", run_id=run.pk)


# --- Rule sets ---------------------------------------------------------------------------
@login_required
def ruleset_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.sees_all_leads(user))
    versions = list(selectors.ruleset_list(user=user))
    in_force = {}
    for stage in ["", *TeamStage.values]:
        current = ruleset_in_force(stage=stage)
        if current.pk:
            in_force.setdefault(current.pk, []).append(stage)
    stage_labels = dict(TeamStage.choices)
    for version in versions:
        stages = in_force.get(version.pk, [])
        version.in_force_for = [stage_labels.get(s, _("general")) for s in stages]
        version.stage_label = stage_labels.get(version.stage, "")
        version.upcoming = version.effective_from > timezone.localdate()
    return render(
        request,
        "leads/ruleset_list.html",
        {"versions": versions, "can_manage": permissions.can_manage_leads(user)},
    )


@login_required
def ruleset_detail_view(request: HttpRequest, ruleset_id: int) -> HttpResponse:
    user = request.user
    require(permissions.sees_all_leads(user))
    version = selectors.ruleset_list(user=user).filter(pk=ruleset_id).first()
    if version is None:
        raise Http404("No such rule set")
    form = RuleSetForm(instance=version)
    return render(
        request,
        "leads/ruleset_detail.html",
        {
            "version": version,
            "form": form,
            "stage_label": dict(TeamStage.choices).get(version.stage, ""),
            "can_manage": permissions.can_manage_leads(user),
        },
    )


@login_required
def ruleset_create_view(request: HttpRequest) -> HttpResponse:
    """Make a new version, usually from an existing one (``?from=<id>``): never an edit."""
    user = request.user
    require(permissions.can_manage_leads(user))
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
                version = rulesets.ruleset_version_create(
                    actor=user,
                    name=form.cleaned_data["name"],
                    stage=form.cleaned_data.get("stage") or "",
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
                return redirect("leads:ruleset_list")
    else:
        initial = {"effective_from": timezone.localdate()}
        form = RuleSetForm(instance=based_on, initial=initial)
        form.instance = LeadRuleSet()  # a new row: the form never edits the one it copies
    return render(
        request,
        "leads/ruleset_form.html",
        {"form": form, "based_on": based_on if based_on.pk else None},
        status=status,
    )


# --- Who had a number ----------------------------------------------------------------------
@login_required
def number_access_view(request: HttpRequest) -> HttpResponse:
    """The auditor's page: who brought in, held and saw the full number of a customer. The
    number comes by POST, so that it never lands in a URL or an access log; it is never
    echoed back in full."""
    require(can_view_audit_log(request.user))
    form = NumberAccessForm(request.POST or None)
    access = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                access = number_access.number_access_lookup(
                    actor=request.user,
                    phone=form.cleaned_data["phone"],
                    reason=form.cleaned_data["reason"],
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
        else:
            status = 422
        if access is not None:  # done: the typed number is not kept on the page
            form = NumberAccessForm()
    template = "leads/number_access.html#panel" if request.htmx else "leads/number_access.html"
    response = render(request, template, {"form": form, "access": access}, status=status)
    add_never_cache_headers(response)
    return response


# --- Do-not-call list --------------------------------------------------------------------
@login_required
def dnc_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_leads(user))
    # A number to look up comes by POST, so that it never lands in a URL or an access log.
    params = request.POST if request.method == "POST" else request.GET
    show_all = params.get("all") == "1"
    entries = selectors.dnc_list(user=user, include_inactive=show_all)
    lookup = request.POST.get("q", "").replace("\x00", "").strip()[:40]
    lookup_error = ""
    if lookup:
        result = normalise_phone(lookup)
        if result.e164:
            entries = entries.filter(phone_hash=phone_hash(result.e164))
            lookup = mask_phone(result.e164)  # never echo a full number back
        else:
            lookup_error = _("Not a valid phone number; showing every entry.")
            lookup = ""
    template = "leads/dnc_list.html#table" if request.htmx else "leads/dnc_list.html"
    return render(
        request,
        template,
        {
            "page": page_of(request, entries),
            "show_all": show_all,
            "lookup": lookup,
            "lookup_error": lookup_error,
            "now": timezone.now(),
            "form": DncAddForm(),
        },
    )


@login_required
def dnc_add_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_leads(user))
    form = DncAddForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                entry = services.dnc_add(
                    phone=data["phone"],
                    source=data["source"],
                    reason=data.get("reason", ""),
                    days=data.get("days"),
                    permanent=data.get("permanent", False),
                    actor=user,
                    ruleset_days=ruleset_in_force().dnc_days,
                )
            except DncAlreadyListed as exc:
                form.add_error("phone", exc.message)
                status = page_status(exc)
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(
                    request,
                    _("%(number)s is on the do-not-call list.") % {"number": entry.phone_masked},
                )
                return redirect("leads:dnc_list")
    # A refused form keeps what the user typed, the number too: it is their own input, to
    # correct (masking is for the numbers stored here; the page is not cached).
    response = render(request, "leads/dnc_form.html", {"form": form}, status=status)
    add_never_cache_headers(response)
    return response


@login_required
def dnc_remove_view(request: HttpRequest, entry_id: int) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_leads(user))
    entry = selectors.dnc_list(user=user, include_inactive=True).filter(pk=entry_id).first()
    if entry is None:
        raise Http404("No such entry")
    form = ReasonForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 422
        if entry.removed_at:
            form.is_valid()
            form.add_error(None, _("This entry was removed already."))
            status = 409
        elif form.is_valid():
            try:
                services.dnc_remove(entry=entry, actor=user, reason=form.cleaned_data["reason"])
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(
                    request, _("%(number)s was removed from the list.") % {"number": entry}
                )
                return redirect("leads:dnc_list")
    return render(request, "leads/dnc_remove.html", {"entry": entry, "form": form}, status=status)


# --- Exports -----------------------------------------------------------------------------
def _attachment(export: exporting.ExportFile) -> HttpResponse:
    response = HttpResponse(export.content, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    add_never_cache_headers(response)
    return response


@login_required
def lead_export_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_export_leads(user))
    may_reveal = permissions.can_reveal_phone(user)
    kwargs = {
        "channels": selectors.channel_list(user=user),
        "batches": selectors.batch_list(user=user),
        "teams": org_selectors.team_list(user=user, kind=TeamKind.SALES),
        "may_reveal": may_reveal,
    }
    status = 200
    if request.method == "POST":
        form = LeadExportForm(request.POST, **kwargs)
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                export = exporting.lead_export(
                    actor=user,
                    filters=form.selector_filters(),
                    fmt=data["format"],
                    include_full_numbers=bool(data.get("include_full_numbers")),
                    reason=data.get("reason", ""),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                return _attachment(export)
    else:
        form = LeadExportForm(request.GET or None, **kwargs)
        if form.is_bound:
            form.is_valid()  # show which filters were not understood
    return render(
        request,
        "leads/lead_export.html",
        {
            "form": form,
            "may_reveal": may_reveal,
            "max_rows": exporting.export_max_rows(),
        },
        status=status,
    )


# --- Batch and source quality -----------------------------------------------------------
@login_required
def quality_report_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.sees_all_leads(user))
    batches = selectors.batch_quality_list(user=user)
    channels = selectors.channel_quality_list(user=user)

    def share(value):
        return round(value * 100, 1) if value is not None else None

    chart = {
        "channels": [c["name"] for c in channels],
        "series": [
            {"key": "dialled_share", "data": [share(c["dialled_share"]) for c in channels]},
            {"key": "connect_rate", "data": [share(c["connect_rate"]) for c in channels]},
            {"key": "conversion", "data": [share(c["conversion"]) for c in channels]},
        ],
        "names": {
            "dialled_share": _("Share dialled %"),
            "connect_rate": _("Connect rate %"),
            "conversion": _("Conversion %"),
            "cost_per_sale": _("Cost per sale (yuan)"),
        },
        "cost_per_sale": [
            float(c["cost_per_sale"]) if c["cost_per_sale"] is not None else None for c in channels
        ],
    }
    return render(
        request,
        "leads/quality_report.html",
        {
            "batches": batches,
            "channels": channels,
            "chart": chart,
            "has_leads": any(c["leads"] for c in channels),
        },
    )


@login_required
def quality_export_view(request: HttpRequest) -> HttpResponse:
    require(permissions.sees_all_leads(request.user))
    try:
        export = exporting.quality_report_export(actor=request.user, fmt="xlsx")
    except DomainError as exc:  # pragma: no cover - the permission is checked above
        raise PermissionDenied from exc
    return _attachment(export)


# --- Import wizard -----------------------------------------------------------------------
def _enqueue_import(batch_id: int) -> None:
    """Queue the import once the batch row is committed (the worker reads it)."""
    importing.batch_import_queue(batch_id)


@login_required
def batch_import_view(request: HttpRequest) -> HttpResponse:
    """Step 1: upload the file and describe the batch; the import runs in the background."""
    user = request.user
    require(permissions.can_manage_leads(user))
    status = 200
    if request.method == "POST":
        form = BatchUploadForm(request.POST, request.FILES)
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            try:
                batch = importing.batch_create(
                    file=upload,
                    file_name=upload.name,
                    name=data["name"],
                    channel_code=form.channel_code(),
                    create_channel=not data.get("channel"),
                    cost=data["cost"],
                    default_grade=data["default_grade"],
                    required_grade=data["required_grade"],
                    actor=user,
                )
            except DomainError as exc:
                if isinstance(exc, ValidationFailed) and "channel" in exc.fields:
                    target = "channel" if data.get("channel") else "new_channel_code"
                    exc.fields[target] = exc.fields.pop("channel")
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                if batch.status == BatchStatus.MAPPING:
                    messages.warning(
                        request, _("Some columns were not recognised: map them to continue.")
                    )
                    return redirect("leads:batch_mapping", batch_id=batch.pk)
                _enqueue_import(batch.pk)
                messages.success(request, _("File received; the import is running."))
                return redirect("leads:batch_detail", batch_id=batch.pk)
    else:
        form = BatchUploadForm()
    return render(request, "leads/batch_import.html", {"form": form}, status=status)


def _mapping_form(batch, data=None) -> MappingForm:
    info = batch.mapping or {}
    headers = [str(h) for h in info.get("headers", [])]
    columns = info.get("columns") or {}
    initial = {headers[int(i)]: f for i, f in columns.items() if int(i) < len(headers) and f}
    phone_like = info.get("phone_like_columns") or []
    if not any(f == "mobile" for f in initial.values()) and phone_like:
        first = int(phone_like[0])
        if first < len(headers):
            initial[headers[first]] = "mobile"
    # "Grade" alone reads as the agent's sales-capability grade; this column holds the lead's.
    labels = {**importing.FIELDS, "grade": _("Lead grade")}
    targets = [(key, str(labels[key])) for key in importing.FIELDS]
    return MappingForm(data, headers=headers, targets=targets, initial_map=initial)


@login_required
def batch_mapping_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Step 2 (only when a column was not recognised): say what each column holds."""
    user = request.user
    require(permissions.can_manage_leads(user))
    batch = get_or_404(selectors.batch_get, user=user, batch_id=batch_id)
    headers = (batch.mapping or {}).get("headers")
    if batch.status != BatchStatus.MAPPING and not (batch.status == BatchStatus.FAILED and headers):
        return redirect("leads:batch_detail", batch_id=batch.pk)
    status = 200
    if request.method == "POST":
        form = _mapping_form(batch, request.POST)
        status = 422
        if form.is_valid():
            mapping = {i: form.cleaned_data.get(f"col_{i}") or "" for i in range(len(form.headers))}
            try:
                batch = importing.batch_import_with_mapping(
                    batch=batch, mapping=mapping, actor=user, run=False
                )
            except DomainError as exc:
                if isinstance(exc, ValidationFailed) and "mapping" in exc.fields:
                    exc.fields["__all__"] = exc.fields.pop("mapping")
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                _enqueue_import(batch.pk)
                messages.success(request, _("Columns saved; the import is running."))
                return redirect("leads:batch_detail", batch_id=batch.pk)
    else:
        form = _mapping_form(batch)
    return render(request, "leads/batch_mapping.html", _mapping_context(batch, form), status=status)


def _mapping_context(batch, form, *, header_error: str = "") -> dict:
    info = batch.mapping or {}
    preview = importing.batch_preview(batch)
    width = max((len(cells) for _n, cells in preview), default=0)
    return {
        "batch": batch,
        "form": form,
        "sample": info.get("sample") or [],
        "columns": [(form[f"col_{i}"], i) for i in range(len(form.headers))],
        "preview": [(n, [*cells, *[""] * (width - len(cells))]) for n, cells in preview],
        "header_row": int(info.get("header_row") or 0),
        "header_error": header_error,
        "can_discard": importing.batch_discardable(batch),
    }


@login_required
@require_POST
def batch_header_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Step 2, first part: which row of the file holds the headers (title rows above it are
    skipped). The column choices are those of that row; htmx swaps the mapping part."""
    user = request.user
    require(permissions.can_manage_leads(user))
    batch = get_or_404(selectors.batch_get, user=user, batch_id=batch_id)
    raw = (request.POST.get("header_row") or "").strip()
    error = ""
    status = 200
    try:
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
            raise ValidationFailed(
                _("Choose the row that holds the column headers."),
                fields={"header_row": [_("choose a row")]},
            )
        batch = importing.batch_header_set(batch=batch, header_row=int(raw), actor=user)
    except DomainError as exc:
        if batch.status not in importing.MAPPABLE:  # imported or running meanwhile
            messages.error(request, exc.message)
            detail = reverse("leads:batch_detail", args=[batch.pk])
            if request.htmx:
                return HttpResponse(status=204, headers={"HX-Redirect": detail})
            return redirect(detail)
        error, status = exc.message, page_status(exc)
    if not request.htmx and not error:
        messages.success(request, _("Header row saved; check the columns below."))
        return redirect("leads:batch_mapping", batch_id=batch.pk)
    template = "leads/batch_mapping.html#mapping" if request.htmx else "leads/batch_mapping.html"
    context = _mapping_context(batch, _mapping_form(batch), header_error=error)
    return render(request, template, context, status=status)


@login_required
def batch_discard_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Throw away a batch that imported nothing (after a confirmation page): its file may
    then be uploaded again."""
    user = request.user
    require(permissions.can_manage_leads(user))
    batch = get_or_404(selectors.batch_get, user=user, batch_id=batch_id)
    error = ""
    status = 200
    if request.method == "POST":
        try:
            importing.batch_discard(batch=batch, actor=user)
        except DomainError as exc:
            error, status = exc.message, page_status(exc)
        else:
            messages.success(
                request,
                _("Batch “%(name)s” was discarded; its file may be uploaded again.")
                % {"name": batch.name},
            )
            return redirect("leads:batch_list")
    else:
        error = importing.batch_discard_refusal(batch)
    importing.batches_stale_mark([batch])
    return render(
        request,
        "leads/batch_discard.html",
        {"batch": batch, "error": error, "can_discard": not error},
        status=status,
    )


@login_required
def batch_resume_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """Queue the import of an interrupted batch, or of one no worker started, again
    (继续导入), after a confirmation page; it resumes as ``telesales leads-import --resume``
    does. Asked again while it is queued (a double click): it says so, nothing changes."""
    user = request.user
    require(permissions.can_manage_leads(user))
    batch = get_or_404(selectors.batch_get, user=user, batch_id=batch_id)
    error = ""
    status = 200
    if request.method == "POST":
        try:
            importing.batch_resume(batch=batch, actor=user)
        except (importing.ImportQueued, importing.ImportInProgress) as exc:
            # Asked twice (a double click), or a worker has started it meanwhile: the batch
            # page shows where it is.
            messages.info(request, exc.message)
            return redirect("leads:batch_detail", batch_id=batch.pk)
        except DomainError as exc:
            error, status = exc.message, page_status(exc)
        else:
            messages.success(
                request,
                _("The import of batch “%(name)s” was queued again; this page follows it.")
                % {"name": batch.name},
            )
            return redirect("leads:batch_detail", batch_id=batch.pk)
    else:
        error = importing.batch_resume_refusal(batch)
    [batch] = importing.batches_stale_mark([batch])
    return render(
        request,
        "leads/batch_resume.html",
        {
            "batch": batch,
            "error": error,
            "can_resume": not error,
            "imported": batch.leads.count(),
        },
        status=status,
    )


@login_required
def batch_rejections_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    """The per-row rejection report (xlsx or csv); audited by the service. A link (GET)
    downloads it with the numbers masked; with the full numbers it is a reveal: a form
    (``?full=1``, then POST) for those who may see numbers, with a reason."""
    user = request.user
    require(permissions.can_manage_leads(user))
    batch = get_or_404(selectors.batch_get, user=user, batch_id=batch_id)
    if request.method == "POST" or request.GET.get("full") == "1":
        require(permissions.can_reveal_phone(user))
        form = RejectionReportForm(request.POST if request.method == "POST" else None)
        status = 200
        if request.method == "POST":
            status = 422
            if form.is_valid():
                data = form.cleaned_data
                try:
                    content = importing.batch_rejection_report(
                        batch=batch,
                        fmt=data["format"],
                        actor=user,
                        full_numbers=True,
                        reason=data["reason"],
                    )
                except DomainError as exc:
                    add_domain_error(form, exc)
                    status = page_status(exc)
                else:
                    return _attachment(
                        exporting.ExportFile(
                            filename=f"batch-{batch.pk}-rejections.{data['format']}",
                            content_type=exporting.CONTENT_TYPES[data["format"]],
                            content=content,
                            rows=0,
                        )
                    )
        response = render(
            request, "leads/batch_rejections.html", {"batch": batch, "form": form}, status=status
        )
        add_never_cache_headers(response)
        return response
    fmt = request.GET.get("format", "xlsx")
    if fmt not in exporting.FORMATS:
        fmt = "xlsx"
    content = importing.batch_rejection_report(batch=batch, fmt=fmt, actor=user)
    export = exporting.ExportFile(
        filename=f"batch-{batch.pk}-rejections.{fmt}",
        content_type=exporting.CONTENT_TYPES[fmt],
        content=content,
        rows=0,
    )
    return _attachment(export)


@login_required
def dnc_import_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.can_manage_leads(user))
    status = 200
    if request.method == "POST":
        form = DncImportForm(request.POST, request.FILES)
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            try:
                result = importing.dnc_import(
                    file=data["file"],
                    file_name=data["file"].name,
                    source=data["source"],
                    reason=data.get("reason", ""),
                    days=data.get("days"),
                    permanent=bool(data.get("permanent")),
                    actor=user,
                )
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(
                    request,
                    _(
                        "%(rows)d rows read: %(added)d numbers added, %(already)d already "
                        "listed, %(invalid)d invalid; %(blocked)d leads stopped."
                    )
                    % {
                        "rows": result.rows,
                        "added": result.added,
                        "already": result.already_listed,
                        "invalid": result.invalid,
                        "blocked": result.leads_blocked,
                    },
                )
                return redirect("leads:dnc_list")
    else:
        form = DncImportForm()
    return render(request, "leads/dnc_import.html", {"form": form}, status=status)


# --- Channels ----------------------------------------------------------------------------
@login_required
def channel_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    require(permissions.sees_all_leads(user))
    channels = selectors.channel_list(user=user).annotate(n_leads=Count("leads"))
    return render(
        request,
        "leads/channel_list.html",
        {"channels": channels, "can_manage": permissions.can_manage_leads(user)},
    )


@login_required
def channel_form_view(request: HttpRequest, channel_id: int | None = None) -> HttpResponse:
    """Create a channel (no id) or edit one."""
    user = request.user
    require(permissions.can_manage_leads(user))
    channel = None
    if channel_id is not None:
        channel = selectors.channel_list(user=user).filter(pk=channel_id).first()
        if channel is None:
            raise Http404("No such channel")
    status = 200
    if request.method == "POST":
        form = ChannelForm(request.POST, editing=channel is not None)
        status = 422
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if channel is None:
                    channel = channels.channel_create(
                        actor=user, code=data.pop("code"), name=data.pop("name"), **data
                    )
                else:
                    channels.channel_update(channel=channel, actor=user, **data)
            except DomainError as exc:
                add_domain_error(form, exc)
                status = page_status(exc)
            else:
                messages.success(request, _("Channel saved."))
                return redirect("leads:channel_list")
    elif channel is not None:
        form = ChannelForm(
            editing=True,
            initial={
                "name": channel.name,
                "default_cost_per_lead": channel.default_cost_per_lead,
                "consent_wording": channel.consent_wording,
                "is_active": channel.is_active,
            },
        )
    else:
        form = ChannelForm()
    return render(
        request, "leads/channel_form.html", {"form": form, "channel": channel}, status=status
    )
