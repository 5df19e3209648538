"""The agent workspace page through the Django test client: who may open it, next lead, why
nothing can be handed out, the call, the outcome, a follow-up, a sale — and every refusal
shown where the agent acted, with nothing changed.

Every response of every test here is searched for a full phone number (``no_leaks``).

The calling window is data (a call rule set): tests that dial "now" use a rule set whose
window is the whole day, so that they do not depend on the hour the suite runs; the window's
refusal is tested with a window that excludes the present hour.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from telesales.calls import selectors
from telesales.calls.choices import AgentState, FollowUpStatus
from telesales.calls.models import CALL_NOTE_MAX_LENGTH, AgentPresence, CallAttempt, FollowUp
from telesales.calls.tests.factories import (
    CallRuleSetFactory,
    CustomerFactory,
    LeadFactory,
    owned_lead,
    registered_agent,
    team_lead_of,
)
from telesales.core.phone_numbers import PHONE_LIKE
from telesales.core.roles import Role
from telesales.leads.choices import LeadState
from telesales.leads.models import Customer, Household, Lead
from telesales.org.tests.factories import CenterFactory, PersonFactory, TeamFactory, UserFactory
from telesales.policies.choices import ProductCategory
from telesales.policies.models import Policy
from telesales.policies.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

COMPANY = "星河人寿保险股份有限公司"
WORKSPACE = "/calls/workspace/"
HX = {"HTTP_HX_REQUEST": "true"}
NATIONAL = re.compile(r"(?=(1[3-9]\d{9}))")


# --- The world ---------------------------------------------------------------------------------
def all_day_window(**kw):
    """A call rule set whose window is the whole day (data, like any rule set)."""
    return CallRuleSetFactory(
        name="全天窗口（测试）",
        window_start=dt.time(0, 0),
        window_end=dt.time(23, 59, 59, 999999),
        **kw,
    )


def build_world(*, username: str = "ws-agent") -> SimpleNamespace:
    """A center with the full company name, a team with two registered agents, a household
    (the lead's customer, a spouse, a child) on a lead in the agent's private pool, another
    agent's lead, a team lead, a data officer, and two products."""
    center = CenterFactory(name=COMPANY, code="ws-center")
    team = TeamFactory(center=center, name="启航组")
    me = registered_agent(team=team, username=username, name="王芳", practice_reg_no="REG-WF-001")
    other = registered_agent(team=team, username=f"{username}-other", name="李强")
    household = Household.objects.create(name="张家")
    holder = CustomerFactory(
        name="张伟", gender="M", birth_date=dt.date(1990, 5, 1), household=household, city="成都"
    )
    spouse = CustomerFactory(
        name="李娜", gender="F", birth_date=dt.date(1992, 3, 1), household=household
    )
    child = CustomerFactory(
        name="张小宝", gender="M", birth_date=dt.date(2016, 6, 1), household=household
    )
    lead = owned_lead(me, customer=holder)
    other_lead = owned_lead(other)
    leader = team_lead_of(team, username=f"{username}-tl")
    data_user = UserFactory(username=f"{username}-data", roles=[Role.DATA_OFFICER])
    PersonFactory(team=team, user=data_user)
    products = SimpleNamespace(
        accident=ProductFactory(
            code="ws-acc",
            name="综合意外险",
            category=ProductCategory.ACCIDENT,
            allowed_modes=["annual", "monthly"],
            allowed_terms=[1],
            min_premium=Decimal("100.00"),
            max_premium=Decimal("5000.00"),
            free_look_days=15,
        ),
        pension=ProductFactory(
            code="ws-pen",
            name="养老年金",
            category=ProductCategory.PENSION,
            grade=4,
            allowed_modes=["annual"],
            allowed_terms=[10],
            min_premium=Decimal("3000.00"),
            max_premium=Decimal("500000.00"),
        ),
    )
    return SimpleNamespace(
        center=center,
        team=team,
        me=me,
        other=other,
        household=household,
        holder=holder,
        spouse=spouse,
        child=child,
        lead=lead,
        other_lead=other_lead,
        leader=leader,
        data_user=data_user,
        products=products,
    )


@pytest.fixture
def world(db):
    all_day_window()
    return build_world()


# --- Leak check on every response ----------------------------------------------------------
class Recorder:
    """Test clients whose every response is kept, to be searched for full numbers."""

    def __init__(self):
        self.responses = []

    def client(self, user) -> Client:
        recorder = self

        class Recording(Client):
            def request(self, **request):
                response = super().request(**request)
                recorder.responses.append((request.get("PATH_INFO"), response))
                return response

        client = Recording()
        client.force_login(user)
        return client


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture(autouse=True)
def no_leaks(request, recorder):
    """No response of the test holds a full phone number of any customer."""
    yield
    if not recorder.responses:
        return
    secrets = {e164[3:] for e164 in Customer.objects.values_list("mobile_e164", flat=True)}
    for path, response in recorder.responses:
        text = response.content.decode("utf-8", "replace")
        text += "\n".join(f"{k}: {v}" for k, v in response.items())
        found = [m for m in NATIONAL.findall(text) if m in secrets]
        found += [m.group(0) for m in PHONE_LIKE.finditer(text)]
        assert not found, f"{path} shows full numbers: {found[:3]}"


@pytest.fixture
def agent_client(world, recorder):
    return recorder.client(world.me.user)


def masked(customer) -> str:
    national = customer.mobile_e164[3:]
    return f"{national[:3]}****{national[-4:]}"


def url(name, *args) -> str:
    return reverse(f"calls:{name}", args=args)


def start_call(client, lead) -> CallAttempt:
    response = client.post(url("workspace_call", lead.pk), **HX)
    assert response.status_code == 200, response.content.decode()[:500]
    return CallAttempt.objects.filter(lead=lead).latest("started_at")


def answered_call(client, lead) -> CallAttempt:
    attempt = start_call(client, lead)
    assert client.post(url("workspace_answer", attempt.pk), **HX).status_code == 200
    attempt.refresh_from_db()
    return attempt


def local_input(when: dt.datetime) -> str:
    return timezone.localtime(when).strftime("%Y-%m-%dT%H:%M")


def tomorrow_at(hour: int) -> dt.datetime:
    day = timezone.localdate() + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


# --- Who may open it -----------------------------------------------------------------------
def test_home_redirects_an_agent_to_the_workspace(agent_client):
    response = agent_client.get("/")
    assert response.status_code == 302
    assert response["Location"] == reverse("calls:workspace") == WORKSPACE

    page = agent_client.get(WORKSPACE)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="next-lead"' in html
    assert 'aria-keyshortcuts="N"' in html
    assert "calls/workspace.js" in html
    # The menu entry
    assert f'href="{WORKSPACE}"' in html


@pytest.mark.parametrize("who", ["leader", "data_user"])
def test_other_roles_are_refused_the_workspace(world, recorder, who):
    user = world.leader.user if who == "leader" else world.data_user
    client = recorder.client(user)
    assert client.get(WORKSPACE).status_code == 403
    assert client.post(url("workspace_next"), **HX).status_code == 403
    assert client.post(url("workspace_call", world.lead.pk), **HX).status_code == 403
    assert not CallAttempt.objects.exists()


def test_a_team_lead_who_is_also_an_agent_may_open_it(world, recorder):
    user = world.leader.user
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=Role.AGENT))
    client = recorder.client(user)
    response = client.get(WORKSPACE)
    assert response.status_code == 200


