"""What a team lead saw on the ticket pages: half-width colons on the Chinese pages, and a
complaint rate on the home page that the SLA report did not show."""

from __future__ import annotations

import pytest
from django.utils import timezone

from telesales.tickets.choices import TicketKind
from telesales.tickets.tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def html(response) -> str:
    return response.content.decode()


def test_the_sla_report_labels_use_no_half_width_colon(page_for, world):
    page = html(page_for(world.lead_a).get("/tickets/sla/"))
    assert "起始日期" in page and "截止日期" in page
    assert "起始日期:" not in page and "截止日期:" not in page


def test_the_escalation_line_names_the_person_after_a_chinese_colon(page_for, world):
    ticket = TicketFactory(
        owner=world.alice,
        agent=world.alice,
        escalation_level=1,
        escalated_to=world.lead_a,
        escalated_at=timezone.now(),
    )
    page = html(page_for(world.lead_a).get(f"/tickets/{ticket.pk}/"))
    line = page[page.index('data-testid="escalated"') :]
    line = line[: line.index("</p>")]
    assert "：<b>lead_a</b>" in line
    assert ": <b>" not in line


def test_the_sla_report_shows_a_team_lead_the_complaint_rate_of_their_team(page_for, world):
    """The team lead's home card shows complaints per 1,000 policies of their teams; the
    SLA report, where the figure is explained, showed nothing for them."""
    TicketFactory(kind=TicketKind.COMPLAINT, agent=world.alice, policy=world.policy)
    page = html(page_for(world.lead_a).get("/tickets/sla/"))
    assert 'data-testid="complaint-rate"' in page
    card = page[page.index('data-testid="complaint-rate"') :]
    assert 'data-testid="complaint-rate-teams">A组<' in card
    assert page_for(world.alice).get("/tickets/sla/").status_code == 403


def test_ignored_queue_filters_are_listed_with_a_chinese_colon(page_for, world):
    page = html(page_for(world.ops).get("/tickets/queue/?status=bogus"))
    box = page[page.index('data-testid="filter-errors"') :]
    box = box[: box.index("</div></div>") if "</div></div>" in box else 600]
    assert "状态：" in box
    assert "状态: " not in box


def test_target_versions_and_customer_rows_use_a_chinese_colon(page_for, world):
    targets = html(page_for(world.ops).get("/tickets/targets/"))
    assert "今日生效：" in targets and "今日生效:" not in targets
    form = html(page_for(world.ops).get(f"/tickets/queue/new/?customer={world.holder.pk}"))
    assert "保单： " in form and "保单: " not in form
