"""Promotion early warning (晋升预警): on any day, each person's gap to the next level and to
maintenance, criterion by criterion, flagged.

The period a person is warned about is the next end of their level's assessment period on or
after the day (monthly: this pay period; quarterly: the period labelled March, June,
September or December; half-yearly: June or December). Every measure is read up to the day
(``assessment_inputs.assessment_records(as_of=day)``) over the window that ends with that
period.

Flags (``assessment.py``), per criterion:

- **met**: the value already reaches the threshold;
- **on_track**: not yet met, but the pace so far projects it: for a measure summed over the
  window (FYC, cases, team FYC) the value × (days in the window ÷ days elapsed) reaches
  ``warning.on_track_pace`` × the threshold (default 1.0, in the rule set);
- **at_risk**: not met and the pace projects short, or a level measure (persistency, team
  headcount, groups developed) is below its threshold with days still left;
- **failing**: cannot be met any more: the period has ended, or months in grade at the period
  end will still be short (on the period's last day a warning is not failing yet: what is
  sold until midnight counts);
- **waived**: persistency below the tenure threshold or without a cohort.

Persistency on a day counts only the cohort policies already decided: paid by that day, or
whose grace period ended before it. The others are the criterion's ``pending`` count, named in
its gap ("now 50.0%; 1 policy still in its grace period"). When none is decided yet the
criterion has no value ("not known yet") and is at risk, not waived: waiving it would raise
the bar of the others in a "k of n" set.

A criteria set is *met* when ``need`` criteria are met, *failing* when fewer than ``need`` can
still be met, *on_track* when ``need`` are met or on track, else *at_risk*. The person's flag
is the maintenance set's (the promotion set's for a level without one).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from telesales.compensation.assessment import DUE_MONTHS, MET, WAIVED, warn
from telesales.compensation.assessment_inputs import assessment_records, period_containing
from telesales.compensation.rules_format import RuleBook
from telesales.core.formatting import money as money_text


def period_end_label(book: RuleBook, *, level: str, day: dt.date) -> tuple[int, int] | None:
    """(year, month) of the pay period whose end closes ``level``'s assessment period that
    contains ``day``, or None when the level is not assessed."""
    entry = (book.section("assessment") or {}).get("levels", {}).get(level)
    if entry is None:
        return None
    period = period_containing(book, day)
    year, month = int(period.label[:4]), int(period.label[5:])
    due = DUE_MONTHS[entry["period"]]
    while month not in due:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return year, month


def gap_text(row: dict[str, Any]) -> str:
    """What one unmet criterion still needs, in words."""
    measure, gap = row["measure"], row["gap"]
    if measure == "fyc":
        return _("¥%(amount)s more FYC") % {"amount": money_text(gap)}
    if measure == "team_fyc":
        return _("¥%(amount)s more team FYC") % {"amount": money_text(gap)}
    if measure == "dept_fyc":
        return _("¥%(amount)s more department FYC") % {"amount": money_text(gap)}
    if measure == "persistency13":
        target = f"{Decimal(row['threshold']) * 100:.1f}"
        if row["value"] is None:  # nothing decided yet: every cohort policy is pending
            return ngettext(
                "13-month persistency of %(target)s%% (not known yet: %(n)d policy still in "
                "its grace period)",
                "13-month persistency of %(target)s%% (not known yet: %(n)d policies still in "
                "their grace period)",
                row["pending"],
            ) % {"target": target, "n": row["pending"]}
        figures = {"target": target, "now": f"{Decimal(row['value']) * 100:.1f}"}
        if row.get("pending"):
            return ngettext(
                "13-month persistency of %(target)s%% (now %(now)s%%; %(n)d policy still in "
                "its grace period)",
                "13-month persistency of %(target)s%% (now %(now)s%%; %(n)d policies still in "
                "their grace period)",
                row["pending"],
            ) % {**figures, "n": row["pending"]}
        return _("13-month persistency of %(target)s%% (now %(now)s%%)") % figures
    n = int(Decimal(gap))
    if measure == "cases":
        return ngettext("%(n)d more policy", "%(n)d more policies", n) % {"n": n}
    if measure == "team_headcount":
        return ngettext("%(n)d more team member", "%(n)d more team members", n) % {"n": n}
    if measure == "dept_headcount":
        return ngettext(
            "%(n)d more person in the department", "%(n)d more people in the department", n
        ) % {"n": n}
    if measure == "groups_developed":
        return ngettext("%(n)d more group developed", "%(n)d more groups developed", n) % {"n": n}
    if measure == "months_in_grade":
        return ngettext("%(n)d more month in grade", "%(n)d more months in grade", n) % {"n": n}
    return f"{measure} +{gap}"  # pragma: no cover - every measure is named above


def set_summary(section: dict[str, Any], *, days_left: int) -> str:
    """ "needs ¥3,200.00 more FYC and 1 more policy in 24 days" for a criteria set."""
    if section["flag"] == MET:
        return _("met")
    gaps = [gap_text(row) for row in section["criteria"] if row["flag"] not in (MET, WAIVED)]
    done = sum(1 for row in section["criteria"] if row["flag"] == MET)  # a waived one: not in "of"
    items = _(", ").join(gaps[:-1])
    if not items:
        needs = gaps[-1]
    elif section["need"] - done < len(gaps):
        # Fewer of the gaps are needed than are listed (k of n, some met): any will do.
        needs = _("%(items)s or %(last)s") % {"items": items, "last": gaps[-1]}
    else:
        needs = _("%(items)s and %(last)s") % {"items": items, "last": gaps[-1]}
    if section["need"] < section["of"]:
        needs = _("%(k)d of %(n)d criteria: %(needs)s") % {
            "k": section["need"],
            "n": section["of"],
            "needs": needs,
        }
    if days_left <= 0:
        return _("the period ended; it needed %(needs)s") % {"needs": needs}
    if days_left == 1:  # the period's last day
        return _("needs %(needs)s by the end of today") % {"needs": needs}
    return ngettext(
        "needs %(needs)s in %(days)d day", "needs %(needs)s in %(days)d days", days_left
    ) % {"needs": needs, "days": days_left}


def early_warning(
    book: RuleBook, *, day: dt.date, person_ids: set[int] | None = None
) -> list[dict[str, Any]]:
    """The warning of every person in service with an assessed level on ``day`` (or of
    ``person_ids``), by person id; each with ``promote`` / ``maintain`` sets and a
    ``summary`` per set."""
    # One pass of the records per distinct period end (monthly, quarterly, half-yearly).
    from telesales.org.models import Person

    levels = dict(
        Person.objects.filter(level__isnull=False).values_list("id", "level__code")
        if person_ids is None
        else Person.objects.filter(pk__in=person_ids, level__isnull=False).values_list(
            "id", "level__code"
        )
    )
    by_label: dict[tuple[int, int], set[int]] = {}
    for person_id, level in levels.items():
        label = period_end_label(book, level=level, day=day)
        if label is not None:
            by_label.setdefault(label, set()).add(person_id)
    out: list[dict[str, Any]] = []
    for (year, month), ids in sorted(by_label.items()):
        frame, records = assessment_records(book, year=year, month=month, as_of=day)
        for row in warn(book=book, people=records, frame=frame, only=ids):
            for key in ("promote", "maintain"):
                if key in row:
                    row[key]["summary"] = set_summary(row[key], days_left=row["days_left"])
            out.append(row)
    return sorted(out, key=lambda row: row["person_id"])
