""" "Next lead": hand the agent exactly one lead, or say exactly why there is none.

Order (each source in turn, until one yields a lead that may be dialled now):

1. ``callback`` — the agent's own open follow-ups that are due (overdue first);
2. ``service`` — the agent's due post-sale service tasks (``policies``), when that app offers
   ``selectors.service_task_due_list``, as service calls (``CallKind.SERVICE``); a task whose
   lead the agent already called today waits for tomorrow;
3. ``renewal`` — the agent's due renewal premiums (``operations.selectors.
   renewal_task_due_list``: inside the reminder window or in grace, earliest due first) on
   leads they own, as renewal calls (``CallKind.RENEWAL``); see ``_renewal_qs`` for how often
   one task is handed out;
4. ``private`` — the agent's private pool (owned or in progress, no follow-up booked for
   later): never dialled first, then grade A→D, then the longest since the last dial;
5. ``public`` — the public pool (grade A→D, oldest first), claimed through
   ``leads.services.lead_claim`` within the claim limit and the private-pool cap.

Renewals come after callbacks (a time agreed with a customer) and service tasks (the
free-look window is days long) but before any sales lead: a premium has a hard deadline (the
end of grace, then the policy lapses) and a policyholder kept is worth more than a new lead.

Every candidate passes the compliance guards (``guards``) before it is handed out. The guards
the database can evaluate (consent, DNC, grade, and for mainland numbers the calling window,
the cool-downs and the attempt caps) narrow the candidates in SQL first (``pool_sql``, as SQL
text: ADR 0015), so a pool full of leads in cool-down costs one query, not a scan; the Python
guards then confirm each candidate, from facts read with the candidates (no further query
unless a candidate was dialled in the last 48 hours). The agent is read once, with one
flag per source among the first three saying whether it may hold anything, so an agent with
no follow-up, service task or renewal due pays nothing for those sources. When nothing is
found, ``_diagnose`` runs the guards over what each source holds to say why.

Locking (ADR 0011): one transaction per call. The agent's ``AgentPresence`` row is locked
first (one dispatch per agent at a time; a double click waits and gets the same lead). On
PostgreSQL candidate rows are read ``FOR UPDATE SKIP LOCKED`` a few at a time, so concurrent
agents never wait on, or take, each other's candidates; the public-pool claim is still a
conditional ``UPDATE … WHERE state='public' AND owner IS NULL`` and the presence table has a
unique constraint on the lead in hand. On SQLite every write transaction starts with
``BEGIN IMMEDIATE`` (settings), so dispatches run one after the other.

An agent who asks again while holding an undialled lead that may still be dialled gets the
same lead again (a retry or a double click never burns leads).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import (
    Exists,
    OuterRef,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from telesales.calls.choices import (
    AgentState,
    BlockCode,
    CallKind,
    DispatchSource,
    FollowUpStatus,
)
from telesales.calls.errors import CallUnfinished, NothingToDispatch
from telesales.calls.guards import (
    Block,
    agent_blocks,
    lead_blocks_many,
)
from telesales.calls.models import CallAttempt, FollowUp, Handout
from telesales.calls.pool_sql import (
    followup_candidates,
    pool_candidates,
    pool_has_more,
    work_due_flags,
)
from telesales.calls.rules import callrules_for_person
from telesales.calls.services import (
    call_end,
    default_call_kind,
    presence_hand,
    presence_lock,
    require_self,
)
from telesales.core.errors import DomainError
from telesales.leads import services as lead_services
from telesales.leads.choices import OPEN_STATES, LeadState
from telesales.leads.models import DncEntry, Lead
from telesales.operations.choices import ContactOutcome
from telesales.operations.rules import ruleset_in_force as operations_ruleset_in_force
from telesales.operations.selectors import renewal_task_due_list
from telesales.org.models import Person

#: Candidate rows read (and, on PostgreSQL, locked) per round.
BATCH = 4
#: At most this many leads of a pool are examined per dispatch.
MAX_SCAN = 400
#: When every remaining public candidate is locked by other agents' dispatches, look again
#: this many times (each SKIP LOCKED read sees rows freed by transactions that committed).
BUSY_RETRIES = 5
BUSY_PAUSE_S = 0.02


@dataclass
class Dispatch:
    """The lead handed out, where it came from, and the follow-up or task it serves."""

    lead: Lead
    source: str
    followup: FollowUp | None = None
    service_task: object | None = None
    renewal_task: object | None = None


def _locking(qs):
    """``FOR UPDATE SKIP LOCKED`` where the database has it (PostgreSQL); SQLite serialises
    whole write transactions instead."""
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs


class _Tally:
    """Why candidates were skipped: per block code, the count and the earliest lift."""

    def __init__(self) -> None:
        self.counts: Counter = Counter()
        self.first: dict[str, Block] = {}
        self.until: dict[str, dt.datetime] = {}
        #: The source held more than the ``MAX_SCAN`` leads examined: counts are lower bounds.
        self.cut = False

    def add(self, blocks: list[Block]) -> None:
        block = blocks[0]
        self.counts[block.code] += 1
        self.first.setdefault(block.code, block)
        if block.until and (block.code not in self.until or block.until < self.until[block.code]):
            self.until[block.code] = block.until


def _select_leads(qs):
    return qs.select_related("customer")


def _undialled_since(presence) -> bool:
    return not CallAttempt.objects.filter(
        agent_id=presence.person_id, lead_id=presence.lead_id, started_at__gte=presence.handed_at
    ).exists()


# --- Pools as the ORM sees them (counts and diagnosis; dispatch reads them in pool_sql) ----
def _on_dnc():
    return Exists(
        DncEntry.objects.filter(lead_services.dnc_active_q()).filter(
            phone_hash=OuterRef("customer__mobile_hash")
        )
    )


def _private_qs(agent, at):
    """The agent's open leads, except those waiting for a follow-up booked for later."""
    later = FollowUp.objects.filter(
        lead_id=OuterRef("pk"), status=FollowUpStatus.OPEN, due_at__gt=at
    )
    return Lead.objects.filter(owner_id=agent.pk, state__in=OPEN_STATES).exclude(Exists(later))


