"""What the audit log calls this app's actions (``core.audit.action_label``); every
action this app records has its label here (tests refuse an unlabelled one)."""

from django.utils.translation import pgettext_lazy

from telesales.core.audit import register_action_labels

register_action_labels(
    {
        "policies.demo_seed": pgettext_lazy("audit action", "Demo policies seeded"),
        "policies.demo_service_history": pgettext_lazy(
            "audit action", "Demo service history seeded"
        ),
        "policies.policies_free_look_close": pgettext_lazy(
            "audit action", "Free-look periods ended"
        ),
        "policies.policy_decline": pgettext_lazy("audit action", "Application declined"),
        "policies.policy_free_look_cancel": pgettext_lazy("audit action", "Cancelled in free look"),
        "policies.policy_issue": pgettext_lazy("audit action", "Policy issued"),
        "policies.policy_receipt_confirm": pgettext_lazy(
            "audit action", "Policy receipt confirmed"
        ),
        "policies.product_create": pgettext_lazy("audit action", "Product created"),
        "policies.product_update": pgettext_lazy("audit action", "Product changed"),
        "policies.ruleset_create": pgettext_lazy("audit action", "Stabilisation rules changed"),
        "policies.sale_record": pgettext_lazy("audit action", "Sale recorded"),
        "policies.service_tasks_reassign": pgettext_lazy(
            "audit action", "Service tasks reassigned"
        ),
    }
)
