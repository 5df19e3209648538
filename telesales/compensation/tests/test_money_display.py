"""How the pay pages write amounts and what the what-if says about a month it cannot run.

Amounts: the sign before the currency mark, as Chinese financial documents write them
(``-¥238.00``, ``+¥1,200.00`` for a what-if gain), never ``¥-238.00``: run page (adjustments),
payslip (withholdings), what-if (losses). The what-if over a month that has not begun gives one
error, saying what is wrong and which month to choose, on the page and in the API; a month
whose data lack records names the people they concern."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from telesales.compensation.models import Attendance
from telesales.compensation.payrun import payadjustment_create, payrun_compute
from telesales.compensation.rulesets import DEFAULT_RULESET_PATH
from telesales.compensation.tests.lines_world import not_cleared
from telesales.compensation.tests.payrun_world import MAR, at
from telesales.compensation.tests.test_whatif import NEW, OLD, client_for, import_draft
from telesales.core.tests.api_helpers import assert_error_shape
from telesales.policies.models import Policy

WHATIF = reverse("compensation:whatif")
API = "/api/v1/compensation/whatif"


def render(text: str, **context) -> str:
    return Template("{% load compensation_tags %}" + text).render(Context(context))


@pytest.mark.parametrize(
    ("value", "shown", "signed"),
    [
        (D("-238"), "-¥238.00", "-¥238.00"),
        (D("1200"), "¥1,200.00", "+¥1,200.00"),
        (D("-1234567.5"), "-¥1,234,567.50", "-¥1,234,567.50"),
        (D("0"), "¥0.00", "¥0.00"),
        (D("-0.001"), "¥0.00", "¥0.00"),  # rounds to nothing: no "-¥0.00"
        (None, "—", "—"),
    ],
)
def test_the_yuan_filter_puts_the_sign_before_the_currency_mark(value, shown, signed):
    assert render("{{ v|yuan }}", v=value) == shown
    assert render('{{ v|yuan:"signed" }}', v=value) == signed
    # Without the mark (a basis column): the sign first too.
    assert render("{{ v|money }}", v=D("-238")) == "-238.00"


def test_negative_amounts_read_minus_yuan_on_the_run_page_and_the_payslip(march):
    """Sam's adjustment of −1,234.50 on the run page; Ann's March commission half withheld
    (−45.00, her policy waits for its receipt) on her payslip."""
    not_cleared(*Policy.objects.filter(issued_at__gte=at(2026, 3, 1, 0)))
    hr = client_for(march.hr)
    run = payrun_compute(period_start=MAR, actor=march.hr)
    adjustment = payadjustment_create(
        person=march.sam, amount=D("-1234.50"), reason="overpaid", actor=march.hr
    )
    detail = hr.get(reverse("compensation:payrun_detail", args=[run.pk])).content.decode()
    row = detail.split(f'data-testid="pending-adjustment-{adjustment.pk}"', 1)[1]
    row = row.split("</tr>", 1)[0]
    assert "-¥1,234.50" in row
    assert "¥-" not in detail
    withheld = run.lines.get(person=march.ann, kind="withheld")
    assert withheld.amount == D("-45.00")
    slip = hr.get(reverse("compensation:payslip_detail", args=[run.pk, march.ann.pk]))
    html = slip.content.decode()
    assert '<td class="text-end">-¥45.00</td>' in html
    assert "¥-" not in html


def test_what_if_gains_and_losses_read_plus_and_minus_yuan(march):
    """Ann gains 15.00, Lee loses 75.00, the total cost changes by −60.00 (their policies
    wait for their receipts: test_whatif.test_losses_sort_after_gains)."""
    c = march
    not_cleared(*Policy.objects.filter(issued_at__gte=at(2026, 3, 1, 0)))
    text = DEFAULT_RULESET_PATH.read_text(encoding="utf-8").replace(OLD, NEW)
    text = text.replace(
        "      - {from: 10, to: 20, rates: {T0: 0.25, S1: 0.25, S2: 0.30, S3: 0.35, M1: 0.25,",
        "      - {from: 10, to: 20, rates: {T0: 0.25, S1: 0.25, S2: 0.30, S3: 0.35, M1: 0.20,",
    )
    draft = import_draft(c, text)
    page = client_for(c.hr).get(WHATIF, {"draft": draft.pk, "period": "2026-03"})
    assert page.status_code == 200
    html = page.content.decode()
    total = html.split('data-testid="whatif-total"', 1)[1].split("</tr>", 2)[1]
    assert '<td class="text-end fw-semibold">-¥60.00</td>' in total
    ann = html.split(f'data-testid="whatif-person-{c.ann.pk}"', 1)[1].split("</tr>", 1)[0]
    lee = html.split(f'data-testid="whatif-person-{c.lee.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "+¥15.00</td>" in ann and "-¥75.00</td>" in lee
    assert "¥-" not in html and "+-" not in html and "+¥0.00" not in html


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@pytest.mark.parametrize("far", [False, True])
def test_a_what_if_over_a_month_not_begun_gives_one_error_on_the_page(march, far):
    """One error under the month, none besides it: that the month has not begun, and which
    months can be chosen (the one under way or an earlier one); no field code shown."""
    draft = import_draft(march)
    today = timezone.localdate()
    month = dt.date(2199, 1, 1) if far else _next_month(today)
    page = client_for(march.hr).get(WHATIF, {"draft": draft.pk, "period": f"{month:%Y-%m}"})
    assert page.status_code == 422
    errors = page.context["form"].errors
    assert list(errors) == ["period"] and len(errors["period"]) == 1
    [error] = errors["period"]
    assert error == (
        f"{month:%Y-%m} 的计薪期尚未开始（{month.isoformat()} 开始），没有可比较的数据。"
        f"请选择 {today:%Y-%m}（进行中）或更早的月份。"
    )
    alert = page.content.decode().split('data-testid="form-errors"', 1)[1].split("</div>\n", 1)
    assert alert[0].count("<div>") == 1
    assert "period_start" not in page.content.decode()


def test_a_what_if_over_a_month_not_begun_gives_one_error_in_the_api(march):
    draft = import_draft(march)
    today = timezone.localdate()
    month = _next_month(today)
    client = client_for(march.hr)
    response = client.post_json(API, {"draft_id": draft.pk, "period_start": month.isoformat()})
    body = assert_error_shape(response, 422, "validation_failed")
    assert body["message"] == (
        f"{month:%Y-%m} 的计薪期尚未开始（{month.isoformat()} 开始），没有可比较的数据。"
        f"请选择 {today:%Y-%m}（进行中）或更早的月份。"
    )
    # The same one error, on the field it concerns.
    assert body["details"] == {"fields": {"period_start": [body["message"]]}}


def test_a_what_if_over_data_with_missing_records_names_the_people(march):
    """Without Kai's and Lee's March attendance the page lists each by name, not the same
    bare "no attendance" twice."""
    draft = import_draft(march)
    Attendance.objects.filter(period_start=MAR, person__in=[march.kai, march.lee]).delete()
    page = client_for(march.hr).get(WHATIF, {"draft": draft.pk, "period": "2026-03"})
    assert page.status_code == 422
    problems = page.context["form"].errors["__all__"]
    assert sorted(problems) == sorted(
        f"{person.name}：2026-03 没有考勤记录" for person in (march.kai, march.lee)
    )
    assert "person:" not in page.content.decode()
