"""Writes to lead data: pools (claim, release, protection), history, DNC, phone reveal.

Allocation, import and recycling live in their own modules (``allocation.py``,
``importing.py``, ``recycling.py``) and use the helpers here for history and ownership.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from telesales.core import formatting
from telesales.core.actors import is_user, user_or_none
from telesales.core.audit import audit_record
from telesales.core.errors import NotFound, PermissionDenied, ValidationFailed
from telesales.core.phone_numbers import mask_phone, normalise_phone, phone_hash
from telesales.core.rawsql import adapt_datetime
from telesales.leads import permissions
from telesales.leads.choices import (
    OPEN_STATES,
    DncSource,
    Gender,
    LeadAction,
    LeadState,
    Relation,
)
from telesales.leads.errors import (
    AgentNotWorking,
    ClaimLimitReached,
    DncAlreadyListed,
    DoNotCall,
    FormerOwnerBarred,
    GradeTooLow,
    LeadTaken,
    NoConsent,
    NotInPrivatePool,
    NotInPublicPool,
    PrivateCapReached,
)
from telesales.leads.models import Customer, DncEntry, Lead, LeadEvent
from telesales.leads.rules import ruleset_for_person
from telesales.leads.rulesets import DNC_MIN_DAYS
from telesales.org.choices import PersonStatus
from telesales.org.models import Person

WORKING_STATUSES = (PersonStatus.TRAINEE, PersonStatus.ACTIVE, PersonStatus.WARNING)


# --- History -----------------------------------------------------------------------------
def lead_events_record(
    *,
    leads: Iterable[Lead],
    action: str,
    actor=None,
    from_state: str = "",
    to_state: str = "",
    from_owner_ids: dict[int, int | None] | None = None,
    to_owner_id: int | None = None,
    reason: str = "",
    at: dt.datetime | None = None,
) -> int:
    """Write one history row per lead (bulk). ``from_owner_ids`` maps lead id to old owner."""
    at = at or timezone.now()
    actor_id = actor.pk if getattr(actor, "is_authenticated", False) else None
    rows = [
        LeadEvent(
            lead_id=lead.pk,
            at=at,
            actor_id=actor_id,
            action=action,
            from_state=from_state,
            to_state=to_state,
            from_owner_id=(from_owner_ids or {}).get(lead.pk),
            to_owner_id=to_owner_id,
            reason=reason[:300],
        )
        for lead in leads
    ]
    LeadEvent.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


# --- DNC ---------------------------------------------------------------------------------
def dnc_active_q(at: dt.datetime | None = None) -> Q:
    at = at or timezone.now()
    return Q(removed_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=at))


def dnc_blocked_hashes(hashes: Iterable[str], *, at: dt.datetime | None = None) -> set[str]:
    """The subset of phone hashes on the active DNC list (chunked for large inputs)."""
    hashes = list(hashes)
    blocked: set[str] = set()
    for i in range(0, len(hashes), 900):
        chunk = hashes[i : i + 900]
        blocked.update(
            DncEntry.objects.filter(dnc_active_q(at), phone_hash__in=chunk).values_list(
                "phone_hash", flat=True
            )
        )
    return blocked


def lead_is_blocked(lead: Lead, *, at: dt.datetime | None = None) -> bool:
    if lead.customer.no_marketing:
        return True
    return DncEntry.objects.filter(dnc_active_q(at), phone_hash=lead.customer.mobile_hash).exists()


#: DNC sources that record the customer's own refusal: held to the regulatory minimum.
REFUSALS = (DncSource.CUSTOMER_REQUEST, DncSource.COMPLAINT)


def dnc_lapsed_close(hashes: Iterable[str], *, now: dt.datetime) -> int:
    """Close the entries of these numbers that lapsed (``removed_at`` = their expiry): a
    number has at most one open entry (the database's constraint), so a lapsed one makes
    way before a new entry is added. Nothing that blocked still blocks after this."""
    return DncEntry.objects.filter(
        phone_hash__in=list(hashes), removed_at__isnull=True, expires_at__lte=now
    ).update(removed_at=F("expires_at"), updated_at=now)


def dnc_covers(entry: DncEntry, expires: dt.datetime | None) -> bool:
    """Whether ``entry`` blocks at least until ``expires`` (None: for good), give or take a
    day (the same block added again a moment later adds nothing)."""
    if entry.expires_at is None:
        return True
    return expires is not None and entry.expires_at >= expires - timedelta(days=1)


def _already_listed(entry: DncEntry) -> DncAlreadyListed:
    if entry.expires_at is None:
        until = _("blocked for good")
    else:
        until = _("blocked until %(date)s") % {
            "date": timezone.localtime(entry.expires_at).date().isoformat()
        }
    message = _(
        "%(number)s is on the do-not-call list already (%(until)s, added %(added)s). "
        "Remove that entry first if the block should change."
    ) % {
        "number": entry.phone_masked,
        "until": until,
        "added": timezone.localtime(entry.created_at).date().isoformat(),
    }
    return DncAlreadyListed(message, details={"entry_id": entry.pk, "fields": {"phone": [message]}})


#: What ``dnc_add`` does with a number that has an entry in force already.
DNC_REFUSE, DNC_EXTEND = "refuse", "extend"


@transaction.atomic
def dnc_add(
    *,
    phone: str,
    source: str = DncSource.MANUAL,
    reason: str = "",
    days: int | None = None,
    permanent: bool = False,
    actor=None,
    ruleset_days: int = 180,
    when_listed: str = DNC_REFUSE,
) -> DncEntry:
    """Block a number. A refusal blocks for ``days`` (default: the rule set's, ≥ 180).

    A number has one entry in force at most. When it has one already, ``when_listed``
    decides: ``"refuse"`` (the data officer's page and the API) raises ``DncAlreadyListed``;
    ``"extend"`` (a customer's refusal on a call) keeps an entry that blocks at least as long
    and returns it, or ends a shorter one (audited ``leads.dnc_remove``) and adds the new
    block."""
    if actor is not None and not isinstance(actor, str) and not permissions.can_manage_leads(actor):
        raise PermissionDenied(_("You may not change the do-not-call list"))
    result = normalise_phone(phone)
    if result.e164 is None:
        raise ValidationFailed(
            _("Not a valid phone number"), fields={"phone": [_("not a valid phone number")]}
        )
    if source not in DncSource.values:
        raise ValidationFailed(_("Unknown source"), fields={"source": [_("unknown source")]})
    if days is not None and not 1 <= days <= 36500:
        raise ValidationFailed(_("Invalid duration"), fields={"days": [_("1 to 36500 days")]})
    if days is not None and not permanent and source in REFUSALS and days < DNC_MIN_DAYS:
        # DOMAIN.md R1: a customer who refuses telesales is blocked for at least six months.
        raise ValidationFailed(
            _("A customer's refusal or complaint blocks calls for at least %(days)d days")
            % {"days": DNC_MIN_DAYS},
            fields={"days": [_("at least %(days)d days") % {"days": DNC_MIN_DAYS}]},
        )
    if when_listed not in (DNC_REFUSE, DNC_EXTEND):
        raise ValueError(f"when_listed: {when_listed!r}")
    now = timezone.now()
    expires = None if permanent else now + timedelta(days=days or ruleset_days)
    digest = phone_hash(result.e164)
    dnc_lapsed_close([digest], now=now)
    current = (
        DncEntry.objects.select_for_update().filter(phone_hash=digest, removed_at__isnull=True)
    ).first()
    if current is not None:
        if when_listed == DNC_REFUSE:
            raise _already_listed(current)
        if dnc_covers(current, expires):
            return current
        current.removed_at = now
        current.save(update_fields=["removed_at", "updated_at"])
        audit_record(
            actor=actor,
            action="leads.dnc_remove",
            instance=current,
            after={"superseded": True},
            reason=_("replaced by a longer block"),
        )
    try:
        with transaction.atomic():
            entry = DncEntry.objects.create(
                phone_hash=digest,
                phone_masked=mask_phone(result.e164),
                source=source,
                reason=reason[:200],
                expires_at=expires,
                created_by=user_or_none(actor),
            )
    except IntegrityError:
        # Someone listed the number at the same moment: the database kept theirs.
        listed = DncEntry.objects.filter(phone_hash=digest, removed_at__isnull=True).first()
        if listed is None:
            raise
        if when_listed == DNC_EXTEND and dnc_covers(listed, expires):
            return listed
        raise _already_listed(listed) from None
    if permanent:
        Customer.objects.filter(mobile_hash=entry.phone_hash).update(no_marketing=True)
    blocked = list(
        Lead.objects.filter(customer__mobile_hash=entry.phone_hash).exclude(
            state__in=[LeadState.WON, LeadState.DNC]
        )
    )
    if blocked:
        from_owner = {lead.pk: lead.owner_id for lead in blocked}
        Lead.objects.filter(pk__in=[lead.pk for lead in blocked]).update(
            state=LeadState.DNC, owner=None, protect_until=None
        )
        lead_events_record(
            leads=blocked,
            action=LeadAction.DNC,
            actor=actor,
            to_state=LeadState.DNC,
            from_owner_ids=from_owner,
            reason=reason or source,
        )
    audit_record(
        actor=actor,
        action="leads.dnc_add",
        instance=entry,
        after={"source": source, "expires_at": expires, "leads_blocked": len(blocked)},
        reason=reason,
    )
    return entry


@transaction.atomic
def dnc_remove(*, entry: DncEntry, actor, reason: str) -> DncEntry:
    if not permissions.can_manage_leads(actor):
        raise PermissionDenied(_("You may not change the do-not-call list"))
    if not reason.strip():
        raise ValidationFailed(_("A reason is required"), fields={"reason": [_("required")]})
    entry.removed_at = timezone.now()
    entry.save(update_fields=["removed_at", "updated_at"])
    audit_record(actor=actor, action="leads.dnc_remove", instance=entry, reason=reason)
    if entry.expires_at is None and not (
        DncEntry.objects.filter(phone_hash=entry.phone_hash, expires_at__isnull=True)
        .filter(dnc_active_q())
        .exists()
    ):
        # The permanent refusal is withdrawn (the customer opted back in, or the entry was a
        # mistake): the customer's no-marketing flag goes with the last permanent entry.
        for customer in Customer.objects.filter(mobile_hash=entry.phone_hash, no_marketing=True):
            customer.no_marketing = False
            customer.save(update_fields=["no_marketing", "updated_at"])
            audit_record(
                actor=actor,
                action="leads.customer_marketing_allowed",
                instance=customer,
                reason=reason,
            )
    return entry


# --- Households ----------------------------------------------------------------------------
def can_edit_household(actor, lead: Lead) -> bool:
    """The lead's owner, the team lead of the owner's team, the data officer and the manager
    may record the lead's family (it feeds the extended-service suggestions)."""
    if permissions.can_manage_leads(actor):
        return True
    from telesales.core.roles import Role, has_role
    from telesales.org.selectors import person_for_user

    me = person_for_user(actor)
    if me is None or lead.owner_id is None:
        return False
    if lead.owner_id == me.pk:
        return True
    return has_role(actor, Role.TEAM_LEAD) and (
        Person.objects.filter(pk=lead.owner_id, team__leader_id=me.pk).exists()
    )


def _require_household_right(actor, lead: Lead) -> None:
    if not can_edit_household(actor, lead):
        raise PermissionDenied(
            _("Only the lead's owner, their team lead or the data officer may do this")
        )


def _check_member_link(*, actor, customer: Customer, member: Customer, e164: str) -> None:
    """May ``actor`` link ``member`` (already on record by the number typed) into
    ``customer``'s household? Not when they are in it already. The data officer may link
    anyone (audited). An agent may link only a customer whose leads are all theirs: anyone
    else's record stays unseen (its name, birth date and household are not the agent's to
    learn by typing a number) and unchanged. Refusals name the number masked, never the
    person."""
    masked = mask_phone(e164)
    if customer.household_id and member.household_id == customer.household_id:
        message = _("%(number)s is already recorded in this household") % {"number": masked}
        raise ValidationFailed(message, fields={"mobile": [message]})
    if permissions.can_manage_leads(actor):
        return
    if member.household_id:
        message = _(
            "%(number)s belongs to another household; the data officer can move them "
            "after checking with the customer"
        ) % {"number": masked}
        raise ValidationFailed(message, fields={"mobile": [message]})
    me = getattr(actor, "person", None) if is_user(actor) else None
    owners = set(Lead.objects.filter(customer=member).values_list("owner_id", flat=True))
    if me is None or owners != {me.pk}:
        message = _(
            "%(number)s is already on record for another customer; the data officer can add "
            "them to this household after checking with the customer"
        ) % {"number": masked}
        raise ValidationFailed(message, fields={"mobile": [message]})


@transaction.atomic
def household_member_add(
    *,
    lead: Lead,
    actor,
    name: str,
    mobile: str,
    gender: str = "",
    birth_date: dt.date | None = None,
    relation: str = "",
) -> Customer:
    """Record a family member of the lead's customer: link the customer already known by
    that mobile number, or record a new one (a customer, not a lead: no consent, never
    dialled for sales until a lead with consent exists). The household is created on first
    use. Refused when the number is the customer's own, is already in the household, or
    (for anyone but the data officer) belongs to another household or to a customer whose
    leads are not all the actor's (``_check_member_link``).
    ``relation``: how the member is related to the lead's customer (spouse, child, parent,
    other; blank when not known): extended service reads it before age and gender."""
    from telesales.leads.models import Household

    _require_household_right(actor, lead)
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise ValidationFailed(_("A name is required"), fields={"name": [_("1 to 50 characters")]})
    if gender and gender not in Gender.values:
        raise ValidationFailed(_("Unknown gender"), fields={"gender": [_("unknown")]})
    if relation and relation not in Relation.values:
        raise ValidationFailed(_("Unknown relation"), fields={"relation": [_("unknown")]})
    if birth_date is not None and birth_date > timezone.localdate():
        raise ValidationFailed(
            _("The birth date is in the future"), fields={"birth_date": [_("in the future")]}
        )
    result = normalise_phone(mobile)
    if result.e164 is None:
        raise ValidationFailed(
            _("Not a valid phone number"), fields={"mobile": [_("not a valid phone number")]}
        )
    customer = Customer.objects.select_for_update().get(pk=lead.customer_id)
    digest = phone_hash(result.e164)
    if digest == customer.mobile_hash:
        raise ValidationFailed(
            _("This is the customer's own number"), fields={"mobile": [_("the customer's own")]}
        )
    member = Customer.objects.select_for_update().filter(mobile_hash=digest).first()
    if member is not None:
        _check_member_link(actor=actor, customer=customer, member=member, e164=result.e164)
    if customer.household_id is None:
        customer.household = Household.objects.create(name=customer.name[:100])
        customer.save(update_fields=["household", "updated_at"])
    if member is None:
        member = Customer.objects.create(
            name=name,
            mobile_e164=result.e164,
            mobile_hash=digest,
            gender=gender,
            birth_date=birth_date,
            household=customer.household,
            relation=relation,
            relation_to=customer if relation else None,
        )
    else:
        member.household = customer.household
        member.gender = member.gender or gender
        member.birth_date = member.birth_date or birth_date
        fields = ["household", "gender", "birth_date", "updated_at"]
        if relation:
            member.relation, member.relation_to = relation, customer
            fields += ["relation", "relation_to"]
        member.save(update_fields=fields)
    audit_record(
        actor=actor,
        action="leads.household_member_add",
        instance=member,
        reason=_("family of lead #%(id)d") % {"id": lead.pk},
    )
    return member


@transaction.atomic
def household_member_remove(*, lead: Lead, member: Customer, actor, reason: str) -> Customer:
    """Take a member out of the lead's customer's household (recorded in error, divorced…)."""
    _require_household_right(actor, lead)
    if not (reason or "").strip():
        raise ValidationFailed(_("A reason is required"), fields={"reason": [_("required")]})
    customer = Customer.objects.get(pk=lead.customer_id)
    member = Customer.objects.select_for_update().get(pk=member.pk)
    if (
        member.pk == customer.pk
        or customer.household_id is None
        or member.household_id != customer.household_id
    ):
        raise ValidationFailed(
            _("This person is not a member of the customer's household"),
            fields={"member": [_("not in the household")]},
        )
    member.household = None
    member.relation, member.relation_to = "", None
    member.save(update_fields=["household", "relation", "relation_to", "updated_at"])
    audit_record(
        actor=actor, action="leads.household_member_remove", instance=member, reason=reason
    )
    return member


# --- Pools -------------------------------------------------------------------------------
def _check_agent_can_hold(*, agent, lead: Lead, now: dt.datetime, held: int, cap: int) -> None:
    if agent.status not in WORKING_STATUSES:
        raise AgentNotWorking(
            _("%(name)s is %(status)s and cannot hold leads")
            % {"name": agent.name, "status": agent.get_status_display()}
        )
    if agent.capability_grade < lead.required_grade:
        raise GradeTooLow(
            _("This lead needs sales-capability grade %(need)d; %(name)s has grade %(has)d")
            % {"need": lead.required_grade, "name": agent.name, "has": agent.capability_grade}
        )
    if (
        lead.former_owner_id == agent.pk
        and lead.former_owner_bar_until
        and lead.former_owner_bar_until > now
    ):
        raise FormerOwnerBarred(
            _("You held this lead before; you may claim it again after %(when)s")
            % {"when": timezone.localtime(lead.former_owner_bar_until).strftime("%Y-%m-%d %H:%M")}
        )
    if held >= cap:
        raise PrivateCapReached(
            _("Your private pool is full (%(held)d of %(cap)d leads); work or release some first")
            % {"held": held, "cap": cap}
        )


def _start_of_day(now: dt.datetime) -> dt.datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def claims_today(agent, *, now: dt.datetime | None = None) -> int:
    start = _start_of_day(now or timezone.now())
    return LeadEvent.objects.filter(action=LeadAction.CLAIM, to_owner=agent, at__gte=start).count()


def _claims_and_held(agent_id: int, now: dt.datetime) -> tuple[int, int]:
    """:func:`claims_today` and the agent's open leads (owned or in progress) in one statement
    (dispatch asks for both on every public-pool dispatch; ADR 0015)."""
    events = connection.ops.quote_name(LeadEvent._meta.db_table)
    leads = connection.ops.quote_name(Lead._meta.db_table)
    states = ", ".join(["%s"] * len(OPEN_STATES))
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {events} WHERE action = %s AND to_owner_id = %s"  # noqa: S608
        f" AND at >= %s), (SELECT COUNT(*) FROM {leads} WHERE owner_id = %s"
        f" AND state IN ({states}))"
    )
    start = adapt_datetime(_start_of_day(now))
    with connection.cursor() as cursor:
        cursor.execute(sql, [LeadAction.CLAIM, agent_id, start, agent_id, *OPEN_STATES])
        used, held = cursor.fetchone()
    return int(used), int(held)


@dataclass
class ClaimAllowance:
    """An agent's room to claim from the public pool, counted under a lock on their ``Person``
    row that lasts until the transaction ends (so no other claim of theirs can slip in
    between): claims made today against the daily limit, leads held against the private-pool
    cap. :func:`lead_claim` given one claims without counting again, and counts its claim."""

    agent: Person
    ruleset: object
    used: int
    held: int
    cap: int

    @property
    def limit(self) -> int:
        return self.ruleset.daily_claim_limit


def claim_allowance(agent, *, now: dt.datetime | None = None) -> ClaimAllowance:
    """Lock ``agent``'s row for this transaction (the caller holds one) and count their room
    to claim on the day of ``now``."""
    now = now or timezone.now()
    # of=("self",): lock only the person row (PostgreSQL refuses FOR UPDATE on the nullable
    # side of the outer join that select_related("level") makes).
    agent = (
        Person.objects.select_for_update(of=("self",))
        .select_related("team", "level")
        .get(pk=agent.pk)
    )
    ruleset = ruleset_for_person(agent, on=timezone.localdate(now))
    used, held = _claims_and_held(agent.pk, now)
    return ClaimAllowance(
        agent=agent,
        ruleset=ruleset,
        used=used,
        held=held,
        cap=ruleset.cap_for_level(agent.level.code if agent.level_id else None),
    )


@transaction.atomic
def lead_claim(*, lead: Lead, agent, actor, allowance: ClaimAllowance | None = None) -> Lead:
    """An agent takes a lead from the public pool into their private pool, within the limits.

    Without ``allowance`` the agent's row is locked and the limits counted here. A caller that
    already holds one (``claim_allowance`` in the same transaction, as dispatch does) passes it
    together with a lead it read in this transaction (locked, customer selected): the claim
    then costs its two writes."""
    if actor is not None and not permissions.can_claim(actor):
        raise PermissionDenied(_("Your role cannot claim leads"))
    now = timezone.now()
    if allowance is None:
        lead = Lead.objects.select_related("customer").get(pk=lead.pk)
        # Serialise this agent's claims so the cap and the daily limit hold under concurrency
        # (the lead is not locked: the conditional update below is its guard).
        allowance = claim_allowance(agent, now=now)
    agent, ruleset = allowance.agent, allowance.ruleset
    if lead.state != LeadState.PUBLIC:
        raise NotInPublicPool(_("This lead is not in the public pool any more"))
    if lead_is_blocked(lead, at=now):
        raise DoNotCall(_("This number is on the do-not-call list"))
    if not lead.has_consent:
        raise NoConsent(_("This lead has no consent record, so it may not be called"))
    _check_agent_can_hold(agent=agent, lead=lead, now=now, held=allowance.held, cap=allowance.cap)
    if allowance.used >= ruleset.daily_claim_limit:
        raise ClaimLimitReached(
            _("You have claimed %(used)d leads today; the daily limit is %(limit)d")
            % {"used": allowance.used, "limit": ruleset.daily_claim_limit}
        )
    changes = {
        "state": LeadState.OWNED,
        "owner_id": agent.pk,
        "owned_since": now,
        "protect_until": now + timedelta(days=ruleset.protection_days),
        "recycle_warned_at": None,
        "updated_at": now,
    }
    taken = Lead.objects.filter(pk=lead.pk, state=LeadState.PUBLIC, owner__isnull=True).update(
        **changes
    )
    if not taken:
        raise LeadTaken(_("Someone else took this lead a moment ago"))
    lead_events_record(
        leads=[lead],
        action=LeadAction.CLAIM,
        actor=actor,
        from_state=LeadState.PUBLIC,
        to_state=LeadState.OWNED,
        to_owner_id=agent.pk,
        at=now,
    )
    for name, value in changes.items():  # the row as written, without reading it back
        setattr(lead, name, value)
    allowance.used += 1
    allowance.held += 1
    return lead


@transaction.atomic
def lead_release(*, lead: Lead, actor, reason: str = "") -> Lead:
    """The owner (or a data officer) puts a lead back into the public pool."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    me = getattr(actor, "person", None) if getattr(actor, "is_authenticated", False) else None
    if not permissions.can_manage_leads(actor) and (me is None or lead.owner_id != me.pk):
        raise PermissionDenied(_("Only the owner or the data officer may release this lead"))
    if lead.state not in OPEN_STATES:
        raise NotInPrivatePool(_("Only leads in a private pool can be released"))
    owner = lead.owner
    leads_return_to_public(
        leads=[lead], actor=actor, action=LeadAction.RELEASE, reason=reason or _("released")
    )
    if me is None or owner is None or owner.pk != me.pk:
        # Taken from someone else (a data officer, the manager): the audit log says so too
        # (QA: a forced release was in the lead's history only).
        audit_record(
            actor=actor,
            action="leads.lead_release",
            instance=lead,
            before={"owner": owner.pk if owner else None, "state": lead.state},
            after={"owner": None, "state": LeadState.PUBLIC},
            reason=reason,
        )
    lead.refresh_from_db()
    return lead


def leads_return_to_public(
    *, leads: list[Lead], actor, action: str, reason: str, now: dt.datetime | None = None
) -> int:
    """Move owned leads to the public pool with the former-owner bar. Caller holds the
    transaction. Returns how many moved."""
    now = now or timezone.now()
    moved = 0
    by_owner: dict[int, list[Lead]] = {}
    for lead in leads:
        if lead.owner_id and lead.state in OPEN_STATES:
            by_owner.setdefault(lead.owner_id, []).append(lead)
    for owner_id, owned in by_owner.items():
        owner = owned[0].owner
        bar_days = ruleset_for_person(owner, on=timezone.localdate(now)).former_owner_bar_days
        ids = [lead.pk for lead in owned]
        states = {lead.pk: lead.state for lead in owned}
        count = Lead.objects.filter(pk__in=ids, owner_id=owner_id, state__in=OPEN_STATES).update(
            state=LeadState.PUBLIC,
            owner=None,
            owned_since=None,
            protect_until=None,
            former_owner_id=owner_id,
            former_owner_bar_until=now + timedelta(days=bar_days),
            recycle_warned_at=None,
            updated_at=now,
        )
        moved += count
        for from_state in set(states.values()):
            lead_events_record(
                leads=[lead for lead in owned if states[lead.pk] == from_state],
                action=action,
                actor=actor,
                from_state=from_state,
                to_state=LeadState.PUBLIC,
                from_owner_ids=dict.fromkeys(ids, owner_id),
                reason=reason,
                at=now,
            )
    return moved


def lead_protection_extend(*, lead: Lead, at: dt.datetime | None = None) -> Lead:
    """Activity on a lead (a dial, a follow-up) extends its protection, up to the maximum."""
    at = at or timezone.now()
    if not lead.owner_id or lead.state not in OPEN_STATES or not lead.owned_since:
        return lead
    ruleset = ruleset_for_person(lead.owner)
    cap = lead.owned_since + timedelta(days=ruleset.protection_max_days)
    target = min(cap, at + timedelta(days=ruleset.protection_extend_days))
    if lead.protect_until is None or target > lead.protect_until:
        lead.protect_until = target
        lead.recycle_warned_at = None
        Lead.objects.filter(pk=lead.pk).update(protect_until=target, recycle_warned_at=None)
    return lead


# --- Reveal ------------------------------------------------------------------------------
def lead_phone_reveal(*, lead: Lead, actor, reason: str, via: str = "page") -> str:
    """Return the full number for a permitted user; every reveal is audited (who, lead, why,
    and ``via``: ``page`` or ``api``; exports record ``export`` themselves). A refused attempt
    is audited too (``leads.phone_reveal_refused``), in its own transaction: the auditor asks
    who tried as well as who saw (QA: refusals were only in the server's log)."""
    if not permissions.can_reveal_phone(actor):
        raise phone_reveal_refused(lead_id=lead.pk, actor=actor, via=via, reason=reason)
    with transaction.atomic():
        return _phone_reveal(lead=lead, actor=actor, reason=reason, via=via)


def phone_reveal_refused(*, lead_id: int, actor, via: str, reason: str = "") -> PermissionDenied:
    """Audit an attempt to see a full number by someone who may not (``via``: ``page`` or
    ``api``), in its own transaction so that the refusal does not roll it back, and return
    the error to raise. The interfaces that check the right themselves call it too."""
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="leads.phone_reveal_refused",
            object_type="leads.lead",
            object_id=str(lead_id),
            object_repr=f"lead #{lead_id}",
            after={"via": via},
            reason=(reason or "").strip()[:500],
        )
    return PermissionDenied(_("You may not see full phone numbers"))


def _phone_reveal(*, lead: Lead, actor, reason: str, via: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationFailed(
            _("Say why you need the number"), fields={"reason": [_("a reason is required")]}
        )
    lead = Lead.objects.select_related("customer").filter(pk=lead.pk).first()
    if lead is None:
        raise NotFound(_("No such lead"))
    audit_record(
        actor=actor,
        action="leads.phone_reveal",
        instance=lead,
        object_repr=f"lead #{lead.pk} {mask_phone(lead.customer.mobile_e164)}",
        after={"via": via},
        reason=reason,
    )
    return lead.customer.mobile_e164


# --- Activity from the sales floor (the calls and policies apps call these) ----------------
CLOSING_STATES = (LeadState.WON, LeadState.LOST, LeadState.INVALID, LeadState.DNC)


def lead_call_record(
    *, lead: Lead, at: dt.datetime, answered: bool, contact: bool, actor=None, worked=True
) -> Lead:
    """Count a dial on a lead: dial and connect counts, first/last dial, last contact.

    A dial moves an owned lead to *in progress* and, as activity, extends its protection;
    not when ``worked`` is False (a call made before the lead moved to its present owner
    or pool: it counts, but it is not their work). The caller holds the transaction (and
    normally a lock on the lead)."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    lead.dial_count += 1
    lead.first_dialled_at = lead.first_dialled_at or at
    lead.last_dialled_at = max(filter(None, [lead.last_dialled_at, at]))
    fields = ["dial_count", "first_dialled_at", "last_dialled_at", "updated_at"]
    if answered:
        lead.connect_count += 1
        fields.append("connect_count")
    if contact:
        lead.last_contact_at = max(filter(None, [lead.last_contact_at, at]))
        fields.append("last_contact_at")
    from_state = lead.state
    if lead.state == LeadState.OWNED and worked:
        lead.state = LeadState.IN_PROGRESS
        fields.append("state")
    lead.updated_at = timezone.now()
    lead.save(update_fields=fields)
    if not worked:
        return lead
    if from_state != lead.state:
        lead_events_record(
            leads=[lead],
            action=LeadAction.STATE,
            actor=actor,
            from_state=from_state,
            to_state=lead.state,
            reason=_("first call"),
            at=at,
        )
    return lead_protection_extend(lead=lead, at=at)


def lead_followup_record(*, lead: Lead, at: dt.datetime) -> Lead:
    """A follow-up was scheduled or made: it counts as activity on the lead."""
    Lead.objects.filter(pk=lead.pk).update(last_followup_at=at, updated_at=timezone.now())
    lead.last_followup_at = at
    return lead_protection_extend(lead=lead, at=at)


@transaction.atomic
def lead_close(
    *,
    lead: Lead,
    state: str,
    actor=None,
    reason: str = "",
    premium=None,
    at: dt.datetime | None = None,
) -> Lead:
    """End a lead's sales life: won (with the premium it brought), lost, invalid or DNC.

    A won lead may be won again (another policy for the household): the premium adds up.
    The owner stays the owner, so the lead is credited to them and out of recycling."""
    if state not in CLOSING_STATES:
        raise ValidationFailed(
            _("A lead can only be closed as won, lost, invalid or do-not-call"),
            fields={"state": [_("not a closing state")]},
        )
    at = at or timezone.now()
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    from_state = lead.state
    fields = ["state", "updated_at"]
    if state == LeadState.WON:
        lead.won_at = lead.won_at or at
        lead.premium = (lead.premium or 0) + (premium or 0)
        fields += ["won_at", "premium"]
    elif from_state == LeadState.WON:
        raise ValidationFailed(
            _("A won lead cannot be closed as lost or invalid"),
            fields={"state": [_("the lead is already won")]},
        )
    if from_state == state == LeadState.WON and not reason:
        # A further policy for the household: the history says so, not "won → won" (QA).
        reason = _("another sale: %(premium)s more premium") % {
            "premium": formatting.yuan(premium or 0)
        }
    lead.state = state
    lead.updated_at = timezone.now()
    lead.save(update_fields=fields)
    lead_events_record(
        leads=[lead],
        action=LeadAction.DNC if state == LeadState.DNC else LeadAction.STATE,
        actor=actor,
        from_state=from_state,
        to_state=state,
        reason=reason,
        at=at,
    )
    return lead


def lead_sale_withdrawn(
    *, lead: Lead, premium, actor=None, reason: str = "", at: dt.datetime | None = None
) -> Lead:
    """A sale counted on a won lead did not happen after all (underwriting declined the
    application): its premium comes off the lead's, and when nothing won remains the lead is
    back in its owner's hands, in progress, to be offered something else — with a fresh
    protection period from ``at``, as a new hand-over would give — or in the public pool when it
    has no owner any more. A lead still won by another policy stays won."""
    at = at or timezone.now()
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    if lead.state != LeadState.WON:
        return lead
    from_state = lead.state
    lead.premium = max((lead.premium or 0) - (premium or 0), 0)
    fields = ["premium", "updated_at"]
    if not lead.premium:
        lead.state = LeadState.IN_PROGRESS if lead.owner_id else LeadState.PUBLIC
        lead.won_at = None
        fields += ["state", "won_at"]
        if lead.owner_id:
            # Back in the agent's hands as if handed over again: a fresh protection period,
            # so that recycling does not take the customer away before the call back.
            ruleset = ruleset_for_person(lead.owner)
            lead.owned_since = at
            lead.protect_until = at + timedelta(days=ruleset.protection_days)
            lead.recycle_warned_at = None
            fields += ["owned_since", "protect_until", "recycle_warned_at"]
    lead.updated_at = timezone.now()
    lead.save(update_fields=fields)
    if lead.state != from_state:
        lead_events_record(
            leads=[lead],
            action=LeadAction.STATE,
            actor=actor,
            from_state=from_state,
            to_state=lead.state,
            reason=reason,
            at=at,
        )
    return lead


@transaction.atomic
def _require_transfer_right(actor, *, lead: Lead, to_agent: Person) -> None:
    """Who may move a lead from one private pool to another: the system (``actor`` None, the
    periodic callback cover), the data officer and the center manager, and a team lead
    between agents of a team they lead (the lead's owner's and the receiver's)."""
    if actor is None or permissions.can_manage_leads(actor):
        return
    from telesales.core.roles import Role, has_role
    from telesales.org.selectors import person_for_user

    me = person_for_user(actor) if has_role(actor, Role.TEAM_LEAD) else None
    if me is not None:
        led = set(me.led_teams.values_list("pk", flat=True))
        owner_team = (
            Person.objects.filter(pk=lead.owner_id).values_list("team_id", flat=True).first()
        )
        if owner_team in led and to_agent.team_id in led:
            return
    raise PermissionDenied(
        _("Only the data officer, the manager or the team lead of both agents may transfer a lead")
    )


@transaction.atomic
def lead_transfer(*, lead: Lead, to_agent: Person, actor, reason: str) -> Lead:
    """Hand an open lead to another working agent (e.g. a callback whose owner is absent).

    Bypasses the receiving agent's cap on purpose: it is a short-term cover, recorded with
    its reason; the lead keeps its protection."""
    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    _require_transfer_right(actor, lead=lead, to_agent=to_agent)
    if lead.state not in OPEN_STATES:
        raise NotInPrivatePool(_("Only leads in a private pool can be transferred"))
    if to_agent.status not in WORKING_STATUSES:
        raise AgentNotWorking(_("%(name)s is not working") % {"name": to_agent.name})
    if lead.required_grade and (to_agent.capability_grade or 0) < lead.required_grade:
        raise GradeTooLow(_("%(name)s may not sell this lead's products") % {"name": to_agent.name})
    from_owner = lead.owner_id
    lead.owner = to_agent
    lead.updated_at = timezone.now()
    lead.save(update_fields=["owner", "updated_at"])
    lead_events_record(
        leads=[lead],
        action=LeadAction.ALLOCATE,
        actor=actor,
        from_state=lead.state,
        to_state=lead.state,
        from_owner_ids={lead.pk: from_owner},
        to_owner_id=to_agent.pk,
        reason=reason,
    )
    return lead
