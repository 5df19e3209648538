"""The ticket queue in a real Chromium at the widths the center's screens have (1400 and
1280 px): no column squeezed to one character per line (QA: 保单变更, 保险公司, 孙玲辉 and
未分派 stood one character a line), and at 1400 px the table fits, its 已逾期 badge in view."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from telesales.core.tests.browser_helpers import sign_in
from telesales.org.tests.table_widths import narrow_cells, overflowing_tables

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SUBJECTS = [
    "申请变更受益人，客户要求同时核对投保人与被保险人的证件信息并寄送新的保单批单",
    "协助提交住院理赔申请，客户已住院三天，材料包括病历、发票和费用清单",
    "12321转办：客户反映频繁接到推销电话，要求说明号码来源并停止来电",
    "客户因经济原因申请退保，需解释犹豫期已过后退保的现金价值",
]


@pytest.fixture
def crowded_queue(world, open_ticket):
    world.ops.name = "孙玲辉"
    world.ops.save(update_fields=["name"])
    long_ago = timezone.now() - dt.timedelta(days=20)  # every target missed: overdue
    kinds = ["policy_change", "claim_help", "complaint", "cancellation_request"]
    channels = ["insurer", "regulator", "online", "walk_in"]
    for n, (kind, channel, subject) in enumerate(zip(kinds, channels, SUBJECTS, strict=True)):
        open_ticket(
            kind=kind,
            channel=channel,
            subject=subject,
            owner=world.ops if n % 2 else None,
            opened_at=long_ago + dt.timedelta(hours=n),
        )
    return world


@pytest.mark.parametrize("width", [1400, 1280])
def test_no_queue_column_is_squeezed_to_one_character(crowded_queue, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "boss")
    page.goto(reverse("tickets:ticket_list") + "?status=all")
    table = page.locator("[data-testid=tickets-table]")
    assert table.locator("[data-testid=overdue-badge]").count() == 4
    assert "孙玲辉" in table.inner_text() and "未分派" in table.inner_text()

    assert narrow_cells(page, "[data-testid=tickets-table]") == []
    if width >= 1400:
        assert overflowing_tables(page, "[data-testid=tickets-table]") == []
        badge = table.locator("[data-testid=overdue-badge]").first.bounding_box()
        assert badge["x"] + badge["width"] <= width
    page.problems.assert_none()
