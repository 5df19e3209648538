"""The assessment and early-warning pages: HR runs, decides (htmx row swap) and approves;
others get 403 or their own warning only; bad input is a clear 422."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from telesales.compensation.models import AssessmentRun, AssessmentRunStatus
from telesales.compensation.tests.assessment_world import AssessmentCenter

LIST = reverse("compensation:assessment_list")
RUN = reverse("compensation:assessment_run")
WARNING = reverse("compensation:warning_list")


@pytest.fixture
def c(db):
    return AssessmentCenter()


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_hr_runs_decides_with_htmx_and_approves(c):
    hr = client_for(c.hr)
    assert hr.get(LIST).status_code == 200
    response = hr.post(RUN, {"label": "2026-06"})
    run = AssessmentRun.objects.get(label="2026-06")
    assert response.status_code == 302
    assert response["Location"] == reverse("compensation:assessment_detail", args=[run.pk])
    page = hr.get(response["Location"]).content.decode()
    assert f'data-testid="outcome-{c.ann.pk}"' in page and "Extend" in page
    refused = hr.post(reverse("compensation:assessment_approve", args=[run.pk]))
    assert refused.status_code == 409 and b"wait for a decision" in refused.content
    for outcome in run.outcomes.all():
        url = reverse("compensation:assessment_outcome_decide", args=[outcome.pk])
        row = hr.post(url, {"decision": "approved"}, HTTP_HX_REQUEST="true")
        assert row.status_code == 200
        body = row.content.decode()
        assert body.startswith(f'<tr id="outcome-{outcome.pk}"') and "Approved" in body
    again = hr.post(url, {"decision": "rejected"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and b"decide-error" in again.content
    bad = hr.post(url, {"decision": "maybe"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422
    done = hr.post(reverse("compensation:assessment_approve", args=[run.pk]))
    assert done.status_code == 302
    run.refresh_from_db()
    assert run.status == AssessmentRunStatus.APPROVED


def test_bad_period_is_a_form_error(c):
    hr = client_for(c.hr)
    for label in ("2026-13", "June", ""):
        response = hr.post(RUN, {"label": label})
        assert response.status_code == 422
        assert b"field-error-label" in response.content
    response = hr.post(RUN, {"label": "2025-06"})
    assert response.status_code == 422
    assert b"Approve a rule set for this period first" in response.content
    future = (dt.date.today() + dt.timedelta(days=62)).strftime("%Y-%m")
    response = hr.post(RUN, {"label": future, "reason": "early"})
    assert response.status_code == 422
    assert b"Choose a period that has started" in response.content
    assert b"field-error-label" in response.content
    assert response.context["form"]["reason"].value() == "early"
    assert not AssessmentRun.objects.exists()


def test_others_may_not_run_or_read_runs(c):
    run = c.run_and_approve_all("2026-06")
    ann = client_for(c.ann.user)
    assert ann.get(LIST).status_code == 403
    assert ann.post(RUN, {"label": "2026-06"}).status_code == 403
    assert ann.get(reverse("compensation:assessment_detail", args=[run.pk])).status_code == 403
    assert (
        client_for(c.hr).get(reverse("compensation:assessment_detail", args=[99999])).status_code
        == 404
    )


def test_early_warning_page_is_scoped(c):
    c.sale(c.ann, "1500.00", dt.date(2026, 5, 3))
    page = client_for(c.ann.user).get(WARNING, {"day": "2026-05-16"})
    assert page.status_code == 200
    body = page.content.decode()
    assert f'data-testid="warning-{c.ann.pk}"' in body
    assert f'data-testid="warning-{c.sam.pk}"' not in body
    assert "in 46 days" in body
    partial = client_for(c.kai.user).get(WARNING, {"day": "2026-05-16"}, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and b"<html" not in partial.content
    assert f'data-testid="warning-{c.kai.pk}"'.encode() in partial.content
    bad = client_for(c.hr).get(WARNING, {"day": "16/05/2026"})
    assert bad.status_code == 422
    assert client_for(c.ann.user).get(WARNING, {"person": c.sam.pk}).status_code == 404


def test_the_warning_list_puts_the_worst_first_and_filters_to_those_needing_attention(c):
    # On 2026-05-16 Ann (S1) has sold enough to keep her level; nobody else has sold anything.
    for day in (dt.date(2026, 4, 2), dt.date(2026, 4, 20), dt.date(2026, 5, 3)):
        c.sale(c.ann, "1200.00", day)
    page = client_for(c.hr).get(WARNING, {"day": "2026-05-16"})
    rows = page.context["rows"]
    flags = [row["flag"] for row in rows]
    order = {"failing": 0, "at_risk": 1, "on_track": 2, "met": 3}
    assert flags == sorted(flags, key=order.__getitem__)  # worst first
    assert next(r for r in rows if r["person_id"] == c.ann.pk)["flag"] == "met"
    assert all(row["team"] for row in rows)  # every assessed person here is in a team
    attention = client_for(c.hr).get(WARNING, {"day": "2026-05-16", "flag": "attention"})
    kept = attention.context["rows"]
    assert kept and {row["flag"] for row in kept} <= {"at_risk", "failing"}
    assert c.ann.pk not in {row["person_id"] for row in kept}
    assert f'data-testid="warning-{c.ann.pk}"' not in attention.content.decode()
    assert client_for(c.hr).get(WARNING, {"flag": "everyone?"}).status_code == 422


def test_the_criteria_show_the_measures_by_name_not_by_code(c):
    """A run's page names each criterion's measure in the reader's language ("FYC", "Cases"
    / "个人 FYC", "保单件数"), never the rule file's code (``fyc``, ``cases``)."""
    from django.utils import translation

    from telesales.compensation.rules_format import MEASURE_LABELS, MEASURES

    assert set(MEASURE_LABELS) == set(MEASURES)  # every measure has a name
    run = c.run_and_approve_all("2026-06")
    url = reverse("compensation:assessment_detail", args=[run.pk])
    english = client_for(c.hr).get(url).content.decode()
    chinese_client = Client()
    chinese_client.force_login(c.hr)
    chinese = chinese_client.get(url).content.decode()
    measures = {
        m
        for o in run.outcomes.all()
        for s in o.criteria.values()
        if isinstance(s, dict)
        for m in (cr["measure"] for cr in s.get("criteria", []))
    }
    assert {"fyc", "cases"} <= measures
    for measure in measures:
        with translation.override("en"):
            assert f'data-measure="{measure}">{MEASURE_LABELS[measure]}<' in english
        with translation.override("zh-hans"):
            assert f'data-measure="{measure}">{MEASURE_LABELS[measure]}<' in chinese
        assert f">{measure} " not in english and f">{measure} " not in chinese
    assert 'data-measure="fyc">FYC<' in english and 'data-measure="cases">Cases<' in english
    assert 'data-measure="fyc">个人 FYC<' in chinese and 'data-measure="cases">保单件数<' in chinese
    assert "3 个月" in chinese or "1 个月" in chinese


