"""The demo center's in-force book: three years of policies with their deliveries, receipts,
return visits, premium schedules, payments, a receipt file, grace, lapses, a reinstatement,
a surrender and a claim.

Everything goes through the services, with explicit past dates (they accept them): the sale
and the issue through ``policies.services`` (``sale_record``, ``policy_issue``), the receipt
through this app's ``delivery_receipt_confirm`` (which calls ``policy_receipt_confirm``), the
few free-look cancellations through ``policy_free_look_cancel``; then the payments
(``premium_payment_record``, and the last month's through ``receipts_import`` with two bad
rows for the rejection report), the daily sync and advance, one reinstatement, the return
visits and a few renewal contacts.

About 24 to 48 policies (half the demo agents plus twelve), sold over the last 36 months by
agents hired before the sale (each on a lead whose history the sale ends, see ``_Leads``:
one made in the existing customers' batch when the seller holds none), so that the 13- and
25-month persistency cohorts have data, plus eleven that fill today's queues: renewals due
today, in grace and coming up; deliveries not sent, failed and returned; a return visit due;
two policies that stopped paying and lapsed (one is reinstated). Every step runs the real
services (about half a second a policy), so the size is bounded. Mostly annual payers; some
monthly, semi-annual, and single premiums. Fates: most pay on time, some in grace, about one
in eight stops paying and lapses.

Then the recent sales (``_recent_sales``): one to three a month for each seller in each of
the last three whole months, annual or single premiums, through the same steps, so that the
demo's past pay runs (compensation, approved) have commission to pay, withhold until the
receipt and the return visit, release and claw back; and the current month from its first to
yesterday (``_month_to_date_sales``) at the same pace: the sellers sell in rounds until the
month to date, with what the call history sold in it, is within about -10 % to +12 % of the
same days of last month (what the manager's sales panel compares). With 66 agents that is
about 250 policies for the whole months and, late in a month, some 90 for the month to date;
the demo takes some 20 s longer than without them. A policy sold in the last days is not issued yet
(the issue comes one to three days after the sale) or has its document on the way; the
receipt, the free-look window and the return visit follow their dates.

Before the free-look windows that have passed close, the agents' service tasks that fell due
before the last days (welcome calls, check-ins, extended-service suggestions) are worked
(``policies.demo.service_tasks_work``), as a working center's are.

Deterministic for a given seed and day (and the call history the month to date finds, which
is the calls demo's for that seed and moment). Does nothing when the demo policies exist
already.

Not in the demo: exit notices. The organisation's demo leavers have no login and left long
ago (they never sold), and making a demo agent leave would break its invariants (a leaver
keeps no login); the exit flow is covered by the tests.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from telesales.core.audit import audit_record
from telesales.leads.choices import LeadState
from telesales.leads.models import Lead
from telesales.leads.services import WORKING_STATUSES
from telesales.operations import services
from telesales.operations.choices import (
    ACTIVE_SERVICING,
    DeliveryMethod,
    PremiumStatus,
    ServicingStatus,
    TaskStatus,
    VisitOutcome,
    VisitStatus,
)
from telesales.operations.importing import receipts_import
from telesales.operations.models import (
    Delivery,
    PolicyServicing,
    PremiumDue,
    RenewalTask,
    ReturnVisit,
)
from telesales.operations.scheduling import (
    add_months,
    operations_advance,
    operations_sync,
    policy_servicing_open,
)
from telesales.org.models import Person
from telesales.policies.models import Policy, Product

ACTOR = "demo"
RECORDING = "ops-demo-"
MONTHS = 36
# product code, payment mode, term, annualised premium range, weight
PLANS = [
    ("demo-critical-illness", "annual", 20, (3000, 12000), 30),
    ("demo-critical-illness", "monthly", 20, (2400, 6000), 8),
    ("demo-critical-illness", "semi_annual", 10, (3000, 8000), 4),
    ("demo-term-life", "annual", 20, (1000, 5000), 16),
    ("demo-education", "annual", 10, (5000, 20000), 10),
    ("demo-pension", "annual", 10, (10000, 50000), 6),
    ("demo-pension", "single", 5, (20000, 100000), 4),
    ("demo-accident", "annual", 1, (200, 800), 10),
    ("demo-medical", "monthly", 1, (600, 1800), 6),
]
CANCEL_REASONS = ["changed_mind", "cannot_afford", "family_objection", "duplicate_cover"]


def _at(day: dt.date, hour: int, rng: random.Random) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, rng.randint(0, 59))))


def _sellers() -> list[Person]:
    return list(
        Person.objects.filter(
            status__in=WORKING_STATUSES,
            user__groups__name="agent",
            team__kind="sales",
        )
        .exclude(practice_reg_no="")
        .select_related("team")
        .order_by("pk")
    )


class _Leads:
    """The leads the demo sells on, so that a sale ends its lead's history.

    The leads the lead demo marked won (``won``, with the moment and the premium) are put
    back in progress, their won row removed, to be sold at that moment (``_won_leads_sales``)
    — or after the call history's first answer when that came later — by the real sale, which
    writes the won row; those the month to date's pace leaves unsold stay in progress. Any
    other sale takes the seller's first lead (in progress, else owned) whose history (its
    events, dials and contacts, the call history's included) lies before the sale's moment,
    else a lead made for it in the existing customers' batch (``leads.demo.SaleLeads``: the
    book goes back years, the imported leads weeks)."""

    def __init__(self, agents: list[Person], *, seed: int, imported_at: dt.datetime):
        from django.db.models import Max

        from telesales.leads.demo import SaleLeads
        from telesales.leads.models import LeadEvent

        owners = [a.pk for a in agents]
        self.won: dict[int, list[tuple[Lead, dt.datetime, Decimal]]] = {pk: [] for pk in owners}
        self.open: dict[int, list[Lead]] = {pk: [] for pk in owners}
        last = dict(
            LeadEvent.objects.filter(lead__owner_id__in=owners)
            .exclude(to_state=LeadState.WON)
            .values("lead_id")
            .annotate(at=Max("at"))
            .values_list("lead_id", "at")
        )
        rng = random.Random(seed + 53)  # noqa: S311  (deterministic demo data)
        now = timezone.now()
        won = list(Lead.objects.filter(owner_id__in=owners, state=LeadState.WON).order_by("pk"))
        for lead in won:
            at = lead.won_at or now
            if last.get(lead.pk) and last[lead.pk] >= at:
                at = min(last[lead.pk] + dt.timedelta(minutes=rng.randint(5, 40)), now)
            self.won[lead.owner_id].append((lead, at, lead.premium))
            lead.state, lead.won_at, lead.premium = LeadState.IN_PROGRESS, None, Decimal(0)
            lead.protect_until = now + dt.timedelta(days=rng.randint(2, 8))
        Lead.objects.bulk_update(
            won, ["state", "won_at", "premium", "protect_until"], batch_size=1000
        )
        LeadEvent.objects.filter(lead__in=won, to_state=LeadState.WON).delete()
        won_ids = {lead.pk for lead in won}
        for state in (LeadState.IN_PROGRESS, LeadState.OWNED):
            for lead in Lead.objects.filter(owner_id__in=owners, state=state).order_by("pk"):
                if lead.pk not in won_ids:
                    self.open[lead.owner_id].append(lead)
        self.last: dict[int, dt.datetime] = {}
        for leads in self.open.values():
            for lead in leads:
                times = [last.get(lead.pk), lead.owned_since, lead.last_dialled_at]
                times += [lead.last_contact_at, lead.recycle_warned_at]
                self.last[lead.pk] = max(t for t in times if t is not None)
        self.made = SaleLeads(seed=seed, imported_at=imported_at)

    def take(self, agent: Person, at: dt.datetime) -> Lead:
        """A lead ``agent`` holds with nothing after ``at`` (at least an hour before it)."""
        leads = self.open[agent.pk]
        for i, lead in enumerate(leads):
            if self.last[lead.pk] < at - dt.timedelta(hours=1):
                return leads.pop(i)
        return self.made.lead(owner=agent, at=at)

    def won_in(self, agent: Person, first: dt.date, last: dt.date) -> int:
        """How many of ``agent``'s won leads were won from ``first`` to ``last``."""
        return sum(
            1 for _lead, at, _p in self.won[agent.pk] if first <= timezone.localdate(at) <= last
        )


