""" "Open a complaint" on a policy's page and in its row of the policy list (registered with
``policies.hooks``): shown to the roles that open tickets, never to the others, and it opens
the new-ticket form prefilled with the kind, the policy and its holder."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from telesales.core.roles import Role
from telesales.policies.choices import PolicyStatus
from telesales.tickets.links import complaint_link_for_policy
from telesales.tickets.models import Ticket
from telesales.tickets.tests.factories import PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

LINK = 'data-testid="open-complaint"'


@pytest.fixture
def planner(world):
    """Reads every policy (planning / supervision) but does not work tickets."""
    user = UserFactory(username="plan", roles=[Role.PLANNER])
    return PersonFactory(team=world.office, user=user, name="plan")


def _href(page: str) -> str:
    start = page.index(LINK)
    tag = page[page.rindex("<a ", 0, start) : page.index(">", start)]
    return tag.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")


@pytest.mark.parametrize("who", ["alice", "lead_a", "ops", "boss"])
def test_the_policy_page_offers_a_complaint_to_those_who_open_tickets(world, page_for, who):
    policy = world.policy  # sold by alice (team A) to the holder
    page = page_for(getattr(world, who)).get(f"/policies/{policy.pk}/").content.decode()
    assert page.count(LINK) == 1
    url = urlsplit(_href(page))
    assert url.path == "/tickets/queue/new/"
    assert parse_qs(url.query) == {
        "kind": ["complaint"],
        "policy": [policy.number],
        "customer": [str(world.holder.pk)],
    }
    assert "登记投诉" in page


def test_the_policy_page_offers_no_complaint_to_a_role_that_cannot_open_tickets(
    world, page_for, planner
):
    response = page_for(planner).get(f"/policies/{world.policy.pk}/")
    assert response.status_code == 200  # the planner reads the policy ...
    assert LINK not in response.content.decode()  # ... but opens no ticket
    listing = page_for(planner).get("/policies/").content.decode()
    assert world.policy.number in listing and LINK not in listing


def test_each_row_of_the_policy_list_offers_a_complaint(world, page_for):
    page = page_for(world.ops).get("/policies/").content.decode()
    assert page.count(LINK) == 2  # alice's and bob's policies
    assert 'title="登记投诉"' in page
    assert page_for(world.alice).get("/policies/").content.decode().count(LINK) == 1


def test_the_link_opens_the_form_prefilled_and_the_ticket_keeps_policy_and_customer(
    world, page_for
):
    client = page_for(world.alice)
    page = client.get(f"/policies/{world.policy.pk}/").content.decode()
    form = client.get(_href(page))
    assert form.status_code == 200
    html = form.content.decode()
    assert '<option value="complaint" selected>' in html
    assert f'value="{world.policy.number}"' in html
    assert f'name="customer" value="{world.holder.pk}" checked' in html
    sent = client.post(
        "/tickets/queue/new/",
        {
            "kind": "complaint",
            "channel": "phone",
            "priority": "normal",
            "subject": "客户投诉理赔太慢",
            "customer": world.holder.pk,
            "policy_number": world.policy.number,
        },
    )
    assert sent.status_code == 302
    ticket = Ticket.objects.get(subject="客户投诉理赔太慢")
    assert (ticket.kind, ticket.policy, ticket.customer, ticket.agent) == (
        "complaint",
        world.policy,
        world.holder,
        world.alice,
    )


def test_a_policy_not_yet_issued_prefills_the_customer_alone(world):
    world.policy.number = ""
    world.policy.status = PolicyStatus.APPLIED
    link = complaint_link_for_policy(user=world.ops.user, policy=world.policy)
    assert parse_qs(urlsplit(link.url).query) == {
        "kind": ["complaint"],
        "customer": [str(world.holder.pk)],
    }
    assert complaint_link_for_policy(user=world.hr.user, policy=world.policy) is None


@pytest.mark.parametrize("customer", ["²", "１２", "-1", "1" * 10, "abc"])
def test_an_odd_customer_in_the_address_prefills_nothing_and_is_no_error(world, page_for, customer):
    """ "²" is a digit to Python but no number to int(): the new-ticket form answered 500."""
    response = page_for(world.ops).get("/tickets/queue/new/", {"customer": customer})
    assert response.status_code == 200
    assert 'name="customer"' not in response.content.decode()  # no customer picked
