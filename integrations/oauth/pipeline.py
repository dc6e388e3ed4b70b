"""Steps of the connect pipeline (see `integrations.oauth.strategy.CONNECT_PIPELINE`)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from social_core.exceptions import AuthSessionError

from integrations.models import Connection, Credential, Service
from integrations.tokens import apply_token_response


def require_user(backend: Any, user: Any = None, **kwargs: Any) -> None:
    """Only a logged-in DayFlow user connects an account; the flow never creates users."""
    if user is None or not user.is_authenticated:
        raise AuthSessionError(backend, code="session_context_missing", stage="pipeline")


def store_connection(
    backend: Any,
    user: Any,
    uid: str,
    response: dict[str, Any],
    details: dict[str, Any],
    social: Any = None,
    id_key: str = "",
    **kwargs: Any,
) -> dict[str, Any]:
    """Associate the account and create or update its connection with the tokens encrypted,
    all in one transaction (a failure saves nothing); social_django's plain-JSON extra_data
    keeps nothing secret."""
    service = Service.objects.get(key=backend.service_key)
    with transaction.atomic():
        if social is None:
            social = backend.strategy.storage.user.create_social_auth(
                user, uid, backend.name, id_key=id_key
            )
        connection, created = Connection.objects.get_or_create(
            user=user,
            service=service,
            external_account_id=uid,
            defaults={"label": details.get("label", "")[:255]},
        )
        previous_status = connection.status
        if not created:
            connection.label = details.get("label", "")[:255] or connection.label
            connection.status = Connection.Status.CONNECTED
            connection.last_error = ""
            connection.save(update_fields=["label", "status", "last_error", "updated_at"])
        credential, _ = Credential.objects.get_or_create(connection=connection)
        apply_token_response(credential, response)
        credential.save()
        social.extra_data = {"service": service.key}
        social.save(update_fields=["extra_data"])
    backend.connection = connection
    backend.connection_created = created
    backend.previous_status = previous_status
    return {"connection": connection}