def _sell(
    rng,
    *,
    agent,
    lead,
    product,
    mode,
    term,
    premium,
    day,
    issue_after: int | None = None,
    at: dt.datetime | None = None,
) -> Policy | None:
    from telesales.core.errors import DomainError
    from telesales.policies.services import insured_age_problem, policy_issue, sale_record

    if insured_age_problem(product=product, customer=lead.customer, on=day):
        return None  # a children's product for an adult: not sold
    try:
        with transaction.atomic():
            policy = sale_record(
                lead=lead,
                agent=agent,
                product=product,
                annualised_premium=premium,
                payment_mode=mode,
                term_years=term,
                insured_ids=[lead.customer_id],
                actor=ACTOR,
                recording_ref=f"{RECORDING}{lead.pk}-{day:%Y%m%d}",
                at=at or _at(day, rng.randint(10, 19), rng),
            )
            issue_on = day + dt.timedelta(days=issue_after or rng.randint(1, 3))
            if issue_on < timezone.localdate():
                policy = policy_issue(policy=policy, issued_at=_at(issue_on, 10, rng), actor=ACTOR)
                policy_servicing_open(policy=policy)
            return policy
    except DomainError:
        return None  # a lead or an agent the rules refuse: skip it


#: What becomes of a recent policy's document (cumulative chances): not sent yet (issued in
#: the last 12 days), sent but failed or returned, sent and the receipt still awaited (issued
#: in the last 20 days); the rest are received. The queue fillers force their state.
DELIVERY_NOT_SENT = 0.05
DELIVERY_PROBLEM = DELIVERY_NOT_SENT + 0.04
DELIVERY_AWAITED = DELIVERY_PROBLEM + 0.15


