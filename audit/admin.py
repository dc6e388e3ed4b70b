from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "action",
        "actor",
        "channel",
        "connection_label",
        "resource",
        "success",
        "ip_address",
    ]
    list_filter = ["success", "action", "channel"]
    search_fields = ["action", "resource", "connection_label", "actor__username"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
