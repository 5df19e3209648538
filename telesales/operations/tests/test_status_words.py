"""The word "Open" as a status (an open task, visit or notice; an open stabilisation task of
the policies app) is not the verb "Open" (查看) of the buttons and links: pages in Chinese show
a status word. The callbacks' and the pay runs' "Open": tests/test_status_words.py of calls
and compensation."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from telesales.operations import services
from telesales.operations.choices import NoticeStatus, TaskStatus, VisitOutcome, VisitStatus
from telesales.operations.models import ReturnVisit
from telesales.operations.scheduling import add_months, operations_advance, operations_sync
from telesales.org.services import person_update
from telesales.policies.choices import TaskKind
from telesales.policies.choices import TaskStatus as ServiceTaskStatus
from telesales.policies.models import ServiceTask

TODAY = timezone.localdate()
VERB = "查看"


@pytest.mark.parametrize(
    ("label", "chinese"),
    [
        (TaskStatus.OPEN.label, "待处理"),
        (VisitStatus.OPEN.label, "待处理"),
        (NoticeStatus.OPEN.label, "待处理"),
        (ServiceTaskStatus.OPEN.label, "待处理"),
    ],
)
def test_open_as_a_status_is_not_the_verb(label, chinese):
    with translation.override("zh-hans"):
        assert str(label) == chinese != VERB
    with translation.override("en"):
        assert str(label) == "Open"


def _text(page: str, pattern: str) -> str:
    found = re.search(pattern, page, re.S)
    assert found, pattern
    return found.group(1).strip()


def test_exit_notice_page_shows_open_as_a_status(world, page_for, policy):
    policy(issued_on=add_months(TODAY, -12), number="EXIT-1")
    operations_sync(today=TODAY)
    operations_advance(today=TODAY)
    person_update(person=world.alice, actor=world.hr.user, status="left", left_on=TODAY)
    page = page_for(world.ops).get(reverse("operations:exit_list") + "?status=open")
    assert page.status_code == 200
    tab = _text(page.content.decode(), r'href="\?status=open">([^<]*)</a>')
    assert tab == "待处理" != VERB


def test_return_visit_page_counts_open_misunderstandings_under_a_status_word(
    world, page_for, policy
):
    p = policy(issued_on=TODAY - dt.timedelta(days=30))
    operations_sync(today=TODAY)
    services.return_visit_record(
        visit=ReturnVisit.objects.get(policy=p),
        outcome=VisitOutcome.MISUNDERSTANDING,
        note="以为是存款",
        actor=world.ops.user,
    )
    page = page_for(world.ops).get(reverse("operations:visit_list")).content.decode()
    table = _text(page, r'data-testid="misunderstanding-counts">(.*?)</table>')
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers[-1] == "待处理" and VERB not in headers


def test_policy_page_shows_an_open_service_task_as_a_status(world, page_for, policy):
    p = policy(issued_on=TODAY - dt.timedelta(days=5))
    ServiceTask.objects.create(
        kind=TaskKind.WELCOME_CALL,
        policy=p,
        customer=p.holder,
        agent=p.agent,
        due_at=timezone.now(),
    )
    page = page_for(world.alice).get(reverse("policies:policy_detail", args=[p.pk]))
    assert page.status_code == 200
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", page.content.decode())
    assert "待处理" in cells and VERB not in cells
