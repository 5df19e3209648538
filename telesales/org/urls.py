from django.urls import path

from telesales.org import views

app_name = "org"

urlpatterns = [
    path("dashboard/", views.manager_dashboard_view, name="manager_dashboard"),
    path("my-team/", views.team_home_view, name="team_home"),
    path("my-day/", views.agent_home_view, name="agent_home"),
    path("back-office/", views.backoffice_home_view, name="backoffice_home"),
    path("me/", views.profile_view, name="profile"),
    path("people/", views.person_list_view, name="person_list"),
    path("people/new/", views.person_create_view, name="person_create"),
    path("people/<int:person_id>/", views.person_detail_view, name="person_detail"),
    path("people/<int:person_id>/edit/", views.person_edit_view, name="person_edit"),
    path("people/<int:person_id>/login/", views.person_login_view, name="person_login"),
    path("center/", views.center_edit_view, name="center_edit"),
    path("teams/", views.team_list_view, name="team_list"),
    path("teams/new/", views.team_create_view, name="team_create"),
    path("teams/<int:team_id>/", views.team_detail_view, name="team_detail"),
    path("teams/<int:team_id>/edit/", views.team_edit_view, name="team_edit"),
    path("levels/", views.level_list_view, name="level_list"),
    path("levels/new/", views.level_create_view, name="level_create"),
    path("levels/<int:level_id>/edit/", views.level_edit_view, name="level_edit"),
    path("seats/", views.seat_list_view, name="seat_list"),
    path("seats/new/", views.seat_create_view, name="seat_create"),
    path("seats/<int:seat_id>/edit/", views.seat_edit_view, name="seat_edit"),
]
