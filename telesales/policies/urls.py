from django.urls import path

from telesales.policies import views

app_name = "policies"

urlpatterns = [
    # Policies
    path("", views.policy_list_view, name="policy_list"),
    path("<int:policy_id>/", views.policy_detail_view, name="policy_detail"),
    path("<int:policy_id>/issue/", views.policy_issue_view, name="policy_issue"),
    path("<int:policy_id>/receipt/", views.policy_receipt_view, name="policy_receipt"),
    path("<int:policy_id>/cancel/", views.policy_cancel_view, name="policy_cancel"),
    path("<int:policy_id>/decline/", views.policy_decline_view, name="policy_decline"),
    # Catalogue
    path("products/", views.product_list_view, name="product_list"),
    path("products/new/", views.product_create_view, name="product_create"),
    path("products/<int:product_id>/", views.product_edit_view, name="product_edit"),
    # Service tasks
    path("tasks/", views.task_list_view, name="task_list"),
    path("tasks/<int:task_id>/complete/", views.task_complete_view, name="task_complete"),
    path("tasks/<int:task_id>/reschedule/", views.task_reschedule_view, name="task_reschedule"),
    # Reports and rules
    path("stabilisation/", views.stabilisation_report_view, name="stabilisation_report"),
    path("rules/", views.ruleset_list_view, name="ruleset_list"),
    path("rules/new/", views.ruleset_create_view, name="ruleset_create"),
]
