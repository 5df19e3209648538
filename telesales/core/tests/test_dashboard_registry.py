"""The dashboard indicator registry (``telesales.core.dashboard``): registration, order,
visibility, thresholds, and a failing provider that must not take the page down."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from telesales.core import dashboard
from telesales.core.dashboard import (
    BAD,
    GOOD,
    WARN,
    Indicator,
    Period,
    check_thresholds,
    indicators_for,
    register,
    registered,
    status_for,
)
from telesales.core.roles import Role
from telesales.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PERIOD = Period(since=dt.date(2026, 11, 1), until=dt.date(2026, 11, 27))


@pytest.fixture
def nobody():
    """A login without any role: no app's own indicator is shown to it."""
    return UserFactory(roles=[])


@pytest.fixture
def scratch():
    """Register providers under test keys and remove them afterwards, so the registry the
    apps filled in ``ready()`` is left as it was."""
    keys: list[str] = []

    def add(key, provide, **kw):
        keys.append(key)
        kw.setdefault("label", key)
        register(key, provide, **kw)

    yield add
    for key in keys:
        dashboard.unregister(key)


def _fixed(key, value, **extra):
    def provide(*, user, period):
        return Indicator(key=key, label=key, value=value, **extra)

    return provide


def _keys(providers, prefix="test."):
    return [p.key for p in providers if p.key.startswith(prefix)]


def test_registered_providers_come_in_order_then_in_registration_order(scratch):
    scratch("test.b", _fixed("test.b", 1), order=20)
    scratch("test.a", _fixed("test.a", 2), order=20)
    scratch("test.first", _fixed("test.first", 3), order=5)
    scratch("test.last", _fixed("test.last", 4), order=900)
    assert _keys(registered()) == ["test.first", "test.b", "test.a", "test.last"]


def test_registering_a_key_again_replaces_the_provider_and_keeps_its_place(scratch, nobody):
    scratch("test.one", _fixed("test.one", 1), order=10)
    scratch("test.two", _fixed("test.two", 2), order=10)
    scratch("test.one", _fixed("test.one", 99), order=10)
    assert _keys(registered()) == ["test.one", "test.two"]
    values = [i.value for i in indicators_for(user=nobody, period=PERIOD) if i.key == "test.one"]
    assert values == [99]


def test_the_apps_register_their_indicators_at_start_up():
    assert "tickets.complaint_rate" in [p.key for p in registered()]


def test_provider_receives_the_user_and_the_period(scratch, nobody):
    seen = {}

    def provide(*, user, period):
        seen.update(user=user, period=period)
        return Indicator(key="test.seen", label="seen", value=Decimal("1.50"), unit="‰")

    scratch("test.seen", provide)
    out = [i for i in indicators_for(user=nobody, period=PERIOD) if i.key == "test.seen"]
    assert seen == {"user": nobody, "period": PERIOD}
    assert out == [Indicator(key="test.seen", label="seen", value=Decimal("1.50"), unit="‰")]


def test_a_provider_answering_none_or_not_visible_shows_no_card(scratch, nobody):
    called = []

    def never(*, user, period):
        called.append(user)
        return Indicator(key="test.hidden", label="hidden", value=1)

    scratch("test.none", lambda *, user, period: None)
    scratch("test.hidden", never, visible_to=lambda user: False)
    scratch("test.shown", _fixed("test.shown", 7), visible_to=lambda user: True)
    assert _keys(indicators_for(user=nobody, period=PERIOD)) == ["test.shown"]
    assert called == [], "a provider is not computed for a user who may not see it"


def test_a_provider_that_raises_is_logged_and_shown_unavailable(scratch, caplog, nobody):
    def broken(*, user, period):
        raise ZeroDivisionError("boom")

    scratch("test.before", _fixed("test.before", 1), order=1)
    scratch("test.broken", broken, order=2, label="Broken figure")
    scratch("test.after", _fixed("test.after", 3), order=3)
    with caplog.at_level(logging.ERROR, logger="telesales.core.dashboard"):
        out = [i for i in indicators_for(user=nobody, period=PERIOD) if i.key.startswith("test.")]
    assert [(i.key, i.available, i.value) for i in out] == [
        ("test.before", True, 1),
        ("test.broken", False, None),
        ("test.after", True, 3),
    ]
    assert out[1].label == "Broken figure"
    [record] = [r for r in caplog.records if "test.broken" in r.getMessage()]
    assert record.levelno == logging.ERROR and record.exc_info[0] is ZeroDivisionError


def test_a_provider_whose_query_fails_leaves_the_transaction_usable(scratch, caplog):
    def bad_sql(*, user, period):
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table_for_the_dashboard")
        return None

    scratch("test.sql", bad_sql, order=1)
    scratch("test.count", lambda *, user, period: Indicator("test.count", "n", user.pk), order=2)
    user = UserFactory(roles=[Role.MANAGER])
    with caplog.at_level(logging.ERROR, logger="telesales.core.dashboard"):
        out = [i for i in indicators_for(user=user, period=PERIOD) if i.key.startswith("test.")]
    assert [(i.key, i.available) for i in out] == [("test.sql", False), ("test.count", True)]
    assert out[1].value == user.pk
    assert get_user_model().objects.filter(pk=user.pk).exists()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("0.50"), GOOD),
        (Decimal("1.00"), GOOD),
        (Decimal("1.01"), WARN),
        (Decimal("3.00"), WARN),
        (Decimal("3.01"), BAD),
        (None, None),
    ],
)
def test_status_when_lower_is_better(settings, value, expected):
    settings.TELESALES_DASHBOARD_THRESHOLDS = {
        "test.rate": {"better": "lower", "good": "1.00", "warn": "3.00"}
    }
    assert status_for("test.rate", value) == expected


