"""Bearer tokens: issuing (API and ``telesales token-create``), using, revoking, expiring."""

from __future__ import annotations

import datetime as dt
import hashlib
from io import StringIO

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone

from telesales.core import services
from telesales.core.errors import NotFound, ValidationFailed
from telesales.core.models import ApiToken, AuditEntry
from telesales.core.tasks import api_token_purge_task
from telesales.core.tests.api_helpers import JsonClient, assert_error_shape, bearer

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token"


def _issue(client, username="manager", password="demo", **extra):
    return client.post_json(TOKEN, {"username": username, "password": password, **extra})


def _works(secret: str) -> bool:
    return JsonClient().get("/api/v1/me", **bearer(secret)).status_code == 200


# --- Issuing through the API ---------------------------------------------------------------
def test_token_endpoint_issues_a_working_token(demo):
    response = _issue(JsonClient(), name="crm")
    assert response.status_code == 200, response.content
    body = response.json()
    secret = body["token"]
    assert secret.startswith("tsk_") and body["prefix"] == secret[:12]
    expires = dt.datetime.fromisoformat(body["expires_at"])
    lifetime = expires - timezone.now()
    assert dt.timedelta(days=settings.TELESALES_API_TOKEN_DAYS - 1) < lifetime
    assert lifetime <= dt.timedelta(days=settings.TELESALES_API_TOKEN_DAYS)
    client = JsonClient()
    me = client.get("/api/v1/me", **bearer(secret))
    assert me.status_code == 200 and me.json()["username"] == "manager"
    assert me.json()["primary_role"] == "center_manager"
    people = client.get("/api/v1/org/people", **bearer(secret))
    assert people.status_code == 200 and isinstance(people.json(), list) and people.json()
    token = ApiToken.objects.get(prefix=body["prefix"])
    assert token.name == "crm" and token.user.username == "manager"


def test_only_a_hash_of_the_secret_is_stored(demo):
    secret = _issue(JsonClient()).json()["token"]
    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(list(ApiToken.objects.values()))
    entry = AuditEntry.objects.get(action="core.token_create")
    assert secret not in str(entry.after) and entry.actor == token.user


def test_token_for_an_agent_sees_only_what_the_agent_sees(demo):
    secret = _issue(JsonClient(), "agent1").json()["token"]
    people = JsonClient().get("/api/v1/org/people", **bearer(secret)).json()
    assert [p["employee_no"] for p in people] != []
    assert len(people) == 1


def test_wrong_password_then_lockout_on_the_token_endpoint(demo):
    client = JsonClient()
    for _attempt in range(1, settings.AXES_FAILURE_LIMIT):
        assert_error_shape(_issue(client, "agent1", "wrong"), 401, "authentication_failed")
    assert_error_shape(_issue(client, "agent1", "wrong"), (401, 429))
    locked = assert_error_shape(_issue(client, "agent1", "demo"), 429, "locked_out")
    assert locked["details"]["cooloff_minutes"] == int(
        settings.AXES_COOLOFF_TIME.total_seconds() // 60
    )
    assert not ApiToken.objects.exists()
    # Another login is not affected.
    assert _issue(client, "agent2").status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "manager"},
        {"username": "", "password": "demo"},
        {"username": "manager", "password": ""},
        {"username": "x" * 151, "password": "demo"},
        {"username": "manager", "password": "p" * 257},
        {"username": "manager", "password": "demo", "name": "n" * 101},
        {"username": ["manager"], "password": "demo"},
        {"username": "man\x00ager", "password": "demo"},
    ],
)
def test_bad_token_requests_answer_422(demo, body):
    response = JsonClient().post_json(TOKEN, body)
    assert_error_shape(response, 422, "validation_failed")
    assert not ApiToken.objects.exists()


def test_disabled_login_gets_no_token(user_named):
    user = user_named("agent1")
    user.is_active = False
    user.save()
    assert_error_shape(_issue(JsonClient(), "agent1"), 401)


# --- Refusing tokens -----------------------------------------------------------------------
def test_revoked_token_is_refused(user_named):
    manager = user_named("manager")
    token, secret = services.token_create(user=manager, actor=manager)
    assert _works(secret)
    services.token_revoke(token_id=token.pk, actor=manager)
    # A token sent but refused is told apart from no token at all (QA: both said "sign in").
    assert_error_shape(
        JsonClient().get("/api/v1/me", **bearer(secret)), 401, "authentication_failed"
    )
    assert_error_shape(JsonClient().get("/api/v1/me"), 401, "authentication_required")
    entry = AuditEntry.objects.get(action="core.token_revoke")
    assert entry.object_id == str(token.pk) and entry.actor == manager
    with pytest.raises(NotFound):
        services.token_revoke(token_id=999999, actor=manager)


