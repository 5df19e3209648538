"""Reads of lead data, scoped to what the user may see. Numbers leave only masked."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from telesales.core.errors import NotFound
from telesales.core.roles import Role, has_role
from telesales.leads import permissions
from telesales.leads.choices import OPEN_STATES, LeadState
from telesales.leads.models import (
    AllocationRun,
    Channel,
    DncEntry,
    Lead,
    LeadBatch,
    LeadEvent,
    LeadRuleSet,
)
from telesales.org.selectors import person_for_user


def lead_visible_q(user) -> Q:
    """Leads ``user`` may see: all for data roles; own (agent) or team's (team lead); plus the
    public pool for anyone who may claim."""
    if permissions.sees_all_leads(user):
        return Q()
    me = person_for_user(user)
    q = Q(pk__in=[])
    if me is None:
        return q
    if has_role(user, Role.AGENT, Role.TEAM_LEAD):
        q |= Q(owner_id=me.pk) | Q(state=LeadState.PUBLIC)
    if has_role(user, Role.TEAM_LEAD):
        q |= Q(owner__team__leader_id=me.pk)
    return q


def lead_list(
    *,
    user,
    state: str | None = None,
    grade: str | None = None,
    batch_id: int | None = None,
    channel_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    search: str = "",
) -> QuerySet[Lead]:
    qs = Lead.objects.filter(lead_visible_q(user)).select_related(
        "customer", "owner", "channel", "batch"
    )
    if state == "private":
        qs = qs.filter(state__in=OPEN_STATES)
    elif state:
        qs = qs.filter(state=state)
    if grade:
        qs = qs.filter(grade=grade)
    if batch_id:
        qs = qs.filter(batch_id=batch_id)
    if channel_id:
        qs = qs.filter(channel_id=channel_id)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if team_id:
        qs = qs.filter(owner__team_id=team_id)
    if search:
        qs = qs.filter(
            Q(customer__name__icontains=search) | Q(pk=int(search) if search.isdigit() else -1)
        )
    return qs.order_by("-id")


def my_leads(*, user) -> QuerySet[Lead]:
    me = person_for_user(user)
    if me is None:
        return Lead.objects.none()
    return (
        Lead.objects.filter(owner_id=me.pk, state__in=OPEN_STATES)
        .select_related("customer", "channel")
        .order_by("protect_until", "id")
    )


def public_pool(*, user, grade: str | None = None) -> QuerySet[Lead]:
    if not (permissions.can_claim(user) or permissions.sees_all_leads(user)):
        return Lead.objects.none()
    qs = Lead.objects.filter(state=LeadState.PUBLIC).select_related("customer", "channel")
    if grade:
        qs = qs.filter(grade=grade)
    return qs.order_by("grade", "id")


def lead_get(*, user, lead_id: int) -> Lead:
    lead = (
        Lead.objects.filter(lead_visible_q(user))
        .select_related("customer", "customer__household", "owner", "channel", "batch")
        .filter(pk=lead_id)
        .first()
    )
    if lead is None:
        raise NotFound("No such lead, or you may not see it")
    return lead


def lead_history(*, lead: Lead) -> QuerySet[LeadEvent]:
    return lead.events.select_related("actor", "from_owner", "to_owner").order_by("at", "id")


def batch_list(*, user) -> QuerySet[LeadBatch]:
    if not (permissions.can_manage_leads(user) or permissions.sees_all_leads(user)):
        return LeadBatch.objects.none()
    return LeadBatch.objects.select_related("channel", "uploader").order_by("-created_at", "-id")


def batch_get(*, user, batch_id: int) -> LeadBatch:
    batch = batch_list(user=user).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("No such batch")
    return batch


def channel_list(*, user) -> QuerySet[Channel]:
    return Channel.objects.order_by("code")


def dnc_list(*, user, include_inactive: bool = False) -> QuerySet[DncEntry]:
    if not permissions.can_manage_leads(user):
        return DncEntry.objects.none()
    qs = DncEntry.objects.select_related("created_by")
    if not include_inactive:
        from telesales.leads.services import dnc_active_q

        qs = qs.filter(dnc_active_q())
    return qs.order_by("-created_at", "-id")


def ruleset_list(*, user) -> QuerySet[LeadRuleSet]:
    return LeadRuleSet.objects.order_by("-effective_from", "-id")


def allocation_list(*, user) -> QuerySet[AllocationRun]:
    if not permissions.can_manage_leads(user):
        return AllocationRun.objects.none()
    return AllocationRun.objects.select_related("created_by").order_by("-created_at", "-id")


def private_pool_counts(*, user) -> list[dict]:
    """Leads held per agent (for the data officer's pool screen)."""
    qs = Lead.objects.filter(lead_visible_q(user), state__in=OPEN_STATES)
    return list(
        qs.values("owner_id", "owner__name", "owner__team__name")
        .annotate(held=Count("id"))
        .order_by("owner__team__name", "owner__name")
    )
