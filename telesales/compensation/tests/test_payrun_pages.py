"""The pay-run pages over the center of payrun_world.py: the HR admin computes (in the
background), follows the progress, approves, adjusts and exports; a person reads only their
own payslip; a team lead reads only their team's totals; bad input is a clear form error."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from telesales.compensation.models import (
    PayAdjustment,
    PayRun,
    PayRunJob,
    PayRunJobKind,
    PayRunJobStatus,
)
from telesales.compensation.tests.payrun_world import MAR
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.policies.tests.factories import UserFactory

LIST = reverse("compensation:payrun_list")
COMPUTE = reverse("compensation:payrun_compute")
MINE = reverse("compensation:payslip_mine")
TEAM = reverse("compensation:payrun_team")


def client_for(user) -> Client:
    """Signed in, pages in English (the assertions read the English messages)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _menu(client) -> str:
    return client.get(MINE).content.decode()


def test_hr_computes_in_the_background_follows_progress_and_approves(
    march, django_capture_on_commit_callbacks
):
    hr = client_for(march.hr)
    assert hr.get(LIST).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = hr.post(COMPUTE, {"period": "2026-03", "reason": "monthly"})
    job = PayRunJob.objects.get(period_start=MAR)
    assert response.status_code == 302 and response["Location"] == reverse(
        "compensation:payrun_job", args=[job.pk]
    )
    assert job.status == PayRunJobStatus.DONE
    page = hr.get(response["Location"])
    assert page.status_code == 200 and 'data-testid="job-done"' in page.content.decode()
    # The progress partial (polled by htmx) ends the polling with a refresh.
    part = hr.get(response["Location"] + "?part=progress", HTTP_HX_REQUEST="true")
    assert part.status_code == 200 and part["HX-Refresh"] == "true"
    assert "hx-trigger" not in part.content.decode()
    run = PayRun.objects.get(period_start=MAR)
    detail = hr.get(reverse("compensation:payrun_detail", args=[run.pk])).content.decode()
    # Totals per team and per person, with a payslip link for each person.
    assert "A组" in detail and "B组" in detail and f"¥{run.total:,.2f}" in detail
    for person in (march.lee, march.tina, march.sam, march.kai, march.ann):
        assert f'data-testid="payslip-{person.pk}"' in detail
    slip = hr.get(reverse("compensation:payslip_detail", args=[run.pk, march.tina.pk]))
    assert slip.status_code == 200 and "base_pay" in slip.content.decode()
    # Approving is a background job too (it writes the ledger of every policy paid).
    approve = reverse("compensation:payrun_approve", args=[run.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = hr.post(approve, {"reason": "checked"})
    job = PayRunJob.objects.get(period_start=MAR, kind=PayRunJobKind.APPROVE)
    assert response.status_code == 302 and response["Location"] == reverse(
        "compensation:payrun_job", args=[job.pk]
    )
    assert job.status == PayRunJobStatus.DONE and job.run == run
    page = hr.get(response["Location"]).content.decode()
    assert "Pay run approval" in page and 'data-testid="job-done"' in page
    assert f"The pay run for {run.label} is approved." in page
    run.refresh_from_db()
    assert run.status == "approved"
    # Approving twice: a clear error on the page, the run stays approved once.
    again = hr.post(approve, {"reason": "again"})
    assert again.status_code == 409 and "already approved" in again.content.decode()
    assert AuditEntry.objects.filter(action="compensation.payrun_approve").count() == 2  # Feb, Mar


def test_a_running_job_page_polls_and_shows_the_stage(march):
    job = PayRunJob.objects.create(period_start=MAR, status=PayRunJobStatus.QUEUED)
    page = client_for(march.hr).get(reverse("compensation:payrun_job", args=[job.pk]))
    body = page.content.decode()
    assert 'hx-trigger="every 1000ms"' in body and 'aria-valuenow="0"' in body


def test_a_failed_job_shows_every_problem(march, django_capture_on_commit_callbacks):
    hr = client_for(march.hr)
    with django_capture_on_commit_callbacks(execute=True):
        response = hr.post(COMPUTE, {"period": "2026-04"})
    body = hr.get(response["Location"]).content.decode()
    assert 'data-testid="job-problems"' in body
    for person in (march.lee, march.tina, march.sam, march.kai, march.ann):
        assert f"person:{person.pk}" in body


def test_a_failed_jobs_problems_name_the_people(march, django_capture_on_commit_callbacks):
    """Each record by the person's name, as HR knows it (its code in the cell's title), not
    a column of bare ``person:12``."""
    hr = client_for(march.hr)
    with django_capture_on_commit_callbacks(execute=True):
        response = hr.post(COMPUTE, {"period": "2026-04"})
    body = hr.get(response["Location"]).content.decode()
    table = body.split('data-testid="job-problems"', 1)[1].split("</table>", 1)[0]
    for person in (march.lee, march.tina, march.sam, march.kai, march.ann):
        record = f"person:{person.pk}"
        cell = f'<td class="text-nowrap" title="{record}" data-record="{record}">'
        assert f"{cell}{person.name}</td>" in table
    assert ">person:" not in table
    assert not PayRun.objects.filter(label="2026-04").exists()


@pytest.mark.parametrize(
    ("period", "status", "message"),
    [
        ("2026-13", 422, "YYYY-MM"),
        ("", 422, "required"),
        ("2026-02", 409, "approved"),  # February is approved: a duplicate of a locked period
        ("2020-01", 422, "rule set"),
        ("2099-12", 422, "has not started yet"),  # not every person's missing attendance
    ],
)
def test_bad_compute_input_is_a_clear_form_error(march, period, status, message):
    hr = client_for(march.hr)
    response = hr.post(COMPUTE, {"period": period, "reason": "kept"})
    body = response.content.decode()
    assert response.status_code == status
    assert 'data-testid="field-error-period"' in body and message in body
    assert 'value="kept"' in body  # nothing typed is lost
    assert not PayRunJob.objects.exists()


def test_a_period_being_computed_is_not_queued_twice(march):
    hr = client_for(march.hr)
    assert hr.post(COMPUTE, {"period": "2026-03"}).status_code == 302  # queued, not run
    response = hr.post(COMPUTE, {"period": "2026-03"})
    assert response.status_code == 409 and "being computed" in response.content.decode()
    assert PayRunJob.objects.count() == 1


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("abc", "is not an amount"),
        ("0", "not be zero"),
        ("1.234", "two decimals"),
        ("", "required"),
        ("1e5", "plain digits"),  # not 100,000.00
        ("2.5E3", "plain digits"),
        ("NaN", "is not an amount"),
        ("1,00", "Group the digits by thousands"),  # "1,000" is read as 1000
        ("1000000.01", "at most ¥1,000,000.00 either way"),
        ("-99999999999", "at most ¥1,000,000.00 either way"),
    ],
)
def test_an_adjustment_with_a_bad_amount_is_refused_and_keeps_the_input(march, amount, error):
    hr = client_for(march.hr)
    url = reverse("compensation:payrun_adjust", args=[march.february.pk])
    response = hr.post(url, {"person": march.sam.pk, "amount": amount, "reason": "bonus fix"})
    body = response.content.decode()
    assert response.status_code == 422 and 'data-testid="field-error-amount"' in body
    assert error in body and 'value="bonus fix"' in body
    assert f'value="{amount}"' in body or not amount  # what was typed is kept
    assert not PayAdjustment.objects.exists()