def _deliver(rng, policy: Policy, today: dt.date, stats: dict, force: str = "") -> None:
    """Send the document, confirm the receipt (the free-look window starts), or leave it in
    one of the queue's states for the most recent policies (``force``: pending, failed,
    returned, receipt)."""
    from telesales.core.errors import DomainError
    from telesales.policies.services import policy_free_look_cancel

    delivery = Delivery.objects.get(policy=policy)
    issued = timezone.localdate(policy.issued_at)
    age = (today - issued).days
    paper = force == "returned" or (not force and rng.random() < 0.15)
    roll = {
        "pending": 0.0,
        "failed": DELIVERY_NOT_SENT,
        "returned": DELIVERY_NOT_SENT,
        "receipt": 0.99,
    }.get(force, rng.random())
    if (age < 12 or force == "pending") and roll < DELIVERY_NOT_SENT:
        stats["pending"] += 1
        return  # not sent yet (overdue after the rule set's days)
    sent = issued + dt.timedelta(days=rng.randint(0, 1))
    if sent > today:
        return
    delivery = services.delivery_send(
        delivery=delivery,
        sent_on=sent,
        method=DeliveryMethod.PAPER if paper else DeliveryMethod.ELECTRONIC,
        tracking_ref=f"SF{rng.randint(10**11, 10**12 - 1)}" if paper else "",
        actor=ACTOR,
    )
    if (age < 20 or force) and roll < DELIVERY_PROBLEM:
        if paper:
            services.delivery_mark_returned(
                delivery=delivery,
                returned_on=min(today, sent + dt.timedelta(days=4)),
                problem="收件人地址不详，快递退回",
                actor=ACTOR,
            )
        else:
            services.delivery_mark_failed(
                delivery=delivery,
                failed_on=sent,
                problem="电子保单短信发送失败（号码停机）",
                actor=ACTOR,
            )
        stats["problems"] += 1
        return
    receipt = sent + dt.timedelta(days=rng.randint(2, 6) if paper else rng.randint(0, 3))
    if (age < 20 and roll < DELIVERY_AWAITED) or receipt > today:
        stats["in_transit"] += 1
        return  # sent, receipt still awaited
    if paper:
        delivery = services.delivery_mark_delivered(
            delivery=delivery, delivered_on=receipt, actor=ACTOR
        )
    services.delivery_receipt_confirm(delivery=delivery, receipt_date=receipt, actor=ACTOR)
    stats["receipts"] += 1
    if not force and rng.random() < 0.05:
        cancel_at = _at(receipt + dt.timedelta(days=rng.randint(2, 8)), 15, rng)
        if cancel_at < timezone.now():
            try:
                policy_free_look_cancel(
                    policy=policy,
                    reason=rng.choice(CANCEL_REASONS),
                    note="客户来电要求犹豫期内撤单",
                    actor=ACTOR,
                    at=cancel_at,
                )
                stats["cancelled"] += 1
            except DomainError:
                pass