def _public_qs(agent, at):
    """Public leads this agent could take (consent, DNC, grade, former-owner bar)."""
    return (
        Lead.objects.filter(state=LeadState.PUBLIC, owner__isnull=True)
        .exclude(consent_at__isnull=True)
        .exclude(consent_source="")
        .filter(customer__no_marketing=False, required_grade__lte=agent.capability_grade or 1)
        .exclude(former_owner_id=agent.pk, former_owner_bar_until__gt=at)
        .exclude(_on_dnc())
    )


def _first_dialable(pool: str, *, agent, at, rules) -> Lead | None:
    """Walk the agent's ``pool`` in its order, a locked batch at a time; the first lead the
    guards pass."""
    seen: list[int] = []
    while len(seen) < MAX_SCAN:
        batch = pool_candidates(pool, agent=agent, at=at, rules=rules, seen=seen, limit=BATCH)
        if not batch:
            return None
        seen += [lead.pk for lead in batch]
        blocks = lead_blocks_many(leads=batch, agent=agent, at=at, rules=rules, prefetched=True)
        for lead in batch:
            if not blocks[lead.pk]:
                return lead
    return None


# --- Sources ---------------------------------------------------------------------------------
def _from_followups(*, agent, at, rules) -> Dispatch | None:
    due = FollowUp.objects.filter(agent_id=agent.pk, status=FollowUpStatus.OPEN, due_at__lte=at)
    owners = dict(due.values_list("pk", "lead__owner_id"))
    if not owners:
        return None
    stale = [pk for pk, owner in owners.items() if owner != agent.pk]
    if stale:  # the lead left the agent (recycled, transferred, closed): the follow-up is void
        FollowUp.objects.filter(pk__in=stale).update(
            status=FollowUpStatus.CANCELLED, done_at=at, updated_at=timezone.now()
        )
        if len(stale) == len(owners):
            return None
    seen: list[int] = []
    while len(seen) < MAX_SCAN:
        batch = followup_candidates(agent=agent, at=at, rules=rules, seen=seen, limit=BATCH)
        if not batch:
            return None
        seen += [fu.pk for fu in batch]
        blocks = lead_blocks_many(
            leads=[fu.lead for fu in batch], agent=agent, at=at, rules=rules, prefetched=True
        )
        for fu in batch:
            if not blocks[fu.lead_id]:
                return Dispatch(lead=fu.lead, source=DispatchSource.CALLBACK, followup=fu)
    return None


