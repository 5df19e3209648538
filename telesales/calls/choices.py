from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class AgentState(models.TextChoices):
    """Where an agent is in the call cycle (the live board shows it with its ``since``)."""

    IDLE = "idle", _("Ready")
    DIALLING = "dialling", _("Dialling")
    TALKING = "talking", _("Talking")
    WRAP_UP = "wrap_up", _("Wrap-up")
    BREAK = "break", _("On a break")
    OFFLINE = "offline", _("Offline")


#: States an agent may set themselves; the others follow from calls.
SELF_STATES = (AgentState.IDLE, AgentState.BREAK, AgentState.OFFLINE)


class CallKind(models.TextChoices):
    SALES = "sales", _("Sales call")
    RENEWAL = "renewal", _("Renewal call")
    SERVICE = "service", _("Service call")


class FollowUpKind(models.TextChoices):
    CALLBACK = "callback", _("Callback at an agreed time")
    FOLLOW_UP = "follow_up", _("Follow-up (cadence)")
    SERVICE = "service", _("Service call")


class FollowUpStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status", "Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    MOVED = "moved", _("Moved to a teammate")


class DispatchSource(models.TextChoices):
    """Where the "next lead" came from, in the order dispatch looks."""

    CALLBACK = "callback", _("Due callback or follow-up")
    SERVICE = "service", _("Due service task")
    RENEWAL = "renewal", _("Due renewal premium")
    PRIVATE = "private", _("Private pool")
    PUBLIC = "public", _("Public pool")


class BlockCode(models.TextChoices):
    """Why a dial (or a dispatch) is refused. Stable codes for the API."""

    OUTSIDE_WINDOW = "outside_window", _("Outside the calling window")
    DNC = "dnc", _("On the do-not-call list")
    NO_MARKETING = "no_marketing", _("Customer refuses all marketing")
    NO_CONSENT = "no_consent", _("No consent record")
    ATTEMPTS_TODAY = "attempts_today", _("Daily attempt cap reached")
    ATTEMPTS_24H = "attempts_24h", _("24-hour attempt cap reached")
    ATTEMPTS_LIFETIME = "attempts_lifetime", _("Lifetime attempt cap reached")
    COOL_DOWN = "cool_down", _("Too soon after the last attempt")
    REFUSAL_COOL_DOWN = "refusal_cool_down", _("Refused recently")
    AGENT_NOT_WORKING = "agent_not_working", _("Agent not working")
    AGENT_NOT_TRAINED = "agent_not_trained", _("Agent not registered to sell")
    GRADE_TOO_LOW = "grade_too_low", _("Sales-capability grade too low")
    LEAD_CLOSED = "lead_closed", _("Lead closed")
    NOT_OWNER = "not_owner", _("Not the agent's lead")
    CALL_IN_PROGRESS = "call_in_progress", _("Another call is in progress")
    NO_SERVICE_TASK = "no_service_task", _("No open service or renewal task")


class CdrRejectReason(models.TextChoices):
    BAD_ROW = "bad_row", _("Malformed row")
    BAD_TIME = "bad_time", _("Unreadable time")
    UNMATCHED = "unmatched", _("No matching call attempt")
    AMBIGUOUS = "ambiguous", _("Several call attempts match")
    CONFLICT = "conflict", _("Contradicts the call it would match (see the detail)")
