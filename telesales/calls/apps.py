from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "telesales.calls"
    label = "calls"
    verbose_name = _("Calls and the agent workspace")

    def ready(self) -> None:
        pass
