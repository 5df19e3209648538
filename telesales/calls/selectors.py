"""Reads of call data, scoped to what the user may see. No full phone number leaves here:
attempts point at leads, and leads are shown through their masked number."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.calls import permissions
from telesales.calls.choices import AgentState, FollowUpStatus
from telesales.calls.models import (
    AgentPresence,
    CallAttempt,
    CallRuleSet,
    CdrImport,
    Disposition,
    FollowUp,
    open_call_limit,
)
from telesales.calls.rules import callrules_for_person
from telesales.core.errors import NotFound
from telesales.core.roles import Role, has_role
from telesales.org.choices import PersonStatus, TeamKind
from telesales.org.models import Person
from telesales.org.selectors import _led_team_ids, person_for_user


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.make_aware(dt.datetime.combine(day, dt.time()))
    return start, timezone.make_aware(dt.datetime.combine(day + timedelta(days=1), dt.time()))


def _agent_visible_q(user, prefix: str = "") -> Q:
    """Records of agents ``user`` may see: all (manager, planner); own; the led teams'."""
    if permissions.sees_all_calls(user):
        return Q()
    me = person_for_user(user)
    if me is None or not permissions.can_view_calls(user):
        return Q(pk__in=[])
    q = Q(**{f"{prefix}agent_id": me.pk})
    led = _led_team_ids(me) if has_role(user, Role.TEAM_LEAD) else []
    if led:
        q |= Q(**{f"{prefix}agent__team_id__in": led})
    return q


# --- Dispositions and rules ----------------------------------------------------------------
def disposition_list(*, include_inactive: bool = False) -> QuerySet[Disposition]:
    qs = Disposition.objects.all()
    if not include_inactive:
        qs = qs.filter(is_active=True)
    return qs.order_by("order", "code")


def callrules_list(*, user) -> QuerySet[CallRuleSet]:
    return CallRuleSet.objects.order_by("-effective_from", "-id")


def callrules_for_user(*, user) -> CallRuleSet:
    me = person_for_user(user)
    if me is None:
        from telesales.calls.rules import callrules_in_force

        return callrules_in_force()
    return callrules_for_person(me)


# --- Attempts ------------------------------------------------------------------------------
def attempt_list(
    *,
    user,
    lead=None,
    agent=None,
    day: dt.date | None = None,
) -> QuerySet[CallAttempt]:
    qs = CallAttempt.objects.filter(_agent_visible_q(user)).select_related(
        "lead", "lead__customer", "agent", "seat", "disposition"
    )
    if lead is not None:
        qs = qs.filter(lead_id=getattr(lead, "pk", lead))
    if agent is not None:
        qs = qs.filter(agent_id=getattr(agent, "pk", agent))
    if day is not None:
        start, end = _day_bounds(day)
        qs = qs.filter(started_at__gte=start, started_at__lt=end)
    return qs.order_by("-started_at", "-id")


def attempt_get(*, user, attempt_id: int) -> CallAttempt:
    attempt = attempt_list(user=user).filter(pk=attempt_id).first()
    if attempt is None:
        raise NotFound(_("No such call, or you may not see it"))
    return attempt


def lead_attempts(*, lead) -> QuerySet[CallAttempt]:
    """Every call on a lead, newest first (the caller has checked the lead is in sight)."""
    return (
        CallAttempt.objects.filter(lead_id=lead.pk)
        .select_related("agent", "disposition", "seat")
        .order_by("-started_at", "-id")
    )


# --- Follow-ups ----------------------------------------------------------------------------
def followup_list(
    *, user, agent=None, status: str | None = FollowUpStatus.OPEN
) -> QuerySet[FollowUp]:
    qs = FollowUp.objects.filter(_agent_visible_q(user)).select_related(
        "lead", "lead__customer", "agent", "moved_from"
    )
    if agent is not None:
        qs = qs.filter(agent_id=getattr(agent, "pk", agent))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("due_at", "id")


def followup_get(*, user, followup_id: int) -> FollowUp:
    followup = followup_list(user=user, status=None).filter(pk=followup_id).first()
    if followup is None:
        raise NotFound(_("No such follow-up, or you may not see it"))
    return followup