def test_an_adjustment_just_recorded_is_listed_as_pending_until_a_run_pays_it(march):
    """Recorded on March's open run, a correction is listed on the run's page at once (and
    on February's, the approved one) as to be paid; computing March pays it and it leaves
    the list for the run's own adjustments."""
    from telesales.compensation.payrun import payrun_compute

    hr = client_for(march.hr)
    march_run = payrun_compute(period_start=MAR, actor=march.hr)
    url = reverse("compensation:payrun_adjust", args=[march_run.pk])
    empty = hr.get(reverse("compensation:payrun_detail", args=[march_run.pk])).content.decode()
    assert "None: every adjustment recorded has been paid by a run." in empty
    response = hr.post(url, {"person": march.sam.pk, "amount": "-80.50", "reason": "overpaid"})
    assert response.status_code == 302
    adjustment = PayAdjustment.objects.get()
    for run in (march_run, march.february):
        page = hr.get(reverse("compensation:payrun_detail", args=[run.pk])).content.decode()
        pending = page.split('data-testid="pending-adjustments"', 1)[1]
        row = pending.split(f'data-testid="pending-adjustment-{adjustment.pk}"', 1)[1]
        row = row.split("</tr>", 1)[0]
        assert march.sam.name in row and "-¥80.50" in row and "overpaid" in row
    payrun_compute(period_start=MAR, actor=march.hr)
    page = hr.get(reverse("compensation:payrun_detail", args=[march_run.pk])).content.decode()
    assert f'data-testid="pending-adjustment-{adjustment.pk}"' not in page
    assert "paid in this run" in page


