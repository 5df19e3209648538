from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "telesales.org"
    label = "org"
    verbose_name = _("Organisation")

    def ready(self) -> None:
        from telesales.core import dashboard
        from telesales.core.setup_steps import register_bootstrap, register_demo
        from telesales.org import (
            audit_actions,  # noqa: F401 (the audit log's labels)
            navigation,  # noqa: F401  (registers the menu)
        )
        from telesales.org.dashboard import (
            ATTRITION,
            ATTRITION_LABEL,
            attrition_indicator,
            attrition_visible,
        )
        from telesales.org.demo import seed_org_demo
        from telesales.org.reference_data import load_reference_data

        register_bootstrap("org.reference_data", load_reference_data, order=10)
        register_demo("org.demo", seed_org_demo, order=10)
        dashboard.register(
            ATTRITION,
            attrition_indicator,
            label=ATTRITION_LABEL,
            order=20,
            visible_to=attrition_visible,
        )
