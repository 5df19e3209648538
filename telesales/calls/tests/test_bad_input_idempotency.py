"""Bad input (issue 4): double-submitted forms and concurrent edits of the same lead.

Double submits go through the workspace forms (and the API for the sale) on the real
database: the second answer is a clear message, never a 500, and the first write stands
alone. How each form is made idempotent (docs/domains/calls.md, "Double submits"):

* outcome — a call takes one outcome; the second is ``call_already_disposed`` (409);
* sale — ``policies.services.sale_record(duplicates_since=<call start>)``: the same product,
  holder and insured persons on the same lead since the call began is ``duplicate_sale``
  (409), checked under the lead's row lock; another product or other insured persons on the
  same call remain a second sale;
* follow-up — booking the open follow-up's own time and kind again returns it unchanged.

Concurrent edits: on PostgreSQL real threads with their own connections race for the same
lead (two outcomes for one call, a transfer committing while an outcome is recorded, the same
sale twice at once). On SQLite, which serialises writes, the stale-form case: the page was
opened before the team lead moved the lead; what the agent then posts is refused and nothing
is written. Cases tested elsewhere (another agent's lead, negative or absurd premiums,
follow-ups in the past or too far ahead) are not repeated here.
"""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.utils import translation

from telesales.calls import services
from telesales.calls.errors import CallAlreadyDisposed, NotYourCall
from telesales.calls.models import CallAttempt, Disposition, FollowUp
from telesales.calls.tests.test_workspace_views import (
    HX,
    all_day_window,
    answered_call,
    build_world,
    local_input,
    sale_data,
    start_call,
    tomorrow_at,
    url,
)
from telesales.core.errors import DomainError
from telesales.core.models import AuditEntry
from telesales.leads import services as lead_services
from telesales.leads.choices import LeadState
from telesales.leads.models import Lead
from telesales.policies.errors import DuplicateSale
from telesales.policies.models import Policy

MOVED = (
    "This lead is no longer in your hands: it was moved after you opened it. Nothing was recorded."
)
ON_POSTGRES = connection.vendor == "postgresql"
postgres_threads = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not ON_POSTGRES,
        reason="needs PostgreSQL: SQLite serialises write transactions, so there is no race",
    ),
]


def _pg(test):
    for mark in reversed(postgres_threads):
        test = mark(test)
    return test


@pytest.fixture
def world(db):
    all_day_window(min_minutes_between_attempts=0)
    return build_world(username="bad-input")


@pytest.fixture
def agent_client(world) -> Client:
    client = Client()
    client.force_login(world.me.user)
    return client


def said(response, message) -> bool:
    """``message`` (a gettext msgid) appears in the response, in the response's language."""
    with translation.override(response.get("Content-Language") or "en"):
        text = translation.gettext(message)
    return text.split("%(")[0].strip() in response.content.decode()


def interested_data(world) -> dict:
    return {
        "dispo-disposition": "interested",
        "dispo-callback_at": local_input(tomorrow_at(10)),
        "dispo-note": "有兴趣，明早再打",
    }


# --- Double-submitted forms ----------------------------------------------------------------
@pytest.mark.django_db
def test_the_same_outcome_posted_twice_is_recorded_once_and_the_second_says_why(
    world, agent_client
):
    attempt = answered_call(agent_client, world.lead)
    path = url("workspace_disposition", attempt.pk)
    first = agent_client.post(path, interested_data(world), **HX)
    assert first.status_code == 200
    second = agent_client.post(path, interested_data(world), **HX)

    assert second.status_code == 409
    assert said(second, "This call's outcome is recorded already")
    attempt.refresh_from_db()
    assert attempt.disposition.code == "interested"
    lead = Lead.objects.get(pk=world.lead.pk)
    assert (lead.dial_count, lead.connect_count) == (1, 1)  # the dial is counted once
    followups = FollowUp.objects.filter(lead=lead)
    assert followups.count() == 1 and followups.get().due_at == tomorrow_at(10)


@pytest.mark.django_db
def test_the_same_sale_posted_twice_records_one_policy_and_names_it(world, agent_client):
    attempt = answered_call(agent_client, world.lead)
    path = url("workspace_sale", attempt.pk)
    first = agent_client.post(path, sale_data(world), **HX)
    assert first.status_code == 200, first.content.decode()[:500]
    policy = Policy.objects.get(lead=world.lead)
    second = agent_client.post(path, sale_data(world), **HX)

    assert second.status_code == 409
    body = second.content.decode()
    assert said(second, "This sale is recorded already (policy #%(id)d): nothing was added")
    assert f"#{policy.pk}" in body
    assert Policy.objects.filter(lead=world.lead).count() == 1
    assert AuditEntry.objects.filter(action="policies.sale_record").count() == 1
    lead = Lead.objects.get(pk=world.lead.pk)
    assert lead.state == LeadState.WON and lead.premium == policy.annualised_premium


