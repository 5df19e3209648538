"""Why a ticket operation said no. Each has a stable code the API returns and a message."""

from telesales.core.errors import Conflict, InvalidState, ValidationFailed


class TicketWrongStatus(InvalidState):
    """The operation does not apply in the ticket's status (e.g. closing an open ticket)."""

    code = "ticket_wrong_status"


class TicketNotAssigned(InvalidState):
    """Responding or resolving needs an owner first."""

    code = "ticket_not_assigned"


class OwnerNotEligible(ValidationFailed):
    """The chosen owner may not hold this ticket (not working, no ticket role, out of reach,
    or the agent a complaint is about)."""

    code = "owner_not_eligible"


class DuplicateTicket(Conflict):
    """The same ticket again (a form submitted twice, a request retried): opened by the same
    person with the same content a moment ago. ``details``: the ticket opened first
    (``ticket``, its id, and ``number``)."""

    code = "duplicate_ticket"
