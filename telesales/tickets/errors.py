"""Why a ticket operation said no. Each has a stable code the API returns and a message."""

from telesales.core.errors import InvalidState, ValidationFailed


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