@pytest.mark.parametrize(
    ("value", "measure", "shown"),
    [
        ("0.8500", "persistency13", "85.0%"),
        ("0.85", "persistency13", "85.0%"),
        ("3200", "fyc", "3,200.00"),
        ("12345.6", "team_fyc", "12,345.60"),
        ("1234567.891", "team_fyc", "1,234,567.89"),
        ("800", "fyc", "800.00"),
        ("3", "cases", "3"),
        ("3.0", "months_in_grade", "3"),
        (None, "fyc", "—"),
        ("", "cases", "—"),
        ("n/a", "cases", "n/a"),
    ],
)
def test_criteria_figures_read_as_percentages_money_and_counts(value, measure, shown):
    from telesales.compensation.templatetags.compensation_tags import measure_value

    assert measure_value(value, measure) == shown


def test_the_criteria_show_persistency_as_a_percentage(c):
    run = c.run_and_approve_all("2026-06")
    html = client_for(c.hr).get(reverse("compensation:assessment_detail", args=[run.pk]))
    html = html.content.decode()
    shown = re.findall(r'data-measure="persistency13">[^<]*</span> ([^<]*)</span>', html)
    assert shown and all(re.fullmatch(r"(—|\d+\.\d%) / \d+\.\d%", s) for s in shown), shown


