"""Django's admin for accounts, teams and the records (admin role: accounts and teams)."""
from __future__ import annotations

from django.contrib import admin

from .models import ApiToken, AuditEvent, Cycle, Entry, PlanVersion, Profile, ScenarioVersion, Team

admin.site.site_header = "relay service"
for model in (Team, Profile, ScenarioVersion, Cycle, Entry):
    admin.site.register(model)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "created", "revoked")
    exclude = ("digest",)


@admin.register(PlanVersion)
class PlanVersionAdmin(admin.ModelAdmin):
    list_display = ("cycle", "number", "status", "created", "published")
    exclude = ("files",)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditAdmin(admin.ModelAdmin):
    list_display = ("when", "who", "action", "model", "object_id")

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