def test_an_adjustment_corrects_the_approved_run(march):
    hr = client_for(march.hr)
    url = reverse("compensation:payrun_adjust", args=[march.february.pk])
    response = hr.post(url, {"person": march.sam.pk, "amount": "-80.50", "reason": "fix"})
    assert response.status_code == 302
    adjustment = PayAdjustment.objects.get()
    assert adjustment.amount == Decimal("-80.50") and adjustment.corrects_run == march.february
    # A person outside the run cannot be chosen.
    outsider = hr.post(url, {"person": 999999, "amount": "10", "reason": "x"})
    assert outsider.status_code == 422 and PayAdjustment.objects.count() == 1


def _workbook(response):
    from openpyxl import load_workbook

    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


def test_the_export_follows_the_language_of_whoever_exports(march):
    """zh-Hans (the default): Chinese sheet names, headers and kinds; English when the user
    chose English. The kind's code stays in the last column in both."""
    url = reverse("compensation:payrun_export", args=[march.february.pk])
    chinese = Client()
    chinese.force_login(march.hr)
    book = _workbook(chinese.get(url))
    assert book.sheetnames == ["概要", "工资明细", "保单明细", "人员合计"]
    rows = list(book["工资明细"].iter_rows(values_only=True))
    assert rows[0][:5] == ("期次", "工号", "姓名", "类型", "金额") and rows[0][-1] == "类型代码"
    kinds = {(r[3], r[-1]) for r in rows[1:]}
    assert ("底薪", "base_pay") in kinds and ("首年佣金（FYC）", "commission") in kinds
    policies = list(book["保单明细"].iter_rows(values_only=True))
    assert policies[0][3:5] == ("明细行号", "类型") and {r[4] for r in policies[1:]} >= {
        "首年佣金（FYC）"
    }
    header = next(book["人员合计"].iter_rows(values_only=True))
    assert header == ("期次", "工号", "姓名", "团队", "合计")

    book = _workbook(client_for(march.hr).get(url))
    assert book.sheetnames == ["Summary", "Lines", "Policies", "Totals"]
    rows = list(book["Lines"].iter_rows(values_only=True))
    assert rows[0][:5] == ("Period", "Employee no.", "Name", "Kind", "Amount")
    assert rows[0][-1] == "Kind code"
    kinds = {(r[3], r[-1]) for r in rows[1:]}
    assert ("Base pay", "base_pay") in kinds and ("FYC commission", "commission") in kinds
    policies = list(book["Policies"].iter_rows(values_only=True))
    assert policies[0][3:5] == ("Line", "Kind") and {r[4] for r in policies[1:]} >= {
        "FYC commission"
    }


def test_export_is_hr_only_and_audited(march):
    url = reverse("compensation:payrun_export", args=[march.february.pk])
    response = client_for(march.hr).get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response.content[:2] == b"PK"
    assert AuditEntry.objects.filter(action="compensation.payrun_export").count() == 1
    for user in (march.tina.user, march.lee.user):
        assert client_for(user).get(url).status_code == 403
    assert AuditEntry.objects.filter(action="compensation.payrun_export").count() == 1


