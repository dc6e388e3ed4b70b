from django import forms
from django.contrib import admin
from django.db.models import JSONField, QuerySet
from django.http import HttpRequest

from audit.writer import record
from integrations.containers import Listing, split_ancestors
from integrations.crypto import UNREADABLE, ciphertext, readable, unreadable_allowed
from integrations.mapping_field import JSONObjectField
from integrations.models import Connection, Credential, Service


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


class ConnectionAdminForm(forms.ModelForm):
    """The model's checks of the settings (`validate_field_mapping`), and those of the
    settings page and the API that ask the service: several ClickUp lists of one workspace."""

    class Meta:
        model = Connection
        # The admin shows every field, as without this form (its fieldsets are built from it).
        fields = "__all__"  # noqa: DJ007

    def clean(self):
        data = super().clean()
        mapping = data.get("field_mapping")
        service = data.get("service") or getattr(self.instance, "service", None)
        if (
            isinstance(mapping, dict)
            and service is not None
            and "field_mapping" in self.changed_data
        ):
            connection = self.instance
            connection.service = service
            problems = split_ancestors(connection, mapping, Listing(problem="not asked"))
            if problems:
                self.add_error("field_mapping", problems)
        return data


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionAdminForm
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
        "next_sync_at",
    ]
    list_filter = ["service", "status", "sync_direction", "conflict_resolution", "auto_sync"]
    search_fields = ["label", "external_account_id", "user__username", "user__email"]
    list_select_related = ["user", "service"]
    # next_sync_at is the scheduler's (sync/schedule.py): shown, never edited here.
    readonly_fields = ["created_at", "updated_at", "last_sync_at", "next_sync_at", "last_error"]
    raw_id_fields = ["user"]

    def save_model(self, request, obj, form, change) -> None:
        """An edit writes the fields staff changed: the rest of the row (last_sync_at, status,
        last_error as this page loaded them) may be older than a sync that finished since."""
        if not change:
            return super().save_model(request, obj, form, change)
        columns = {f.name for f in obj._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in columns]
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])

    # Deleting a connection loads its credential and subscriptions only to delete them: a lost
    # key must not stop staff from removing it.
    def get_deleted_objects(self, objs, request):
        with unreadable_allowed():
            return super().get_deleted_objects(objs, request)

    def delete_model(self, request, obj) -> None:
        with unreadable_allowed():
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        with unreadable_allowed():
            super().delete_queryset(request, queryset)


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """Shows whether secrets are present and when they expire; never a secret, not even masked."""

    list_display = [
        "connection",
        "has_access_token",
        "has_refresh_token",
        "has_app_password",
        "keys",
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
        "keys",
        "expires_at",
        "updated_at",
    ]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Credential]:
        # The secrets are never decrypted here, so a wrong DAYFLOW_ENCRYPTION_KEYS still
        # renders the pages (and says so) instead of a 500.
        stored = {f"stored_{name}": ciphertext(name) for name in Credential.SECRET_FIELDS}
        return super().get_queryset(request).defer(*Credential.SECRET_FIELDS).annotate(**stored)

    @admin.display(boolean=True)
    def has_access_token(self, credential: Credential) -> bool:
        return bool(credential.stored_access_token)

    @admin.display(boolean=True)
    def has_refresh_token(self, credential: Credential) -> bool:
        return bool(credential.stored_refresh_token)

    @admin.display(boolean=True)
    def has_app_password(self, credential: Credential) -> bool:
        return bool(credential.stored_app_password)

    @admin.display(description="encryption keys")
    def keys(self, credential: Credential) -> str:
        unreadable = [
            name
            for name in Credential.SECRET_FIELDS
            if not readable(getattr(credential, f"stored_{name}"))
        ]
        return f"{UNREADABLE}: {', '.join(unreadable)}" if unreadable else "readable"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    # Deleting stored credentials is audited for the monitoring (security.rules).
    def delete_model(self, request: HttpRequest, obj: Credential) -> None:
        _audit_deleted(request, [obj])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        _audit_deleted(request, queryset.select_related("connection__service"))
        super().delete_queryset(request, queryset)


def _audit_deleted(request: HttpRequest, credentials) -> None:
    for credential in credentials:
        record(
            "admin.credential.deleted",
            request=request,
            connection=credential.connection,
            resource=f"credential {credential.pk}",
            success=True,
        )
