from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from config.api import api
from telesales.core import views as core_views
from telesales.core.forms import LoginForm

urlpatterns = [
    path("", core_views.home_view, name="home"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=LoginForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("health/", core_views.health_view, name="health"),
    path("api/v1/", api.urls),
    path("org/", include("telesales.org.urls")),
    path("leads/", include("telesales.leads.urls")),
    path("policies/", include("telesales.policies.urls")),
    path("operations/", include("telesales.operations.urls")),
    path("tickets/", include("telesales.tickets.urls")),
    path("calls/", include("telesales.calls.urls")),
    path("pay/", include("telesales.compensation.urls")),
    path("", include("telesales.core.urls")),
    path("django-admin/", admin.site.urls),
]

handler403 = "telesales.core.views.error_403_view"
handler404 = "telesales.core.views.error_404_view"
handler500 = "telesales.core.views.error_500_view"
