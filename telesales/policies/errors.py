"""Why a policy operation said no. Each has a stable code the API returns and a message."""

from telesales.core.errors import Conflict, InvalidState, PermissionDenied


class GradeTooLow(PermissionDenied):
    """The agent's sales-capability grade is below the product's grade (2023 rule Art. 16)."""

    code = "grade_too_low"


class NotRegistered(PermissionDenied):
    """The agent has no practice registration, so may not sell (2023 rule Art. 3)."""

    code = "not_registered"


class AgentNotWorking(InvalidState):
    code = "agent_not_working"


class LeadNotWorked(InvalidState):
    """The lead is not in the agent's hands (another owner, the public pool, closed)."""

    code = "lead_not_worked"


class ProductNotOnSale(InvalidState):
    code = "product_not_on_sale"


class WrongStatus(InvalidState):
    """The policy is not in the status the operation needs (issue twice, receipt first…)."""

    code = "wrong_policy_status"


class FreeLookOver(InvalidState):
    code = "free_look_over"


class DuplicatePolicyNumber(Conflict):
    code = "duplicate_policy_number"


class DuplicateSale(Conflict):
    """The same sale again (a form submitted twice): same lead, product, holder and insured
    persons, applied since the call began. ``details.policy``: the policy recorded first."""

    code = "duplicate_sale"


class TaskClosed(InvalidState):
    code = "task_closed"
