"""Start and complete an OAuth connect flow for the logged-in user.

social-core does the protocol: a random state bound to the session, single-use (its nonce is
consumed) and expiring after ten minutes; the PKCE S256 challenge and verifier; the code
exchange. The connect pipeline (`integrations.oauth.strategy`) then stores the account.
"""

from __future__ import annotations

import dataclasses

from django.http import HttpRequest
from social_core.exceptions import (
    AuthAssociationError,
    AuthCanceled,
    AuthConfigurationError,
    AuthInputError,
    AuthSessionError,
    SocialAuthBaseException,
)

from integrations.models import Connection
from integrations.oauth.backends import BACKENDS
from integrations.oauth.base import ProviderOAuth2, redirect_uri
from integrations.oauth.strategy import load_strategy


@dataclasses.dataclass
class ConnectError(Exception):
    """A connect flow that failed: `message` is for the user, `reason` for the audit log."""

    message: str
    reason: str


@dataclasses.dataclass(frozen=True)
class Connected:
    connection: Connection
    created: bool
    previous_status: str


def backend(request: HttpRequest, service_key: str) -> ProviderOAuth2:
    return BACKENDS[service_key](load_strategy(request), redirect_uri(service_key))


def authorization_url(request: HttpRequest, service_key: str) -> str:
    """The service's consent page, with a fresh state (and PKCE challenge) in the session."""
    return backend(request, service_key).auth_url()


def complete(request: HttpRequest, service_key: str) -> Connected:
    """Validate the callback, exchange the code and store the connection; raise ConnectError."""
    flow = backend(request, service_key)
    try:
        flow.auth_complete(user=request.user)
    except SocialAuthBaseException as exc:
        raise ConnectError(_message(flow, exc), _reason(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise ConnectError(
            f"{flow.provider.name} answered with something we could not read. Nothing was "
            "saved; please try again.",
            f"unexpected_identity:{type(exc).__name__}",
        ) from exc
    return Connected(flow.connection, flow.connection_created, flow.previous_status)


def _reason(exc: SocialAuthBaseException) -> str:
    parts = [exc.stage, exc.code, str(exc.provider_code or exc.status_code or "")]
    return ":".join(part for part in parts if part)


def _message(flow: ProviderOAuth2, exc: SocialAuthBaseException) -> str:
    name = flow.provider.name
    if isinstance(exc, AuthCanceled):
        return f"You declined access at {name}, so nothing was connected."
    if isinstance(exc, AuthInputError) and exc.parameter == "code":
        return f"{name} sent no authorization code back. Nothing was saved; please try again."
    if isinstance(exc, AuthInputError | AuthSessionError):
        return (
            f"This {name} sign-in could not be matched to one you started here (it is missing, "
            "expired or already used). Nothing was saved; please connect again."
        )
    if isinstance(exc, AuthAssociationError):
        return f"This {name} account is already connected to another DayFlow user."
    if isinstance(exc, AuthConfigurationError):
        return f"{name} refused our client configuration. Please tell the administrator."
    return f"{name} did not complete the connection ({exc.code}). Nothing was saved; try again."
