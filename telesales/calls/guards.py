"""Compliance guards: may this agent dial this lead now? Enforced on the server at dial time
(``services.call_start``) and used by dispatch to skip leads that may not be called.

Each refusal is a :class:`Block` with a stable ``code``, a translated ``message`` and a ``fix``
(what would make the dial possible), and for time-bound blocks ``until`` (when it lifts).

What the guards check, in this order (the first block is the main reason):

- agent: ``agent_not_working`` (status not trainee/active/warning), ``agent_not_trained``
  (no practice registration number: under the 2023 rule Art. 3 only registered sales staff
  may sell, and the registration is given after the pre-job class, so an agent without one —
  normally a trainee still in class — is "not trained" and may not dial sales calls);
- lead: ``lead_closed`` (lost, invalid or DNC), ``not_owner`` (sales calls only to one's own
  leads), ``no_marketing``, ``dnc`` (active DNC entry for the number), ``no_consent``,
  ``grade_too_low`` (agent capability grade below the lead's required grade, Art. 16/21);
- time: ``outside_window`` (the rule set's window, default 09:00–21:00, in the customer's
  local time), ``refusal_cool_down`` (a refusal less than ``refusal_cooldown_days`` ago),
  ``attempts_lifetime``, ``attempts_24h`` (rolling), ``attempts_today`` (the customer's
  calendar day), ``cool_down`` (less than ``min_minutes_between_attempts`` since the last).

Service and renewal calls to existing customers skip the marketing checks (DNC, no-marketing,
consent, attempt caps and cool-downs) but keep the calling window and the agent checks.

The customer's local time: mainland numbers are Asia/Shanghai; any other number takes the time
zones phonenumbers gives for it, and a dial must be inside the window in **every** zone the
number may be in (the cautious reading when a number spans zones).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import phonenumbers
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumbers import timezone as phone_timezone

from telesales.calls.choices import BlockCode, CallKind
from telesales.calls.models import CallAttempt, CallRuleSet
from telesales.calls.rules import callrules_for_person
from telesales.core.rawsql import adapt_datetime, value_as
from telesales.leads.choices import LeadState
from telesales.leads.models import Lead
from telesales.leads.services import WORKING_STATUSES, dnc_blocked_hashes

CLOSED_STATES = (LeadState.LOST, LeadState.INVALID, LeadState.DNC)
MAINLAND = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Block:
    """One reason a dial may not happen now."""

    code: str
    message: str
    fix: str
    until: dt.datetime | None = field(default=None, compare=False)

    def as_dict(self) -> dict:
        out = {"code": self.code, "message": self.message, "fix": self.fix}
        if self.until is not None:
            out["until"] = self.until.isoformat()
        return out


def _fmt(at: dt.datetime, zone: dt.tzinfo | None = None) -> str:
    return timezone.localtime(at, zone).strftime("%Y-%m-%d %H:%M")


# --- The customer's local time -----------------------------------------------------------
@lru_cache(maxsize=4096)
def customer_zones(e164: str) -> tuple[ZoneInfo, ...]:
    """The time zones a number may be in (mainland China: one)."""
    if not e164 or e164.startswith("+86"):
        return (MAINLAND,)
    try:
        number = phonenumbers.parse(e164, None)
        names = tuple(n for n in phone_timezone.time_zones_for_number(number) if n != "Etc/Unknown")
    except phonenumbers.NumberParseException:
        names = ()
    return tuple(ZoneInfo(n) for n in (names or (settings.TIME_ZONE,)))


def customer_local_time(e164: str, at: dt.datetime) -> dt.datetime:
    return at.astimezone(customer_zones(e164)[0])


def _in_window(local: dt.datetime, rules: CallRuleSet) -> bool:
    return _inside(local, rules.window_start, rules.window_end)


def _inside(local: dt.datetime, start: dt.time, end: dt.time) -> bool:
    return start <= local.time().replace(tzinfo=None) < end


def _opens(
    zones: Sequence[dt.tzinfo], at: dt.datetime, start: dt.time, end: dt.time
) -> dt.datetime:
    """The next moment (≥ ``at``) inside the window ``start``–``end`` in every zone."""
    candidate = at
    for _i in range(8):  # a few rounds settle any mix of zones
        moved = False
        for zone in zones:
            local = candidate.astimezone(zone)
            if _inside(local, start, end):
                continue
            day = local.date()
            if local.time().replace(tzinfo=None) >= end:
                day += timedelta(days=1)
            opening = dt.datetime.combine(day, start, tzinfo=zone)
            candidate = max(candidate, opening)
            moved = True
        if not moved:
            return candidate
    return candidate


def window_opens(e164: str, at: dt.datetime, rules: CallRuleSet) -> dt.datetime:
    """The next moment (≥ ``at``) inside the window in every zone of the number."""
    return _opens(customer_zones(e164), at, rules.window_start, rules.window_end)


#: Windows walked one by one at most (numbers spanning zones; one zone skips whole days).
_WINDOWS_WALKED = 1000


def window_time_reached(
    *,
    since: dt.datetime,
    amount: timedelta,
    zones: Sequence[dt.tzinfo],
    window_start: dt.time,
    window_end: dt.time,
) -> dt.datetime:
    """The moment by which ``amount`` of calling-window time has passed since ``since``:
    only the time inside the window ``window_start``–``window_end`` counts, in the local
    time of every zone (the customer's, as the dial guard reads it). Nights do not count;
    every day has the window (the guard has no working-day calendar, so weekends count).

    A follow-up due 20:30 with 2 hours (window 09:00–21:00): 30 minutes that evening, 90
    the next morning, so 10:30. Due before the window opens, the count starts at the
    opening; due at the close (21:00, the end is outside), at the next day's opening.

    Pure: no database, no clock. Zones whose windows never overlap (no moment would do for
    a dial either) fall back to wall-clock time."""
    remaining = amount
    t = since
    if remaining <= timedelta(0):
        return t
    # The window lies inside 09:00–21:00 (R1, checked when the rules are saved), where no
    # zone changes its clocks: each day's window lasts exactly this long.
    day_length = dt.datetime.combine(dt.date.min, window_end) - dt.datetime.combine(
        dt.date.min, window_start
    )
    for _i in range(_WINDOWS_WALKED):
        t = _opens(zones, t, window_start, window_end)
        if not all(_inside(t.astimezone(z), window_start, window_end) for z in zones):
            return since + amount  # no common window: nothing better than the clock
        close = min(
            dt.datetime.combine(t.astimezone(z).date(), window_end, tzinfo=z) for z in zones
        )
        if t + remaining <= close:
            return t + remaining
        remaining -= close - t
        t = close
        if len(zones) == 1 and remaining > day_length:
            # Whole days in between count the whole window each; the last (partial or
            # whole) day is walked.
            days = -(-remaining // day_length) - 1
            remaining -= days * day_length
            local_close = close.astimezone(zones[0])
            t = dt.datetime.combine(
                local_close.date() + timedelta(days=days), window_end, tzinfo=zones[0]
            )
    return t + remaining


# --- Agent -------------------------------------------------------------------------------
def agent_blocks(*, agent, kind: str = CallKind.SALES) -> list[Block]:
    blocks = []
    if agent.status not in WORKING_STATUSES:
        blocks.append(
            Block(
                BlockCode.AGENT_NOT_WORKING,
                _("%(name)s is %(status)s and may not call customers")
                % {"name": agent.name, "status": agent.get_status_display()},
                _("Only working agents dial; HR changes the status when the agent returns"),
            )
        )
    if not (agent.practice_reg_no or "").strip():
        blocks.append(
            Block(
                BlockCode.AGENT_NOT_TRAINED,
                _(
                    "%(name)s has no practice registration number yet, so may not sell "
                    "(registered after the pre-job class)"
                )
                % {"name": agent.name},
                _("Finish the pre-job class; HR then records the practice registration number"),
            )
        )
    return blocks


# --- Lead facts, in bulk ------------------------------------------------------------------
@dataclass
class _Facts:
    recent: list[dt.datetime] = field(default_factory=list)  # starts within 48 h
    undisposed: int = 0
    last_start: dt.datetime | None = None
    last_refusal: dt.datetime | None = None


def _facts(lead_ids: Sequence[int], at: dt.datetime) -> dict[int, _Facts]:
    """The attempt facts of each lead: two statements per 900 leads, as SQL text (every dial
    reads them; ADR 0015)."""
    facts: dict[int, _Facts] = defaultdict(_Facts)
    if not lead_ids:
        return facts
    ids = list(lead_ids)
    for i in range(0, len(ids), 900):
        chunk = ids[i : i + 900]
        marks = ", ".join(["%s"] * len(chunk))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT a.lead_id, SUM(CASE WHEN a.disposition_id IS NULL THEN 1 ELSE 0 END),"  # noqa: S608
                " MAX(a.started_at), MAX(CASE WHEN d.refusal THEN a.started_at END)"
                " FROM calls_callattempt a LEFT JOIN calls_disposition d ON d.id = a.disposition_id"
                f" WHERE a.lead_id IN ({marks}) GROUP BY a.lead_id",
                chunk,
            )
            for lead_id, undisposed, last_start, last_refusal in cursor.fetchall():
                f = facts[lead_id]
                f.undisposed = int(undisposed or 0)
                f.last_start = value_as(CallAttempt, "started_at", last_start)
                f.last_refusal = value_as(CallAttempt, "started_at", last_refusal)
            cursor.execute(
                "SELECT lead_id, started_at FROM calls_callattempt"  # noqa: S608
                f" WHERE lead_id IN ({marks}) AND started_at > %s AND started_at <= %s",
                [*chunk, adapt_datetime(at - timedelta(hours=48)), adapt_datetime(at)],
            )
            for lead_id, started in cursor.fetchall():
                facts[lead_id].recent.append(value_as(CallAttempt, "started_at", started))
    return facts


def prefetched_facts(leads: Sequence[Lead], at: dt.datetime) -> tuple[dict[int, _Facts], set]:
    """The facts and the DNC hashes of leads read with their facts (``calls.pool_sql``: the
    ``_g_*`` attributes); the dial
    times of the last 48 hours are read (one query per kind, as ``_facts``) only for the leads
    that have some."""
    facts: dict[int, _Facts] = defaultdict(_Facts)
    dnc = {lead.customer.mobile_hash for lead in leads if lead._g_dnc}
    recent = [lead.pk for lead in leads if lead._g_recent]
    if recent:
        facts.update(_facts(recent, at))
    for lead in leads:
        if lead.pk in facts:
            continue
        facts[lead.pk] = _Facts(
            undisposed=lead._g_undisposed,
            last_start=lead._g_last_start,
            last_refusal=lead._g_last_refusal,
        )
    return facts, dnc


def _time_blocks(lead: Lead, f: _Facts, at: dt.datetime, rules: CallRuleSet) -> list[Block]:
    e164 = lead.customer.mobile_e164
    blocks = []
    # Refusal cool-down
    if f.last_refusal and rules.refusal_cooldown_days:
        until = f.last_refusal + timedelta(days=rules.refusal_cooldown_days)
        if at < until:
            blocks.append(
                Block(
                    BlockCode.REFUSAL_COOL_DOWN,
                    _("The customer refused on %(when)s; no calls for %(days)d days")
                    % {"when": _fmt(f.last_refusal), "days": rules.refusal_cooldown_days},
                    _("Call again from %(when)s") % {"when": _fmt(until)},
                    until,
                )
            )
    # Attempt caps
    lifetime = (lead.dial_count or 0) + f.undisposed
    if lifetime >= rules.max_attempts_lifetime:
        blocks.append(
            Block(
                BlockCode.ATTEMPTS_LIFETIME,
                _("This lead has been dialled %(n)d times; the limit is %(max)d")
                % {"n": lifetime, "max": rules.max_attempts_lifetime},
                _("Close the lead with a final disposition or release it"),
            )
        )
    in_24h = sorted(t for t in f.recent if t > at - timedelta(hours=24))
    if len(in_24h) >= rules.max_attempts_24h:
        until = in_24h[-rules.max_attempts_24h] + timedelta(hours=24)
        blocks.append(
            Block(
                BlockCode.ATTEMPTS_24H,
                _("%(n)d attempts in the last 24 hours; the limit is %(max)d")
                % {"n": len(in_24h), "max": rules.max_attempts_24h},
                _("Call again from %(when)s") % {"when": _fmt(until)},
                until,
            )
        )
    local = customer_local_time(e164, at)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    today = [t for t in f.recent if t >= day_start]
    if len(today) >= rules.max_attempts_per_day:
        until = window_opens(e164, day_start + timedelta(days=1), rules)
        blocks.append(
            Block(
                BlockCode.ATTEMPTS_TODAY,
                _("%(n)d attempts today; the daily limit is %(max)d")
                % {"n": len(today), "max": rules.max_attempts_per_day},
                _("Call again tomorrow (from %(when)s)") % {"when": _fmt(until)},
                until,
            )
        )
    # Cool-down between attempts
    last = max(filter(None, [f.last_start, lead.last_dialled_at]), default=None)
    if last and rules.min_minutes_between_attempts:
        until = last + timedelta(minutes=rules.min_minutes_between_attempts)
        if last <= at < until:
            blocks.append(
                Block(
                    BlockCode.COOL_DOWN,
                    _("Last dialled at %(when)s; wait %(min)d minutes between attempts")
                    % {"when": _fmt(last), "min": rules.min_minutes_between_attempts},
                    _("Call again from %(when)s") % {"when": _fmt(until)},
                    until,
                )
            )
    # Calling window (last: it is the block that lifts by itself soonest at night)
    zones = customer_zones(e164)
    if not all(_in_window(at.astimezone(z), rules) for z in zones):
        opens = window_opens(e164, at, rules)
        blocks.insert(
            0,
            Block(
                BlockCode.OUTSIDE_WINDOW,
                _(
                    "It is %(time)s for the customer; calls are allowed "
                    "%(start)s–%(end)s the customer's time"
                )
                % {
                    "time": local.strftime("%H:%M"),
                    "start": rules.window_start.strftime("%H:%M"),
                    "end": rules.window_end.strftime("%H:%M"),
                },
                _("Call from %(when)s") % {"when": _fmt(opens, zones[0])},
                opens,
            ),
        )
    return blocks


def _marketing_blocks(lead: Lead, dnc: set) -> list[Block]:
    """What forbids marketing to the lead's customer: a refusal of all marketing, the
    do-not-call list (``dnc``: the blocked number hashes), no consent."""
    blocks: list[Block] = []
    if lead.customer.no_marketing:
        blocks.append(
            Block(
                BlockCode.NO_MARKETING,
                _("The customer refused all marketing for good"),
                _("Never call this customer for sales"),
            )
        )
    elif lead.customer.mobile_hash in dnc:
        blocks.append(
            Block(
                BlockCode.DNC,
                _("This number is on the do-not-call list"),
                _("Only the data officer may lift a block, with a reason"),
            )
        )
    if not lead.has_consent:
        blocks.append(
            Block(
                BlockCode.NO_CONSENT,
                _("There is no consent record for this lead, so it may not be called"),
                _("The data officer records the consent (source, time, evidence)"),
            )
        )
    return blocks


def sale_marketing_blocks(*, lead: Lead, at: dt.datetime) -> list[Block]:
    """What forbids selling on a call that skipped the marketing checks (a service or renewal
    call to an existing customer): a new sale is marketing, so the same checks apply (QA,
    session 20: a customer on the do-not-call list was sold a policy on a welcome call)."""
    dnc = dnc_blocked_hashes([lead.customer.mobile_hash], at=at)
    return _marketing_blocks(lead, dnc)


def lead_blocks_many(
    *,
    leads: Iterable[Lead],
    agent,
    at: dt.datetime,
    rules: CallRuleSet,
    require_owner: bool = True,
    kind: str = CallKind.SALES,
    prefetched: bool = False,
) -> dict[int, list[Block]]:
    """The lead-level blocks of each lead (``lead.customer`` should be selected). With
    ``prefetched``, the leads were read with :func:`facts_annotations` (no further query
    unless one was dialled in the last 48 hours)."""
    leads = list(leads)
    marketing = kind == CallKind.SALES
    if not marketing:
        dnc, facts = set(), {}
    elif prefetched:
        facts, dnc = prefetched_facts(leads, at)
    else:
        dnc = dnc_blocked_hashes([lead.customer.mobile_hash for lead in leads], at=at)
        facts = _facts([lead.pk for lead in leads], at)
    out: dict[int, list[Block]] = {}
    for lead in leads:
        blocks: list[Block] = []
        if lead.state in CLOSED_STATES:
            blocks.append(
                Block(
                    BlockCode.LEAD_CLOSED,
                    _("This lead is closed (%(state)s)") % {"state": lead.get_state_display()},
                    _("Closed leads are not called again"),
                )
            )
        elif require_owner and lead.owner_id != agent.pk:
            blocks.append(
                Block(
                    BlockCode.NOT_OWNER,
                    _("This lead is not in your private pool"),
                    _("Take it with “next lead” or claim it from the public pool first"),
                )
            )
        if marketing:
            blocks += _marketing_blocks(lead, dnc)
        if (agent.capability_grade or 0) < (lead.required_grade or 1):
            blocks.append(
                Block(
                    BlockCode.GRADE_TOO_LOW,
                    _("This lead needs sales-capability grade %(need)d; you have grade %(has)d")
                    % {"need": lead.required_grade, "has": agent.capability_grade},
                    _("Leave it to a colleague of a higher grade"),
                )
            )
        if marketing:
            blocks.extend(_time_blocks(lead, facts[lead.pk], at, rules))
        else:
            zones = customer_zones(lead.customer.mobile_e164)
            if not all(_in_window(at.astimezone(z), rules) for z in zones):
                opens = window_opens(lead.customer.mobile_e164, at, rules)
                blocks.append(
                    Block(
                        BlockCode.OUTSIDE_WINDOW,
                        _("Outside the calling window (%(start)s–%(end)s the customer's time)")
                        % {
                            "start": rules.window_start.strftime("%H:%M"),
                            "end": rules.window_end.strftime("%H:%M"),
                        },
                        _("Call from %(when)s") % {"when": _fmt(opens, zones[0])},
                        opens,
                    )
                )
        out[lead.pk] = blocks
    return out


def dial_blocks(
    *,
    lead: Lead,
    agent,
    at: dt.datetime | None = None,
    kind: str = CallKind.SALES,
    rules: CallRuleSet | None = None,
) -> list[Block]:
    """Every reason ``agent`` may not dial ``lead`` at ``at`` (empty: the dial may go)."""
    at = at or timezone.now()
    rules = rules or callrules_for_person(agent, on=timezone.localdate(at))
    if not hasattr(lead, "_state") or "customer" not in lead._state.fields_cache:
        lead = Lead.objects.select_related("customer").get(pk=lead.pk)
    blocks = agent_blocks(agent=agent, kind=kind)
    blocks += lead_blocks_many(leads=[lead], agent=agent, at=at, rules=rules, kind=kind)[lead.pk]
    return blocks


def earliest_dial_at(
    *, lead: Lead, at: dt.datetime, rules: CallRuleSet, now: dt.datetime | None = None
) -> tuple[dt.datetime, list[Block]]:
    """The earliest moment (≥ ``at``) at which a sales call to ``lead`` passes the time
    guards — the calling window, the refusal cool-down, the attempt caps of the day and of 24
    hours, the gap between dials — given the dials made by ``now``; and the blocks that moved
    it (empty: ``at`` itself will do, or only the window moved it). A follow-up booked for a
    time the guards refuse could never be called. A cap with no end (the lifetime's) is left
    to the dial. ``lead.customer`` should be selected."""
    now = now or timezone.now()
    e164 = lead.customer.mobile_e164
    facts = _facts([lead.pk], now)[lead.pk]
    moved: list[Block] = []
    candidate = window_opens(e164, at, rules)
    for _i in range(20):  # each round lifts a block; a few settle any mix of them
        lifting = [
            b
            for b in _time_blocks(lead, facts, candidate, rules)
            if b.until is not None and b.code != BlockCode.OUTSIDE_WINDOW
        ]
        if not lifting:
            break
        moved.extend(b for b in lifting if b.code not in {m.code for m in moved})
        candidate = window_opens(e164, max(b.until for b in lifting), rules)
    return candidate, moved