def _from_service_tasks(*, agent, at, rules) -> Dispatch | None:
    try:
        from telesales.policies import selectors as policy_selectors
    except ImportError:  # pragma: no cover - the policies app is part of the project
        return None
    due_list = getattr(policy_selectors, "service_task_due_list", None)
    if due_list is None or agent.user_id is None:
        return None
    tasks = list(due_list(user=agent.user, agent=agent, until=at)[:MAX_SCAN])
    leads = {t.lead_id: t.lead for t in tasks if t.lead_id}
    if not leads:
        return None
    # One call a day at most: a task whose customer the agent already called today (its
    # outcome is recorded on the task, in the policies app) comes back tomorrow, not at once.
    day_start = timezone.localtime(at).replace(hour=0, minute=0, second=0, microsecond=0)
    called_today = set(
        CallAttempt.objects.filter(
            agent_id=agent.pk, lead_id__in=list(leads), started_at__gte=day_start
        ).values_list("lead_id", flat=True)
    )
    leads = {pk: lead for pk, lead in leads.items() if pk not in called_today}
    if not leads:
        return None
    blocks = lead_blocks_many(
        leads=list(Lead.objects.select_related("customer").filter(pk__in=list(leads))),
        agent=agent,
        at=at,
        rules=rules,
        kind=CallKind.SERVICE,
    )
    for task in tasks:
        if task.lead_id not in leads:
            continue
        if blocks.get(task.lead_id):
            continue
        lead = Lead.objects.select_related("customer").get(pk=task.lead_id)
        return Dispatch(lead=lead, source=DispatchSource.SERVICE, service_task=task)
    return None


def _renewal_qs(agent, at):
    """The agent's due renewal tasks dispatch may hand out at ``at`` (``None`` without a
    login): those of ``operations.selectors.renewal_task_due_list`` whose policy's lead the
    agent owns (the workspace works one's own leads; a task taken over from someone else is
    worked from "My renewals" in operations), except

    - a task with a contact recorded today (one renewal call per task a day);
    - a task whose customer was reached (``promised``, ``reached``) less than
      ``renewal_recontact_days`` ago (operations rule set, default 7);
    - a task whose customer refused (or asked not to be called): renewal operations take it
      from their queue, dispatch never redials it."""
    if agent.user_id is None:
        return None
    local = timezone.localtime(at)
    day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return (
        renewal_task_due_list(user=agent.user, agent=agent, today=local.date())
        .filter(policy__lead__owner_id=agent.pk)
        .exclude(last_contact_outcome=ContactOutcome.REFUSED)
        .exclude(last_contact_at__gte=day_start)
        .exclude(
            last_contact_outcome__in=(ContactOutcome.PROMISED, ContactOutcome.REACHED),
            last_contact_at__gt=at
            - timedelta(days=operations_ruleset_in_force(on=local.date()).renewal_recontact_days),
        )
    )


