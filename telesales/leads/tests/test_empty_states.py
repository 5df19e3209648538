"""Every lead list, empty, tells the user what to do next (a center without lead data)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

PAGES = [
    ("data", "/leads/dashboard/"),
    ("data", "/leads/list/"),
    ("data", "/leads/batches/"),
    ("data", "/leads/pools/"),
    ("data", "/leads/allocation/"),
    ("data", "/leads/rules/"),
    ("data", "/leads/dnc/"),
    ("data", "/leads/quality/"),
    ("agent1", "/leads/mine/"),
    ("agent1", "/leads/public/"),
    ("teamlead1", "/leads/team/"),
]


@pytest.mark.parametrize(("username", "url"), PAGES)
def test_an_empty_list_says_what_to_do_next(client_for, username, url):
    response = client_for(username).get(url)
    assert response.status_code == 200, url
    assert 'data-testid="empty-state"' in response.content.decode(), url
