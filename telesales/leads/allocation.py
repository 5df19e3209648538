"""Allocation: the data officer pushes public-pool leads to teams or agents.

Two steps, both services:

- ``allocation_preview`` computes a plan and stores it in an ``AllocationRun`` without touching
  a lead: the planned lead→agent pairs (``run.plan["assignments"]``) and a summary with the
  per-agent counts and grade mix, the agents skipped and why, and the leads that could not be
  placed and why (nothing is dropped silently).
- ``allocation_commit`` applies the plan as one audited transaction. It re-validates every pair
  against the situation at commit time and **refuses the whole run** with ``StalePreview`` when
  anything changed that breaks a rule (a lead left the public pool or was blocked, an agent
  left, became absent, lost capacity, …); nothing is written then, and the data officer makes a
  new preview. We chose refusal over "skip and commit the rest" because the officer approved a
  specific picture; a silently different outcome would defeat the preview. A run commits once.

Eligibility (every strategy)
----------------------------
Agents: status trainee, active or warning (suspended and left people are skipped); not absent
today (an ``org.Absence`` covering today); capacity left, which is the smaller of the private
cap for their level minus the leads they hold (owned or in progress) and the rule set's
``daily_allocation_quota`` minus the leads allocated to or claimed by them since local
midnight. The rule set is the one in force for the agent's team stage
(``rules.ruleset_for_person``). Team targets expand to the team's current members except its
leader and people who have left (name a leader in ``person_ids`` to include them).

Leads: in the public pool; not on the active DNC list, customer not flagged no-marketing, with
a consent record (source and time). A lead goes only to an agent whose
``capability_grade >= lead.required_grade`` and never back to a former owner still inside the
former-owner bar.

Strategies
----------
- ``round_robin``: each lead goes to the eligible agent with the fewest leads in this run; ties
  are broken by a random rotation order drawn from the run's seed, so neither seniority nor id
  order is favoured. Without restrictions the counts differ by at most one.
- ``weighted``: each lead goes to the eligible agent with the smallest ``(n + 0.5) / w``
  (Sainte-Laguë / Webster divisors), where ``n`` is the agent's leads in this run, so counts
  come out proportional to the weights ``w = level_weight × productivity``. ``level_weight`` is
  ``LeadRuleSet.level_weights`` for the agent's level (1 when missing). ``productivity`` is
  computed over the last 30 days as ``clamp(r / p, 0.5, 2.0)`` with the smoothed win rate
  ``r = (won + 20·p) / (held + 20)``, where ``won`` = leads the agent won in the window,
  ``held`` = distinct leads allocated to or claimed by the agent in the window, and ``p`` = the
  targets' pooled rate ``Σwon / Σheld`` (0.05 when they have no history). The 20 pseudo-leads
  at the pooled rate mean an agent with no history weighs exactly 1: new agents are not
  starved, and a few lucky sales do not double anyone's share.
- New-hire protection (both automatic strategies, on unless ``criteria["new_hire_protection"]``
  is false): agents within ``new_hire_weeks`` of their hire date are new hires. While A/B leads
  are placed, whenever the new hires' A/B count would fall below ``share × (A/B leads placed)``,
  the next A/B lead is offered to the new hires first (spread evenly among them), so they end
  with at least the reserved share (rounded up) whenever they have capacity. ``share`` is the
  mean ``new_hire_ab_share`` of the new hires' rule sets. New hires also take part in the
  ordinary distribution.
- ``manual``: ``manual={"assignments": {lead_id: person_id, …}}`` (explicit pairs) or
  ``manual={"counts": {person_id: n, …}}`` (n leads each from the filtered set, dealt in
  turn). Every eligibility rule still applies; pairs or counts that break one are reported in
  the summary, not planned.

Leads are taken in grade order (A first), then by id. ``criteria["limit"]`` bounds the set to
that many eligible leads. A run is deterministic for a given seed and database state; the
seed is stored in ``run.summary["seed"]``.
"""

from __future__ import annotations

import datetime as dt
import heapq
import random
import secrets
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.core.audit import audit_record
from telesales.core.errors import InvalidState, PermissionDenied, ValidationFailed
from telesales.leads import permissions
from telesales.leads.choices import (
    OPEN_STATES,
    AllocationStrategy,
    LeadAction,
    LeadGrade,
    LeadState,
)
from telesales.leads.errors import StalePreview
from telesales.leads.models import AllocationRun, DncEntry, Lead, LeadEvent, LeadRuleSet
from telesales.leads.rules import ruleset_in_force
from telesales.leads.services import WORKING_STATUSES, dnc_active_q, lead_events_record
from telesales.org.choices import PersonStatus, TeamKind
from telesales.org.models import Absence, Person, Team

