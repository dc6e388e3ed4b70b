"""Typed errors every provider raises and the sync engine understands."""

from __future__ import annotations


class ProviderError(Exception):
    """Base of every error a provider raises; `service` names who said it."""

    def __init__(self, message: str, *, service: str = "") -> None:
        super().__init__(f"{service}: {message}" if service else message)
        self.service = service


class AuthExpired(ProviderError):
    """The credentials no longer work, even after a refresh: the user must reconnect."""


class RateLimited(ProviderError):
    def __init__(self, message: str, *, retry_after: float, service: str = "") -> None:
        super().__init__(message, service=service)
        self.retry_after = retry_after


class Transient(ProviderError):
    """Worth retrying later: network errors, 5xx, overload."""


class Permanent(ProviderError):
    """Retrying the same request will not help (4xx other than the ones below)."""

    def __init__(self, message: str, *, status: int | None = None, service: str = "") -> None:
        super().__init__(message, service=service)
        self.status = status


class NotFound(Permanent):
    """The remote item or collection is gone."""


class PreconditionFailed(Permanent):
    """The remote item changed since the version we hold (412, etag mismatch): a conflict."""


Conflict = PreconditionFailed


class Gone(Permanent):
    """410 Gone. Calendar providers map it to `CursorExpired` where a sync token expired."""


class CursorExpired(ProviderError):
    """The stored change-feed cursor is no longer valid (410 Gone, syncStateNotFound, …):
    the engine must run a full listing and find deletions by difference."""


class UnexpectedPayload(Permanent):
    """A remote payload did not have the shape the service documents."""

    def __init__(self, service: str, field: str, detail: str = "") -> None:
        message = f"unexpected payload: field {field!r}" + (f" ({detail})" if detail else "")
        super().__init__(message, service=service)
        self.field = field
