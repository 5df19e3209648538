"""Reads of lead data, scoped to what the user may see. Numbers leave only masked."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from telesales.core.errors import NotFound
from telesales.core.roles import Role, has_role
from telesales.leads import permissions
from telesales.leads.choices import OPEN_STATES, LeadAction, LeadState
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
            Q(customer__name__icontains=search)
            | (
                Q(pk=int(search))
                if search.isascii() and search.isdigit() and len(search) <= 12
                else Q(pk__in=[])
            )
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
    if not (permissions.can_hold_leads(user) or permissions.sees_all_leads(user)):
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
        raise NotFound(_("No such lead, or you may not see it"))
    return lead


def lead_history(*, lead: Lead) -> QuerySet[LeadEvent]:
    return lead.events.select_related("actor__person", "from_owner", "to_owner").order_by(
        "at", "id"
    )


def lead_departure(*, lead_id: int, person) -> LeadEvent | None:
    """How a lead ``person`` held left their reach: the last move away from them (recycled,
    released, allocated to someone else), or its do-not-call block when it is still theirs on
    paper; None when they never held it (nothing to tell them about a lead not theirs)."""
    owner = Lead.objects.filter(pk=lead_id).values_list("owner_id", flat=True).first()
    events = LeadEvent.objects.filter(lead_id=lead_id).order_by("-at", "-id")
    if owner == person.pk:
        return events.filter(action=LeadAction.DNC).first()
    return events.filter(from_owner_id=person.pk).first()


def batch_list(*, user) -> QuerySet[LeadBatch]:
    if not (permissions.can_manage_leads(user) or permissions.sees_all_leads(user)):
        return LeadBatch.objects.none()
    return LeadBatch.objects.select_related("channel", "uploader").order_by("-created_at", "-id")


def batch_get(*, user, batch_id: int) -> LeadBatch:
    batch = batch_list(user=user).filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("No such batch"))
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


# --- Screens: summaries, the team's leads, batch and source quality -----------------------
def lead_state_counts(*, user) -> dict[str, int]:
    """How many visible leads are in each state (every state present, zero when none)."""
    counts = dict.fromkeys(LeadState.values, 0)
    rows = (
        Lead.objects.filter(lead_visible_q(user))
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )
    for state, n in rows:
        counts[state] = n
    return counts


def public_pool_summary(*, user) -> dict[str, list[dict]]:
    """Leads waiting in the public pool by grade, by channel and by batch."""
    qs = public_pool(user=user).order_by()
    return {
        "by_grade": list(qs.values("grade").annotate(n=Count("id")).order_by("grade")),
        "by_channel": list(
            qs.values("channel_id", "channel__name").annotate(n=Count("id")).order_by("-n")
        ),
        "by_batch": list(
            qs.values("batch_id", "batch__name").annotate(n=Count("id")).order_by("-n")[:50]
        ),
    }


def team_lead_list(*, user, state: str | None = None, owner_id: int | None = None):
    """The leads held by the people of the teams ``user`` leads (the team lead's view)."""
    me = person_for_user(user)
    if me is None or not has_role(user, Role.TEAM_LEAD):
        return Lead.objects.none()
    qs = Lead.objects.filter(owner__team__leader_id=me.pk).select_related(
        "customer", "owner", "channel"
    )
    if state == "private" or not state:
        qs = qs.filter(state__in=OPEN_STATES)
    else:
        qs = qs.filter(state=state)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    return qs.order_by("owner__name", "protect_until", "id")


def team_lead_counts(*, user) -> list[dict]:
    """Open leads per member of the teams ``user`` leads."""
    me = person_for_user(user)
    if me is None or not has_role(user, Role.TEAM_LEAD):
        return []
    return list(
        Lead.objects.filter(owner__team__leader_id=me.pk, state__in=OPEN_STATES)
        .values("owner_id", "owner__name", "owner__team__name")
        .annotate(
            held=Count("id"),
            in_progress=Count("id", filter=Q(state=LeadState.IN_PROGRESS)),
            warned=Count("id", filter=Q(recycle_warned_at__isnull=False)),
        )
        .order_by("owner__team__name", "owner__name")
    )


def _ratio(part, whole) -> float | None:
    """A share (0–1, four decimals); None when there is nothing to divide by."""
    return round(float(part) / float(whole), 4) if whole else None


def _money_per(amount, count):
    """Money divided by a count, in yuan and fen; None when the count is zero."""
    from decimal import Decimal

    if not count:
        return None
    return (Decimal(amount or 0) / count).quantize(Decimal("0.01"))


def _quality(row: dict, cost) -> dict:
    from decimal import Decimal

    leads, won = row["leads"], row["won"]
    cent = Decimal("0.01")
    premium = Decimal(row.get("premium") or 0).quantize(cent)
    cost = Decimal(cost or 0).quantize(cent)
    return {
        **row,
        "premium": premium,
        "cost": cost,
        "dialled_share": _ratio(row["dialled"], leads),
        "connect_rate": _ratio(row["connected"], row["dialled"]),
        "conversion": _ratio(won, leads),
        "premium_per_lead": _money_per(premium, leads),
        "cost_per_sale": _money_per(cost, won),
    }


_QUALITY_COUNTS = {
    "leads": Count("id"),
    "dialled": Count("id", filter=Q(dial_count__gt=0)),
    "connected": Count("id", filter=Q(connect_count__gt=0)),
    "won": Count("id", filter=Q(state=LeadState.WON)),
}


def batch_quality_list(*, user) -> list[dict]:
    """Per batch: leads, share dialled, lead-level connect rate (connected ÷ dialled),
    conversion (won ÷ leads), premium per lead and cost per sale (batch cost ÷ won)."""
    if not permissions.sees_all_leads(user):
        return []
    from django.db.models import Sum

    rows = (
        Lead.objects.filter(batch__isnull=False)
        .order_by()
        .values("batch_id")
        .annotate(**_QUALITY_COUNTS, premium=Sum("premium"))
    )
    by_batch = {r["batch_id"]: r for r in rows}
    out = []
    for batch in LeadBatch.objects.select_related("channel").order_by("-created_at", "-id"):
        row = by_batch.get(
            batch.pk,
            {"batch_id": batch.pk, "leads": 0, "dialled": 0, "connected": 0, "won": 0},
        )
        row = {**row, "name": batch.name, "channel": batch.channel.name}
        out.append(_quality(row, batch.cost))
    return out


def channel_quality_list(*, user) -> list[dict]:
    """The same figures per channel; the cost is the sum of the channel's batch costs."""
    if not permissions.sees_all_leads(user):
        return []
    from django.db.models import Sum

    rows = {
        r["channel_id"]: r
        for r in Lead.objects.order_by()
        .values("channel_id")
        .annotate(**_QUALITY_COUNTS, premium=Sum("premium"))
    }
    costs = dict(
        LeadBatch.objects.order_by()
        .values("channel_id")
        .annotate(total=Sum("cost"))
        .values_list("channel_id", "total")
    )
    out = []
    for channel in Channel.objects.order_by("code"):
        row = rows.get(
            channel.pk,
            {"channel_id": channel.pk, "leads": 0, "dialled": 0, "connected": 0, "won": 0},
        )
        row = {**row, "name": channel.name, "code": channel.code}
        out.append(_quality(row, costs.get(channel.pk)))
    return out
