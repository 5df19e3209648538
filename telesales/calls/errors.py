"""Why the workspace said no. Each has a stable code the API returns and a message."""

from telesales.core.errors import (
    Conflict,
    InvalidState,
    PermissionDenied,
    ValidationFailed,
)


class NothingToDispatch(Conflict):
    """No lead can be handed out now. ``details.reasons``: ``[{code, message, fix, count}]``."""

    code = "nothing_to_dispatch"


class DialBlocked(Conflict):
    """A compliance guard refused the dial. ``details.reasons``: ``[{code, message, fix}]``."""

    code = "dial_blocked"


class CallUnfinished(Conflict):
    """The agent's current call has no outcome yet: record it before taking the next lead."""

    code = "call_unfinished"


class LeadMoved(Conflict):
    """The call's lead left the agent's hands after the page was opened (a transfer, a
    release): what the agent posts for the call is refused whole."""

    code = "lead_moved"


class CallNotOpen(InvalidState):
    code = "call_not_open"


class CallAlreadyDisposed(InvalidState):
    code = "call_already_disposed"


class NotYourCall(PermissionDenied):
    code = "not_your_call"


class FollowUpInPast(ValidationFailed):
    """A follow-up or callback time that is not in the future (422 with the field)."""

    code = "followup_in_past"


class WonLeadNeedsServiceFollowUp(InvalidState):
    """A sales callback or cadence step booked on a lead the agent won: a won customer's
    calls are service follow-ups (kind ``service``)."""

    code = "won_lead_needs_service_followup"


class FollowUpNotOpen(InvalidState):
    code = "followup_not_open"


class UnknownDisposition(ValidationFailed):
    """A disposition code that does not exist or is no longer in use: a field error on
    ``code`` (it was a 404, which read as "no such call")."""

    def __init__(self, message: str = "") -> None:
        super().__init__(message, fields={"code": [message]})


class CdrLayoutUnknown(InvalidState):
    """The CDR file is not in the Asterisk Master.csv layout; nothing was applied."""

    code = "cdr_layout_unknown"


class TelephonyFailed(Conflict):
    code = "telephony_failed"
