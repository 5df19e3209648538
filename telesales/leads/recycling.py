"""Recycling: leads an agent no longer works go back to the public pool.

``leads_recycle`` runs periodically (Celery beat, ``leads.leads_recycle_task``). For each team
life-cycle stage it takes the rule set in force for that stage (``rules.ruleset_in_force``) and
applies it to the open leads (owned or in progress) whose owner's team is in that stage.

Rules and their deadlines (``owned`` = ``owned_since``, or the lead's creation time when a
legacy row has none; ``N`` etc. are the rule set's fields):

- ``owner_left``: the owner's status is left or suspended and ``recycle_on_owner_leaving`` is
  on → recycled at the next run, all at once, without a warning (nobody is there to warn).
- ``protection_expired``: ``protect_until < now`` (protection lasts *until* that instant).
- ``no_dial``: not dialled during this ownership (``last_dialled_at`` empty or before
  ``owned``) and ``owned + recycle_no_dial_days <= now``.
- ``no_connect``: at least ``recycle_no_connect_attempts`` dials (``dial_count``: the lead's
  counter, kept by the workspace), no connect during this ownership (``last_contact_at`` empty
  or before ``owned``) and ``owned + recycle_no_connect_days <= now``.
- ``no_followup``: ``activity + recycle_no_followup_days <= now`` where ``activity`` is the
  latest of ``owned``, ``last_followup_at`` and ``last_contact_at`` (a dial alone is not a
  follow-up; activity from an earlier ownership never counts, since ``owned`` is later).

Warning before recycling (the time rules): a lead whose deadline under any time rule falls
within ``recycle_warning_days`` gets a ``recycle_warning`` history row and
``recycle_warned_at`` — once per protection period (claiming, allocation and protection
extension clear it). A time rule recycles a lead only when its deadline has passed **and** the
warning is at least ``recycle_warning_days`` old. In steady state (hourly runs) the warning
arrives W days before the deadline and the lead goes at the deadline; a lead that reaches its
deadline unwarned (rules tightened, task down) is warned and gets the full W days. A run
recycles first and warns afterwards, so a warning always precedes its recycle by at least
one run, even with W = 0.

Exempt from the time rules: won leads (not open, so never touched) and leads that a registered
exemption claims — apps with post-sale work (open free-look or renewal tasks) call
``register_exemption(fn)``, where ``fn(lead_ids: list[int])`` returns the ids to keep. The
owner-leaving rule recycles every open lead: nobody works a departed agent's leads, and
post-sale tasks are reassigned by their own app.

Each recycle goes through ``services.leads_return_to_public`` (action ``recycle``, a reason
naming the rule, the former-owner bar of the owner's rule set). The work is set-based: ids are
read with keyset pagination in chunks of ``CHUNK`` and each chunk is locked, re-checked against
the rule and moved in its own transaction, so a run over millions of leads never holds one
giant transaction and a crash leaves only whole chunks done (the next run continues).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from telesales.core.audit import audit_record
from telesales.leads.choices import OPEN_STATES, LeadAction
from telesales.leads.models import Lead, LeadEvent, LeadRuleSet
from telesales.leads.rules import ruleset_in_force
from telesales.leads.services import leads_return_to_public
from telesales.org.choices import PersonStatus
from telesales.org.models import Person, Team

CHUNK = 500
LEAVING_STATUSES = (PersonStatus.LEFT, PersonStatus.SUSPENDED)

OWNER_LEFT = "owner_left"
PROTECTION_EXPIRED = "protection_expired"
NO_DIAL = "no_dial"
NO_CONNECT = "no_connect"
NO_FOLLOWUP = "no_followup"
TIME_RULES = (PROTECTION_EXPIRED, NO_DIAL, NO_CONNECT, NO_FOLLOWUP)
RULE_LABELS = {
    OWNER_LEFT: gettext_lazy("Owner left or suspended"),
    PROTECTION_EXPIRED: gettext_lazy("Protection expired"),
    NO_DIAL: gettext_lazy("Not dialled in time"),
    NO_CONNECT: gettext_lazy("No connect after the allowed attempts"),
    NO_FOLLOWUP: gettext_lazy("No follow-up in time"),
}

ExemptionFn = Callable[[list[int]], Iterable[int]]
_exemptions: list[ExemptionFn] = []


# --- Exemptions --------------------------------------------------------------------------
def register_exemption(fn: ExemptionFn) -> ExemptionFn:
    """Register ``fn(lead_ids) -> ids to exempt`` (usable as a decorator). Idempotent."""
    if fn not in _exemptions:
        _exemptions.append(fn)
    return fn


def unregister_exemption(fn: ExemptionFn) -> None:
    if fn in _exemptions:
        _exemptions.remove(fn)


def exempt_lead_ids(lead_ids: list[int]) -> set[int]:
    """The ids among ``lead_ids`` that a registered exemption keeps from recycling."""
    exempt: set[int] = set()
    for fn in list(_exemptions):
        exempt.update(int(i) for i in fn(list(lead_ids)) or ())
    return exempt & set(lead_ids)


# --- Rules as queries --------------------------------------------------------------------
def _open_leads(stage: str) -> QuerySet[Lead]:
    return Lead.objects.filter(
        state__in=OPEN_STATES, owner__isnull=False, owner__team__stage=stage
    ).annotate(_owned=Coalesce("owned_since", "created_at"))


def _with_activity(qs: QuerySet[Lead]) -> QuerySet[Lead]:
    owned = F("_owned")
    return qs.annotate(
        _activity=Greatest(
            owned, Coalesce("last_followup_at", owned), Coalesce("last_contact_at", owned)
        )
    )


def _due_by(qs: QuerySet[Lead], rule: str, ruleset: LeadRuleSet, at: dt.datetime):
    """Leads of ``qs`` whose deadline under ``rule`` has passed at ``at``."""
    if rule == PROTECTION_EXPIRED:
        return qs.filter(protect_until__lt=at)
    if rule == NO_DIAL:
        return qs.filter(
            Q(last_dialled_at__isnull=True) | Q(last_dialled_at__lt=F("_owned")),
            _owned__lte=at - timedelta(days=ruleset.recycle_no_dial_days),
        )
    if rule == NO_CONNECT:
        return qs.filter(
            Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=F("_owned")),
            dial_count__gte=ruleset.recycle_no_connect_attempts,
            _owned__lte=at - timedelta(days=ruleset.recycle_no_connect_days),
        )
    if rule == NO_FOLLOWUP:
        return _with_activity(qs).filter(
            _activity__lte=at - timedelta(days=ruleset.recycle_no_followup_days)
        )
    raise ValueError(rule)


def _deadline(lead: Lead, rule: str, ruleset: LeadRuleSet) -> dt.datetime | None:
    owned = lead.owned_since or lead.created_at
    if rule == PROTECTION_EXPIRED:
        return lead.protect_until
    if rule == NO_DIAL:
        return owned + timedelta(days=ruleset.recycle_no_dial_days)
    if rule == NO_CONNECT:
        return owned + timedelta(days=ruleset.recycle_no_connect_days)
    activity = max(t for t in (owned, lead.last_followup_at, lead.last_contact_at) if t)
    return activity + timedelta(days=ruleset.recycle_no_followup_days)


def _rule_reason(rule: str, ruleset: LeadRuleSet) -> str:
    texts = {
        OWNER_LEFT: _("the owner left or was suspended"),
        PROTECTION_EXPIRED: _("protection expired"),
        NO_DIAL: _("not dialled within %(days)d days of being owned")
        % {"days": ruleset.recycle_no_dial_days},
        NO_CONNECT: _("no connect after %(attempts)d attempts and %(days)d days")
        % {
            "attempts": ruleset.recycle_no_connect_attempts,
            "days": ruleset.recycle_no_connect_days,
        },
        NO_FOLLOWUP: _("no follow-up for %(days)d days")
        % {"days": ruleset.recycle_no_followup_days},
    }
    return f"{rule}: {texts[rule]}"


def _chunks(qs: QuerySet[Lead]) -> Iterable[list[int]]:
    """Ids of ``qs`` in ascending chunks; each query starts after the last id seen."""
    last = 0
    while True:
        ids = list(qs.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK])
        if not ids:
            return
        last = ids[-1]
        yield ids


# --- Recycling ---------------------------------------------------------------------------
def _recycle(
    qs: QuerySet[Lead],
    *,
    rule: str,
    ruleset: LeadRuleSet,
    now,
    actor,
    totals: Counter,
    reason: str = "",
) -> None:
    reason = reason or _rule_reason(rule, ruleset)
    for ids in _chunks(qs):
        if rule != OWNER_LEFT:
            exempt = exempt_lead_ids(ids)
            totals["exempt"] += len(exempt)
            ids = [i for i in ids if i not in exempt]
        if not ids:
            continue
        with transaction.atomic():
            # Lock and re-check: a dial or a claim may have landed since the ids were read.
            leads = list(
                qs.filter(pk__in=ids)
                .select_for_update(of=("self",))
                .select_related("owner", "owner__team")
            )
            moved = leads_return_to_public(
                leads=leads, actor=actor, action=LeadAction.RECYCLE, reason=reason, now=now
            )
        totals[rule] += moved


def _warn(
    qs: QuerySet[Lead], *, rule: str, ruleset: LeadRuleSet, now, actor, totals: Counter
) -> None:
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    earliest = now + timedelta(days=ruleset.recycle_warning_days)
    for ids in _chunks(qs):
        exempt = exempt_lead_ids(ids)
        ids = [i for i in ids if i not in exempt]
        if not ids:
            continue
        with transaction.atomic():
            leads = list(qs.filter(pk__in=ids).select_for_update(of=("self",)))
            if not leads:
                continue
            Lead.objects.filter(pk__in=[lead.pk for lead in leads]).update(recycle_warned_at=now)
            events = []
            for lead in leads:
                deadline = _deadline(lead, rule, ruleset)
                due = max(d for d in (deadline, earliest) if d)
                reason = _rule_reason(rule, ruleset)
                if rule == PROTECTION_EXPIRED and deadline is not None and deadline > now:
                    # Warned ahead: the protection has not run out yet (QA: "expired" two
                    # days before it did).
                    reason = f"{rule}: " + _("protection ends %(when)s") % {
                        "when": timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")
                    }
                text = _("%(rule)s; recycled from %(when)s unless worked") % {
                    "rule": reason,
                    "when": timezone.localtime(due).strftime("%Y-%m-%d %H:%M"),
                }
                events.append(
                    LeadEvent(
                        lead_id=lead.pk,
                        at=now,
                        actor_id=actor_id,
                        action=LeadAction.RECYCLE_WARNING,
                        from_state=lead.state,
                        to_state=lead.state,
                        from_owner_id=lead.owner_id,
                        to_owner_id=lead.owner_id,
                        reason=text[:300],
                    )
                )
            LeadEvent.objects.bulk_create(events, batch_size=1000)
        totals[rule] += len(leads)


def leads_recycle(*, now: dt.datetime | None = None, actor=None) -> dict:
    """Apply every stage's recycling rules once (see the module doc). Returns the counts:
    ``{"recycled", "warned", "exempt", "by_rule": {rule: n}, "warned_by_rule": {rule: n}}``.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    moved: Counter = Counter()
    warned: Counter = Counter()
    stages = sorted(set(Team.objects.values_list("stage", flat=True)))
    for stage in stages:
        ruleset = ruleset_in_force(stage=stage, on=today)
        base = _open_leads(stage)
        if ruleset.recycle_on_owner_leaving:
            _recycle(
                base.filter(owner__status__in=LEAVING_STATUSES),
                rule=OWNER_LEFT,
                ruleset=ruleset,
                now=now,
                actor=actor,
                totals=moved,
            )
        warning_age = now - timedelta(days=ruleset.recycle_warning_days)
        for rule in TIME_RULES:
            _recycle(
                _due_by(base, rule, ruleset, now).filter(recycle_warned_at__lte=warning_age),
                rule=rule,
                ruleset=ruleset,
                now=now,
                actor=actor,
                totals=moved,
            )
        horizon = now + timedelta(days=ruleset.recycle_warning_days)
        for rule in TIME_RULES:
            _warn(
                _due_by(base, rule, ruleset, horizon).filter(recycle_warned_at__isnull=True),
                rule=rule,
                ruleset=ruleset,
                now=now,
                actor=actor,
                totals=warned,
            )
    exempt = moved.pop("exempt", 0)
    result = {
        "recycled": sum(moved.values()),
        "warned": sum(warned.values()),
        "exempt": exempt,
        "by_rule": dict(moved),
        "warned_by_rule": dict(warned),
    }
    if result["recycled"] or result["warned"]:
        audit_record(
            actor=actor or "system",
            action="leads.recycle",
            object_type="leads.lead",
            object_repr=_("recycling run"),
            after=result,
        )
    return result


