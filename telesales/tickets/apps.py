from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "telesales.tickets"
    label = "tickets"
    verbose_name = _("Customer service")

    def ready(self) -> None:
        from telesales.core.setup_steps import register_bootstrap, register_demo
        from telesales.tickets import navigation  # noqa: F401  (registers the menu)
        from telesales.tickets.demo import seed_tickets_demo
        from telesales.tickets.rules import default_ruleset_ensure

        register_bootstrap("tickets.sla", default_ruleset_ensure, order=50)
        register_demo("tickets.demo", seed_tickets_demo, order=60)
