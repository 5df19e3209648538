"""Promotion early warning: flags at the boundaries of the pace projection, failing when the
period is over or a criterion cannot be met, the summary sentence, and who sees whose."""

from __future__ import annotations

import datetime as dt

import pytest

from telesales.compensation.assessment import (
    AT_RISK,
    FAILING,
    MET,
    ON_TRACK,
    Frame,
    warn,
)
from telesales.compensation.early_warning import period_end_label, set_summary
from telesales.compensation.selectors import early_warning_list
from telesales.compensation.tests.assessment_world import AssessmentCenter
from telesales.compensation.tests.test_assessment import BOOK, STARTS, person
from telesales.core.errors import NotFound
from telesales.policies.tests.factories import UserFactory

END = dt.date(2026, 6, 30)
# The window of S1's maintenance runs 04-01 … 06-30: 91 days; on 05-16, 46 have elapsed.
MID = dt.date(2026, 5, 16)


def frame(as_of):
    return Frame(period_end=END, label_month=6, month_starts=STARTS, as_of=as_of)


def maintain(record, as_of=MID):
    (row,) = warn(book=BOOK, people=[record], frame=frame(as_of))
    return row["maintain"]


def flag(section, measure):
    return next(c for c in section["criteria"] if c["measure"] == measure)["flag"]


def test_pace_exactly_at_the_threshold_is_on_track():
    # 1500 × 46 / 91 = 758.24…: 758.25 projects 1500.02, 758.24 projects 1499.99.
    on = maintain(person(figures=[("758.25", 2)]))
    assert flag(on, "fyc") == ON_TRACK
    assert next(c for c in on["criteria"] if c["measure"] == "fyc")["projected"] == "1500.02"
    assert flag(maintain(person(figures=[("758.24", 2)])), "fyc") == AT_RISK


def test_cases_pace():
    assert flag(maintain(person(figures=[("0", 2)])), "cases") == ON_TRACK  # 3.96 projected
    assert flag(maintain(person(figures=[("0", 1)])), "cases") == AT_RISK  # 1.98


def test_met_criteria_stay_met_and_the_set_flag_follows_k_of_n():
    section = maintain(person(figures=[("1500.00", 1, "50", "100")]))
    assert flag(section, "fyc") == MET
    assert flag(section, "cases") == AT_RISK
    assert flag(section, "persistency13") == AT_RISK
    assert section["flag"] == AT_RISK
    section = maintain(person(figures=[("1500.00", 2, "50", "100")]))
    assert section["flag"] == ON_TRACK  # fyc met + cases on pace = 2 of 3
    section = maintain(person(figures=[("1500.00", 3, "50", "100")]))
    assert section["flag"] == MET


def test_on_the_last_day_unmet_is_at_risk_and_once_over_failing():
    """The agent at 8 p.m. on the period's last day still has the evening: a criterion short
    is at risk, the day counts as one left and the summary says "by the end of today"; once
    the period is over (the assessment's frame, or the next day) it is failing."""
    figures = [("1499.99", 2, "79", "100")]
    assert frame(END).days_left == 1 and not frame(END).over
    section = maintain(person(figures=figures), as_of=END)
    assert [c["flag"] for c in section["criteria"]] == [AT_RISK] * 3
    assert section["flag"] == AT_RISK
    assert set_summary(section, days_left=1) == (
        "needs 2 of 3 criteria: ¥0.01 more FYC, 1 more policy or 13-month persistency of"
        " 80.0% (now 79.0%) by the end of today"
    )
    for over in (None, END + dt.timedelta(days=1)):
        assert frame(over).over and frame(over).days_left == 0
        section = maintain(person(figures=figures), as_of=over)
        assert [c["flag"] for c in section["criteria"]] == [FAILING] * 3
        assert section["flag"] == FAILING
        assert set_summary(section, days_left=0).startswith(
            "the period ended; it needed 2 of 3 criteria: ¥0.01"
        )
    # The day before the last: two days left, today and tomorrow.
    assert frame(END - dt.timedelta(days=1)).days_left == 2


def test_set_fails_early_when_too_few_criteria_can_still_be_met():
    record = person(figures=[("4000.00", 3)] * 5, since=dt.date(2026, 1, 2))
    (row,) = warn(book=BOOK, people=[record], frame=frame(MID))
    promote = row["promote"]
    assert flag(promote, "months_in_grade") == FAILING  # 5 months at 06-30, 6 needed
    assert promote["flag"] == FAILING
    assert row["flag"] == MET  # the person's flag is their maintenance


def test_summary_sentence_names_each_gap_and_the_days_left():
    section = maintain(person(figures=[("758.24", 1)]))
    assert (
        set_summary(section, days_left=45)
        == "needs ¥741.76 more FYC and 2 more policies in 45 days"
    )
    section = maintain(person(figures=[("758.24", 1, "50", "100")]))
    assert set_summary(section, days_left=2) == (
        "needs 2 of 3 criteria: ¥741.76 more FYC, 2 more policies or 13-month persistency"
        " of 80.0% (now 50.0%) in 2 days"
    )
    met = maintain(person(figures=[("1500.00", 3)]))
    assert set_summary(met, days_left=45) == "met"
    # One of two is met: either of the other two will do (QA: "… and …" read as both).
    one_met = maintain(person(figures=[("1500.00", 1, "50", "100")]))
    assert set_summary(one_met, days_left=3) == (
        "needs 2 of 3 criteria: 2 more policies or 13-month persistency of 80.0% (now 50.0%)"
        " in 3 days"
    )


