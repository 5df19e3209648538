from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class TicketKind(models.TextChoices):
    """What the customer needs (issue 5, item 6)."""

    COMPLAINT = "complaint", _("Complaint")
    POLICY_CHANGE = "policy_change", _("Policy change")
    CLAIM_HELP = "claim_help", _("Claim help")
    CANCELLATION = "cancellation_request", _("Cancellation request")
    OTHER = "other", pgettext_lazy("ticket kind", "Other")


class TicketChannel(models.TextChoices):
    """How the request reached the center."""

    PHONE = "phone", _("Phone")
    ONLINE = "online", _("Online")
    REGULATOR = "regulator", _("Regulator / 12321")
    INSURER = "insurer", _("Insurer")
    WALK_IN = "walk_in", _("Walk-in")
    OTHER = "other", pgettext_lazy("ticket channel", "Other")


class TicketPriority(models.TextChoices):
    URGENT = "urgent", pgettext_lazy("priority", "Urgent")
    HIGH = "high", pgettext_lazy("priority", "High")
    NORMAL = "normal", pgettext_lazy("priority", "Normal")
    LOW = "low", pgettext_lazy("priority", "Low")


#: Most urgent first (the order of the SLA matrix on screens).
PRIORITY_ORDER = (
    TicketPriority.URGENT,
    TicketPriority.HIGH,
    TicketPriority.NORMAL,
    TicketPriority.LOW,
)


class TicketStatus(models.TextChoices):
    """open → in progress ⇄ waiting for the customer → resolved → closed; resolved or closed
    may be reopened."""

    # "ticket status": the words are adjectives here ("Open" is not the verb).
    OPEN = "open", pgettext_lazy("ticket status", "Open")
    IN_PROGRESS = "in_progress", pgettext_lazy("ticket status", "In progress")
    WAITING_CUSTOMER = (
        "waiting_customer",
        pgettext_lazy("ticket status", "Waiting for the customer"),
    )
    RESOLVED = "resolved", pgettext_lazy("ticket status", "Resolved")
    CLOSED = "closed", pgettext_lazy("ticket status", "Closed")


#: Not yet resolved: the SLA clock runs and escalation applies.
ACTIVE_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER)
DONE_STATUSES = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class TicketAction(models.TextChoices):
    OPEN = "open", pgettext_lazy("ticket history", "Opened")
    ASSIGN = "assign", pgettext_lazy("ticket history", "Assigned")
    RESPOND = "respond", pgettext_lazy("ticket history", "Replied")
    RESOLVE = "resolve", pgettext_lazy("ticket history", "Resolved")
    CLOSE = "close", pgettext_lazy("ticket history", "Closed")
    REOPEN = "reopen", pgettext_lazy("ticket history", "Reopened")
    ESCALATE = "escalate", pgettext_lazy("ticket history", "Escalated")


class EscalationLevel(models.IntegerChoices):
    NONE = 0, _("Not escalated")
    TEAM_LEAD = 1, _("Team lead")
    MANAGER = 2, _("Center manager")


class EscalationReason(models.TextChoices):
    RESPONSE_MISSED = "response_missed", _("First-response target missed")
    RESOLUTION_MISSED = "resolution_missed", _("Resolution target missed")
    STILL_UNRESOLVED = "still_unresolved", _("Still unresolved after the team lead's escalation")


#: The longest period a report covers (two years): a longer one would only be slow.
REPORT_MAX_DAYS = 731
