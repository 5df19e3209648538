from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallsConfig(AppConfig):
    name = "telesales.calls"
    label = "calls"
    verbose_name = _("Calls and the agent workspace")

    def ready(self) -> None:
        from telesales.calls import (
            audit_actions,  # noqa: F401 (the audit log's labels)
            navigation,  # noqa: F401
        )

        # Domain plumbing (the calls core): reference data, and follow-ups of people who
        # leave or are suspended are cancelled (their leads go back through the leads app).
        from telesales.calls.reference_data import calls_reference_data_ensure
        from telesales.calls.services import followups_cancel_for_person
        from telesales.core.setup_steps import register_bootstrap
        from telesales.org.hooks import on_person_stops_working

        register_bootstrap("calls.reference_data", calls_reference_data_ensure, order=40)
        on_person_stops_working(followups_cancel_for_person)
        # A declined application gives the lead back: the agent owes the customer a call.
        from telesales.calls.services import followup_after_decline
        from telesales.policies.hooks import on_policy_declined

        on_policy_declined(followup_after_decline)
        # An interested customer recorded on the task list: the next service call is booked.
        from telesales.calls.services import service_call_after_interest
        from telesales.policies.hooks import on_service_interest

        on_service_interest(service_call_after_interest)
        # A service task moved to later must be callable then (the calling window).
        from telesales.calls.services import service_call_time_problem
        from telesales.policies.hooks import register_call_time_check

        register_call_time_check(service_call_time_problem)

        # The conversion card on the manager's and team leads' home pages.
        from telesales.calls.dashboard import (
            CONVERSION,
            CONVERSION_LABEL,
            conversion_indicator,
            conversion_visible,
        )
        from telesales.core import dashboard

        dashboard.register(
            CONVERSION,
            conversion_indicator,
            label=CONVERSION_LABEL,
            order=15,
            visible_to=conversion_visible,
        )
        from telesales.calls import dashboard as calls_cards

        # The team lead's (and manager's) count of escalated follow-ups waiting now.
        dashboard.register(
            calls_cards.ESCALATED,
            calls_cards.escalated_indicator,
            label=calls_cards.ESCALATED_LABEL,
            order=16,
            visible_to=conversion_visible,
        )

        for order, (key, provide, label) in enumerate(
            (
                (calls_cards.MY_TODAY, calls_cards.my_today_indicator, calls_cards.MY_TODAY_LABEL),
                (
                    calls_cards.MY_FOLLOWUPS,
                    calls_cards.my_followups_indicator,
                    calls_cards.MY_FOLLOWUPS_LABEL,
                ),
                (
                    calls_cards.MY_CONVERSION,
                    calls_cards.my_conversion_indicator,
                    calls_cards.MY_CONVERSION_LABEL,
                ),
            )
        ):
            dashboard.register(
                key,
                provide,
                label=label,
                order=10 + order,
                visible_to=calls_cards.personal_visible,
                personal=True,
            )

        # Demo: weeks of call history, follow-ups, sales and policies (after leads and policies).
        from telesales.calls.demo import seed_calls_demo
        from telesales.core.setup_steps import register_demo

        register_demo("calls.demo", seed_calls_demo, order=40)
        # After the operations demo (50), which sells leads below the calls layer: their
        # follow-ups are closed as the sale path closes them.
        from telesales.calls.demo import seed_calls_after_sales

        register_demo("calls.followups_after_sales", seed_calls_after_sales, order=55)
        # Last (after the service history, 80, which makes calls too): nobody on the live board
        # is offline since before a call they made.
        from telesales.calls.demo import seed_board_after_calls

        register_demo("calls.board_after_calls", seed_board_after_calls, order=90)
        from telesales.calls import seat_figures  # noqa: F401 (per-seat figures, seats page)