def test_an_agent_reads_only_their_own_payslip(march):
    tina = client_for(march.tina.user)
    page = tina.get(MINE)
    body = page.content.decode()
    assert page.status_code == 200 and "2026-02" in body and 'data-testid="payslip-lines"' in body
    feb = march.february
    assert (
        tina.get(reverse("compensation:payslip_detail", args=[feb.pk, march.tina.pk])).status_code
        == 200
    )
    assert (
        tina.get(reverse("compensation:payslip_detail", args=[feb.pk, march.sam.pk])).status_code
        == 403
    )
    for name in ("payrun_list",):
        assert tina.get(reverse(f"compensation:{name}")).status_code == 403
    assert tina.get(reverse("compensation:payrun_detail", args=[feb.pk])).status_code == 403
    assert tina.post(COMPUTE, {"period": "2026-03"}).status_code == 403
    assert tina.get(TEAM).status_code == 403
    # The menu offers the payslip, not the pay runs.
    assert MINE in body and LIST not in body


def test_an_open_run_is_not_a_payslip_yet(march):
    from telesales.compensation.payrun import payrun_compute

    run = payrun_compute(period_start=MAR, actor=march.hr)
    tina = client_for(march.tina.user)
    for asked in (run.pk, 999999, "abc"):
        # Falls back to February's payslip and says so (it used to claim that no run was
        # approved yet).
        page = tina.get(f"{MINE}?run={asked}")
        assert page.status_code == 200 and page.context["slip"].run == march.february
        assert 'data-testid="payslip-lines"' in page.content.decode()
        assert "not approved (or does not exist)" in page.content.decode()
    plain = tina.get(MINE).content.decode()
    assert "not approved (or does not exist)" not in plain
    assert "2026-03</option>" not in tina.get(MINE).content.decode()
    url = reverse("compensation:payslip_detail", args=[run.pk, march.tina.pk])
    assert tina.get(url).status_code == 404


def test_a_team_lead_reads_their_team_totals_only(march):
    lee = client_for(march.lee.user)
    page = lee.get(TEAM)
    body = page.content.decode()
    assert page.status_code == 200
    assert f'data-testid="team-{march.team_a.pk}"' in body
    assert f'data-testid="team-{march.team_b.pk}"' not in body and "ann" not in body
    assert TEAM in body  # in the menu
    feb = march.february
    assert (
        lee.get(reverse("compensation:payslip_detail", args=[feb.pk, march.tina.pk])).status_code
        == 403
    )
    assert lee.get(reverse("compensation:payrun_detail", args=[feb.pk])).status_code == 403


def test_team_pay_for_an_open_or_unknown_run_shows_the_latest_approved_with_a_note(march):
    from telesales.compensation.payrun import payrun_compute

    open_run = payrun_compute(period_start=MAR, actor=march.hr)
    lee = client_for(march.lee.user)
    for asked in (open_run.pk, 999999):
        body = lee.get(f"{TEAM}?run={asked}").content.decode()
        assert f'data-testid="team-{march.team_a.pk}"' in body  # February's totals
        assert "not approved (or does not exist)" in body
        assert "No approved pay run yet" not in body
    assert "not approved" not in lee.get(TEAM).content.decode()


def test_hr_sees_the_pay_runs_in_the_menu_and_a_login_without_person_has_no_payslip(march):
    assert LIST in _menu(client_for(march.hr))
    stranger = UserFactory(username="nobody", roles=[Role.RECRUITER])
    body = client_for(stranger).get(MINE).content.decode()
    assert 'data-testid="empty-state"' in body
    assert client_for(stranger).get(LIST).status_code == 403


def test_anonymous_is_sent_to_sign_in(march):
    assert Client().get(LIST).status_code == 302
    assert Client().get(MINE).status_code == 302


def test_the_pages_read_a_bounded_number_of_queries(march, django_assert_max_num_queries):
    hr = client_for(march.hr)
    detail = reverse("compensation:payrun_detail", args=[march.february.pk])
    hr.get(detail)  # warm the session and role caches of the client
    with django_assert_max_num_queries(16):
        assert hr.get(detail).status_code == 200
    with django_assert_max_num_queries(14):
        assert hr.get(LIST).status_code == 200
    slip = reverse("compensation:payslip_detail", args=[march.february.pk, march.sam.pk])
    with django_assert_max_num_queries(12):
        assert hr.get(slip).status_code == 200


