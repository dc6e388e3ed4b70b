from django.contrib import admin
from django.db.models import JSONField

from integrations.forms import JSONObjectField
from integrations.models import Credential, Service, UserIntegration


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["display_name", "key", "kind", "auth_style", "enabled", "configured"]
    list_filter = ["kind", "auth_style", "enabled"]
    list_editable = ["enabled"]
    search_fields = ["key", "display_name"]
    readonly_fields = ["key", "display_name", "kind", "auth_style", "capabilities"]

    @admin.display(boolean=True, description="client credentials configured")
    def configured(self, service: Service) -> bool:
        return service.is_configured

    def has_add_permission(self, request) -> bool:
        return False  # services come from the provider registry


@admin.register(UserIntegration)
class UserIntegrationAdmin(admin.ModelAdmin):
    # The settings form's field: JSON text is measured before it is parsed.
    formfield_overrides = {JSONField: {"form_class": JSONObjectField}}
    list_display = [
        "__str__",
        "user",
        "service",
        "status",
        "sync_direction",
        "conflict_resolution",
        "auto_sync",
        "last_sync_at",
    ]
    list_filter = ["service", "status", "sync_direction", "conflict_resolution", "auto_sync"]
    search_fields = ["label", "external_account_id", "user__username", "user__email"]
    list_select_related = ["user", "service"]
    readonly_fields = ["created_at", "updated_at", "last_sync_at", "last_error"]
    raw_id_fields = ["user"]


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Shows whether secrets are present and when they expire; never a secret, not even masked."""

    list_display = [
        "connection",
        "has_access_token",
        "has_refresh_token",
        "has_app_password",
        "expires_at",
        "updated_at",
    ]
    list_select_related = ["connection__service", "connection__user"]
    search_fields = ["connection__label", "connection__user__username"]
    fields = [
        "connection",
        "has_access_token",
        "has_refresh_token",
        "has_app_password",
        "expires_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(boolean=True)
    def has_access_token(self, credential: Credential) -> bool:
        return bool(credential.access_token)

    @admin.display(boolean=True)
    def has_refresh_token(self, credential: Credential) -> bool:
        return bool(credential.refresh_token)

    @admin.display(boolean=True)
    def has_app_password(self, credential: Credential) -> bool:
        return bool(credential.app_password)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
