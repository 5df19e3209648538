from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DeliveryMethod(models.TextChoices):
    ELECTRONIC = "electronic", _("Electronic policy")
    PAPER = "paper", _("Paper policy")


class DeliveryStatus(models.TextChoices):
    """pending → sent → delivered; sent → failed | returned; failed | returned → sent again."""

    PENDING = "pending", _("Not sent yet")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Delivery failed")
    RETURNED = "returned", _("Returned")


#: A delivery in these states still needs work (the queue shows them when overdue).
DELIVERY_OPEN = (DeliveryStatus.PENDING, DeliveryStatus.SENT)
DELIVERY_PROBLEM = (DeliveryStatus.FAILED, DeliveryStatus.RETURNED)


class VisitStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status", "Open")
    DONE = "done", _("Done")
    FAILED = "failed", _("Unreachable (attempts used up)")
    CANCELLED = "cancelled", _("No longer needed")


class VisitOutcome(models.TextChoices):
    """What a return visit (回访) found (2023 rule Art. 35)."""

    CONFIRMED = "confirmed", _("Confirmed: identity, application and understanding")
    UNREACHABLE = "unreachable", _("Unreachable")
    MISUNDERSTANDING = "misunderstanding", _("Misunderstanding found")
    CANCEL_REQUESTED = "cancel_requested", _("Customer asks to cancel")


class PremiumStatus(models.TextChoices):
    """due → paid; due → in grace (day after the due date) → lapsed (day after the grace)."""

    DUE = "due", _("Due")
    PAID = "paid", _("Paid")
    IN_GRACE = "in_grace", _("In grace")
    LAPSED = "lapsed", _("Lapsed")
    WAIVED = "waived", _("Waived")


UNPAID = (PremiumStatus.DUE, PremiumStatus.IN_GRACE, PremiumStatus.LAPSED)


class ServicingStatus(models.TextChoices):
    """In-force status of an issued policy, kept by renewal operations."""

    IN_FORCE = "in_force", _("In force")
    LAPSED = "lapsed", _("Lapsed")
    REINSTATED = "reinstated", _("Reinstated")
    SURRENDERED = "surrendered", _("Surrendered")
    CLAIM_TERMINATED = "claim_terminated", _("Terminated by a claim")
    TRANSFERRED_OUT = "transferred_out", _("Transferred out")
    MATURED = "matured", _("Matured")
    CANCELLED = "cancelled", _("Cancelled in free-look")


#: Policies that are being kept: premiums fall due and renewal tasks open for them.
ACTIVE_SERVICING = (ServicingStatus.IN_FORCE, ServicingStatus.REINSTATED)
#: The end of a policy: nothing more falls due.
TERMINAL_SERVICING = (
    ServicingStatus.SURRENDERED,
    ServicingStatus.CLAIM_TERMINATED,
    ServicingStatus.TRANSFERRED_OUT,
    ServicingStatus.MATURED,
    ServicingStatus.CANCELLED,
)


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status", "Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class RenewalOutcome(models.TextChoices):
    """How a renewal task ended (set when its premium is settled)."""

    PAID = "paid", _("Paid")
    LAPSED = "lapsed", _("Lapsed")
    WAIVED = "waived", _("Waived")
    REINSTATED = "reinstated", _("Paid on reinstatement")
    ENDED = "ended", _("Policy ended")


class ContactOutcome(models.TextChoices):
    """What a renewal call (or message) achieved."""

    PROMISED = "promised", _("Reached: will pay")
    REACHED = "reached", _("Reached: reminded")
    REFUSED = "refused", _("Reached: will not pay")
    UNREACHABLE = "unreachable", _("Not reached")


class NoticeStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status", "Open")
    DONE = "done", _("Notified")
    CANCELLED = "cancelled", _("No longer needed")


class NoticeChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("Text message")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("E-mail")


class ExitReassign(models.TextChoices):
    """Who serves a leaving agent's policies."""

    POOL = "pool", _("Renewal operations (the pool)")
    TEAM_LEAD = "team_lead", _("The agent's team lead")


class ReceiptRejectReason(models.TextChoices):
    UNKNOWN_POLICY = "unknown_policy", _("Unknown policy number")
    UNKNOWN_PERIOD = "unknown_period", _("No such premium due")
    DUPLICATE_IN_FILE = "duplicate_in_file", _("Duplicate within the file")
    ALREADY_PAID = "already_paid", _("Already recorded as paid")
    WRONG_AMOUNT = "wrong_amount", _("Amount does not match the premium due")
    BEFORE_ISSUE = "before_issue", _("Paid before the policy was issued")
    FUTURE_DATE = "future_date", _("Paid date in the future")
    AFTER_GRACE = "after_grace", _("Paid after the grace period ended")
    NOT_IN_FORCE = "not_in_force", _("Policy not in force")
    EARLIER_UNPAID = "earlier_unpaid", _("An earlier premium is not paid yet")
    INVALID_VALUE = "invalid_value", _("Invalid value")
    BAD_ROW = "bad_row", _("Malformed row")


class BatchStatus(models.TextChoices):
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
