"""The 403 and 404 pages: the reason the check gave, and a short alert for htmx requests.

htmx swaps 403 and 404 answers into the page (templates/includes/htmx_config.html), so an
htmx request must get an alert to put where the user acted, not a whole page with its menu
nested inside the page; a plain request keeps the full page.
"""

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from telesales.core.roles import Role
from telesales.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_a_refused_htmx_request_gets_a_short_alert_and_a_plain_one_the_page(client):
    client.force_login(UserFactory(roles=[Role.AGENT]))
    url = reverse("leads:number_access")

    plain = client.get(url)
    swapped = client.get(url, **HTMX)

    assert plain.status_code == swapped.status_code == 403
    assert b"<html" in plain.content and b'data-testid="refusal"' not in plain.content
    body = swapped.content.decode()
    assert "<html" not in body and "app-sidebar" not in body
    assert 'data-testid="refusal"' in body
    with translation.override("zh-hans"):
        assert gettext("Your role does not give access to this page.") in body


def test_an_htmx_request_for_something_missing_gets_a_short_alert(client):
    client.force_login(UserFactory(roles=[Role.MANAGER]))

    swapped = client.get("/leads/no-such-page/", **HTMX)
    plain = client.get("/leads/no-such-page/")

    assert swapped.status_code == plain.status_code == 404
    assert b'data-testid="refusal"' in swapped.content and b"<html" not in swapped.content
    assert b"<html" in plain.content


def test_the_403_page_gives_the_reason_the_check_gave(client):
    # An agent login without an employee record: the workspace refuses with its reason.
    client.force_login(UserFactory(roles=[Role.AGENT]))

    response = client.post(reverse("calls:workspace_next"))

    assert response.status_code == 403
    with translation.override("zh-hans"):
        reason = gettext("Your login is not linked to an employee record.")
        generic = gettext("Your role does not give access to this page.")
    body = response.content.decode()
    assert reason in body and generic not in body


def test_every_page_carries_the_htmx_refusal_handling(client):
    # One place for it (base.html): a page that forgot it would drop 422 answers silently.
    client.force_login(UserFactory(roles=[Role.MANAGER]))

    page = client.get(reverse("leads:number_access")).content.decode()

    assert page.count('name="htmx-config"') == 1
    assert '"(403|404|409|422)", "swap": true, "error": false' in page
    assert 'id="request-problem"' in page and "telesales/app.js" in page


def _stale(client):
    """A client whose forms carry no valid CSRF token (as a page left open across a
    sign-out and sign-in)."""
    from django.test import Client

    stale = Client(enforce_csrf_checks=True)
    stale.cookies = client.cookies
    return stale


def test_a_stale_form_says_what_happened_in_the_users_language(client):
    client.force_login(UserFactory(roles=[Role.MANAGER]))
    stale = _stale(client)
    url = reverse("leads:number_access")

    page = stale.post(url, {"phone": "13800138000", "reason": "check"})
    swapped = stale.post(url, {"phone": "13800138000", "reason": "check"}, **HTMX)

    with translation.override("zh-hans"):
        told = gettext(
            "This page was out of date (you signed in again, or it stayed open a long time), "
            "so nothing was saved. Reload the page and do it again."
        )
    assert page.status_code == swapped.status_code == 403
    assert told in page.content.decode() and b"<html" in page.content
    assert told in swapped.content.decode() and b"<html" not in swapped.content
    assert b"CSRF verification failed" not in page.content


def test_a_stale_sign_in_form_offers_to_sign_in_again():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(
        reverse("login"), {"username": "x", "password": "y"}
    )

    assert response.status_code == 403
    body = response.content.decode()
    assert f'href="{reverse("login")}"' in body and "CSRF verification failed" not in body


def test_the_api_names_a_missing_csrf_token(client):
    client.force_login(UserFactory(roles=[Role.AGENT]))
    stale = _stale(client)

    response = stale.post(
        "/api/v1/me/language", {"language": "en"}, content_type="application/json"
    )

    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "csrf_failed" and "X-CSRFToken" in body["message"]
