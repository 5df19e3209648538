"""The demo center's in-force book: built through the services, idempotent, and varied
enough for every queue and for persistency."""

from __future__ import annotations

from telesales.core.setup_steps import bootstrap_steps, demo_steps
from telesales.operations import selectors
from telesales.operations.choices import PremiumStatus, ServicingStatus, TaskStatus
from telesales.operations.demo import seed_operations_demo
from telesales.operations.models import (
    Delivery,
    PolicyServicing,
    PremiumDue,
    ReceiptBatch,
    RenewalTask,
    ReturnVisit,
)


def test_the_steps_are_registered(db):
    demo = {s.name: s.order for s in demo_steps()}
    assert demo["operations.demo"] == 50 and demo["policies.demo"] < 50
    assert "operations.rules" in {s.name for s in bootstrap_steps()}


def test_demo_builds_a_varied_in_force_book_and_is_idempotent(ops_demo, user_named):
    assert ops_demo["created"] and ops_demo["policies"] >= 30
    statuses = set(PolicyServicing.objects.values_list("status", flat=True))
    assert {
        ServicingStatus.IN_FORCE,
        ServicingStatus.LAPSED,
        ServicingStatus.REINSTATED,
    } <= statuses
    assert {ServicingStatus.SURRENDERED, ServicingStatus.CLAIM_TERMINATED} <= statuses
    dues = set(PremiumDue.objects.values_list("status", flat=True))
    assert {PremiumStatus.PAID, PremiumStatus.DUE, PremiumStatus.LAPSED} <= dues
    assert RenewalTask.objects.filter(status=TaskStatus.OPEN).exists()
    assert Delivery.objects.filter(receipt_confirmed_on__isnull=False).exists()
    assert ReturnVisit.objects.filter(status="done").exists()
    batch = ReceiptBatch.objects.get()
    assert batch.applied > 0 and batch.rejected == 2
    renewal = user_named("renewal")
    counts = selectors.home_counts(user=renewal)
    assert counts["lapsed"] >= 1
    assert seed_operations_demo(agents=12) == {"created": False}