def test_anonymous_users_are_sent_to_the_login(world):
    response = Client().get(WORKSPACE)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


# --- Next lead -----------------------------------------------------------------------------
def test_next_lead_hands_out_the_agents_lead_with_the_script(world, agent_client):
    response = agent_client.post(url("workspace_next"), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-lead="{world.lead.pk}"' in html
    assert masked(world.holder) in html
    # The household, masked
    assert "李娜" in html and masked(world.spouse) in html and "张小宝" in html
    # The mandatory opening: the agent's name, the full company name, the registration number
    opening = re.search(r'data-testid="script-opening">([^<]*)<', html).group(1)
    assert "王芳" in opening and COMPANY in opening and "REG-WF-001" in opening
    assert 'data-testid="script-recording"' in html
    assert "Free-look" in html or "犹豫期" in html
    # The presence card is refreshed out of band; the lead is now in the agent's hands
    assert 'hx-swap-oob="true"' in html
    presence = AgentPresence.objects.get(person=world.me)
    assert presence.lead_id == world.lead.pk
    assert response["HX-Retarget"] == "#lead-panel"

    # The page shows the lead in hand when it is opened again
    page = agent_client.get(WORKSPACE).content.decode()
    assert f'data-lead="{world.lead.pk}"' in page


def test_script_prompts_follow_the_product_chosen(world, agent_client):
    agent_client.post(url("workspace_next"), **HX)
    product = world.products.accident
    response = agent_client.get(
        url("workspace_script", world.lead.pk), {"product": product.pk}, **HX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="script-category-prompts"' in html
    assert "accidental injury" in html or "意外" in html
    assert "15" in re.search(r'data-testid="script-facts">(.*?)</dl>', html, re.S).group(1)
    # A product id that is not a number, or unknown, shows the general prompts, no error
    for bad in ("x", "999999999", "1" * 30):
        again = agent_client.get(url("workspace_script", world.lead.pk), {"product": bad}, **HX)
        assert again.status_code == 200
        assert 'data-testid="script-category-prompts"' not in again.content.decode()


def test_nothing_to_dispatch_shows_each_reason_with_its_count_and_fix(db, recorder):
    all_day_window()
    agent = registered_agent(username="ws-empty")
    client = recorder.client(agent.user)
    response = client.post(url("workspace_next"), **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="nothing-to-dispatch"' in html
    assert 'data-code="pools_empty"' in html
    assert "data officer" in html or "数据" in html  # the fix


def test_nothing_to_dispatch_counts_leads_outside_the_calling_window(db, recorder):
    now = timezone.localtime()
    # A window of one hour that does not contain the present hour
    start = dt.time((now.hour + 3) % 24, 0)
    end = dt.time((now.hour + 3) % 24, 59)
    CallRuleSetFactory(name="窄窗口", window_start=start, window_end=end)
    agent = registered_agent(username="ws-window")
    owned_lead(agent)
    owned_lead(agent)
    client = recorder.client(agent.user)
    html = client.post(url("workspace_next"), **HX).content.decode()
    row = re.search(r'data-code="outside_window">(.*?)</tr>', html, re.S)
    assert row, html[:2000]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
    assert cells[1].strip() == "2"  # the count
    assert cells[2].strip() and cells[2].strip() != "—"  # the fix: when the window opens


def test_nothing_to_dispatch_says_when_the_agent_is_not_trained(db, recorder):
    all_day_window()
    agent = registered_agent(username="ws-trainee", practice_reg_no="")
    owned_lead(agent)
    client = recorder.client(agent.user)
    html = client.post(url("workspace_next"), **HX).content.decode()
    assert 'data-code="agent_not_trained"' in html
    # A reason about the agent holds back no number of leads: no "1" in the count column.
    row = html[html.index('data-code="agent_not_trained"') :]
    count = row[row.index('data-testid="reason-count">') :]
    assert count.startswith('data-testid="reason-count">—</td>')


# --- The call, the outcome, the follow-up ---------------------------------------------------
def test_call_answer_hang_up_and_interested_books_tomorrows_follow_up(world, agent_client):
    agent_client.post(url("workspace_next"), **HX)
    attempt = start_call(agent_client, world.lead)
    assert AgentPresence.objects.get(person=world.me).state == AgentState.DIALLING

    answered = agent_client.post(url("workspace_answer", attempt.pk), **HX)
    assert answered.status_code == 200
    assert 'data-state="talking"' in answered.content.decode()
    assert answered["HX-Retarget"] == "#call-box"
    hung_up = agent_client.post(url("workspace_hangup", attempt.pk), **HX)
    assert 'data-state="ended"' in hung_up.content.decode()
    assert AgentPresence.objects.get(person=world.me).state == AgentState.WRAP_UP

    due = tomorrow_at(10)
    response = agent_client.post(
        url("workspace_disposition", attempt.pk),
        {
            "dispo-disposition": "interested",
            "dispo-callback_at": local_input(due),
            "dispo-note": "想了解意外险",
        },
        **HX,
    )
    assert response.status_code == 200, response.content.decode()[:800]
    assert response["HX-Retarget"] == "#lead-panel"
    assert response["HX-Trigger"] == "workspace-changed"
    assert 'data-testid="panel-message"' in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.disposition.code == "interested"
    followup = FollowUp.objects.get(lead=world.lead, status=FollowUpStatus.OPEN)
    assert followup.due_at == due

    # Tomorrow's queue holds it; the queue due now does not.
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert followup in selectors.followup_day_list(user=world.me.user, day=tomorrow)
    side = agent_client.get(url("workspace_queue"), {"day": "tomorrow"}, **HX).content.decode()
    assert f'data-lead="{world.lead.pk}"' in side
    now_side = agent_client.get(url("workspace_queue"), **HX).content.decode()
    assert f'data-lead="{world.lead.pk}"' not in now_side
    # An unreadable day shows the queue due now, never an error
    assert agent_client.get(url("workspace_queue"), {"day": "yesterday!"}).status_code == 200
    # … nor does a day at the end of the calendar (its next day does not exist)
    for day in ("9999-12-31", "0001-01-01"):
        side = agent_client.get(url("workspace_queue"), {"day": day}, **HX)
        assert side.status_code == 200
        assert f'data-lead="{world.lead.pk}"' not in side.content.decode()


def test_next_lead_waits_for_the_outcome_of_the_current_call(world, agent_client):
    second = owned_lead(world.me)
    agent_client.post(url("workspace_next"), **HX)
    handed = AgentPresence.objects.get(person=world.me).lead
    attempt = start_call(agent_client, handed)
    agent_client.post(url("workspace_hangup", attempt.pk), **HX)
    response = agent_client.post(url("workspace_next"), **HX)
    assert response.status_code == 409
    html = response.content.decode()
    assert 'data-testid="panel-error"' in html
    assert f'data-lead="{handed.pk}"' in html and 'data-testid="disposition-form"' in html
    assert AgentPresence.objects.get(person=world.me).lead_id == handed.pk
    # With the outcome recorded, the next lead comes.
    agent_client.post(
        url("workspace_disposition", attempt.pk), {"dispo-disposition": "no_answer"}, **HX
    )
    response = agent_client.post(url("workspace_next"), **HX)
    assert response.status_code == 200
    other = second if handed.pk == world.lead.pk else world.lead
    assert f'data-lead="{other.pk}"' in response.content.decode()  # the first is cooling down


def test_an_overdue_follow_up_is_highlighted_in_the_queue(world, agent_client):
    from telesales.calls.tests.factories import FollowUpFactory

    FollowUpFactory(lead=world.lead, agent=world.me, due_at=timezone.now() - dt.timedelta(hours=5))
    html = agent_client.get(WORKSPACE).content.decode()
    item = re.search(r'<a class="([^"]*)"[^>]*data-testid="queue-item"', html)
    assert item and "list-group-item-danger" in item.group(1)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "disposition"),
        ({"dispo-disposition": "no-such-code"}, "disposition"),
        ({"dispo-disposition": "interested", "dispo-callback_at": "tomorrow-ish"}, "callback_at"),
        (
            {"dispo-disposition": "interested", "dispo-callback_at": "2001-01-01T10:00"},
            "callback_at",
        ),
        (
            {"dispo-disposition": "no_answer", "dispo-note": "x" * (CALL_NOTE_MAX_LENGTH + 1)},
            "note",
        ),
        ({"dispo-disposition": "no_answer", "dispo-note": "a\x00b"}, "note"),
    ],
)
def test_a_bad_outcome_shows_its_error_and_changes_nothing(world, agent_client, data, field):
    attempt = start_call(agent_client, world.lead)
    response = agent_client.post(url("workspace_disposition", attempt.pk), data, **HX)
    assert response.status_code == 422
    assert f'data-testid="field-error-{field}"' in response.content.decode()
    # Only the outcome form is swapped: a sale being typed beside it stays.
    assert response["HX-Retarget"] == "#disposition-form"
    assert 'data-testid="call-state"' not in response.content.decode()
    attempt.refresh_from_db()
    assert attempt.disposition_id is None
    assert not FollowUp.objects.filter(lead=world.lead).exists()