def _pay(
    rng, policy: Policy, today: dt.date, receipts: list, stats: dict, unpaid: bool = False
) -> None:
    """The customer's fate: pays on time, in grace, or stops paying (then lapses)."""
    if unpaid:
        return
    fate = rng.random()
    stop_after = None
    if fate < 0.13:
        stop_after = rng.randint(2, 6) if policy.payment_mode == "monthly" else 2
    late = 0.13 <= fate < 0.22
    cutoff = today - dt.timedelta(days=30)
    last_paid: dt.date | None = None
    to_file = False
    for due in PremiumDue.objects.filter(
        policy=policy,
        period__gt=1,
        due_date__lte=today + dt.timedelta(days=20),
    ).order_by("period"):
        if due.status == PremiumStatus.PAID:
            continue
        if due.status != PremiumStatus.DUE:
            break  # in grace or lapsed: the later premiums wait (they are paid in order)
        if stop_after is not None and due.period >= stop_after:
            break
        if late:
            paid = due.due_date + dt.timedelta(days=rng.randint(5, 50))
        else:
            paid = due.due_date - dt.timedelta(days=rng.randint(0, 10))
        # Premiums are paid in their order (the services refuse a later one while an earlier
        # one is unpaid): never before the one before it, and once one waits, so do the rest.
        paid = max(paid, timezone.localdate(policy.issued_at), last_paid or paid)
        if paid > today:
            break  # not paid yet: due, or in grace; the later ones wait too
        last_paid = paid
        if paid >= cutoff or to_file:
            to_file = True  # the rest come in the same receipts file, after this one
            receipts.append((policy.number, due.period, due.amount, paid))
        else:
            services.premium_payment_record(due=due, paid_date=paid, amount=due.amount, actor=ACTOR)
            stats["payments"] += 1


def _contact_time(rng: random.Random) -> dt.datetime:
    """A moment in the calling hours of the last three days, not in the future."""
    now = timezone.now()
    for back in (rng.randint(0, 2), 1, 2, 3):
        at = _at(timezone.localdate() - dt.timedelta(days=back), rng.randint(9, 19), rng)
        if at <= now:
            return at
    return now


def _receipt_file(rows: list, rng: random.Random) -> io.BytesIO:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["保单号", "期次", "金额", "缴费日期"])
    for number, period, amount, paid in rows:
        writer.writerow([number, period, f"{amount:.2f}", paid.isoformat()])
    if rows:
        number, period, amount, paid = rows[0]
        writer.writerow(["TS00000000000", 2, "1000.00", paid.isoformat()])  # unknown policy
        writer.writerow([number, period, f"{amount - Decimal('1.00'):.2f}", paid.isoformat()])
    f = io.BytesIO(out.getvalue().encode("utf-8"))
    f.name = "续期实收-示例.csv"
    return f