def followup_due_list(*, user, agent=None, until: dt.datetime | None = None) -> QuerySet[FollowUp]:
    """Open follow-ups due by ``until`` (default: now), overdue first: the head of the
    agent's queue. Without ``agent``: the user's own."""
    if agent is None:
        agent = person_for_user(user)
        if agent is None:
            return FollowUp.objects.none()
    until = until or timezone.now()
    return followup_list(user=user, agent=agent).filter(
        due_at__lte=until, lead__owner_id=getattr(agent, "pk", agent)
    )


def followup_day_list(*, user, day: dt.date, agent=None) -> QuerySet[FollowUp]:
    """The queue of a day: open follow-ups due by the end of ``day`` (overdue included)."""
    return followup_due_list(user=user, agent=agent, until=_day_bounds(day)[1])


def escalated_followup_list(*, user) -> QuerySet[FollowUp]:
    """Overdue follow-ups escalated to the user: a team lead sees those of the teams they
    lead; the manager and planner see all."""
    qs = FollowUp.objects.filter(
        status=FollowUpStatus.OPEN, escalated_at__isnull=False
    ).select_related("lead", "lead__customer", "agent", "agent__team")
    if permissions.sees_all_calls(user):
        return qs.order_by("due_at", "id")
    me = person_for_user(user)
    if me is None or not has_role(user, Role.TEAM_LEAD):
        return FollowUp.objects.none()
    led = _led_team_ids(me)
    return qs.filter(Q(escalated_to_id=me.pk) | Q(agent__team_id__in=led)).order_by("due_at", "id")


# --- Presence and the live board -----------------------------------------------------------
def center_day_start(now: dt.datetime) -> dt.datetime:
    """The start of the center's local day that holds ``now``."""
    return _day_bounds(timezone.localdate(now))[0]


def presence_stale(presence: AgentPresence | None, *, now: dt.datetime) -> bool:
    """Whether ``presence`` has not changed since before today's start (the center's local
    day): the agent was last seen on an earlier day, and whatever they were doing then
    (ready, on a call) is not what they are doing now. The board reads such an agent offline
    (``presences_reset_stale`` also sets them offline early in the morning)."""
    return presence is not None and presence.since < center_day_start(now)


def presence_open_call(presence: AgentPresence | None, *, now: dt.datetime):
    """The presence's call still open, if it was dialled today: a call left open since an
    earlier day is no call in progress (the next dial hangs it up)."""
    call = presence.attempt if presence is not None and presence.attempt_id else None
    if call is None or call.ended_at is not None or call.started_at < center_day_start(now):
        return None
    return call


def presence_get(*, agent: Person) -> AgentPresence:
    found = AgentPresence.objects.select_related("lead", "attempt").filter(person_id=agent.pk)
    presence = found.first()
    if presence is None:
        return AgentPresence(person=agent, state=AgentState.OFFLINE, since=timezone.now())
    return presence


def board_agents(*, user) -> QuerySet[Person]:
    """The agents on the user's board: the teams they lead (manager, planner: every sales
    team)."""
    qs = Person.objects.exclude(status=PersonStatus.LEFT).select_related("team", "seat")
    if permissions.sees_all_calls(user):
        return qs.filter(team__kind=TeamKind.SALES).order_by("team__name", "name", "id")
    me = person_for_user(user)
    if me is None or not has_role(user, Role.TEAM_LEAD):
        return Person.objects.none()
    return qs.filter(team_id__in=_led_team_ids(me)).order_by("team__name", "name", "id")


def _sales_for_day(agent_ids: list[int], day: dt.date) -> dict[int, dict]:
    try:
        from telesales.policies import selectors as policy_selectors
    except ImportError:  # pragma: no cover
        policy_selectors = None
    summary = getattr(policy_selectors, "policies_summary_for_day", None)
    if summary is None:
        return {pk: {"count": 0, "premium": Decimal("0.00")} for pk in agent_ids}
    return summary(agent_ids=agent_ids, day=day)