def test_a_second_outcome_for_the_same_call_is_refused_with_a_message(world, agent_client):
    attempt = start_call(agent_client, world.lead)
    first = agent_client.post(
        url("workspace_disposition", attempt.pk), {"dispo-disposition": "no_answer"}, **HX
    )
    assert first.status_code == 200
    again = agent_client.post(
        url("workspace_disposition", attempt.pk), {"dispo-disposition": "refused"}, **HX
    )
    assert again.status_code == 409
    assert 'data-testid="call-error"' in again.content.decode()
    attempt.refresh_from_db()
    assert attempt.disposition.code == "no_answer"


def test_a_dial_outside_the_window_is_refused_with_the_reason_and_nothing_recorded(db, recorder):
    now = timezone.localtime()
    start = dt.time((now.hour + 3) % 24, 0)
    CallRuleSetFactory(name="窄窗口", window_start=start, window_end=start.replace(minute=59))
    w = build_world(username="ws-night")
    client = recorder.client(w.me.user)
    page = client.get(WORKSPACE, {"lead": w.lead.pk}).content.decode()
    assert 'data-testid="dial-blocks"' in page  # warned before dialling
    response = client.post(url("workspace_call", w.lead.pk), **HX)
    assert response.status_code == 409
    assert 'data-testid="call-error"' in response.content.decode()
    assert not CallAttempt.objects.exists()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({}, "due_at"),
        ({"fu-due_at": "not a time", "fu-kind": "callback"}, "due_at"),
        ({"fu-due_at": "2001-01-01T10:00", "fu-kind": "callback"}, "due_at"),
        ({"fu-due_at": "2999-01-01T10:00", "fu-kind": "callback"}, "due_at"),  # too far ahead
        ({"fu-due_at": "FUTURE", "fu-kind": "weekly"}, "kind"),
    ],
)
def test_a_bad_follow_up_shows_its_error_and_books_nothing(world, agent_client, data, field):
    if data.get("fu-due_at") == "FUTURE":
        data["fu-due_at"] = local_input(tomorrow_at(11))
    response = agent_client.post(url("workspace_followup", world.lead.pk), data, **HX)
    assert response.status_code == 422
    assert f'data-testid="field-error-{field}"' in response.content.decode()
    assert response["HX-Retarget"] == "#followup-box"
    assert not FollowUp.objects.exists()