def test_the_criteria_group_fyc_by_thousands_as_the_pay_pages_do(c):
    """FYC on the assessment page is written like every amount on the pay pages (3,000.00),
    not as the rule file's plain digits (3000.00)."""
    c.sale(c.ann, "3000.00", dt.date(2026, 5, 5))
    run = c.run_and_approve_all("2026-06")
    html = client_for(c.hr).get(reverse("compensation:assessment_detail", args=[run.pk]))
    html = html.content.decode()
    shown = re.findall(r'data-measure="fyc">[^<]*</span> ([^<]*)</span>', html)
    assert shown, html
    assert all(re.fullmatch(r"(—|[\d,]+\.\d\d) / [\d,]+\.\d\d", s) for s in shown), shown
    assert any(s.endswith(" / 3,000.00") for s in shown), shown
    assert "3,000.00 / 3,000.00" in shown, shown
    assert "3000.00" not in html


def test_the_criteria_sets_and_the_next_level_read_with_full_width_punctuation_in_chinese(c):
    """「晋升（1/2，3 个月）：」 and 「S2：」 in Chinese, not 「晋升 (1/2, 3 个月):」 or 「S2:」;
    English keeps "Promote (1/2, 3 months):"."""
    run = c.run_and_approve_all("2026-06")
    url = reverse("compensation:assessment_detail", args=[run.pk])
    chinese_client = Client()
    chinese_client.force_login(c.hr)
    chinese = chinese_client.get(url).content.decode()
    sets = re.findall(r"<strong>((?:晋升|维持)[^<]*)</strong>", chinese)
    assert sets and all(re.fullmatch(r"(晋升|维持)（\d+/\d+，\d+ 个月）：", s) for s in sets), sets
    english = client_for(c.hr).get(url).content.decode()
    sets = re.findall(r"<strong>((?:Promote|Maintain)[^<]*)</strong>", english)
    assert sets and all(
        re.fullmatch(r"(Promote|Maintain) \(\d+/\d+, \d+ months?\):", s) for s in sets
    )
    warnings = chinese_client.get(WARNING, {"day": "2026-05-16"}).content.decode()
    colons = re.findall(r"<td>[A-Z]\d([:：]) <span class=\"badge", warnings)
    assert colons and set(colons) == {"："}, colons
    english = client_for(c.hr).get(WARNING, {"day": "2026-05-16"}).content.decode()
    assert re.search(r"<td>[A-Z]\d: <span class=\"badge", english)


def test_the_month_in_progress_shows_as_provisional_and_is_not_approved(c):
    from django.utils import timezone

    hr = client_for(c.hr)
    label = f"{timezone.localdate():%Y-%m}"
    assert hr.post(RUN, {"label": label}).status_code == 302
    run = AssessmentRun.objects.get(label=label)
    for outcome in run.outcomes.all():
        url = reverse("compensation:assessment_outcome_decide", args=[outcome.pk])
        hr.post(url, {"decision": "approved"})
    detail = reverse("compensation:assessment_detail", args=[run.pk])
    page = hr.get(detail).content.decode()
    assert 'data-testid="run-provisional"' in page and 'data-testid="provisional-note"' in page
    day = run.approvable_from.isoformat()
    assert f"It can be approved from {day}" in page
    assert 'data-testid="approve"' not in page and 'data-testid="rerun"' in page
    assert f'data-testid="provisional-{label}"' in hr.get(LIST).content.decode()
    refused = hr.post(reverse("compensation:assessment_approve", args=[run.pk]))
    assert refused.status_code == 409
    assert f"approved from {day}" in refused.content.decode()
    run.refresh_from_db()
    assert run.status == AssessmentRunStatus.DRAFT
    # A past period, run now, is final and offers the approval.
    hr.post(RUN, {"label": "2026-06"})
    past = AssessmentRun.objects.get(label="2026-06")
    page = hr.get(reverse("compensation:assessment_detail", args=[past.pk])).content.decode()
    assert 'data-testid="approve"' in page and 'data-testid="run-provisional"' not in page


def test_an_exit_approved_earlier_is_said_when_the_next_period_proposes_it_again(c):
    """QA: an approved exit changed nothing visible and the next month proposed it again, as
    if new. The assessment does not end the employment (HR records the leaving), so the
    exit comes back each period until then: the page says it was approved, when, and links
    to the person, where the leaving is recorded."""
    july = c.run_and_approve_all("2026-07")  # Tina's probation ended 07-09: exit, approved
    assert july.outcomes.get(person=c.tina).outcome == "exit"
    from telesales.compensation.assessing import assessment_run

    august = assessment_run(label="2026-08", actor=c.hr)
    assert august.outcomes.get(person=c.tina).outcome == "exit"
    page = client_for(c.hr).get(reverse("compensation:assessment_detail", args=[august.pk]))
    body = page.content.decode()
    marker = f'data-testid="exit-approved-{c.tina.pk}"'
    assert marker in body
    note = body.split(marker, 1)[1].split("</div>", 1)[0]
    assert "Exit approved in the 2026-07 assessment (effective 2026-08-01)" in note
    assert reverse("org:person_detail", args=[c.tina.pk]) in note
    # The July page itself (the run that approved it) says nothing of the kind.
    july_page = client_for(c.hr).get(reverse("compensation:assessment_detail", args=[july.pk]))
    assert marker not in july_page.content.decode()


