"""Renewal calls through "next lead": a due renewal premium (``operations``) is handed to the
agent who owns its task, ahead of sales leads, as a renewal call under the same guards; the
call's outcome is the task's contact."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from telesales.calls import services
from telesales.calls.choices import CallKind
from telesales.calls.dispatch import next_lead, pool_counts
from telesales.calls.errors import DialBlocked, NothingToDispatch
from telesales.calls.models import AgentPresence, CallAttempt, Disposition, Handout
from telesales.calls.tests.conftest import shanghai
from telesales.calls.tests.factories import (
    CallRuleSetFactory,
    DncEntryFactory,
    UserFactory,
    owned_lead,
    registered_agent,
)
from telesales.core.roles import Role
from telesales.leads.choices import LeadGrade, LeadState
from telesales.operations.choices import ContactOutcome, TaskStatus
from telesales.operations.models import RenewalTask
from telesales.operations.scheduling import operations_advance, operations_sync
from telesales.operations.tests.factories import PolicyFactory
from telesales.org.services import person_update
from telesales.policies.choices import ProductCategory
from telesales.policies.tests.factories import ProductFactory

pytestmark = pytest.mark.django_db

NOON = shanghai(2026, 6, 1, 12, 0)
TODAY = NOON.date()


@pytest.fixture(autouse=True)
def rules(db):
    return CallRuleSetFactory(min_minutes_between_attempts=30)


@pytest.fixture
def product(db):
    return ProductFactory(
        code="ci-renewal",
        name="重大疾病保险",
        category=ProductCategory.CRITICAL_ILLNESS,
        allowed_modes=["annual"],
        allowed_terms=[10],
        min_premium=Decimal("100"),
        max_premium=Decimal("100000"),
    )


def renewal_for(agent, product, *, today=TODAY, due_in_days=5) -> RenewalTask:
    """A policy ``agent`` sold a year before the premium falls due, taken into servicing:
    its second premium is due in ``due_in_days`` (negative: in grace), its task open."""
    due = today + dt.timedelta(days=due_in_days)
    policy = PolicyFactory(
        agent=agent,
        product=product,
        issued_on=due.replace(year=due.year - 1),
        annualised_premium=Decimal("3600.00"),
    )
    operations_sync(today=today)
    operations_advance(today=today)
    return RenewalTask.objects.select_related("policy__lead", "premium_due").get(
        policy=policy, status=TaskStatus.OPEN
    )


def take(agent, at=NOON):
    return next_lead(agent=agent, actor=agent.user, at=at)


def reasons(exc) -> dict[str, dict]:
    return {r["code"]: r for r in exc.value.details["reasons"]}


def dispo(code: str) -> Disposition:
    return Disposition.objects.get(code=code)


def call_and_dispose(agent, lead, code: str, *, note: str = "", at=NOON) -> CallAttempt:
    attempt = services.call_start(lead=lead, agent=agent, actor=agent.user, at=at)
    if Disposition.objects.get(code=code).human_answered:
        services.call_answer(attempt=attempt, actor=agent.user, at=at + dt.timedelta(seconds=5))
    return services.disposition_record(
        attempt=attempt,
        disposition=dispo(code),
        actor=agent.user,
        note=note,
        at=at + dt.timedelta(minutes=2),
    )


# --- Who gets it, and in which order ---------------------------------------------------------
def test_a_due_renewal_is_handed_to_its_owner_before_the_private_pool(agent, product):
    owned_lead(agent, grade=LeadGrade.A)
    task = renewal_for(agent, product)
    assert task.owner_id == agent.pk

    d = take(agent)

    assert (d.source, d.lead.pk, d.renewal_task.pk) == ("renewal", task.policy.lead_id, task.pk)
    assert d.lead.state == LeadState.WON
    presence = AgentPresence.objects.get(person=agent)
    assert (presence.lead_id, presence.source, presence.renewal_task_id) == (
        task.policy.lead_id,
        "renewal",
        task.pk,
    )
    handout = Handout.objects.get(agent=agent)
    assert (handout.source, handout.renewal_task_id) == ("renewal", task.pk)
    # Asking again before dialling: the same renewal (a double click burns nothing).
    again = take(agent, at=NOON + dt.timedelta(minutes=1))
    assert (again.source, again.renewal_task.pk) == ("renewal", task.pk)


def test_renewals_in_grace_come_before_those_due_later(agent, product):
    later = renewal_for(agent, product, due_in_days=20)
    in_grace = renewal_for(agent, product, due_in_days=-10)
    assert in_grace.premium_due.status == "in_grace"
    assert take(agent).renewal_task.pk == in_grace.pk
    assert later.pk != in_grace.pk


def test_a_renewal_is_never_handed_to_another_agent(agent, product):
    task = renewal_for(agent, product)
    other = registered_agent(team=agent.team)

    with pytest.raises(NothingToDispatch) as exc:
        take(other)

    assert "pools_empty" in reasons(exc)
    assert pool_counts(agent=other, at=NOON)["renewals_due"] == 0
    assert pool_counts(agent=agent, at=NOON)["renewals_due"] == 1
    assert not Handout.objects.filter(renewal_task=task).exists()


def test_a_renewal_outside_the_calling_window_waits_with_the_reason(agent, product):
    renewal_for(agent, product)
    night = shanghai(2026, 6, 1, 22, 30)

    with translation.override("en"), pytest.raises(NothingToDispatch) as exc:
        take(agent, at=night)

    why = reasons(exc)
    assert why["outside_window"]["count"] == 1
    assert "renewals due 1" in why["outside_window"]["message"]
    assert why["outside_window"]["until"].startswith("2026-06-02T09:00")
    # The first reason given is why the renewal waits, not that the pools are empty.
    assert exc.value.details["reasons"][0]["code"] == "outside_window"
    assert not Handout.objects.exists()


def test_a_renewal_call_to_a_number_on_the_dnc_list_is_a_service_call(agent, product):
    """The DNC list stops marketing calls (R1, R6); a premium reminder under the customer's
    own contract is a service call, so it still goes out, as a renewal call. A sales lead on
    the same list is skipped."""
    task = renewal_for(agent, product)
    DncEntryFactory(number=task.policy.lead.customer.mobile_e164)
    sales = owned_lead(agent, grade=LeadGrade.A)
    DncEntryFactory(number=sales.customer.mobile_e164)

    d = take(agent)
    assert (d.source, d.renewal_task.pk) == ("renewal", task.pk)
    attempt = services.call_start(lead=d.lead, agent=agent, actor=agent.user, at=NOON)
    assert (attempt.kind, attempt.renewal_task_id) == (CallKind.RENEWAL, task.pk)

    # The same lead dialled as a sales call is refused for the DNC entry, with the reason.
    services.call_end(attempt=attempt, actor=agent.user, at=NOON + dt.timedelta(seconds=30))
    services.disposition_record(
        attempt=attempt, disposition=dispo("no_answer"), actor=agent.user, at=NOON
    )
    with pytest.raises(DialBlocked) as blocked:
        services.call_start(
            lead=d.lead,
            agent=agent,
            actor=agent.user,
            kind=CallKind.SALES,
            at=NOON + dt.timedelta(hours=1),
        )
    assert "dnc" in {r["code"] for r in blocked.value.details["reasons"]}


def test_a_dnc_request_on_the_renewal_call_stops_the_dispatch_redialling_it(agent, product):
    task = renewal_for(agent, product)
    d = take(agent)
    call_and_dispose(agent, d.lead, "dnc")

    task.refresh_from_db()
    assert (task.contact_count, task.last_contact_outcome) == (1, ContactOutcome.REFUSED)
    assert task.status == TaskStatus.OPEN  # renewal operations take it from their queue
    for later in (NOON + dt.timedelta(hours=2), NOON + dt.timedelta(days=3)):
        with pytest.raises(NothingToDispatch):
            take(agent, at=later)
    assert pool_counts(agent=agent, at=NOON + dt.timedelta(days=3))["renewals_due"] == 0


def test_the_guards_still_stop_an_agent_without_a_practice_registration(product):
    unregistered = registered_agent(practice_reg_no="")
    renewal_for(unregistered, product)
    with pytest.raises(NothingToDispatch) as exc:
        take(unregistered)
    assert "agent_not_trained" in reasons(exc)


# --- The call's outcome is the renewal contact -----------------------------------------------
@pytest.mark.parametrize(
    ("code", "outcome"),
    [
        ("interested", ContactOutcome.PROMISED),
        ("callback", ContactOutcome.REACHED),
        ("refused", ContactOutcome.REFUSED),
        ("not_interested", ContactOutcome.REFUSED),
        ("no_answer", ContactOutcome.UNREACHABLE),
        ("wrong_person", ContactOutcome.UNREACHABLE),
    ],
)
def test_the_disposition_records_the_renewal_contact(agent, product, code, outcome):
    task = renewal_for(agent, product)
    d = take(agent)

    attempt = call_and_dispose(agent, d.lead, code, note="客户说月底前处理")

    assert (attempt.kind, attempt.renewal_task_id) == (CallKind.RENEWAL, task.pk)
    task.refresh_from_db()
    assert task.contact_count == 1
    assert task.last_contact_outcome == outcome
    assert task.last_contact_at == NOON
    assert f"#{attempt.pk}" in task.note and "客户说月底前处理" in task.note
    # The lead stays won; the agent's hands are free for the next lead.
    d.lead.refresh_from_db()
    assert d.lead.state == LeadState.WON
    assert AgentPresence.objects.get(person=agent).renewal_task_id is None


def test_a_call_note_longer_than_the_renewal_log_takes_says_it_was_shortened(agent, product):
    from telesales.operations import services as operations_services

    task = renewal_for(agent, product)
    d = take(agent)
    note = "客户说月底前处理，" * 200  # 1,800 characters: a call note, longer than the log's

    attempt = call_and_dispose(agent, d.lead, "callback", note=note)

    assert attempt.note == note  # the call keeps it whole
    task.refresh_from_db()
    entry = task.note.split("] ", 1)[1]  # the log's entry after its time stamp
    assert len(entry) <= operations_services.NOTE_MAX
    assert note[:100] in entry
    # … and it says that it was shortened and where the whole note is.
    assert entry.endswith((")", "）")) and f"#{attempt.pk}" in entry[-40:]


def test_a_contacted_renewal_waits_before_it_is_handed_out_again(agent, product):
    task = renewal_for(agent, product)
    fresh = owned_lead(agent, grade=LeadGrade.B)
    call_and_dispose(agent, take(agent).lead, "no_answer")

    # Not reached: not again today (the private pool comes next) ...
    assert take(agent, at=NOON + dt.timedelta(hours=1)).lead.pk == fresh.pk
    AgentPresence.objects.filter(person=agent).update(lead=None, source="", handed_at=None)
    # ... but tomorrow.
    tomorrow = take(agent, at=NOON + dt.timedelta(days=1))
    assert (tomorrow.source, tomorrow.renewal_task.pk) == ("renewal", task.pk)


def test_a_reached_renewal_comes_back_after_the_rule_sets_recontact_days(agent, product):
    from telesales.operations.models import OperationsRuleSet
    from telesales.operations.rules import default_ruleset_ensure

    task = renewal_for(agent, product)
    fresh = owned_lead(agent, grade=LeadGrade.B)
    call_and_dispose(agent, take(agent).lead, "interested")  # reached: will pay
    task.refresh_from_db()
    assert task.last_contact_outcome == ContactOutcome.PROMISED

    def source_at(at):
        AgentPresence.objects.filter(person=agent).update(lead=None, source="", handed_at=None)
        return take(agent, at=at).source

    # The default (7 days): three days later the private pool comes first.
    assert default_ruleset_ensure().renewal_recontact_days == 7
    assert source_at(NOON + dt.timedelta(days=3)) == "private"
    assert AgentPresence.objects.get(person=agent).lead_id == fresh.pk
    # A version that says two days: after one day still not, after three days again.
    OperationsRuleSet.objects.create(
        name="两天回访", effective_from=TODAY, renewal_recontact_days=2
    )
    assert source_at(NOON + dt.timedelta(days=1)) == "private"
    assert source_at(NOON + dt.timedelta(days=3)) == "renewal"


def test_a_sales_call_on_the_lead_records_no_renewal_contact(agent, product):
    task = renewal_for(agent, product)
    d = take(agent)
    attempt = services.call_start(
        lead=d.lead, agent=agent, actor=agent.user, kind=CallKind.SALES, at=NOON
    )
    assert attempt.renewal_task_id is None
    services.disposition_record(
        attempt=attempt, disposition=dispo("no_answer"), actor=agent.user, at=NOON
    )
    task.refresh_from_db()
    assert task.contact_count == 0


def test_a_renewal_paid_meanwhile_keeps_the_call_and_records_no_contact(agent, product):
    from telesales.operations.services import premium_payment_record

    task = renewal_for(agent, product)
    d = take(agent)
    attempt = services.call_start(lead=d.lead, agent=agent, actor=agent.user, at=NOON)
    ops = UserFactory(username="renewal-ops", roles=[Role.RENEWAL_OPS])
    premium_payment_record(
        due=task.premium_due,
        paid_date=TODAY,
        amount=task.premium_due.amount,
        actor=ops,
    )
    services.disposition_record(
        attempt=attempt, disposition=dispo("no_answer"), actor=agent.user, at=NOON
    )
    task.refresh_from_db()
    attempt.refresh_from_db()
    assert task.status == TaskStatus.DONE and task.contact_count == 0
    assert attempt.disposition.code == "no_answer"


# --- Leaving ---------------------------------------------------------------------------------
def test_an_agent_who_left_is_not_handed_the_renewal_and_nobody_else_is_either(agent, product):
    task = renewal_for(agent, product)
    colleague = registered_agent(team=agent.team)
    hr = UserFactory(username="renewal-hr", roles=[Role.HR_ADMIN])

    person_update(person=agent, actor=hr, status="left", left_on=TODAY)

    task.refresh_from_db()
    assert task.owner_id is None  # the renewal operations pool (the default successor)
    with pytest.raises(NothingToDispatch) as exc:
        take(agent)
    assert "agent_not_working" in reasons(exc)
    with pytest.raises(NothingToDispatch):
        take(colleague)
    assert not Handout.objects.filter(renewal_task=task).exists()


# --- Workspace and API -----------------------------------------------------------------------
@pytest.fixture
def all_day(db):
    return CallRuleSetFactory(
        window_start=dt.time(0, 0), window_end=dt.time(23, 59, 59), min_minutes_between_attempts=0
    )


def test_the_api_names_the_renewal_task_and_the_call_records_its_contact(
    agent, product, api_for, all_day
):
    task = renewal_for(agent, product, today=timezone.localdate())
    client = api_for(agent.user)

    r = client.post("/api/v1/workspace/next-lead")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["source"], body["renewal_task_id"]) == ("renewal", task.pk)
    assert body["service_task_id"] is None
    assert client.get("/api/v1/workspace/today").json()["renewals_due"] == 1

    r = client.post_json("/api/v1/workspace/calls", {"lead_id": body["lead"]["id"]})
    assert r.status_code == 201, r.content
    assert r.json()["kind"] == "renewal"
    call_id = r.json()["id"]
    r = client.post_json(f"/api/v1/workspace/calls/{call_id}/disposition", {"code": "no_answer"})
    assert r.status_code == 200, r.content
    task.refresh_from_db()
    assert (task.contact_count, task.last_contact_outcome) == (1, ContactOutcome.UNREACHABLE)


def test_the_workspace_shows_the_renewal_premium_of_the_lead_handed_out(
    agent, product, client, all_day
):
    task = renewal_for(agent, product, today=timezone.localdate())
    client.force_login(agent.user)

    r = client.post("/calls/workspace/next/", HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert 'data-testid="renewal-task"' in html
    assert f'data-task="{task.pk}"' in html
    assert task.policy.number in html
    assert "¥3,600.00" in html  # grouped, as on every page
    assert task.premium_due.due_date.isoformat() in html
    grace = task.premium_due.due_date + dt.timedelta(days=60)
    assert grace.isoformat() in html
    # The whole page, reloaded, still shows it, and counts the renewal in the header.
    page = client.get("/calls/workspace/").content.decode()
    assert 'data-testid="renewal-task"' in page
    assert 'data-testid="pool-renewals">1<' in page


# --- A service or renewal kind needs an open task ------------------------------------------
def _codes(response) -> set[str]:
    return {r["code"] for r in response.json()["details"]["reasons"]}


@pytest.mark.parametrize("kind", ["service", "renewal"])
def test_a_client_cannot_skip_the_dnc_list_by_calling_a_sales_lead_a_service_call(
    agent, api_for, all_day, kind
):
    """The marketing guards are skipped only for calls the data gives a reason for: a sales
    lead on the DNC list dialled with ``kind`` service or renewal is refused, nothing kept."""
    lead = owned_lead(agent, grade=LeadGrade.A)
    DncEntryFactory(number=lead.customer.mobile_e164)
    client = api_for(agent.user)

    r = client.post_json("/api/v1/workspace/calls", {"lead_id": lead.pk, "kind": kind})

    assert r.status_code == 409, r.content
    assert _codes(r) == {"no_service_task"}
    assert not CallAttempt.objects.exists()


def test_renewal_kind_given_by_the_client_links_the_open_renewal_task(
    agent, product, api_for, all_day
):
    """Dialled straight from the policy (no "next lead"), a renewal call still finds its task
    and still skips the DNC list, as a service call."""
    task = renewal_for(agent, product, today=timezone.localdate())
    DncEntryFactory(number=task.policy.lead.customer.mobile_e164)

    r = api_for(agent.user).post_json(
        "/api/v1/workspace/calls", {"lead_id": task.policy.lead_id, "kind": "renewal"}
    )

    assert r.status_code == 201, r.content
    attempt = CallAttempt.objects.get()
    assert (attempt.kind, attempt.renewal_task_id) == (CallKind.RENEWAL, task.pk)


def test_service_kind_needs_an_open_service_task_of_the_agent_on_the_lead(agent, api_for, all_day):
    from telesales.policies.choices import TaskKind
    from telesales.policies.choices import TaskStatus as ServiceTaskStatus
    from telesales.policies.models import ServiceTask

    policy = PolicyFactory(agent=agent)
    lead = policy.lead
    DncEntryFactory(number=lead.customer.mobile_e164)
    task = ServiceTask.objects.create(
        kind=TaskKind.WELCOME_CALL,
        policy=policy,
        customer=lead.customer,
        lead=lead,
        agent=agent,
        due_at=timezone.now(),
    )
    client = api_for(agent.user)
    body = {"lead_id": lead.pk, "kind": "service"}

    r = client.post_json("/api/v1/workspace/calls", body)
    assert r.status_code == 201, r.content
    assert CallAttempt.objects.get().kind == CallKind.SERVICE

    # Once the task is done the same dial is refused with the reason.
    CallAttempt.objects.all().delete()
    AgentPresence.objects.all().delete()
    ServiceTask.objects.filter(pk=task.pk).update(
        status=ServiceTaskStatus.DONE, done_at=timezone.now()
    )
    r = client.post_json("/api/v1/workspace/calls", body)
    assert r.status_code == 409, r.content
    assert _codes(r) == {"no_service_task"}
