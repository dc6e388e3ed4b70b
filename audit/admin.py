from django.contrib import admin

from audit.models import AuditCheckpoint, AuditEvent, AuditVerification


class ReadOnlyAdmin(admin.ModelAdmin):
    """The audit trail is append-only: staff read it, nobody edits or deletes it here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
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
    readonly_fields = ["content_hash", "chain_hash", "anonymized_at"]


@admin.register(AuditVerification)
class AuditVerificationAdmin(ReadOnlyAdmin):
    list_display = ["checked_at", "ok", "rows_checked", "anonymized", "first_bad_id"]
    list_filter = ["ok"]


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "last_event_id", "removed"]