def _from_renewal_tasks(*, agent, at, rules) -> Dispatch | None:
    """The earliest due renewal whose lead the guards let the agent call now, as a renewal
    call: a service call to an existing policyholder (window and agent checks; not the
    marketing ones — DNC, consent, caps — see ``guards``)."""
    qs = _renewal_qs(agent, at)
    if qs is None:
        return None
    tasks = list(qs[:MAX_SCAN])
    if not tasks:
        return None
    leads = {
        lead.pk: lead
        for lead in Lead.objects.select_related("customer").filter(
            pk__in={t.policy.lead_id for t in tasks}
        )
    }
    blocks = lead_blocks_many(
        leads=list(leads.values()), agent=agent, at=at, rules=rules, kind=CallKind.RENEWAL
    )
    for task in tasks:
        lead = leads.get(task.policy.lead_id)
        if lead is not None and not blocks.get(lead.pk):
            return Dispatch(lead=lead, source=DispatchSource.RENEWAL, renewal_task=task)
    return None


def _from_private(*, agent, at, rules) -> Dispatch | None:
    lead = _first_dialable("private", agent=agent, at=at, rules=rules)
    return Dispatch(lead=lead, source=DispatchSource.PRIVATE) if lead else None


def _claim_limits(allowance: lead_services.ClaimAllowance) -> list[Block]:
    """The claim limit and the private-pool cap, checked before the pool is searched."""
    blocks = []
    if allowance.used >= allowance.limit:
        blocks.append(
            Block(
                "claim_limit_reached",
                _("You have taken %(used)d leads from the public pool today; the limit is %(max)d")
                % {"used": allowance.used, "max": allowance.limit},
                _("Work your private pool and your callbacks; the limit resets at midnight"),
            )
        )
    if allowance.held >= allowance.cap:
        blocks.append(
            Block(
                "private_cap_reached",
                _("Your private pool is full (%(held)d of %(cap)d leads)")
                % {"held": allowance.held, "cap": allowance.cap},
                _("Close or release leads you will not win to make room"),
            )
        )
    return blocks


def _from_public(*, agent, actor, at, rules, notes: list[Block]) -> Dispatch | None:
    # The agent's row is locked from here to the end of the dispatch: the limits counted now
    # hold for the claim below (ADR 0011).
    allowance = lead_services.claim_allowance(agent, now=at)
    limits = _claim_limits(allowance)
    if limits:
        notes.extend(limits)
        return None
    seen: list[int] = []
    busy_rounds = 0
    while len(seen) < MAX_SCAN:
        batch = pool_candidates("public", agent=agent, at=at, rules=rules, seen=seen, limit=BATCH)
        if not batch:
            locking = connection.features.has_select_for_update_skip_locked
            if (
                locking
                and busy_rounds < BUSY_RETRIES
                and pool_has_more("public", agent=agent, at=at, rules=rules, seen=seen)
            ):
                # Every candidate left is locked by another agent's dispatch: those
                # transactions last milliseconds, so look again.
                busy_rounds += 1
                time.sleep(BUSY_PAUSE_S)
                continue
            if locking and pool_has_more("public", agent=agent, at=at, rules=rules, seen=seen):
                notes.append(
                    Block(
                        "pool_busy",
                        _("Other agents are taking the last leads of the public pool"),
                        _("Ask for the next lead again in a moment"),
                    )
                )
            return None
        seen += [lead.pk for lead in batch]
        blocks = lead_blocks_many(
            leads=batch, agent=agent, at=at, rules=rules, require_owner=False, prefetched=True
        )
        for lead in batch:
            if blocks[lead.pk]:
                continue
            try:
                claimed = lead_services.lead_claim(
                    lead=lead, agent=agent, actor=actor, allowance=allowance
                )
            except DomainError as exc:
                if exc.code in ("claim_limit_reached", "private_cap_reached"):
                    notes.append(Block(exc.code, exc.message, ""))
                    return None
                continue  # taken a moment ago, or a rule the prefilter cannot see
            return Dispatch(lead=claimed, source=DispatchSource.PUBLIC)
    return None


