"""The import's mapping step in a real Chromium: choosing the header row swaps the column
choices in place (htmx), the import then runs from the row after it; a batch that imported
nothing is discarded after its confirmation page."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from telesales.core.tests.browser_helpers import sign_in
from telesales.leads.choices import BatchStatus
from telesales.leads.importing import batch_create
from telesales.leads.models import Channel, LeadBatch
from telesales.org.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROWS = [
    ["2026年11月 赠险名单"],
    ["导出人：张三", "部门：电销一部", "导出时间：2026-11-28", "共 2 条"],
    ["客户", "联络号", "车牌"],
    ["甲", "13800000001", "京A12345"],
    ["乙", "13800000002", ""],
]


@pytest.fixture
def titled_batch(demo, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    Channel.objects.get_or_create(code="web", defaults={"name": "官网赠险"})
    out = io.StringIO()
    csv.writer(out).writerows(ROWS)
    path = tmp_path / "titled.csv"
    path.write_bytes(out.getvalue().encode("utf-8"))
    return batch_create(file=path, name="带标题的名单", channel_code="web")


def path_of(page) -> str:
    return re.sub(r"^https?://[^/]+", "", page.url)


def test_choosing_the_header_row_swaps_the_columns_in_place(titled_batch, page):
    batch = titled_batch
    assert batch.status == BatchStatus.MAPPING and batch.mapping["header_row"] == 2
    sign_in(page, "data", DEMO_PASSWORD)
    page.goto(reverse("leads:batch_mapping", args=[batch.pk]))
    form = page.locator("[data-testid=mapping-form]")
    assert "部门：电销一部" in form.locator("thead").inner_text()
    assert "13800000001" not in page.content()
    page.locator("#header-row-3").check()  # htmx posts on change and swaps #mapping
    page.wait_for_selector("[data-testid=preview-row-3][aria-current=true]")
    assert path_of(page) == reverse("leads:batch_mapping", args=[batch.pk])
    heads = page.locator("[data-testid=mapping-form] thead th").all_inner_texts()
    assert heads == ["客户", "联络号", "车牌"]
    page.select_option("select[name=col_1]", "mobile")
    page.select_option("select[name=col_0]", "name")
    with page.expect_navigation():
        page.locator("[data-testid=mapping-form] button[type=submit]").click()
    assert path_of(page) == reverse("leads:batch_detail", args=[batch.pk])
    batch.refresh_from_db()
    assert batch.mapping["header_row"] == 3 and batch.mapping["columns"]["1"] == "mobile"
    page.problems.assert_none()


def test_a_batch_waiting_for_its_mapping_is_discarded_after_confirming(titled_batch, page):
    batch = titled_batch
    sign_in(page, "data", DEMO_PASSWORD)
    page.goto(reverse("leads:batch_detail", args=[batch.pk]))
    with page.expect_navigation():
        page.locator("[data-testid=batch-discard]").click()
    assert path_of(page) == reverse("leads:batch_discard", args=[batch.pk])
    assert LeadBatch.objects.filter(pk=batch.pk).exists()
    with page.expect_navigation():
        page.locator("[data-testid=discard-confirm]").click()
    assert path_of(page) == reverse("leads:batch_list")
    assert not LeadBatch.objects.filter(pk=batch.pk).exists()
    page.problems.assert_none()


def test_an_interrupted_import_is_resumed_from_its_page_after_confirming(
    demo, settings, tmp_path, page
):
    """The data officer has no shell: the batch page's 继续导入… resumes a run that died."""
    settings.MEDIA_ROOT = tmp_path / "media"
    Channel.objects.get_or_create(code="web", defaults={"name": "官网赠险"})
    path = tmp_path / "plain.csv"
    path.write_bytes("姓名,手机号码\n甲,13800000001\n乙,13800000002\n".encode())
    batch = batch_create(file=path, name="中断的名单", channel_code="web")
    LeadBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.RUNNING, processed=1)
    sign_in(page, "data", DEMO_PASSWORD)
    page.goto(reverse("leads:batch_detail", args=[batch.pk]))
    assert "已中断" in page.locator("[data-testid=batch-status]").inner_text()
    with page.expect_navigation():
        page.locator("[data-testid=batch-resume]").click()
    assert path_of(page) == reverse("leads:batch_resume", args=[batch.pk])
    assert LeadBatch.objects.get(pk=batch.pk).status == BatchStatus.RUNNING
    with page.expect_navigation():
        page.locator("[data-testid=resume-confirm]").click()
    assert path_of(page) == reverse("leads:batch_detail", args=[batch.pk])
    page.wait_for_function(
        "document.querySelector('[data-testid=batch-status]').innerText.includes('完成')"
    )
    batch.refresh_from_db()
    assert (batch.status, batch.rows, batch.imported) == (BatchStatus.DONE, 2, 2)
    page.problems.assert_none()
