"""The people list: its empty states (nobody here, or nobody matching the filters) and its
search (names typed with spaces, employee numbers), on the page, in the selector and the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from telesales.core.roles import Role
from telesales.core.tests.api_helpers import JsonClient
from telesales.org import selectors
from telesales.org.choices import PersonStatus
from telesales.org.tests.factories import PersonFactory, TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db):
    return UserFactory(username="boss", roles=[Role.MANAGER])


@pytest.fixture
def people(db):
    team = TeamFactory(name="一组")
    return {
        "plain": PersonFactory(team=team, name="魏艳", employee_no="E1001"),
        "spaced": PersonFactory(team=team, name="魏 艳", employee_no="E1002"),
        "wide": PersonFactory(team=team, name="魏\u3000艳", employee_no="E1003"),
        "other": PersonFactory(team=team, name="魏 红艳", employee_no="E2001"),
        "left": PersonFactory(
            team=team,
            name="张伟",
            employee_no="E3001",
            status=PersonStatus.LEFT,
            left_on=dt.date(2026, 3, 5),
        ),
    }


def _page(client: Client, **params):
    response = client.get("/org/people/", params)
    assert response.status_code == 200
    return response, response.content.decode()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Empty states ----------------------------------------------------------------------------
def test_filters_that_match_nobody_say_so_and_offer_to_clear_them(manager, people):
    client = _client(manager)
    for filters in (
        {"q": "没有这个人"},
        {"status": "suspended"},
        {"status": "left", "left_since": "2026-04-01"},
        {"q": "魏艳", "status": "left"},
    ):
        response, html = _page(client, **filters)
        assert response.context["page"].paginator.count == 0, filters
        assert 'data-testid="empty-state-filtered"' in html, filters
        assert 'data-testid="empty-state"' not in html, filters
        assert 'data-testid="clear-filters"' in html and 'href="/org/people/"' in html
    # The same through htmx (the table alone, as the filter bar asks for it).
    htmx = client.get("/org/people/", {"q": "没有这个人"}, HTTP_HX_REQUEST="true")
    assert b"<html" not in htmx.content and b'data-testid="clear-filters"' in htmx.content


def test_an_empty_center_says_no_people_yet_and_offers_to_add_them(manager):
    client = _client(manager)
    for params in ({}, {"q": "", "team": "", "status": "", "page": "2"}):
        _, html = _page(client, **params)
        assert 'data-testid="empty-state"' in html, params
        assert 'data-testid="empty-state-filtered"' not in html and "clear-filters" not in html
        assert 'href="/org/people/new/"' in html


def test_filters_ignored_as_nonsense_do_not_claim_to_filter(manager):
    """An empty center with a filter that is not understood: the filters were ignored (the
    page says so), so the list is empty because the center is."""
    _, html = _page(_client(manager), team="abc")
    assert 'data-testid="empty-state"' in html and "empty-state-filtered" not in html


# --- Search ----------------------------------------------------------------------------------
@pytest.mark.parametrize("typed", ["魏 艳", "魏艳", " 魏  艳 ", "魏\u3000艳", "魏\t艳"])
def test_search_ignores_spaces_inside_names(manager, people, typed):
    found = selectors.person_list(user=manager, search=typed)
    assert {p.employee_no for p in found} == {"E1001", "E1002", "E1003"}


def test_search_still_finds_by_employee_number_and_part_of_a_name(manager, people):
    def search(text: str) -> set[str]:
        return {p.employee_no for p in selectors.person_list(user=manager, search=text)}

    assert search("E1002") == {"E1002"}
    assert search("e 1002") == {"E1002"}  # a code's spaces are no part of it
    assert search("Ｅ１００２") == {"E1002"}  # full-width, as a Chinese input method types
    assert search("红 艳") == {"E2001"}
    assert search("艳") == {"E1001", "E1002", "E1003", "E2001"}
    assert search("魏%") == set() and search("魏_艳") == set()  # no wildcards
    assert search("张伟") == set()  # current staff only, unless leavers are asked for
    assert {
        p.employee_no for p in selectors.person_list(user=manager, search="张 伟", status="left")
    } == {"E3001"}


def test_the_page_and_the_api_search_names_typed_with_a_space(manager, people):
    response, html = _page(_client(manager), q="魏 艳")
    assert response.context["page"].paginator.count == 3
    assert all(p.name in html for p in (people["plain"], people["spaced"]))
    api = JsonClient()
    api.force_login(manager)
    rows = api.get("/api/v1/org/people", {"q": "魏\u3000艳"}).json()
    assert sorted(r["employee_no"] for r in rows) == ["E1001", "E1002", "E1003"]
    rows = api.get("/api/v1/org/people", {"q": "E2001"}).json()
    assert [r["employee_no"] for r in rows] == ["E2001"]


def test_the_api_filters_leavers_by_period_and_kind_of_team(manager, people):
    api = JsonClient()
    api.force_login(manager)
    march = {"status": "left", "left_since": "2026-03-01", "left_until": "2026-03-31"}
    rows = api.get("/api/v1/org/people", {**march, "team_kind": "sales"}).json()
    assert [r["employee_no"] for r in rows] == ["E3001"]
    assert api.get("/api/v1/org/people", {**march, "team_kind": "back_office"}).json() == []
    assert api.get("/api/v1/org/people", {**march, "left_since": "2026-03-06"}).json() == []
