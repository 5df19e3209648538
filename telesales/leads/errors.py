"""Why a pool operation said no. Each has a stable code the API returns and a message."""

from telesales.core.errors import Conflict, InvalidState, PermissionDenied


class LeadTaken(Conflict):
    code = "lead_taken"


class NotInPublicPool(InvalidState):
    code = "not_in_public_pool"


class NotInPrivatePool(InvalidState):
    """Release or transfer of a lead nobody holds (public, or closed)."""

    code = "not_in_private_pool"


class ClaimLimitReached(Conflict):
    code = "claim_limit_reached"


class PrivateCapReached(Conflict):
    code = "private_cap_reached"


class FormerOwnerBarred(Conflict):
    code = "former_owner_barred"


class GradeTooLow(PermissionDenied):
    code = "grade_too_low"


class AgentNotWorking(InvalidState):
    code = "agent_not_working"


class NoConsent(InvalidState):
    code = "no_consent"


class DoNotCall(InvalidState):
    code = "do_not_call"


class StalePreview(Conflict):
    code = "stale_preview"


class DncAlreadyListed(Conflict):
    """A number that has a do-not-call entry in force already (one entry per number)."""

    code = "dnc_already_listed"
