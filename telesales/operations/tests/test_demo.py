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
