"""Reads of tickets and their figures, always scoped to what the user may see.

Visibility (``ticket_visible_q``): the center manager and renewal operations see every
ticket; a team lead the tickets about the agents of the teams they lead, those owned by
people of those teams, and the ones they own, opened or had escalated to them (now or before
a reopening: the history keeps it); an agent the tickets they own or opened. Out of sight
is ``NotFound``.

Figures:

- **SLA attainment** (``sla_summary``, ``sla_by_month``) over the tickets *opened* in the
  period: a target is *settled* once it was met or missed (responded / resolved, or its due
  time has passed); attainment = met in time ÷ settled. Tickets whose target is still ahead
  are not in the denominator.
- **Complaint rate per 1,000 policies** (``complaint_rate``): numerator = tickets of kind
  complaint opened in the period (every channel, the regulator's included); denominator =
  policies in force at some time in the period: issued on or before its last day, not
  cancelled before its first day, and whose term (issue date + term years) had not ended
  before its first day. Both numbers are returned with the rate (two decimals; None when no
  policy was in force), and the policies issued in the period for context.
  ``complaint_rate_for_user`` gives a team lead the same figure over the teams they lead.
"""

from __future__ import annotations

import datetime as dt
import statistics
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Case,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core.errors import NotFound, ValidationFailed
from telesales.core.phone_numbers import normalise_phone, phone_hash
from telesales.core.roles import Role, has_role, user_roles
from telesales.leads.models import Customer, Lead
from telesales.org.choices import PersonStatus, TeamKind
from telesales.org.models import Person, Team
from telesales.org.selectors import _led_team_ids, person_for_user, person_visible_q
from telesales.policies.models import Policy
from telesales.policies.selectors import policy_visible_q
from telesales.tickets import permissions
from telesales.tickets.choices import (
    ACTIVE_STATUSES,
    REPORT_MAX_DAYS,
    TicketAction,
    TicketKind,
)
from telesales.tickets.models import SlaRuleSet, Ticket, TicketEvent

SEARCH_RESULTS = 20


# --- Visibility --------------------------------------------------------------------------
def ticket_visible_q(user) -> Q:
    """A filter on Ticket that keeps exactly the tickets ``user`` may see."""
    if permissions.sees_all_tickets(user):
        return Q()
    if not permissions.can_view_tickets(user):
        return Q(pk__in=[])
    q = Q(created_by_id=user.pk)
    me = person_for_user(user)
    if me is None:
        return q
    # Escalated to them now, or once: a reopened ticket starts its escalation again (level 0)
    # but whoever it went to keeps it in sight (and a team lead may go on working it).
    q |= (
        Q(owner_id=me.pk)
        | Q(escalated_to_id=me.pk)
        | Q(
            pk__in=TicketEvent.objects.filter(
                action=TicketAction.ESCALATE, to_person_id=me.pk
            ).values("ticket_id")
        )
    )
    if has_role(user, Role.TEAM_LEAD):
        led = _led_team_ids(me)
        if led:
            # about their teams' agents or policies (what their complaint rate counts), or
            # owned by their teams' people
            q |= _team_complaints_q(led) | Q(owner__team_id__in=led)
    return q


def led_team_ids(user) -> list[int]:
    """The teams ``user`` leads as a team lead (empty for anyone else)."""
    me = person_for_user(user)
    if me is None or not has_role(user, Role.TEAM_LEAD):
        return []
    return list(_led_team_ids(me))


def customer_visible_q(user) -> Q:
    """Customers ``user`` may attach to a ticket: every customer for the sees-all roles (they
    answer whoever calls); otherwise the customers of the leads the user or their led teams
    hold, and the holders of the policies the user may see."""
    if permissions.sees_all_tickets(user):
        return Q()
    me = person_for_user(user)
    if me is None or not permissions.can_open_ticket(user):
        return Q(pk__in=[])
    held = Q(owner_id=me.pk)
    led = _led_team_ids(me) if has_role(user, Role.TEAM_LEAD) else []
    if led:
        held |= Q(owner__team_id__in=led)
    return Q(pk__in=Lead.objects.filter(held).values("customer_id")) | Q(
        pk__in=Policy.objects.filter(policy_visible_q(user)).values("holder_id")
    )


