from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PoliciesConfig(AppConfig):
    name = "telesales.policies"
    label = "policies"
    verbose_name = _("Policies")

    def ready(self) -> None:
        from telesales.core import dashboard
        from telesales.core.setup_steps import register_bootstrap, register_demo
        from telesales.leads.recycling import register_exemption
        from telesales.org.hooks import on_person_stops_working
        from telesales.policies import (
            audit_actions,  # noqa: F401 (the audit log's labels)
            navigation,  # noqa: F401  (registers the menu)
        )
        from telesales.policies.dashboard import (
            MY_FREE_LOOK,
            MY_FREE_LOOK_LABEL,
            PREMIUM_PER_SEAT,
            PREMIUM_PER_SEAT_LABEL,
            STABILISATION_RATE,
            STABILISATION_RATE_LABEL,
            my_free_look_indicator,
            premium_per_seat_indicator,
            stabilisation_rate_indicator,
            stabilisation_rate_visible,
        )
        from telesales.policies.demo import seed_policies_demo, seed_service_history
        from telesales.policies.rules import default_ruleset_ensure
        from telesales.policies.sales_panel import SALES_PANEL, SALES_PANEL_LABEL, sales_panel
        from telesales.policies.selectors import lead_ids_with_open_tasks
        from telesales.policies.services import service_tasks_reassign_on_leaving

        register_bootstrap("policies.rules", default_ruleset_ensure, order=30)
        register_demo("policies.demo", seed_policies_demo, order=30)
        # After every demo that issues policies (operations, 50; the pay runs, 70).
        register_demo("policies.service_history", seed_service_history, order=80)
        # Leads with open post-sale tasks (welcome call, check-in, extended service) are
        # never recycled; a leaving agent's open tasks go to their team lead.
        register_exemption(lead_ids_with_open_tasks)
        on_person_stops_working(service_tasks_reassign_on_leaving)
        dashboard.register(
            PREMIUM_PER_SEAT,
            premium_per_seat_indicator,
            label=PREMIUM_PER_SEAT_LABEL,
            order=10,
            visible_to=stabilisation_rate_visible,
        )
        dashboard.register_panel(
            SALES_PANEL,
            sales_panel,
            label=SALES_PANEL_LABEL,
            order=10,
            visible_to=stabilisation_rate_visible,
        )
        # "My day": the seller hears of a free-look cancellation at once.
        dashboard.register(
            MY_FREE_LOOK,
            my_free_look_indicator,
            label=MY_FREE_LOOK_LABEL,
            order=40,
            personal=True,
        )
        dashboard.register(
            STABILISATION_RATE,
            stabilisation_rate_indicator,
            label=STABILISATION_RATE_LABEL,
            order=40,
            visible_to=stabilisation_rate_visible,
        )
