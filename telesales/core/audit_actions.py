"""What the audit log calls this app's actions (``core.audit.action_label``); every
action this app records has its label here (tests refuse an unlabelled one)."""

from django.utils.translation import pgettext_lazy

from telesales.core.audit import register_action_labels

register_action_labels(
    {
        "core.admin_create": pgettext_lazy("audit action", "First administrator created"),
        "core.language_set": pgettext_lazy("audit action", "Language changed"),
        "core.token_create": pgettext_lazy("audit action", "API token issued"),
        "core.token_revoke": pgettext_lazy("audit action", "API token revoked"),
    }
)
