"""What the audit log calls this app's actions (``core.audit.action_label``); every
action this app records has its label here (tests refuse an unlabelled one)."""

from django.utils.translation import pgettext_lazy

from telesales.core.audit import register_action_labels

register_action_labels(
    {
        "org.center_create": pgettext_lazy("audit action", "Center created"),
        "org.center_update": pgettext_lazy("audit action", "Center changed"),
        "org.demo_seed": pgettext_lazy("audit action", "Demo organisation seeded"),
        "org.level_create": pgettext_lazy("audit action", "Level created"),
        "org.level_ladder_load": pgettext_lazy("audit action", "Level ladder loaded"),
        "org.level_update": pgettext_lazy("audit action", "Level changed"),
        "org.login_deactivate": pgettext_lazy("audit action", "Login deactivated"),
        "org.login_reactivate": pgettext_lazy("audit action", "Login reactivated"),
        "org.person_create": pgettext_lazy("audit action", "Person added"),
        "org.person_login_create": pgettext_lazy("audit action", "Login created for a person"),
        "org.person_password_reset": pgettext_lazy("audit action", "Password reset"),
        "org.person_roles_set": pgettext_lazy("audit action", "Roles changed"),
        "org.person_update": pgettext_lazy("audit action", "Person changed"),
        "org.seat_create": pgettext_lazy("audit action", "Seat created"),
        "org.seat_update": pgettext_lazy("audit action", "Seat changed"),
        "org.team_create": pgettext_lazy("audit action", "Team created"),
        "org.team_update": pgettext_lazy("audit action", "Team changed"),
    }
)
