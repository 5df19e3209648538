"""Reads of products, policies and service tasks, scoped to what the user may see.

Visibility: the center manager, renewal operations and the planner see every policy and
task; a team lead those of the teams they lead (by the team credited at the sale, or the
agent's current team) and their own; an agent their own. Out of sight is ``NotFound``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.errors import NotFound
from telesales.core.roles import Role, has_role
from telesales.leads.models import Customer
from telesales.org.models import Person, Team
from telesales.org.selectors import person_for_user
from telesales.policies import permissions
from telesales.policies.choices import (
    HELD_STATUSES,
    NOT_SOLD_STATUSES,
    STABILISATION_KINDS,
    PolicyStatus,
    TaskKind,
    TaskStatus,
)
from telesales.policies.models import Policy, Product, ServiceTask, StabilisationRuleSet
from telesales.policies.suggestions import household_members


# --- Visibility --------------------------------------------------------------------------
def policy_visible_q(user) -> Q:
    if permissions.sees_all_policies(user):
        return Q()
    me = person_for_user(user)
    if me is None or not permissions.can_view_policies(user):
        return Q(pk__in=[])
    q = Q(agent_id=me.pk)
    if has_role(user, Role.TEAM_LEAD):
        q |= Q(team__leader_id=me.pk) | Q(agent__team__leader_id=me.pk)
    return q


def task_visible_q(user) -> Q:
    if permissions.sees_all_policies(user):
        return Q()
    me = person_for_user(user)
    if me is None or not permissions.can_view_policies(user):
        return Q(pk__in=[])
    q = Q(agent_id=me.pk)
    if has_role(user, Role.TEAM_LEAD):
        q |= Q(agent__team__leader_id=me.pk)
    return q


# --- Products ----------------------------------------------------------------------------
def product_list(
    *, user, active_only: bool = False, category: str | None = None
) -> QuerySet[Product]:
    if not permissions.can_view_products(user):
        return Product.objects.none()
    qs = Product.objects.all()
    if active_only:
        qs = qs.filter(is_active=True)
    if category:
        qs = qs.filter(category=category)
    return qs.order_by("category", "name", "id")


def product_get(*, user, product_id: int) -> Product:
    product = product_list(user=user).filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("No such product"))
    return product


# --- Policies ----------------------------------------------------------------------------
def policy_list(
    *,
    user,
    status: str | None = None,
    agent_id: int | None = None,
    team_id: int | None = None,
    product_id: int | None = None,
    category: str | None = None,
    search: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[Policy]:
    """Policies the user may see, newest sale first. ``since``/``until``: sale (applied) day."""
    qs = Policy.objects.filter(policy_visible_q(user)).select_related(
        "holder", "agent", "team", "product"
    )
    if status:
        qs = qs.filter(status=status)
    if agent_id:
        qs = qs.filter(agent_id=agent_id)
    if team_id:
        qs = qs.filter(team_id=team_id)
    if product_id:
        qs = qs.filter(product_id=product_id)
    if category:
        qs = qs.filter(product__category=category)
    if since:
        qs = qs.filter(applied_at__date__gte=since)
    if until:
        qs = qs.filter(applied_at__date__lte=until)
    search = (search or "").strip()
    if search:
        qs = qs.filter(Q(number__icontains=search) | Q(holder__name__icontains=search))
    return qs.order_by("-applied_at", "-id")


def policy_numbers(policy_ids) -> dict[int, tuple[str, int]]:
    """Policy id → (number, selling agent's id) for ``policy_ids``, read 5,000 at a time (a
    database caps the parameters of one query; a pay line may name thousands). Not scoped:
    for callers that have checked the reader's right to the records naming these ids."""
    ids = sorted(set(policy_ids))
    found: dict[int, tuple[str, int]] = {}
    for start in range(0, len(ids), 5000):
        rows = Policy.objects.filter(pk__in=ids[start : start + 5000]).values_list(
            "pk", "number", "agent_id"
        )
        found.update((pk, (number, agent_id)) for pk, number, agent_id in rows)
    return found


def policy_get(*, user, policy_id: int) -> Policy:
    policy = (
        Policy.objects.filter(policy_visible_q(user))
        .select_related("holder", "agent", "team", "product", "lead", "created_by")
        .prefetch_related("insured")
        .filter(pk=policy_id)
        .first()
    )
    if policy is None:
        raise NotFound(_("No such policy, or you may not see it"))
    return policy


def policy_history(*, policy: Policy):
    return policy.events.select_related("actor", "actor__person").order_by("at", "id")


def policy_tasks(*, policy: Policy) -> QuerySet[ServiceTask]:
    return policy.tasks.select_related("customer", "for_customer", "agent", "converted_policy")