def test_expired_token_is_refused(user_named):
    manager = user_named("manager")
    token, secret = services.token_create(user=manager, actor=manager, days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert_error_shape(JsonClient().get("/api/v1/org/people", **bearer(secret)), 401)


def test_token_of_a_disabled_login_is_refused(user_named):
    agent = user_named("agent1")
    _token, secret = services.token_create(user=agent, actor=agent)
    agent.is_active = False
    agent.save()
    assert not _works(secret)


def test_token_use_is_recorded_at_most_every_few_minutes(user_named):
    manager = user_named("manager")
    token, secret = services.token_create(user=manager, actor=manager)
    assert token.last_used_at is None
    assert _works(secret)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    assert _works(secret)
    token.refresh_from_db()
    assert token.last_used_at == first


def test_token_service_rules(user_named):
    manager = user_named("manager")
    for days in (0, -1, 3651):
        with pytest.raises(ValidationFailed) as exc:
            services.token_create(user=manager, actor=manager, days=days)
        assert "days" in exc.value.fields
    agent = user_named("agent1")
    agent.is_active = False
    with pytest.raises(ValidationFailed) as exc:
        services.token_create(user=agent, actor=manager)
    assert "user" in exc.value.fields
    assert services.token_authenticate(secret="") is None
    assert services.token_authenticate(secret="not-a-token") is None
    assert services.token_authenticate(secret="tsk_" + "x" * 500) is None
    assert not ApiToken.objects.exists()


# --- telesales token-create USERNAME -------------------------------------------------------
def test_token_create_command_prints_a_working_token(demo):
    out = StringIO()
    call_command("token_create", "agent1", "--name", "dialler", "--days", "7", stdout=out)
    secret = out.getvalue().strip()
    assert secret.startswith("tsk_") and "\n" not in secret
    response = JsonClient().get("/api/v1/me", **bearer(secret))
    assert response.status_code == 200 and response.json()["username"] == "agent1"
    token = ApiToken.objects.get()
    assert token.name == "dialler"
    assert token.expires_at - timezone.now() <= dt.timedelta(days=7)
    entry = AuditEntry.objects.get(action="core.token_create")
    assert entry.actor is None and entry.actor_name == "cli"


def test_token_create_command_fails_clearly_for_an_unknown_user(demo):
    with pytest.raises(CommandError) as exc:
        call_command("token_create", "ghost", stdout=StringIO())
    assert "ghost" in str(exc.value)
    assert not ApiToken.objects.exists()


def test_token_create_command_refuses_bad_lifetimes_and_disabled_logins(user_named):
    with pytest.raises(CommandError) as exc:
        call_command("token_create", "manager", "--days", "0", stdout=StringIO())
    assert "days" in str(exc.value)
    user = user_named("agent1")
    user.is_active = False
    user.save()
    with pytest.raises(CommandError) as exc:
        call_command("token_create", "agent1", stdout=StringIO())
    assert "user" in str(exc.value)
    with pytest.raises(NotFound):
        services.user_by_username("ghost")


# --- Purging old tokens --------------------------------------------------------------------
def test_purge_deletes_only_long_dead_tokens(user_named):
    manager = user_named("manager")
    live, _ = services.token_create(user=manager, actor=manager)
    fresh_expired, _ = services.token_create(user=manager, actor=manager)
    old_expired, _ = services.token_create(user=manager, actor=manager)
    old_revoked, _ = services.token_create(user=manager, actor=manager)
    long_ago = timezone.now() - dt.timedelta(days=40)
    ApiToken.objects.filter(pk=fresh_expired.pk).update(expires_at=timezone.now())
    ApiToken.objects.filter(pk=old_expired.pk).update(expires_at=long_ago)
    ApiToken.objects.filter(pk=old_revoked.pk).update(revoked_at=long_ago)
    assert api_token_purge_task(days_after_expiry=30) == 2
    assert set(ApiToken.objects.values_list("pk", flat=True)) == {live.pk, fresh_expired.pk}


def test_a_token_request_answers_in_the_users_saved_language(user_named):
    """QA: after ``POST /me/language`` with a token, every token request still answered in
    Chinese (the language was chosen before the token named its user)."""
    agent = user_named("agent1")
    _token, secret = services.token_create(user=agent, actor=agent)
    client = JsonClient()
    assert client.get("/api/v1/me", **bearer(secret)).json()["language"] == "zh-hans"
    chosen = client.post_json("/api/v1/me/language", {"language": "en"}, **bearer(secret))
    assert chosen.status_code == 200, chosen.content
    me = client.get("/api/v1/me", **bearer(secret))
    assert me.json()["language"] == "en" and me["Content-Language"] == "en"
    missing = assert_error_shape(client.get("/api/v1/calls/attempts/999999", **bearer(secret)), 404)
    assert missing["message"].isascii(), missing  # English, not 无此通话…


# --- Listing and revoking one's tokens through the API ---------------------------------------
def test_a_caller_lists_only_their_own_tokens_and_sees_which_one_they_use(user_named):
    agent, manager = user_named("agent1"), user_named("manager")
    first, first_secret = services.token_create(user=agent, actor=agent, name="软电话")
    second, _ = services.token_create(user=agent, actor=agent, name="CRM")
    services.token_create(user=manager, actor=manager, name="经理的")

    response = JsonClient().get("/api/v1/auth/tokens", **bearer(first_secret))

    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [second.pk, first.pk]
    assert [r["current"] for r in rows] == [False, True]
    assert all(set(r) >= {"prefix", "name", "expires_at", "revoked_at"} for r in rows)
    assert "token" not in rows[0] and first_secret not in response.content.decode()


def test_revoking_a_token_by_id_stops_it_at_once_and_only_it(user_named):
    agent = user_named("agent1")
    lost, lost_secret = services.token_create(user=agent, actor=agent, name="丢失的手机")
    _kept, kept_secret = services.token_create(user=agent, actor=agent, name="办公电脑")
    api = JsonClient()

    r = api.post_json(f"/api/v1/auth/tokens/{lost.pk}/revoke", {}, **bearer(kept_secret))

    assert r.status_code == 200 and r.json()["revoked_at"] and not r.json()["current"]
    assert_error_shape(api.get("/api/v1/me", **bearer(lost_secret)), 401, "authentication_failed")
    assert _works(kept_secret)
    again = api.post_json(f"/api/v1/auth/tokens/{lost.pk}/revoke", {}, **bearer(kept_secret))
    assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]
    assert AuditEntry.objects.filter(action="core.token_revoke").count() == 1


