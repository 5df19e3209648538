"""Faults a softphone integrator met in the API (QA, session 20): times without a zone and an
end before the answer were server errors, a sale could be recorded beside the workspace with
no call and no duplicate check, and errors outside the API's handlers spoke English."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.utils import timezone

from telesales.calls.models import CallAttempt
from telesales.calls.tests.factories import CallRuleSetFactory, owned_lead
from telesales.core.tests.api_helpers import assert_error_shape

pytestmark = pytest.mark.django_db

WS = "/api/v1/workspace"


@pytest.fixture(autouse=True)
def all_day(db):
    return CallRuleSetFactory(
        window_start=dt.time(0, 0), window_end=dt.time(23, 59, 59), min_minutes_between_attempts=0
    )


@pytest.fixture
def client(agent, api_for):
    return api_for(agent.user)


def _open_call(client, agent) -> dict:
    lead = owned_lead(agent)
    r = client.post_json(f"{WS}/calls", {"lead_id": lead.pk})
    assert r.status_code == 201, r.content
    return r.json()


@pytest.mark.parametrize("step", ["answer", "end"])
@pytest.mark.parametrize("when", ["2026-11-30T10:40:00", "2026-11-30"])
def test_a_call_time_without_its_zone_is_a_field_error_not_a_server_error(
    agent, client, step, when
):
    call = _open_call(client, agent)
    r = client.post_json(f"{WS}/calls/{call['id']}/{step}", {"at": when})
    body = assert_error_shape(r, 422)
    assert body["code"] == "validation_failed" and "at" in body["details"]["fields"]
    attempt = CallAttempt.objects.get(pk=call["id"])
    assert attempt.ended_at is None and attempt.answered_at is None  # nothing written


def test_an_end_before_the_stored_answer_is_refused_and_the_call_stays_open(agent, client):
    call = _open_call(client, agent)
    started = CallAttempt.objects.get(pk=call["id"]).started_at
    answered = started + dt.timedelta(seconds=10)
    r = client.post_json(f"{WS}/calls/{call['id']}/answer", {"at": answered.isoformat()})
    assert r.status_code == 200, r.content
    early = started + dt.timedelta(seconds=5)
    r = client.post_json(f"{WS}/calls/{call['id']}/end", {"at": early.isoformat()})
    body = assert_error_shape(r, 422)
    assert "at" in body["details"]["fields"]
    assert CallAttempt.objects.get(pk=call["id"]).ended_at is None
    later = started + dt.timedelta(seconds=25)
    r = client.post_json(f"{WS}/calls/{call['id']}/end", {"at": later.isoformat()})
    assert r.status_code == 200 and CallAttempt.objects.get(pk=call["id"]).talk_seconds == 15


def test_a_sale_is_recorded_through_the_workspace_only(agent, client):
    """``POST /policies/policies`` recorded a sale with no answered call, no recording and a
    new policy on every retry; the workspace's sale route has all three checks."""
    r = client.post_json("/api/v1/policies/policies", {"lead_id": 1})
    assert_error_shape(r, 405)
    schema = client.get("/api/v1/openapi.json").json()
    assert "post" not in schema["paths"]["/api/v1/policies/policies"]
    assert "post" in schema["paths"][f"{WS}/sales"]


def test_errors_outside_the_api_handlers_are_in_the_callers_language(agent, client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    unreadable = client.post(f"{WS}/followups", data="{not json", content_type="application/json")
    body = assert_error_shape(unreadable, 400)
    assert body["code"] == "bad_request" and "JSON" in body["message"]
    assert "Cannot parse" not in body["message"]
    wrong_method = assert_error_shape(client.put(f"{WS}/next-lead"), 405)
    assert wrong_method["code"] == "method_not_allowed"
    assert wrong_method["message"] != "Method Not Allowed"
    assert wrong_method["details"]["allowed"] == ["POST"]
    nowhere = assert_error_shape(client.get("/api/v1/no/such/path"), 404)
    assert nowhere["message"] != "Not Found"


def test_a_wrong_password_is_refused_in_the_callers_language(db):
    from django.test import Client

    anonymous = Client(HTTP_HOST="localhost", HTTP_ACCEPT_LANGUAGE="zh-hans")
    r = anonymous.post(
        "/api/v1/auth/token",
        data={"username": "nobody-here", "password": "wrong"},
        content_type="application/json",
    )
    body = assert_error_shape(r, 401)
    assert body["message"] != "Wrong username or password"


def test_a_misspelled_field_is_refused_instead_of_losing_the_callback(agent, client):
    call = _open_call(client, agent)
    client.post_json(f"{WS}/calls/{call['id']}/end", {})
    when = (timezone.now() + dt.timedelta(days=1)).isoformat()
    r = client.post_json(
        f"{WS}/calls/{call['id']}/disposition",
        {"code": "callback", "callback_time": when, "note": "customer agreed 16:00"},
    )
    body = assert_error_shape(r, 422, "validation_failed")
    assert list(body["details"]["fields"]) == ["callback_time"]
    assert CallAttempt.objects.get(pk=call["id"]).disposition_id is None
    schema = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schema["DispositionIn"]["additionalProperties"] is False


def test_no_two_schemas_share_a_name_in_the_openapi_document(client):
    """The document names a component after its class and keeps one per name: five classes
    of the same name in different apps made operations point at another app's body (QA,
    session 20: the sale body, the reveal's reason, the rule sets)."""
    import importlib
    import pkgutil

    from ninja import Schema

    import telesales

    for module in pkgutil.walk_packages(telesales.__path__, "telesales."):
        if ".tests" not in module.name and ".migrations" not in module.name:
            importlib.import_module(module.name)

    def below(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from below(sub)

    modules: dict[str, set[str]] = {}
    for cls in set(below(Schema)):
        if cls.__module__.startswith("telesales.") and ".tests" not in cls.__module__:
            modules.setdefault(cls.__name__, set()).add(f"{cls.__module__}.{cls.__qualname__}")
    assert {name: found for name, found in modules.items() if len(found) > 1} == {}
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_the_same_follow_up_booked_again_answers_200_with_the_open_one(agent, client):
    lead = owned_lead(agent)
    when = (timezone.now() + dt.timedelta(days=1)).replace(hour=6, minute=0).isoformat()
    body = {"lead_id": lead.pk, "due_at": when, "note": "twice"}
    first = client.post_json(f"{WS}/followups", body)
    again = client.post_json(f"{WS}/followups", body)
    assert (first.status_code, again.status_code) == (201, 200), again.content
    assert first.json()["id"] == again.json()["id"]
    later = (timezone.now() + dt.timedelta(days=1)).replace(hour=7, minute=0).isoformat()
    moved = client.post_json(f"{WS}/followups", {**body, "due_at": later})
    assert moved.status_code == 201 and moved.json()["id"] != first.json()["id"]


def test_the_telephony_adapter_is_chosen_from_the_environment(tmp_path):
    """A center plugs its switch in without editing settings files (QA: only a settings
    module could name the adapter)."""
    import os
    import subprocess
    import sys

    code = (
        "import django; django.setup(); "
        "from telesales.calls.telephony import adapter_path; print(adapter_path())"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "TELESALES_DATA_DIR": str(tmp_path),
        "TELESALES_TELEPHONY_ADAPTER": " center.switch.FreeSwitchAdapter ",
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "center.switch.FreeSwitchAdapter"