# --- Why nothing ---------------------------------------------------------------------------
def _diagnose(*, agent, at, rules, with_public: bool, renewals=None) -> list[tuple[str, _Tally]]:
    """Run the guards over what each source holds (without locks) and count the reasons."""

    def tally_of(leads, require_owner=True, kind=CallKind.SALES) -> _Tally:
        tally = _Tally()
        leads = list(leads)
        tally.cut = len(leads) >= MAX_SCAN
        blocks = lead_blocks_many(
            leads=leads, agent=agent, at=at, rules=rules, require_owner=require_owner, kind=kind
        )
        for lead in leads:
            if blocks[lead.pk]:
                tally.add(blocks[lead.pk])
        return tally

    due = FollowUp.objects.filter(
        agent_id=agent.pk, status=FollowUpStatus.OPEN, due_at__lte=at, lead__owner_id=agent.pk
    ).values("lead_id")
    callbacks = tally_of(Lead.objects.select_related("customer").filter(pk__in=due)[:MAX_SCAN])
    private = tally_of(_select_leads(_private_qs(agent, at)).order_by("grade", "id")[:MAX_SCAN])
    out = [(_("callbacks due"), callbacks)]
    if renewals is not None:
        due_leads = Lead.objects.select_related("customer").filter(
            pk__in=renewals.values("policy__lead_id")
        )
        out.append((_("renewals due"), tally_of(due_leads[:MAX_SCAN], kind=CallKind.RENEWAL)))
    out.append((_("private pool"), private))
    if with_public:
        public = _select_leads(_public_qs(agent, at)).order_by("grade", "id")[:MAX_SCAN]
        out.append((_("public pool"), tally_of(public, require_owner=False)))
    return out


def _reason(
    code: str,
    message: str,
    fix: str,
    count: int,
    until=None,
    at_least: bool = False,
    about_agent: bool = False,
) -> dict:
    """One reason; ``about_agent``: it is about the agent, not about leads (its ``count`` is
    1, and the page shows no count for it)."""
    out = {"code": code, "message": message, "fix": fix, "count": count, "at_least": at_least}
    if about_agent:
        out["about_agent"] = True
    if until is not None:
        # In the center's time zone, as every time of the answer (some blocks compute theirs
        # in UTC: one answer mixed +08:00 and +00:00).
        out["until"] = timezone.localtime(until).isoformat()
    return out


def _summary(tallies: list[tuple[str, _Tally]]) -> list[dict]:
    """One reason per block code over every source: the total, where the leads are, an
    example message and the earliest time the block lifts. A source held more leads than were
    examined (``MAX_SCAN``): its count, and the total, are said as "at least"."""
    total: Counter = Counter()
    at_least: set[str] = set()
    where: dict[str, list[str]] = {}
    example: dict[str, Block] = {}
    until: dict[str, dt.datetime] = {}
    for label, tally in tallies:
        for code, n in tally.counts.items():
            total[code] += n
            where.setdefault(code, []).append(f"{label} {n}{'+' if tally.cut else ''}")
            if tally.cut:
                at_least.add(code)
            example.setdefault(code, tally.first[code])
            lifted = tally.until.get(code)
            if lifted is not None and (code not in until or lifted < until[code]):
                until[code] = lifted
    reasons = []
    for code, n in total.most_common():
        block = example[code]
        what = BlockCode(code).label if code in BlockCode.values else code
        values = {"n": n, "where": ", ".join(where[code]), "what": what, "example": block.message}
        if code in at_least:
            message = (
                ngettext(
                    "At least %(n)d lead (%(where)s): %(what)s — %(example)s",
                    "At least %(n)d leads (%(where)s): %(what)s — %(example)s",
                    n,
                )
                % values
            )
        else:
            message = (
                ngettext(
                    "%(n)d lead (%(where)s): %(what)s — %(example)s",
                    "%(n)d leads (%(where)s): %(what)s — %(example)s",
                    n,
                )
                % values
            )
        fix = block.fix
        if code in until:
            fix = _("The first may be dialled from %(when)s") % {
                "when": timezone.localtime(until[code]).strftime("%Y-%m-%d %H:%M")
            }
        reasons.append(_reason(code, message, fix, n, until.get(code), code in at_least))
    return reasons


