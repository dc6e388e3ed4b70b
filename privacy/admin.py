"""Staff see exports, erasures and consents (read only), and erase accounts from the users list."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from audit.writer import record
from privacy.erasure import request_erasure
from privacy.models import Consent, ErasureRequest, ExportRequest


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ExportRequest)
class ExportRequestAdmin(ReadOnly):
    list_display = ["id", "user", "status", "created_at", "finished_at", "expires_at", "size"]
    list_filter = ["status"]
    exclude = ["file_path"]


@admin.register(ErasureRequest)
class ErasureRequestAdmin(ReadOnly):
    list_display = ["id", "status", "by_staff", "attempts", "created_at", "finished_at"]
    list_filter = ["status", "by_staff"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the receipt of an erasure is kept


@admin.register(Consent)
class ConsentAdmin(ReadOnly):
    list_display = ["id", "user", "service_key", "granted_at", "ip_address"]
    list_filter = ["service_key"]


@admin.action(description="Erase the selected accounts and all their data", permissions=["delete"])
def erase_accounts(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> None:
    erased = 0
    for user in queryset:
        if user.pk == request.user.pk:
            modeladmin.message_user(
                request, "You cannot erase your own account here.", messages.ERROR
            )
            continue
        with transaction.atomic():
            request_erasure(user, by_staff=True)
        record("privacy.erasure_requested", request=request, details={"by_staff": True})
        erased += 1
    if erased:
        modeladmin.message_user(request, f"Erasure started for {erased} account(s).")


def _add_erase_action() -> None:
    # The users admin is Django's (or another app's subclass): extend whatever is registered.
    User = get_user_model()
    registered = admin.site._registry.get(User)
    if registered is None:
        return
    base = type(registered)
    admin.site.unregister(User)
    actions = [*(base.actions or []), erase_accounts]
    admin.site.register(User, type("UserAdmin", (base,), {"actions": actions}))


_add_erase_action()
