"""Why an operations step said no. Each has a stable code the API returns and a message."""

from telesales.core.errors import Conflict, InvalidState, ValidationFailed


class WrongDeliveryStatus(InvalidState):
    code = "wrong_delivery_status"


class WrongPremiumStatus(InvalidState):
    code = "wrong_premium_status"


class PolicyNotInForce(InvalidState):
    code = "policy_not_in_force"


class ReinstatementExpired(InvalidState):
    code = "reinstatement_expired"


class AmountMismatch(ValidationFailed):
    code = "amount_mismatch"


class TaskClosed(InvalidState):
    code = "task_closed"


class VisitClosed(InvalidState):
    code = "visit_closed"


class NoticeClosed(InvalidState):
    code = "notice_closed"


class NotServiced(InvalidState):
    """The policy has no servicing record yet (not issued, or the nightly sync has not run)."""

    code = "not_serviced"


class ReceiptFileRefused(ValidationFailed):
    """The receipt file cannot be read at all; nothing was applied."""

    code = "receipt_file_refused"

    def __init__(self, message: str) -> None:
        super().__init__(message, fields={"file": [message]})


class OwnerNotWorking(Conflict):
    code = "owner_not_working"