def _nothing(*, agent, at, rules, notes: list[Block]) -> NothingToDispatch:
    limited = any(n.code in ("claim_limit_reached", "private_cap_reached") for n in notes)
    renewals = _renewal_qs(agent, at)
    reasons = _summary(
        _diagnose(agent=agent, at=at, rules=rules, with_public=not limited, renewals=renewals)
    )
    for note in notes:
        reasons.append(_reason(note.code, note.message, note.fix, 1, about_agent=True))
    later = FollowUp.objects.filter(
        agent_id=agent.pk, status=FollowUpStatus.OPEN, due_at__gt=at, lead__owner_id=agent.pk
    )
    n_later = later.count()
    if n_later:
        first = later.order_by("due_at").values_list("due_at", flat=True).first()
        reasons.append(
            _reason(
                "callbacks_later",
                ngettext(
                    "%(n)d follow-up booked for later",
                    "%(n)d follow-ups booked for later",
                    n_later,
                )
                % {"n": n_later},
                _("The next is due at %(when)s")
                % {"when": timezone.localtime(first).strftime("%Y-%m-%d %H:%M")},
                n_later,
                first,
            )
        )
    private_open = Lead.objects.filter(owner_id=agent.pk, state__in=OPEN_STATES).exists()
    public_any = _public_qs(agent, at).exists()
    renewals_due = renewals is not None and renewals.exists()
    if (
        not private_open
        and not public_any
        and not any(r["code"] in ("claim_limit_reached", "private_cap_reached") for r in reasons)
    ):
        reasons.insert(
            len(reasons) if renewals_due else 0,  # why the renewals wait comes first
            _reason(
                "pools_empty",
                _("Your private pool is empty and the public pool has no lead you may take"),
                _("Ask the data officer to allocate or import leads"),
                0,
            ),
        )
    if not reasons:
        reasons.append(
            _reason(
                "pools_empty",
                _("There is no lead to call now"),
                _("Ask the data officer to allocate or import leads"),
                0,
            )
        )
    first = reasons[0]
    return NothingToDispatch(
        _("No lead can be handed out now: %(why)s") % {"why": first["message"]},
        details={"reasons": reasons},
    )


# --- The action ----------------------------------------------------------------------------
def _agent_with_work_due(agent, at) -> Person:
    """The agent read afresh (after the presence lock), with flags saying whether each of the
    first three sources may hold anything (``pool_sql.work_due_flags``): a superset of what
    they look for, so a source skipped on a false flag would have found nothing."""
    return (
        Person.objects.select_related("team", "level", "user")
        .annotate(**work_due_flags(at))
        .get(pk=agent.pk)
    )


def _call_unfinished(presence, agent, actor, at) -> bool:
    """The agent's current call still wants its outcome before the next lead. A call whose
    lead left the agent meanwhile (released, transferred, recalled) does not hold them: it
    is hung up if still open, its outcome may still be recorded (``disposition_record``),
    and the agent is freed for the next lead."""
    pending = (
        CallAttempt.objects.filter(pk=presence.attempt_id, disposition__isnull=True)
        .select_related("lead")
        .first()
    )
    if pending is None:
        return False
    if pending.lead.owner_id == agent.pk or pending.lead.state == LeadState.DNC:
        return True
    if pending.ended_at is None:
        call_end(attempt=pending, actor=actor, at=max(at, pending.started_at))
        presence.refresh_from_db()
    presence.attempt = None
    if presence.state in (AgentState.DIALLING, AgentState.TALKING, AgentState.WRAP_UP):
        presence.state, presence.since = AgentState.IDLE, at
    presence.save()
    return False