PRODUCTIVITY_WINDOW_DAYS = 30
PRODUCTIVITY_PRIOR_LEADS = 20
PRODUCTIVITY_DEFAULT_RATE = 0.05
PRODUCTIVITY_MIN, PRODUCTIVITY_MAX = 0.5, 2.0
MAX_LIMIT = 200_000
CHUNK = 900  # ids per IN (…) query, below SQLite's historic 999-variable limit
AB_GRADES = (LeadGrade.A, LeadGrade.B)
MAX_LISTED = 500  # rejected manual pairs listed one by one in the summary

# Codes stored in run.summary; pages show these labels.
SKIP_REASONS = {
    "inactive": gettext_lazy("Not working (suspended or left)"),
    "absent": gettext_lazy("Absent today"),
    "capped": gettext_lazy("No capacity left (private cap or daily quota)"),
}
LEFT_REASONS = {
    "capacity": gettext_lazy("Every suitable agent is at their cap or daily quota"),
    "grade": gettext_lazy("No target agent has the sales-capability grade the lead needs"),
    "former_owner_bar": gettext_lazy("Only the barred former owner could take it"),
    "no_agents": gettext_lazy("No target agent can receive leads"),
    "not_available": gettext_lazy("Not in the public pool, or outside the filter"),
    "do_not_call": gettext_lazy("On the do-not-call list or no-marketing"),
    "no_consent": gettext_lazy("No consent record"),
    "agent_unavailable": gettext_lazy("The agent cannot receive leads"),
    "not_enough_leads": gettext_lazy("Not enough suitable leads in the set"),
}
# What changed between a preview and its commit (StalePreview details); the message names them.
STALE_PROBLEMS = {
    "not_in_public_pool": gettext_lazy("leads no longer in the public pool"),
    "do_not_call": gettext_lazy("leads now on the do-not-call list or no-marketing"),
    "no_consent": gettext_lazy("leads without a consent record"),
    "agent_not_working": gettext_lazy("leads for agents no longer working"),
    "agent_absent": gettext_lazy("leads for agents absent today"),
    "capacity": gettext_lazy("leads beyond the agents' capacity"),
    "grade": gettext_lazy("leads above the agent's sales-capability grade"),
    "former_owner_bar": gettext_lazy("leads that would go back to a barred former owner"),
}


# --- Agents ------------------------------------------------------------------------------
@dataclass
class _Agent:
    """One target agent's situation for this run."""

    person: Person
    ruleset: LeadRuleSet
    held: int
    today: int
    cap: int
    quota: int
    absent: bool
    new_hire: bool
    weight: float = 1.0
    productivity: float = 1.0
    position: int = 0
    capacity: int = 0
    assigned: int = 0
    assigned_ab: int = 0
    version: int = 0
    grades: Counter = field(default_factory=Counter)

    @property
    def pk(self) -> int:
        return self.person.pk

    @property
    def grade(self) -> int:
        return self.person.capability_grade

    @property
    def room(self) -> int:
        """Capacity left before this run: min(private cap − held, daily quota − today)."""
        return max(0, min(self.cap - self.held, self.quota - self.today))

    @property
    def skip_reason(self) -> str | None:
        if self.person.status not in WORKING_STATUSES:
            return "inactive"
        if self.absent:
            return "absent"
        if self.room <= 0:
            return "capped"
        return None


