"""Signing in at /accounts/login/: clear messages, lockout after repeated failures."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture
def english(client):
    """Show the sign-in page in English so that messages can be read by the test."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def _post(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def _signed_in(response) -> bool:
    return response.wsgi_request.user.is_authenticated


def test_login_page_offers_the_form(client, demo):
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("username", "password", "csrfmiddlewaretoken"):
        assert f'name="{name}"' in html


def test_right_password_signs_in_and_goes_home(client, demo):
    response = _post(client, "manager", "demo")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize(
    ("username", "password"),
    [("manager", "wrong"), ("nobody", "demo"), ("MANAGER", "demo"), ("manager", "DEMO")],
)
def test_wrong_credentials_show_a_clear_message(english, demo, username, password):
    response = _post(english, username, password)
    assert response.status_code == 200
    assert not _signed_in(response)
    html = response.content.decode()
    assert 'data-testid="login-error"' in html
    assert "Wrong username or password" in html


def test_wrong_password_message_in_the_default_language(client, demo):
    response = _post(client, "manager", "wrong")
    assert response.status_code == 200
    assert 'data-testid="login-error"' in response.content.decode()
    assert response.context["form"].non_field_errors()


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"username": "", "password": ""},
        {"username": "manager"},
        {"username": "x" * 10_000, "password": "y" * 10_000},
        {"username": "a\x00b", "password": "demo"},
        {"username": "manager", "password": "de\x00mo"},
    ],
    ids=["empty", "blank", "no-password", "huge", "nul-username", "nul-password"],
)
def test_malformed_sign_in_posts_answer_with_the_form(client, demo, data):
    response = client.post(LOGIN, data)
    assert response.status_code == 200
    assert not _signed_in(response)
    assert response.context["form"].errors


def test_disabled_login_cannot_sign_in(english, user_named):
    user = user_named("agent1")
    user.is_active = False
    user.save()
    response = _post(english, "agent1", "demo")
    assert response.status_code == 200 and not _signed_in(response)
    assert 'data-testid="login-error"' in response.content.decode()


def test_lockout_after_repeated_failures_even_with_the_right_password(english, demo):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    for attempt in range(1, limit):
        response = _post(english, "agent1", f"wrong{attempt}")
        assert response.status_code == 200, attempt
        assert 'data-testid="login-error"' in response.content.decode()
    fifth = _post(english, "agent1", "wrong5")
    assert fifth.status_code in (200, 429)
    locked = _post(english, "agent1", "demo")
    assert locked.status_code == 429
    assert not _signed_in(locked)
    html = locked.content.decode()
    assert 'data-testid="locked-out"' in html
    assert str(int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)) in html
    assert client_is_anonymous(english)
    assert AccessAttempt.objects.filter(username="agent1").exists()


def test_lockout_is_per_login(demo):
    first = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post(first, "agent1", "wrong")
    assert _post(first, "agent1", "demo").status_code == 429
    other = _post(Client(), "agent2", "demo")
    assert other.status_code == 302


def test_successful_sign_in_resets_the_failure_count(client, demo):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _post(client, "agent1", "wrong")
    assert _post(client, "agent1", "demo").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _post(client, "agent1", "wrong")
    assert _post(client, "agent1", "demo").status_code == 302


def test_next_parameter_is_followed_only_within_the_site(client, demo):
    response = client.post(
        LOGIN, {"username": "manager", "password": "demo", "next": "/org/levels/"}
    )
    assert response["Location"] == "/org/levels/"
    client.logout()
    response = client.post(
        LOGIN, {"username": "manager", "password": "demo", "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"


def test_signed_in_user_is_sent_away_from_the_login_page(client_for):
    response = client_for("manager").get(LOGIN)
    assert response.status_code == 302


def test_logout_ends_the_session(client_for):
    client = client_for("manager")
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert client.get("/").status_code == 302
    assert client.get("/").headers["Location"].startswith(LOGIN)


def test_health_endpoint_reports_the_database(client):
    response = client.get("/health/")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
    assert client.post("/health/").status_code == 405


def client_is_anonymous(client) -> bool:
    return client.get("/").status_code == 302 and client.get("/")["Location"].startswith(LOGIN)
