from django.urls import path

from telesales.core import views

app_name = "core"

urlpatterns = [
    path("audit/", views.audit_list_view, name="audit_list"),
    path("me/language/", views.language_set_view, name="language_set"),
]