def _day_start(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def _grouped_counts(qs: QuerySet, key: str, *, distinct: str | None = None) -> dict[int, int]:
    counter = Count(distinct, distinct=True) if distinct else Count("id")
    return dict(qs.values_list(key).annotate(n=counter).values_list(key, "n"))


def _agent_situations(
    people: list[Person], *, now: dt.datetime, productivity: bool = False
) -> dict[int, _Agent]:
    """Every target's rule set, holdings, today's intake, absence and (optionally) weight.

    A handful of grouped queries whatever the number of agents.
    """
    today = timezone.localdate(now)
    ids = [p.pk for p in people]
    held: dict[int, int] = {}
    taken_today: dict[int, int] = {}
    absent: set[int] = set()
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        held.update(
            _grouped_counts(
                Lead.objects.filter(owner_id__in=chunk, state__in=OPEN_STATES), "owner_id"
            )
        )
        taken_today.update(
            _grouped_counts(
                LeadEvent.objects.filter(
                    to_owner_id__in=chunk,
                    action__in=[LeadAction.CLAIM, LeadAction.ALLOCATE],
                    at__gte=_day_start(now),
                ),
                "to_owner_id",
            )
        )
        absent.update(
            Absence.objects.filter(
                person_id__in=chunk, start_date__lte=today, end_date__gte=today
            ).values_list("person_id", flat=True)
        )
    rulesets: dict[str, LeadRuleSet] = {}
    agents: dict[int, _Agent] = {}
    for person in people:
        stage = person.team.stage if person.team_id else ""
        if stage not in rulesets:
            rulesets[stage] = ruleset_in_force(stage=stage, on=today)
        ruleset = rulesets[stage]
        level_code = person.level.code if person.level_id else None
        agents[person.pk] = _Agent(
            person=person,
            ruleset=ruleset,
            held=held.get(person.pk, 0),
            today=taken_today.get(person.pk, 0),
            cap=ruleset.cap_for_level(level_code),
            quota=ruleset.daily_allocation_quota,
            absent=person.pk in absent,
            new_hire=today < person.hire_date + timedelta(weeks=ruleset.new_hire_weeks),
            weight=float(ruleset.weight_for_level(level_code)),
        )
    if productivity:
        _apply_productivity(agents, now=now)
    return agents


def productivity_factors(
    won: dict[int, int], held: dict[int, int], ids: Iterable[int]
) -> dict[int, float]:
    """``clamp(r / p, 0.5, 2.0)`` with ``r = (won + 20·p) / (held + 20)`` (see module doc)."""
    ids = list(ids)
    total_won = sum(won.get(i, 0) for i in ids)
    total_held = sum(held.get(i, 0) for i in ids)
    pooled = total_won / total_held if total_won and total_held else PRODUCTIVITY_DEFAULT_RATE
    prior = PRODUCTIVITY_PRIOR_LEADS
    factors = {}
    for i in ids:
        rate = (won.get(i, 0) + prior * pooled) / (held.get(i, 0) + prior)
        factors[i] = min(PRODUCTIVITY_MAX, max(PRODUCTIVITY_MIN, rate / pooled))
    return factors


def _apply_productivity(agents: dict[int, _Agent], *, now: dt.datetime) -> None:
    since = now - timedelta(days=PRODUCTIVITY_WINDOW_DAYS)
    ids = list(agents)
    won: dict[int, int] = {}
    held: dict[int, int] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        won.update(
            _grouped_counts(
                Lead.objects.filter(owner_id__in=chunk, state=LeadState.WON, won_at__gte=since),
                "owner_id",
            )
        )
        held.update(
            _grouped_counts(
                LeadEvent.objects.filter(
                    to_owner_id__in=chunk,
                    action__in=[LeadAction.CLAIM, LeadAction.ALLOCATE],
                    at__gte=since,
                ),
                "to_owner_id",
                distinct="lead_id",
            )
        )
    for pk, factor in productivity_factors(won, held, ids).items():
        agents[pk].productivity = factor
        agents[pk].weight *= factor


# --- The lead set ------------------------------------------------------------------------
def _blocked_q(at: dt.datetime) -> Q:
    on_dnc = Exists(
        DncEntry.objects.filter(dnc_active_q(at), phone_hash=OuterRef("customer__mobile_hash"))
    )
    return Q(customer__no_marketing=True) | Q(on_dnc)


def _no_consent_q() -> Q:
    return Q(consent_at__isnull=True) | Q(consent_source="")


def _filtered_public(criteria: dict) -> QuerySet[Lead]:
    qs = Lead.objects.filter(state=LeadState.PUBLIC, owner__isnull=True)
    if criteria.get("batch_id"):
        qs = qs.filter(batch_id=criteria["batch_id"])
    if criteria.get("channel_id"):
        qs = qs.filter(channel_id=criteria["channel_id"])
    if criteria.get("grades"):
        qs = qs.filter(grade__in=criteria["grades"])
    if criteria.get("lead_ids"):
        qs = qs.filter(pk__in=criteria["lead_ids"])
    return qs


@dataclass(frozen=True)
class _LeadRow:
    pk: int
    grade: str
    required_grade: int
    barred_owner: int | None


LEAD_FIELDS = ("pk", "grade", "required_grade", "former_owner_id", "former_owner_bar_until")


def _row(values: tuple, now: dt.datetime) -> _LeadRow:
    pk, grade, required, former, bar_until = values
    barred = former if former and bar_until and bar_until > now else None
    return _LeadRow(pk, grade, required, barred)


def _iter_leads(qs: QuerySet[Lead], *, now: dt.datetime) -> Iterator[_LeadRow]:
    """Eligible leads in grade order (A first) then id, read in chunks (keyset pagination)."""
    for grade in LeadGrade.values:
        last = 0
        while True:
            rows = list(
                qs.filter(grade=grade, pk__gt=last).order_by("pk").values_list(*LEAD_FIELDS)[:CHUNK]
            )
            if not rows:
                break
            last = rows[-1][0]
            for values in rows:
                yield _row(values, now)


# --- The picker --------------------------------------------------------------------------
class _Picker:
    """The agents with capacity, one heap per capability grade, keyed by the strategy.

    Entries are invalidated lazily through the agent's ``version``, so an agent may sit in
    several pickers (everyone, new hires) and each sees its current key.
    """

    def __init__(
        self,
        agents: Iterable[_Agent],
        key: Callable[[_Agent], Any],
        *,
        members: set[int] | None = None,
    ) -> None:
        self.key = key
        self.members = members
        self.heaps: dict[int, list] = {g: [] for g in range(1, 5)}
        for agent in agents:
            self.push(agent)

    def push(self, agent: _Agent) -> None:
        if agent.capacity > 0 and (self.members is None or agent.pk in self.members):
            heap = self.heaps[min(4, max(1, agent.grade))]
            heapq.heappush(heap, (self.key(agent), agent.position, agent.version, agent))

    def _top(self, heap: list) -> tuple | None:
        while heap:
            entry = heap[0]
            agent = entry[3]
            if entry[2] == agent.version and agent.capacity > 0:
                return entry
            heapq.heappop(heap)
        return None

    def pick(self, required_grade: int, barred: int | None) -> _Agent | None:
        best = None
        for grade in range(max(1, required_grade), 5):
            heap = self.heaps[grade]
            entry = self._top(heap)
            if entry and entry[3].pk == barred:
                held = heapq.heappop(heap)
                entry = self._top(heap)
                heapq.heappush(heap, held)
            if entry and (best is None or entry[:2] < best[:2]):
                best = entry
        return best[3] if best else None

    def max_grade(self) -> int:
        return max((g for g, heap in self.heaps.items() if self._top(heap)), default=0)

    def empty(self) -> bool:
        return self.max_grade() == 0


def _unplaced_reason(row: _LeadRow, top_grade: int, everyone: _Picker) -> str:
    """Why nobody could take ``row``; ``top_grade`` is the best grade among all targets."""
    if top_grade == 0:
        return "no_agents"
    if row.required_grade > top_grade:
        return "grade"
    if everyone.max_grade() >= row.required_grade:
        return "former_owner_bar"  # someone able had room: only the barred one
    return "capacity"


def _assign(agent: _Agent, row: _LeadRow, pairs: list, pickers: Iterable[_Picker]) -> None:
    pairs.append([row.pk, agent.pk])
    agent.assigned += 1
    agent.capacity -= 1
    agent.grades[row.grade] += 1
    if row.grade in AB_GRADES:
        agent.assigned_ab += 1
    agent.version += 1
    for picker in pickers:
        picker.push(agent)


def _distribute(
    agents: list[_Agent],
    rows: Iterator[_LeadRow],
    *,
    key: Callable[[_Agent], Any],
    share: Decimal,
    set_size: int | None,
) -> tuple[list, Counter, int, dict]:
    """Place leads on agents. Returns (pairs, unplaced reasons, leads scanned, new-hire info)."""
    everyone = _Picker(agents, key)
    new_hires = [a for a in agents if a.new_hire]
    reserve = share > 0 and bool(new_hires)
    nh_picker = _Picker(
        new_hires, lambda a: (a.assigned_ab, a.assigned), members={a.pk for a in new_hires}
    )
    pickers = [everyone, nh_picker] if reserve else [everyone]
    top_grade = max((a.grade for a in agents), default=0)
    pairs: list[list[int]] = []
    unplaced: Counter = Counter()
    scanned = 0
    ab_placed = ab_to_new = 0
    for row in rows:
        if everyone.empty() or (set_size is not None and scanned >= set_size):
            break
        scanned += 1
        agent = None
        is_ab = row.grade in AB_GRADES
        if reserve and is_ab and ab_to_new < share * (ab_placed + 1):
            agent = nh_picker.pick(row.required_grade, row.barred_owner)
        if agent is None:
            agent = everyone.pick(row.required_grade, row.barred_owner)
        if agent is None:
            unplaced[_unplaced_reason(row, top_grade, everyone)] += 1
        else:
            _assign(agent, row, pairs, pickers)
            if is_ab:
                ab_placed += 1
                ab_to_new += agent.new_hire
    info = {
        "share": str(share) if reserve else "0",
        "new_hires": [a.pk for a in new_hires],
        "ab_planned": ab_placed,
        "ab_to_new_hires": ab_to_new,
    }
    return pairs, unplaced, scanned, info


# --- Input -------------------------------------------------------------------------------
def _int_list(value: Any, name: str, errors: dict) -> list[int]:
    if value in (None, "", []):
        return []
    if not isinstance(value, list | tuple | set):
        value = [value]
    try:
        result = sorted({int(v) for v in value})
    except (TypeError, ValueError):
        errors.setdefault(name, []).append(_("a list of ids"))
        return []
    if any(v <= 0 for v in result):
        errors.setdefault(name, []).append(_("ids are positive numbers"))
    return result


def _clean_criteria(criteria: dict | None, errors: dict) -> dict:
    criteria = dict(criteria or {})
    clean: dict[str, Any] = {}
    for name in ("batch_id", "channel_id"):
        if criteria.get(name) not in (None, ""):
            try:
                clean[name] = int(criteria[name])
            except (TypeError, ValueError):
                errors.setdefault(name, []).append(_("not a valid id"))
    grades = criteria.get("grades") or criteria.get("grade") or []
    grades = [grades] if isinstance(grades, str) else list(grades)
    bad = [g for g in grades if g not in LeadGrade.values]
    if bad:
        errors.setdefault("grades", []).append(_("unknown grade"))
    elif grades:
        clean["grades"] = sorted(set(grades))
    lead_ids = _int_list(criteria.get("lead_ids"), "lead_ids", errors)
    if lead_ids:
        clean["lead_ids"] = lead_ids
    if criteria.get("limit") not in (None, ""):
        try:
            limit = int(criteria["limit"])
        except (TypeError, ValueError):
            limit = 0
        if not 1 <= limit <= MAX_LIMIT:
            errors.setdefault("limit", []).append(_("between 1 and %(max)d") % {"max": MAX_LIMIT})
        else:
            clean["limit"] = limit
    clean["new_hire_protection"] = bool(criteria.get("new_hire_protection", True))
    return clean


def _clean_manual(manual: dict | None, errors: dict) -> dict:
    manual = manual or {}
    clean: dict[str, dict[str, int]] = {}
    for name in ("assignments", "counts"):
        value = manual.get(name)
        if not value:
            continue
        try:
            pairs = {int(k): int(v) for k, v in dict(value).items()}
        except (TypeError, ValueError):
            errors.setdefault(f"manual.{name}", []).append(_("ids and numbers only"))
            continue
        if any(k <= 0 or v <= 0 for k, v in pairs.items()):
            errors.setdefault(f"manual.{name}", []).append(_("positive numbers only"))
            continue
        clean[name] = {str(k): v for k, v in sorted(pairs.items())}
    if len(clean) != 1:
        errors.setdefault("manual", []).append(
            _("give either explicit assignments (lead → agent) or counts per agent")
        )
    return clean


def _target_people(targets: dict, errors: dict) -> list[Person]:
    team_ids = targets.get("team_ids", [])
    person_ids = targets.get("person_ids", [])
    teams = {t.pk: t for t in Team.objects.filter(pk__in=team_ids)}
    if len(teams) != len(team_ids):
        errors.setdefault("team_ids", []).append(_("unknown team"))
    if any(t.kind != TeamKind.SALES for t in teams.values()):
        errors.setdefault("team_ids", []).append(_("only sales teams receive leads"))
    found = Person.objects.filter(pk__in=person_ids).count()
    if found != len(person_ids):
        errors.setdefault("person_ids", []).append(_("unknown person"))
    leaders = [t.leader_id for t in teams.values() if t.leader_id]
    members = Q(team_id__in=list(teams)) & ~Q(status=PersonStatus.LEFT) & ~Q(pk__in=leaders)
    return list(
        Person.objects.filter(members | Q(pk__in=person_ids))
        .select_related("team", "level")
        .order_by("pk")
    )


def _agent_row(agent: _Agent) -> dict:
    person = agent.person
    return {
        "person_id": person.pk,
        "name": person.name,
        "team": person.team.name if person.team_id else "",
        "level": person.level.code if person.level_id else "",
        "capability_grade": person.capability_grade,
        "ruleset": agent.ruleset.name,
        "held": agent.held,
        "today": agent.today,
        "cap": agent.cap,
        "quota": agent.quota,
        "capacity": agent.room,
        "weight": round(agent.weight, 4),
        "productivity": round(agent.productivity, 4),
        "new_hire": agent.new_hire,
        "planned": agent.assigned,
        "grades": {g: agent.grades.get(g, 0) for g in LeadGrade.values},
    }


def _skip_row(agent: _Agent) -> dict:
    reason = agent.skip_reason or ""
    return {
        "person_id": agent.pk,
        "name": agent.person.name,
        "team": agent.person.team.name if agent.person.team_id else "",
        "reason": reason,
        "message": str(SKIP_REASONS.get(reason, reason)),
        "status": agent.person.status,
        "held": agent.held,
        "cap": agent.cap,
        "today": agent.today,
        "quota": agent.quota,
    }


# --- Preview -----------------------------------------------------------------------------
@transaction.atomic
def allocation_preview(
    *,
    actor,
    strategy: str,
    criteria: dict | None = None,
    targets: dict | None = None,
    manual: dict | None = None,
    seed: int | None = None,
    now: dt.datetime | None = None,
) -> AllocationRun:
    """Plan an allocation of public-pool leads to agents; no lead changes (see module doc).

    ``criteria``: ``batch_id``, ``channel_id``, ``grade`` or ``grades``, ``lead_ids``,
    ``limit``, ``new_hire_protection`` (default true). ``targets``: ``team_ids`` and/or
    ``person_ids``. ``manual`` (strategy manual only): ``{"assignments": {lead: person}}`` or
    ``{"counts": {person: n}}``. ``seed`` makes the tie-break reproducible (random if None).
    """
    if not permissions.can_manage_leads(actor):
        raise PermissionDenied(_("Only the data officer or the center manager may allocate leads"))
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if strategy not in AllocationStrategy.values:
        errors.setdefault("strategy", []).append(_("unknown strategy"))
    clean_criteria = _clean_criteria(criteria, errors)
    targets = targets or {}
    clean_targets = {
        "team_ids": _int_list(targets.get("team_ids"), "team_ids", errors),
        "person_ids": _int_list(targets.get("person_ids"), "person_ids", errors),
    }
    clean_manual: dict = {}
    if strategy == AllocationStrategy.MANUAL:
        clean_manual = _clean_manual(manual, errors)
        extra = [int(v) for v in clean_manual.get("assignments", {}).values()]
        extra += [int(k) for k in clean_manual.get("counts", {})]
        clean_targets["person_ids"] = sorted(set(clean_targets["person_ids"]) | set(extra))
        clean_targets["manual"] = clean_manual
    if not errors and not (clean_targets["team_ids"] or clean_targets["person_ids"]):
        errors.setdefault("targets", []).append(_("choose at least one team or agent"))
    people = [] if errors else _target_people(clean_targets, errors)
    if errors:
        raise ValidationFailed(_("The allocation request is not valid"), fields=errors)

    if seed is None:
        seed = secrets.randbits(32)
    seed = int(seed)
    rng = random.Random(seed)  # noqa: S311  (a fair tie-break, not a secret)
    situations = _agent_situations(
        people, now=now, productivity=strategy == AllocationStrategy.WEIGHTED
    )
    order = sorted(situations)
    rng.shuffle(order)
    for position, pk in enumerate(order):
        situations[pk].position = position
    agents = [a for a in situations.values() if a.skip_reason is None]
    skipped = [a for a in situations.values() if a.skip_reason is not None]
    for agent in agents:
        agent.capacity = agent.room

    public = _filtered_public(clean_criteria)
    blocked = _blocked_q(now)
    matched = public.count()
    excluded = {
        "do_not_call": public.filter(blocked).count(),
        "no_consent": public.exclude(blocked).filter(_no_consent_q()).count(),
    }
    eligible_qs = public.exclude(blocked).exclude(_no_consent_q())
    eligible = matched - sum(excluded.values())
    limit = clean_criteria.get("limit")
    set_size = min(eligible, limit) if limit else eligible

    manual_rejected: list[dict] = []
    new_hire_info: dict = {}
    left_by_reason: Counter = Counter()
    if strategy == AllocationStrategy.MANUAL and "assignments" in clean_manual:
        pairs, left_by_reason, manual_rejected = _plan_explicit(
            clean_manual["assignments"], situations, eligible_qs, public, now=now
        )
        set_size = len(clean_manual["assignments"])
    elif strategy == AllocationStrategy.MANUAL:
        requested = {int(k): v for k, v in clean_manual["counts"].items()}
        for agent in agents:
            agent.capacity = min(agent.room, requested.get(agent.pk, 0))
        pairs, _unplaced, _scanned, _info = _distribute(
            agents,
            _iter_leads(eligible_qs, now=now),
            key=lambda a: (a.assigned,),
            share=Decimal(0),
            set_size=None,
        )
        for pk, wanted in requested.items():
            agent = situations.get(pk)
            short = wanted - (agent.assigned if agent else 0)
            if not short:
                continue
            if agent is None or agent.skip_reason:
                reason = "agent_unavailable"
            elif agent.room < wanted:
                reason = "capacity"
            else:
                reason = "not_enough_leads"
            left_by_reason[reason] += short
            manual_rejected.append({"person_id": pk, "requested": wanted, "reason": reason})
        set_size = sum(requested.values())
    else:
        if strategy == AllocationStrategy.WEIGHTED:

            def key(a: _Agent) -> tuple:
                return ((a.assigned + 0.5) / a.weight if a.weight > 0 else float("inf"),)
        else:

            def key(a: _Agent) -> tuple:
                return (a.assigned,)

        new_hires = [a for a in agents if a.new_hire]
        share = Decimal(0)
        if clean_criteria["new_hire_protection"] and new_hires:
            share = sum((a.ruleset.new_hire_ab_share for a in new_hires), Decimal(0)) / len(
                new_hires
            )
        pairs, left_by_reason, scanned, new_hire_info = _distribute(
            [a for a in agents if a.weight > 0],
            _iter_leads(eligible_qs, now=now),
            key=key,
            share=share,
            set_size=set_size,
        )
        if set_size > scanned:
            left_by_reason["capacity" if agents else "no_agents"] += set_size - scanned

    grade_mix = Counter()
    for agent in situations.values():
        grade_mix.update(agent.grades)
    left = sum(left_by_reason.values())
    summary = {
        "seed": seed,
        "strategy": strategy,
        "computed_at": now.isoformat(),
        "on": timezone.localdate(now).isoformat(),
        "leads": {
            "matched": matched,
            "excluded": excluded,
            "eligible": eligible,
            "in_set": set_size,
            "planned": len(pairs),
            "left": left,
        },
        "left_by_reason": dict(left_by_reason),
        "left_messages": {k: str(LEFT_REASONS[k]) for k in left_by_reason},
        "grade_mix": {g: grade_mix.get(g, 0) for g in LeadGrade.values},
        "agents": [_agent_row(situations[pk]) for pk in order if situations[pk] in agents],
        "skipped_agents": [_skip_row(a) for a in sorted(skipped, key=lambda a: a.pk)],
        "new_hire": new_hire_info,
        "manual_rejected": manual_rejected[:MAX_LISTED],
    }
    run = AllocationRun.objects.create(
        created_by=actor,
        strategy=strategy,
        criteria=clean_criteria,
        targets=clean_targets,
        plan={"assignments": pairs},
        summary=summary,
    )
    audit_record(
        actor=actor,
        action="leads.allocation_preview",
        instance=run,
        after={"planned": len(pairs), "left": left, "seed": seed, "strategy": strategy},
    )
    return run


def _plan_explicit(
    assignments: dict[str, int],
    situations: dict[int, _Agent],
    eligible_qs: QuerySet[Lead],
    public: QuerySet[Lead],
    *,
    now: dt.datetime,
) -> tuple[list, Counter, list]:
    """Manual lead → agent pairs: keep the ones every rule allows, report the rest."""
    wanted = {int(k): v for k, v in assignments.items()}
    rows: dict[int, _LeadRow] = {}
    in_public: set[int] = set()
    ids = sorted(wanted)
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i : i + CHUNK]
        rows.update(
            (values[0], _row(values, now))
            for values in eligible_qs.filter(pk__in=chunk).values_list(*LEAD_FIELDS)
        )
        in_public.update(public.filter(pk__in=chunk).values_list("pk", flat=True))
    blocked = set()
    missing = [i for i in ids if i in in_public and i not in rows]
    for i in range(0, len(missing), CHUNK):
        blocked.update(
            public.filter(_blocked_q(now), pk__in=missing[i : i + CHUNK]).values_list(
                "pk", flat=True
            )
        )
    pairs: list[list[int]] = []
    left: Counter = Counter()
    rejected: list[dict] = []
    for agent in situations.values():
        agent.capacity = agent.room if agent.skip_reason is None else 0
    for lead_id in ids:
        agent = situations.get(wanted[lead_id])
        row = rows.get(lead_id)
        if lead_id not in in_public:
            reason = "not_available"
        elif row is None:
            reason = "do_not_call" if lead_id in blocked else "no_consent"
        elif agent is None or agent.skip_reason:
            reason = "agent_unavailable"
        elif agent.grade < row.required_grade:
            reason = "grade"
        elif row.barred_owner == agent.pk:
            reason = "former_owner_bar"
        elif agent.capacity <= 0:
            reason = "capacity"
        else:
            _assign(agent, row, pairs, [])
            continue
        left[reason] += 1
        rejected.append({"lead_id": lead_id, "person_id": wanted[lead_id], "reason": reason})
    return pairs, left, rejected


