"""Links other apps offer on a policy's page and its list row (``hooks.register_policy_link``):
drawn for the users their provider returns one for, in order; a provider that fails is left
out and the page still renders. (The tickets app's "open a complaint" is tested there.)"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telesales.core.roles import Role, has_role
from telesales.policies import hooks, services
from telesales.policies.hooks import PolicyLink, policy_links

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued(world, sell):
    policy = sell(at=timezone.now() - dt.timedelta(days=3))
    return services.policy_issue(
        policy=policy, issued_at=timezone.now() - dt.timedelta(days=2), actor=world.renewal.user
    )


@pytest.fixture
def only_these_links(monkeypatch):
    """Replace the registered providers for one test."""

    def use(*providers):
        monkeypatch.setattr(hooks, "_POLICY_LINKS", [])
        for fn in providers:
            hooks.register_policy_link(fn)

    return use


def _renewal_note(*, user, policy):
    if not has_role(user, Role.RENEWAL_OPS):
        return None
    return PolicyLink(label="写备注", url=f"/x/{policy.pk}/", icon="pencil", testid="note-link")


def _broken(*, user, policy):
    raise RuntimeError("boom")


def test_a_registered_link_shows_on_the_page_and_the_row_for_whom_it_is(
    world, page_for, issued, only_these_links
):
    only_these_links(_broken, _renewal_note)
    ops = page_for(world.renewal)
    detail = ops.get(f"/policies/{issued.pk}/").content.decode()
    assert 'data-testid="policy-links"' in detail
    assert f'href="/x/{issued.pk}/" data-testid="note-link"' in detail and "写备注" in detail
    listing = ops.get("/policies/").content.decode()
    assert 'data-testid="note-link"' in listing and 'title="写备注"' in listing
    # someone the provider returns nothing for gets no link (and no empty box)
    alice = page_for(world.alice).get(f"/policies/{issued.pk}/")
    assert alice.status_code == 200
    assert 'data-testid="policy-links"' not in alice.content.decode()


def test_a_failing_provider_is_left_out(world, issued, only_these_links, caplog):
    only_these_links(_broken, _renewal_note)
    links = policy_links(user=world.renewal.user, policy=issued)
    assert [link.testid for link in links] == ["note-link"]
    assert "Policy link _broken failed" in caplog.text


def test_registering_twice_keeps_one(only_these_links):
    only_these_links(_renewal_note, _renewal_note)
    assert [_renewal_note] == hooks._POLICY_LINKS
