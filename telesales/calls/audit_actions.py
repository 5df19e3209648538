"""What the audit log calls this app's actions (``core.audit.action_label``); every
action this app records has its label here (tests refuse an unlabelled one)."""

from django.utils.translation import pgettext_lazy

from telesales.core.audit import register_action_labels

register_action_labels(
    {
        "calls.callrules_create": pgettext_lazy("audit action", "Call rules changed"),
        "calls.cdr_import": pgettext_lazy("audit action", "Call records imported"),
        "calls.demo_seed": pgettext_lazy("audit action", "Demo calls seeded"),
        "calls.disposition_create": pgettext_lazy("audit action", "Call outcome created"),
        "calls.disposition_update": pgettext_lazy("audit action", "Call outcome changed"),
        "calls.dial_refused": pgettext_lazy("audit action", "Dial refused by the guards"),
        "calls.dnc_request": pgettext_lazy("audit action", "Do-not-call request recorded"),
        "calls.followup_reassign": pgettext_lazy("audit action", "Follow-up reassigned"),
        "calls.followups_close_on_closed_leads": pgettext_lazy(
            "audit action", "Follow-ups of closed leads closed"
        ),
        "calls.followups_escalate": pgettext_lazy("audit action", "Overdue follow-ups escalated"),
        "calls.followups_reassign": pgettext_lazy("audit action", "Follow-ups reassigned"),
        "calls.presences_reset_stale": pgettext_lazy("audit action", "Stale agent states reset"),
        "calls.recordings_deleted": pgettext_lazy(
            "audit action", "Recordings past their retention deleted"
        ),
        "calls.report_export": pgettext_lazy("audit action", "Call report exported"),
    }
)
