"""What the audit log calls this app's actions (``core.audit.action_label``); every
action this app records has its label here (tests refuse an unlabelled one)."""

from django.utils.translation import pgettext_lazy

from telesales.core.audit import register_action_labels

register_action_labels(
    {
        "compensation.adjustment_cancel": pgettext_lazy("audit action", "Pay adjustment cancelled"),
        "compensation.adjustment_create": pgettext_lazy("audit action", "Pay adjustment entered"),
        "compensation.assessment_outcome_decide": pgettext_lazy(
            "audit action", "Assessment outcome decided"
        ),
        "compensation.assessment_run": pgettext_lazy("audit action", "Assessment run"),
        "compensation.assessment_run_approve": pgettext_lazy("audit action", "Assessment approved"),
        "compensation.attendance_import": pgettext_lazy("audit action", "Attendance imported"),
        "compensation.attendance_record": pgettext_lazy("audit action", "Attendance recorded"),
        "compensation.attendance_template": pgettext_lazy(
            "audit action", "Attendance template downloaded"
        ),
        "compensation.payrun_approve": pgettext_lazy("audit action", "Pay run approved"),
        "compensation.payrun_approve_queue": pgettext_lazy(
            "audit action", "Pay run approval queued"
        ),
        "compensation.payrun_compute": pgettext_lazy("audit action", "Pay run computed"),
        "compensation.payrun_compute_queue": pgettext_lazy(
            "audit action", "Pay run computation queued"
        ),
        "compensation.payrun_export": pgettext_lazy("audit action", "Pay run exported"),
        "compensation.ruleset_approve": pgettext_lazy("audit action", "Basic law version approved"),
        "compensation.ruleset_close": pgettext_lazy("audit action", "Basic law version closed"),
        "compensation.ruleset_discard": pgettext_lazy("audit action", "Basic law draft discarded"),
        "compensation.ruleset_import": pgettext_lazy("audit action", "Basic law version imported"),
    }
)