def test_payslip_sources_read_as_names_and_policy_numbers(march):
    """A line's sources show the policy's number and the person's name, not ``policy:17``;
    a policy links to its pay history only for its own agent (and HR)."""
    from telesales.compensation.payrun import payadjustment_create, payrun_compute
    from telesales.compensation.selectors import payslip_get

    feb, sams = PayRun.objects.get(pk=march.february.pk), march.sams  # approved
    own = payslip_get(user=march.lee.user, run=feb, person=march.lee)
    allowance = next(line for line in own.lines if line.kind == "management_allowance")
    labels = {label.source: label for label in allowance.source_labels}
    assert labels[f"person:{march.sam.pk}"].label == "sam"
    assert f"policy:{sams.pk}" not in labels  # on Sam's own commission line
    sams_slip = payslip_get(user=march.hr, run=feb, person=march.sam)
    commission = next(line for line in sams_slip.lines if line.kind == "commission")
    labels = {label.source: label for label in commission.source_labels}
    assert labels[f"policy:{sams.pk}"].label == sams.number
    assert labels[f"policy:{sams.pk}"].policy_id == sams.pk  # HR opens any policy's pay

    body = client_for(march.sam.user).get(MINE).content.decode()
    history = reverse("compensation:policy_pay", args=[sams.pk])
    assert f'data-source="policy:{sams.pk}"><a href="{history}">{sams.number}</a>' in body
    assert f'<code class="me-1">policy:{sams.pk}</code>' not in body

    adjustment = payadjustment_create(
        person=march.tina, amount=Decimal("50.00"), reason="missed day", actor=march.hr
    )
    march_run = payrun_compute(period_start=MAR, actor=march.hr)
    slip = payslip_get(user=march.hr, run=march_run, person=march.tina)
    [line] = [line for line in slip.lines if line.kind == "adjustment"]
    [label] = line.source_labels
    assert label.source == f"adjustment:{adjustment.pk}"
    assert label.label.endswith(f"#{adjustment.pk}") and label.label != label.source


def test_a_line_of_many_sources_folds_them_away(march):
    feb = march.february
    line = feb.lines.get(person=march.lee, kind="management_allowance")
    people = [f"person:{p.pk}" for p in (march.lee, march.tina, march.sam, march.kai)]
    line.sources = [*people, f"policy:{march.sams.pk}", "person:999998", "person:999999"]
    line.save(update_fields=["sources"])
    url = reverse("compensation:payslip_detail", args=[feb.pk, march.lee.pk])
    body = client_for(march.hr).get(url).content.decode()
    folded = body.split('data-testid="line-sources"', 1)[1].split("</details>", 1)[0]
    assert "7" in folded.split("</summary>", 1)[0]
    assert folded.count('data-testid="line-source"') == 7
    assert ">tina<" in folded and ">person:999999<" in folded  # unknown: shown as recorded
    few = client_for(march.hr).get(
        reverse("compensation:payslip_detail", args=[feb.pk, march.sam.pk])
    )
    assert 'data-testid="line-sources"' not in few.content.decode()


def test_a_source_label_is_escaped(march):
    """A name is text on the payslip, never markup."""
    from telesales.org.models import Person

    Person.objects.filter(pk=march.sam.pk).update(name='<img src=x onerror="alert(1)">')
    feb = PayRun.objects.get(pk=march.february.pk)
    url = reverse("compensation:payslip_detail", args=[feb.pk, march.lee.pk])
    body = client_for(march.hr).get(url).content.decode()
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in body
    assert '<img src=x onerror="alert(1)">' not in body


