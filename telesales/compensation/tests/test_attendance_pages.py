"""The attendance pages over the center of payrun_world.py: HR sees everyone the period's pay
run pays and who is missing, saves the sheet in one go (a bad row comes back in place and
nothing is saved), imports a file after its preview and downloads the template; an approved
period is read-only; agents and team leads are turned away. End to end: attendance entered on
the page, the pay run (in the background, as HR starts it) pays the prorated base pay."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from telesales.compensation.models import Attendance, PayRun, PayRunJob, PayRunJobStatus
from telesales.compensation.tests.payrun_world import APR, FEB
from telesales.core.models import AuditEntry
from telesales.core.roles import Role
from telesales.policies.tests.factories import UserFactory

PAGE = reverse("compensation:attendance_edit")
IMPORT = reverse("compensation:attendance_import")
TEMPLATE = reverse("compensation:attendance_template")
APRIL = PAGE + "?period=2026-04"


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _sheet(c, **days) -> dict:
    """The sheet's fields: 22 days required, each person's days attended (blank: missing)."""
    data = {}
    for person in (c.lee, c.tina, c.sam, c.kai, c.ann):
        data[f"required-{person.pk}"] = "22"
        data[f"attended-{person.pk}"] = days.get(person.user.username, "22")
    return data


def test_hr_sees_everyone_the_pay_run_pays_and_who_is_missing(center):
    c = center
    page = client_for(c.hr).get(APRIL)
    assert page.status_code == 200
    html = page.content.decode()
    for person in (c.lee, c.tina, c.sam, c.kai, c.ann):
        assert f'data-testid="attendance-row-{person.pk}"' in html
        assert f'name="required-{person.pk}" id="required-{person.pk}" value="22"' in html
        assert f'data-testid="missing-{person.pk}"' in html
    assert "Hana" not in html.split('data-testid="attendance-table"')[1]  # back office
    assert re.search(r'data-testid="count-missing">5 missing<', html)
    assert "2026-04-01 – 2026-04-30 · rule set v1 · 22 weekdays" in html
    # February is recorded: nobody missing.
    feb = client_for(c.hr).get(PAGE + "?period=2026-02").content.decode()
    assert re.search(r'data-testid="count-missing">0 missing<', feb)


def test_the_page_is_for_hr_and_the_manager_only(center):
    c = center
    assert client_for(c.tina.user).get(APRIL).status_code == 403
    assert client_for(c.lee.user).get(APRIL).status_code == 403
    assert client_for(c.tina.user).post(APRIL, _sheet(c)).status_code == 403
    assert client_for(c.tina.user).get(TEMPLATE + "?period=2026-04").status_code == 403
    assert not Attendance.objects.filter(period_start=APR).exists()
    manager = UserFactory(roles=[Role.MANAGER])
    assert client_for(manager).get(APRIL).status_code == 200
    # The menu: HR has the entry, an agent does not.
    assert f'href="{PAGE}"' in client_for(c.hr).get(APRIL).content.decode()
    mine = reverse("compensation:payslip_mine")
    assert f'href="{PAGE}"' not in client_for(c.tina.user).get(mine).content.decode()


def test_save_all_records_every_row(center):
    c = center
    hr = client_for(c.hr)
    response = hr.post(APRIL, _sheet(c, tina="18", ann=""))
    assert response.status_code == 302 and response["Location"] == APRIL
    saved = {a.person_id: a.days_attended for a in Attendance.objects.filter(period_start=APR)}
    assert saved == {c.lee.pk: 22, c.tina.pk: 18, c.sam.pk: 22, c.kai.pk: 22}  # Ann left blank
    page = hr.get(APRIL).content.decode()
    assert "4 people&#x27;s days changed" in page or "4 people's days changed" in page
    assert re.search(r'data-testid="count-missing">1 missing<', page)
    assert f'data-testid="missing-{c.ann.pk}"' in page


def test_a_bad_row_comes_back_in_place_and_nothing_is_saved(center):
    c = center
    response = client_for(c.hr).post(APRIL, _sheet(c, tina="23", sam="abc"))
    assert response.status_code == 422
    html = response.content.decode()
    assert "2 rows have problems: nothing was saved." in html
    tina = html.split(f'data-testid="attendance-row-{c.tina.pk}"')[1].split("</tr>")[0]
    assert tina.startswith(' class="table-danger"')
    assert (
        f'data-testid="row-error-{c.tina.pk}-days_attended">More than the days required (22).'
        in tina
    )
    assert f'name="attended-{c.tina.pk}" id="attended-{c.tina.pk}" value="23"' in tina  # kept
    assert f'data-testid="row-error-{c.sam.pk}-days_attended">Give a whole number' in html
    assert not Attendance.objects.filter(period_start=APR).exists()


def test_an_approved_period_is_read_only(march):
    c = march
    hr = client_for(c.hr)
    page = hr.get(PAGE + "?period=2026-02").content.decode()
    assert 'data-testid="attendance-locked"' in page and 'data-testid="attendance-save"' not in page
    response = hr.post(PAGE + "?period=2026-02", _sheet(c, tina="10"))
    assert response.status_code == 409
    assert "is approved: its attendance is locked" in response.content.decode()
    assert Attendance.objects.get(person=c.tina, period_start=FEB).days_attended == 20


def test_a_bad_period_is_a_clear_error(center):
    hr = client_for(center.hr)
    response = hr.get(PAGE + "?period=2026-13")
    assert response.status_code == 422 and "Give a month as YYYY-MM." in response.content.decode()
    response = hr.get(PAGE + "?period=2025-06")
    assert response.status_code == 422
    assert "No approved rule set is in force" in response.content.decode()
    assert hr.post(PAGE + "?period=2025-06", {}).status_code == 422


def test_import_previews_then_applies_the_file(center):
    c = center
    hr = client_for(c.hr)
    text = "工号,姓名,应出勤天数,实出勤天数\n" + "".join(
        f"{p.employee_no},{p.name},22,{20 if p == c.tina else 22}\n"
        for p in (c.lee, c.tina, c.sam, c.kai, c.ann)
    )
    upload = io.BytesIO(text.encode("gbk"))
    upload.name = "四月出勤.csv"
    preview = hr.post(IMPORT + "?period=2026-04", {"file": upload})
    assert preview.status_code == 200
    html = preview.content.decode()
    assert 'data-testid="count-new">5 new<' in html and 'data-testid="import-apply"' in html
    assert not Attendance.objects.filter(period_start=APR).exists()  # a preview writes nothing
    token = re.search(r'name="token" value="([^"]+)"', html).group(1)
    applied = hr.post(IMPORT + "?period=2026-04", {"token": token, "apply": "1"})
    assert applied.status_code == 302 and applied["Location"] == APRIL
    assert Attendance.objects.get(person=c.tina, period_start=APR).days_attended == 20
    audit = AuditEntry.objects.get(action="compensation.attendance_import")
    assert audit.after["file"] == "四月出勤.csv" and audit.after["created"] == 5
    # A forged or damaged token is refused, not a server error.
    bad = hr.post(IMPORT + "?period=2026-04", {"token": token[:-3] + "xyz", "apply": "1"})
    assert bad.status_code == 400 and "upload the file again" in bad.content.decode()


def test_an_import_with_a_bad_row_shows_it_and_offers_no_apply(center):
    c = center
    hr = client_for(c.hr)
    upload = io.BytesIO(
        f"工号,姓名,应出勤天数,实出勤天数\n{c.tina.employee_no},Bob,22,20\n".encode()
    )
    upload.name = "a.csv"
    preview = hr.post(IMPORT + "?period=2026-04", {"file": upload})
    assert preview.status_code == 422
    html = preview.content.decode()
    assert 'data-testid="import-error-2-name"' in html and 'data-testid="import-apply"' not in html
    assert 'data-testid="import-refused"' in html
    unreadable = io.BytesIO(b"name,days\nx,1\n")
    unreadable.name = "b.csv"
    response = hr.post(IMPORT + "?period=2026-04", {"file": unreadable})
    assert (
        response.status_code == 422
        and 'data-testid="field-error-file"' in response.content.decode()
    )
    assert hr.post(IMPORT + "?period=2026-04", {}).status_code == 422  # no file
    assert not Attendance.objects.filter(period_start=APR).exists()


def test_the_template_downloads(center):
    response = client_for(center.hr).get(TEMPLATE + "?period=2026-04")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attendance-2026-04.xlsx" in response["Content-Disposition"]


def test_the_pay_run_pages_link_to_the_attendance(march):
    c = march
    hr = client_for(c.hr)
    assert (
        'data-testid="attendance-link"'
        in hr.get(reverse("compensation:payrun_list")).content.decode()
    )
    detail = hr.get(reverse("compensation:payrun_detail", args=[c.february.pk])).content.decode()
    assert f'href="{PAGE}?period=2026-02"' in detail


@pytest.mark.django_db(transaction=False)
def test_attendance_entered_on_the_page_is_paid_by_the_pay_run(
    center, django_capture_on_commit_callbacks
):
    """April: the pay run refuses the period while attendance is missing and links to the
    sheet; HR enters it on the page; the pay run then pays Tina 3,000.00 × 18/22."""
    c = center
    hr = client_for(c.hr)
    compute = reverse("compensation:payrun_compute")
    with django_capture_on_commit_callbacks(execute=True):
        response = hr.post(compute, {"period": "2026-04"})
    job = PayRunJob.objects.get(period_start=APR)
    assert job.status == PayRunJobStatus.FAILED
    assert [f"person:{c.tina.pk}", "no attendance for 2026-04"] in job.problems
    failed = hr.get(response["Location"]).content.decode()
    assert f'href="{PAGE}?period=2026-04-01"' in failed
    sheet = hr.get(PAGE + "?period=2026-04-01")  # the job's link: the period's first day
    assert sheet.status_code == 200 and "Attendance · 2026-04" in sheet.content.decode()

    assert hr.post(APRIL, _sheet(c, tina="18", lee="21")).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        hr.post(compute, {"period": "2026-04"})
    run = PayRun.objects.get(period_start=APR)
    assert run.lines.get(person=c.tina, kind="base_pay").amount == Decimal("2454.55")
    assert run.lines.get(person=c.lee, kind="base_pay").amount == Decimal("5727.27")
    assert run.lines.get(person=c.sam, kind="base_pay").amount == Decimal("4200.00")
    # A later change tells HR to compute again.
    hr.post(APRIL, _sheet(c, tina="19", lee="21"))
    page = hr.get(APRIL).content.decode()
    assert "compute it again" in page


def test_a_large_center_saves_one_team_at_a_time(center, settings):
    """Two fields a person: past Django's field limit the page asks for a team (or a file)
    instead of offering a save that would be refused."""
    c = center
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 16
    hr = client_for(c.hr)
    everyone = hr.get(APRIL).content.decode()
    assert 'data-testid="too-many"' in everyone and 'data-testid="attendance-save"' not in everyone
    team_a = f"{APRIL}&team={c.team_a.pk}"
    page = hr.get(team_a).content.decode()
    assert 'data-testid="attendance-save"' in page and 'data-testid="too-many"' not in page
    assert f'data-testid="attendance-row-{c.kai.pk}"' not in page  # team B
    data = {
        k: v
        for k, v in _sheet(c).items()
        if k.endswith(tuple(str(p.pk) for p in (c.lee, c.tina, c.sam)))
    }
    response = hr.post(team_a, data)
    assert response.status_code == 302 and response["Location"] == team_a
    assert set(Attendance.objects.filter(period_start=APR).values_list("person_id", flat=True)) == {
        c.lee.pk,
        c.tina.pk,
        c.sam.pk,
    }


def test_the_sheet_speaks_chinese_by_default(center):
    client = Client()
    client.force_login(center.hr)
    html = client.get(APRIL).content.decode()
    assert "出勤 · 2026-04" in html and "实出勤天数" in html and "全部保存" in html
    assert "工作日（周一至周五）22 天" in html


def test_a_center_of_two_thousand_people_saves_its_attendance_on_one_page():
    """Django's default of 1,000 fields a form would stop the page at about 495 people."""
    from django.conf import settings

    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS >= 2 * 2000 + 50
