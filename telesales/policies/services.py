"""Writes to policies: the catalogue, the sale, the policy life cycle, the post-sale tasks.

Every service is keyword-only, names its actor, checks the rules and the actor's rights
itself, owns its transaction and writes its audit row (routine task completions are recorded
on the task itself). A refusal raises a ``DomainError`` before anything is written, so nothing
is ever half-done.

Life cycle (``choices.PolicyStatus``)::

    sale_record → applied ─policy_issue→ issued ─policy_receipt_confirm→ receipt_confirmed
        ─policies_free_look_close (window passed)→ free_look_ended
    issued | receipt_confirmed (window not passed) ─policy_free_look_cancel→ cancelled
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from telesales.core.actors import user_or_none
from telesales.core.audit import audit_record, model_snapshot
from telesales.core.errors import NotFound, ValidationFailed, deny_unless
from telesales.core.model_updates import apply_changes, save_or_conflict, validate_instance
from telesales.core.roles import Role, has_role
from telesales.leads.choices import LeadState
from telesales.leads.models import Customer, Lead
from telesales.leads.services import WORKING_STATUSES, lead_close, lead_sale_withdrawn
from telesales.org.models import Person
from telesales.org.selectors import person_for_user
from telesales.policies import permissions
from telesales.policies.choices import (
    CANCELLABLE_STATUSES,
    NOT_SOLD_STATUSES,
    OUTCOMES_BY_KIND,
    STABILISATION_KINDS,
    CancelReason,
    PaymentMode,
    PolicyAction,
    PolicyStatus,
    ProductCategory,
    SuggestionRule,
    TaskKind,
    TaskOutcome,
    TaskStatus,
)
from telesales.policies.errors import (
    AgentNotWorking,
    DuplicatePolicyNumber,
    DuplicateSale,
    FreeLookOver,
    GradeTooLow,
    LeadNotWorked,
    NotRegistered,
    ProductNotOnSale,
    TaskClosed,
    WrongStatus,
)
from telesales.policies.hooks import call_time_problem, policy_declined_run, service_interest_run
from telesales.policies.models import (
    Policy,
    PolicyEvent,
    Product,
    ServiceTask,
    StabilisationRuleSet,
)
from telesales.policies.rules import ruleset_in_force
from telesales.policies.suggestions import Suggestion
from telesales.policies.suggestions import household_suggestions as household_suggestions

#: No product may allow an annualised premium above this (a typo guard on the catalogue).
PREMIUM_CEILING = Decimal("10000000.00")
#: What a money column (12 digits, 2 decimals) can hold.
MONEY_LIMIT = Decimal("10000000000")
MAX_TERM_YEARS = 100
MAX_INSURED = 10
NOTE_MAX = 1000
#: A sale, issue or cancellation time may lie this far in the future (clock skew).
CLOCK_SKEW = dt.timedelta(minutes=5)
POLICY_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,31}$")
SALE_LEAD_STATES = (LeadState.OWNED, LeadState.IN_PROGRESS, LeadState.WON)
CHUNK = 500


# --- Helpers -----------------------------------------------------------------------------
def _check_operator(actor) -> None:
    """Issue, receipt and cancellation: renewal operations or the manager (or the system)."""
    if actor is None or isinstance(actor, str):
        return
    deny_unless(
        permissions.can_operate_policies(actor),
        _("Only renewal operations or the center manager may do this"),
    )


def _event(
    *, policy: Policy, action: str, actor, from_status: str, reason: str = "", at=None
) -> PolicyEvent:
    return PolicyEvent.objects.create(
        policy=policy,
        at=at or timezone.now(),
        actor=user_or_none(actor),
        action=action,
        from_status=from_status,
        to_status=policy.status,
        reason=reason[:500],
    )


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise ValidationFailed(_("Not a date and time"), fields={field: [_("a date and time")]})
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _due(day: dt.date, hour: int) -> dt.datetime:
    """``hour`` o'clock local time on ``day``."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def _lock(policy: Policy) -> Policy:
    locked = (
        Policy.objects.select_for_update(of=("self",))
        .select_related("product", "holder", "agent", "lead")
        .filter(pk=policy.pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("No such policy"))
    return locked


def _note(note: str, *, required: bool = False, field: str = "note") -> str:
    note = (note or "").strip()
    if required and not note:
        raise ValidationFailed(_("A note is required"), fields={field: [_("required")]})
    if len(note) > NOTE_MAX:
        raise ValidationFailed(
            _("The note is too long"),
            fields={field: [_("at most %(n)d characters") % {"n": NOTE_MAX}]},
        )
    return note


def _decimal(value: Any) -> Decimal | None:
    """A finite decimal from a Decimal, int or string; None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        value = str(value)
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def _money(value: Any, field: str, errors: dict) -> Decimal | None:
    number = _decimal(value)
    if number is None:
        errors.setdefault(field, []).append(_("an amount in yuan, e.g. 1200.00"))
        return None
    if abs(number) >= MONEY_LIMIT:
        errors.setdefault(field, []).append(_("far too large"))
        return None
    if number.as_tuple().exponent < -2:  # type: ignore[operator]
        errors.setdefault(field, []).append(_("at most two decimals (fen)"))
        return None
    return number.quantize(Decimal("0.01"))


def _render(template: str, **values: Any) -> str:
    """Fill ``{name}`` placeholders; unknown ones stay as they are (scripts are data)."""
    text = template or ""
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _company(agent: Person) -> str:
    """The full company name the seller states (Art. 24): the center's name, as the sales
    opening script in the workspace says it."""
    return agent.center.name if agent.center_id else ""


def _script_values(policy: Policy, **extra: Any) -> dict[str, Any]:
    agent = policy.agent
    return {
        "holder": policy.holder.name or _("customer"),
        "agent": agent.name,
        "company": _company(agent),
        "reg_no": agent.practice_reg_no or "—",
        "product": policy.product.name,
        "policy_number": policy.number or "—",
        **extra,
    }


def _category_label(category: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return str(ProductCategory(category).label)


def _member_phrase(suggestion: Suggestion, *, holder_id: int) -> str:
    """Who the cover is for, as the agent says it to the holder on the phone (in the center's
    language): "you" for the holder, "your spouse <name>" or "your child <name>" for a member
    of the household, never the member's name alone in the third person."""
    name = suggestion.for_name or ""
    with translation.override(settings.LANGUAGE_CODE):
        if suggestion.for_customer_id == holder_id:
            return pgettext("extended-service script", "you")
        if suggestion.rule == SuggestionRule.SPOUSE_ACCIDENT:
            phrase = pgettext("extended-service script", "your spouse %(name)s")
        elif suggestion.rule in (SuggestionRule.CHILD_ACCIDENT, SuggestionRule.CHILD_EDUCATION):
            phrase = pgettext("extended-service script", "your child %(name)s")
        else:
            phrase = pgettext("extended-service script", "your family member %(name)s")
        return (phrase % {"name": name}).strip()


# --- Product catalogue -------------------------------------------------------------------
PRODUCT_FIELDS = {
    "code",
    "name",
    "insurer",
    "category",
    "grade",
    "free_look_days",
    "commission_basis",
    "first_year_commission_rate",
    "allowed_modes",
    "allowed_terms",
    "min_premium",
    "max_premium",
    "min_insured_age",
    "max_insured_age",
    "description",
    "is_active",
}


def _product_check(product: Product) -> None:
    """Normalise and check a product; every problem is reported at once, per field."""
    errors: dict[str, list[str]] = {}
    modes = product.allowed_modes
    if not isinstance(modes, list | tuple) or not modes:
        errors["allowed_modes"] = [_("at least one payment mode")]
    else:
        unknown = [str(m)[:20] for m in modes if m not in PaymentMode.values]
        if unknown:
            errors["allowed_modes"] = [
                _("unknown payment mode %(mode)s") % {"mode": ", ".join(unknown)}
            ]
        else:
            product.allowed_modes = [m for m in PaymentMode.values if m in modes]
    terms = product.allowed_terms
    if not isinstance(terms, list | tuple) or not terms:
        errors["allowed_terms"] = [_("at least one term")]
    elif any(
        isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= MAX_TERM_YEARS for t in terms
    ):
        errors["allowed_terms"] = [
            _("whole numbers of years from 1 to %(max)d") % {"max": MAX_TERM_YEARS}
        ]
    else:
        product.allowed_terms = sorted(set(terms))
    low = _money(product.min_premium, "min_premium", errors)
    high = _money(product.max_premium, "max_premium", errors)
    if low is not None:
        product.min_premium = low
        if low <= 0:
            errors.setdefault("min_premium", []).append(_("more than zero"))
    if high is not None:
        product.max_premium = high
        if high > PREMIUM_CEILING:
            errors.setdefault("max_premium", []).append(
                _("at most %(max)s") % {"max": PREMIUM_CEILING}
            )
        if low is not None and high < low:
            errors.setdefault("max_premium", []).append(_("not below the minimum"))
    ages = {}
    for name in ("min_insured_age", "max_insured_age"):
        age = getattr(product, name)
        if age in ("", None):
            ages[name] = None
        elif isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= MAX_AGE:
            errors[name] = [_("a whole number of years from 0 to %(max)d") % {"max": MAX_AGE}]
        else:
            ages[name] = age
    young, old = ages.get("min_insured_age"), ages.get("max_insured_age")
    if young is not None and old is not None and old < young:
        errors.setdefault("max_insured_age", []).append(_("not below the youngest age"))
    for name, age in ages.items():
        setattr(product, name, age)
    rate = _decimal(product.first_year_commission_rate)
    if rate is None or not Decimal("0") <= rate <= Decimal("1"):
        errors["first_year_commission_rate"] = [_("a share from 0 to 1, e.g. 0.3")]
    else:
        product.first_year_commission_rate = rate.quantize(Decimal("0.0001"))
    if errors:
        raise ValidationFailed(_("Invalid product"), fields=errors)
    validate_instance(product)


@transaction.atomic
def product_create(*, actor, **fields: Any) -> Product:
    """Add a product to the catalogue (center manager)."""
    deny_unless(permissions.can_manage_products(actor), _("Only the center manager edits products"))
    product = Product()
    apply_changes(product, fields, allowed=PRODUCT_FIELDS)
    _product_check(product)
    save_or_conflict(product)
    audit_record(
        actor=actor,
        action="policies.product_create",
        instance=product,
        after=model_snapshot(product),
    )
    return product


@transaction.atomic
def product_update(*, product: Product, actor, reason: str = "", **changes: Any) -> Product:
    """Change a product. Policies sold keep what they were sold with (their own dates)."""
    deny_unless(permissions.can_manage_products(actor), _("Only the center manager edits products"))
    product = Product.objects.select_for_update().get(pk=product.pk)
    before = model_snapshot(product)
    changed = apply_changes(product, changes, allowed=PRODUCT_FIELDS)
    _product_check(product)
    if changed:
        save_or_conflict(product)
        audit_record(
            actor=actor,
            action="policies.product_update",
            instance=product,
            before={k: before[k] for k in changed},
            after={k: model_snapshot(product)[k] for k in changed},
            reason=reason,
        )
    return product


# --- The sale ----------------------------------------------------------------------------
def _check_seller(*, agent: Person, product: Product) -> None:
    if agent.status not in WORKING_STATUSES:
        raise AgentNotWorking(
            _("%(name)s is %(status)s and cannot sell")
            % {"name": agent.name, "status": agent.get_status_display()}
        )
    if not agent.practice_reg_no:
        raise NotRegistered(
            _("%(name)s has no practice registration number and may not sell yet")
            % {"name": agent.name}
        )
    if not product.is_active:
        raise ProductNotOnSale(_("%(product)s is not on sale") % {"product": product.name})
    if agent.capability_grade < product.grade:
        raise GradeTooLow(
            _("%(product)s needs sales-capability grade %(need)d; %(name)s has grade %(has)d")
            % {
                "product": product.name,
                "need": product.grade,
                "name": agent.name,
                "has": agent.capability_grade,
            }
        )


def _sale_terms(
    *, product: Product, annualised_premium: Any, payment_mode: Any, term_years: Any
) -> Decimal:
    errors: dict[str, list[str]] = {}
    premium = _money(annualised_premium, "annualised_premium", errors)
    if premium is not None:
        if premium <= 0:
            errors["annualised_premium"] = [_("must be more than zero")]
        elif premium < product.min_premium or premium > product.max_premium:
            errors["annualised_premium"] = [
                _("%(product)s takes an annualised premium from %(low)s to %(high)s yuan")
                % {"product": product.name, "low": product.min_premium, "high": product.max_premium}
            ]
    if payment_mode not in PaymentMode.values:
        errors["payment_mode"] = [_("unknown payment mode")]
    elif payment_mode not in (product.allowed_modes or []):
        errors["payment_mode"] = [
            _("%(product)s cannot be paid %(mode)s")
            % {"product": product.name, "mode": PaymentMode(payment_mode).label}
        ]
    if isinstance(term_years, bool) or not isinstance(term_years, int):
        errors["term_years"] = [_("a whole number of years")]
    elif term_years not in (product.allowed_terms or []):
        errors["term_years"] = [
            _("%(product)s has terms of %(terms)s years")
            % {
                "product": product.name,
                "terms": ", ".join(str(t) for t in product.allowed_terms or []),
            }
        ]
    if errors:
        raise ValidationFailed(_("The sale cannot be recorded"), fields=errors)
    assert premium is not None
    return premium


#: The oldest insured age a product may name.
MAX_AGE = 120


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Whole years from ``birth_date`` to ``day`` (周岁)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def insured_age_problem(*, product: Product, customer: Customer, on: dt.date) -> str:
    """Why ``customer`` cannot be insured by ``product`` on ``on`` for their age ("" when they
    can, or when their birth date is not known: nothing to hold against them)."""
    young, old = product.min_insured_age, product.max_insured_age
    if (young is None and old is None) or customer.birth_date is None:
        return ""
    age = age_on(customer.birth_date, on)
    if (young is None or age >= young) and (old is None or age <= old):
        return ""
    if young is not None and old is not None:
        ages = _("%(low)d to %(high)d") % {"low": young, "high": old}
    elif young is not None:
        ages = _("%(low)d and over") % {"low": young}
    else:
        ages = _("up to %(high)d") % {"high": old}
    return _("%(name)s is %(age)d: %(product)s insures ages %(ages)s") % {
        "name": customer.name or _("the customer"),
        "age": age,
        "product": product.name,
        "ages": ages,
    }


def _insured_customers(*, holder: Customer, insured_ids: Any) -> list[Customer]:
    if (
        not isinstance(insured_ids, list | tuple)
        or not insured_ids
        or any(isinstance(i, bool) or not isinstance(i, int) for i in insured_ids)
    ):
        raise ValidationFailed(
            _("Name the insured persons"), fields={"insured_ids": [_("at least one customer")]}
        )
    ids = list(dict.fromkeys(insured_ids))
    if len(ids) > MAX_INSURED:
        raise ValidationFailed(
            _("Too many insured persons"),
            fields={"insured_ids": [_("at most %(n)d") % {"n": MAX_INSURED}]},
        )
    found = {c.pk: c for c in Customer.objects.filter(pk__in=ids)}
    outside = [
        i
        for i in ids
        if i not in found
        or not (
            i == holder.pk or (holder.household_id and found[i].household_id == holder.household_id)
        )
    ]
    if outside:
        raise ValidationFailed(
            _("The insured persons must be the policy holder or members of their household"),
            fields={"insured_ids": [_("not in the household: %(ids)s") % {"ids": outside}]},
        )
    return [found[i] for i in ids]


def _conversions_mark(*, policy: Policy, insured_ids: list[int], actor, at: dt.datetime) -> int:
    """A sale of a suggested category for a suggested person converts the suggestion (also one
    whose converting sale was cancelled in free-look or declined: the customer bought after
    all)."""
    tasks = list(
        ServiceTask.objects.select_for_update(of=("self",))
        .filter(
            Q(converted_policy__isnull=True) | Q(converted_policy__status__in=NOT_SOLD_STATUSES),
            kind=TaskKind.EXTENDED_SERVICE,
            suggested_category=policy.product.category,
            for_customer_id__in=insured_ids,
        )
        .exclude(status=TaskStatus.CANCELLED)
    )
    for task in tasks:
        task.converted_policy = policy
        fields = ["converted_policy", "updated_at"]
        if task.outcome == TaskOutcome.CONVERSION_CANCELLED:
            task.outcome = TaskOutcome.CONVERTED
            fields.append("outcome")
        elif task.status == TaskStatus.OPEN:
            task.status = TaskStatus.DONE
            task.outcome = TaskOutcome.CONVERTED
            task.done_at = at
            task.done_by = user_or_none(actor)
            fields += ["status", "outcome", "done_at", "done_by"]
        task.save(update_fields=fields)
    return len(tasks)


def _conversions_undo(*, policy: Policy) -> int:
    """The suggestions a sale converted are open again once that sale is declined (those the
    sale closed as converted reopen; the others only lose the link)."""
    tasks = list(ServiceTask.objects.select_for_update().filter(converted_policy=policy))
    for task in tasks:
        task.converted_policy = None
        fields = ["converted_policy", "updated_at"]
        if task.status == TaskStatus.DONE and task.outcome == TaskOutcome.CONVERTED:
            task.status = TaskStatus.OPEN
            task.outcome = ""
            task.done_at = None
            task.done_by = None
            fields += ["status", "outcome", "done_at", "done_by"]
        task.save(update_fields=fields)
    return len(tasks)


def _conversions_cancel(*, policy: Policy) -> int:
    """The suggestions a sale converted no longer count as converted once that sale is
    cancelled in free-look: those it closed as converted read "converted, then cancelled in
    free-look" (closed: the customer has just said no, so no new call is pushed on them); all
    keep the link, so the trail shows which sale it was. The reports count a conversion only
    while its policy is held (``selectors.extended_service_conversion``)."""
    return ServiceTask.objects.filter(
        converted_policy=policy,
        kind=TaskKind.EXTENDED_SERVICE,
        outcome=TaskOutcome.CONVERTED,
    ).update(outcome=TaskOutcome.CONVERSION_CANCELLED, updated_at=timezone.now())


def _refuse_duplicate_sale(
    *,
    lead: Lead,
    agent: Person,
    product: Product,
    holder: Customer,
    insured: list[Customer],
    since: dt.datetime,
) -> None:
    """``DuplicateSale`` when this very sale is recorded already (see ``sale_record``)."""
    wanted = {c.pk for c in insured}
    candidates = (
        Policy.objects.filter(
            lead_id=lead.pk,
            agent_id=agent.pk,
            product_id=product.pk,
            holder_id=holder.pk,
            applied_at__gte=since,
        )
        .exclude(status__in=NOT_SOLD_STATUSES)
        .prefetch_related("insured")
        .order_by("id")
    )
    for policy in candidates:
        if {c.pk for c in policy.insured.all()} == wanted:
            raise DuplicateSale(
                _("This sale is recorded already (policy #%(id)d): nothing was added")
                % {"id": policy.pk},
                details={"policy": policy.pk},
            )


@transaction.atomic
def sale_record(
    *,
    lead: Lead,
    agent: Person,
    product: Product,
    annualised_premium: Decimal,
    payment_mode: str,
    term_years: int,
    insured_ids: list[int],
    actor,
    recording_ref: str = "",
    at: dt.datetime | None = None,
    holder_id: int | None = None,
    duplicates_since: dt.datetime | None = None,
) -> Policy:
    """Record an online close: a policy in status *applied*, and the lead won.

    Checks, before anything is written: the actor is the selling agent (or the manager);
    the agent is working, registered, of the product's grade or higher, and holds the lead
    (owned, in progress, or already won by them); the product is on sale; the premium is
    more than zero and within the product's range; the payment mode and the term are ones the
    product allows; the insured persons are the holder or in the holder's household (the
    holder is the lead's customer unless ``holder_id`` names another member of the
    household). An open extended-service suggestion of the product's category for one of the
    insured persons is marked converted.

    Idempotency: with ``duplicates_since`` (the calls app passes the start of the call), a
    policy not cancelled on this lead, by this agent, of the same product, holder and insured
    persons, applied since then, is the same sale submitted again: ``DuplicateSale`` (409)
    naming it, and nothing is written. The check runs under the lead's row lock, so two
    submissions at once record one policy. Another product or other insured persons on the
    same call remain a second sale."""
    now = timezone.now()
    if actor is not None and not isinstance(actor, str):
        me = person_for_user(actor)
        own = me is not None and me.pk == agent.pk
        deny_unless(
            (own and permissions.can_record_sale(actor)) or has_role(actor, Role.MANAGER),
            _("Only the selling agent records their sale"),
        )
    at = _aware(at, "at") if at is not None else now
    if at > now + CLOCK_SKEW:
        raise ValidationFailed(
            _("A sale cannot lie in the future"), fields={"at": [_("in the future")]}
        )
    recording_ref = (recording_ref or "").strip()
    if len(recording_ref) > 200:
        raise ValidationFailed(
            _("The recording reference is too long"),
            fields={"recording_ref": [_("at most 200 characters")]},
        )
    agent = Person.objects.select_related("team").get(pk=agent.pk)
    product = Product.objects.get(pk=product.pk)
    lead = Lead.objects.select_for_update().select_related("customer").get(pk=lead.pk)
    _check_seller(agent=agent, product=product)
    if lead.owner_id != agent.pk or lead.state not in SALE_LEAD_STATES:
        raise LeadNotWorked(_("This lead is not being worked by %(name)s") % {"name": agent.name})
    premium = _sale_terms(
        product=product,
        annualised_premium=annualised_premium,
        payment_mode=payment_mode,
        term_years=term_years,
    )
    holder = lead.customer
    if holder_id is not None and holder_id != holder.pk:
        other = Customer.objects.filter(pk=holder_id).first()
        if other is None or not holder.household_id or other.household_id != holder.household_id:
            raise ValidationFailed(
                _("The policy holder must be the lead's customer or in their household"),
                fields={"holder_id": [_("not in the household")]},
            )
        holder = other
    insured = _insured_customers(holder=holder, insured_ids=insured_ids)
    # A product for children sold with an adult insured is a mis-sale (QA, session 20: a
    # 57-year-old insured by the 0–17 children's accident cover).
    too_old_or_young = [
        problem
        for customer in insured
        if (
            problem := insured_age_problem(
                product=product, customer=customer, on=timezone.localdate(at)
            )
        )
    ]
    if too_old_or_young:
        raise ValidationFailed(too_old_or_young[0], fields={"insured_ids": too_old_or_young})
    if duplicates_since is not None:
        _refuse_duplicate_sale(
            lead=lead,
            agent=agent,
            product=product,
            holder=holder,
            insured=insured,
            since=_aware(duplicates_since, "duplicates_since"),
        )
    policy = Policy.objects.create(
        lead=lead,
        holder=holder,
        agent=agent,
        team=agent.team,
        product=product,
        annualised_premium=premium,
        payment_mode=payment_mode,
        term_years=term_years,
        status=PolicyStatus.APPLIED,
        applied_at=at,
        recording_ref=recording_ref,
        created_by=user_or_none(actor),
    )
    policy.insured.set(insured)
    _event(policy=policy, action=PolicyAction.APPLY, actor=actor, from_status="", at=at)
    lead_close(lead=lead, state=LeadState.WON, premium=premium, actor=user_or_none(actor), at=at)
    converted = _conversions_mark(
        policy=policy, insured_ids=[c.pk for c in insured], actor=actor, at=at
    )
    audit_record(
        actor=actor,
        action="policies.sale_record",
        instance=policy,
        after={
            **model_snapshot(policy),
            "insured": [c.pk for c in insured],
            "suggestions_converted": converted,
        },
    )
    return policy


# --- Issue, receipt, free-look -------------------------------------------------------------
def _task_owner(agent: Person) -> Person:
    """The selling agent; their team lead when the agent no longer works here."""
    if agent.status in WORKING_STATUSES:
        return agent
    leader = agent.team.leader if agent.team_id else None
    if leader is not None and leader.pk != agent.pk and leader.status in WORKING_STATUSES:
        return leader
    return agent


def _planned_free_look_end(policy: Policy) -> dt.date:
    """The free-look end: the real one once the receipt is confirmed, estimated from the issue
    date until then (e-policies are received the day they are issued)."""
    issue_day = policy.issue_date
    assert issue_day is not None
    return policy.free_look_end or issue_day + dt.timedelta(days=policy.product.free_look_days)


def _checkin_due(*, policy: Policy, rules: StabilisationRuleSet) -> tuple[dt.datetime, dt.date]:
    """When the check-in falls due, and the free-look end it is planned against (estimated
    from the issue date until the receipt is confirmed)."""
    issue_day = policy.issue_date
    assert issue_day is not None
    end = _planned_free_look_end(policy)
    day = max(
        end - dt.timedelta(days=rules.checkin_days_before_end),
        issue_day + dt.timedelta(days=rules.welcome_call_day),
    )
    return _due(day, rules.task_due_hour), end


def _extended_due(*, policy: Policy, rules: StabilisationRuleSet) -> dt.datetime:
    """When the extended-service tasks fall due: ``extended_service_after_days`` after the
    issue, but never before ``extended_service_after_free_look_days`` after the policy's
    free-look window ends (DOMAIN.md §7: 稳单 comes before 延伸服务; no cross-sell call while
    the customer may still cancel the first policy)."""
    issue_day = policy.issue_date
    assert issue_day is not None
    day = max(
        issue_day + dt.timedelta(days=rules.extended_service_after_days),
        _planned_free_look_end(policy)
        + dt.timedelta(days=rules.extended_service_after_free_look_days),
    )
    return _due(day, rules.task_due_hour)


def _stabilisation_tasks_create(
    *, policy: Policy, rules: StabilisationRuleSet
) -> list[ServiceTask]:
    issue_day = policy.issue_date
    assert issue_day is not None
    owner = _task_owner(policy.agent)
    checkin_at, end = _checkin_due(policy=policy, rules=rules)
    values = _script_values(policy, free_look_end=end.isoformat())
    common = {"policy": policy, "customer": policy.holder, "lead": policy.lead, "agent": owner}
    tasks = [
        ServiceTask(
            kind=TaskKind.WELCOME_CALL,
            due_at=_due(issue_day + dt.timedelta(days=rules.welcome_call_day), rules.task_due_hour),
            script=_render(rules.welcome_script, **values),
            **common,
        ),
        ServiceTask(
            kind=TaskKind.FREE_LOOK_CHECKIN,
            due_at=checkin_at,
            script=_render(rules.checkin_script, **values),
            **common,
        ),
    ]
    # Only what the agent who will call may sell (their sales-capability grade).
    suggestions: list[Suggestion] = household_suggestions(
        customer=policy.holder, on=issue_day, rules=rules, grade=owner.capability_grade or 1
    )
    pending = set(
        ServiceTask.objects.filter(
            kind=TaskKind.EXTENDED_SERVICE,
            status=TaskStatus.OPEN,
            for_customer_id__in=[s.for_customer_id for s in suggestions],
        ).values_list("for_customer_id", "suggested_category")
    )
    extended_at = _extended_due(policy=policy, rules=rules)
    for s in suggestions:
        if (s.for_customer_id, s.category) in pending:
            continue
        tasks.append(
            ServiceTask(
                kind=TaskKind.EXTENDED_SERVICE,
                due_at=extended_at,
                for_customer_id=s.for_customer_id,
                suggestion_rule=s.rule,
                suggested_category=s.category,
                script=_render(
                    rules.extended_script,
                    **values,
                    member=_member_phrase(s, holder_id=policy.holder_id),
                    category=_category_label(s.category),
                ),
                **common,
            )
        )
    return ServiceTask.objects.bulk_create(tasks)


def _generate_number(policy: Policy) -> str:
    return f"TS{timezone.localdate(policy.issued_at):%Y%m%d}{policy.pk:07d}"


@transaction.atomic
def policy_issue(
    *,
    policy: Policy,
    number: str | None = None,
    issued_at: dt.datetime | None = None,
    actor,
) -> Policy:
    """Underwriting passed: the policy is issued (a number is generated unless given) and the
    selling agent gets the stabilisation tasks (welcome call, free-look check-in) and the
    extended-service suggestions for the household."""
    _check_operator(actor)
    now = timezone.now()
    policy = _lock(policy)
    if policy.status != PolicyStatus.APPLIED:
        raise WrongStatus(
            _("Only an applied policy can be issued; this one is %(status)s")
            % {"status": policy.get_status_display()}
        )
    issued_at = _aware(issued_at, "issued_at") if issued_at is not None else now
    if issued_at > now + CLOCK_SKEW:
        raise ValidationFailed(
            _("The issue cannot lie in the future"), fields={"issued_at": [_("in the future")]}
        )
    if issued_at < policy.applied_at:
        raise ValidationFailed(
            _("A policy cannot be issued before it was applied for"),
            fields={"issued_at": [_("before the application")]},
        )
    if number is not None:
        number = number.strip()
        if not POLICY_NUMBER.match(number):
            raise ValidationFailed(
                _("Not a policy number"),
                fields={"number": [_("4 to 32 letters, digits or dashes")]},
            )
        if Policy.objects.filter(number=number).exclude(pk=policy.pk).exists():
            raise DuplicatePolicyNumber(_("Policy number %(number)s is taken") % {"number": number})
    policy.issued_at = issued_at
    policy.number = number or _generate_number(policy)
    policy.status = PolicyStatus.ISSUED
    save_or_conflict(policy, update_fields=["issued_at", "number", "status", "updated_at"])
    _event(policy=policy, action=PolicyAction.ISSUE, actor=actor, from_status=PolicyStatus.APPLIED)
    rules = ruleset_in_force(on=policy.issue_date)
    tasks = _stabilisation_tasks_create(policy=policy, rules=rules)
    audit_record(
        actor=actor,
        action="policies.policy_issue",
        instance=policy,
        after={
            "number": policy.number,
            "issued_at": issued_at,
            "tasks": len(tasks),
            "rule_set": rules.pk,
        },
    )
    return policy


@transaction.atomic
def policy_decline(*, policy: Policy, note: str, actor, at: dt.datetime | None = None) -> Policy:
    """Underwriting declined the application (拒保): the policy ends before it was issued, with
    underwriting's reason. It earns nothing and is no sale in the figures; its premium comes
    off the lead, which goes back to the agent in progress when nothing else was won on it
    (``leads.services.lead_sale_withdrawn``); the extended-service suggestions it converted
    are open again; the apps registered with ``hooks.on_policy_declined`` react (calls books
    the agent a call back to the customer). Only an applied policy can be declined."""
    _check_operator(actor)
    now = timezone.now()
    note = _note(note, required=True)
    at = _aware(at, "at") if at is not None else now
    if at > now + CLOCK_SKEW:
        raise ValidationFailed(
            _("A decline cannot lie in the future"), fields={"at": [_("in the future")]}
        )
    policy = _lock(policy)
    if policy.status != PolicyStatus.APPLIED:
        raise WrongStatus(
            _("Only an applied policy can be declined; this one is %(status)s")
            % {"status": policy.get_status_display()}
        )
    if at < policy.applied_at:
        raise ValidationFailed(
            _("A decline cannot come before the application"),
            fields={"at": [_("before the application")]},
        )
    policy.status = PolicyStatus.DECLINED
    policy.declined_at = at
    policy.decline_note = note
    policy.save(update_fields=["status", "declined_at", "decline_note", "updated_at"])
    _event(
        policy=policy,
        action=PolicyAction.DECLINE,
        actor=actor,
        from_status=PolicyStatus.APPLIED,
        reason=note,
        at=at,
    )
    reopened = _conversions_undo(policy=policy)
    lead = lead_sale_withdrawn(
        lead=policy.lead,
        premium=policy.annualised_premium,
        actor=user_or_none(actor),
        reason=_("Policy #%(id)d declined by underwriting") % {"id": policy.pk},
        at=at,
    )
    policy_declined_run(policy=policy, lead=lead, actor=actor)
    audit_record(
        actor=actor,
        action="policies.policy_decline",
        instance=policy,
        after={"declined_at": at, "lead_state": lead.state, "suggestions_reopened": reopened},
        reason=note,
    )
    return policy


@transaction.atomic
def policy_receipt_confirm(*, policy: Policy, receipt_date: dt.date, actor) -> Policy:
    """The customer confirmed receipt (回执): the free-look window runs from that day for the
    product's free-look days, and the check-in is moved to fall before its end."""
    _check_operator(actor)
    policy = _lock(policy)
    if policy.status != PolicyStatus.ISSUED:
        raise WrongStatus(
            _("A receipt can only be confirmed for an issued policy; this one is %(status)s")
            % {"status": policy.get_status_display()}
        )
    if not isinstance(receipt_date, dt.date) or isinstance(receipt_date, dt.datetime):
        raise ValidationFailed(_("Not a date"), fields={"receipt_date": [_("a date")]})
    today = timezone.localdate()
    if receipt_date > today:
        raise ValidationFailed(
            _("The receipt date cannot lie in the future"),
            fields={"receipt_date": [_("in the future")]},
        )
    if policy.issue_date and receipt_date < policy.issue_date:
        raise ValidationFailed(
            _("The receipt cannot come before the issue"),
            fields={"receipt_date": [_("before the issue date")]},
        )
    policy.receipt_date = receipt_date
    policy.free_look_end = receipt_date + dt.timedelta(days=policy.product.free_look_days)
    policy.status = PolicyStatus.RECEIPT_CONFIRMED
    policy.save(update_fields=["receipt_date", "free_look_end", "status", "updated_at"])
    _event(
        policy=policy,
        action=PolicyAction.RECEIPT,
        actor=actor,
        from_status=PolicyStatus.ISSUED,
        reason=receipt_date.isoformat(),
    )
    rules = ruleset_in_force(on=policy.issue_date)
    due, end = _checkin_due(policy=policy, rules=rules)
    due = max(due, timezone.now())
    values = _script_values(policy, free_look_end=end.isoformat())
    for task in ServiceTask.objects.select_for_update().filter(
        policy=policy, kind=TaskKind.FREE_LOOK_CHECKIN, status=TaskStatus.OPEN
    ):
        task.due_at = due
        task.script = _render(rules.checkin_script, **values)
        task.save(update_fields=["due_at", "script", "updated_at"])
    # The extended service waits for the real end of the window (never moved earlier: a
    # later time the agent agreed with the customer stays).
    extended_at = _extended_due(policy=policy, rules=rules)
    ServiceTask.objects.filter(
        policy=policy,
        kind=TaskKind.EXTENDED_SERVICE,
        status=TaskStatus.OPEN,
        due_at__lt=extended_at,
    ).update(due_at=extended_at, updated_at=timezone.now())
    audit_record(
        actor=actor,
        action="policies.policy_receipt_confirm",
        instance=policy,
        after={"receipt_date": receipt_date, "free_look_end": policy.free_look_end},
    )
    return policy


def _tasks_expire(*, policy_ids: Iterable[int], kinds: Iterable[str], at: dt.datetime, note: str):
    return ServiceTask.objects.filter(
        policy_id__in=list(policy_ids), kind__in=list(kinds), status=TaskStatus.OPEN
    ).update(
        status=TaskStatus.CANCELLED,
        outcome=TaskOutcome.EXPIRED,
        note=note,
        done_at=at,
        updated_at=timezone.now(),
    )


@transaction.atomic
def policy_free_look_cancel(
    *, policy: Policy, reason: str, note: str, actor, at: dt.datetime | None = None
) -> Policy:
    """The customer cancelled inside the free-look window (犹豫期退保), with a reason. The
    policy's open tasks are cancelled, except its extended-service suggestions when the holder
    keeps another policy in force: they move to that one. Refused once the window has
    passed."""
    _check_operator(actor)
    now = timezone.now()
    if reason not in CancelReason.values:
        raise ValidationFailed(_("Choose a reason"), fields={"reason": [_("unknown reason")]})
    note = _note(note, required=reason == CancelReason.OTHER)
    at = _aware(at, "at") if at is not None else now
    if at > now + CLOCK_SKEW:
        raise ValidationFailed(
            _("A cancellation cannot lie in the future"), fields={"at": [_("in the future")]}
        )
    policy = _lock(policy)
    if policy.status == PolicyStatus.FREE_LOOK_ENDED or (
        policy.status == PolicyStatus.RECEIPT_CONFIRMED
        and policy.free_look_end
        and timezone.localdate(at) > policy.free_look_end
    ):
        raise FreeLookOver(
            _("The free-look window ended on %(day)s; this is a surrender, not a cancellation")
            % {"day": policy.free_look_end.isoformat() if policy.free_look_end else "—"}
        )
    if policy.status not in CANCELLABLE_STATUSES:
        raise WrongStatus(
            _("Only an issued policy can be cancelled in free-look; this one is %(status)s")
            % {"status": policy.get_status_display()}
        )
    if policy.issued_at and at < policy.issued_at:
        raise ValidationFailed(
            _("A cancellation cannot come before the issue"), fields={"at": [_("before the issue")]}
        )
    from_status = policy.status
    policy.status = PolicyStatus.CANCELLED
    policy.cancelled_at = at
    policy.cancel_reason = reason
    policy.cancel_note = note
    policy.save(
        update_fields=["status", "cancelled_at", "cancel_reason", "cancel_note", "updated_at"]
    )
    _event(
        policy=policy,
        action=PolicyAction.CANCEL,
        actor=actor,
        from_status=from_status,
        reason=f"{CancelReason(reason).label}{': ' + note if note else ''}",
        at=at,
    )
    # The household's extended-service suggestions outlive this policy when the holder keeps
    # another in force: they move to it (QA, session 20: cancelling one of two policies
    # closed the pension suggestion the workspace still showed, and the call was never made).
    kept = (
        Policy.objects.filter(
            holder_id=policy.holder_id,
            status__in=(
                PolicyStatus.ISSUED,
                PolicyStatus.RECEIPT_CONFIRMED,
                PolicyStatus.FREE_LOOK_ENDED,
            ),
        )
        .exclude(pk=policy.pk)
        .order_by("-issued_at", "-pk")
        .first()
    )
    moved = 0
    if kept is not None:
        moved = ServiceTask.objects.filter(
            policy=policy, kind=TaskKind.EXTENDED_SERVICE, status=TaskStatus.OPEN
        ).update(policy=kept, updated_at=timezone.now())
    expired = _tasks_expire(
        policy_ids=[policy.pk], kinds=TaskKind.values, at=at, note=_("The policy was cancelled")
    )
    unconverted = _conversions_cancel(policy=policy)
    audit_record(
        actor=actor,
        action="policies.policy_free_look_cancel",
        instance=policy,
        after={
            "reason": reason,
            "cancelled_at": at,
            "tasks_cancelled": expired,
            "tasks_moved": moved,
            "moved_to": kept.pk if moved and kept is not None else None,
            "conversions_cancelled": unconverted,
        },
        reason=note,
    )
    return policy


def _tasks_miss(*, policy_ids: Iterable[int], at: dt.datetime) -> int:
    """The open stabilisation calls of ``policy_ids`` were never made: they are *missed* (the
    agent's note, if any, stays), so the team lead and the report see them."""
    return ServiceTask.objects.filter(
        policy_id__in=list(policy_ids), kind__in=STABILISATION_KINDS, status=TaskStatus.OPEN
    ).update(status=TaskStatus.MISSED, outcome="", done_at=at, updated_at=timezone.now())


def policies_free_look_close(*, now: dt.datetime | None = None) -> int:
    """Periodic: receipt-confirmed policies whose window has passed (``free_look_end`` before
    today) become *free-look ended*; their stabilisation calls still open were not made in
    time and are closed as *missed* (not "no longer needed"). Works in chunks, each in its own
    transaction. Returns how many policies ended."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    total = 0
    last_id = 0
    while True:
        with transaction.atomic():
            ids = list(
                Policy.objects.filter(
                    status=PolicyStatus.RECEIPT_CONFIRMED, free_look_end__lt=today, pk__gt=last_id
                )
                .order_by("pk")
                .values_list("pk", flat=True)[:CHUNK]
            )
            if not ids:
                break
            last_id = ids[-1]
            locked = list(
                Policy.objects.select_for_update()
                .filter(pk__in=ids, status=PolicyStatus.RECEIPT_CONFIRMED, free_look_end__lt=today)
                .values_list("pk", flat=True)
            )
            Policy.objects.filter(pk__in=locked).update(
                status=PolicyStatus.FREE_LOOK_ENDED, free_look_ended_at=now, updated_at=now
            )
            PolicyEvent.objects.bulk_create(
                PolicyEvent(
                    policy_id=pk,
                    at=now,
                    action=PolicyAction.FREE_LOOK_END,
                    from_status=PolicyStatus.RECEIPT_CONFIRMED,
                    to_status=PolicyStatus.FREE_LOOK_ENDED,
                )
                for pk in locked
            )
            _tasks_miss(policy_ids=locked, at=now)
            total += len(locked)
    if total:
        audit_record(
            actor="system",
            action="policies.policies_free_look_close",
            object_type="policies.policy",
            after={"policies": total, "day": today},
        )
    return total


# --- Service tasks -----------------------------------------------------------------------
def _may_work_task(actor, task: ServiceTask) -> bool:
    if has_role(actor, Role.MANAGER):
        return True
    me = person_for_user(actor)
    if me is None:
        return False
    if task.agent_id == me.pk:
        return True
    return has_role(actor, Role.TEAM_LEAD) and task.agent.team.leader_id == me.pk


def _lock_task(task: ServiceTask, actor) -> ServiceTask:
    task = (
        ServiceTask.objects.select_for_update(of=("self",))
        .select_related("agent__team", "policy")
        .get(pk=task.pk)
    )
    deny_unless(_may_work_task(actor, task), _("This task belongs to someone else"))
    if task.status != TaskStatus.OPEN:
        raise TaskClosed(
            _("This task is %(status)s already") % {"status": task.get_status_display()}
        )
    return task


@transaction.atomic
def service_task_complete(
    *, task: ServiceTask, outcome: str, note: str, actor, book_service_call: bool = True
) -> ServiceTask:
    """The agent made the call: record its outcome (a concern needs a note). A customer
    interested in an extended-service suggestion gets the next service call booked on the lead
    by the apps registered with ``hooks.on_service_interest`` (unless the caller books it
    itself: ``book_service_call=False``); ``task.service_call_due_at`` says when, or None."""
    task = _lock_task(task, actor)
    allowed = OUTCOMES_BY_KIND[TaskKind(task.kind)]
    if outcome not in allowed:
        raise ValidationFailed(
            _("Not an outcome of this task"),
            fields={"outcome": [_("one of %(values)s") % {"values": ", ".join(allowed)}]},
        )
    task.note = _note(note, required=outcome == TaskOutcome.CONCERN)
    task.outcome = outcome
    task.status = TaskStatus.DONE
    task.done_at = timezone.now()
    task.done_by = user_or_none(actor)
    task.save(update_fields=["note", "outcome", "status", "done_at", "done_by", "updated_at"])
    task.service_call_due_at = None
    if (
        book_service_call
        and task.kind == TaskKind.EXTENDED_SERVICE
        and outcome == TaskOutcome.INTERESTED
    ):
        task.service_call_due_at = service_interest_run(task=task, actor=actor)
    return task


@transaction.atomic
def service_task_reschedule(
    *, task: ServiceTask, due_at: dt.datetime, actor, note: str = ""
) -> ServiceTask:
    """Move an open task (the customer asked to be called later). Never into the past, and a
    stabilisation task never past the end of the free-look window."""
    task = _lock_task(task, actor)
    now = timezone.now()
    due_at = _aware(due_at, "due_at")
    if due_at < now - dt.timedelta(minutes=1):
        raise ValidationFailed(
            _("A follow-up cannot be scheduled in the past"), fields={"due_at": [_("in the past")]}
        )
    if due_at > now + dt.timedelta(days=365):
        raise ValidationFailed(
            _("A follow-up can be scheduled at most a year ahead"),
            fields={"due_at": [_("more than a year ahead")]},
        )
    end = task.policy.free_look_end
    if task.kind in STABILISATION_KINDS and end and timezone.localdate(due_at) > end:
        # The field says the day too: the card shows the field's message only (QA, session
        # 20: "after the free-look window", with no date to choose before).
        message = _("This call must happen before the free-look window ends on %(day)s") % {
            "day": end.isoformat()
        }
        raise ValidationFailed(message, fields={"due_at": [message]})
    # Inside the calling window, as every other booking (QA, session 20: a check-in moved to
    # 22:30 on the window's last day could never be made).
    problem = call_time_problem(task=task, due_at=due_at)
    if problem:
        raise ValidationFailed(problem, fields={"due_at": [problem]})
    task.due_at = due_at
    fields = ["due_at", "updated_at"]
    if note:
        task.note = _note(note)
        fields.append("note")
    task.save(update_fields=fields)
    return task


def service_tasks_reassign_on_leaving(*, person: Person, actor) -> int:
    """Hook (org ``on_person_stops_working``): a leaving agent's open tasks go to their team
    lead, so the customers are still served. Runs in the org service's transaction."""
    team = person.team if person.team_id else None
    leader = team.leader if team is not None else None
    if leader is None or leader.pk == person.pk or leader.status not in WORKING_STATUSES:
        return 0
    moved = ServiceTask.objects.filter(agent=person, status=TaskStatus.OPEN).update(
        agent=leader, updated_at=timezone.now()
    )
    if moved:
        audit_record(
            actor=actor,
            action="policies.service_tasks_reassign",
            instance=person,
            after={"to": leader.pk, "tasks": moved},
        )
    return moved


# --- Rule set versions -------------------------------------------------------------------
RULESET_PARAMETERS = (
    "welcome_call_day",
    "checkin_days_before_end",
    "extended_service_after_days",
    "extended_service_after_free_look_days",
    "task_due_hour",
    "child_max_age",
    "spouse_max_age_gap",
    "pension_max_age",
    "suggest_spouse_accident",
    "suggest_critical_illness",
    "suggest_pension",
    "suggest_child_accident",
    "suggest_child_education",
    "welcome_script",
    "checkin_script",
    "extended_script",
)


@transaction.atomic
def stabilisation_ruleset_create(
    *,
    actor,
    name: str,
    effective_from: dt.date,
    based_on: StabilisationRuleSet | None = None,
    reason: str = "",
    **params: Any,
) -> StabilisationRuleSet:
    """A new version of the stabilisation rules, effective from today or later (a version in
    force is never edited: the tasks it scheduled must stay explainable)."""
    deny_unless(permissions.can_manage_rules(actor), _("Only the center manager changes the rules"))
    unknown = sorted(set(params) - set(RULESET_PARAMETERS))
    if unknown:
        raise ValidationFailed(
            _("Unknown fields"), fields={k: [_("cannot be changed here")] for k in unknown}
        )
    if not isinstance(effective_from, dt.date) or effective_from < timezone.localdate():
        raise ValidationFailed(
            _("A new version applies from today or later"),
            fields={"effective_from": [_("today or later")]},
        )
    base = based_on or ruleset_in_force()
    version = StabilisationRuleSet(
        name=(name or "").strip(),
        effective_from=effective_from,
        created_by=user_or_none(actor),
        **{f: getattr(base, f) for f in RULESET_PARAMETERS},
    )
    for key, value in params.items():
        setattr(version, key, value)
    validate_instance(version)
    save_or_conflict(version)
    audit_record(
        actor=actor,
        action="policies.ruleset_create",
        instance=version,
        after=model_snapshot(version),
        reason=reason,
    )
    return version


__all__ = [
    "household_suggestions",
    "policies_free_look_close",
    "policy_free_look_cancel",
    "policy_issue",
    "policy_receipt_confirm",
    "product_create",
    "product_update",
    "sale_record",
    "service_task_complete",
    "service_task_reschedule",
    "service_tasks_reassign_on_leaving",
    "stabilisation_ruleset_create",
]
