from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "telesales.operations"
    label = "operations"
    verbose_name = _("Operations and renewal")

    def ready(self) -> None:
        from telesales.core.setup_steps import register_bootstrap, register_demo
        from telesales.operations import (
            audit_actions,  # noqa: F401 (the audit log's labels)
            navigation,  # noqa: F401  (menu and home page)
        )
        from telesales.operations.demo import seed_operations_demo
        from telesales.operations.rules import default_ruleset_ensure
        from telesales.operations.services import servicing_on_person_stops_working
        from telesales.org.hooks import on_person_stops_working

        register_bootstrap("operations.rules", default_ruleset_ensure, order=40)
        register_demo("operations.demo", seed_operations_demo, order=50)
        # A leaving agent's policies and open renewal tasks pass to renewal operations (or the
        # team lead, by the rule set), and their long-term policyholders get exit notices.
        on_person_stops_working(servicing_on_person_stops_working)
        # The policy list and page say a policy lapsed, was reinstated or ended.
        from telesales.operations.selectors import policy_state_words
        from telesales.policies.hooks import register_policy_state

        register_policy_state(policy_state_words)