def test_the_warning_says_what_falling_short_would_bring(c):
    """QA: a trainee whose probation ends this period read only 有风险; the page now says the
    assessment proposes an exit unless promoted, and for a maintenance what a shortfall
    brings (an extension while one is left, then a demotion)."""
    from telesales.org.models import Person

    Person.objects.filter(pk=c.tina.pk).update(hire_date=dt.date(2026, 4, 10))  # to 07-09
    hr = client_for(c.hr)
    july = hr.get(WARNING, {"day": "2026-07-01"}).content.decode()
    row = july.split(f'data-testid="warning-{c.tina.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Probation ends 2026-07-09: not promoted by the period end" in row
    may = hr.get(WARNING, {"day": "2026-05-16"}).content.decode()
    row = may.split(f'data-testid="warning-{c.tina.pk}"', 1)[1].split("</tr>", 1)[0]
    assert 'data-testid="at-stake"' not in row  # probation runs past May's end
    sam = may.split(f'data-testid="warning-{c.sam.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Short at the period end: an extension (used 0/1)" in sam


def test_hr_rejects_with_a_reason_and_approves_the_rest_in_one_click(c):
    hr = client_for(c.hr)
    hr.post(RUN, {"label": "2026-06"})
    run = AssessmentRun.objects.get(label="2026-06")
    detail = reverse("compensation:assessment_detail", args=[run.pk])
    page = hr.get(detail).content.decode()
    assert 'data-testid="approve-pending"' in page and f'data-testid="note-{c.ann.pk}"' in page
    ann = run.outcomes.get(person=c.ann)
    url = reverse("compensation:assessment_outcome_decide", args=[ann.pk])
    bare = hr.post(url, {"decision": "rejected", "note": ""}, HTTP_HX_REQUEST="true")
    assert bare.status_code == 422 and b"Say why the outcome is rejected" in bare.content
    ann.refresh_from_db()
    assert ann.decision == "pending"
    said = hr.post(url, {"decision": "rejected", "note": "on leave"}, HTTP_HX_REQUEST="true")
    assert said.status_code == 200
    bulk = hr.post(reverse("compensation:assessment_approve_pending", args=[run.pk]))
    assert bulk.status_code == 302
    assert set(run.outcomes.exclude(pk=ann.pk).values_list("decision", flat=True)) == {"approved"}
    assert 'data-testid="approve-pending"' not in hr.get(detail).content.decode()
    agent = client_for(c.ann.user)
    assert agent.post(
        reverse("compensation:assessment_approve_pending", args=[run.pk])
    ).status_code in (403, 404)


def test_the_warning_list_filters_to_one_team(c):
    """QA: the manager's cross-team early warning listed all 72 people with no team filter."""
    page = client_for(c.hr).get(WARNING, {"day": "2026-05-16"})
    rows = page.context["rows"]
    teams = {row["team_id"] for row in rows}
    assert len(teams) > 1 and 'data-testid="warning-team"' in page.content.decode()
    one = sorted(teams)[0]
    filtered = client_for(c.hr).get(WARNING, {"day": "2026-05-16", "team": one})
    kept = filtered.context["rows"]
    assert kept and {row["team_id"] for row in kept} == {one}
    assert len(kept) == sum(1 for row in rows if row["team_id"] == one)
    assert client_for(c.hr).get(WARNING, {"team": "abc"}).status_code == 422


def test_the_run_form_has_a_styled_month_picker(center):
    """QA (session 20): the period was a bare text box beside its label, unlike the pay run's."""
    from telesales.compensation.views_assessment import AssessmentRunForm

    html = str(AssessmentRunForm()["label"])
    assert 'type="month"' in html and "form-control" in html