def test_pending_adjustments_name_who_recorded_them(march):
    """By the employee record's name when the login has one, else the user's full name,
    else the login (it used to be the login, "hana", for everyone)."""
    named = UserFactory(username="wf01", first_name="Fang", last_name="Wang", roles=[Role.HR_ADMIN])
    bare = UserFactory(username="hr-night", first_name="", last_name="", roles=[Role.HR_ADMIN])
    url = reverse("compensation:payrun_adjust", args=[march.february.pk])
    for user, reason in ((march.hr, "by hana"), (named, "by fang"), (bare, "by night")):
        response = client_for(user).post(
            url, {"person": march.sam.pk, "amount": "10", "reason": reason}
        )
        assert response.status_code == 302
    page = client_for(march.hr).get(reverse("compensation:payrun_detail", args=[march.february.pk]))
    html = page.content.decode()
    pending = html.split('data-testid="pending-adjustments"', 1)[1]
    shown = {}
    for adjustment in PayAdjustment.objects.all():
        row = pending.split(f'data-testid="pending-adjustment-{adjustment.pk}"', 1)[1]
        row = row.split("</tr>", 1)[0]
        shown[adjustment.reason] = row.split('data-testid="recorded-by">', 1)[1].split("<")[0]
    assert shown == {"by hana": "Hana", "by fang": "Fang Wang", "by night": "hr-night"}


def test_the_pay_pages_group_thousands_like_the_early_warning(march):
    """¥291,898.88 as the early warning writes ¥1,775.00, not ¥291898.88: run list, run page
    (teams, people, pending adjustments), payslip, team pay and a policy's pay. The
    adjustment form keeps plain digits."""
    from telesales.compensation.early_warning import gap_text

    feb = march.february
    hr = client_for(march.hr)
    url = reverse("compensation:payrun_adjust", args=[feb.pk])
    hr.post(url, {"person": march.sam.pk, "amount": "-1234.50", "reason": "overpaid"})
    assert feb.total >= 1000
    grouped = f"{feb.total:,.2f}"
    assert gap_text({"measure": "fyc", "gap": "1775"}) == "¥1,775.00 more FYC"
    list_page = hr.get(LIST).content.decode()
    assert f"¥{grouped}" in list_page and f"¥{feb.total}" not in list_page
    detail = hr.get(reverse("compensation:payrun_detail", args=[feb.pk])).content.decode()
    assert f'data-testid="run-total">¥{grouped}<' in detail
    assert "-¥1,234.50" in detail and "¥-" not in detail and "-¥1234.50" not in detail
    sam_total = sum(ln.amount for ln in feb.lines.filter(person=march.sam))
    assert sam_total >= 1000 and f"¥{sam_total:,.2f}" in detail
    slip = hr.get(reverse("compensation:payslip_detail", args=[feb.pk, march.sam.pk]))
    assert f'data-testid="payslip-total">¥{sam_total:,.2f}<' in slip.content.decode()
    team = client_for(march.lee.user).get(TEAM).content.decode()
    assert f"¥{sam_total:,.2f}" in team and f"¥{sam_total}<" not in team
    policy = client_for(march.sam.user).get(
        reverse("compensation:policy_pay", args=[march.sams.pk])
    )
    assert "annualised premium ¥5,000.00" in policy.content.decode()
    # The form that takes an amount keeps what was typed, plain.
    bad = hr.post(url, {"person": march.sam.pk, "amount": "1234.567", "reason": "x"})
    assert bad.status_code == 422 and 'value="1234.567"' in bad.content.decode()


def test_the_export_is_named_in_the_exporters_language(march):
    """工资单-2026-02.xlsx for zh-Hans, sent as RFC 5987 ``filename*`` with an ASCII
    ``filename`` for older clients; payrun-2026-02.xlsx in English."""
    url = reverse("compensation:payrun_export", args=[march.february.pk])
    chinese = Client()
    chinese.force_login(march.hr)
    header = chinese.get(url)["Content-Disposition"]
    assert header == (
        'attachment; filename="payrun-2026-02.xlsx"; '
        "filename*=UTF-8''%E5%B7%A5%E8%B5%84%E5%8D%95-2026-02.xlsx"
    )
    header.encode("ascii")
    english = client_for(march.hr).get(url)["Content-Disposition"]
    assert english == 'attachment; filename="payrun-2026-02.xlsx"'


