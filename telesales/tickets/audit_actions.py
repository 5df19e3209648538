"""What the audit log calls this app's actions (``core.audit.action_label``); every
action this app records has its label here (tests refuse an unlabelled one)."""

from django.utils.translation import pgettext_lazy

from telesales.core.audit import register_action_labels

register_action_labels(
    {
        "tickets.demo_seed": pgettext_lazy("audit action", "Demo tickets seeded"),
        "tickets.sla_ruleset_create": pgettext_lazy("audit action", "Ticket targets changed"),
        "tickets.ticket_assign": pgettext_lazy("audit action", "Ticket assigned"),
        "tickets.ticket_open": pgettext_lazy("audit action", "Ticket opened"),
        "tickets.ticket_release": pgettext_lazy("audit action", "Ticket released"),
        "tickets.ticket_respond": pgettext_lazy("audit action", "Ticket answered"),
        "tickets.tickets_escalate": pgettext_lazy("audit action", "Overdue tickets escalated"),
        "tickets.ticket_close": pgettext_lazy("audit action", "Ticket closed"),
        "tickets.ticket_reopen": pgettext_lazy("audit action", "Ticket reopened"),
        "tickets.ticket_resolve": pgettext_lazy("audit action", "Ticket resolved"),
    }
)
