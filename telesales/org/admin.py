"""Read-only admin for organisation data: changes go through the screens and their services."""

from django.contrib import admin

from telesales.org.models import Center, Level, Person, Seat, Team


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Center)
class CenterAdmin(ReadOnlyAdmin):
    list_display = ("name", "code", "city")


@admin.register(Team)
class TeamAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "stage", "leader", "is_active")
    list_filter = ("kind", "stage")


@admin.register(Level)
class LevelAdmin(ReadOnlyAdmin):
    list_display = ("code", "name", "series", "rank", "base_salary")


@admin.register(Person)
class PersonAdmin(ReadOnlyAdmin):
    list_display = ("name", "employee_no", "team", "status", "level")
    list_filter = ("status", "team")
    search_fields = ("name", "employee_no")


@admin.register(Seat)
class SeatAdmin(ReadOnlyAdmin):
    list_display = ("code", "site", "status", "person", "monthly_cost")