@pytest.mark.django_db
def test_a_different_sale_on_the_same_call_is_still_a_second_policy(world, agent_client):
    """The guard is not "one sale per call": the child's cover is another sale."""
    attempt = answered_call(agent_client, world.lead)
    path = url("workspace_sale", attempt.pk)
    assert agent_client.post(path, sale_data(world), **HX).status_code == 200
    child = sale_data(world, **{"sale-insured_ids": [world.child.pk]})
    assert agent_client.post(path, child, **HX).status_code == 200
    assert Policy.objects.filter(lead=world.lead).count() == 2


@pytest.mark.django_db
def test_the_same_sale_posted_twice_through_the_api_is_409_duplicate_sale(world, api_for):
    client = api_for(world.me.user)
    call = client.post_json("/api/v1/workspace/calls", {"lead_id": world.lead.pk}).json()
    client.post_json(f"/api/v1/workspace/calls/{call['id']}/answer", {})
    payload = {
        "call_id": call["id"],
        "product_id": world.products.accident.pk,
        "annualised_premium": "1200.00",
        "payment_mode": "annual",
        "term_years": 1,
        "insured_ids": [world.holder.pk, world.spouse.pk],
    }
    first = client.post_json("/api/v1/workspace/sales", payload)
    assert first.status_code == 201, first.content
    second = client.post_json("/api/v1/workspace/sales", payload)
    assert second.status_code == 409
    assert second.json()["code"] == "duplicate_sale"
    assert second.json()["details"]["policy"] == first.json()["policy_id"]
    assert Policy.objects.filter(lead=world.lead).count() == 1


@pytest.mark.django_db
def test_the_same_follow_up_posted_twice_books_one(world, agent_client):
    path = url("workspace_followup", world.lead.pk)
    data = {"fu-due_at": local_input(tomorrow_at(11)), "fu-kind": "callback", "fu-note": "约好"}
    first = agent_client.post(path, data, **HX)
    assert first.status_code == 200
    lead_after_first = Lead.objects.get(pk=world.lead.pk)
    second = agent_client.post(path, data, **HX)

    assert second.status_code == 200
    assert said(second, "Follow-up booked for %(when)s.")
    followup = FollowUp.objects.get(lead=world.lead)  # one row: none cancelled, none added
    assert (followup.status, followup.due_at, followup.sequence) == ("open", tomorrow_at(11), 1)
    lead = Lead.objects.get(pk=world.lead.pk)
    assert lead.last_followup_at == lead_after_first.last_followup_at


# --- Stale forms (any database) ------------------------------------------------------------
@pytest.mark.django_db
def test_an_outcome_from_a_page_opened_before_the_lead_was_transferred_is_refused(
    world, agent_client
):
    attempt = start_call(agent_client, world.lead)
    assert agent_client.post(url("workspace_hangup", attempt.pk), **HX).status_code == 200
    # The agent's page holds the outcome form; meanwhile the lead goes to a teammate.
    lead_services.lead_transfer(
        lead=world.lead, to_agent=world.other, actor=world.leader.user, reason="cover"
    )
    response = agent_client.post(
        url("workspace_disposition", attempt.pk), interested_data(world), **HX
    )

    assert response.status_code == 409
    assert 'data-testid="refused"' in response.content.decode()
    assert said(response, MOVED)
    attempt.refresh_from_db()
    assert attempt.disposition_id is None
    lead = Lead.objects.get(pk=world.lead.pk)
    assert (lead.owner_id, lead.dial_count) == (world.other.pk, 0)
    assert not FollowUp.objects.filter(lead=lead).exists()
    # The service says the same to any other caller (the API, a softphone).
    with pytest.raises(NotYourCall):
        services.disposition_record(
            attempt=attempt,
            disposition=Disposition.objects.get(code="interested"),
            actor=world.me.user,
        )


@pytest.mark.django_db
def test_a_sale_from_a_page_opened_before_the_lead_was_transferred_records_nothing(
    world, agent_client
):
    attempt = answered_call(agent_client, world.lead)
    lead_services.lead_transfer(
        lead=world.lead, to_agent=world.other, actor=world.leader.user, reason="cover"
    )
    response = agent_client.post(url("workspace_sale", attempt.pk), sale_data(world), **HX)
    assert response.status_code == 409
    assert 'data-testid="refused"' in response.content.decode()
    # Without htmx: back to the workspace with the same message, never an error page.
    plain = agent_client.post(url("workspace_sale", attempt.pk), sale_data(world), follow=True)
    assert plain.redirect_chain[-1][0] == url("workspace")
    assert said(plain, MOVED)
    assert not Policy.objects.exists()
    attempt.refresh_from_db()
    assert attempt.disposition_id is None
    assert Lead.objects.get(pk=world.lead.pk).state == LeadState.OWNED


