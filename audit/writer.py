"""The one function that writes audit events. It scrubs secrets out of `details` first."""

from __future__ import annotations

import re
from typing import Any

from audit.models import AuditEvent

REDACTED = "[redacted]"

# Keys whose values are secrets, wherever they appear in the details.
_SECRET_KEY = re.compile(
    r"(token|secret|password|passwd|authorization|cookie|api[_-]?key|signature|credential|"
    r"client[_-]?state|verifier|^code$|auth[_-]?code|authorization[_-]?code|sessionid)",
    re.IGNORECASE,
)
# Values that look like secrets even under an innocent key.
_SECRET_VALUE = re.compile(
    r"(Bearer\s+\S+|Basic\s+\S+|gAAAAA[\w-]{20,}|ya29\.[\w.-]+|pk_\d+_\w+|lin_\w{20,}|"
    r"(?:access_token|refresh_token|code|password|client_secret)=[^&\s]+)",
    re.IGNORECASE,
)


def scrub(value: Any, key: str = "") -> Any:
    """A copy of `value` with secrets replaced by a marker (never a partial secret)."""
    if key and _SECRET_KEY.search(key) and value not in (None, "", [], {}):
        return REDACTED
    if isinstance(value, dict):
        return {str(k): scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return _SECRET_VALUE.sub(REDACTED, value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return _SECRET_VALUE.sub(REDACTED, str(value))


def record(
    action: str,
    *,
    actor: Any = None,
    connection: Any = None,
    resource: str = "",
    details: dict[str, Any] | None = None,
    success: bool = True,
    request: Any = None,
) -> AuditEvent:
    """Write one audit event. `connection` is any object with `pk` and a readable str()."""
    if actor is None and request is not None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    return AuditEvent.objects.create(
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        connection_id=getattr(connection, "pk", None),
        connection_label=str(connection)[:300] if connection is not None else "",
        resource=resource[:300],
        details=scrub(details or {}),
        success=success,
        ip_address=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "")[:500] if request else ""),
        channel=channel_of(request),
    )


def channel_of(request: Any) -> str:
    """How the request's user acted: "web", "api: <token name>" or "api: session"; "" for none.
    A DRF request carries what authenticated it (`auth`, a token with a name, for a token)."""
    if request is None:
        return ""
    if not hasattr(request, "successful_authenticator"):
        return "web"
    name = getattr(getattr(request, "auth", None), "name", None)
    return f"api: {name}"[:120] if name else "api: session"


def client_ip(request: Any) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None
