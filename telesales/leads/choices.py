from django.db import models
from django.utils.translation import gettext_lazy as _


class LeadState(models.TextChoices):
    """The life cycle of a lead (DOMAIN.md §5.1)."""

    NEW = "new", _("New")
    PUBLIC = "public", _("Public pool")
    OWNED = "owned", _("Owned, not yet called")  # in a private pool, like in_progress
    IN_PROGRESS = "in_progress", _("In progress")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    INVALID = "invalid", _("Invalid")
    DNC = "dnc", _("Do not call")


OPEN_STATES = (LeadState.OWNED, LeadState.IN_PROGRESS)
FINAL_STATES = (LeadState.WON, LeadState.LOST, LeadState.INVALID, LeadState.DNC)


class LeadGrade(models.TextChoices):
    A = "A", _("A (hot)")
    B = "B", _("B (warm)")
    C = "C", _("C (cool)")
    D = "D", _("D (cold)")


class Gender(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")


class Relation(models.TextChoices):
    """How a household member is related to the customer they were recorded with."""

    SPOUSE = "spouse", _("Spouse")
    CHILD = "child", _("Child")
    PARENT = "parent", _("Parent")
    OTHER = "other", _("Other relative")


class BatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    MAPPING = "mapping", _("Needs column mapping")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class RejectReason(models.TextChoices):
    DUPLICATE_IN_FILE = "duplicate_in_file", _("Duplicate within the file")
    DUPLICATE_EXISTING = "duplicate_existing", _("Customer already exists")
    INVALID_PHONE = "invalid_phone", _("Invalid phone number")
    MISSING_PHONE = "missing_phone", _("No phone number")
    DNC = "dnc", _("On the do-not-call list")
    INVALID_ID_NUMBER = "invalid_id_number", _("Invalid ID number")
    BAD_ENCODING = "bad_encoding", _("Unreadable characters")
    BAD_ROW = "bad_row", _("Malformed row")
    INVALID_VALUE = "invalid_value", _("Invalid value")


class LeadAction(models.TextChoices):
    IMPORT = "import", _("Imported")
    CLAIM = "claim", _("Claimed from the public pool")
    ALLOCATE = "allocate", _("Allocated")
    RELEASE = "release", _("Released to the public pool")
    RECYCLE = "recycle", _("Recycled to the public pool")
    RECYCLE_WARNING = "recycle_warning", _("Warned before recycling")
    PROTECT = "protect", _("Protection extended")
    STATE = "state", _("State changed")
    DNC = "dnc", _("Blocked: do not call")


class AllocationStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", _("Round-robin")
    WEIGHTED = "weighted", _("Weighted by level and productivity")
    MANUAL = "manual", _("Manual")


class DncSource(models.TextChoices):
    CUSTOMER_REQUEST = "customer_request", _("Customer refused")
    IMPORT = "import", _("Imported list")
    COMPLAINT = "complaint", _("Complaint")
    MANUAL = "manual", _("Entered by staff")
