"""Helpers shared by the browser tests of every app (Playwright, the ``page`` fixture of the
root ``conftest.py``): signing in through the real login form."""

from __future__ import annotations

#: The password of every login the test factories make (``UserFactory``).
FACTORY_PASSWORD = "pw-for-tests"


def sign_in(page, username: str, password: str = FACTORY_PASSWORD) -> None:
    """Sign in as ``username`` through the login form and wait for the page it leads to.

    The password is the factories' unless given: the demo center's logins (the ``demo``
    fixture) take ``telesales.org.demo.DEMO_PASSWORD``; a wrong one leaves the page on the
    form with its error.
    """
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]")
