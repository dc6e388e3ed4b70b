"""Personal API tokens (`dayflow.models.ApiToken`, hashed by django-rest-knox) on the
`Authorization: Token <token>` header; the pages' own JavaScript uses the session, with CSRF."""

from __future__ import annotations

import datetime as dt
from hmac import compare_digest
from types import SimpleNamespace
from typing import Any

from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from audit.writer import client_ip, record
from dayflow import limits

# knox tokens are the prefix and 64 hex characters; anything much longer is not one.
MAX_TOKEN_LENGTH = 128
# `last_used_at` is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
# How many client IPs of a token are remembered, and for how long (seconds).
ADDRESSES_KEPT = 20
ADDRESS_TTL = 90 * 24 * 3600


class ApiTokenAuthentication(TokenAuthentication):
    """knox's scheme and hashing, with one query per request: the token and its user together.
    An expired token is refused but kept, so its owner sees it listed as expired (knox would
    delete it, and every expired token of its user, on each request).

    Wrong tokens are counted per client IP (DAYFLOW_API_AUTH_FAILURES_PER_IP per window): past
    the limit, every token from that IP is answered 429 with `Retry-After`, unchecked, until
    the window closes. A token used from an IP it was not seen from is noted (`note_address`)."""

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        auth = get_authorization_header(request).split()
        prefix = knox_settings.AUTH_HEADER_PREFIX.encode()
        if not auth or auth[0].lower() != prefix.lower():
            return None  # no token: the session's, or anonymous
        ip = client_ip(request) or "unknown"
        limit = limits.get("DAYFLOW_API_AUTH_FAILURES_PER_IP")
        seconds = limits.get("DAYFLOW_API_AUTH_FAILURES_WINDOW_SECONDS")
        ahead = limits.peek("api-auth-failures", ip, limit, seconds)
        if not ahead.allowed:
            raise exceptions.Throttled(wait=ahead.retry_after)
        try:
            authenticated = super().authenticate(request)
        except exceptions.AuthenticationFailed:
            verdict = limits.hit("api-auth-failures", ip, limit, seconds)
            if not verdict.allowed:
                raise exceptions.Throttled(wait=verdict.retry_after) from None
            raise
        if authenticated is not None:
            note_address(request, *authenticated)
        return authenticated

    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        if len(token) > MAX_TOKEN_LENGTH or not token.isascii():
            raise exceptions.AuthenticationFailed("Invalid token.")
        text = token.decode("ascii")
        digest = hash_token(text)
        candidates = get_token_model().objects.select_related("user")
        for api_token in candidates.filter(token_key=text[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if not compare_digest(digest, api_token.digest):
                continue
            if api_token.is_expired:
                raise exceptions.AuthenticationFailed("The token has expired.")
            if not api_token.user.is_active:
                raise exceptions.AuthenticationFailed("User inactive or deleted.")
            touch(api_token)
            return api_token.user, api_token
        raise exceptions.AuthenticationFailed("Invalid token.")


def note_address(request: Any, user: Any, api_token: Any) -> None:
    """The client IPs a token was used from (its last ADDRESSES_KEPT, in the cache): a use from
    one not among them writes `api_token.used_from_new_ip` on the token's channel, which the
    monitoring alerts on (security.rules.token_new_ips). The first IP is the token's normal."""
    ip = client_ip(request)
    if ip is None:
        return
    key = f"api-token-ips:{api_token.pk}"
    known = cache.get(key)
    if isinstance(known, list) and ip in known:
        return
    cache.set(
        key, ([*known, ip] if isinstance(known, list) else [ip])[-ADDRESSES_KEPT:], ADDRESS_TTL
    )
    if not isinstance(known, list):
        return
    # The request's own authenticator is not set yet: what `record` reads, given as they will be.
    seen = SimpleNamespace(META=request.META, successful_authenticator=True, auth=api_token)
    record(
        "api_token.used_from_new_ip",
        actor=user,
        request=seen,
        resource=f"api token {api_token.pk}",
        success=False,
    )


def touch(api_token: Any) -> None:
    """Record that the token was used now (to the minute)."""
    now = timezone.now()
    last = api_token.last_used_at
    if last is None or now - last >= LAST_USED_RESOLUTION:
        type(api_token).objects.filter(pk=api_token.pk).update(last_used_at=now)
        api_token.last_used_at = now


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the schema (and /api/docs/) describe the token: `Authorization: Token <token>`."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A personal API token, sent as `Token <token>`.",
        }
