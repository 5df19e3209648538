"""Chinese text on the operations pages uses full-width brackets and colons: the period and
policy year of a renewal task read 「2（第 2 保单年度）」, not 「2 (第 2 保单年度)」; a label and
its value are joined by 「：」. The punctuation lives in the translated strings, so English keeps
its own ("2 (policy year 2)")."""

from __future__ import annotations

import io
import re

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from telesales.operations.models import ExitNotice, ReceiptBatch, RenewalTask
from telesales.operations.scheduling import add_months, operations_advance, operations_sync

TODAY = timezone.localdate()
CJK = "\u4e00-\u9fff"
#: A half-width bracket or colon touching Chinese text (spaces between allowed).
HALF_WIDTH_IN_CHINESE = re.compile(rf"[{CJK}]\s*[():]|[():]\s*[{CJK}]")


def visible_text(html: str) -> str:
    """What a reader sees of a page: no scripts, styles or tags; a "|" where a block or an
    option starts or ends (text on either side of it is not one phrase)."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(
        r"</?(option|select|label|li|td|th|dt|dd|div|p|h\d|button|form)\b[^>]*>", "|", html
    )
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html))


def assert_full_width(html: str) -> None:
    text = visible_text(html)
    found = [
        text[max(m.start() - 15, 0) : m.end() + 15] for m in HALF_WIDTH_IN_CHINESE.finditer(text)
    ]
    assert not found, found


def test_the_renewal_task_page_writes_the_policy_year_in_full_width_brackets(
    world, page_for, policy
):
    from telesales.org.models import Person

    Person.objects.filter(pk=world.amy.pk).update(name="王芳")  # a colleague to hand over to
    mine = policy(issued_on=add_months(TODAY, -12), number="DUE-TODAY-1")
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    task = RenewalTask.objects.get(policy=mine, premium_due__period=2)
    url = reverse("operations:renewal_detail", args=[task.pk])
    chinese = page_for(world.ops).get(url).content.decode()
    assert "2（第 2 保单年度）" in chinese
    # The people to hand the task to are named with their employee number in brackets too.
    assert f">王芳（{world.amy.employee_no}）</option>" in chinese
    assert_full_width(chinese)
    english = page_for(world.ops)
    english.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert "2 (policy year 2)" in english.get(url).content.decode()


def test_the_servicing_page_names_the_agent_and_the_exit_channel_in_full_width_brackets(
    world, page_for, policy
):
    from telesales.operations.services import exit_notice_complete
    from telesales.org.services import person_update

    mine = policy(issued_on=add_months(TODAY, -12), number="DUE-TODAY-1")
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    person_update(person=world.alice, actor=world.hr.user, status="left", left_on=TODAY)
    notice = ExitNotice.objects.get(policy=mine)
    exit_notice_complete(notice=notice, channel="sms", note="", actor=world.ops.user)
    notice.refresh_from_db()
    html = page_for(world.ops).get(reverse("operations:servicing_detail", args=[mine.pk]))
    html = html.content.decode()
    assert f"{world.alice.name}（A组）" in html
    assert f"{notice.get_status_display()}（短信）" in html, visible_text(html)
    assert_full_width(html)


def test_labels_on_the_persistency_rules_and_receipt_pages_end_in_a_full_width_colon(
    world, page_for, policy
):
    mine = policy(issued_on=add_months(TODAY, -12), number="DUE-TODAY-1")
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    ops = page_for(world.ops)
    persistency = page_for(world.manager).get(reverse("operations:persistency")).content.decode()
    assert "统计范围：" in persistency and "已剔除：" in persistency
    assert_full_width(persistency)
    rules = page_for(world.manager).get(reverse("operations:ruleset_list")).content.decode()
    assert "今日生效：" in rules
    assert_full_width(rules)
    content = f"保单号,期次,金额,缴费日期\nNOPE,2,1,{TODAY.isoformat()}\n"
    upload = io.BytesIO(content.encode())
    upload.name = "r.csv"
    assert ops.post(reverse("operations:receipt_list"), {"file": upload}).status_code == 302
    batch = ReceiptBatch.objects.get()
    detail = ops.get(reverse("operations:receipt_detail", args=[batch.pk])).content.decode()
    reasons = re.findall(r'<span class="badge text-bg-light border me-1">([^<]*)</span>', detail)
    assert reasons and all(re.fullmatch(rf"[^:]*[{CJK}]：\d+", r) for r in reasons), reasons
    assert_full_width(detail)
    assert mine.number in ops.get(reverse("operations:renewal_list")).content.decode()