def household_holdings(*, customer: Customer) -> QuerySet[Policy]:
    """Policies held by the customer's household (as holder or insured), not cancelled: what
    the workspace shows next to the customer. The caller has checked the customer is in
    sight (through the lead)."""
    ids = [c.pk for c in household_members(customer)]
    return (
        Policy.objects.filter(status__in=HELD_STATUSES)
        .filter(Q(holder_id__in=ids) | Q(insured__in=ids))
        .distinct()
        .select_related("product", "holder", "agent")
        .prefetch_related("insured")
        .order_by("-applied_at", "-id")
    )


def policies_summary_for_day(*, agent_ids: list[int], day: dt.date) -> dict[int, dict]:
    """Sales (policies applied that day, not cancelled or declined) per agent: the live
    board's figures. Every agent asked for is in the answer, with zeros when they sold
    nothing."""
    out = {pk: {"count": 0, "premium": Decimal("0.00")} for pk in agent_ids}
    rows = (
        Policy.objects.filter(agent_id__in=list(agent_ids), applied_at__date=day)
        .exclude(status__in=NOT_SOLD_STATUSES)
        .order_by()
        .values("agent_id")
        .annotate(n=Count("id"), premium=Sum("annualised_premium"))
    )
    for row in rows:
        out[row["agent_id"]] = {
            "count": row["n"],
            "premium": Decimal(row["premium"] or 0).quantize(Decimal("0.01")),
        }
    return out


# --- Service tasks -----------------------------------------------------------------------
def service_task_list(
    *,
    user,
    status: str | None = None,
    kind: str | None = None,
    agent_id: int | None = None,
    due_before: dt.datetime | None = None,
) -> QuerySet[ServiceTask]:
    qs = ServiceTask.objects.filter(task_visible_q(user)).select_related(
        "customer", "for_customer", "agent", "policy", "policy__product", "converted_policy"
    )
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if agent_id:
        qs = qs.filter(agent_id=agent_id)
    if due_before:
        qs = qs.filter(due_at__lte=due_before)
    return qs.order_by("due_at", "id")


def service_task_due_list(
    *, user, agent: Person | None = None, until: dt.datetime | None = None
) -> QuerySet[ServiceTask]:
    """Open tasks due by ``until`` (default: now), oldest first — for the agent's queue."""
    qs = service_task_list(
        user=user,
        status=TaskStatus.OPEN,
        agent_id=agent.pk if agent is not None else None,
        due_before=until or timezone.now(),
    )
    return qs.select_related("lead")


def service_task_get(*, user, task_id: int) -> ServiceTask:
    task = service_task_list(user=user).filter(pk=task_id).first()
    if task is None:
        raise NotFound(_("No such task, or you may not see it"))
    return task


def lead_ids_with_open_tasks(lead_ids: list[int]) -> set[int]:
    """Recycling exemption: leads with open post-sale tasks are never recycled."""
    found: set[int] = set()
    for i in range(0, len(lead_ids), 900):
        chunk = lead_ids[i : i + 900]
        found.update(
            ServiceTask.objects.filter(lead_id__in=chunk, status=TaskStatus.OPEN)
            .values_list("lead_id", flat=True)
            .distinct()
        )
    return found


# --- Reports -----------------------------------------------------------------------------
def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _names(by: str, keys: list[int]) -> dict[int, str]:
    model = Person if by == "agent" else Team
    return dict(model.objects.filter(pk__in=keys).values_list("pk", "name"))


