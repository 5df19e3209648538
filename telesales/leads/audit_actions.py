"""What the audit log calls this app's actions (``core.audit.action_label``); every
action this app records has its label here (tests refuse an unlabelled one)."""

from django.utils.translation import pgettext_lazy

from telesales.core.audit import register_action_labels

register_action_labels(
    {
        "leads.allocation_commit": pgettext_lazy("audit action", "Leads allocated"),
        "leads.allocation_preview": pgettext_lazy("audit action", "Allocation previewed"),
        "leads.batch_create": pgettext_lazy("audit action", "Import batch uploaded"),
        "leads.batch_discard": pgettext_lazy("audit action", "Import batch discarded"),
        "leads.batch_header": pgettext_lazy("audit action", "Import header row chosen"),
        "leads.batch_import": pgettext_lazy("audit action", "Import batch imported"),
        "leads.batch_mapping": pgettext_lazy("audit action", "Import columns mapped"),
        "leads.batch_rejection_report": pgettext_lazy(
            "audit action", "Rejection report downloaded"
        ),
        "leads.batch_resume": pgettext_lazy("audit action", "Import batch resumed"),
        "leads.channel_create": pgettext_lazy("audit action", "Channel created"),
        "leads.channel_update": pgettext_lazy("audit action", "Channel changed"),
        "leads.customer_marketing_allowed": pgettext_lazy(
            "audit action", "Marketing consent changed"
        ),
        "leads.demo_seed": pgettext_lazy("audit action", "Demo lead data seeded"),
        "leads.dnc_add": pgettext_lazy("audit action", "Number added to do-not-call"),
        "leads.dnc_import": pgettext_lazy("audit action", "Do-not-call list imported"),
        "leads.dnc_lapsed_release": pgettext_lazy(
            "audit action", "Lapsed do-not-call entries released"
        ),
        "leads.dnc_remove": pgettext_lazy("audit action", "Number removed from do-not-call"),
        "leads.household_member_add": pgettext_lazy("audit action", "Household member added"),
        "leads.household_member_remove": pgettext_lazy("audit action", "Household member removed"),
        "leads.import_files_purge": pgettext_lazy("audit action", "Import files purged"),
        "leads.lead_export": pgettext_lazy("audit action", "Leads exported"),
        "leads.lead_release": pgettext_lazy("audit action", "Lead released to the pool"),
        "leads.number_access_lookup": pgettext_lazy("audit action", "Number access looked up"),
        "leads.phone_reveal": pgettext_lazy("audit action", "Number revealed"),
        "leads.phone_reveal_refused": pgettext_lazy("audit action", "Number reveal refused"),
        "leads.quality_export": pgettext_lazy("audit action", "Quality figures exported"),
        "leads.recycle": pgettext_lazy("audit action", "Leads recycled"),
        "leads.recycle_owner_leaving": pgettext_lazy(
            "audit action", "Leads recycled from a leaver"
        ),
        "leads.ruleset_create": pgettext_lazy("audit action", "Lead rules changed"),
    }
)
