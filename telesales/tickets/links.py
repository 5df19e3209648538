"""Links the tickets app offers on other apps' pages (registered in ``TicketsConfig.ready``).

A policy's page and its row in the policy list offer "open a complaint" to the roles that
open tickets: the new-ticket form, prefilled with the kind (complaint), the policy (by its
number, once issued) and its holder as the customer. The service checks everything again
when the form is sent (``services.ticket_open``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from telesales.policies.hooks import PolicyLink
from telesales.tickets import permissions
from telesales.tickets.choices import TicketKind


def complaint_link_for_policy(*, user, policy) -> PolicyLink | None:
    """ "Open a complaint" about ``policy`` and its holder, for a user who may open tickets."""
    if not permissions.can_open_ticket(user):
        return None
    query = {"kind": TicketKind.COMPLAINT.value}
    if policy.number:
        query["policy"] = policy.number
    if policy.holder_id:
        query["customer"] = str(policy.holder_id)
    return PolicyLink(
        label=_("Open a complaint"),
        url=f"{reverse('tickets:ticket_create')}?{urlencode(query)}",
        icon="megaphone",
        testid="open-complaint",
    )
