from django.urls import path

from telesales.leads import views

app_name = "leads"

urlpatterns = [
    path("dashboard/", views.home_view, name="home"),
    # Leads
    path("list/", views.lead_list_view, name="lead_list"),
    path("export/", views.lead_export_view, name="lead_export"),
    path("<int:lead_id>/", views.lead_detail_view, name="lead_detail"),
    path("<int:lead_id>/reveal/", views.lead_reveal_view, name="lead_reveal"),
    path("<int:lead_id>/claim/", views.lead_claim_view, name="lead_claim"),
    path("<int:lead_id>/release/", views.lead_release_view, name="lead_release"),
    path("<int:lead_id>/household/", views.household_add_view, name="household_add"),
    path(
        "<int:lead_id>/household/<int:member_id>/remove/",
        views.household_remove_view,
        name="household_remove",
    ),
    # Pools
    path("mine/", views.my_leads_view, name="my_leads"),
    path("public/", views.public_pool_view, name="public_pool"),
    path("team/", views.team_leads_view, name="team_leads"),
    path("pools/", views.pool_overview_view, name="pool_overview"),
    # Batches and the import wizard
    path("batches/", views.batch_list_view, name="batch_list"),
    path("batches/new/", views.batch_import_view, name="batch_import"),
    path("batches/<int:batch_id>/", views.batch_detail_view, name="batch_detail"),
    path("batches/<int:batch_id>/mapping/", views.batch_mapping_view, name="batch_mapping"),
    path("batches/<int:batch_id>/header/", views.batch_header_view, name="batch_header"),
    path("batches/<int:batch_id>/discard/", views.batch_discard_view, name="batch_discard"),
    path("batches/<int:batch_id>/resume/", views.batch_resume_view, name="batch_resume"),
    path(
        "batches/<int:batch_id>/rejections/", views.batch_rejections_view, name="batch_rejections"
    ),
    # Channels
    path("channels/", views.channel_list_view, name="channel_list"),
    path("channels/new/", views.channel_form_view, name="channel_create"),
    path("channels/<int:channel_id>/", views.channel_form_view, name="channel_update"),
    # Allocation
    path("allocation/", views.allocation_create_view, name="allocation_create"),
    path("allocation/<int:run_id>/", views.allocation_detail_view, name="allocation_detail"),
    path("allocation/<int:run_id>/commit/", views.allocation_commit_view, name="allocation_commit"),
    # Rules
    path("rules/", views.ruleset_list_view, name="ruleset_list"),
    path("rules/new/", views.ruleset_create_view, name="ruleset_create"),
    path("rules/<int:ruleset_id>/", views.ruleset_detail_view, name="ruleset_detail"),
    # Do-not-call list
    path("number-access/", views.number_access_view, name="number_access"),
    path("dnc/", views.dnc_list_view, name="dnc_list"),
    path("dnc/new/", views.dnc_add_view, name="dnc_add"),
    path("dnc/import/", views.dnc_import_view, name="dnc_import"),
    path("dnc/<int:entry_id>/remove/", views.dnc_remove_view, name="dnc_remove"),
    # Quality
    path("quality/", views.quality_report_view, name="quality_report"),
    path("quality/export/", views.quality_export_view, name="quality_export"),
]