def test_the_run_of_the_month_in_progress_says_when_it_can_be_approved(march):
    from django.utils import timezone

    from telesales.compensation.payrun import payrun_compute

    start = timezone.localdate().replace(day=1)
    people = (march.lee, march.tina, march.sam, march.kai, march.ann)
    march.attend(start, dict.fromkeys(people, (10, 22)))
    run = payrun_compute(period_start=start, actor=march.hr)
    hr = client_for(march.hr)
    day = (run.period_end + dt.timedelta(days=1)).isoformat()
    page = hr.get(reverse("compensation:payrun_detail", args=[run.pk])).content.decode()
    assert 'data-testid="approve-form"' not in page
    assert f"It can be approved from {day}" in page.split('data-testid="approve-too-early"')[1]
    refused = hr.post(reverse("compensation:payrun_approve", args=[run.pk]), {"reason": "x"})
    assert refused.status_code == 409 and f"approved from {day}" in refused.content.decode()
    assert not PayRunJob.objects.filter(kind=PayRunJobKind.APPROVE, run=run).exists()
    run.refresh_from_db()
    assert run.status == "open"


def test_an_agents_payslip_page_shows_no_run_wide_figures(march):
    """The web side of the API's run list: the agent's page names the period and its rule
    set, not the center's total, line count, computations or fingerprint."""
    feb = march.february
    page = client_for(march.tina.user).get(MINE).content.decode()
    assert 'data-testid="payslip-lines"' in page
    assert feb.input_fingerprint not in page
    assert f"{feb.total:,.2f}" not in page and str(feb.total) not in page
    assert "computed" not in page.lower() and 'data-testid="run-total"' not in page


def test_team_pay_leaves_out_teams_nobody_of_which_is_paid(march):
    """HR sees every team paid in the run; the back office (Hana's, no level, no pay) used
    to show as an empty table with "Team total ¥0.00"."""
    hana_team = march.hr.person.team
    page = client_for(march.hr).get(TEAM).content.decode()
    assert f'data-testid="team-{march.team_a.pk}"' in page
    assert f'data-testid="team-{hana_team.pk}"' not in page


def test_the_people_to_adjust_are_named_with_full_width_brackets_in_chinese(march):
    """The adjustment form's people: 「Sam（E…）」 in Chinese, "Sam (E…)" in English."""
    url = reverse("compensation:payrun_detail", args=[march.february.pk])
    sam = march.sam
    chinese = Client()
    chinese.force_login(march.hr)
    assert f">{sam.name}（{sam.employee_no}）</option>" in chinese.get(url).content.decode()
    english = client_for(march.hr).get(url).content.decode()
    assert f">{sam.name} ({sam.employee_no})</option>" in english


def test_a_payslip_names_each_rule_in_the_readers_language(march):
    """The Rule column reads what the rule set calls the rule ("Base pay", the commission
    rate table with the categories it covers, the trainee factor that scaled the rate), the
    rule id and version beside it for the trace; the API gives the same title."""
    from telesales.compensation.payrun import payrun_compute

    run = payrun_compute(period_start=MAR, actor=march.hr)
    url = reverse("compensation:payslip_detail", args=[run.pk, march.tina.pk])
    english = client_for(march.hr).get(url).content.decode()
    assert '<div data-testid="line-rule-title">Base pay</div>' in english
    assert (
        '<div data-testid="line-rule-title">FYC commission rates: Accident, Critical illness, '
        "Medical</div>" in english
    )
    assert "× Trainee factor <code>trainee_factor</code>" in english
    assert "<code>fyc.protection</code> v1" in english  # the trace stays

    chinese = Client()
    chinese.force_login(march.hr)
    chinese.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    body = chinese.get(url).content.decode()
    assert '<div data-testid="line-rule-title">底薪</div>' in body
    assert "首年佣金率：意外险、重疾险、医疗险" in body
    assert "× 见习系数 <code>trainee_factor</code>" in body

    api = client_for(march.hr).get(
        f"/api/v1/compensation/payruns/{run.pk}/payslips/{march.tina.pk}"
    )
    assert api.status_code == 200, api.content
    titles = {line["rule_id"]: line["rule_title"] for line in api.json()["lines"]}
    assert titles["base_pay"] == "Base pay"
    assert titles["fyc.protection"].startswith("FYC commission rates: ")