def _dispatch_once(*, agent, actor, at) -> tuple[Dispatch | None, DomainError | None]:
    with transaction.atomic():
        presence = presence_lock(agent, at=at)
        agent = _agent_with_work_due(agent, at)
        stop = agent_blocks(agent=agent)
        if stop:
            return None, NothingToDispatch(
                stop[0].message,
                details={
                    "reasons": [
                        _reason(b.code, b.message, b.fix, 1, about_agent=True) for b in stop
                    ]
                },
            )
        if presence.attempt_id and _call_unfinished(presence, agent, actor, at):
            return None, CallUnfinished(
                _("Record the outcome of your current call before taking the next lead"),
                details={"attempt_id": presence.attempt_id},
            )
        rules = callrules_for_person(agent, on=timezone.localdate(at))
        # A lead already in hand and not dialled since: the same again.
        if presence.lead_id and presence.handed_at and _undialled_since(presence):
            lead = (
                Lead.objects.select_for_update(of=("self",))
                .select_related("customer")
                .filter(pk=presence.lead_id)
                .first()
            )
            kind = CallKind.SALES
            if presence.renewal_task_id:
                # A renewal in hand: again only while the task is still due for a call.
                kind = CallKind.RENEWAL
                renewals = _renewal_qs(agent, at)
                if renewals is None or not renewals.filter(pk=presence.renewal_task_id).exists():
                    lead = None
            elif lead is not None:
                # A service task in hand is dialled as a service call (while it is open).
                kind = default_call_kind(presence=presence, lead=lead, agent=agent)
            if lead is not None and not lead_blocks_many(
                leads=[lead], agent=agent, at=at, rules=rules, kind=kind
            ).get(lead.pk):
                found = Dispatch(
                    lead=lead,
                    source=presence.source,
                    followup=presence.followup,
                    renewal_task=presence.renewal_task,
                )
                return found, None
        notes: list[Block] = []
        found = (
            (agent._due_followups and _from_followups(agent=agent, at=at, rules=rules))
            or (agent._due_service and _from_service_tasks(agent=agent, at=at, rules=rules))
            or (agent._due_renewals and _from_renewal_tasks(agent=agent, at=at, rules=rules))
            or _from_private(agent=agent, at=at, rules=rules)
            or _from_public(agent=agent, actor=actor, at=at, rules=rules, notes=notes)
        )
        if found is None:
            presence_hand(presence, lead=None, at=at)
            presence.save()
            return None, _nothing(agent=agent, at=at, rules=rules, notes=notes)
        presence_hand(
            presence,
            lead=found.lead,
            source=found.source,
            followup=found.followup,
            renewal_task=found.renewal_task,
            at=at,
        )
        if presence.state in (AgentState.OFFLINE, AgentState.BREAK):
            presence.state, presence.since = AgentState.IDLE, at
        presence.save()
        Handout.objects.create(
            agent=agent,
            lead=found.lead,
            source=found.source,
            followup=found.followup,
            renewal_task=found.renewal_task,
            at=at,
        )
        return found, None


def next_lead(*, agent, actor, at: dt.datetime | None = None) -> Dispatch:
    """Hand ``agent`` exactly one lead (see the module doc), or raise
    :class:`~telesales.calls.errors.NothingToDispatch` with every reason and its fix."""
    require_self(actor, agent, _("You can only take leads for yourself"))
    found, why = _dispatch_once(agent=agent, actor=actor, at=at or timezone.now())
    if found is None:
        assert why is not None
        raise why
    return found


def pool_counts(*, agent, at: dt.datetime | None = None) -> dict:
    """How many leads each source holds for the agent now (for the workspace header)."""
    at = at or timezone.now()
    renewals = _renewal_qs(agent, at)
    return {
        "callbacks_due": FollowUp.objects.filter(
            agent_id=agent.pk, status=FollowUpStatus.OPEN, due_at__lte=at
        ).count(),
        "renewals_due": renewals.count() if renewals is not None else 0,
        "private": _private_qs(agent, at).count(),
        "public": _public_qs(agent, at).count(),
    }
