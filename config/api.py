"""The one NinjaAPI. Each app contributes a router; errors map once to {code, message, details}."""

from ninja import NinjaAPI

from telesales.calls.api import router as calls_router
from telesales.calls.api import workspace_router
from telesales.compensation.api import router as compensation_router
from telesales.compensation.api_assessment import router as assessment_router
from telesales.compensation.api_attendance import router as attendance_router
from telesales.compensation.api_whatif import router as whatif_router
from telesales.core.api import router as core_router
from telesales.core.http_api import BearerAuth, SessionAuth, install_error_handlers
from telesales.leads.api import router as leads_router
from telesales.operations.api import router as operations_router
from telesales.org.api import router as org_router
from telesales.policies.api import router as policies_router
from telesales.tickets.api import router as tickets_router

api = NinjaAPI(
    title="Telesales API",
    version="1",
    description="JSON API of the Telesales center. Browser sessions or bearer tokens "
    "(POST /api/v1/auth/token, or `telesales token-create USERNAME`).",
    auth=[BearerAuth(), SessionAuth()],
    urls_namespace="api",
)
install_error_handlers(api)
api.add_router("/", core_router)
api.add_router("/org/", org_router)
api.add_router("/leads/", leads_router)
api.add_router("/policies/", policies_router)
api.add_router("/operations/", operations_router)
api.add_router("/tickets/", tickets_router)
api.add_router("/calls/", calls_router)
api.add_router("/compensation/", compensation_router)
api.add_router("/compensation/", assessment_router)
api.add_router("/compensation/", whatif_router)
api.add_router("/compensation/", attendance_router)
api.add_router("/workspace/", workspace_router)
