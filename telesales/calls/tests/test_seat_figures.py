"""Per-seat productivity on the seats page (``calls.seat_figures``, drawn by org through
``org.hooks.register_seat_figures``), figures by hand.

Team A: alice (seat SA) and bob (seat SB), carl (no seat); team B: dave (seat SD). Two more
seats: one in maintenance, one vacant. This month:
  alice at SA: 3 dials, 2 answered (60 s and 125 s of talk); 1 dial at no seat (30 s talk)
  bob at SB: 1 dial, unanswered;  carl: 2 dials at no seat;  dave at SD: 4 dials, 1 answered
  sales: alice 1,000 + 2,500 (and 700 cancelled in free look: no sale); carl 800; dave 600
Last month: alice 5 dials and a sale of 9,999 — not counted.

Manager (every seat, 3 occupied): SA 3 / 2 / 0:03:05 / 2 / ¥3,500.00; SB 1 / 0 / 0 / 0 / 0;
SD 4 / 1 / 0 / 1 / ¥600.00; not at a seat (carl, alice's seatless call): 3 / 1 / 0:00:30 /
1 / ¥800.00. Total 11 / 4 / 0:03:35 / 4 / ¥4,900.00; per occupied seat (÷ 3): 3.7 / 1.3 /
0:01:12 / 1.3 / ¥1,633.33.
Team A's lead (SA and SB, 2 occupied): total 7 / 3 / 0:03:35 / 3 / ¥4,300.00; per occupied
seat (÷ 2): 3.5 / 1.5 / 0:01:48 / 1.5 / ¥2,150.00.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from telesales.calls.tests.factories import (
    CallAttemptFactory,
    PersonFactory,
    TeamFactory,
    UserFactory,
    registered_agent,
    team_lead_of,
)
from telesales.core.roles import Role
from telesales.operations.tests.factories import PolicyFactory, ProductFactory
from telesales.org.choices import SeatStatus
from telesales.org.tests.factories import SeatFactory
from telesales.policies.choices import CancelReason, PolicyStatus

pytestmark = pytest.mark.django_db


def _at(day: dt.date, minutes: int = 1) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min)) + dt.timedelta(
        minutes=minutes
    )


@pytest.fixture
def floor():
    today = timezone.localdate()
    last_month = today.replace(day=1) - dt.timedelta(days=3)
    team_a, team_b = TeamFactory(name="A组"), TeamFactory(name="B组")
    alice = registered_agent(team=team_a, name="李爱丽")
    bob = registered_agent(team=team_a, name="王博")
    carl = registered_agent(team=team_a, name="陈卡", seat=False)
    dave = registered_agent(team=team_b, name="戴维")
    SeatFactory(center=alice.center, code="M001", status=SeatStatus.MAINTENANCE)
    SeatFactory(center=alice.center, code="V001", status=SeatStatus.VACANT)
    lead_a = team_lead_of(team_a, username="lead_a")
    manager = UserFactory(username="boss", roles=[Role.MANAGER])
    PersonFactory(team=team_b, user=manager, name="经理")

    def call(agent, *, seat=True, talk=None, at=None):
        CallAttemptFactory(
            agent=agent,
            seat=agent.seat if seat else None,
            started_at=at or _at(today),
            answered_at=(at or _at(today)) if talk is not None else None,
            talk_seconds=talk or 0,
        )

    call(alice), call(alice, talk=60), call(alice, talk=125), call(alice, seat=False, talk=30)
    call(bob)
    call(carl, seat=False), call(carl, seat=False)
    call(dave), call(dave), call(dave), call(dave, talk=0)
    for _n in range(5):
        call(alice, at=_at(last_month))
    product = ProductFactory(code="seat-ci")

    def sale(agent, premium, *, day=today, **kw):
        return PolicyFactory(
            agent=agent,
            product=product,
            annualised_premium=Decimal(premium),
            issued_on=day,
            applied_at=_at(day, 5),
            **kw,
        )

    sale(alice, "1000"), sale(alice, "2500"), sale(carl, "800"), sale(dave, "600")
    sale(
        alice,
        "700",
        status=PolicyStatus.CANCELLED,
        cancelled_at=_at(today, 30),
        cancel_reason=CancelReason.CHANGED_MIND,
    )
    sale(alice, "9999", day=last_month)
    return {"alice": alice, "bob": bob, "dave": dave, "lead_a": lead_a, "manager": manager}


def _page(user, query=""):
    client = Client()
    client.force_login(user)
    response = client.get("/org/seats/" + query)
    assert response.status_code == 200
    return response


def _row(html: str, testid: str) -> list[str]:
    """The figures of a row: its cells that carry a figure (``data-key``), else all."""
    row = html.split(f'data-testid="{testid}"', 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r"<td[^>]*data-key[^>]*>.*?</td>", row) or re.findall(
        r"<td[^>]*>.*?</td>", row
    )
    return [re.sub(r"<[^>]+>", "", c).strip() for c in cells]


def test_manager_sees_each_seats_figures_the_total_and_per_occupied_seat(floor):
    response = _page(floor["manager"])
    html = response.content.decode()
    p = response.context["productivity"]
    assert [f.key for f in p["figures"]] == [
        "dials",
        "connects",
        "talk_seconds",
        "sales",
        "premium",
    ]
    seat_a, seat_d = floor["alice"].seat, floor["dave"].seat
    assert p["per_seat"][seat_a.pk] == {
        "dials": 3,
        "connects": 2,
        "talk_seconds": 185,
        "sales": 2,
        "premium": Decimal("3500.00"),
    }
    assert _row(html, f"seat-row-{seat_a.code}") == ["3", "2", "0:03:05", "2", "¥3,500.00"]
    assert _row(html, f"seat-row-{floor['bob'].seat.code}") == ["1", "0", "0:00:00", "0", "¥0.00"]
    assert _row(html, f"seat-row-{seat_d.code}") == ["4", "1", "0:00:00", "1", "¥600.00"]
    assert _row(html, "seat-row-M001") == ["0", "0", "0:00:00", "0", "¥0.00"]
    assert _row(html, "productivity-elsewhere") == ["3", "1", "0:00:30", "1", "¥800.00"]
    assert _row(html, "productivity-seats-total") == ["8", "3", "0:03:05", "3", "¥4,100.00"]
    assert _row(html, "productivity-total") == ["11", "4", "0:03:35", "4", "¥4,900.00"]
    assert p["occupied"] == 3
    assert _row(html, "productivity-per-seat") == ["3.7", "1.3", "0:01:12", "1.3", "¥1,633.33"]
    today = timezone.localdate()
    assert f"{today.replace(day=1):%Y-%m-%d} – {today:%Y-%m-%d}" in html
    assert re.search(rf'name="month"[^>]*value="{today:%Y-%m}"', html)


def test_a_team_lead_sees_their_teams_seats_only(floor):
    response = _page(floor["lead_a"].user)
    html = response.content.decode()
    assert floor["dave"].seat.code not in html
    assert response.context["productivity"]["occupied"] == 2
    assert _row(html, "productivity-total") == ["7", "3", "0:03:35", "3", "¥4,300.00"]
    assert _row(html, "productivity-per-seat") == ["3.5", "1.5", "0:01:48", "1.5", "¥2,150.00"]


def test_another_month_and_a_month_not_begun(floor):
    last_month = timezone.localdate().replace(day=1) - dt.timedelta(days=3)
    html = _page(floor["manager"], f"?month={last_month:%Y-%m}").content.decode()
    assert _row(html, "productivity-total") == ["5", "0", "0:00:00", "1", "¥9,999.00"]
    # Nothing outside the listed seats that month: one total, not the same row twice.
    assert 'data-testid="productivity-elsewhere"' not in html
    assert 'data-testid="productivity-seats-total"' not in html
    following = (timezone.localdate().replace(day=28) + dt.timedelta(days=7)).strftime("%Y-%m")
    response = _page(floor["manager"], f"?month={following}")
    assert "尚未开始" in response.content.decode()  # said, and this month shown instead
    assert response.context["productivity"]["since"] == timezone.localdate().replace(day=1)