def test_a_follow_up_is_booked_without_a_call(world, agent_client):
    due = tomorrow_at(15)
    response = agent_client.post(
        url("workspace_followup", world.lead.pk),
        {"fu-due_at": local_input(due), "fu-kind": "callback", "fu-note": "下午再打"},
        **HX,
    )
    assert response.status_code == 200
    assert FollowUp.objects.get(lead=world.lead).due_at == due
    assert 'data-testid="open-followup"' in response.content.decode()


def test_presence_toggles_between_ready_and_break(world, agent_client):
    response = agent_client.post(url("workspace_presence"), {"state": "break"}, **HX)
    assert response.status_code == 200
    assert AgentPresence.objects.get(person=world.me).state == AgentState.BREAK
    assert 'data-state="break"' in response.content.decode()
    assert agent_client.post(url("workspace_presence"), {"state": "idle"}, **HX).status_code == 200
    assert AgentPresence.objects.get(person=world.me).state == AgentState.IDLE
    bad = agent_client.post(url("workspace_presence"), {"state": "talking"}, **HX)
    assert bad.status_code == 422
    assert 'data-testid="presence-error"' in bad.content.decode()
    assert AgentPresence.objects.get(person=world.me).state == AgentState.IDLE


def test_a_break_during_a_call_is_refused(world, agent_client):
    start_call(agent_client, world.lead)
    response = agent_client.post(url("workspace_presence"), {"state": "break"}, **HX)
    assert response.status_code == 409
    assert 'data-testid="presence-error"' in response.content.decode()
    assert AgentPresence.objects.get(person=world.me).state == AgentState.DIALLING


# --- The sale ------------------------------------------------------------------------------
def sale_data(world, **kw):
    data = {
        "sale-product": world.products.accident.pk,
        "sale-annualised_premium": "1200.00",
        "sale-payment_mode": "annual",
        "sale-term_years": "1",
        "sale-insured_ids": [world.holder.pk, world.spouse.pk],
    }
    data.update(kw)
    return {k: v for k, v in data.items() if v is not None}


