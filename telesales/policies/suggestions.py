"""Extended service (延伸服务): what to suggest to a household after a sale.

``suggest`` is a pure function of the household (members with gender and birth date), what
each member already holds (product categories they are insured for, in policies that are not
cancelled) and the rule set. ``household_suggestions`` loads those from the database.

The rules (each can be switched off in the stabilisation rule set):

- ``spouse_accident``: accident cover for the customer's spouse — another adult member of
  the other gender (when both are known) no more than ``spouse_max_age_gap`` years older or
  younger (when both birth dates are known) — who holds no accident cover;
- ``critical_illness``: critical-illness cover for the customer, when they hold none;
- ``pension``: a pension for the customer, when they hold none and are at most
  ``pension_max_age`` (or their age is unknown);
- ``child_accident`` and ``child_education``: accident cover and an education fund for each
  child of the household (at most ``child_max_age`` years old), when they hold none.

Who is the spouse and who a child: a member's recorded relation decides when there is one
(``Customer.relation`` to ``relation_to``, the customer they were recorded with): the
customer's spouse is whoever is recorded as their spouse, or whom they are recorded as the
spouse of; a child is a member recorded as the child of the customer or of their spouse (or
whom the customer is recorded as the parent of), at most ``child_max_age`` when the birth
date is known. A member whose relation is recorded otherwise is neither. Only when nothing is
recorded are "spouse" and "child" read from age and gender, as before relations existed; a
member without a birth date then counts as an adult. Nothing already held is suggested.

Only what can be sold is suggested: ``categories`` (when given) are the product categories on
sale to the agent who will make the call — an active product of a grade at most the agent's
sales-capability grade (``sellable_categories``), as the sale form and ``sale_record`` allow
(DOMAIN.md §1.3: ``agent.capability_grade ≥ product.grade``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from django.utils import timezone

from telesales.leads.choices import Relation
from telesales.leads.models import Customer
from telesales.policies.choices import HELD_STATUSES, RULE_CATEGORY, SuggestionRule
from telesales.policies.models import Policy, Product
from telesales.policies.rules import ruleset_in_force


@dataclass(frozen=True)
class Member:
    id: int
    name: str = ""
    gender: str = ""
    birth_date: dt.date | None = None
    #: A ``leads.choices.Relation`` value to ``relation_to`` (a member id), or "".
    relation: str = ""
    relation_to: int | None = None


@dataclass(frozen=True)
class Suggestion:
    rule: str
    category: str
    for_customer_id: int
    for_name: str = ""

    @property
    def label(self) -> str:
        return str(SuggestionRule(self.rule).label)


def age_on(birth_date: dt.date | None, on: dt.date) -> int | None:
    if birth_date is None:
        return None
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def suggest(
    *,
    customer: Member,
    members: Iterable[Member],
    held: Mapping[int, set[str]],
    rules,
    on: dt.date,
    categories: Collection[str] | None = None,
) -> list[Suggestion]:
    """The suggestions for ``customer``'s household. ``held`` maps a member id to the
    categories they are insured for; ``rules`` is a stabilisation rule set (or anything with
    its fields); ``categories``, when given, the categories the agent may sell (no other is
    suggested)."""
    others = [m for m in members if m.id != customer.id]
    out: list[Suggestion] = []

    def holds(member: Member, category: str) -> bool:
        return category in held.get(member.id, set())

    def add(rule: SuggestionRule, member: Member) -> None:
        category = RULE_CATEGORY[rule]
        if categories is not None and category not in categories:
            return
        if getattr(rules, f"suggest_{rule.value}") and not holds(member, category):
            out.append(Suggestion(rule.value, str(category), member.id, member.name))

    def recorded(a: Member, relation: str, b: Member) -> bool:
        """``a`` is recorded as ``b``'s ``relation``."""
        return a.relation == relation and a.relation_to == b.id

    def young(member: Member) -> bool:
        age = age_on(member.birth_date, on)
        return age is not None and age <= rules.child_max_age

    def knows(member: Member) -> bool:
        """Is the relation between ``member`` and the customer recorded either way?"""
        return bool(member.relation) or customer.relation_to == member.id

    def is_spouse(member: Member) -> bool:
        if recorded(member, Relation.SPOUSE, customer) or recorded(
            customer, Relation.SPOUSE, member
        ):
            return True
        if knows(member):
            return False
        if young(member):
            return False
        if customer.gender and member.gender and customer.gender == member.gender:
            return False
        if customer.birth_date and member.birth_date:
            gap = abs(customer.birth_date.year - member.birth_date.year)
            if gap > rules.spouse_max_age_gap:
                return False
        return True

    spouses = [m for m in others if is_spouse(m)]
    parents = [customer, *spouses]

    def is_child(member: Member) -> bool:
        if member.relation == Relation.CHILD and any(member.relation_to == p.id for p in parents):
            return member.birth_date is None or young(member)
        if recorded(customer, Relation.PARENT, member):
            return member.birth_date is None or young(member)
        if knows(member):
            return False
        return young(member)

    customer_age = age_on(customer.birth_date, on)
    for member in spouses:
        add(SuggestionRule.SPOUSE_ACCIDENT, member)
    add(SuggestionRule.CRITICAL_ILLNESS, customer)
    if customer_age is None or customer_age <= rules.pension_max_age:
        add(SuggestionRule.PENSION, customer)
    for member in others:
        if is_child(member):
            add(SuggestionRule.CHILD_ACCIDENT, member)
            add(SuggestionRule.CHILD_EDUCATION, member)
    return out


def household_members(customer) -> list:
    """The customer and the other members of their household (the customer first)."""
    if not customer.household_id:
        return [customer]
    others = Customer.objects.filter(household_id=customer.household_id).exclude(pk=customer.pk)
    return [customer, *others.order_by("id")]


def held_categories(customer_ids: list[int]) -> dict[int, set[str]]:
    """Member id → the categories they are insured for in policies not cancelled."""
    rows = (
        Policy.insured.through.objects.filter(
            customer_id__in=customer_ids, policy__status__in=HELD_STATUSES
        )
        .values_list("customer_id", "policy__product__category")
        .distinct()
    )
    held: dict[int, set[str]] = {}
    for customer_id, category in rows:
        held.setdefault(customer_id, set()).add(category)
    return held


def sellable_categories(*, grade: int) -> set[str]:
    """The categories with an active product of sales-capability grade ``grade`` or lower."""
    return set(
        Product.objects.filter(is_active=True, grade__lte=grade)
        .values_list("category", flat=True)
        .distinct()
    )


def household_suggestions(
    *, customer, on: dt.date | None = None, rules=None, grade: int | None = None
) -> list[Suggestion]:
    """What to suggest to ``customer``'s household, from what it holds today; with ``grade``
    (the calling agent's sales-capability grade) only the categories they may sell."""
    on = on or timezone.localdate()
    rules = rules or ruleset_in_force(on=on)
    customers = household_members(customer)
    members = [
        Member(c.pk, c.name, c.gender or "", c.birth_date, c.relation, c.relation_to_id)
        for c in customers
    ]
    held = held_categories([m.id for m in members])
    categories = sellable_categories(grade=grade) if grade is not None else None
    return suggest(
        customer=members[0],
        members=members,
        held=held,
        rules=rules,
        on=on,
        categories=categories,
    )