def test_summary_sentence_reads_as_one_chinese_sentence():
    # The gaps are noun phrases joined by 、/和 inside one "还需 …" (not "还差 …和还差 …").
    from django.utils import translation

    section = maintain(person(figures=[("758.24", 1)]))
    with translation.override("zh-hans"):
        assert set_summary(section, days_left=45) == "45 天内还需 FYC ¥741.76和保单 2 件"
        assert set_summary(section, days_left=0) == "期间已结束，还差 FYC ¥741.76和保单 2 件"
        three = maintain(person(figures=[("758.24", 1, "50", "100")]))
        assert set_summary(three, days_left=2) == (
            "2 天内还需 3 项标准中达到 2 项：FYC ¥741.76、保单 2 件或"
            "13 个月继续率达到 80.0%（目前 50.0%）"
        )
        assert set_summary(section, days_left=1) == "今天之内还需 FYC ¥741.76和保单 2 件"


def test_period_end_for_each_assessment_period():
    day = dt.date(2026, 5, 16)
    assert period_end_label(BOOK, level="T0", day=day) == (2026, 5)
    assert period_end_label(BOOK, level="S1", day=day) == (2026, 6)
    assert period_end_label(BOOK, level="M1", day=dt.date(2026, 7, 1)) == (2026, 12)
    assert period_end_label(BOOK, level="S2", day=day) is None


# --- against the database: scope ------------------------------------------------------------


@pytest.fixture
def c(db):
    return AssessmentCenter()


def ids(rows):
    return {row["person_id"] for row in rows}


def test_hr_sees_everyone_a_lead_their_team_an_agent_themselves(c):
    c.sale(c.ann, "1500.00", dt.date(2026, 5, 3))
    day = dt.date(2026, 5, 16)
    everyone = {c.lee.pk, c.tina.pk, c.sam.pk, c.kai.pk, c.ann.pk}
    assert ids(early_warning_list(user=c.hr, day=day)) == everyone
    assert ids(early_warning_list(user=c.kai.user, day=day)) == {c.kai.pk, c.ann.pk}
    (ann,) = early_warning_list(user=c.ann.user, day=day)
    assert ann["person_id"] == c.ann.pk
    assert ann["period_end"] == "2026-06-30" and ann["days_left"] == 46  # 05-16 … 06-30
    assert ann["maintain"]["summary"].startswith("needs")
    assert ann["promote"]["to_level"] == "S2"


def test_a_person_out_of_sight_is_not_found(c):
    day = dt.date(2026, 5, 16)
    with pytest.raises(NotFound):
        early_warning_list(user=c.ann.user, day=day, person_id=c.sam.pk)
    with pytest.raises(NotFound):
        early_warning_list(user=c.kai.user, day=day, person_id=c.tina.pk)
    assert ids(early_warning_list(user=c.kai.user, day=day, person_id=c.ann.pk)) == {c.ann.pk}
    with pytest.raises(NotFound):
        early_warning_list(user=c.hr, day=day, person_id=999999)
    with pytest.raises(NotFound):
        early_warning_list(user=UserFactory(username="ghost", roles=[]), day=day)


def test_query_count_does_not_grow_with_people(c, django_assert_max_num_queries):
    from telesales.core.roles import Role

    for i in range(20):
        agent = c.person(c.team_a, f"extra{i}", Role.AGENT, "S1", leader=c.lee)
        c.sale(agent, "300.00", dt.date(2026, 5, 3))
    # One pass per distinct period end (T0 monthly; S1, S2, M1 quarterly): ~33 queries.
    with django_assert_max_num_queries(40):
        rows = early_warning_list(user=c.hr, day=dt.date(2026, 5, 16))
    assert len(rows) == 25


# --- persistency on a day: policies still in their grace period ------------------------------


def _persistency(row, key="maintain"):
    return next(c for c in row[key]["criteria"] if c["measure"] == "persistency13")


