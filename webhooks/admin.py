"""The inbox (with a replay action) and the subscriptions, for staff.

Secrets are never listed. The one exception is a secret the service hands us in its handshake
(Notion's verification token), shown on the subscription's own page because staff must paste it
back into the service's console to finish the setup (`webhook_secret_from_handshake`).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.writer import record
from integrations.crypto import UNREADABLE, DecryptionError, ciphertext, decrypt, readable
from integrations.providers import PROVIDERS
from webhooks.models import Delivery, WebhookSubscription
from webhooks.subscriptions import endpoint_url
from webhooks.tasks import process_delivery


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "received_at",
        "service",
        "event_type",
        "status",
        "attempts",
        "connection",
        "delivery_id",
    ]
    list_filter = ["status", "service", "received_at"]
    search_fields = ["delivery_id", "event_type", "error"]
    list_select_related = ["service", "connection__service"]
    readonly_fields = [f.name for f in Delivery._meta.fields]
    actions = ["replay"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # deliveries come from the services

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        # The subscription is shown by name: its secret is not needed, nor decrypted.
        queryset = super().get_queryset(request).select_related("subscription__service")
        return queryset.defer("subscription__secret")

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        ids = list(queryset.values_list("pk", flat=True))
        queryset.update(status=Delivery.Status.RECEIVED, error="", processed_at=None, attempts=0)
        for pk in ids:
            process_delivery.delay(pk)
        record(
            "webhook.replayed",
            resource="webhooks/inbox",
            details={"deliveries": ids[:100], "count": len(ids)},
            request=request,
        )
        self.message_user(request, f"{len(ids)} deliveries queued again.", messages.SUCCESS)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "service",
        "connection",
        "status",
        "resource",
        "expires_at",
        "failures",
        "retry_at",
        "has_secret",
        "keys",
    ]
    list_filter = ["service", "status"]
    search_fields = ["public_id", "remote_id", "resource"]
    list_select_related = ["service", "connection__service"]
    raw_id_fields = ["connection"]
    actions = ["reset_handshake_secret"]

    def get_fields(self, request, obj=None) -> list[str]:
        fields = ["service", "connection", "status", "notification_url", "resource"]
        if obj is not None and obj.service.provider.webhook_secret_from_handshake:
            fields.append("verification_token")
        return [
            *fields,
            "remote_id",
            "resource_id",
            "events",
            "expires_at",
            "last_error",
            "failures",
            "retry_at",
            "created_at",
            "updated_at",
        ]

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        readonly = [
            "notification_url",
            "verification_token",
            "failures",
            "retry_at",
            "created_at",
            "updated_at",
        ]
        if obj is not None:
            readonly += ["service", "remote_id", "resource_id", "expires_at", "last_error"]
        return readonly

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookSubscription]:
        # The secret is decrypted only for a handshake's token, and never for the list, so a
        # wrong DAYFLOW_ENCRYPTION_KEYS still renders the pages (and says so).
        queryset = super().get_queryset(request).defer("secret")
        return queryset.annotate(stored_secret=ciphertext("secret"))

    @admin.display(boolean=True, description="secret stored")
    def has_secret(self, sub: WebhookSubscription) -> bool:
        return bool(sub.stored_secret)

    @admin.display(description="encryption keys")
    def keys(self, sub: WebhookSubscription) -> str:
        return "readable" if readable(sub.stored_secret) else UNREADABLE

    @admin.display(description="notification URL")
    def notification_url(self, sub: WebhookSubscription) -> str:
        return endpoint_url(sub) if sub.pk else "(shown once saved)"

    @admin.display(description="verification token (paste into the service's console)")
    def verification_token(self, sub: WebhookSubscription) -> str:
        if not sub.stored_secret:
            return f"(waiting for {sub.service.display_name}'s verification request)"
        try:
            return decrypt(sub.stored_secret)
        except DecryptionError:
            return UNREADABLE

    @admin.action(description="Forget the verification token (to capture a new one)")
    def reset_handshake_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        keys = [
            key for key, provider in PROVIDERS.items() if provider.webhook_secret_from_handshake
        ]
        subs = queryset.filter(service__key__in=keys).select_related("service")
        for sub in subs:
            sub.secret, sub.status = "", WebhookSubscription.Status.PENDING
            sub.save(update_fields=["secret", "status", "updated_at"])
            record(
                "webhook.subscription.reset",
                connection=sub.connection,
                resource=f"webhooks/{sub.service.key}/{sub.public_id}",
                details={"service": sub.service.key},
                request=request,
            )
        self.message_user(request, f"{subs.count()} subscriptions reset.")
