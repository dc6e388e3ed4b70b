"""What every OAuth backend shares: `ProviderOAuth2` reads endpoints, scopes and PKCE from the
provider class (one source of truth) and the client id/secret from the settings. Each service's
backend lives in its package, `integrations/providers/<key>/oauth.py`."""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

from django.conf import settings
from social_core.backends.oauth import BaseOAuth2PKCE
from social_core.exceptions import AuthInputError

from integrations import service_urls
from integrations.providers import PROVIDERS
from integrations.providers.base import Provider

# The state is single-use (social-core consumes its nonce) and expires after ten minutes.
STATE_LIFETIME = 600
TIMEOUT = 10.0  # seconds, for every call to a token, identity or revocation endpoint


class ProviderOAuth2(BaseOAuth2PKCE):
    """An OAuth 2.0 authorization-code backend declared by a DayFlow provider class."""

    service_key: ClassVar[str]
    identity_url: ClassVar[str] = ""
    # Where revocation needs the client's Basic credentials (RFC 7009 style endpoints).
    revoke_with_basic_auth: ClassVar[bool] = False
    REDIRECT_STATE = False  # the redirect URI must match the registered one exactly
    STATE_LIFETIME = STATE_LIFETIME
    SEND_USER_AGENT = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The provider's endpoints come rebased from the registry; the identity one is ours.
        self.identity_url = service_urls.rebase(self.service_key, type(self).identity_url)

    @property
    def provider(self) -> type[Provider]:
        return PROVIDERS[self.service_key]

    # --- declarations read from the provider ---------------------------------------------
    def authorization_url(self) -> str:
        return self.provider.authorization_url

    def access_token_url(self) -> str:
        return self.provider.token_url

    def revoke_token_url(self, token: str = "", uid: str = "") -> str:
        return self.provider.revoke_url

    def get_scope(self) -> list[str]:
        return list(self.provider.scopes)

    def get_scope_argument(self) -> dict[str, str]:
        scopes = self.get_scope()
        return {"scope": self.provider.scope_separator.join(scopes)} if scopes else {}

    def auth_extra_arguments(self) -> dict[str, str]:
        return dict(self.provider.extra_authorize_params)

    def get_key_and_secret(self) -> tuple[str, str]:
        return self.provider.client_credentials()

    def setting(self, name: str, default: Any = None) -> Any:
        if name == "USE_PKCE":
            return self.provider.pkce
        if name == "REQUESTS_TIMEOUT":
            return TIMEOUT
        return super().setting(name, default)

    def get_redirect_uri(self, state: str | None = None) -> str:
        return redirect_uri(self.service_key)

    # --- the token endpoint ---------------------------------------------------------------
    def auth_complete_params(self, state: str | None = None) -> dict[str, str]:
        if not self.data.get("code"):
            raise AuthInputError(self, parameter="code", code="missing_parameter", stage="callback")
        return super().auth_complete_params(state)

    def refresh_token_params(self, token: str, *args: Any, **kwargs: Any) -> dict[str, str]:
        params = super().refresh_token_params(token, *args, **kwargs)
        if self.use_basic_auth():
            params.pop("client_id")
            params.pop("client_secret")
        return params

    def token_auth(self) -> tuple[str, str] | None:
        """HTTP Basic client credentials for the token endpoint, where the service wants them."""
        return self.get_key_and_secret() if self.use_basic_auth() else None

    def revoke_request(self, access_token: str, refresh_token: str) -> dict[str, Any] | None:
        """Keyword arguments for `requests.post` revoking the grant, or None: no revocation."""
        if not self.revoke_token_url():
            return None
        auth = self.get_key_and_secret() if self.revoke_with_basic_auth else None
        return {"url": self.revoke_token_url(), "data": {"token": access_token}, "auth": auth}

    # --- the account identity -------------------------------------------------------------
    def get_user_id(self, details: dict[str, Any], response: dict[str, Any]) -> str:
        return str(self.account(response)["id"])

    def get_user_details(self, response: dict[str, Any]) -> dict[str, Any]:
        account = self.account(response)
        return {"username": "", "email": account.get("email", ""), "label": account["label"]}

    def account(self, response: dict[str, Any]) -> dict[str, str]:
        """The external account's stable id and a readable label, from `response`."""
        raise NotImplementedError

    def identity_headers(self, access_token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {access_token}"}

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        if not self.identity_url:
            return {}
        return {
            "identity": self.get_json(
                self.identity_url, headers=self.identity_headers(access_token)
            )
        }


def id_token_claims(id_token: str) -> dict[str, Any]:
    """The claims of a JWT's payload, or {} when it is not one."""
    parts = id_token.split(".")
    if len(parts) != 3:
        return {}
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def redirect_uri(service_key: str) -> str:
    """The callback URL registered at the service, built from PUBLIC_URL."""
    return f"{settings.PUBLIC_URL}/integrations/{service_key}/callback/"