# --- Commit ------------------------------------------------------------------------------
def _stale(problems: Counter) -> StalePreview:
    return StalePreview(
        _(
            "The situation changed since the preview (%(problems)s); nothing was allocated. "
            "Make a new preview."
        )
        % {
            "problems": ", ".join(
                f"{STALE_PROBLEMS.get(k, k)}: {v}" for k, v in sorted(problems.items())
            )
        },
        details={"problems": dict(problems)},
    )


@transaction.atomic
def allocation_commit(*, run: AllocationRun, actor) -> AllocationRun:
    """Apply a previewed plan as one audited operation, or refuse it whole (module doc)."""
    if not permissions.can_manage_leads(actor):
        raise PermissionDenied(_("Only the data officer or the center manager may allocate leads"))
    run = AllocationRun.objects.select_for_update().get(pk=run.pk)
    if run.committed_at:
        raise InvalidState(_("This allocation was committed already"))
    pairs = [(int(lead), int(person)) for lead, person in run.plan.get("assignments", [])]
    if not pairs:
        raise InvalidState(_("This allocation places no leads; there is nothing to commit"))
    now = timezone.now()
    by_agent: dict[int, list[int]] = defaultdict(list)
    for lead_id, person_id in pairs:
        by_agent[person_id].append(lead_id)
    # Lock the agents first (as lead_claim does), then the leads, both in id order.
    people = list(
        Person.objects.select_for_update(of=("self",))
        .select_related("team", "level")
        .filter(pk__in=list(by_agent))
        .order_by("pk")
    )
    situations = _agent_situations(people, now=now)
    problems: Counter = Counter()
    lead_ids = sorted(lead for lead, _person in pairs)
    leads: dict[int, _LeadRow] = {}
    blocked: set[int] = set()
    no_consent: set[int] = set()
    for i in range(0, len(lead_ids), CHUNK):
        chunk = lead_ids[i : i + CHUNK]
        locked = Lead.objects.select_for_update(of=("self",)).filter(
            pk__in=chunk, state=LeadState.PUBLIC, owner__isnull=True
        )
        leads.update(
            (values[0], _row(values, now))
            for values in locked.order_by("pk").values_list(*LEAD_FIELDS)
        )
        blocked.update(
            Lead.objects.filter(_blocked_q(now), pk__in=chunk).values_list("pk", flat=True)
        )
        no_consent.update(
            Lead.objects.filter(_no_consent_q(), pk__in=chunk).values_list("pk", flat=True)
        )
    problems["not_in_public_pool"] = len(lead_ids) - len(leads)
    problems["do_not_call"] = len(blocked)
    problems["no_consent"] = len(no_consent)
    for person_id, ids in by_agent.items():
        agent = situations.get(person_id)
        if agent is None or agent.skip_reason == "inactive":
            problems["agent_not_working"] += len(ids)
            continue
        if agent.absent:
            problems["agent_absent"] += len(ids)
            continue
        if len(ids) > agent.room:
            problems["capacity"] += len(ids) - agent.room
        for lead_id in ids:
            row = leads.get(lead_id)
            if row and agent.grade < row.required_grade:
                problems["grade"] += 1
            if row and row.barred_owner == person_id:
                problems["former_owner_bar"] += 1
    problems = Counter({k: v for k, v in problems.items() if v})
    if problems:
        raise _stale(problems)

    for person_id, ids in sorted(by_agent.items()):
        agent = situations[person_id]
        protect = now + timedelta(days=agent.ruleset.protection_days)
        moved = 0
        for i in range(0, len(ids), CHUNK):
            moved += Lead.objects.filter(
                pk__in=ids[i : i + CHUNK], state=LeadState.PUBLIC, owner__isnull=True
            ).update(
                state=LeadState.OWNED,
                owner_id=person_id,
                owned_since=now,
                protect_until=protect,
                recycle_warned_at=None,
                updated_at=now,
            )
        if moved != len(ids):  # a concurrent writer slipped in: undo everything
            raise _stale(Counter({"not_in_public_pool": len(ids) - moved}))
        lead_events_record(
            leads=[Lead(pk=pk) for pk in ids],
            action=LeadAction.ALLOCATE,
            actor=actor,
            from_state=LeadState.PUBLIC,
            to_state=LeadState.OWNED,
            to_owner_id=person_id,
            reason=_("allocation #%(run)d (%(strategy)s)")
            % {"run": run.pk, "strategy": run.get_strategy_display()},
            at=now,
        )
    run.committed_at = now
    run.assigned = len(pairs)
    run.save(update_fields=["committed_at", "assigned", "updated_at"])
    audit_record(
        actor=actor,
        action="leads.allocation_commit",
        instance=run,
        after={
            "assigned": len(pairs),
            "per_agent": {str(pk): len(ids) for pk, ids in sorted(by_agent.items())},
            "seed": run.summary.get("seed"),
        },
    )
    return run
