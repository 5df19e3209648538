from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ProductCategory(models.TextChoices):
    """What a product covers; extended service (延伸服务) suggests by category."""

    ACCIDENT = "accident", _("Accident")
    CRITICAL_ILLNESS = "critical_illness", _("Critical illness")
    MEDICAL = "medical", _("Medical")
    LIFE = "life", _("Life")
    PENSION = "pension", _("Pension")
    EDUCATION = "education", _("Education")


class PaymentMode(models.TextChoices):
    SINGLE = "single", _("Single premium")
    ANNUAL = "annual", _("Annual")
    SEMI_ANNUAL = "semi_annual", _("Semi-annual")
    # "payment mode": the same English words are an assessment period elsewhere (月度, 季度)
    QUARTERLY = "quarterly", pgettext_lazy("payment mode", "Quarterly")
    MONTHLY = "monthly", pgettext_lazy("payment mode", "Monthly")


#: Instalments a year for each payment mode (a single premium is paid once).
INSTALMENTS_PER_YEAR = {
    PaymentMode.SINGLE: 1,
    PaymentMode.ANNUAL: 1,
    PaymentMode.SEMI_ANNUAL: 2,
    PaymentMode.QUARTERLY: 4,
    PaymentMode.MONTHLY: 12,
}


class CommissionBasis(models.TextChoices):
    """The premium the first-year commission (FYC) is computed on (DOMAIN.md §4)."""

    FYP = "fyp", _("First-year premium (FYP)")
    STANDARD = "standard", _("Standardised premium (标保)")


class PolicyStatus(models.TextChoices):
    """applied → issued → receipt confirmed → free-look ended; or cancelled in free-look; or,
    before the issue, declined by underwriting (拒保)."""

    APPLIED = "applied", pgettext_lazy("policy status", "Applied")
    ISSUED = "issued", pgettext_lazy("policy status", "Issued")
    RECEIPT_CONFIRMED = "receipt_confirmed", _("Receipt confirmed")
    FREE_LOOK_ENDED = "free_look_ended", _("Free-look ended")
    CANCELLED = "cancelled", _("Cancelled in free-look")
    DECLINED = "declined", _("Declined by underwriting")


#: Not (or no longer) a sale: the figures that count sales net of cancellations leave them out.
NOT_SOLD_STATUSES = (PolicyStatus.CANCELLED, PolicyStatus.DECLINED)
#: A policy in these states still counts as held by the household.
HELD_STATUSES = (
    PolicyStatus.APPLIED,
    PolicyStatus.ISSUED,
    PolicyStatus.RECEIPT_CONFIRMED,
    PolicyStatus.FREE_LOOK_ENDED,
)
#: Inside the free-look window (or before it starts): a cancellation is still possible.
CANCELLABLE_STATUSES = (PolicyStatus.ISSUED, PolicyStatus.RECEIPT_CONFIRMED)


class CancelReason(models.TextChoices):
    """Why a customer cancelled inside the free-look window (犹豫期退保)."""

    CHANGED_MIND = "changed_mind", _("Changed their mind")
    CANNOT_AFFORD = "cannot_afford", _("Cannot afford the premium")
    DUPLICATE_COVER = "duplicate_cover", _("Already has similar cover")
    FAMILY_OBJECTION = "family_objection", _("Family objected")
    MISUNDERSTOOD = "misunderstood", _("Misunderstood the product")
    SERVICE = "service", _("Unhappy with the service")
    BETTER_OFFER = "better_offer", _("Found a better offer")
    OTHER = "other", _("Other")


class PolicyAction(models.TextChoices):
    APPLY = "apply", _("Sale recorded")
    ISSUE = "issue", pgettext_lazy("policy history", "Issued")
    RECEIPT = "receipt", _("Receipt confirmed")
    FREE_LOOK_END = "free_look_end", _("Free-look ended")
    CANCEL = "cancel", _("Cancelled in free-look")
    DECLINE = "decline", _("Declined by underwriting")


class TaskKind(models.TextChoices):
    WELCOME_CALL = "welcome_call", _("Welcome call")
    FREE_LOOK_CHECKIN = "free_look_checkin", _("Free-look check-in")
    EXTENDED_SERVICE = "extended_service", _("Extended service")


STABILISATION_KINDS = (TaskKind.WELCOME_CALL, TaskKind.FREE_LOOK_CHECKIN)


class TaskStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("status", "Open")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")
    #: A stabilisation call not made before the free-look window ended: a miss the team lead
    #: sees and the stabilisation report counts, never "no longer needed".
    MISSED = "missed", pgettext_lazy("task status", "Missed")


class TaskOutcome(models.TextChoices):
    REACHED = "reached", _("Reached, all well")
    CONCERN = "concern", _("Reached, customer has concerns")
    NOT_REACHED = "not_reached", _("Not reached")
    INTERESTED = "interested", _("Interested")
    NOT_INTERESTED = "not_interested", _("Not interested")
    CONVERTED = "converted", _("Converted into a sale")
    #: The sale that converted the suggestion was cancelled in free-look afterwards.
    CONVERSION_CANCELLED = "conversion_cancelled", _("Converted, then cancelled in free-look")
    EXPIRED = "expired", _("No longer needed")


#: What an agent may record when completing a task of each kind (``converted``,
#: ``conversion_cancelled`` and ``expired`` are set by the system: a sale, its cancellation,
#: the end or cancellation of the policy).
OUTCOMES_BY_KIND = {
    TaskKind.WELCOME_CALL: (TaskOutcome.REACHED, TaskOutcome.CONCERN, TaskOutcome.NOT_REACHED),
    TaskKind.FREE_LOOK_CHECKIN: (
        TaskOutcome.REACHED,
        TaskOutcome.CONCERN,
        TaskOutcome.NOT_REACHED,
    ),
    TaskKind.EXTENDED_SERVICE: (
        TaskOutcome.INTERESTED,
        TaskOutcome.NOT_INTERESTED,
        TaskOutcome.NOT_REACHED,
    ),
}


class SuggestionRule(models.TextChoices):
    """The extended-service rules (seed document, 第五步 延伸服务)."""

    SPOUSE_ACCIDENT = "spouse_accident", _("Accident cover for the spouse")
    CRITICAL_ILLNESS = "critical_illness", _("Critical illness cover")
    PENSION = "pension", _("Pension")
    CHILD_ACCIDENT = "child_accident", _("Accident cover for a child")
    CHILD_EDUCATION = "child_education", _("Education fund for a child")


#: The product category each suggestion rule sells.
RULE_CATEGORY = {
    SuggestionRule.SPOUSE_ACCIDENT: ProductCategory.ACCIDENT,
    SuggestionRule.CRITICAL_ILLNESS: ProductCategory.CRITICAL_ILLNESS,
    SuggestionRule.PENSION: ProductCategory.PENSION,
    SuggestionRule.CHILD_ACCIDENT: ProductCategory.ACCIDENT,
    SuggestionRule.CHILD_EDUCATION: ProductCategory.EDUCATION,
}
