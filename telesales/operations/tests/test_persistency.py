"""Persistency against a cohort computed by hand, with every exclusion (DOMAIN.md §4).

Measured at M = 2026-03. The 13-month cohort is issued in 2025-03; the 25-month one in 2024-03.
Grace: 60 days. The numerator counts a policy's annualised premium when the first premium of
the policy year (2nd for 13m, 3rd for 25m) was paid by the end of its grace period.

13m cohort (issued March 2025)                      denominator  numerator
  A  alice  annual 1,200, paid in time                   1,200      1,200
  B  alice  annual 2,400, paid on day 60 of grace        2,400      2,400
  C  bob    annual   600, never paid (lapsed)              600          0
  D  bob    monthly 1,200 a year, 13th instalment paid   1,200      1,200
  J  alice  annual 1,000, paid on reinstatement (day 61) 1,000          0
  M  amy    annual   700, paid, claim-terminated later     700        700
  E  alice  single premium 5,000                      excluded (single premium)
  F  alice  annual 3,000, cancelled in free-look      excluded (free-look cancelled)
  G  alice  annual   800, claim-terminated 2025-09    excluded (claim-terminated)
  H  alice  annual   900, transferred out 2025-12     excluded (transferred out)
  I  alice  annual   500, one-year term               excluded (no 2nd year)
  K, L: issued 2025-02-28 and 2025-04-01              not in the cohort
  total                                                   7,100      5,500  → 0.7746

25m cohort (issued March 2024)
  P  alice  annual 1,000, 2nd and 3rd premiums paid      1,000      1,000
  Q  bob    annual 2,000, 3rd premium never paid         2,000          0  → 0.3333
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone, translation

from telesales.core.errors import NotFound, ValidationFailed
from telesales.operations import selectors, services
from telesales.operations.models import PremiumDue
from telesales.operations.scheduling import operations_advance, operations_sync
from telesales.operations.tests.factories import at_noon
from telesales.policies.choices import CancelReason, PolicyStatus

D = dt.date
MONEY = Decimal


def pay(policy, period, day):
    due = PremiumDue.objects.get(policy=policy, period=period)
    return services.premium_payment_record(due=due, paid_date=day, amount=due.amount, actor="test")


@pytest.fixture
def cohort(world, policy):
    w = world
    p = {}
    p["A"] = policy(issued_on=D(2025, 3, 5), annualised_premium=MONEY("1200"))
    p["B"] = policy(issued_on=D(2025, 3, 20), annualised_premium=MONEY("2400"))
    p["C"] = policy(issued_on=D(2025, 3, 10), annualised_premium=MONEY("600"), agent=w.bob)
    p["D"] = policy(
        issued_on=D(2025, 3, 12),
        annualised_premium=MONEY("1200"),
        payment_mode="monthly",
        agent=w.bob,
    )
    p["J"] = policy(issued_on=D(2025, 3, 8), annualised_premium=MONEY("1000"))
    p["M"] = policy(issued_on=D(2025, 3, 25), annualised_premium=MONEY("700"), agent=w.amy)
    p["E"] = policy(
        issued_on=D(2025, 3, 6), annualised_premium=MONEY("5000"), payment_mode="single"
    )
    p["F"] = policy(issued_on=D(2025, 3, 7), annualised_premium=MONEY("3000"))
    p["G"] = policy(issued_on=D(2025, 3, 9), annualised_premium=MONEY("800"))
    p["H"] = policy(issued_on=D(2025, 3, 11), annualised_premium=MONEY("900"))
    p["I"] = policy(issued_on=D(2025, 3, 13), annualised_premium=MONEY("500"), term_years=1)
    p["K"] = policy(issued_on=D(2025, 2, 28), annualised_premium=MONEY("10000"))
    p["L"] = policy(issued_on=D(2025, 4, 1), annualised_premium=MONEY("10000"))
    p["P"] = policy(issued_on=D(2024, 3, 15), annualised_premium=MONEY("1000"))
    p["Q"] = policy(issued_on=D(2024, 3, 16), annualised_premium=MONEY("2000"), agent=w.bob)
    operations_sync(today=D(2025, 4, 2))
    # F: cancelled in free-look (the policies app records it).
    type(p["F"]).objects.filter(pk=p["F"].pk).update(
        status=PolicyStatus.CANCELLED,
        cancelled_at=at_noon(D(2025, 3, 15)),
        cancel_reason=CancelReason.CHANGED_MIND,
    )
    operations_sync(today=D(2025, 4, 2))
    services.policy_claim_terminate(policy=p["G"], on=D(2025, 9, 1), actor="test", note="理赔终止")
    services.policy_transfer_out(policy=p["H"], on=D(2025, 12, 1), actor="test", note="转出")
    # Second-year premiums.
    pay(p["A"], 2, D(2026, 3, 10))
    pay(p["B"], 2, D(2026, 5, 19))  # due 2026-03-20: day 60 of grace
    pay(p["M"], 2, D(2026, 3, 25))
    pay(p["P"], 2, D(2025, 3, 15))
    pay(p["P"], 3, D(2026, 3, 1))
    pay(p["Q"], 2, D(2025, 3, 16))
    for period in range(2, 13):  # D's first year, monthly
        pay(p["D"], period, D(2025, 3, 12) + dt.timedelta(days=30 * (period - 1)))
    pay(p["D"], 13, D(2026, 3, 12))  # after the first year's (premiums are paid in order)
    operations_advance(today=D(2026, 7, 1))  # C, J and Q lapse
    services.policy_reinstate(policy=p["J"], on=D(2026, 5, 8), actor="test")  # day 61
    services.policy_claim_terminate(policy=p["M"], on=D(2026, 8, 1), actor="test", note="理赔")
    return p


def test_persistency_matches_the_hand_computed_cohort_with_each_exclusion(cohort):
    result = selectors.persistency(month="2026-03", today=D(2026, 11, 1))

    m13 = result["13m"]
    assert m13["cohort"] == "2025-03"
    assert m13["denominator"] == MONEY("7100.00")
    assert m13["numerator"] == MONEY("5500.00")
    assert m13["rate"] == MONEY("0.7746")
    assert m13["policies"] == 6 and m13["persisting"] == 4
    assert m13["excluded"] == {
        "single_premium": 1,
        "free_look_cancelled": 1,
        "term_too_short": 1,
        "transferred_out": 1,
        "claim_terminated": 1,
    }
    assert m13["final"] is True
    m25 = result["25m"]
    assert m25["cohort"] == "2024-03"
    assert (m25["numerator"], m25["denominator"], m25["rate"]) == (
        MONEY("1000.00"),
        MONEY("3000.00"),
        MONEY("0.3333"),
    )


def test_persistency_per_team_and_per_agent(world, cohort):
    team_a = selectors.persistency(month="2026-03", team=world.team_a)["13m"]
    assert (team_a["numerator"], team_a["denominator"]) == (MONEY("4300"), MONEY("5300"))
    team_b = selectors.persistency(month="2026-03", team=world.team_b.pk)["13m"]
    assert (team_b["numerator"], team_b["denominator"]) == (MONEY("1200"), MONEY("1800"))
    bob = selectors.persistency(month="2026-03", agent=world.bob)
    assert bob["13m"]["rate"] == MONEY("0.6667")
    assert bob["25m"]["rate"] == MONEY("0")


def test_breakdown_keeps_numerators_and_denominators_per_agent(world, cohort):
    rows = {
        r["name"]: r
        for r in selectors.persistency_breakdown(
            user=world.manager.user, month="2026-03", by="agent"
        )
    }
    assert rows["alice"]["13m"]["numerator"] == MONEY("3600")
    assert rows["alice"]["13m"]["denominator"] == MONEY("4600")
    assert rows["amy"]["13m"]["rate"] == MONEY("1.0000")
    assert rows["bob"]["25m"]["denominator"] == MONEY("2000")


def test_a_cohort_whose_grace_has_not_ended_is_provisional(cohort):
    assert selectors.persistency(month="2026-03", today=D(2026, 4, 1))["13m"]["final"] is False


def test_an_empty_cohort_has_no_rate(world):
    result = selectors.persistency(month="2019-01")
    assert result["13m"]["rate"] is None and result["13m"]["denominator"] == 0


def test_persistency_scope_an_agent_sees_only_themselves(world, cohort):
    mine = selectors.persistency_for_user(user=world.bob.user, month="2026-03")
    assert mine["agent_id"] == world.bob.pk and mine["13m"]["denominator"] == MONEY("1800")
    with pytest.raises(NotFound):
        selectors.persistency_for_user(
            user=world.bob.user, month="2026-03", agent_id=world.alice.pk
        )
    with pytest.raises(NotFound):
        selectors.persistency_for_user(
            user=world.lead_b.user, month="2026-03", team_id=world.team_a.pk
        )
    lead = selectors.persistency_for_user(user=world.lead_a.user, month="2026-03")
    assert lead["team_id"] == world.team_a.pk and lead["13m"]["denominator"] == MONEY("5300")


def test_cli_persistency_json_last_line(world, cohort):
    out = StringIO()
    call_command("persistency", "--month", "2026-03", "--json", stdout=out)
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert last["13m"] == {"numerator": 5500.0, "denominator": 7100.0, "rate": 0.7746} | {
        k: last["13m"][k] for k in last["13m"] if k not in ("numerator", "denominator", "rate")
    }
    assert last["25m"]["rate"] == 0.3333
    out = StringIO()
    call_command("persistency", "--month", "2026-03", "--team", "B组", "--json", stdout=out)
    last = json.loads(out.getvalue().strip().splitlines()[-1])
    assert last["13m"]["numerator"] == 1200.0 and last["13m"]["denominator"] == 1800.0


def test_cli_persistency_refuses_a_bad_month(world):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("persistency", "--month", "2026-13")


def test_a_month_that_has_not_begun_is_refused_not_reported_as_zeros(world, cohort):
    # Measured at 2026-04 (as of 2026-03-31), the 13-month cohort is 2025-04: none of its
    # 2nd-year premiums could have fallen due yet, so 0 % would look like a real figure.
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        selectors.persistency(month="2026-04", today=D(2026, 3, 31))
    message = refused.value.message
    assert message.startswith("2026-04 has not begun") and "(2026-03)" in message
    assert refused.value.fields == {"month": [message]}
    # The current month is measured, provisionally.
    assert selectors.persistency(month="2026-03", today=D(2026, 3, 31))["13m"]["final"] is False
    # Every view of the figures refuses it: scoped figures, breakdown, trend.
    following = f"{timezone.localdate().replace(day=28) + dt.timedelta(days=7):%Y-%m}"
    for read in (
        lambda: selectors.persistency_for_user(user=world.manager.user, month=following),
        lambda: selectors.persistency_breakdown(user=world.manager.user, month=following),
        lambda: selectors.persistency_trend(user=world.manager.user, month=following),
    ):
        with pytest.raises(ValidationFailed) as refused:
            read()
        assert list(refused.value.fields) == ["month"]


@pytest.mark.parametrize("month", ["1999-12", "2101-01", "0001-01"])
def test_a_year_out_of_range_is_a_range_error_naming_the_range(world, month):
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        selectors.month_start(month)
    assert refused.value.message == "The year must lie between 2000 and 2100"
    assert refused.value.fields == {"month": ["The year must lie between 2000 and 2100"]}
    with pytest.raises(ValidationFailed) as refused:
        selectors.month_start(month)
    assert "2000" in refused.value.message and "2100" in refused.value.message
    # A malformed month is still a format error.
    with translation.override("en"), pytest.raises(ValidationFailed) as refused:
        selectors.month_start("2026-13")
    assert refused.value.fields == {"month": ["YYYY-MM"]}


def test_cli_persistency_refuses_a_month_that_has_not_begun(world):
    from django.core.management.base import CommandError

    following = f"{timezone.localdate().replace(day=28) + dt.timedelta(days=7):%Y-%m}"
    with translation.override("en"), pytest.raises(CommandError) as refused:
        call_command("persistency", "--month", following)
    assert f"{following} has not begun" in str(refused.value)
