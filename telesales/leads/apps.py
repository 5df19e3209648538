from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeadsConfig(AppConfig):
    name = "telesales.leads"
    label = "leads"
    verbose_name = _("Lead data")

    def ready(self) -> None:
        from telesales.core.setup_steps import register_demo
        from telesales.leads import (
            audit_actions,  # noqa: F401 (the audit log's labels)
            navigation,  # noqa: F401  (registers the menu)
        )
        from telesales.leads.demo import seed_leads_demo

        register_demo("leads.demo", seed_leads_demo, order=20)

        from telesales.leads.recycling import person_leads_recycle_on_leaving
        from telesales.org.hooks import on_person_stops_working

        # Someone who leaves or is suspended gives their private pool back at once (when the
        # rule set in force says so).
        on_person_stops_working(person_leads_recycle_on_leaving)