def test_the_whole_demo_sells_this_month_at_last_months_pace_with_no_service_backlog(db):
    """The whole chain (``seed-demo``): the sales panel's month to date is in line with the
    same days of last month, the agents open the workspace to the last days' service tasks
    only, the dates hold (a window still open has not closed; yesterday's sales have no
    receipt or return visit yet), and a second ``seed-demo`` changes nothing."""
    import datetime as dt
    from decimal import Decimal
    from io import StringIO

    from django.apps import apps
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Count, F
    from django.utils import timezone

    from telesales.core.dashboard import Period
    from telesales.operations.demo import _working_days
    from telesales.policies.choices import STABILISATION_KINDS, PolicyStatus
    from telesales.policies.choices import TaskStatus as ServiceTaskStatus
    from telesales.policies.models import Policy, ServiceTask
    from telesales.policies.sales_panel import sales_summary

    call_command("seed_demo", stdout=StringIO())  # the default center, 66 agents
    # The pay runs (a higher layer) are looked up by name: operations imports no compensation.
    PayRun = apps.get_model("compensation", "PayRun")
    now, today = timezone.now(), timezone.localdate()

    # The board agrees with the calls: nobody reads "offline since" a time before a call they
    # made (QA: offline since 10:28 above a renewal call at 20:38).
    from django.db.models import Max
    from django.db.models.functions import Coalesce

    CallAttempt = apps.get_model("calls", "CallAttempt")
    AgentPresence = apps.get_model("calls", "AgentPresence")
    last = dict(
        CallAttempt.objects.values("agent_id")
        .annotate(last=Max(Coalesce("ended_at", "answered_at", "started_at")))
        .values_list("agent_id", "last")
    )
    offline = AgentPresence.objects.filter(state="offline")
    assert offline.exists()
    # (Calls dated after the moment read above are left out: seeded just after midnight, a
    # demo step has been seen to date one later than that, noted on issue 4.)
    late = [
        p.person_id for p in offline if p.person_id in last and p.since < last[p.person_id] <= now
    ]
    assert late == []

    # A handful of overdue service tasks at most per agent, all of the last days (those due
    # before were worked), not weeks of backlog.
    from telesales.policies.demo import OPEN_DAYS

    overdue_tasks = ServiceTask.objects.filter(status=ServiceTaskStatus.OPEN, due_at__lte=now)
    overdue = overdue_tasks.values("agent_id").annotate(n=Count("id"))
    assert max((row["n"] for row in overdue), default=0) <= 8
    assert not overdue_tasks.filter(due_at__lt=now - dt.timedelta(days=OPEN_DAYS, hours=1)).exists()
    # The welcome calls and check-ins of the policies past their window were made, not
    # dropped when the window closed (a few the call history's agents missed may be).
    settled = ServiceTask.objects.filter(
        kind__in=STABILISATION_KINDS, policy__status=PolicyStatus.FREE_LOOK_ENDED
    )
    assert settled.filter(status=ServiceTaskStatus.DONE).count() >= 0.9 * settled.count() > 0

    # No lead says 成交 without a policy behind it, sold by someone who may sell.
    Lead = apps.get_model("leads", "Lead")
    won = Lead.objects.filter(state="won")
    assert won.exists() and not won.filter(policies__isnull=True).exists()
    assert not won.filter(owner__practice_reg_no="").exists()
    # A won lead's history ends with its sale: the lead was imported before it, and nothing
    # (an allocation, a claim, a first answer, a recycling warning) comes after the won row
    # but another sale to the household (won → won, the moment the lead was won staying).
    LeadEvent = apps.get_model("leads", "LeadEvent")
    assert not won.filter(batch__created_at__gte=F("won_at")).exists()
    later = LeadEvent.objects.filter(lead__state="won", at__gt=F("lead__won_at")).exclude(
        action="state", from_state="won", to_state="won"
    )
    assert not later.exists(), list(later.values_list("lead_id", "action", "to_state")[:5])
    # The moment it was won is that of its last move into "won" (an earlier sale may have been
    # declined by underwriting, the lead reopened and sold again later; a further sale to the
    # household, won → won, keeps the moment).
    from django.db.models import OuterRef, Subquery

    last_won = (
        LeadEvent.objects.filter(lead=OuterRef("pk"), action="state", to_state="won")
        .exclude(from_state="won")
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    assert not won.annotate(last_won=Subquery(last_won)).exclude(last_won=F("won_at")).exists()
    # No open sales follow-up on a won lead (sold below the calls layer, the calls demo's
    # follow-ups on it are closed as the sale path closes them), none on a closed lead.
    FollowUp = apps.get_model("calls", "FollowUp")
    open_followups = FollowUp.objects.filter(status="open")
    assert not open_followups.filter(lead__state="won").exclude(kind="service").exists()
    assert not open_followups.filter(lead__state__in=["lost", "invalid", "dnc"]).exists()
    assert open_followups.filter(lead__state__in=["owned", "in_progress"]).exists()
    # Nobody who left holds a lead still being worked (leaving recycles them at once).
    assert not Lead.objects.filter(
        owner__status="left", state__in=["owned", "in_progress"]
    ).exists()

    # The dates hold.
    assert not Policy.objects.filter(
        status=PolicyStatus.FREE_LOOK_ENDED, free_look_end__gte=today
    ).exists()
    recent = Policy.objects.filter(applied_at__date__gte=today - dt.timedelta(days=1))
    assert not recent.filter(receipt_date__isnull=False).exists()
    assert not ReturnVisit.objects.filter(policy__in=recent, status="done").exists()

    # The pay runs still work: the past months approved, the current one open.
    assert PayRun.objects.filter(status="approved").count() == 3
    assert (
        PayRun.objects.filter(period_start=today.replace(day=1)).exclude(status="approved").exists()
    )

    # Seeding again changes nothing, in any table of the project (the whole chain's
    # idempotency; org's demo tests check their own steps only).
    def counts() -> dict[str, int]:
        return {
            model._meta.label: model._default_manager.count()
            for model in apps.get_models()
            if model.__module__.startswith("telesales.")
        }

    before = counts()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "exists already" in out.getvalue()
    assert counts() == before

    summary = sales_summary(
        user=get_user_model().objects.get(username="manager"), period=Period.month_to_date(today)
    )
    if _working_days(today.replace(day=1), today - dt.timedelta(days=1)):
        assert summary["policies"] > 0  # the month has had a working day: it has sold
    if today.day < 8:
        # A few days say nothing about the pace: the same days of last month may hold a
        # weekend more or fewer. The month's sales are compared once it is a week old.
        return
    assert summary["premium_before"] > 0
    ratio = summary["premium"] / summary["premium_before"]
    assert Decimal("0.5") <= ratio <= Decimal("1.5"), summary