def test_a_sale_on_an_answered_call_records_the_policy(world, agent_client):
    attempt = answered_call(agent_client, world.lead)
    panel = agent_client.get(url("workspace_lead", world.lead.pk), **HX).content.decode()
    assert 'data-testid="sale-form"' in panel
    response = agent_client.post(url("workspace_sale", attempt.pk), sale_data(world), **HX)
    assert response.status_code == 200, response.content.decode()[:800]
    policy = Policy.objects.get(lead=world.lead)
    assert policy.annualised_premium == Decimal("1200.00")
    assert set(policy.insured.values_list("pk", flat=True)) == {world.holder.pk, world.spouse.pk}
    world.lead.refresh_from_db()
    assert world.lead.state == LeadState.WON
    html = response.content.decode()
    assert 'data-testid="panel-message"' in html
    assert 'data-testid="holdings-table"' in html  # the household now holds it
    # Money as every page shows it (the workspace printed a bare 1200.00).
    assert "¥1,200.00" in html
    page = agent_client.get(WORKSPACE).content.decode()
    assert re.search(r'data-testid="figure-sales">1 / ¥1,200\.00<', page)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sale-annualised_premium": "50.00"}, "annualised_premium"),  # below the product's
        ({"sale-annualised_premium": "abc"}, "annualised_premium"),
        ({"sale-annualised_premium": "-5"}, "annualised_premium"),
        ({"sale-annualised_premium": "1.2e3"}, "annualised_premium"),  # not read as 1200
        ({"sale-payment_mode": "weekly"}, "payment_mode"),
        ({"sale-payment_mode": "single"}, "payment_mode"),  # not allowed for the product
        ({"sale-term_years": "7"}, "term_years"),
        ({"sale-insured_ids": None}, "insured_ids"),
        ({"sale-product": None}, "product"),
        ({"sale-product": "999999"}, "product"),
    ],
)
def test_a_bad_sale_shows_its_error_and_records_nothing(world, agent_client, change, field):
    attempt = answered_call(agent_client, world.lead)
    response = agent_client.post(
        url("workspace_sale", attempt.pk), sale_data(world, **change), **HX
    )
    assert response.status_code == 422, response.content.decode()[:500]
    assert f'data-testid="field-error-{field}"' in response.content.decode()
    # Only the sale form is swapped: the outcome form beside it keeps what was typed.
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#sale-section", "outerHTML")
    assert 'data-testid="disposition-form"' not in response.content.decode()
    assert not Policy.objects.exists()
    world.lead.refresh_from_db()
    assert world.lead.state != LeadState.WON


def test_a_sale_insuring_someone_outside_the_household_is_refused(world, agent_client):
    stranger = CustomerFactory(name="王五")
    attempt = answered_call(agent_client, world.lead)
    response = agent_client.post(
        url("workspace_sale", attempt.pk),
        sale_data(world, **{"sale-insured_ids": [world.holder.pk, stranger.pk]}),
        **HX,
    )
    assert response.status_code == 422
    assert 'data-testid="field-error-insured_ids"' in response.content.decode()
    assert not Policy.objects.exists()


def test_a_product_above_the_agents_grade_is_not_offered_nor_accepted(world, agent_client):
    attempt = answered_call(agent_client, world.lead)
    panel = agent_client.get(url("workspace_lead", world.lead.pk), **HX).content.decode()
    form = re.search(r'data-testid="sale-form"(.*?)</form>', panel, re.S).group(1)
    assert "养老年金" not in form and "综合意外险" in form
    response = agent_client.post(
        url("workspace_sale", attempt.pk),
        sale_data(world, **{"sale-product": world.products.pension.pk}),
        **HX,
    )
    assert response.status_code == 422
    assert not Policy.objects.exists()


def test_a_sale_on_an_unanswered_call_is_refused_with_a_message(world, agent_client):
    attempt = start_call(agent_client, world.lead)
    panel = agent_client.get(url("workspace_lead", world.lead.pk), **HX).content.decode()
    assert 'data-testid="sale-form"' not in panel
    response = agent_client.post(url("workspace_sale", attempt.pk), sale_data(world), **HX)
    assert response.status_code == 409
    assert 'data-testid="call-error"' in response.content.decode()
    assert not Policy.objects.exists()


# --- Only one's own leads ------------------------------------------------------------------
def test_another_agents_lead_and_call_are_refused(world, agent_client, recorder):
    theirs = world.other_lead
    # Out of sight (404) or refused (403): never shown, never acted on
    assert agent_client.get(url("workspace_lead", theirs.pk), **HX).status_code in (403, 404)
    refused = agent_client.post(url("workspace_call", theirs.pk), **HX)
    assert refused.status_code in (403, 404)
    assert 'data-testid="refused"' in refused.content.decode()
    assert theirs.customer.name not in refused.content.decode()
    assert agent_client.get(WORKSPACE, {"lead": theirs.pk}).status_code in (403, 404)
    assert agent_client.post(
        url("workspace_followup", theirs.pk),
        {"fu-due_at": local_input(tomorrow_at(10)), "fu-kind": "callback"},
        **HX,
    ).status_code in (403, 404)
    assert not CallAttempt.objects.filter(lead=theirs).exists()
    assert not FollowUp.objects.filter(lead=theirs).exists()

    # Their call: neither answered, hung up, disposed nor sold from my workspace
    other_client = recorder.client(world.other.user)
    their_call = start_call(other_client, theirs)
    for name, data in [
        ("workspace_answer", {}),
        ("workspace_hangup", {}),
        ("workspace_disposition", {"dispo-disposition": "no_answer"}),
        ("workspace_sale", sale_data(world)),
    ]:
        assert agent_client.post(url(name, their_call.pk), data, **HX).status_code in (403, 404)
    their_call.refresh_from_db()
    assert their_call.answered_at is None and their_call.ended_at is None
    assert their_call.disposition_id is None

    # A public lead is not "mine" either: it is claimed through next lead or the pool
    public = LeadFactory(state=LeadState.PUBLIC)
    assert agent_client.get(url("workspace_lead", public.pk), **HX).status_code == 403
    assert agent_client.get(url("workspace_lead", 999_999_999)).status_code == 404


def test_get_on_an_action_is_not_allowed(agent_client, world):
    assert agent_client.get(url("workspace_next")).status_code == 405
    assert agent_client.get(url("workspace_call", world.lead.pk)).status_code == 405


def test_without_htmx_the_actions_answer_with_the_whole_page(world, agent_client):
    response = agent_client.post(url("workspace_next"))
    assert response.status_code == 302  # post, redirect, get
    assert response["Location"] == f"{WORKSPACE}?lead={world.lead.pk}"
    html = agent_client.get(response["Location"]).content.decode()
    assert "<html" in html and f'data-lead="{world.lead.pk}"' in html
    bad = agent_client.post(url("workspace_followup", world.lead.pk), {"fu-due_at": "x"})
    assert bad.status_code == 422 and "<html" in bad.content.decode()


