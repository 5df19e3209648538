"""What the audit log calls this app's actions (``core.audit.action_label``); every
action this app records has its label here (tests refuse an unlabelled one)."""

from django.utils.translation import pgettext_lazy

from telesales.core.audit import register_action_labels

register_action_labels(
    {
        "operations.advance": pgettext_lazy("audit action", "Operations brought up to date"),
        "operations.delivery_send": pgettext_lazy("audit action", "Policy sent for delivery"),
        "operations.delivery_delivered": pgettext_lazy("audit action", "Policy delivered"),
        "operations.delivery_failed": pgettext_lazy("audit action", "Delivery failed"),
        "operations.delivery_returned": pgettext_lazy("audit action", "Delivery returned"),
        "operations.delivery_receipt_confirm": pgettext_lazy(
            "audit action", "Delivery receipt confirmed"
        ),
        "operations.demo_seed": pgettext_lazy("audit action", "Demo operations seeded"),
        "operations.exit_notice_complete": pgettext_lazy("audit action", "Exit notice completed"),
        "operations.policy_reinstate": pgettext_lazy("audit action", "Policy reinstated"),
        "operations.policy_surrendered": pgettext_lazy("audit action", "Policy surrendered"),
        "operations.policy_claim_terminated": pgettext_lazy(
            "audit action", "Policy terminated by a claim"
        ),
        "operations.policy_transferred_out": pgettext_lazy(
            "audit action", "Policy transferred out"
        ),
        "operations.premium_due_waive": pgettext_lazy("audit action", "Premium waived"),
        "operations.premium_payment_record": pgettext_lazy(
            "audit action", "Premium payment recorded"
        ),
        "operations.receipt_rejection_report": pgettext_lazy(
            "audit action", "Receipt rejection report downloaded"
        ),
        "operations.receipts_import": pgettext_lazy("audit action", "Receipts imported"),
        "operations.renewal_task_assign": pgettext_lazy("audit action", "Renewal task assigned"),
        "operations.renewal_task_contact": pgettext_lazy(
            "audit action", "Renewal contact recorded"
        ),
        "operations.return_visit_record": pgettext_lazy("audit action", "Return visit recorded"),
        "operations.return_visit_resolve": pgettext_lazy(
            "audit action", "Return visit issue resolved"
        ),
        "operations.ruleset_create": pgettext_lazy("audit action", "Operations rules changed"),
        "operations.servicing_on_leaving": pgettext_lazy(
            "audit action", "Policies handed over from a leaver"
        ),
        "operations.servicing_owner_set": pgettext_lazy("audit action", "Servicing agent set"),
        "operations.servicing_transfer": pgettext_lazy("audit action", "Servicing transferred"),
        "operations.sync": pgettext_lazy("audit action", "Operations records synchronised"),
    }
)