def live_board(*, user, day: dt.date | None = None) -> dict:
    """Per agent of the user's teams: presence (state, since), today's dials, connects,
    effective calls, talk seconds, sales and premium; per seat: the same figures; and the
    totals. ``effective`` uses each agent's rule set (``effective_call_seconds``)."""
    if not permissions.can_view_board(user):
        return {"agents": [], "seats": [], "totals": {}}
    day = day or timezone.localdate()
    start, end = _day_bounds(day)
    agents = list(board_agents(user=user))
    ids = [a.pk for a in agents]
    presence = {
        p.person_id: p
        for p in AgentPresence.objects.filter(person_id__in=ids).select_related("attempt")
    }
    threshold_by_agent = {
        a.pk: callrules_for_person(a, on=day).effective_call_seconds for a in agents
    }
    attempts = (
        CallAttempt.objects.filter(agent_id__in=ids, started_at__gte=start, started_at__lt=end)
        .order_by()
        .values("agent_id", "seat_id", "seat__code", "answered_at", "talk_seconds")
    )
    per_agent: dict[int, dict] = defaultdict(
        lambda: {"dials": 0, "connects": 0, "effective": 0, "talk_seconds": 0}
    )
    per_seat: dict[int, dict] = {}
    for row in attempts:
        a = per_agent[row["agent_id"]]
        a["dials"] += 1
        answered = row["answered_at"] is not None
        effective = answered and row["talk_seconds"] >= threshold_by_agent.get(row["agent_id"], 60)
        a["connects"] += int(answered)
        a["effective"] += int(effective)
        a["talk_seconds"] += row["talk_seconds"]
        if row["seat_id"]:
            s = per_seat.setdefault(
                row["seat_id"],
                {
                    "seat_id": row["seat_id"],
                    "seat_code": row["seat__code"],
                    "dials": 0,
                    "connects": 0,
                    "talk_seconds": 0,
                    "sales": 0,
                    "premium": Decimal("0.00"),
                    "agent_ids": set(),
                },
            )
            s["dials"] += 1
            s["connects"] += int(answered)
            s["talk_seconds"] += row["talk_seconds"]
            s["agent_ids"].add(row["agent_id"])
    sales = _sales_for_day(ids, day)
    now = timezone.now()
    limit = open_call_limit()
    rows = []
    for agent in agents:
        p = presence.get(agent.pk)
        call = presence_open_call(p, now=now)
        if presence_stale(p, now=now):
            p = None  # last seen on an earlier day: offline now
        figures = per_agent[agent.pk]
        sold = sales.get(agent.pk, {"count": 0, "premium": Decimal("0.00")})
        seat = getattr(agent, "seat", None)
        rows.append(
            {
                "agent_id": agent.pk,
                "name": agent.name,
                "team_id": agent.team_id,
                "team_name": agent.team.name,
                "state": p.state if p else AgentState.OFFLINE,
                "since": p.since if p else None,
                "state_seconds": int((now - p.since).total_seconds()) if p else None,
                "lead_id": p.lead_id if p else None,
                # The call in progress; open past the limit, most likely not hung up.
                "call_id": call.pk if call else None,
                "call_started_at": call.started_at if call else None,
                "call_open_too_long": call is not None and now - call.started_at > limit,
                "seat_id": seat.pk if seat else None,
                "seat_code": seat.code if seat else "",
                **figures,
                "sales": sold["count"],
                "premium": sold["premium"],
            }
        )
    # A seat's sales are those of the agent assigned to it.
    seat_of_agent = {a.pk: getattr(a, "seat", None) for a in agents}
    for agent_id, seat in seat_of_agent.items():
        if seat is None:
            continue
        s = per_seat.setdefault(
            seat.pk,
            {
                "seat_id": seat.pk,
                "seat_code": seat.code,
                "dials": 0,
                "connects": 0,
                "talk_seconds": 0,
                "sales": 0,
                "premium": Decimal("0.00"),
                "agent_ids": set(),
            },
        )
        sold = sales.get(agent_id, {"count": 0, "premium": Decimal("0.00")})
        s["sales"] += sold["count"]
        s["premium"] += sold["premium"]
    seats = [
        {**s, "agent_ids": sorted(s["agent_ids"])}
        for s in sorted(per_seat.values(), key=lambda s: s["seat_code"])
    ]
    totals = {
        key: sum(r[key] for r in rows)
        for key in ("dials", "connects", "effective", "talk_seconds", "sales")
    }
    totals["premium"] = sum((r["premium"] for r in rows), Decimal("0.00"))
    totals["agents"] = len(rows)
    totals["by_state"] = dict(Counter(r["state"] for r in rows))
    totals["calls_open_too_long"] = sum(r["call_open_too_long"] for r in rows)
    return {"day": day, "agents": rows, "seats": seats, "totals": totals}