# --- Concurrent edits on PostgreSQL (real threads, separate connections) -------------------
@pytest.fixture
def pg_world(transactional_db):
    all_day_window(min_minutes_between_attempts=0)
    return build_world(username="race")


def _in_threads(*targets) -> None:
    barrier = threading.Barrier(len(targets))
    crashed: list[BaseException] = []

    def run(target):
        try:
            barrier.wait(timeout=30)
            target()
        except BaseException as exc:  # an unexpected error fails the test below
            crashed.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(t,)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not crashed, crashed


def _outcome(results: list, action) -> None:
    try:
        action()
    except DomainError as exc:
        results.append(exc)
    else:
        results.append("ok")


def _answered(world) -> CallAttempt:
    attempt = services.call_start(lead=world.lead, agent=world.me, actor=world.me.user)
    return services.call_answer(attempt=attempt, actor=world.me.user)


@_pg
def test_the_agent_and_the_team_lead_record_an_outcome_at_once_one_wins(pg_world):
    attempt = _answered(pg_world)
    interested = Disposition.objects.get(code="interested")
    refused = Disposition.objects.get(code="refused")
    results: list = []
    _in_threads(
        lambda: _outcome(
            results,
            lambda: services.disposition_record(
                attempt=attempt, disposition=interested, actor=pg_world.me.user
            ),
        ),
        lambda: _outcome(
            results,
            lambda: services.disposition_record(
                attempt=attempt, disposition=refused, actor=pg_world.leader.user
            ),
        ),
    )
    assert results.count("ok") == 1
    (loser,) = [r for r in results if r != "ok"]
    assert isinstance(loser, CallAlreadyDisposed) and loser.status == 409
    attempt.refresh_from_db()
    lead = Lead.objects.get(pk=pg_world.lead.pk)
    assert lead.dial_count == 1
    expected_followups = 1 if attempt.disposition.code == "interested" else 0
    assert FollowUp.objects.filter(lead=lead).count() == expected_followups


@_pg
def test_a_transfer_committing_during_an_outcome_refuses_the_outcome_whole(pg_world):
    """The team lead's transfer holds the lead when the agent's outcome arrives: the outcome
    waits for it, then sees the lead gone and writes nothing (no dial counted on another
    agent's lead, no follow-up booked for the wrong agent)."""
    attempt = _answered(pg_world)
    interested = Disposition.objects.get(code="interested")
    holding, release = threading.Event(), threading.Event()
    results: list = []
    crashed: list[BaseException] = []

    def transfer():
        try:
            with transaction.atomic():
                lead_services.lead_transfer(
                    lead=pg_world.lead,
                    to_agent=pg_world.other,
                    actor=pg_world.leader.user,
                    reason="cover",
                )
                holding.set()
                release.wait(timeout=30)
        except BaseException as exc:
            crashed.append(exc)
        finally:
            connections.close_all()

    def dispose():
        try:
            _outcome(
                results,
                lambda: services.disposition_record(
                    attempt=attempt, disposition=interested, actor=pg_world.me.user
                ),
            )
        except BaseException as exc:
            crashed.append(exc)
        finally:
            connections.close_all()

    t1 = threading.Thread(target=transfer)
    t1.start()
    assert holding.wait(timeout=30)
    t2 = threading.Thread(target=dispose)
    t2.start()
    # Wait until the outcome is blocked on a row lock the transfer holds.
    deadline = time.monotonic() + 15
    waiting = 0
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            waiting = cursor.fetchone()[0]
        if waiting:
            break
        time.sleep(0.05)
    release.set()
    t1.join(timeout=30)
    t2.join(timeout=30)
    assert not crashed, crashed
    assert waiting, "the outcome never waited for the transfer's lock"

    (result,) = results
    assert isinstance(result, NotYourCall), result
    attempt.refresh_from_db()
    assert attempt.disposition_id is None
    lead = Lead.objects.get(pk=pg_world.lead.pk)
    assert (lead.owner_id, lead.dial_count, lead.connect_count) == (pg_world.other.pk, 0, 0)
    assert not FollowUp.objects.filter(lead=lead).exists()


@_pg
def test_the_same_sale_submitted_twice_at_once_records_one_policy(pg_world):
    attempt = _answered(pg_world)
    results: list = []

    def sell():
        _outcome(
            results,
            lambda: services.sale_record(
                attempt=attempt,
                product=pg_world.products.accident,
                annualised_premium=Decimal("1200.00"),
                payment_mode="annual",
                term_years=1,
                insured_ids=[pg_world.holder.pk, pg_world.spouse.pk],
                actor=pg_world.me.user,
            ),
        )

    _in_threads(sell, sell)
    assert results.count("ok") == 1
    (loser,) = [r for r in results if r != "ok"]
    assert isinstance(loser, DuplicateSale) and loser.status == 409
    assert Policy.objects.filter(lead=pg_world.lead).count() == 1
    assert AuditEntry.objects.filter(action="policies.sale_record").count() == 1
