from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "telesales.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        from django.core import checks

        from telesales.core import audit_actions  # noqa: F401 (the audit log's labels)
        from telesales.core.dashboard import check_thresholds
        from telesales.core.navigation import NavItem, register
        from telesales.core.roles import Role

        register(
            NavItem(
                "core:audit_list",
                _("Audit log"),
                "journal-text",
                frozenset({Role.MANAGER, Role.HR_ADMIN}),
                95,
            )
        )
        checks.register(check_thresholds)