def agent_day_figures(*, agent: Person, day: dt.date | None = None) -> dict:
    """The agent's own figures today (the workspace header)."""
    day = day or timezone.localdate()
    start, end = _day_bounds(day)
    threshold = callrules_for_person(agent, on=day).effective_call_seconds
    agg = CallAttempt.objects.filter(
        agent_id=agent.pk, started_at__gte=start, started_at__lt=end
    ).aggregate(
        dials=Count("id"),
        connects=Count("id", filter=Q(answered_at__isnull=False)),
        effective=Count("id", filter=Q(answered_at__isnull=False, talk_seconds__gte=threshold)),
        talk_seconds=Sum("talk_seconds"),
    )
    agg["talk_seconds"] = agg["talk_seconds"] or 0
    sold = _sales_for_day([agent.pk], day).get(agent.pk, {"count": 0, "premium": Decimal("0")})
    return {**agg, "sales": sold["count"], "premium": sold["premium"]}


# --- CDR imports ---------------------------------------------------------------------------
def cdr_import_list(*, user) -> QuerySet[CdrImport]:
    if not permissions.can_import_cdr(user):
        return CdrImport.objects.none()
    return CdrImport.objects.order_by("-created_at", "-id")


def conversion(*, user, since: dt.date, until: dt.date, agent_id: int | None = None) -> dict:
    """Conversion over the days ``since``–``until`` as the call reports count it (DOMAIN.md §4,
    成交率 (b)): the policies sold by the agents the user may see (``sales``: the center's
    sales figure, as the sales panel and the live board count it — net of the policies
    cancelled in free look or declined by underwriting, ``NOT_SOLD_STATUSES``) ÷ the leads
    those agents connected with (``leads_connected``: a lead with an answered call in the
    period); ``rate`` None without a connected lead. ``agent_id``: one of those agents only
    (an agent's own figure)."""
    from telesales.policies import selectors as policy_selectors
    from telesales.policies.choices import NOT_SOLD_STATUSES

    start, _end = _day_bounds(since)
    _start, end = _day_bounds(until)
    attempts = attempt_list(user=user).filter(
        started_at__gte=start, started_at__lt=end, answered_at__isnull=False
    )
    policies = policy_selectors.policy_list(user=user, since=since, until=until).exclude(
        status__in=NOT_SOLD_STATUSES  # cancelled in free look or declined: no sale
    )
    if agent_id is not None:
        attempts = attempts.filter(agent_id=agent_id)
        policies = policies.filter(agent_id=agent_id)
    connected = attempts.order_by().aggregate(n=Count("lead_id", distinct=True))["n"]
    sales = policies.order_by().count()
    return {
        "sales": sales,
        "leads_connected": connected,
        "rate": sales / connected if connected else None,
    }


# --- Reassigning a follow-up ---------------------------------------------------------------
def followup_reassign_targets(*, followup: FollowUp, day: dt.date | None = None) -> list[Person]:
    """The teammates a follow-up may move to (``services.followup_reassign``): agents (who can
    open the workspace), working, registered, of the grade its lead needs, in the owner's team,
    not absent on ``day`` (today) — the absent-owner cover's rule."""
    from telesales.leads.services import WORKING_STATUSES
    from telesales.org.models import Absence

    owner = followup.agent
    if not owner.team_id:
        return []
    day = day or timezone.localdate()
    absent = Absence.objects.filter(start_date__lte=day, end_date__gte=day).values("person_id")
    return list(
        Person.objects.filter(
            team_id=owner.team_id,
            status__in=WORKING_STATUSES,
            capability_grade__gte=followup.lead.required_grade or 1,
        )
        .filter(user__is_active=True, user__groups__name=Role.AGENT.value)
        .exclude(pk=owner.pk)
        .exclude(practice_reg_no="")
        .exclude(pk__in=absent)
        .order_by("name", "id")
    )