def test_a_login_without_an_employee_record_sees_why(db, recorder):
    user = UserFactory(username="ws-nobody", roles=[Role.AGENT])
    client = recorder.client(user)
    response = client.get(WORKSPACE)
    assert response.status_code == 200
    assert 'data-testid="empty-state"' in response.content.decode()
    assert client.post(url("workspace_next"), **HX).status_code == 403


def test_the_workspace_is_the_agents_menu_entry_and_home(world):
    from telesales.core.navigation import home_url_name, menu_for

    assert home_url_name(Role.AGENT) == "calls:workspace"
    urls = [entry["url"] for entry in menu_for(world.me.user)]
    assert WORKSPACE in urls
    assert WORKSPACE not in [entry["url"] for entry in menu_for(world.data_user)]


def test_lead_state_is_untouched_by_merely_opening_the_panel(world, agent_client):
    before = Lead.objects.values().get(pk=world.lead.pk)
    agent_client.get(url("workspace_lead", world.lead.pk), **HX)
    assert Lead.objects.values().get(pk=world.lead.pk) == before


def test_the_page_with_a_lead_and_a_full_queue_keeps_a_query_ceiling(
    world, agent_client, django_assert_max_num_queries
):
    from telesales.calls.tests.factories import FollowUpFactory

    for i in range(12):
        lead = owned_lead(world.me)
        FollowUpFactory(lead=lead, agent=world.me, due_at=timezone.now() - dt.timedelta(hours=i))
    agent_client.get(WORKSPACE, {"lead": world.lead.pk})  # warm caches (content types, …)
    with django_assert_max_num_queries(40):
        response = agent_client.get(WORKSPACE, {"lead": world.lead.pk})
    assert response.content.decode().count('data-testid="queue-item"') == 12