def test_someone_elses_token_is_not_found_and_keeps_working_but_a_superuser_may(user_named):
    agent, manager = user_named("agent1"), user_named("manager")
    theirs, their_secret = services.token_create(user=manager, actor=manager)
    _mine, my_secret = services.token_create(user=agent, actor=agent)

    refused = JsonClient().post_json(
        f"/api/v1/auth/tokens/{theirs.pk}/revoke", {}, **bearer(my_secret)
    )

    assert_error_shape(refused, 404, "not_found")
    assert _works(their_secret)
    admin = get_user_model().objects.create_superuser("root-tokens", password="x" * 12)
    services.token_revoke(token_id=theirs.pk, actor=admin)
    assert not _works(their_secret)


def test_a_client_signs_out_with_the_token_it_holds(user_named):
    agent = user_named("agent1")
    _token, secret = services.token_create(user=agent, actor=agent, name="软电话")

    r = JsonClient().delete("/api/v1/auth/token", **bearer(secret))

    assert r.status_code == 200 and r.json()["current"] and r.json()["revoked_at"]
    assert_error_shape(
        JsonClient().delete("/api/v1/auth/token", **bearer(secret)), 401, "authentication_failed"
    )
    # A browser session has no bearer token to sign out.
    session = JsonClient()
    session.force_login(agent)
    assert_error_shape(session.delete("/api/v1/auth/token"), 409, "invalid_state")


@pytest.mark.parametrize("token_id", ["0", "-1", "abc", str(2**70)])
def test_revoking_a_malformed_token_id_is_a_clear_refusal_not_a_500(user_named, token_id):
    agent = user_named("agent1")
    _token, secret = services.token_create(user=agent, actor=agent)
    response = JsonClient().post_json(
        f"/api/v1/auth/tokens/{token_id}/revoke", {}, **bearer(secret)
    )
    assert_error_shape(response, (404, 422))
    assert _works(secret)  # nothing revoked