def person_leads_recycle(
    *, person: Person, actor=None, now: dt.datetime | None = None, reason: str = ""
) -> int:
    """Recycle every open lead of one person now (the owner-leaving rule, on demand).

    The periodic run does this by itself for everyone left or suspended; this is for a page
    or a service that wants it at once. ``reason`` (the history row of each lead) defaults
    to the rule's. Returns how many leads moved.
    """
    now = now or timezone.now()
    person = Person.objects.select_related("team").get(pk=person.pk)
    ruleset = ruleset_in_force(stage=person.team.stage, on=timezone.localdate(now))
    totals: Counter = Counter()
    _recycle(
        Lead.objects.filter(owner=person, state__in=OPEN_STATES),
        rule=OWNER_LEFT,
        ruleset=ruleset,
        now=now,
        actor=actor,
        totals=totals,
        reason=reason,
    )
    return totals[OWNER_LEFT]


def _leaving_reason(person: Person) -> str:
    """``owner_left: …`` naming who stopped working, how and (for a leaver) on which day."""
    who = f"{person.name} ({person.employee_no})" if person.employee_no else person.name
    if person.status == PersonStatus.LEFT:
        text = _("%(who)s left on %(day)s") % {
            "who": who,
            "day": person.left_on.isoformat() if person.left_on else "—",
        }
    else:
        text = _("%(who)s was suspended") % {"who": who}
    return f"{OWNER_LEFT}: {text}"[:300]


