"""The webhook seam: what a service's package says about its deliveries and subscriptions.

Each service that pushes changes has `integrations/providers/<key>/webhook.py` with an `INBOUND`
(how to verify its deliveries, its handshake, where the event type and delivery id live) and,
when its subscriptions are made through its API, a `REGISTRAR` (create, renew, remove). The
hooks take plain values (headers, body bytes, secrets as str, ids) and a provider bound to the
connection: the `webhooks` app keeps the guard order, the inbox and the lifecycle, and calls
them. `integrations/providers/hooks.py` finds them through the registry.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, ClassVar

from integrations.providers.base import Provider


class Reason(StrEnum):
    MISSING_HEADER = "missing_header"
    MISSING_SECRET = "missing_secret"
    BAD_SIGNATURE = "bad_signature"
    STALE_TIMESTAMP = "stale_timestamp"
    # Signed, but the timestamp is not a time (Infinity, NaN, a word, an absurd number): 400.
    BAD_TIMESTAMP = "bad_timestamp"
    MALFORMED = "malformed"
    UNKNOWN_CHANNEL = "unknown_channel"


@dataclasses.dataclass(frozen=True)
class Verification:
    """The verdict on one delivery: `ok`, or the reason it was rejected."""

    ok: bool
    reason: Reason | None = None

    @classmethod
    def reject(cls, reason: Reason) -> Verification:
        return cls(ok=False, reason=reason)


VERIFIED = Verification(ok=True)


# --- authenticity checks: every comparison constant-time, a failure names a reason ----------
def hmac_sha256(key: str | bytes, message: bytes) -> bytes:
    """The raw HMAC-SHA256 digest (tested against RFC 4231's published vectors)."""
    raw_key = key.encode() if isinstance(key, str) else key
    return hmac.new(raw_key, message, hashlib.sha256).digest()


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value by case-insensitive name ('' when absent)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return ""


def check_hex(presented: str, key: str, body: bytes) -> Verification:
    """`presented` is the hex HMAC-SHA256 of `body` with `key` (either case)."""
    expected = hmac_sha256(key, body).hex()
    if hmac.compare_digest(expected.encode(), presented.strip().lower().encode()):
        return VERIFIED
    return Verification.reject(Reason.BAD_SIGNATURE)


def precheck(presented: str, secret: str) -> Verification | None:
    """The rejection when there is no secret to check with or nothing presented, else None."""
    if not secret:
        return Verification.reject(Reason.MISSING_SECRET)
    if not presented:
        return Verification.reject(Reason.MISSING_HEADER)
    return None


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


@dataclasses.dataclass(frozen=True)
class Handshake:
    """A setup message, answered before the signature check because the service has not (or
    cannot have) signed it with a secret we already hold. `kind` names it in the audit trail."""

    kind: str
    # Echoed as text/plain (Graph's validationToken).
    echo: str | None = None
    # The signing secret the service hands us (Notion's verification token): the first one is
    # stored and activates the subscription, a different second one is refused.
    offered_secret: str = ""
    # Answered only when the message also passes `verify`; it activates a pending subscription
    # (Google's `sync` message on a new channel).
    signed: bool = False


class Lifecycle(StrEnum):
    """What a lifecycle notification asks of its subscription."""

    NONE = ""
    RENEW = "renew"
    RECREATE = "recreate"


class Inbound:
    """How one service delivers webhooks. Subclasses are declarations first, hooks second."""

    provider: ClassVar[type[Provider]]
    # True when the secret belongs to one subscription, so its URL names the subscription.
    per_subscription: ClassVar[bool] = True
    # True when a per-subscription service also posts to the service-wide URL (an app webhook).
    app_wide_too: ClassVar[bool] = False
    # Event types (or their prefixes) that mean "items changed": the rest are acknowledged only.
    handled: ClassVar[tuple[str, ...]] = ()
    # The payload field naming the account, for subscriptions not tied to one connection.
    account_field: ClassVar[str] = ""
    # Headers carrying a signature or token: never stored in the inbox.
    signature_headers: ClassVar[tuple[str, ...]] = ()

    @property
    def key(self) -> str:
        return self.provider.key

    def expects_json(self, query: Mapping[str, str]) -> bool:
        return True

    def handshake(
        self, query: Mapping[str, str], headers: Mapping[str, str], payload: Any
    ) -> Handshake | None:
        """The setup message this delivery is, or None for an ordinary delivery."""
        return None

    def verify(
        self, headers: Mapping[str, str], body: bytes, payload: Any, secret: str, remote_id: str
    ) -> Verification:
        """Whether the delivery is authentic: `secret` is the subscription's (or, for the
        service-wide URL, `provider.app_webhook_secret()`), `remote_id` its id at the service
        ('' without a subscription)."""
        raise NotImplementedError

    def event_type(self, headers: Mapping[str, str], payload: Any) -> str:
        raise NotImplementedError

    def delivery_id(self, headers: Mapping[str, str], payload: Any, body: bytes, scope: str) -> str:
        """The inbox's id for this delivery, within `scope` (the subscription's public id,
        else the service key).

        The id must come from what the signature covers, or a replay with a fresh header is
        stored and processed again. No signed id from the service: the body's hash, scoped to
        the subscription so two subscriptions receiving the same event do not swallow each
        other's delivery."""
        return f"{scope}:sha256:{body_hash(body)}"

    def lifecycle(self, event_type: str) -> Lifecycle:
        """What a stored event asks of its subscription besides a sync (Graph's lifecycle
        notifications); nothing for an ordinary change."""
        return Lifecycle.NONE

    def handles(self, event_type: str) -> bool:
        return any(event_type == h or event_type.startswith(h) for h in self.handled)

    def account_id(self, payload: Any) -> str:
        if self.account_field and isinstance(payload, dict):
            return str(payload.get(self.account_field) or "")
        return ""

    def stored_body(self, body: bytes, payload: Any) -> str:
        return body.decode("utf-8", errors="replace")


@dataclasses.dataclass
class Registration:
    """One subscription as a registrar sees it: plain values; `create` and `renew` fill in
    what the service chose."""

    resource: str  # what is watched: a Google calendar id, a Graph resource path, a team id…
    url: str  # where the service is to post
    secret: str  # the signing secret we chose (ClickUp replaces it with its own)
    remote_id: str = ""
    resource_id: str = ""  # Google's resource id, needed to stop a channel
    expires_at: dt.datetime | None = None


class Registrar:
    """How one service's subscriptions are created, renewed and removed through its API.

    Every call goes through `provider` (bound to the connection and its HTTP client), so the
    client's retries and typed errors apply; answers are parsed at the edge (`field()`).
    """

    provider: ClassVar[type[Provider]]
    events: ClassVar[tuple[str, ...]] = ()
    # How subscriptions that lapse are renewed: "extend" (`renew` pushes the expiry back),
    # "replace" (a new subscription, then the old one removed), "" (they do not lapse).
    renewal: ClassVar[str] = ""
    # True when the service reports a subscription's health (`health`), checked by beat.
    reports_health: ClassVar[bool] = False

    @property
    def key(self) -> str:
        return self.provider.key

    def wanted(self, provider: Provider) -> list[str] | None:
        """What to watch according to the connection's settings, one subscription per
        resource; None when only the service can say (see `resources`)."""
        return [provider.connection.external_account_id]

    def resources(self, provider: Provider) -> list[str]:
        """What to watch, asking the service where the settings do not say."""
        return self.wanted(provider) or []

    def create(self, provider: Provider, registration: Registration) -> None:
        raise NotImplementedError

    def renew(self, provider: Provider, registration: Registration) -> None:
        raise NotImplementedError

    def remove(self, provider: Provider, registration: Registration) -> None:
        raise NotImplementedError

    def health(self, provider: Provider, registration: Registration) -> str:
        """What is wrong with the subscription, in the service's words ('suspended',
        'missing'), or '' while it works."""
        raise NotImplementedError