def test_a_follow_up_outside_the_window_says_the_window_and_the_earliest_time(db, recorder):
    """The refusal next to the field says what to choose (not only "outside the window"),
    and the form keeps what was typed."""
    CallRuleSetFactory(name="白天窗口", window_start=dt.time(9, 0), window_end=dt.time(21, 0))
    w = build_world(username="ws-late")
    client = recorder.client(w.me.user)
    late = tomorrow_at(22) + dt.timedelta(minutes=30)
    response = client.post(
        url("workspace_followup", w.lead.pk),
        {"fu-due_at": local_input(late), "fu-kind": "callback", "fu-note": "晚上再打"},
        **HX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    error = re.search(r'data-testid="field-error-due_at">(.*?)</div>', html, re.S).group(1)
    earliest = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    assert "09:00–21:00" in error
    assert f"{earliest} 09:00" in error
    assert "最早可约" in error
    assert local_input(late) in html and "晚上再打" in html
    assert not FollowUp.objects.exists()


# --- Notes: one limit, refused whole, never cut ---------------------------------------------
def test_a_long_outcome_note_is_kept_whole_on_the_call_and_its_follow_up(world, agent_client):
    note = "客户关心重疾等待期和缴费方式，" * 100  # 1,500 characters, past the old 300
    note = note[: CALL_NOTE_MAX_LENGTH - 2] + "\r\n末"  # a line break counts once
    attempt = answered_call(agent_client, world.lead)
    response = agent_client.post(
        url("workspace_disposition", attempt.pk),
        {"dispo-disposition": "interested", "dispo-note": note},
        **HX,
    )
    assert response.status_code == 200, response.content.decode()[:800]
    attempt.refresh_from_db()
    assert attempt.note == note.replace("\r\n", "\n")
    followup = FollowUp.objects.get(lead=world.lead, status=FollowUpStatus.OPEN)
    assert followup.note == attempt.note


def test_an_outcome_note_past_the_limit_is_refused_with_its_length_and_comes_back(
    world, agent_client
):
    note = "长" * (CALL_NOTE_MAX_LENGTH + 5)
    attempt = start_call(agent_client, world.lead)
    response = agent_client.post(
        url("workspace_disposition", attempt.pk),
        {"dispo-disposition": "no_answer", "dispo-note": note},
        **HX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    error = re.search(r'data-testid="field-error-note">([^<]*)<', html).group(1)
    assert str(CALL_NOTE_MAX_LENGTH + 5) in error and str(CALL_NOTE_MAX_LENGTH) in error
    # The whole text is back in the box, and the box has no maxlength to cut a paste at.
    textarea = re.search(r"<textarea[^>]*name=\"dispo-note\"[^>]*>", html).group(0)
    assert "maxlength" not in textarea
    assert note in html
    attempt.refresh_from_db()
    assert attempt.disposition_id is None and attempt.note == ""


def test_a_long_follow_up_note_is_booked_whole_and_past_the_limit_refused(world, agent_client):
    note = "周五发工资后再谈。" * 150  # 1,350 characters
    due = tomorrow_at(15)
    data = {"fu-due_at": local_input(due), "fu-kind": "callback"}
    too_long = agent_client.post(
        url("workspace_followup", world.lead.pk),
        {**data, "fu-note": "长" * (CALL_NOTE_MAX_LENGTH + 1)},
        **HX,
    )
    assert too_long.status_code == 422
    assert 'data-testid="field-error-note"' in too_long.content.decode()
    assert not FollowUp.objects.exists()
    response = agent_client.post(
        url("workspace_followup", world.lead.pk), {**data, "fu-note": note}, **HX
    )
    assert response.status_code == 200
    assert FollowUp.objects.get(lead=world.lead).note == note


def test_rebooking_a_follow_up_keeps_the_note_written_when_it_was_booked(world, agent_client):
    first = tomorrow_at(15)
    agent_client.post(
        url("workspace_followup", world.lead.pk),
        {"fu-due_at": local_input(first), "fu-kind": "callback", "fu-note": "客户要先问配偶"},
        **HX,
    )
    agent_client.post(
        url("workspace_followup", world.lead.pk),
        {"fu-due_at": local_input(first + dt.timedelta(hours=2)), "fu-kind": "callback"},
        **HX,
    )
    old = FollowUp.objects.get(lead=world.lead, status=FollowUpStatus.CANCELLED)
    assert "客户要先问配偶" in old.note


def test_the_workspace_is_never_cached_so_the_back_button_shows_it_as_it_is(world, agent_client):
    """After outcomes recorded through htmx, the browser's back button must not show the
    page as it first loaded (a call still awaiting its outcome): it asks again."""
    for response in (
        agent_client.get(WORKSPACE),
        agent_client.get(url("workspace_lead", world.lead.pk), **HX),
        agent_client.get(url("workspace_queue"), **HX),
    ):
        assert "no-store" in response["Cache-Control"]


def test_a_refused_dial_says_its_fix_in_chinese_brackets(db, recorder):
    """The reason and its fix read as one Chinese sentence: full-width brackets, not " (…)"."""
    now = timezone.localtime()
    start = dt.time((now.hour + 3) % 24, 0)
    CallRuleSetFactory(name="窄窗口", window_start=start, window_end=start.replace(minute=59))
    w = build_world(username="ws-brackets")
    client = recorder.client(w.me.user)
    response = client.post(url("workspace_call", w.lead.pk), HTTP_ACCEPT_LANGUAGE="zh-hans", **HX)
    assert response.status_code == 409
    error = re.search(r'data-testid="call-error">([^<]*)<', response.content.decode()).group(1)
    assert "（" in error and error.rstrip().endswith("）") and " (" not in error


# --- Chinese punctuation in Chinese text ----------------------------------------------------
def test_the_call_box_and_household_use_chinese_punctuation(world, agent_client):
    world.child.relation, world.child.relation_to = "child", world.spouse
    world.child.save(update_fields=["relation", "relation_to"])
    attempt = start_call(agent_client, world.lead)
    agent_client.post(
        url("workspace_disposition", attempt.pk), {"dispo-disposition": "no_answer"}, **HX
    )
    html = agent_client.get(url("workspace_lead", world.lead.pk), **HX).content.decode()
    last = re.search(r'data-testid="last-call">([^<]*)<', html).group(1)
    assert last.startswith("上一通通话：") and ":" not in last.split("：", 1)[0]
    household = re.search(r'data-testid="household-table"(.*?)</table>', html, re.S).group(1)
    assert "（另一成员的）" in household and "(另一成员的)" not in household


def test_the_calls_translations_use_chinese_colons_and_brackets():
    """A Chinese msgstr of the calls app has no ASCII colon or bracket (placeholders, times
    and JSON examples aside), and the calls templates put none beside translated text."""
    from pathlib import Path

    import polib

    root = Path(__file__).resolve().parents[3]
    catalogue = polib.pofile(str(root / "telesales/locale/zh_Hans/LC_MESSAGES/django.po"))
    han = re.compile(r"[\u4e00-\u9fff]")
    ignore = re.compile(r"%\(\w+\)[sd]|\{\{.*?\}\}|\{\w+\}|\d{1,2}:\d{2}|\[[\d, ]+\]")
    wrong = []
    for entry in catalogue:
        if not any(path.startswith("telesales/calls/") for path, _ in entry.occurrences):
            continue
        for text in [entry.msgstr, *entry.msgstr_plural.values()]:
            if han.search(text) and re.search(r"[:()]", ignore.sub("", text)):
                wrong.append((entry.msgid, text))
    assert not wrong
    templates = root / "telesales/calls/templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"%\}[:：]|\(\{% (?:translate|blocktranslate)", text), path


# --- The talk timer counts from the server's clock ----------------------------------------
def test_the_talk_timer_is_given_the_seconds_elapsed_by_the_servers_clock(world, agent_client):
    attempt = answered_call(agent_client, world.lead)
    now = timezone.now()
    CallAttempt.objects.filter(pk=attempt.pk).update(
        started_at=now - dt.timedelta(seconds=110), answered_at=now - dt.timedelta(seconds=95)
    )
    html = agent_client.get(url("workspace_lead", world.lead.pk), **HX).content.decode()
    timer = re.search(r'<span class="call-timer[^>]*>', html).group(0)
    elapsed = int(re.search(r'data-elapsed="(\d+)"', timer).group(1))
    assert 95 <= elapsed <= 100
    assert "data-since" not in timer  # no wall-clock time for the browser to subtract from


# --- The sale form offers the chosen product's modes and terms -----------------------------
def _options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option value="([^"]*)"', select)


def _selected(html: str, name: str) -> str:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    found = re.search(r'<option value="([^"]*)" selected', select)
    return found.group(1) if found else ""


def test_the_sale_form_offers_only_the_chosen_products_modes_and_terms(world, agent_client):
    term_life = ProductFactory(
        code="ws-term",
        name="定期寿险",
        category=ProductCategory.LIFE,
        allowed_modes=["single", "annual"],
        allowed_terms=[10, 20],
        min_premium=Decimal("500.00"),
        max_premium=Decimal("20000.00"),
    )
    attempt = answered_call(agent_client, world.lead)
    panel = agent_client.get(url("workspace_lead", world.lead.pk), **HX).content.decode()
    # No product chosen yet: what the offered products allow between them (never "weekly").
    assert _options(panel, "sale-payment_mode") == ["", "single", "annual", "monthly"]
    assert _options(panel, "sale-term_years") == ["", "1", "10", "20"]
    options = json.loads(
        re.search(r'id="sale-product-options"[^>]*>(.*?)</script>', panel, re.S).group(1)
    )
    accident = options[str(world.products.accident.pk)]
    assert [m for m, _label in accident["modes"]] == ["annual", "monthly"]
    assert [t for t, _label in accident["terms"]] == [1]
    assert "100.00" in accident["range"] and "5000.00" in accident["range"]
    assert [t for t, _label in options[str(term_life.pk)]["terms"]] == [10, 20]
    assert str(world.products.pension.pk) not in options  # above the agent's grade

    # Refused (premium too low): the lists are the chosen product's, what was typed is kept.
    response = agent_client.post(
        url("workspace_sale", attempt.pk),
        sale_data(world, **{"sale-annualised_premium": "50.00", "sale-payment_mode": "monthly"}),
        **HX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert _options(html, "sale-payment_mode") == ["", "annual", "monthly"]
    assert _options(html, "sale-term_years") == ["", "1"]
    assert (_selected(html, "sale-payment_mode"), _selected(html, "sale-term_years")) == (
        "monthly",
        "1",
    )
    assert 'value="50.00"' in html
    assert re.search(r'data-testid="premium-range">[^<]*100\.00[^<]*5000\.00', html)
    assert 'id="sale-product-options"' in html

    # A mode the product does not allow: refused on the field, and still shown as chosen.
    response = agent_client.post(
        url("workspace_sale", attempt.pk), sale_data(world, **{"sale-payment_mode": "single"}), **HX
    )
    html = response.content.decode()
    assert 'data-testid="field-error-payment_mode"' in html
    assert _options(html, "sale-payment_mode") == ["", "single", "annual", "monthly"]
    assert _selected(html, "sale-payment_mode") == "single"
    assert not Policy.objects.exists()


def test_an_outcome_that_takes_the_lead_away_empties_the_panel_with_what_was_recorded(
    world, agent_client
):
    """A "do not call" request takes the lead out of the agent's hands: the outcome is
    recorded and the panel says so (it answered 500, as if nothing had been saved, while
    redrawing a lead the agent could no longer see)."""
    code = "dnc"
    agent_client.post(url("workspace_next"), **HX)
    attempt = start_call(agent_client, world.lead)
    agent_client.post(url("workspace_answer", attempt.pk), **HX)
    agent_client.post(url("workspace_hangup", attempt.pk), **HX)
    response = agent_client.post(
        url("workspace_disposition", attempt.pk), {"dispo-disposition": code}, **HX
    )
    assert response.status_code == 200, response.content.decode()[:800]
    html = response.content.decode()
    assert 'data-testid="panel-message"' in html and "该线索已不在您的名单中" in html
    assert 'data-testid="no-lead"' in html and f'data-lead="{world.lead.pk}"' not in html
    assert response["HX-Trigger"] == "workspace-changed"
    attempt.refresh_from_db()
    assert attempt.disposition.code == code
    world.lead.refresh_from_db()
    assert world.lead.state == LeadState.DNC and world.lead.owner_id is None


def test_without_htmx_an_outcome_that_takes_the_lead_away_redirects_with_a_message(
    world, agent_client
):
    agent_client.post(url("workspace_next"))
    attempt = start_call(agent_client, world.lead)
    agent_client.post(url("workspace_answer", attempt.pk))
    agent_client.post(url("workspace_hangup", attempt.pk))
    response = agent_client.post(
        url("workspace_disposition", attempt.pk), {"dispo-disposition": "dnc"}
    )
    assert response.status_code == 302 and response["Location"] == WORKSPACE
    page = agent_client.get(WORKSPACE).content.decode()
    assert "该线索已不在您的名单中" in page and 'data-testid="no-lead"' in page


def test_the_call_history_says_until_when_each_recording_is_kept(world, agent_client):
    """QA (session 20): the retention date of a recording was shown on no page."""
    until = timezone.localdate() + dt.timedelta(days=90)
    CallAttempt.objects.create(
        lead=world.lead,
        agent=world.me,
        started_at=timezone.now() - dt.timedelta(days=1),
        recording_ref="sim://recordings/9.wav",
        recording_retain_until=until,
    )
    agent_client.post(url("workspace_next"), **HX)
    page = agent_client.get(WORKSPACE).content.decode()
    kept = page[page.index('data-testid="recording-kept"') :]
    assert until.isoformat() in kept[: kept.index("</div>")]


def test_a_lead_put_on_the_do_not_call_list_says_so_instead_of_not_found(world, agent_client):
    """QA (session 20): the data officer put the customer's number on the do-not-call list and
    the agent's link to the lead answered a bare "not found"."""
    from django.contrib.messages import get_messages

    from telesales.leads import services as lead_services

    lead_services.dnc_add(phone=world.holder.mobile_e164, reason="客户要求", actor=None)
    response = agent_client.get(f"{WORKSPACE}?lead={world.lead.pk}")
    assert response.status_code == 200
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(said) == 1 and ("do not call" in said[0] or "禁呼" in said[0]), said
    # A lead the agent never held is still simply not found.
    assert agent_client.get(f"{WORKSPACE}?lead=999999").status_code == 404
