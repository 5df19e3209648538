"""The assessment evaluator's records, read from the database (read-only).

- **Frame**: the assessed period is the pay period of the rule set's calendar labelled
  ``YYYY-MM``; the twelve monthly buckets before it (the longest window) are the pay periods
  of the eleven previous labels.
- **People**: everyone in service on the day measured (hired by then, not left before it)
  with a level; ``leader_id`` is ``Person.leader``, ``recruiter_id`` ``Person.recruiter``.
- **Grade since**: the effective date of the person's latest approved promotion or demotion
  (an approved ``AssessmentOutcome``), else the hire date (the organisation keeps no level
  history of its own).
- **FYC and cases** per bucket, as ``payinputs.py`` counts them: policies credited on their
  issue day (local time), FYC = ``rules_format.policy_fyc`` (annualised premium × the
  product's first-year commission rate, × the rule set's standardisation factor of the term
  for a product on the standardised premium, 标保); a policy cancelled by the day measured
  counts neither. A policy that cannot be valued (no rate, or no standardisation factor for
  its term) counts as a case with no FYC.
- **Persistency**: ``operations.selectors.persistency_contributions`` (13-month figure) of
  each bucket's month, per selling agent, excluded policies left out. Measured on a day (the
  early warning), policies still in their grace period and not yet paid are left out and
  counted as pending.
- **Previous outcomes**: the person's approved outcomes in earlier approved runs at the same
  level, newest first (for "extend once, then demote").
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from telesales.compensation.assessment import (
    DEMOTE,
    PROMOTE,
    Frame,
    MonthFigures,
    PersonRecord,
)
from telesales.compensation.engine import Period, period_for
from telesales.compensation.models import (
    AssessmentOutcome,
    AssessmentRunStatus,
    HRDecision,
)
from telesales.compensation.rules_format import RuleBook, policy_fyc
from telesales.operations.selectors import persistency_contributions
from telesales.org.models import Person
from telesales.policies.choices import PolicyStatus
from telesales.policies.models import Policy

BUCKETS = 12


def buckets_for(book: RuleBook, *, year: int, month: int) -> list[Period]:
    """The pay period labelled ``year-month`` and the eleven before it, newest first."""
    out = []
    for back in range(BUCKETS):
        index = year * 12 + month - 1 - back
        out.append(period_for(book, year=index // 12, month=index % 12 + 1))
    return out


def period_containing(book: RuleBook, day: dt.date) -> Period:
    """The pay period that contains ``day``."""
    for back in (-1, 0, 1):
        index = day.year * 12 + day.month - 1 + back
        period = period_for(book, year=index // 12, month=index % 12 + 1)
        if day in period:
            return period
    raise ValueError(day)  # pragma: no cover - a calendar always covers every day


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _grade_since(ids: list[int], *, before: dt.date) -> dict[int, dt.date]:
    rows = (
        AssessmentOutcome.objects.filter(
            person_id__in=ids,
            decision=HRDecision.APPROVED,
            outcome__in=(PROMOTE, DEMOTE),
            effective_date__lte=before,
        )
        .order_by("person_id", "-effective_date")
        .values_list("person_id", "effective_date")
    )
    out: dict[int, dt.date] = {}
    for person_id, day in rows:
        out.setdefault(person_id, day)
    return out


def _previous(ids: list[int], *, before: dt.date) -> dict[int, list[tuple[str, str]]]:
    rows = (
        AssessmentOutcome.objects.filter(
            person_id__in=ids,
            decision=HRDecision.APPROVED,
            run__status=AssessmentRunStatus.APPROVED,
            run__period_end__lt=before,
        )
        .order_by("person_id", "-run__period_end")
        .values_list("person_id", "from_level__code", "outcome")
    )
    out: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for person_id, level, outcome in rows:
        out[person_id].append((level, outcome))
    return out


def _previous_at_level(rows: list[tuple[str, str]], level: str) -> tuple[str, ...]:
    """The newest outcomes while the person was at ``level`` (stops at another level)."""
    out = []
    for code, outcome in rows:
        if code != level:
            break
        out.append(outcome)
    return tuple(out)


def _policy_figures(
    book: RuleBook, buckets: list[Period], *, until: dt.date
) -> dict[int, dict[int, list]]:
    """agent id → bucket index → [fyc, cases]."""
    start, end = buckets[-1].start, min(buckets[0].end, until)
    rows = (
        Policy.objects.filter(
            issued_at__gte=_midnight(start), issued_at__lt=_midnight(end + dt.timedelta(days=1))
        )
        .exclude(
            Q(
                status=PolicyStatus.CANCELLED,
                cancelled_at__lt=_midnight(until + dt.timedelta(days=1)),
            )
        )
        .exclude(status=PolicyStatus.APPLIED)
        .values_list(
            "agent_id",
            "issued_at",
            "annualised_premium",
            "product__commission_basis",
            "product__first_year_commission_rate",
            "product__category",
            "term_years",
        )
        .order_by("pk")
    )
    out: dict[int, dict[int, list]] = defaultdict(lambda: defaultdict(lambda: [Decimal(0), 0]))
    for agent_id, issued_at, premium, basis, rate, category, term in rows:
        day = timezone.localdate(issued_at)
        index = next((i for i, p in enumerate(buckets) if day in p), None)
        if index is None:
            continue
        cell = out[agent_id][index]
        cell[1] += 1
        fyc = policy_fyc(
            book,
            basis=basis,
            premium=premium,
            fyc_rate=rate,
            category=category or None,
            term_years=term,
        )
        if fyc is not None:
            cell[0] += fyc
    return out


def _persistency(
    buckets: list[Period], *, until: dt.date, as_of: dt.date | None = None
) -> dict[int, dict[int, list]]:
    """agent id → bucket index → [numerator, denominator, pending] of the 13-month figure.

    Measured on a day (``as_of``, the early warning), a policy whose grace period is still
    open on that day and whose premium was not paid by then is not known to persist or to
    lapse yet: it is left out of the figure and counted in ``pending``; a premium paid after
    that day does not count yet. An assessment (no ``as_of``) counts every cohort policy."""
    out: dict[int, dict[int, list]] = defaultdict(
        lambda: defaultdict(lambda: [Decimal(0), Decimal(0), 0])
    )
    for index, period in enumerate(buckets):
        if period.start > until:
            continue
        label = dt.date(int(period.label[:4]), int(period.label[5:]), 1)
        for row in persistency_contributions(month=label, figure="13m"):
            if row["excluded"] or row["agent_id"] is None:
                continue
            cell = out[row["agent_id"]][index]
            numerator = row["numerator"]
            if as_of is not None:
                paid = row["paid_on"] is not None and row["paid_on"] <= as_of
                if not paid and row["window_end"] is not None and row["window_end"] >= as_of:
                    cell[2] += 1
                    continue
                numerator = numerator if paid else Decimal(0)
            cell[0] += numerator
            cell[1] += row["denominator"]
    return out


def assessment_records(
    book: RuleBook,
    *,
    year: int,
    month: int,
    as_of: dt.date | None = None,
    computed_on: dt.date | None = None,
) -> tuple[Frame, list[PersonRecord]]:
    """The frame and the records of everyone in service for the period labelled
    ``year-month``, measured up to ``as_of`` (default: the period end). ``computed_on``: the
    day an assessment is computed; when the rule set says ``persistency_in_grace: pending``,
    premiums still in their grace period on that day are left out of persistency (pending)
    instead of counting as lapsed."""
    buckets = buckets_for(book, year=year, month=month)
    period_end = buckets[0].end
    until = min(as_of or period_end, period_end)
    frame = Frame(
        period_end=period_end,
        label_month=month,
        month_starts=tuple(p.start for p in buckets),
        as_of=as_of,
    )
    people = list(
        Person.objects.filter(hire_date__lte=until, level__isnull=False)
        .filter(Q(left_on__isnull=True) | Q(left_on__gte=until))
        .values_list("id", "level__code", "hire_date", "leader_id", "recruiter_id")
        .order_by("id")
    )
    ids = [row[0] for row in people]
    since = _grade_since(ids, before=period_end)
    previous = _previous(ids, before=period_end)
    figures = _policy_figures(book, buckets, until=until)
    section = book.section("assessment") or {}
    decided_on = as_of
    if decided_on is None and section.get("persistency_in_grace") == "pending":
        decided_on = computed_on or timezone.localdate()
    persistency = _persistency(buckets, until=until, as_of=decided_on)
    records = []
    for person_id, level, hire_date, leader_id, recruiter_id in people:
        own, kept = figures.get(person_id, {}), persistency.get(person_id, {})
        months = tuple(
            MonthFigures(
                fyc=own[i][0] if i in own else Decimal(0),
                cases=own[i][1] if i in own else 0,
                persistency_num=kept[i][0] if i in kept else Decimal(0),
                persistency_den=kept[i][1] if i in kept else Decimal(0),
                persistency_pending=kept[i][2] if i in kept else 0,
            )
            for i in range(BUCKETS)
        )
        records.append(
            PersonRecord(
                id=person_id,
                level=level,
                hire_date=hire_date,
                grade_since=max(since.get(person_id, hire_date), hire_date),
                leader_id=leader_id,
                recruiter_id=recruiter_id,
                months=months,
                previous=_previous_at_level(previous.get(person_id, []), level),
            )
        )
    return frame, records
