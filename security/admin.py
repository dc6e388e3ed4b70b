from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from audit.writer import record
from security.models import SecurityAlert


class AcknowledgedFilter(admin.SimpleListFilter):
    title = "acknowledged"
    parameter_name = "acknowledged"

    def lookups(self, request, model_admin):
        return [("no", "Open"), ("yes", "Acknowledged")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(acknowledged_at__isnull=self.value() == "no")
        return queryset


@admin.register(SecurityAlert)
class SecurityAlertAdmin(admin.ModelAdmin):
    list_display = [
        "last_seen",
        "rule",
        "severity",
        "subject",
        "count",
        "first_seen",
        "acknowledged_by",
        "acknowledged_at",
    ]
    list_filter = ["rule", "severity", AcknowledgedFilter]
    list_select_related = ["user", "acknowledged_by"]
    search_fields = ["rule", "connection_label", "ip_address", "user__username"]
    date_hierarchy = "last_seen"
    actions = ["acknowledge"]
    fields = [
        "rule",
        "severity",
        "user",
        "connection_id",
        "connection_label",
        "ip_address",
        "first_seen",
        "last_seen",
        "count",
        "details",
        "acknowledged_by",
        "acknowledged_at",
        "staff_emailed_at",
    ]
    readonly_fields = fields

    @admin.action(description="Acknowledge the selected alerts", permissions=["acknowledge"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[SecurityAlert]) -> None:
        open_alerts = list(queryset.filter(acknowledged_at__isnull=True).values_list("pk", "rule"))
        queryset.filter(pk__in=[pk for pk, _ in open_alerts]).update(
            acknowledged_by=request.user, acknowledged_at=timezone.now()
        )
        for pk, rule in open_alerts:
            record(
                "security.alert.acknowledged",
                request=request,
                resource=f"security alert {pk}",
                details={"rule": rule},
            )
        self.message_user(request, f"{len(open_alerts)} alert(s) acknowledged.", messages.SUCCESS)

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("security.change_securityalert")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # Read-only pages; acknowledging goes through the action (which checks this too).
        return obj is None and super().has_change_permission(request, obj)


# The admin index links the staff compliance report (security.views.compliance_report).
admin.site.index_template = "security/admin_index.html"
