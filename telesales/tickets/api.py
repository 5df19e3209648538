"""JSON endpoints of the tickets app (mounted at ``/api/v1/tickets/``). Same selectors and
services as the HTML pages; errors in the one shape ``{code, message, details}``.

Ids in a request body that name nothing (or nothing the caller may see) are field errors
(422), ids in the path are 404. No answer holds a full phone number.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Query, Router, Status

from telesales.core.errors import ValidationFailed, deny_unless
from telesales.core.http_api import ERRORS_READ, ERRORS_WRITE
from telesales.leads.models import Customer
from telesales.org.models import Person
from telesales.policies.models import Policy
from telesales.tickets import permissions, rulesets, selectors, services
from telesales.tickets.schemas import (
    AssignIn,
    CloseIn,
    ComplaintRateOut,
    PeriodFilter,
    ReopenIn,
    RespondIn,
    SlaReportOut,
    SlaRuleSetIn,
    SlaRuleSetOut,
    TicketDetailOut,
    TicketFilter,
    TicketOpenIn,
    TicketOut,
    TicketResolveIn,
)

router = Router(tags=["tickets"])


def _viewer(request):
    user = request.auth
    deny_unless(permissions.can_view_tickets(user), _("Your role has no access to service tickets"))
    return user


def _by_id(model, pk: int | None, field: str):
    """An object named in a request body, or a field error."""
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise ValidationFailed(_("Invalid input"), fields={field: [_("No such record.")]})
    return found


def _detail(user, ticket_id: int):
    return selectors.ticket_get(user=user, ticket_id=ticket_id)


# --- Tickets -----------------------------------------------------------------------------
@router.get(
    "/tickets", response={200: list[TicketOut], **ERRORS_READ}, operation_id="tickets_ticket_list"
)
def ticket_list(request, filters: Query[TicketFilter]):
    """Tickets the caller may see. ``status=active`` (default): not yet resolved, most urgent
    first; ``overdue=true``: a target missed; ``mine=true``: owned by the caller;
    ``my_teams=true``: about the agents or policies of the teams the caller leads;
    ``since`` / ``until``: opened on those local days (both included)."""
    user = _viewer(request)
    qs = selectors.ticket_list(
        user=user,
        status=filters.status,
        kind=filters.kind,
        channel=filters.channel,
        priority=filters.priority,
        owner_id=filters.owner_id,
        mine=filters.mine,
        unassigned=filters.unassigned,
        overdue=filters.overdue,
        escalated=filters.escalated,
        about_my_teams=filters.my_teams,
        opened_since=filters.since,
        opened_until=filters.until,
        search=filters.q,
    )
    return list(qs[filters.offset : filters.offset + filters.limit])


@router.post(
    "/tickets", response={201: TicketDetailOut, **ERRORS_WRITE}, operation_id="tickets_ticket_open"
)
def ticket_open(request, payload: TicketOpenIn):
    """Open a ticket; its SLA due times come from the targets in force on the opening day. A
    policy must be the customer's; with a policy alone, its holder is the customer and its
    seller the agent concerned."""
    user = request.auth
    deny_unless(permissions.can_open_ticket(user), _("Your role cannot open tickets"))
    ticket = services.ticket_open(
        actor=user,
        kind=payload.kind,
        channel=payload.channel,
        priority=payload.priority,
        subject=payload.subject,
        description=payload.description,
        customer=_by_id(Customer, payload.customer_id, "customer"),
        policy=_by_id(Policy, payload.policy_id, "policy"),
        agent=_by_id(Person, payload.agent_id, "agent"),
        owner=_by_id(Person, payload.owner_id, "owner"),
        external_ref=payload.external_ref,
        opened_at=payload.opened_at,
    )
    return Status(201, _detail(user, ticket.pk))


@router.get(
    "/tickets/{ticket_id}",
    response={200: TicketDetailOut, **ERRORS_READ},
    operation_id="tickets_ticket_get",
)
def ticket_get(request, ticket_id: int):
    return _detail(_viewer(request), ticket_id)


@router.post(
    "/tickets/{ticket_id}/assign",
    response={200: TicketDetailOut, **ERRORS_WRITE},
    operation_id="tickets_ticket_assign",
)
def ticket_assign(request, ticket_id: int, payload: AssignIn):
    """Give an active ticket to someone (renewal operations and the manager: anyone who works
    tickets; a team lead: themselves or their team members)."""
    user = _viewer(request)
    ticket = _detail(user, ticket_id)
    deny_unless(permissions.can_assign_tickets(user), _("Your role cannot assign tickets"))
    owner = _by_id(Person, payload.owner_id, "owner")
    services.ticket_assign(ticket=ticket, owner=owner, actor=user, note=payload.note)
    return _detail(user, ticket_id)


@router.post(
    "/tickets/{ticket_id}/respond",
    response={200: TicketDetailOut, **ERRORS_WRITE},
    operation_id="tickets_ticket_respond",
)
def ticket_respond(request, ticket_id: int, payload: RespondIn):
    """Record a reply to the customer (the first one is the first response)."""
    user = _viewer(request)
    ticket = _detail(user, ticket_id)
    services.ticket_respond(
        ticket=ticket, actor=user, note=payload.note, waiting_customer=payload.waiting_customer
    )
    return _detail(user, ticket_id)


@router.post(
    "/tickets/{ticket_id}/resolve",
    response={200: TicketDetailOut, **ERRORS_WRITE},
    operation_id="tickets_ticket_resolve",
)
def ticket_resolve(request, ticket_id: int, payload: TicketResolveIn):
    user = _viewer(request)
    ticket = _detail(user, ticket_id)
    services.ticket_resolve(ticket=ticket, actor=user, resolution=payload.resolution)
    return _detail(user, ticket_id)


@router.post(
    "/tickets/{ticket_id}/close",
    response={200: TicketDetailOut, **ERRORS_WRITE},
    operation_id="tickets_ticket_close",
)
def ticket_close(request, ticket_id: int, payload: CloseIn):
    user = _viewer(request)
    ticket = _detail(user, ticket_id)
    services.ticket_close(ticket=ticket, actor=user, note=payload.note)
    return _detail(user, ticket_id)


@router.post(
    "/tickets/{ticket_id}/reopen",
    response={200: TicketDetailOut, **ERRORS_WRITE},
    operation_id="tickets_ticket_reopen",
)
def ticket_reopen(request, ticket_id: int, payload: ReopenIn):
    user = _viewer(request)
    ticket = _detail(user, ticket_id)
    services.ticket_reopen(ticket=ticket, actor=user, reason=payload.reason)
    return _detail(user, ticket_id)


# --- Reports -------------------------------------------------------------------------------
@router.get(
    "/reports/sla", response={200: SlaReportOut, **ERRORS_READ}, operation_id="tickets_sla_report"
)
def sla_report(request, period: Query[PeriodFilter]):
    """SLA attainment over the visible tickets opened in the period (default: the last six
    months): a target is settled once met or missed; attainment = met ÷ settled."""
    user = request.auth
    deny_unless(
        permissions.can_view_sla_report(user), _("Your role has no access to the SLA report")
    )
    since, until = selectors.report_period(period.since, period.until)
    summary = selectors.sla_summary(user=user, since=since, until=until)
    return {
        "since": since,
        "until": until,
        "total": summary["total"],
        "by_kind": summary["by_kind"],
        "by_month": selectors.sla_by_month(user=user, since=since, until=until),
    }


@router.get(
    "/reports/complaint-rate",
    response={200: ComplaintRateOut, **ERRORS_READ},
    operation_id="tickets_complaint_rate",
)
def complaint_rate(request, period: Query[PeriodFilter]):
    """Complaints opened per 1,000 policies in force, center-wide, with both numbers and a
    row per month (default period: the last six months)."""
    user = request.auth
    deny_unless(permissions.can_view_complaint_rate(user), _("Your role cannot see this indicator"))
    since, until = selectors.report_period(period.since, period.until)
    total = selectors.complaint_rate(user=user, since=since, until=until)
    return {
        **total,
        "by_month": selectors.complaint_rate_by_month(user=user, since=since, until=until),
    }


# --- SLA rules -----------------------------------------------------------------------------
@router.get(
    "/sla-rules",
    response={200: list[SlaRuleSetOut], **ERRORS_READ},
    operation_id="tickets_ruleset_list",
)
def ruleset_list(request):
    user = request.auth
    deny_unless(permissions.can_view_sla_rules(user), _("Your role cannot see the service targets"))
    return list(selectors.ruleset_list(user=user).prefetch_related("targets"))


@router.get(
    "/sla-rules/{ruleset_id}",
    response={200: SlaRuleSetOut, **ERRORS_READ},
    operation_id="tickets_ruleset_get",
)
def ruleset_get(request, ruleset_id: int):
    user = request.auth
    deny_unless(permissions.can_view_sla_rules(user), _("Your role cannot see the service targets"))
    return selectors.ruleset_get(user=user, ruleset_id=ruleset_id)


@router.post(
    "/sla-rules",
    response={201: SlaRuleSetOut, **ERRORS_WRITE},
    operation_id="tickets_ruleset_create",
)
def ruleset_create(request, payload: SlaRuleSetIn):
    """A new version of the SLA targets, effective from today or later; targets not given
    are copied from ``based_on_id`` (else the defaults). Manager only."""
    user = request.auth
    deny_unless(permissions.can_manage_sla_rules(user), _("Only the center manager may do this"))
    based_on = None
    if payload.based_on_id:
        based_on = selectors.ruleset_list(user=user).filter(pk=payload.based_on_id).first()
        if based_on is None:
            raise ValidationFailed(
                _("Invalid input"), fields={"based_on_id": [_("No such rule set.")]}
            )
    ruleset = rulesets.sla_ruleset_create(
        actor=user,
        name=payload.name,
        effective_from=payload.effective_from,
        targets=payload.targets_dict(),
        manager_escalation_hours=payload.manager_escalation_hours,
        based_on=based_on,
        reason=payload.reason,
    )
    return Status(201, selectors.ruleset_get(user=user, ruleset_id=ruleset.pk))