@pytest.mark.parametrize(("value", "expected"), [(95, GOOD), (90, GOOD), (85, WARN), (79, BAD)])
def test_status_when_higher_is_better(settings, value, expected):
    settings.TELESALES_DASHBOARD_THRESHOLDS = {
        "test.kept": {"better": "higher", "good": 90, "warn": "80"}
    }
    assert status_for("test.kept", value) == expected


def test_no_status_without_a_configured_threshold(settings):
    settings.TELESALES_DASHBOARD_THRESHOLDS = {}
    assert status_for("test.rate", Decimal("100")) is None


def test_the_default_thresholds_are_well_formed():
    assert check_thresholds() == []


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("1.0", "must be a dict"),
        ({"better": "up", "good": 1, "warn": 2}, "'better'"),
        ({"better": "lower", "good": "x", "warn": 2}, "'good' must be a number"),
        ({"better": "lower", "good": 1}, "'warn' must be a number"),
        ({"better": "lower", "good": "NaN", "warn": 2}, "'good' must be a number"),
        ({"better": "lower", "good": 5, "warn": 2}, "not be above"),
        ({"better": "higher", "good": 5, "warn": 8}, "not be below"),
    ],
)
def test_malformed_thresholds_fail_the_system_check_and_the_status(settings, entry, problem):
    settings.TELESALES_DASHBOARD_THRESHOLDS = {"test.rate": entry}
    [error] = check_thresholds()
    assert error.id == "core.E101" and problem in error.msg
    with pytest.raises(ImproperlyConfigured, match=problem):
        status_for("test.rate", Decimal("1"))


def test_month_to_date_period():
    assert Period.month_to_date(dt.date(2026, 2, 17)) == Period(
        since=dt.date(2026, 2, 1), until=dt.date(2026, 2, 17)
    )


# --- On the page --------------------------------------------------------------------------
def test_dashboard_page_shows_a_failing_indicator_as_unavailable(scratch, client_for, caplog):
    def broken(*, user, period):
        raise RuntimeError("figure store down")

    scratch("test.page_ok", _fixed("test.page_ok", Decimal("4.20"), unit="‰"), order=1)
    scratch("test.page_broken", broken, order=2, label="A broken figure")
    with caplog.at_level(logging.ERROR, logger="telesales.core.dashboard"):
        response = client_for("manager").get("/org/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    ok = html.split('data-testid="indicator-test.page_ok"')[1].split("</div></div></div>")[0]
    assert "4.20 ‰" in ok
    broken_card = html.split('data-testid="indicator-test.page_broken"')[1]
    broken_card = broken_card.split("</div></div></div>")[0]
    assert "A broken figure" in broken_card and 'data-testid="indicator-unavailable"' in broken_card
    assert html.index("indicator-test.page_ok") < html.index("indicator-test.page_broken")
    assert any("test.page_broken" in r.getMessage() for r in caplog.records)


def test_the_cards_follow_the_registered_visibility_on_the_page(scratch, client_for):
    scratch(
        "test.managers_only",
        _fixed("test.managers_only", 12),
        visible_to=lambda user: user.username == "manager",
    )
    assert (
        "indicator-test.managers_only"
        in client_for("manager").get("/org/dashboard/").content.decode()
    )
    assert (
        "indicator-test.managers_only"
        not in client_for("teamlead1").get("/org/my-team/").content.decode()
    )


def test_personal_cards_and_the_center_cards_are_drawn_apart(scratch, nobody):
    scratch("test.center", _fixed("test.center", 1))
    scratch("test.mine", _fixed("test.mine", 2), personal=True)
    assert _keys(indicators_for(user=nobody, period=PERIOD)) == ["test.center"]
    assert _keys(indicators_for(user=nobody, period=PERIOD, personal=True)) == ["test.mine"]


def test_a_card_names_its_status_in_its_own_words_when_it_has_them():
    from django.template.loader import render_to_string
    from django.utils import translation

    period = dashboard.Period(since=dt.date(2026, 5, 1), until=dt.date(2026, 5, 16))
    generic = Indicator(key="a", label="A", value=1, status=dashboard.WARN)
    own = Indicator(key="b", label="B", value=2, status=dashboard.WARN, status_label="At risk")
    with translation.override("en"):
        html = render_to_string(
            "core/_indicator_cards.html", {"indicators": [generic, own], "period": period}
        )

    first, second = html.split('data-testid="indicator-b"')
    assert "Watch" in first and "At risk" not in first
    assert "At risk" in second and "Watch" not in second
