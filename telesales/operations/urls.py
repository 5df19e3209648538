from django.urls import path

from telesales.operations import views

app_name = "operations"

urlpatterns = [
    path("", views.home_view, name="home"),
    path("mine/", views.my_renewals_view, name="my_renewals"),
    # Renewal tasks
    path("renewals/", views.renewal_list_view, name="renewal_list"),
    path("renewals/<int:task_id>/", views.renewal_detail_view, name="renewal_detail"),
    path("renewals/<int:task_id>/pay/", views.renewal_pay_view, name="renewal_pay"),
    path("renewals/<int:task_id>/contact/", views.renewal_contact_view, name="renewal_contact"),
    path("renewals/<int:task_id>/assign/", views.renewal_assign_view, name="renewal_assign"),
    path("lapsed/", views.lapsed_list_view, name="lapsed_list"),
    # A policy in servicing
    path("policies/<int:policy_id>/", views.servicing_detail_view, name="servicing_detail"),
    path(
        "policies/<int:policy_id>/delivery/<slug:action>/",
        views.delivery_action_view,
        name="delivery_action",
    ),
    path(
        "policies/<int:policy_id>/reinstate/", views.policy_reinstate_view, name="policy_reinstate"
    ),
    path("policies/<int:policy_id>/end/", views.policy_end_view, name="policy_end"),
    path("policies/<int:policy_id>/owner/", views.policy_owner_view, name="policy_owner"),
    path(
        "policies/<int:policy_id>/premiums/<int:due_id>/waive/",
        views.premium_waive_view,
        name="premium_waive",
    ),
    # Deliveries and return visits
    path("deliveries/", views.delivery_list_view, name="delivery_list"),
    path("visits/", views.visit_list_view, name="visit_list"),
    path("visits/<int:visit_id>/", views.visit_detail_view, name="visit_detail"),
    path("visits/<int:visit_id>/record/", views.visit_record_view, name="visit_record"),
    path("visits/<int:visit_id>/resolve/", views.visit_resolve_view, name="visit_resolve"),
    # Exit notices
    path("exits/", views.exit_list_view, name="exit_list"),
    path("exits/<int:notice_id>/complete/", views.exit_complete_view, name="exit_complete"),
    path("exits/transfer/", views.servicing_transfer_view, name="servicing_transfer"),
    # Premium receipts
    path("receipts/", views.receipt_list_view, name="receipt_list"),
    path("receipts/<int:batch_id>/", views.receipt_detail_view, name="receipt_detail"),
    path("receipts/<int:batch_id>/rejections/", views.receipt_report_view, name="receipt_report"),
    # Persistency and rules
    path("persistency/", views.persistency_view, name="persistency"),
    path("rules/", views.ruleset_list_view, name="ruleset_list"),
    path("rules/new/", views.ruleset_create_view, name="ruleset_create"),
]