def stabilisation_rate(*, user, by: str, since: dt.date, until: dt.date) -> list[dict]:
    """Per agent or team, for the policies issued from ``since`` to ``until`` (local days):

    - ``issued``: policies issued in the period (the cohort);
    - ``kept``: past the free-look window (status free-look ended);
    - ``cancelled``: cancelled inside the window;
    - ``pending``: still inside (or before) the window;
    - ``numerator`` = kept, ``denominator`` = kept + cancelled (the settled policies), and
      ``rate`` = numerator ÷ denominator (None when nothing is settled yet);
    - ``cancel_rate`` = cancelled ÷ issued (犹豫期退保率, DOMAIN.md §4);
    - ``missed``: stabilisation calls (welcome call, check-in) of these policies not made
      before their window ended (status *missed*).

    Policies still inside their window are not in the denominator, so a young cohort is not
    shown as badly stabilised; once every window has closed the rate is kept ÷ issued."""
    if by not in ("agent", "team"):
        raise ValueError("by is 'agent' or 'team'")
    if not permissions.can_view_reports(user):
        return []
    key = "agent_id" if by == "agent" else "team_id"
    rows = (
        Policy.objects.filter(policy_visible_q(user), issued_at__isnull=False)
        .filter(issued_at__date__gte=since, issued_at__date__lte=until)
        .order_by()
        .values(key)
        .annotate(
            issued=Count("id"),
            kept=Count("id", filter=Q(status=PolicyStatus.FREE_LOOK_ENDED)),
            cancelled=Count("id", filter=Q(status=PolicyStatus.CANCELLED)),
        )
    )
    rows = list(rows)
    missed = dict(
        ServiceTask.objects.filter(
            policy__in=Policy.objects.filter(policy_visible_q(user), issued_at__isnull=False)
            .filter(issued_at__date__gte=since, issued_at__date__lte=until)
            .values("pk"),
            kind__in=STABILISATION_KINDS,
            status=TaskStatus.MISSED,
        )
        .order_by()
        .values(f"policy__{key}")
        .annotate(n=Count("id"))
        .values_list(f"policy__{key}", "n")
    )
    for r in rows:
        r["missed"] = missed.get(r[key], 0)
    names = _names(by, [r[key] for r in rows])
    out = [_rate_row(r, key=r[key], name=names.get(r[key], "—")) for r in rows]
    return sorted(out, key=lambda r: (r["name"], r["key"]))


def _rate_row(row: dict, *, key, name: str) -> dict:
    issued, kept, cancelled = row["issued"], row["kept"], row["cancelled"]
    settled = kept + cancelled
    return {
        "key": key,
        "name": name,
        "issued": issued,
        "kept": kept,
        "cancelled": cancelled,
        "pending": issued - settled,
        "numerator": kept,
        "denominator": settled,
        "rate": _ratio(kept, settled),
        "cancel_rate": _ratio(cancelled, issued),
        "missed": row.get("missed", 0),
    }


def stabilisation_total(rows: list[dict]) -> dict:
    """The rows of ``stabilisation_rate`` added up (the same definitions)."""
    total = {
        "issued": sum(r["issued"] for r in rows),
        "kept": sum(r["kept"] for r in rows),
        "cancelled": sum(r["cancelled"] for r in rows),
        "missed": sum(r.get("missed", 0) for r in rows),
    }
    return _rate_row(total, key=None, name=_("Total"))


def free_look_cancel_reasons(*, user, since: dt.date, until: dt.date) -> list[dict]:
    """Free-look cancellations of the policies issued in the period, by reason."""
    if not permissions.can_view_reports(user):
        return []
    return list(
        Policy.objects.filter(policy_visible_q(user), status=PolicyStatus.CANCELLED)
        .filter(issued_at__date__gte=since, issued_at__date__lte=until)
        .order_by()
        .values("cancel_reason")
        .annotate(n=Count("id"))
        .order_by("-n", "cancel_reason")
    )


def extended_service_conversion(*, user, by: str, since: dt.date, until: dt.date) -> list[dict]:
    """Extended-service suggestions created in the period, per agent or team (the task
    owner's current team): ``suggested``, ``worked`` (done), ``converted`` (a sale of the
    suggested category for the suggested person followed and is still held: a sale later
    cancelled in free-look or declined converts nothing) and ``rate`` = converted ÷
    suggested."""
    if by not in ("agent", "team"):
        raise ValueError("by is 'agent' or 'team'")
    if not permissions.can_view_reports(user):
        return []
    key = "agent_id" if by == "agent" else "agent__team_id"
    rows = list(
        ServiceTask.objects.filter(task_visible_q(user), kind=TaskKind.EXTENDED_SERVICE)
        .filter(created_at__date__gte=since, created_at__date__lte=until)
        .order_by()
        .values(key)
        .annotate(
            suggested=Count("id"),
            worked=Count("id", filter=Q(status=TaskStatus.DONE)),
            converted=Count("id", filter=Q(converted_policy__status__in=HELD_STATUSES)),
        )
    )
    names = _names(by, [r[key] for r in rows])
    out = [
        {
            "key": r[key],
            "name": names.get(r[key], "—"),
            "suggested": r["suggested"],
            "worked": r["worked"],
            "converted": r["converted"],
            "rate": _ratio(r["converted"], r["suggested"]),
        }
        for r in rows
    ]
    return sorted(out, key=lambda r: (r["name"], r["key"]))


# --- Rule sets ---------------------------------------------------------------------------
def ruleset_list(*, user) -> QuerySet[StabilisationRuleSet]:
    if not (permissions.can_manage_rules(user) or permissions.sees_all_policies(user)):
        return StabilisationRuleSet.objects.none()
    return StabilisationRuleSet.objects.select_related("created_by").order_by(
        "-effective_from", "-id"
    )
