"""JSON endpoints of the policies app. Same selectors and services as the HTML pages.

Customers leave by name and masked number only. The workspace (calls app) exposes its own
sale endpoint; ``POST /policies`` here records a sale for the caller too.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router

from telesales.core.errors import NotFound, ValidationFailed, deny_unless
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE
from telesales.policies import permissions, selectors, services
from telesales.policies.schemas import (
    CancelIn,
    ConversionOut,
    DeclineIn,
    IssueIn,
    PolicyDetailOut,
    PolicyFilter,
    PolicyOut,
    ProductFilter,
    ProductIn,
    ProductOut,
    ProductPatchIn,
    ReceiptIn,
    ReportFilter,
    StabilisationOut,
    StabilisationRuleSetIn,
    StabilisationRuleSetOut,
    TaskCompleteIn,
    TaskFilter,
    TaskOut,
    TaskRescheduleIn,
)

router = Router(tags=["policies"])
REPORT_DAYS = 90


def _period(filters: ReportFilter) -> tuple[dt.date, dt.date]:
    until = filters.until or timezone.localdate()
    since = filters.since or until - dt.timedelta(days=REPORT_DAYS)
    if since > until:
        raise ValidationFailed(
            "The period ends before it starts", fields={"since": ["after until"]}
        )
    if (until - since).days > 3660:
        raise ValidationFailed(
            _("The period is too long"), fields={"since": [_("at most ten years")]}
        )
    return since, until


# --- Products ----------------------------------------------------------------------------
@router.get(
    "/products",
    response={200: list[ProductOut], **ERRORS_READ},
    operation_id="policies_product_list",
)
def product_list(request, filters: Query[ProductFilter]):
    """The product catalogue (agents, team leads, the back office that works with policies)."""
    deny_unless(
        permissions.can_view_products(request.auth), _("Your role has no access to products")
    )
    return list(
        selectors.product_list(
            user=request.auth, active_only=filters.active_only, category=filters.category
        )
    )


@router.get(
    "/products/{product_id}",
    response={200: ProductOut, **ERRORS_READ},
    operation_id="policies_product_get",
)
def product_get(request, product_id: int):
    deny_unless(
        permissions.can_view_products(request.auth), _("Your role has no access to products")
    )
    return selectors.product_get(user=request.auth, product_id=product_id)


@router.post(
    "/products", response={200: ProductOut, **ERRORS_WRITE}, operation_id="policies_product_create"
)
def product_create(request, payload: ProductIn):
    """Add a product (center manager). The premium range, modes and terms bound every sale."""
    deny_unless(
        permissions.can_manage_products(request.auth), _("Only the center manager edits products")
    )
    return services.product_create(actor=request.auth, **payload.dict())


@router.patch(
    "/products/{product_id}",
    response={200: ProductOut, **ERRORS_WRITE},
    operation_id="policies_product_update",
)
def product_update(request, product_id: int, payload: ProductPatchIn):
    deny_unless(
        permissions.can_manage_products(request.auth), _("Only the center manager edits products")
    )
    product = selectors.product_get(user=request.auth, product_id=product_id)
    data = payload.dict(exclude_unset=True)
    reason = data.pop("reason", "")
    # An age limit sent as null is taken away; any other field left null is left as it is.
    changes = {k: v for k, v in data.items() if v is not None or k in _CLEARABLE}
    return services.product_update(product=product, actor=request.auth, reason=reason, **changes)


_CLEARABLE = frozenset({"min_insured_age", "max_insured_age"})


# --- Policies ----------------------------------------------------------------------------
@router.get(
    "/policies", response={200: list[PolicyOut], **ERRORS_READ}, operation_id="policies_policy_list"
)
def policy_list(request, filters: Query[PolicyFilter]):
    """Policies the caller may see (an agent: their own), newest sale first."""
    deny_unless(
        permissions.can_view_policies(request.auth), _("Your role has no access to policies")
    )
    qs = selectors.policy_list(
        user=request.auth,
        status=filters.status,
        agent_id=filters.agent_id,
        team_id=filters.team_id,
        product_id=filters.product_id,
        category=filters.category,
        since=filters.since,
        until=filters.until,
        search=filters.q,
    )
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.get(
    "/policies/{policy_id}",
    response={200: PolicyDetailOut, **ERRORS_READ},
    operation_id="policies_policy_get",
)
def policy_get(request, policy_id: int):
    deny_unless(
        permissions.can_view_policies(request.auth), _("Your role has no access to policies")
    )
    return selectors.policy_get(user=request.auth, policy_id=policy_id)


def _operated(request, policy_id: int):
    deny_unless(
        permissions.can_operate_policies(request.auth),
        _("Only renewal operations or the center manager may do this"),
    )
    return selectors.policy_get(user=request.auth, policy_id=policy_id)


@router.post(
    "/policies/{policy_id}/issue",
    response={200: PolicyDetailOut, **ERRORS_WRITE},
    operation_id="policies_policy_issue",
)
def policy_issue(request, policy_id: int, payload: IssueIn):
    """Issue an applied policy (a number is generated unless given); schedules the selling
    agent's stabilisation and extended-service tasks. Twice: ``wrong_policy_status``."""
    policy = _operated(request, policy_id)
    services.policy_issue(
        policy=policy, number=payload.number, issued_at=payload.issued_at, actor=request.auth
    )
    return selectors.policy_get(user=request.auth, policy_id=policy_id)


