"""Menu entries and the data officer's home page, contributed by the leads app."""

from django.utils.translation import gettext_lazy as _

from telesales.core.navigation import NavItem, register, register_home
from telesales.core.roles import Role

DATA_ADMINS = frozenset({Role.MANAGER, Role.DATA_OFFICER})
DATA_READERS = DATA_ADMINS | {Role.PLANNER}
CLAIMERS = frozenset({Role.AGENT, Role.TEAM_LEAD})

register(
    NavItem("leads:my_leads", _("My leads"), "person-lines-fill", frozenset({Role.AGENT}), 11),
    NavItem(
        "leads:team_leads", _("My team's leads"), "people-fill", frozenset({Role.TEAM_LEAD}), 11
    ),
    NavItem("leads:public_pool", _("Public pool"), "water", CLAIMERS, 12),
    NavItem("leads:home", _("Lead data"), "database", DATA_READERS, 20),
    NavItem("leads:lead_list", _("Leads"), "card-list", DATA_READERS, 21),
    NavItem("leads:batch_list", _("Batches"), "box-seam", DATA_READERS, 22),
    NavItem("leads:pool_overview", _("Pools"), "diagram-2", DATA_READERS, 23),
    NavItem("leads:allocation_create", _("Allocation"), "shuffle", DATA_ADMINS, 24),
    NavItem("leads:ruleset_list", _("Lead rules"), "sliders", DATA_READERS, 25),
    NavItem("leads:dnc_list", _("Do-not-call list"), "telephone-x", DATA_ADMINS, 26),
    NavItem("leads:quality_report", _("Source quality"), "graph-up", DATA_READERS, 27),
    NavItem("leads:channel_list", _("Channels"), "broadcast", DATA_READERS, 28),
    NavItem("leads:number_access", _("Who had a number"), "eye", frozenset({Role.MANAGER}), 96),
)

register_home(Role.DATA_OFFICER, "leads:home")
