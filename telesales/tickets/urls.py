from django.urls import path
from django.views.generic import RedirectView

from telesales.tickets import views

app_name = "tickets"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="tickets:ticket_list"), name="index"),
    path("queue/", views.ticket_list_view, name="ticket_list"),
    path("queue/new/", views.ticket_create_view, name="ticket_create"),
    path("customers/", views.customer_search_view, name="customer_search"),
    path("<int:ticket_id>/", views.ticket_detail_view, name="ticket_detail"),
    path("<int:ticket_id>/assign/", views.ticket_assign_view, name="ticket_assign"),
    path("<int:ticket_id>/take/", views.ticket_take_view, name="ticket_take"),
    path("<int:ticket_id>/respond/", views.ticket_respond_view, name="ticket_respond"),
    path("<int:ticket_id>/resolve/", views.ticket_resolve_view, name="ticket_resolve"),
    path("<int:ticket_id>/close/", views.ticket_close_view, name="ticket_close"),
    path("<int:ticket_id>/reopen/", views.ticket_reopen_view, name="ticket_reopen"),
    path("sla/", views.sla_report_view, name="sla_report"),
    path("targets/", views.ruleset_list_view, name="ruleset_list"),
    path("targets/new/", views.ruleset_create_view, name="ruleset_create"),
    path("targets/<int:ruleset_id>/", views.ruleset_detail_view, name="ruleset_detail"),
]