@router.post(
    "/policies/{policy_id}/receipt",
    response={200: PolicyDetailOut, **ERRORS_WRITE},
    operation_id="policies_policy_receipt_confirm",
)
def policy_receipt_confirm(request, policy_id: int, payload: ReceiptIn):
    """Confirm the receipt (回执): the free-look window runs from that day."""
    policy = _operated(request, policy_id)
    services.policy_receipt_confirm(
        policy=policy, receipt_date=payload.receipt_date, actor=request.auth
    )
    return selectors.policy_get(user=request.auth, policy_id=policy_id)


@router.post(
    "/policies/{policy_id}/cancel",
    response={200: PolicyDetailOut, **ERRORS_WRITE},
    operation_id="policies_policy_free_look_cancel",
)
def policy_free_look_cancel(request, policy_id: int, payload: CancelIn):
    """Record a free-look cancellation with its reason. After the window: ``free_look_over``."""
    policy = _operated(request, policy_id)
    services.policy_free_look_cancel(
        policy=policy, reason=payload.reason, note=payload.note, actor=request.auth
    )
    return selectors.policy_get(user=request.auth, policy_id=policy_id)


@router.post(
    "/policies/{policy_id}/decline",
    response={200: PolicyDetailOut, **ERRORS_WRITE},
    operation_id="policies_policy_decline",
)
def policy_decline(request, policy_id: int, payload: DeclineIn):
    """Underwriting declined the application (拒保), with its reason: only an applied policy
    (``wrong_policy_status`` otherwise). The premium comes off the lead, which returns to the
    agent in progress unless another policy was won on it."""
    policy = _operated(request, policy_id)
    services.policy_decline(policy=policy, note=payload.note, actor=request.auth)
    return selectors.policy_get(user=request.auth, policy_id=policy_id)


# --- Service tasks -----------------------------------------------------------------------
@router.get(
    "/tasks", response={200: list[TaskOut], **ERRORS_READ}, operation_id="policies_task_list"
)
def task_list(request, filters: Query[TaskFilter]):
    """Post-sale tasks the caller may see; ``due=true``: the open ones due by now."""
    deny_unless(
        permissions.can_view_policies(request.auth), _("Your role has no access to policies")
    )
    if filters.due:
        qs = selectors.service_task_list(
            user=request.auth,
            status="open",
            kind=filters.kind,
            agent_id=filters.agent_id,
            due_before=timezone.now(),
        )
    else:
        qs = selectors.service_task_list(
            user=request.auth, status=filters.status, kind=filters.kind, agent_id=filters.agent_id
        )
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut, **ERRORS_WRITE},
    operation_id="policies_task_complete",
)
def task_complete(request, task_id: int, payload: TaskCompleteIn):
    task = selectors.service_task_get(user=request.auth, task_id=task_id)
    done = services.service_task_complete(
        task=task, outcome=payload.outcome, note=payload.note, actor=request.auth
    )
    task = selectors.service_task_get(user=request.auth, task_id=task_id)
    task.service_call_due_at = done.service_call_due_at
    return task


