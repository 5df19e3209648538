from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CompensationConfig(AppConfig):
    name = "telesales.compensation"
    label = "compensation"
    verbose_name = _("Compensation")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from telesales.compensation.paybasis import install_after_migrate

        # The pay basis's change-log triggers (ADR 0017), after every migrate.
        post_migrate.connect(install_after_migrate, sender=self)
        from telesales.compensation import audit_actions  # noqa: F401 (the audit log's labels)
        from telesales.compensation.demo import seed_payrun_demo
        from telesales.core.navigation import NavItem, register
        from telesales.core.roles import Role
        from telesales.core.setup_steps import register_demo

        pay_admins = frozenset({Role.HR_ADMIN, Role.MANAGER})
        leads = frozenset({Role.TEAM_LEAD})
        register(
            NavItem("compensation:payrun_list", _("Pay runs"), "cash-stack", pay_admins, 60),
            NavItem(
                "compensation:attendance_edit", _("Attendance"), "calendar-check", pay_admins, 61
            ),
            NavItem("compensation:payrun_team", _("Team pay"), "people", leads, 61),
            NavItem("compensation:payslip_mine", _("My payslip"), "receipt", frozenset(Role), 62),
            NavItem(
                "compensation:warning_list",
                _("Promotion early warning"),
                "graph-up-arrow",
                frozenset(Role),
                63,
            ),
            NavItem(
                "compensation:assessment_list", _("Assessments"), "clipboard-check", pay_admins, 64
            ),
            NavItem("compensation:whatif", _("Basic-law what-if"), "sliders", pay_admins, 65),
            NavItem(
                "compensation:ruleset_list",
                _("Basic-law rule sets"),
                "journal-text",
                pay_admins | {Role.PLANNER},
                66,
            ),
        )
        # The agent's early-warning card on "My day".
        from telesales.compensation.dashboard import (
            MY_WARNING,
            MY_WARNING_LABEL,
            my_warning_indicator,
            personal_visible,
        )
        from telesales.core import dashboard

        dashboard.register(
            MY_WARNING,
            my_warning_indicator,
            label=MY_WARNING_LABEL,
            order=20,
            visible_to=personal_visible,
            personal=True,
        )
        # After the policies, operations and tickets demos: it pays what they sold.
        register_demo("compensation.payruns", seed_payrun_demo, order=70)
