from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "telesales.tickets"
    label = "tickets"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from telesales.core import dashboard
        from telesales.core.setup_steps import register_bootstrap, register_demo
        from telesales.org.hooks import on_person_stops_working
        from telesales.policies.hooks import register_policy_link
        from telesales.tickets import (
            audit_actions,  # noqa: F401 (the audit log's labels)
            navigation,  # noqa: F401  (registers the menu)
        )
        from telesales.tickets.dashboard import (
            COMPLAINT_RATE,
            COMPLAINT_RATE_LABEL,
            complaint_rate_indicator,
            complaint_rate_visible,
        )
        from telesales.tickets.demo import seed_tickets_demo
        from telesales.tickets.links import complaint_link_for_policy
        from telesales.tickets.rules import default_ruleset_ensure
        from telesales.tickets.services import tickets_release_on_leaving

        on_person_stops_working(tickets_release_on_leaving)
        # "open a complaint" on a policy's page and its row of the policy list
        register_policy_link(complaint_link_for_policy)
        register_bootstrap("tickets.sla", default_ruleset_ensure, order=50)
        register_demo("tickets.demo", seed_tickets_demo, order=60)
        dashboard.register(
            COMPLAINT_RATE,
            complaint_rate_indicator,
            label=COMPLAINT_RATE_LABEL,
            order=30,
            visible_to=complaint_rate_visible,
        )