def test_a_13_month_premium_still_in_its_grace_period_is_pending_not_lapsed(c):
    from telesales.operations.rules import ruleset_in_force

    day = dt.date(2026, 6, 20)
    grace = ruleset_in_force(on=day).grace_days
    # Ann's S1 maintenance window (April–June 2026) measures the cohorts of April–June 2025.
    kept = c.sale(c.ann, "300.00", dt.date(2025, 4, 15))  # paid on its due day
    lapsed = c.sale(c.ann, "300.00", dt.date(2025, 4, 3))  # unpaid, grace over before the day
    waiting = c.sale(c.ann, "300.00", dt.date(2025, 6, 10))  # unpaid, grace still open
    late = c.sale(c.ann, "300.00", dt.date(2025, 5, 20))  # paid after the day, within grace
    assert dt.date(2026, 4, 3) + dt.timedelta(days=grace) < day  # the default rule set's 60
    assert dt.date(2026, 5, 20) + dt.timedelta(days=grace) >= dt.date(2026, 6, 25)
    c.second_year_premium(kept, paid=True)
    c.second_year_premium(lapsed, paid=False)
    c.second_year_premium(waiting, paid=False)
    due = c.second_year_premium(late, paid=True)
    due.paid_date = dt.date(2026, 6, 25)
    due.save(update_fields=["paid_date"])

    (ann,) = early_warning_list(user=c.hr, day=day, person_id=c.ann.pk)
    per = _persistency(ann)
    # Decided so far: one kept, one lapsed. The two others may still be paid in time.
    assert (per["value"], per["pending"], per["flag"]) == ("0.5000", 2, AT_RISK)
    assert "2 policies still in their grace period" in ann["maintain"]["summary"]

    # Once paid (06-25), the late one counts as kept; the other is still waiting.
    (later,) = early_warning_list(user=c.hr, day=dt.date(2026, 6, 26), person_id=c.ann.pk)
    per = _persistency(later)
    assert (per["value"], per["pending"]) == ("0.6667", 1)
    assert "1 policy still in its grace period" in later["maintain"]["summary"]


def test_with_only_pending_policies_persistency_stays_in_the_set_unmet(c):
    from django.utils import translation

    waiting = c.sale(c.ann, "300.00", dt.date(2025, 6, 10))
    c.second_year_premium(waiting, paid=False)
    c.sale(c.ann, "3000.00", dt.date(2026, 5, 5))  # FYC met, 1 case of 3
    with translation.override("en"):
        (ann,) = early_warning_list(user=c.hr, day=dt.date(2026, 6, 20), person_id=c.ann.pk)
    per = _persistency(ann)
    assert (per["value"], per["waived"], per["met"], per["flag"], per["pending"]) == (
        None,
        None,
        False,
        AT_RISK,
        1,
    )
    # Still "2 of 3": waiving persistency would have asked for FYC and cases both.
    assert (ann["maintain"]["need"], ann["maintain"]["of"]) == (2, 3)
    assert "(not known yet: 1 policy still in its grace period)" in ann["maintain"]["summary"]


def test_an_assessment_counts_every_cohort_policy_as_before(c):
    waiting = c.sale(c.ann, "300.00", dt.date(2025, 6, 10))
    c.second_year_premium(waiting, paid=False)
    from telesales.compensation.assessing import assessment_run
    from telesales.compensation.tests.assessment_world import criterion

    run = assessment_run(label="2026-06", actor=c.hr)
    per = criterion(run, c.ann, "maintain", "persistency13")
    assert (per["value"], per["waived"]) == ("0.0000", None)
    assert "pending" not in per


# --- the agent's card on "My day" ------------------------------------------------------------


def test_my_day_card_shows_the_days_left_and_the_maintenance_flag(c):
    from django.utils import translation

    from telesales.compensation.dashboard import MY_WARNING, my_warning_indicator
    from telesales.core.dashboard import GOOD, WARN, Period, indicators_for

    day = dt.date(2026, 5, 16)  # Ann, S1: maintenance needs 2 of FYC 3,000, 3 cases, 80 %
    period = Period(since=dt.date(2026, 5, 1), until=day)
    with translation.override("en"):
        card = my_warning_indicator(user=c.ann.user, period=period)
        assert (card.key, card.value, card.status) == (MY_WARNING, 46, WARN)  # at risk
        assert str(card.status_label) == "At risk"  # the early-warning page's word
        assert card.unit == "days left in the period"
        assert (
            my_warning_indicator(
                user=c.sam.user, period=Period(since=day, until=dt.date(2026, 6, 30))
            ).unit
            == "day left in the period"
        )
        assert card.help_text.startswith("Keep S1: needs") and "S2: needs" in card.help_text
        for when in (dt.date(2026, 4, 2), dt.date(2026, 4, 20), dt.date(2026, 5, 3)):
            c.sale(c.ann, "1200.00", when)
        card = my_warning_indicator(user=c.ann.user, period=period)
        assert (card.value, card.status) == (46, GOOD)  # FYC 3,600 and 3 cases: met
        end = Period(since=dt.date(2026, 6, 1), until=dt.date(2026, 6, 30))
        c.sale(c.sam, "300.00", dt.date(2026, 6, 2))  # Sam, S2 short on the period's last day
        last_day = my_warning_indicator(user=c.sam.user, period=end)
        # Not failing yet: what Sam sells before midnight counts.
        assert (last_day.value, last_day.status, str(last_day.status_label)) == (
            1,
            WARN,
            "At risk",
        )
        assert "by the end of today" in last_day.help_text
    keys = {i.key for i in indicators_for(user=c.ann.user, period=period, personal=True)}
    assert MY_WARNING in keys
    assert MY_WARNING not in {i.key for i in indicators_for(user=c.hr, period=period)}