def _visits(rng, today: dt.date, stats: dict) -> None:
    """Visits due five days ago or more are done; every few, one that is not simply confirmed
    (a misunderstanding, resolved or not; an unreachable customer; a cancellation request)."""
    special = {
        2: (VisitOutcome.MISUNDERSTANDING, "客户以为保费可随时全额退还，对现金价值理解有误"),
        5: (VisitOutcome.UNREACHABLE, "无人接听"),
        8: (VisitOutcome.MISUNDERSTANDING, "客户不清楚等待期内确诊不赔付"),
        11: (VisitOutcome.CANCEL_REQUESTED, "客户表示经济压力大，考虑退保"),
    }
    visits = ReturnVisit.objects.filter(
        status=VisitStatus.OPEN, due_date__lte=today - dt.timedelta(days=5)
    ).order_by("pk")
    for index, visit in enumerate(visits):
        at = _at(visit.due_date, rng.randint(10, 17), rng)
        outcome, note = special.get(index, (VisitOutcome.CONFIRMED, ""))
        visit = services.return_visit_record(
            visit=visit, outcome=outcome, note=note, actor=ACTOR, at=at
        )
        stats["visits"] += 1
        if outcome == VisitOutcome.MISUNDERSTANDING:
            stats["misunderstandings"] += 1
            if index == 2:
                services.return_visit_misunderstanding_resolve(
                    visit=visit, note="组长已回电重新讲解退保规则与现金价值", actor=ACTOR
                )


#: Sales in each of the last ``RECENT_MONTHS`` calendar months per seller (at most), so that
#: the demo's past pay runs have commission to pay, withhold, release and claw back.
RECENT_MONTHS = 3
RECENT_PER_MONTH = (1, 3)
#: The month to date's premium against the same days of last month (drawn in this range), so
#: that the sales panel shows a month a little up or down, not a collapse or a boom.
MONTH_TO_DATE_PACE = (0.9, 1.12)
#: At most this many sales per seller in the month to date.
MONTH_TO_DATE_ROUNDS = 4


def _working_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """Monday to Friday from ``first`` to ``last``, both included."""
    return [
        first + dt.timedelta(days=i)
        for i in range((last - first).days + 1)
        if (first + dt.timedelta(days=i)).weekday() < 5
    ]


def _sold_premium(since: dt.date, until: dt.date) -> Decimal:
    """Premium sold (applied) from ``since`` to ``until``, net of the policies not sold, as the
    sales panel counts it."""
    from django.db.models import Sum

    from telesales.policies.choices import NOT_SOLD_STATUSES

    total = (
        Policy.objects.filter(applied_at__date__gte=since, applied_at__date__lte=until)
        .exclude(status__in=NOT_SOLD_STATUSES)
        .aggregate(total=Sum("annualised_premium"))["total"]
    )
    return total or Decimal(0)


