"""The team lead's live board and the call reports: who sees what, the figures (computed by
hand on a small floor), the cost of the polling partial, the Excel export and its audit row,
and the messages for bad date ranges."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from telesales.calls.choices import AgentState, FollowUpStatus
from telesales.calls.models import AgentPresence, Disposition
from telesales.calls.tests.factories import (
    CallAttemptFactory,
    FollowUpFactory,
    TeamFactory,
    UserFactory,
    owned_lead,
    registered_agent,
    team_lead_of,
)
from telesales.core.models import AuditEntry
from telesales.core.phone_numbers import PHONE_LIKE
from telesales.core.roles import Role
from telesales.leads.models import Lead
from telesales.org.choices import TeamStage
from telesales.policies import services as policy_services
from telesales.policies.choices import CancelReason
from telesales.policies.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

BOARD = reverse("calls:board")
REPORT = reverse("calls:report")
EXPORT = reverse("calls:report_export")


def _today_at(hour: int, minute: int = 0, days_ago: int = 0) -> dt.datetime:
    day = timezone.localdate() - dt.timedelta(days=days_ago)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _call(lead, agent, at, *, talk=None, code="no_answer"):
    """An attempt as the services leave it: answered ``talk`` seconds, or not answered."""
    answered = at + dt.timedelta(seconds=10) if talk is not None else None
    ended = (answered or at) + dt.timedelta(seconds=talk or 20)
    return CallAttemptFactory(
        lead=lead,
        agent=agent,
        seat=getattr(agent, "seat", None),
        started_at=at,
        answered_at=answered,
        ended_at=ended,
        talk_seconds=talk or 0,
        disposition=Disposition.objects.get(code=code),
        disposed_at=ended,
    )


def _sale(agent, lead, product, premium: str, *, at=None):
    return policy_services.sale_record(
        lead=lead,
        agent=agent,
        product=product,
        annualised_premium=Decimal(premium),
        payment_mode="annual",
        term_years=1,
        insured_ids=[lead.customer_id],
        actor="system",
        at=at,
    )


def _client(user) -> Client:
    """Signed in, with the English UI (the messages below are checked in English)."""
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def floor(center_afternoon):
    """Two teams. Team A (lead ``tl-a``): agents a1 and a2; team B (lead ``tl-b``): b1.

    Today a1 made 3 calls (missed; answered 30 s; answered 200 s), a2 one (answered 90 s),
    b1 one (missed); yesterday a1 one more (answered 45 s). a1 sold a policy today (1,200)
    and another one that was cancelled in free-look (800); a2 sold one 41 days ago (3,000),
    kept past its free-look window. a1 is talking, a2 on a break, b1 has no presence.
    An overdue follow-up of each team is escalated; a1 finished one follow-up yesterday."""
    now = timezone.now()
    team_a = TeamFactory(name="甲组", stage=TeamStage.STEADY_GROWTH)
    team_b = TeamFactory(name="乙组", center=team_a.center, stage=TeamStage.START_UP)
    tl_a = team_lead_of(team_a, username="tl-a")
    tl_b = team_lead_of(team_b, username="tl-b")
    a1 = registered_agent(team=team_a, username="a1", name="王甲一")
    a2 = registered_agent(team=team_a, username="a2", name="李甲二")
    b1 = registered_agent(team=team_b, username="b1", name="赵乙一")
    manager = UserFactory(username="boss", roles=[Role.MANAGER])
    l1, l2 = owned_lead(a1), owned_lead(a1)
    l3, l5 = owned_lead(a2), owned_lead(a2)
    l4 = owned_lead(b1)
    _call(l1, a1, _today_at(10, 0))
    _call(l1, a1, _today_at(10, 40), talk=30, code="callback")
    _call(l2, a1, _today_at(11, 0), talk=200, code="interested")
    _call(l3, a2, _today_at(10, 5), talk=90, code="interested")
    _call(l4, b1, _today_at(10, 10))
    _call(l2, a1, _today_at(15, 0, days_ago=1), talk=45, code="interested")
    product = ProductFactory(min_premium=Decimal("100"), max_premium=Decimal("5000"))
    _sale(a1, l2, product, "1200.00", at=now)
    cancelled = _sale(a1, l1, product, "800.00", at=now)
    policy_services.policy_issue(policy=cancelled, actor="system", issued_at=now)
    policy_services.policy_free_look_cancel(
        policy=cancelled, reason=CancelReason.CHANGED_MIND, note="", actor="system", at=now
    )
    old = _sale(a2, l5, product, "3000.00", at=now - dt.timedelta(days=41))
    policy_services.policy_issue(policy=old, actor="system", issued_at=now - dt.timedelta(days=40))
    policy_services.policy_receipt_confirm(
        policy=old, receipt_date=timezone.localdate() - dt.timedelta(days=39), actor="system"
    )
    policy_services.policies_free_look_close()
    AgentPresence.objects.create(
        person=a1, state=AgentState.TALKING, since=now - dt.timedelta(seconds=125)
    )
    AgentPresence.objects.create(
        person=a2, state=AgentState.BREAK, since=now - dt.timedelta(minutes=10)
    )
    FollowUpFactory(
        lead=l3,
        agent=a2,
        due_at=now - dt.timedelta(hours=30),
        escalated_at=now - dt.timedelta(hours=6),
        escalated_to=tl_a,
    )
    FollowUpFactory(
        lead=l4,
        agent=b1,
        due_at=now - dt.timedelta(hours=50),
        escalated_at=now - dt.timedelta(hours=20),
        escalated_to=tl_b,
    )
    FollowUpFactory(
        lead=l2,
        agent=a1,
        due_at=now - dt.timedelta(days=1, hours=2),
        status=FollowUpStatus.DONE,
        done_at=_today_at(15, 0, days_ago=1),
    )
    return {
        "team_a": team_a,
        "team_b": team_b,
        "tl_a": tl_a.user,
        "tl_b": tl_b.user,
        "a1": a1,
        "a2": a2,
        "b1": b1,
        "manager": manager,
        "leads": (l1, l2, l3, l4, l5),
    }


def _row(html: str, person) -> str:
    match = re.search(rf'<tr data-agent="{person.pk}">(.*?)</tr>', html, re.S)
    assert match, f"no board row for {person.name}"
    return match.group(1)


def _col(row: str, name: str) -> str:
    match = re.search(rf'data-col="{name}">([^<]*)<', row)
    assert match, name
    return match.group(1).strip()


# --- Access ----------------------------------------------------------------------------------
@pytest.mark.parametrize("url", [BOARD, REPORT, EXPORT])
def test_an_agent_may_not_open_the_board_or_the_reports(floor, url):
    response = _client(floor["a1"].user).get(url)
    assert response.status_code == 403


@pytest.mark.parametrize("url", [BOARD, REPORT, EXPORT])
def test_anonymous_users_are_sent_to_sign_in(floor, url):
    response = Client().get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_team_lead_sees_only_the_agents_of_the_teams_they_lead(floor):
    html = _client(floor["tl_a"]).get(BOARD).content.decode()
    assert floor["a1"].name in html and floor["a2"].name in html
    assert floor["b1"].name not in html
    assert f'data-agent="{floor["b1"].pk}"' not in html


def test_a_team_lead_cannot_filter_the_board_to_a_team_they_do_not_lead(floor):
    response = _client(floor["tl_a"]).get(BOARD, {"team": floor["team_b"].pk})
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="board-filter-error"' in html
    assert floor["b1"].name not in html and floor["a1"].name in html


def test_the_manager_sees_every_team_and_may_filter_one(floor):
    client = _client(floor["manager"])
    html = client.get(BOARD).content.decode()
    for person in (floor["a1"], floor["a2"], floor["b1"]):
        assert f'data-agent="{person.pk}"' in html
    assert 'data-testid="board-filter"' in html
    only_b = client.get(BOARD, {"team": floor["team_b"].pk}).content.decode()
    assert f'data-agent="{floor["b1"].pk}"' in only_b
    assert f'data-agent="{floor["a1"].pk}"' not in only_b


def test_team_leads_do_not_appear_as_agents_on_their_board(floor):
    html = _client(floor["tl_a"]).get(BOARD).content.decode()
    assert f'data-agent="{floor["team_a"].leader_id}"' not in html


# --- Board figures ----------------------------------------------------------------------------
def test_board_figures_for_today_are_those_computed_by_hand(floor):
    html = _client(floor["tl_a"]).get(BOARD).content.decode()
    a1 = _row(html, floor["a1"])
    assert _col(a1, "dials") == "3"  # yesterday's call is not today's
    assert _col(a1, "connects") == "2"
    assert _col(a1, "talk") == "0:03:50"  # 30 + 200 seconds, H:MM:SS
    assert _col(a1, "effective") == "1"  # 200 s ≥ 60 s; 30 s is not
    assert _col(a1, "sales") == "1"  # the cancelled policy does not count
    assert _col(a1, "premium") == "¥1,200.00"
    assert ">Talking<" in a1
    a2 = _row(html, floor["a2"])
    assert (_col(a2, "dials"), _col(a2, "connects"), _col(a2, "effective")) == ("1", "1", "1")
    assert _col(a2, "talk") == "0:01:30"  # a minute and a half, not an hour and a half
    # Per occupied seat: 4 dials, 320 s of talk and 1,200 yuan over the 2 seats of team A
    per_seat = re.search(r'data-testid="board-per-seat">(.*?)</p>', html, re.S).group(1)
    assert "<strong>2.0</strong>" in per_seat
    assert "<strong>0:02:40</strong>" in per_seat
    assert "¥600.00" in per_seat


def test_board_shows_each_state_and_how_long(floor):
    html = _client(floor["tl_a"]).get(BOARD, {"part": "live"}).content.decode()
    a1, a2 = _row(html, floor["a1"]), _row(html, floor["a2"])
    assert ">Talking<" in a1 and re.search(r">0:02:0[5-9]<", a1)
    assert ">On a break<" in a2 and re.search(r">0:10:0\d<", a2)
    manager = _client(floor["manager"]).get(BOARD).content.decode()
    assert ">Offline<" in _row(manager, floor["b1"])


def test_a_call_open_past_the_limit_is_marked_on_the_board(floor, settings):
    """a1 forgot to hang up three hours ago; a2 is on a call of five minutes."""
    settings.TELESALES_CALL_OPEN_LIMIT_MINUTES = 120
    now = timezone.now()
    for agent, lead, opened in (
        (floor["a1"], floor["leads"][0], dt.timedelta(hours=3)),
        (floor["a2"], floor["leads"][2], dt.timedelta(minutes=5)),
    ):
        call = CallAttemptFactory(
            lead=lead, agent=agent, started_at=now - opened, answered_at=now - opened
        )
        AgentPresence.objects.filter(person=agent).update(
            state=AgentState.TALKING, since=now - opened, attempt=call
        )
    html = _client(floor["tl_a"]).get(BOARD, {"part": "live"}).content.decode()
    a1, a2 = _row(html, floor["a1"]), _row(html, floor["a2"])
    assert 'data-testid="call-open-too-long"' in a1 and "Call open for 3:00:0" in a1
    assert 'data-testid="call-open-too-long"' not in a2 and ">Talking<" in a2
    settings.TELESALES_CALL_OPEN_LIMIT_MINUTES = 240
    html = _client(floor["tl_a"]).get(BOARD, {"part": "live"}).content.decode()
    assert 'data-testid="call-open-too-long"' not in html


def test_escalated_followups_of_the_team_are_listed_under_the_board(floor):
    l3, l4 = floor["leads"][2], floor["leads"][3]
    html = _client(floor["tl_a"]).get(BOARD).content.decode()
    block = re.search(r'data-testid="board-escalations">(.*?)</table>', html, re.S).group(1)
    assert f"#{l3.pk}<" in block and f"#{l4.pk}<" not in block
    assert ">1d 6h<" in block  # overdue by 30 hours
    manager = _client(floor["manager"]).get(BOARD).content.decode()
    assert f"#{l4.pk}<" in manager
    assert not PHONE_LIKE.search(html) and not PHONE_LIKE.search(manager)


def test_the_board_polls_its_live_part(floor):
    client = _client(floor["tl_a"])
    page = client.get(BOARD).content.decode()
    assert 'hx-trigger="every 5s"' in page and "part=live" in page
    part = client.get(BOARD, {"part": "live"})
    html = part.content.decode()
    assert part.status_code == 200
    assert html.lstrip().startswith('<div id="board-live"') and "<html" not in html
    assert "no-cache" in part["Cache-Control"] or "max-age=0" in part["Cache-Control"]


def _more_agents(team, n: int):
    now = timezone.now()
    for i in range(n):
        agent = registered_agent(team=team)
        lead = owned_lead(agent)
        _call(lead, agent, _today_at(9, 30 + i % 20), talk=70 + i, code="interested")
        _call(lead, agent, _today_at(14, i % 50))
        AgentPresence.objects.create(person=agent, state=AgentState.IDLE, since=now)


def test_the_polling_partial_costs_a_fixed_number_of_queries(floor, django_assert_max_num_queries):
    client = _client(floor["manager"])
    with django_assert_max_num_queries(22):
        assert client.get(BOARD, {"part": "live"}).status_code == 200
    _more_agents(floor["team_a"], 12)
    _more_agents(floor["team_b"], 12)
    with django_assert_max_num_queries(22):
        html = client.get(BOARD, {"part": "live"}).content.decode()
    assert html.count("<tr data-agent=") == 3 + 24


# --- Reports ---------------------------------------------------------------------------------
def _report(client, **params) -> str:
    today = timezone.localdate()
    query = {"since": (today - dt.timedelta(days=45)).isoformat(), "until": today.isoformat()}
    query.update(params)
    response = client.get(REPORT, query)
    assert response.status_code == 200, response.content.decode()[:500]
    return response.content.decode()


def _report_row(html: str, testid: str, key) -> str:
    table = re.search(rf'data-testid="{testid}">(.*?)</table>', html, re.S).group(1)
    match = re.search(rf'<tr[^>]*data-key="{key}">(.*?)</tr>', table, re.S)
    assert match, (testid, key)
    return match.group(1)


def _cell(row: str, name: str) -> str:
    match = re.search(rf'data-col="{name}">(.*?)</td>', row, re.S)
    assert match, name
    return re.sub(r"<[^>]+>", " ", match.group(1)).split()


def test_report_figures_per_agent_keep_numerator_and_denominator(floor):
    html = _report(_client(floor["tl_a"]))
    a1 = _report_row(html, "report-agents", floor["a1"].pk)
    assert _cell(a1, "dials") == ["4"]
    assert _cell(a1, "connect_rate") == ["75.0%", "3/4"]
    assert _cell(a1, "lead_connect_rate") == ["100.0%", "2/2"]
    assert _cell(a1, "effective_rate") == ["33.3%", "1/3"]
    assert _cell(a1, "talk") == ["0:04:35"]  # 30 + 200 + 45
    assert _cell(a1, "avg_talk") == ["0:01:31"]  # 275 ÷ 3
    assert _cell(a1, "followups_done") == ["1"]
    assert _cell(a1, "followups_overdue") == ["0"]
    # 1 sale (the one cancelled in free look is no sale), 2 leads connected
    assert _cell(a1, "conversion") == ["50.0%", "1/2"]
    assert _cell(a1, "premium") == ["¥1,200.00"]  # the cancelled 800 is netted off
    assert _cell(a1, "stabilisation") == ["0.0%", "0/1"]  # issued and cancelled
    a2 = _report_row(html, "report-agents", floor["a2"].pk)
    assert _cell(a2, "followups_overdue") == ["1"]
    assert _cell(a2, "premium") == ["¥3,000.00"]
    assert _cell(a2, "stabilisation") == ["100.0%", "1/1"]
    assert f'data-key="{floor["b1"].pk}"' not in html


def test_report_figures_per_team_and_in_total(floor):
    html = _report(_client(floor["manager"]))
    team_a = _report_row(html, "report-teams", floor["team_a"].pk)
    assert _cell(team_a, "dials") == ["5"]
    assert _cell(team_a, "connect_rate") == ["80.0%", "4/5"]
    assert _cell(team_a, "lead_connect_rate") == ["100.0%", "3/3"]
    assert _cell(team_a, "effective_rate") == ["50.0%", "2/4"]
    assert _cell(team_a, "conversion") == ["66.7%", "2/3"]
    assert _cell(team_a, "premium") == ["¥4,200.00"]
    assert _cell(team_a, "stabilisation") == ["50.0%", "1/2"]
    total = _report_row(html, "report-teams", "total")
    assert _cell(total, "dials") == ["6"]
    assert _cell(total, "lead_connect_rate") == ["75.0%", "3/4"]
    assert _cell(total, "followups_overdue") == ["2"]
    chart = json.loads(re.search(r'id="chart-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert chart["names"] == ["乙组", "甲组"] and chart["dials"] == [1, 5]


def test_report_period_excludes_calls_outside_it(floor):
    today = timezone.localdate().isoformat()
    html = _report(_client(floor["tl_a"]), since=today, until=today)
    a1 = _report_row(html, "report-agents", floor["a1"].pk)
    assert _cell(a1, "dials") == ["3"]
    assert _cell(a1, "stabilisation") == ["0.0%", "0/1"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "2026-03-10", "until": "2026-03-01"}, "after it ends"),
        ({"since": "2020-01-01", "until": "2021-06-30"}, "at most 366"),
        ({"since": "2026-02-30", "until": "2026-03-01"}, "valid date"),
        ({"since": "", "until": ""}, "required"),
    ],
)
def test_bad_date_ranges_get_a_clear_message(floor, params, message):
    response = _client(floor["tl_a"]).get(REPORT, {**params})
    html = response.content.decode()
    assert response.status_code == 422
    assert 'data-testid="report-errors"' in html and message in html
    assert 'data-testid="report-agents"' not in html


def test_a_period_ending_in_the_future_is_refused(floor):
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = _client(floor["tl_a"]).get(REPORT, {"since": "2026-01-01", "until": tomorrow})
    assert response.status_code == 422
    assert "cannot end after today" in response.content.decode()


def test_report_defaults_to_the_month_to_date_like_the_cards(floor):
    """Without a period the report covers the days of the dashboard cards (the month to
    date), and its boxes show them; a period given is the period shown."""
    today = timezone.localdate()
    html = _client(floor["tl_a"]).get(REPORT).content.decode()
    assert f'name="since" value="{today.replace(day=1).isoformat()}"' in html
    assert f'name="until" value="{today.isoformat()}"' in html
    assert 'data-testid="report-agents"' in html
    html = _client(floor["tl_a"]).get(REPORT, {"team": floor["team_a"].pk}).content.decode()
    assert f'name="since" value="{today.replace(day=1).isoformat()}"' in html
    html = _client(floor["tl_a"]).get(REPORT, {"until": "2026-02-14"}).content.decode()
    assert 'name="since" value="2026-02-01"' in html and 'name="until" value="2026-02-14"' in html


# --- Export ----------------------------------------------------------------------------------
def test_the_export_holds_the_report_and_is_audited(floor):
    today = timezone.localdate()
    params = {"since": (today - dt.timedelta(days=45)).isoformat(), "until": today.isoformat()}
    response = _client(floor["tl_a"]).get(EXPORT, params)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    agents = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    teams = [list(r) for r in book.worksheets[1].iter_rows(values_only=True)]
    header = agents[0]
    by_name = {r[0]: dict(zip(header, r, strict=False)) for r in agents[1:]}
    a1 = by_name[floor["a1"].name]
    assert a1[header[2]] == 4  # dials
    assert a1[header[3]] == 3  # answered
    assert floor["b1"].name not in by_name
    assert [r[0] for r in teams[1:]] == ["甲组", "Total"] or len(teams) == 3
    # QA: the team sheet's first column said "Name" over team names.
    assert teams[0][0] == agents[0][1] and teams[0][1:] == agents[0][2:]
    text = " ".join(str(v) for row in agents + teams for v in row if v is not None)
    assert not PHONE_LIKE.search(text)
    entry = AuditEntry.objects.get(action="calls.report_export")
    assert entry.actor == floor["tl_a"]
    assert entry.after["since"] == params["since"] and entry.after["agents"] == 2


def test_a_bad_export_period_is_refused_without_an_audit_row(floor):
    response = _client(floor["tl_a"]).get(EXPORT, {"since": "2026-03-10", "until": "2026-03-01"})
    assert response.status_code == 422
    assert not AuditEntry.objects.filter(action="calls.report_export").exists()


def _conversion_card(user, period):
    from telesales.core.dashboard import indicators_for

    return [i for i in indicators_for(user=user, period=period) if i.key == "calls.conversion"]


def test_an_application_declined_by_underwriting_is_no_sale(floor):
    """a2 sells to l3 today and underwriting declines it: the card goes back to 1 ÷ 3 (a1's
    sale kept; the one cancelled in free look is no sale), the live board's sales of a2 stay
    at nothing."""
    from telesales.calls.selectors import live_board
    from telesales.core.dashboard import Period

    today = timezone.localdate()
    product = ProductFactory(min_premium=Decimal("100"), max_premium=Decimal("5000"))
    lead = Lead.objects.filter(owner=floor["a2"]).exclude(state="won").order_by("id").first()
    declined = _sale(floor["a2"], lead, product, "900.00")
    [card] = _conversion_card(floor["manager"], Period(since=today, until=today))
    assert card.numerator == 2  # counted while it is an application
    policy_services.policy_decline(policy=declined, note="拒保", actor="system")
    [card] = _conversion_card(floor["manager"], Period(since=today, until=today))
    assert (card.numerator, card.denominator) == (1, 3)
    board = live_board(user=floor["manager"])
    a2 = next(row for row in board["agents"] if row["agent_id"] == floor["a2"].pk)
    assert (a2["sales"], a2["premium"]) == (0, Decimal("0.00"))


def test_a_decline_books_the_agent_a_call_back_to_the_customer(floor):
    """The lead back in a2's hands: a follow-up after the cadence's first spacing, inside the
    calling window, naming the declined policy; a lead still won by another policy gets none."""
    from telesales.calls.models import FollowUp
    from telesales.calls.rules import callrules_for_person
    from telesales.calls.services import _inside_window

    product = ProductFactory(min_premium=Decimal("100"), max_premium=Decimal("5000"))
    lead = Lead.objects.filter(owner=floor["a2"]).exclude(state="won").order_by("id").first()
    declined = _sale(floor["a2"], lead, product, "900.00")
    before = timezone.now()
    policy_services.policy_decline(policy=declined, note="拒保", actor="system")
    (followup,) = FollowUp.objects.filter(lead=lead, status=FollowUpStatus.OPEN)
    rules = callrules_for_person(floor["a2"])
    lead.refresh_from_db()
    earliest = _inside_window(lead, before + dt.timedelta(days=rules.spacing_for(1)), rules)
    assert followup.agent_id == floor["a2"].pk and followup.kind == "follow_up"
    assert earliest <= followup.due_at <= earliest + dt.timedelta(minutes=1)
    assert f"#{declined.pk}" in followup.note
    # a1's l2 was won by a kept policy: a second one declined leaves it won, no follow-up.
    won = Lead.objects.get(owner=floor["a1"], state="won", premium=Decimal("1200.00"))
    second = _sale(floor["a1"], won, product, "500.00")
    open_before = FollowUp.objects.filter(lead=won, status=FollowUpStatus.OPEN).count()
    policy_services.policy_decline(policy=second, note="拒保", actor="system")
    assert FollowUp.objects.filter(lead=won, status=FollowUpStatus.OPEN).count() == open_before


def test_the_conversion_card_counts_like_the_report(floor):
    """Today: team A connected with l1, l2 (a1) and l3 (a2) and a1 sold twice, one of them
    cancelled since: no sale, as the sales results count it → 1 ÷ 3; team B connected with
    nobody; agents get no card."""
    from telesales.core.dashboard import Period

    today = timezone.localdate()
    period = Period(since=today, until=today)
    [card] = _conversion_card(floor["tl_a"], period)
    assert (card.numerator, card.denominator, card.value) == (1, 3, Decimal("33.3"))
    assert card.url == f"/calls/reports/?since={today.isoformat()}&until={today.isoformat()}"
    [card] = _conversion_card(floor["manager"], period)
    assert (card.numerator, card.denominator, card.value) == (1, 3, Decimal("33.3"))
    [card] = _conversion_card(floor["tl_b"], period)
    assert (card.numerator, card.denominator, card.value) == (0, 0, None)
    assert _conversion_card(floor["a1"].user, period) == []
    # The team home draws it; the placeholder about the workspace module is gone.
    html = _client(floor["tl_a"]).get(reverse("org:team_home")).content.decode()
    assert 'data-testid="indicator-calls.conversion"' in html
    assert "workspace module arrives" not in html


def test_the_board_counts_seats_as_the_premium_per_seat_card_does(floor):
    # The team lead's own seat is a seat of the team: the board's "per occupied seat" and the
    # "premium per seat" card on the team lead's home page divide by the same number.
    from telesales.core.dashboard import Period
    from telesales.org.choices import SeatStatus
    from telesales.org.tests.factories import SeatFactory
    from telesales.policies.dashboard import premium_per_seat_indicator

    leader = floor["team_a"].leader
    SeatFactory(person=leader, status=SeatStatus.OCCUPIED)
    today = timezone.localdate()

    html = _client(floor["tl_a"]).get(BOARD).content.decode()
    card = premium_per_seat_indicator(
        user=floor["tl_a"], period=Period(since=today.replace(day=1), until=today)
    )

    per_seat = re.search(r'data-testid="board-per-seat">(.*?)</p>', html, re.S).group(1)
    assert card.denominator == 3  # two agents' seats and the lead's
    assert re.search(rf"\b{card.denominator}\b", per_seat.split(":")[0])
    assert "<strong>1.3</strong>" in per_seat  # 4 dials over 3 seats
    assert "¥400.00" in per_seat  # 1,200 yuan over 3 seats


# --- QA of the team lead's board (issue 4, item 10) -------------------------------------------
def _states(html: str) -> dict[str, str]:
    block = re.search(r'data-testid="board-states">(.*?)</div>', html, re.S).group(1)
    return dict(re.findall(r'data-state="(\w+)">[^<]*<strong>(\d+)</strong>', block))


def test_agents_last_seen_yesterday_read_offline_today(floor):
    """At the start of a day: a1 was left "talking" on a call dialled at 22:48 yesterday and a2
    "ready" since 22:50 yesterday. Neither is on the floor today: the board reads them offline
    (no "call open for 22:48:14: not hung up?"), the counts say so, and so does the API."""
    from telesales.calls.selectors import live_board

    a1, a2 = floor["a1"], floor["a2"]
    opened = _today_at(22, 48, days_ago=1)
    call = CallAttemptFactory(
        lead=floor["leads"][0], agent=a1, started_at=opened, answered_at=opened
    )
    AgentPresence.objects.filter(person=a1).update(
        state=AgentState.TALKING, since=opened, attempt=call, lead=floor["leads"][0]
    )
    AgentPresence.objects.filter(person=a2).update(
        state=AgentState.IDLE, since=_today_at(22, 50, days_ago=1)
    )
    html = _client(floor["tl_a"]).get(BOARD, {"part": "live"}).content.decode()
    for agent in (a1, a2):
        row = _row(html, agent)
        assert ">Offline<" in row and _col(row, "for") == "—"
        assert "Last seen" in row
    assert 'data-testid="call-open-too-long"' not in html
    assert _states(html) == {
        "talking": "0",
        "dialling": "0",
        "wrap_up": "0",
        "idle": "0",
        "break": "0",
        "offline": "2",
    }
    assert f'href="/leads/{floor["leads"][0].pk}/"' not in _row(html, a1)
    rows = {r["agent_id"]: r for r in live_board(user=floor["tl_a"])["agents"]}
    assert rows[a1.pk]["state"] == "offline" and rows[a1.pk]["lead_id"] is None
    assert rows[a1.pk]["call_open_too_long"] is False and rows[a1.pk]["call_id"] is None
    assert rows[a2.pk]["state"] == "offline"
    # Back on the floor today: the state (and a call open since this morning) shows again.
    AgentPresence.objects.filter(person=a2).update(
        state=AgentState.IDLE, since=timezone.now() - dt.timedelta(minutes=3)
    )
    html = _client(floor["tl_a"]).get(BOARD, {"part": "live"}).content.decode()
    assert ">Ready<" in _row(html, a2) and _states(html)["idle"] == "1"


def test_the_morning_task_sets_agents_last_seen_before_today_offline(floor):
    """The periodic task: a1 (talking since yesterday 22:48, a lead in hand) goes offline and
    gives the lead back, the call left open stays for the next dial to hang up; a2 (on a
    break since ten minutes ago) is left alone; one audit row, as the system."""
    from django.conf import settings as django_settings

    from telesales.calls.tasks import presences_reset_stale_task

    a1, a2 = floor["a1"], floor["a2"]
    opened = _today_at(22, 48, days_ago=1)
    call = CallAttemptFactory(
        lead=floor["leads"][0], agent=a1, started_at=opened, answered_at=opened
    )
    AgentPresence.objects.filter(person=a1).update(
        state=AgentState.TALKING, since=opened, attempt=call, lead=floor["leads"][0]
    )
    assert presences_reset_stale_task.delay().get() == {"reset": 1}
    p1 = AgentPresence.objects.get(person=a1)
    assert p1.state == AgentState.OFFLINE and p1.lead_id is None
    assert p1.since >= timezone.now() - dt.timedelta(minutes=1)
    assert p1.attempt_id == call.pk  # still open: the next dial hangs it up
    assert AgentPresence.objects.get(person=a2).state == AgentState.BREAK
    entry = AuditEntry.objects.get(action="calls.presences_reset_stale")
    assert entry.actor is None and entry.actor_name == "system"
    assert entry.after == {"agents": 1, "person_ids": [a1.pk]}
    assert presences_reset_stale_task.delay().get() == {"reset": 0}  # nothing left to do
    schedule = {e["task"] for e in django_settings.CELERY_BEAT_SCHEDULE.values()}
    assert "calls.presences_reset_stale_task" in schedule


def test_the_board_names_the_lead_in_hand_to_those_who_may_see_it(floor):
    """a1 holds l2 (their own lead): the team lead and the manager see its number and the
    customer's name, linked to the lead's page. A lead the team lead may not open (b1's l4,
    another team's) is not named to them."""
    l2, l4 = floor["leads"][1], floor["leads"][3]
    AgentPresence.objects.filter(person=floor["a1"]).update(lead=l2)
    AgentPresence.objects.filter(person=floor["a2"]).update(lead=l4)
    for user in (floor["tl_a"], floor["manager"]):
        html = _client(user).get(BOARD).content.decode()
        row = _row(html, floor["a1"])
        assert f'<a href="{reverse("leads:lead_detail", args=[l2.pk])}">#{l2.pk}</a>' in row
        assert l2.customer.name in row
        assert not PHONE_LIKE.search(html)
    team_lead = _client(floor["tl_a"]).get(BOARD).content.decode()
    assert f"#{l4.pk}" not in _row(team_lead, floor["a2"])
    manager = _client(floor["manager"]).get(BOARD).content.decode()
    assert f"#{l4.pk}<" in _row(manager, floor["a2"])


def test_money_reads_in_yuan_with_thousands_on_the_board_and_the_reports(floor):
    product = ProductFactory(min_premium=Decimal("100"), max_premium=Decimal("500000"))
    _sale(floor["a2"], floor["leads"][4], product, "189570.00")
    html = _client(floor["tl_a"]).get(BOARD).content.decode()
    assert _col(_row(html, floor["a2"]), "premium") == "¥189,570.00"
    total = re.search(r'data-testid="board-total-premium">([^<]*)<', html).group(1)
    assert total == "¥190,770.00"
    report = _report(_client(floor["tl_a"]))
    assert _cell(_report_row(report, "report-agents", floor["a2"].pk), "premium") == ["¥192,570.00"]


def test_talk_times_run_on_in_hours_and_waits_of_a_day_read_in_days(floor):
    """A talk time of 25 hours in a report reads 25:03:50, as on the seats page (QA: the
    report said "1天1小时", dropping the minutes); a follow-up overdue 35 hours reads in days
    and hours; below a day both are H:MM:SS."""
    from django.utils import translation

    from telesales.calls.views.board import _duration, _elapsed
    from telesales.org.templatetags.org_display import seat_figure

    assert _duration(90) == _elapsed(90) == "0:01:30"
    assert _duration(3 * 3600 + 5 * 60 + 9) == "3:05:09"
    assert _duration(25 * 3600 + 3 * 60 + 50) == "25:03:50" == seat_figure(90230, "seconds")
    assert _elapsed(35 * 3600) == "1天11小时"  # the center's language
    with translation.override("en"):
        assert _elapsed(35 * 3600) == "1d 11h"
    assert _duration(None) == _elapsed(None) == "—"


def test_the_boards_report_link_opens_today(floor):
    today = timezone.localdate().isoformat()
    client = _client(floor["manager"])
    html = client.get(BOARD).content.decode()
    href = re.search(r'href="([^"]*)" data-testid="board-report-link"', html).group(1)
    assert href == f"{REPORT}?since={today}&amp;until={today}"
    one = client.get(BOARD, {"team": floor["team_b"].pk}).content.decode()
    href = re.search(r'href="([^"]*)" data-testid="board-report-link"', one).group(1)
    assert href.endswith(f"until={today}&amp;team={floor['team_b'].pk}")
    page = client.get(href.replace("&amp;", "&")).content.decode()
    assert f'name="since" value="{today}"' in page and f'name="until" value="{today}"' in page


def test_a_report_field_error_reads_with_a_full_width_colon_in_chinese(floor):
    client = Client()
    client.force_login(floor["tl_a"])
    response = client.get(REPORT, {"team": floor["team_b"].pk})
    html = response.content.decode()
    assert response.status_code == 422
    errors = re.search(r'data-testid="report-errors">(.*?)</div>\s*</div>', html, re.S).group(1)
    assert "团队：" in errors and "团队:" not in errors


def test_the_conversion_cards_link_opens_a_report_with_the_cards_numbers(floor):
    """The card (month to date) counts sales as the sales results panel next to it does (net
    of the policy cancelled in free look), and the report it links to reads the card's
    numerator and denominator in its total."""
    from telesales.core.dashboard import Period
    from telesales.policies.sales_panel import sales_summary

    period = Period.month_to_date(timezone.localdate())
    for user in (floor["tl_a"], floor["manager"]):
        [card] = _conversion_card(user, period)
        assert card.numerator == sales_summary(user=user, period=period)["policies"]
        html = _client(user).get(card.url).content.decode()
        total = _report_row(html, "report-teams", "total")
        assert _cell(total, "conversion")[1] == f"{card.numerator}/{card.denominator}"


def test_an_english_page_leaves_no_english_behind(floor):
    """A request in English (the language cookie) answers in English and leaves the thread's
    language as it found it: later work of the same worker (a test, a task) is not in English."""
    from django.utils import translation

    before = translation.get_language()
    html = _client(floor["tl_a"]).get(BOARD).content.decode()
    assert "Live board" in html
    assert translation.get_language() == before


def test_the_team_home_counts_the_escalated_follow_ups_waiting(floor):
    """QA: the team lead's home showed no sign of the follow-ups escalated to them; they were
    only at the bottom of the live board. A card counts them (their teams'; the manager: all),
    names the oldest and opens the board's list."""
    from django.utils import translation

    from telesales.calls.dashboard import ESCALATED, escalated_indicator
    from telesales.calls.models import FollowUp
    from telesales.core.dashboard import GOOD, WARN, Period

    period = Period.month_to_date()
    with translation.override("en"):
        mine = escalated_indicator(user=floor["tl_a"], period=period)
        everyone = escalated_indicator(user=floor["manager"], period=period)
        agent = escalated_indicator(user=floor["a1"].user, period=period)
    assert (mine.key, mine.value, mine.status) == (ESCALATED, 1, WARN)
    assert floor["a2"].name in mine.help_text and mine.url.endswith("#escalated")
    assert (everyone.value, everyone.status) == (2, WARN)
    assert agent is None
    # Done, it no longer waits.
    FollowUp.objects.filter(agent=floor["a2"], status=FollowUpStatus.OPEN).update(
        status=FollowUpStatus.DONE
    )
    cleared = escalated_indicator(user=floor["tl_a"], period=period)
    assert (cleared.value, cleared.status) == (0, GOOD)

    home = _client(floor["tl_a"]).get(reverse("org:team_home")).content.decode()
    assert f'data-testid="indicator-{ESCALATED}"' in home
    board = _client(floor["tl_a"]).get(BOARD).content.decode()
    assert 'id="escalated"' in board


def test_the_board_says_how_many_escalations_there_are_when_it_lists_the_first(floor, monkeypatch):
    """QA: the home card counted 68 escalated follow-ups, the board listed 50 with no total."""
    from telesales.calls.views import board

    monkeypatch.setattr(board, "ESCALATIONS_SHOWN", 1)
    html = _client(floor["manager"]).get(BOARD).content.decode()
    more = html[html.index('data-testid="escalated-more"') :].split("</p>", 1)[0]
    assert "The 1 most overdue of 2 are shown" in more