def may_work_ticket(user, ticket: Ticket) -> bool:
    """Respond, resolve, close, reopen: the sees-all roles, the owner, and a team lead who
    sees the ticket (their team's, or escalated to them)."""
    if permissions.sees_all_tickets(user):
        return True
    me = person_for_user(user)
    if me is None or not permissions.can_view_tickets(user):
        return False
    if ticket.owner_id == me.pk:
        return True
    return has_role(user, Role.TEAM_LEAD) and (
        Ticket.objects.filter(ticket_visible_q(user), pk=ticket.pk).exists()
    )


def overdue_q(now: dt.datetime) -> Q:
    """Active tickets with a missed target: no first response after its due time, or not
    resolved after the resolution due time (strictly after: due at 10:00 is met at 10:00)."""
    return Q(status__in=ACTIVE_STATUSES) & (
        Q(first_response_at__isnull=True, response_due_at__lt=now) | Q(resolution_due_at__lt=now)
    )


# --- Tickets -----------------------------------------------------------------------------
def with_past_escalation(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Annotate ``past_escalation_level``: for a ticket not escalated now, the highest level
    it reached before it was reopened (reopening starts the escalation again, the history
    keeps the old one); 0 otherwise. A ticket not escalated now has every escalation row of
    its history before its last reopening (escalating sets the level, only reopening clears
    it)."""
    highest = (
        TicketEvent.objects.filter(ticket=OuterRef("pk"), action=TicketAction.ESCALATE)
        .exclude(escalation_level=None)
        .order_by("-escalation_level")
        .values("escalation_level")[:1]
    )
    return qs.annotate(
        past_escalation_level=Case(
            When(escalation_level=0, then=Coalesce(Subquery(highest), Value(0))),
            default=Value(0),
            output_field=IntegerField(),
        )
    )


def ticket_escalation_before_reopening(*, ticket: Ticket) -> TicketEvent | None:
    """The escalation a ticket not escalated now reached before it was reopened: its
    highest-level (then latest) escalation row; None when it is escalated now or never was."""
    if ticket.escalation_level:
        return None
    return (
        ticket.events.filter(action=TicketAction.ESCALATE)
        .exclude(escalation_level=None)
        .select_related("to_person")
        .order_by("-escalation_level", "-at", "-id")
        .first()
    )


def ticket_list(
    *,
    user,
    status: str | None = "active",
    kind: str | None = None,
    channel: str | None = None,
    priority: str | None = None,
    owner_id: int | None = None,
    mine: bool = False,
    unassigned: bool = False,
    overdue: bool = False,
    escalated: bool = False,
    about_my_teams: bool = False,
    opened_since: dt.date | None = None,
    opened_until: dt.date | None = None,
    customer_id: int | None = None,
    search: str = "",
    now: dt.datetime | None = None,
) -> QuerySet[Ticket]:
    """Visible tickets. ``status``: "active" (not yet resolved, the default), "all", or one
    status. Active lists come most urgent first (resolution due time); others newest first.
    Each row carries ``overdue`` (a target missed). ``about_my_teams``: about the agents or
    the policies of the teams the user leads (a team lead's complaint rate counts these).
    ``opened_since`` / ``opened_until``: opened on those local days (both included), as the
    figures count them. ``search``: the ticket number, subject,
    customer name or external reference; a full phone number finds the tickets of the
    customer with that number (through its keyed hash)."""
    now = now or timezone.now()
    qs = (
        with_past_escalation(Ticket.objects.filter(ticket_visible_q(user)))
        .select_related("customer", "owner", "agent", "policy", "escalated_to")
        .annotate(
            overdue=Case(
                When(overdue_q(now), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    )
    if status == "active" or status is None:
        qs = qs.filter(status__in=ACTIVE_STATUSES)
    elif status != "all":
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    if channel:
        qs = qs.filter(channel=channel)
    if priority:
        qs = qs.filter(priority=priority)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    if mine:
        me = person_for_user(user)
        qs = qs.filter(owner_id=me.pk) if me else qs.none()
    if unassigned:
        qs = qs.filter(owner__isnull=True)
    if overdue:
        qs = qs.filter(overdue_q(now))
    if escalated:
        qs = qs.filter(escalation_level__gt=0)
    if about_my_teams:
        led = led_team_ids(user)
        qs = qs.filter(_team_complaints_q(led)) if led else qs.none()
    if opened_since:
        qs = qs.filter(opened_at__date__gte=opened_since)
    if opened_until:
        qs = qs.filter(opened_at__date__lte=opened_until)
    if customer_id:
        qs = qs.filter(customer_id=customer_id)
    search = (search or "").strip()
    phone = phone_in(search)
    if phone:
        qs = qs.filter(customer__mobile_hash=phone_hash(phone))
    elif search:
        qs = qs.filter(
            Q(number__icontains=search)
            | Q(subject__icontains=search)
            | Q(customer__name__icontains=search)
            | Q(external_ref__icontains=search)
        )
    if status in ("active", None) or status in ACTIVE_STATUSES:
        return qs.order_by("resolution_due_at", "id")
    return qs.order_by("-opened_at", "-id")


def phone_in(text: str) -> str | None:
    """The E.164 form when ``text`` is a full phone number (7 digits or more), else None."""
    text = (text or "").strip()
    if sum(c.isdigit() for c in text) < 7:
        return None
    return normalise_phone(text).e164


def ticket_get(*, user, ticket_id: int) -> Ticket:
    ticket = (
        with_past_escalation(Ticket.objects.filter(ticket_visible_q(user)))
        .select_related(
            "customer",
            "policy",
            "policy__product",
            "agent",
            "agent__team",
            "owner",
            "owner__team",
            "escalated_to",
            "sla_ruleset",
            "created_by",
            "created_by__person",
        )
        .filter(pk=ticket_id)
        .first()
    )
    if ticket is None:
        raise NotFound(_("No such ticket, or you may not see it"))
    return ticket


def ticket_history(*, ticket: Ticket) -> QuerySet[TicketEvent]:
    return ticket.events.select_related("actor", "actor__person", "to_person").order_by("at", "id")


def ticket_counts(*, user, now: dt.datetime | None = None) -> dict[str, int]:
    """Queue counters for the visible active tickets: all, unassigned, overdue, escalated."""
    now = now or timezone.now()
    qs = Ticket.objects.filter(ticket_visible_q(user), status__in=ACTIVE_STATUSES)
    from django.db.models import Count

    return qs.aggregate(
        active=Count("id"),
        unassigned=Count("id", filter=Q(owner__isnull=True)),
        overdue=Count("id", filter=overdue_q(now)),
        escalated=Count("id", filter=Q(escalation_level__gt=0)),
    )


# --- Choices for the forms (customers, policies, people) ------------------------------------
def customer_search(*, user, q: str) -> list[Customer]:
    """Customers by name (contains), by customer number (``#123`` or digits up to 9), or by
    a full phone number (matched through its keyed hash, never by the stored number)."""
    q = (q or "").replace("\x00", "").strip()
    if not q or not permissions.can_open_ticket(user):
        return []
    qs = Customer.objects.filter(customer_visible_q(user))
    phone = phone_in(q)
    if phone:
        qs = qs.filter(mobile_hash=phone_hash(phone))
    elif q.lstrip("#").isdigit() and q.lstrip("#").isascii() and len(q.lstrip("#")) <= 9:
        qs = qs.filter(pk=int(q.lstrip("#")))
    else:
        qs = qs.filter(name__icontains=q[:50])
    return list(qs.order_by("name", "id")[:SEARCH_RESULTS])


def customer_get(*, user, customer_id: int) -> Customer:
    customer = Customer.objects.filter(customer_visible_q(user), pk=customer_id).first()
    if customer is None:
        raise NotFound(_("No such customer, or you may not see them"))
    return customer


def customer_policies(*, user, customer: Customer) -> QuerySet[Policy]:
    """The visible policies the customer holds or is insured by (newest first)."""
    return (
        Policy.objects.filter(policy_visible_q(user))
        .filter(Q(holder_id=customer.pk) | Q(insured=customer))
        .distinct()
        .select_related("product", "agent")
        .order_by("-applied_at", "-id")
    )


def policy_get(*, user, policy_id: int | None = None, number: str = "") -> Policy:
    """A visible policy by id or by its number."""
    qs = Policy.objects.filter(policy_visible_q(user)).select_related("holder", "agent")
    policy = qs.filter(pk=policy_id).first() if policy_id else None
    if policy is None and number:
        policy = qs.filter(number=number.strip()[:32]).exclude(number="").first()
    if policy is None:
        raise NotFound(_("No such policy, or you may not see it"))
    return policy


def owner_choices(*, user) -> QuerySet[Person]:
    """People ``user`` may assign tickets to: for the sees-all roles, the working renewal
    operations staff, managers and team leads (agents are assigned by their team lead); for a
    team lead, themselves and the working members of the teams they lead."""
    working = Person.objects.exclude(status__in=[PersonStatus.LEFT, PersonStatus.SUSPENDED])
    working = working.filter(user__isnull=False, user__is_active=True).select_related("team")
    if permissions.sees_all_tickets(user):
        roles = [Role.RENEWAL_OPS.value, Role.MANAGER.value, Role.TEAM_LEAD.value]
        return (
            working.filter(user__groups__name__in=roles).distinct().order_by("team__name", "name")
        )
    me = person_for_user(user)
    if me is None or not has_role(user, Role.TEAM_LEAD):
        return Person.objects.none()
    led = _led_team_ids(me)
    return working.filter(Q(pk=me.pk) | Q(team_id__in=led)).order_by("team__name", "name")


def agent_choices(*, user) -> QuerySet[Person]:
    """The sales people a ticket may be about (those the user may see)."""
    return (
        Person.objects.filter(person_visible_q(user), team__kind=TeamKind.SALES)
        .select_related("team")
        .order_by("team__name", "name")
    )


def manager_person() -> Person | None:
    """The center manager who receives the last escalation: the first working person whose
    login holds the manager role."""
    return (
        Person.objects.filter(user__groups__name=Role.MANAGER.value, user__is_active=True)
        .exclude(status__in=[PersonStatus.LEFT, PersonStatus.SUSPENDED])
        .order_by("id")
        .first()
    )


def may_hold_tickets(person: Person) -> bool:
    """A working person whose login holds a role that works tickets."""
    if person.status in (PersonStatus.LEFT, PersonStatus.SUSPENDED) or not person.user_id:
        return False
    user = person.user
    return bool(user.is_active and user_roles(user) & set(permissions.WORKER_ROLES))


# --- SLA rules ---------------------------------------------------------------------------
def ruleset_list(*, user) -> QuerySet[SlaRuleSet]:
    if not permissions.can_view_sla_rules(user):
        return SlaRuleSet.objects.none()
    return SlaRuleSet.objects.select_related("created_by", "created_by__person").order_by(
        "-effective_from", "-id"
    )


def ruleset_get(*, user, ruleset_id: int) -> SlaRuleSet:
    ruleset = ruleset_list(user=user).prefetch_related("targets").filter(pk=ruleset_id).first()
    if ruleset is None:
        raise NotFound(_("No such rule set"))
    return ruleset


# --- SLA figures ---------------------------------------------------------------------------
def report_period(since: dt.date | None, until: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period of a report: the given days, else the last six calendar months to today;
    at most ``REPORT_MAX_DAYS`` (``ValidationFailed`` otherwise, whichever end was given)."""
    until = until or timezone.localdate()
    if since is None:
        start = until.replace(day=1)
        for _month in range(5):
            start = (start - dt.timedelta(days=1)).replace(day=1)
        since = start
    if since > until:
        raise ValidationFailed(
            _("Invalid period"), fields={"since": [_("Must not be after the end.")]}
        )
    if (until - since).days > REPORT_MAX_DAYS:
        raise ValidationFailed(_("Invalid period"), fields={"since": [_("At most two years.")]})
    return since, until


# --- SLA figures (continued) -------------------------------------------------------------
def _hours(delta: dt.timedelta) -> float:
    return delta.total_seconds() / 3600


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _figures(rows: list[dict], now: dt.datetime) -> dict:
    """SLA figures of a group of tickets (rows from ``_rows``)."""
    responded = [r for r in rows if r["first_response_at"]]
    resolved = [r for r in rows if r["resolved_at"]]
    response_on_time = sum(r["first_response_at"] <= r["response_due_at"] for r in responded)
    resolution_on_time = sum(r["resolved_at"] <= r["resolution_due_at"] for r in resolved)
    response_settled = len(responded) + sum(
        1 for r in rows if not r["first_response_at"] and now > r["response_due_at"]
    )
    resolution_settled = len(resolved) + sum(
        1 for r in rows if not r["resolved_at"] and now > r["resolution_due_at"]
    )
    response_hours = [_hours(r["first_response_at"] - r["opened_at"]) for r in responded]
    resolution_hours = [_hours(r["resolved_at"] - r["opened_at"]) for r in resolved]

    def avg(values):
        return round(sum(values) / len(values), 1) if values else None

    def median(values):
        return round(statistics.median(values), 1) if values else None

    return {
        "opened": len(rows),
        "active": sum(1 for r in rows if r["status"] in ACTIVE_STATUSES),
        "overdue": sum(
            1
            for r in rows
            if r["status"] in ACTIVE_STATUSES
            and (
                (not r["first_response_at"] and now > r["response_due_at"])
                or now > r["resolution_due_at"]
            )
        ),
        "escalated": sum(1 for r in rows if r["escalated"]),
        "responded": len(responded),
        "response_on_time": response_on_time,
        "response_settled": response_settled,
        "response_attainment": _share(response_on_time, response_settled),
        "resolved": len(resolved),
        "resolution_on_time": resolution_on_time,
        "resolution_settled": resolution_settled,
        "resolution_attainment": _share(resolution_on_time, resolution_settled),
        "avg_response_hours": avg(response_hours),
        "median_response_hours": median(response_hours),
        "avg_resolution_hours": avg(resolution_hours),
        "median_resolution_hours": median(resolution_hours),
    }


def _rows(*, user, since: dt.date, until: dt.date) -> list[dict]:
    escalated = TicketEvent.objects.filter(ticket=OuterRef("pk"), action=TicketAction.ESCALATE)
    return list(
        Ticket.objects.filter(ticket_visible_q(user))
        .filter(opened_at__date__gte=since, opened_at__date__lte=until)
        .annotate(escalated=Exists(escalated))
        .order_by()
        .values(
            "kind",
            "status",
            "opened_at",
            "first_response_at",
            "response_due_at",
            "resolved_at",
            "resolution_due_at",
            "escalated",
        )
    )


def sla_summary(*, user, since: dt.date, until: dt.date, now: dt.datetime | None = None) -> dict:
    """SLA figures over the visible tickets opened from ``since`` to ``until`` (local days):
    ``total`` and ``by_kind`` (every kind present, zeros when none)."""
    now = now or timezone.now()
    if not permissions.can_view_sla_report(user):
        rows: list[dict] = []
    else:
        rows = _rows(user=user, since=since, until=until)
    by_kind = [
        {"kind": kind, "label": label, **_figures([r for r in rows if r["kind"] == kind], now)}
        for kind, label in TicketKind.choices
    ]
    return {"total": _figures(rows, now), "by_kind": by_kind}


def _month_starts(since: dt.date, until: dt.date) -> list[dt.date]:
    months, day = [], since.replace(day=1)
    while day <= until:
        months.append(day)
        day = (day + dt.timedelta(days=32)).replace(day=1)
    return months


def sla_by_month(
    *, user, since: dt.date, until: dt.date, now: dt.datetime | None = None
) -> list[dict]:
    """The SLA figures per calendar month (local time) of the period, oldest first."""
    now = now or timezone.now()
    rows = (
        _rows(user=user, since=since, until=until) if permissions.can_view_sla_report(user) else []
    )
    buckets: dict[dt.date, list[dict]] = {m: [] for m in _month_starts(since, until)}
    for row in rows:
        month = timezone.localtime(row["opened_at"]).date().replace(day=1)
        buckets.setdefault(month, []).append(row)
    return [
        {
            "month": month,
            "complaints": sum(1 for r in bucket if r["kind"] == TicketKind.COMPLAINT),
            **_figures(bucket, now),
        }
        for month, bucket in sorted(buckets.items())
    ]


# --- Complaint rate ----------------------------------------------------------------------
def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _team_policies_q(team_ids: list[int]) -> Q:
    """Policies of the teams: sold in one of them, or by an agent now in one of them."""
    return Q(team_id__in=team_ids) | Q(agent__team_id__in=team_ids)


def _team_complaints_q(team_ids: list[int]) -> Q:
    """Complaints of the teams: about one of their agents, or about one of their policies."""
    return (
        Q(agent__team_id__in=team_ids)
        | Q(policy__team_id__in=team_ids)
        | Q(policy__agent__team_id__in=team_ids)
    )


def policies_in_force_count(
    *, since: dt.date, until: dt.date, team_ids: list[int] | None = None
) -> int:
    """Policies in force at some time from ``since`` to ``until`` (see the module doc), of the
    center or, with ``team_ids``, of those teams (``_team_policies_q``)."""
    issued = Policy.objects.filter(issued_at__isnull=False, issued_at__date__lte=until)
    if team_ids is not None:
        issued = issued.filter(_team_policies_q(team_ids))
    issued = issued.exclude(cancelled_at__isnull=False, cancelled_at__date__lt=since)
    terms = sorted(set(issued.order_by().values_list("term_years", flat=True).distinct()))
    if not terms:
        return 0
    within_term = Q(pk__in=[])
    for years in terms:
        within_term |= Q(term_years=years, issued_at__date__gt=_years_before(since, years))
    return issued.filter(within_term).count()


def complaint_rate(*, user, since: dt.date, until: dt.date) -> dict | None:
    """Complaints per 1,000 policies in force for the period, center-wide (None for a user
    who may not see the indicator). Keeps both numbers."""
    if not permissions.can_view_complaint_rate(user):
        return None
    return _complaint_figures(since=since, until=until)


def _complaint_figures(
    *, since: dt.date, until: dt.date, team_ids: list[int] | None = None
) -> dict:
    complaints = Ticket.objects.filter(
        kind=TicketKind.COMPLAINT, opened_at__date__gte=since, opened_at__date__lte=until
    )
    issued = Policy.objects.filter(issued_at__date__gte=since, issued_at__date__lte=until)
    if team_ids is not None:
        complaints = complaints.filter(_team_complaints_q(team_ids))
        issued = issued.filter(_team_policies_q(team_ids))
    count = complaints.count()
    in_force = policies_in_force_count(since=since, until=until, team_ids=team_ids)
    rate = (Decimal(count) * 1000 / in_force).quantize(Decimal("0.01")) if in_force else None
    return {
        "since": since,
        "until": until,
        "complaints": count,
        "policies_in_force": in_force,
        "policies_issued": issued.count(),
        "rate_per_1000": rate,
    }


def complaint_rate_for_user(*, user, since: dt.date, until: dt.date) -> dict | None:
    """The complaint rate ``user`` answers for: center-wide (``complaint_rate``, with
    ``teams`` None) for the manager and renewal operations; for a team lead, the teams they
    lead (``teams``: their ids and names) — complaints about the teams' agents or policies ÷
    the teams' policies in force (sold in the teams, or by agents now in them). None for
    anyone else, and for a team lead who leads no team."""
    if permissions.can_view_complaint_rate(user):
        return {**_complaint_figures(since=since, until=until), "teams": None}
    if not permissions.can_view_team_complaint_rate(user):
        return None
    led = _led_team_ids(person_for_user(user))
    if not led:
        return None
    teams = list(Team.objects.filter(pk__in=led).order_by("name", "id").values("id", "name"))
    return {**_complaint_figures(since=since, until=until, team_ids=led), "teams": teams}


def complaint_rate_by_month(*, user, since: dt.date, until: dt.date) -> list[dict]:
    """``complaint_rate`` for each calendar month of the period (each month clipped to it)."""
    if not permissions.can_view_complaint_rate(user):
        return []
    out = []
    for start in _month_starts(since, until):
        end = min((start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1), until)
        out.append(
            {"month": start, **complaint_rate(user=user, since=max(start, since), until=end)}
        )
    return out