def _recent_sale(rng, *, agent, day, leads, products, allowed, room=None) -> Policy | None:
    """One sale of a plan ``allowed`` for ``agent`` on ``day``; its premium at most ``room``
    (rounded up to the hundred, not below the plan's least) when given."""
    code, mode, term, (low, high), _w = rng.choices(allowed, weights=[p[4] for p in allowed])[0]
    premium = rng.randrange(low, high, 100)
    if room is not None:
        premium = max(low, min(premium, -(-int(room) // 100) * 100))
    at = _at(day, rng.randint(10, 19), rng)
    return _sell(
        rng,
        agent=agent,
        lead=leads.take(agent, at),
        product=products[code],
        mode=mode,
        term=term,
        premium=Decimal(premium).quantize(Decimal("0.01")),
        day=day,
        at=at,
    )


def _recent_sales(rng, *, today, sellers, leads, products, plans) -> list[Policy]:
    """One to three sales a month in each of the last three months for every seller hired two
    weeks before the day (products they may sell, paid annually or in one premium: nothing
    falls due before the book's end), on working days; then the month to date at the same
    pace (``_month_to_date_sales``). They go through the same delivery, receipt, free-look and
    return-visit steps as the rest of the book."""
    sold: list[Policy] = []
    simple = [p for p in plans if p[1] in ("annual", "single")]
    for months_back in range(RECENT_MONTHS, 0, -1):
        first = add_months(today.replace(day=1), -months_back)
        end = add_months(first, 1) - dt.timedelta(days=1)
        days = _working_days(first, end)
        for agent in sellers:
            allowed = [p for p in simple if products[p[0]].grade <= (agent.capability_grade or 1)]
            # The leads the agent won in the month are sold then (``_won_leads_sales``).
            for _n in range(rng.randint(*RECENT_PER_MONTH) - leads.won_in(agent, first, end)):
                day = rng.choice(days)
                if not allowed or agent.hire_date > day - dt.timedelta(14):
                    break
                policy = _recent_sale(
                    rng, agent=agent, day=day, leads=leads, products=products, allowed=allowed
                )
                if policy is not None:
                    sold.append(policy)
    sold += _won_leads_sales(
        rng, sellers=sellers, leads=leads, products=products, simple=simple, before=today
    )
    return sold + _month_to_date_sales(
        rng, today=today, sellers=sellers, leads=leads, products=products, simple=simple
    )


def _won_leads_sales(
    rng, *, sellers, leads, products, simple, before: dt.date, room: Decimal | None = None
) -> list[Policy]:
    """The leads the lead demo marked won (``_Leads``) before the month of ``before``, or
    (``room`` given: the month to date's) in it, in a shuffled order while the premium sold
    stays under ``room``: each is sold by its owner at the moment it was won, for its
    premium where a plan the agent may sell admits it (so that no lead says 成交 without a
    policy behind it, and the sale ends its history). Those left are still in progress."""
    month = before.replace(day=1)
    due = [
        (agent, item)
        for agent in sellers
        for item in leads.won[agent.pk]
        if (timezone.localdate(item[1]) < month) == (room is None)
    ]
    if room is not None:
        rng.shuffle(due)
    sold: list[Policy] = []
    for agent, (lead, at, lead_premium) in due:
        leads.won[agent.pk].remove((lead, at, lead_premium))
        allowed = [p for p in simple if products[p[0]].grade <= (agent.capability_grade or 1)]
        if room is not None and room <= 0:
            break
        if allowed:
            fits = [p for p in allowed if p[3][0] <= (lead_premium or 0) <= p[3][1]]
            code, mode, term, (low, high), _w = rng.choice(fits or allowed)
            premium = lead_premium if fits else Decimal(rng.randrange(low, high, 100))
            policy = _sell(
                rng,
                agent=agent,
                lead=lead,
                product=products[code],
                mode=mode,
                term=term,
                premium=premium.quantize(Decimal("0.01")),
                day=timezone.localdate(at),
                at=at,
            )
            if policy is not None:
                sold.append(policy)
                if room is not None:
                    room -= policy.annualised_premium
    return sold


def _month_to_date_sales(rng, *, today, sellers, leads, products, simple) -> list[Policy]:
    """The current month from its first to yesterday (working days): the leads the lead demo
    marked won in it first (``_won_leads_sales``), then the sellers, in rounds (each in a
    shuffled order, one sale a round on a random day), sell until the month to date (with
    what the call history sold in it) reaches the same days of last month's premium times a
    pace drawn from ``MONTH_TO_DATE_PACE``; the last sale's premium is trimmed to the room
    left. Nothing on the month's first day (no day before it)."""
    from telesales.core.dashboard import Period
    from telesales.policies.sales_panel import previous_period

    month = Period.month_to_date(today)
    days = _working_days(month.since, today - dt.timedelta(days=1))
    if not days:
        return []
    before = previous_period(month)
    target = _sold_premium(before.since, before.until) * Decimal(
        str(round(rng.uniform(*MONTH_TO_DATE_PACE), 3))
    )
    total = _sold_premium(month.since, month.until)
    sold = _won_leads_sales(
        rng,
        sellers=sellers,
        leads=leads,
        products=products,
        simple=simple,
        before=today,
        room=target - total,
    )
    total += sum((p.annualised_premium for p in sold), Decimal(0))
    for _round in range(MONTH_TO_DATE_ROUNDS):
        order = list(sellers)
        rng.shuffle(order)
        for agent in order:
            if total >= target:
                return sold
            day = rng.choice(days)
            allowed = [p for p in simple if products[p[0]].grade <= (agent.capability_grade or 1)]
            if not allowed or agent.hire_date > day - dt.timedelta(14):
                continue
            policy = _recent_sale(
                rng,
                agent=agent,
                day=day,
                leads=leads,
                products=products,
                allowed=allowed,
                room=target - total,
            )
            if policy is not None:
                sold.append(policy)
                total += policy.annualised_premium
    return sold


def seed_operations_demo(*, agents: int = 66, seed: int = 20261101, stdout=None) -> dict:
    """Seed the in-force book (see the module docstring). Idempotent."""
    if Policy.objects.filter(recording_ref__startswith=RECORDING).exists():
        if stdout:
            stdout.write("  the operations demo exists already; nothing to do")
        return {"created": False}
    products = {p.code: p for p in Product.objects.filter(code__in={p[0] for p in PLANS})}
    sellers = _sellers()
    if not products or not sellers:
        if stdout:
            stdout.write("  no demo products or agents: the operations demo is skipped")
        return {"created": False}
    rng = random.Random(seed + 50)  # noqa: S311  (deterministic demo data)
    today = timezone.localdate()
    leads = _Leads(
        sellers,
        seed=seed,
        imported_at=_at(add_months(today, -MONTHS - 2), 10, random.Random(seed + 52)),  # noqa: S311
    )
    plans = [p for p in PLANS if p[0] in products]
    target = max(24, min(48, agents // 2 + 12))
    stats = dict.fromkeys(
        (
            "policies",
            "pending",
            "problems",
            "in_transit",
            "receipts",
            "cancelled",
            "payments",
            "receipt_rows",
            "visits",
            "misunderstandings",
            "reinstated",
            "contacts",
            "tasks_worked",
            "leads_made",
        ),
        0,
    )
    policies: list[Policy] = []
    forced: dict[int, tuple[str, bool]] = {}  # policy id → (delivery outcome, unpaid)
    year_ago = add_months(today, -12)
    # Queue fillers: renewals due today, in grace and coming up; deliveries not sent, failed
    # and returned; a return visit due.
    fillers = [
        (year_ago - dt.timedelta(days=1), 1, "receipt", True),
        (year_ago - dt.timedelta(days=2), 2, "receipt", True),
        (year_ago - dt.timedelta(days=21), 1, "receipt", True),
        (year_ago - dt.timedelta(days=51), 1, "receipt", True),
        (year_ago + dt.timedelta(days=5), 1, "receipt", False),
        (today - dt.timedelta(days=13), 1, "pending", False),
        (today - dt.timedelta(days=6), 1, "failed", False),
        (today - dt.timedelta(days=10), 1, "returned", False),
        (today - dt.timedelta(days=15), 1, "receipt", False),
        # Two that stop paying and lapse; the first is reinstated.
        (add_months(today, -15), 1, "receipt", True),
        (add_months(today, -14) - dt.timedelta(days=10), 1, "receipt", True),
    ]
    regular = [p for p in plans if p[1] == "annual" and p[2] > 1]
    total = target + len(fillers)
    for _attempt in range(total * 2):
        if len(policies) >= total:
            break
        filler = fillers.pop(0) if fillers else None
        if filler:
            day, issue_after, delivery, unpaid = filler
        else:
            # Mostly the cohorts of the persistency trends (13 to 24 and 25 to 36 months
            # back), some recent ones for the deliveries and the coming renewals.
            roll = rng.random()
            months_back = (
                rng.randint(12, 23)
                if roll < 0.55
                else rng.randint(24, 35)
                if roll < 0.8
                else rng.randint(0, 11)
            )
            day = add_months(today, -months_back) - dt.timedelta(days=rng.randint(0, 27))
            day = min(day, today - dt.timedelta(days=1))
            issue_after, delivery, unpaid = None, "", False
        hired = [a for a in sellers if a.hire_date <= day - dt.timedelta(days=14)]
        if not hired:
            continue
        agent = rng.choice(hired)
        allowed = [
            p
            for p in (regular if filler else plans)
            if products[p[0]].grade <= (agent.capability_grade or 1)
        ]
        if not allowed:
            continue
        code, mode, term, (low, high), _w = rng.choices(allowed, weights=[p[4] for p in allowed])[0]
        product = products[code]
        premium = Decimal(rng.randrange(low, high, 100)).quantize(Decimal("0.01"))
        at = _at(day, rng.randint(10, 19), rng)
        policy = _sell(
            rng,
            agent=agent,
            lead=leads.take(agent, at),
            product=product,
            mode=mode,
            term=term,
            premium=premium,
            day=day,
            issue_after=issue_after,
            at=at,
        )
        if policy is not None:
            policies.append(policy)
            if filler:
                forced[policy.pk] = (delivery, unpaid)
    policies += _recent_sales(
        random.Random(seed + 51),  # noqa: S311  (deterministic demo data)
        today=today,
        sellers=sellers,
        leads=leads,
        products=products,
        plans=plans,
    )
    stats["policies"] = len(policies)
    stats["leads_made"] = leads.made.finish()
    issued = [p for p in policies if p.issued_at is not None]
    issued.sort(key=lambda p: p.issued_at)
    with transaction.atomic():
        for policy in issued:
            _deliver(rng, policy, today, stats, force=forced.get(policy.pk, ("", False))[0])
    from telesales.policies.demo import service_tasks_work
    from telesales.policies.services import policies_free_look_close

    # The agents made their welcome calls and worked their suggestions as they fell due (all
    # but the last days'), before the windows that have passed close.
    stats["tasks_worked"] = sum(service_tasks_work(seed=seed).values())
    policies_free_look_close()
    operations_sync(today=today)
    receipts: list = []
    with transaction.atomic():
        for policy in issued:
            servicing = PolicyServicing.objects.get(policy=policy)
            if servicing.status in ACTIVE_SERVICING:
                unpaid = forced.get(policy.pk, ("", False))[1]
                _pay(rng, policy, today, receipts, stats, unpaid=unpaid)
    if receipts:
        result = receipts_import(file=_receipt_file(receipts, rng), actor=ACTOR)
        stats["receipt_rows"] = result.batch.applied
    operations_advance(today=today)
    with transaction.atomic():
        lapsed = PolicyServicing.objects.filter(
            policy__in=issued, status=ServicingStatus.LAPSED
        ).order_by("lapsed_on", "pk")
        for servicing in lapsed[:1]:
            on = min(today, servicing.lapsed_on + dt.timedelta(days=rng.randint(10, 40)))
            services.policy_reinstate(
                policy=servicing.policy, on=on, actor=ACTOR, note="客户补缴欠费，申请复效"
            )
            stats["reinstated"] += 1
        ended = list(
            PolicyServicing.objects.filter(
                policy__in=[p for p in issued if p.pk not in forced],
                status=ServicingStatus.IN_FORCE,
                in_force_since__lte=today - dt.timedelta(days=300),
            ).order_by("pk")[:2]
        )
        if ended:
            services.policy_surrender(
                policy=ended[0].policy,
                on=today - dt.timedelta(days=20),
                actor=ACTOR,
                note="客户来电申请退保（已告知现金价值）",
            )
        if len(ended) > 1:
            services.policy_claim_terminate(
                policy=ended[1].policy,
                on=today - dt.timedelta(days=45),
                actor=ACTOR,
                note="身故理赔结案，合同终止",
            )
        _visits(rng, today, stats)
        for task in RenewalTask.objects.filter(status=TaskStatus.OPEN).order_by("due_date", "pk")[
            :12
        ]:
            services.renewal_task_contact_record(
                task=task,
                outcome=rng.choice(["promised", "reached", "unreachable"]),
                note="已提醒客户续期缴费日期",
                actor=ACTOR,
                at=_contact_time(rng),
            )
            stats["contacts"] += 1
    audit_record(
        actor="cli",
        action="operations.demo_seed",
        object_type="operations.policyservicing",
        after=stats,
        reason="telesales seed-demo",
    )
    if stdout:
        stdout.write(
            "  policies: {policies} sold over {months} months, {receipts} receipts, "
            "{payments} renewal payments (+{receipt_rows} by a receipt file), "
            "{visits} return visits, {tasks_worked} service tasks worked".format(
                months=MONTHS, **stats
            )
        )
    return {"created": True, **stats}