def person_leads_recycle_on_leaving(*, person: Person, actor=None) -> int:
    """The org hook (``on_person_stops_working``, inside the org service's transaction):
    recycle a leaving or suspended person's open leads now if their rule set says so.

    Only open leads move (owned or in progress). Leads won, lost or closed otherwise keep
    their owner: they are the history of who sold or lost them, and the lead pages go on
    showing the leaver's name. Each recycled lead's history row names the leaving (who, how,
    which day; the actor is whoever recorded it) and one audit row on the person
    (``leads.recycle_owner_leaving``) lists the leads it moved, so that every lead is
    traceable to the leave event and the leave event to its leads."""
    now = timezone.now()
    person = Person.objects.select_related("team").get(pk=person.pk)
    ruleset = ruleset_in_force(stage=person.team.stage, on=timezone.localdate(now))
    if not ruleset.recycle_on_owner_leaving:
        return 0
    reason = _leaving_reason(person)
    moved = person_leads_recycle(person=person, actor=actor, now=now, reason=reason)
    if moved:
        lead_ids = list(
            LeadEvent.objects.filter(
                from_owner=person, action=LeadAction.RECYCLE, at=now, reason=reason
            )
            .order_by("lead_id")
            .values_list("lead_id", flat=True)
        )
        audit_record(
            actor=actor or "system",
            action="leads.recycle_owner_leaving",
            instance=person,
            after={
                "status": person.status,
                "left_on": person.left_on,
                "recycled": moved,
                "lead_ids": lead_ids,
                "ruleset": ruleset.pk,
            },
            reason=reason,
        )
    return moved


# --- Reads -------------------------------------------------------------------------------
def lead_recycle_warnings(*, person: Person) -> QuerySet[Lead]:
    """The agent's leads warned of recycling, oldest warning first, with the latest warning's
    text (rule and earliest recycle time) as ``recycle_warning``."""
    latest = (
        LeadEvent.objects.filter(lead=OuterRef("pk"), action=LeadAction.RECYCLE_WARNING)
        .order_by("-at", "-id")
        .values("reason")[:1]
    )
    return (
        Lead.objects.filter(owner=person, state__in=OPEN_STATES, recycle_warned_at__isnull=False)
        .select_related("customer", "channel")
        .annotate(recycle_warning=Subquery(latest))
        .order_by("recycle_warned_at", "id")
    )