@router.post(
    "/tasks/{task_id}/reschedule",
    response={200: TaskOut, **ERRORS_WRITE},
    operation_id="policies_task_reschedule",
)
def task_reschedule(request, task_id: int, payload: TaskRescheduleIn):
    """Move an open task; never into the past, nor a stabilisation call past the window."""
    task = selectors.service_task_get(user=request.auth, task_id=task_id)
    services.service_task_reschedule(
        task=task, due_at=payload.due_at, note=payload.note, actor=request.auth
    )
    return selectors.service_task_get(user=request.auth, task_id=task_id)


# --- Reports -----------------------------------------------------------------------------
@router.get(
    "/reports/stabilisation",
    response={200: StabilisationOut, **ERRORS_READ},
    operation_id="policies_stabilisation_report",
)
def stabilisation_report(request, filters: Query[ReportFilter]):
    """Stabilisation rate per agent or team for the policies issued in the period (default:
    the last 90 days): kept ÷ settled (kept + cancelled in free-look), with every count."""
    user = request.auth
    deny_unless(permissions.can_view_reports(user), _("Your role has no access to policy reports"))
    since, until = _period(filters)
    rows = selectors.stabilisation_rate(user=user, by=filters.by, since=since, until=until)
    reasons = selectors.free_look_cancel_reasons(user=user, since=since, until=until)
    return {
        "by": filters.by,
        "since": since,
        "until": until,
        "rows": rows,
        "total": selectors.stabilisation_total(rows),
        "cancel_reasons": [{"reason": r["cancel_reason"], "n": r["n"]} for r in reasons],
    }


@router.get(
    "/reports/extended-service",
    response={200: ConversionOut, **ERRORS_READ},
    operation_id="policies_extended_service_report",
)
def extended_service_report(request, filters: Query[ReportFilter]):
    """Extended-service suggestions made in the period and how many turned into sales."""
    user = request.auth
    deny_unless(permissions.can_view_reports(user), _("Your role has no access to policy reports"))
    since, until = _period(filters)
    rows = selectors.extended_service_conversion(user=user, by=filters.by, since=since, until=until)
    return {"by": filters.by, "since": since, "until": until, "rows": rows}


# --- Rule sets ---------------------------------------------------------------------------
@router.get(
    "/rulesets",
    response={200: list[StabilisationRuleSetOut], **ERRORS_READ},
    operation_id="policies_ruleset_list",
)
def ruleset_list(request):
    user = request.auth
    deny_unless(
        permissions.can_manage_rules(user) or permissions.sees_all_policies(user),
        "Your role has no access to the post-sale rules",
    )
    return list(selectors.ruleset_list(user=user))


@router.post(
    "/rulesets",
    response={200: StabilisationRuleSetOut, **ERRORS_WRITE},
    operation_id="policies_ruleset_create",
)
def ruleset_create(request, payload: StabilisationRuleSetIn):
    """A new version of the post-sale rules, effective from today or later."""
    deny_unless(
        permissions.can_manage_rules(request.auth), "Only the center manager changes the rules"
    )
    data = payload.dict()
    based_on = None
    if data.pop("based_on_id") is not None:
        based_on = selectors.ruleset_list(user=request.auth).filter(pk=payload.based_on_id).first()
        if based_on is None:
            raise NotFound(_("No such rule set"))
    params = {
        k: v
        for k, v in data.items()
        if k not in ("name", "effective_from", "reason") and v is not None
    }
    return services.stabilisation_ruleset_create(
        actor=request.auth,
        name=payload.name,
        effective_from=payload.effective_from,
        based_on=based_on,
        reason=payload.reason,
        **params,
    )
