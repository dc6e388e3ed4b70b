"""social-core backends for the OAuth services, built from the provider declarations.

social-core has no backends for Notion, ClickUp, Linear or Todoist, and its Google/Microsoft
backends are login backends. Each backend here is a few class attributes on top of
`ProviderOAuth2`, which reads endpoints, scopes and PKCE from the provider class (one source of
truth) and the client id/secret from `settings.DAYFLOW_OAUTH_CLIENTS`. The backends only connect an
account to the logged-in user: see `integrations.oauth.flow`.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

from django.conf import settings
from social_core.backends.oauth import BaseOAuth2PKCE
from social_core.exceptions import AuthInputError

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


class NotionOAuth2(ProviderOAuth2):
    """Notion: Basic client auth and a JSON body at the token endpoint; the token response
    names the workspace, so no identity call is needed.
    https://developers.notion.com/docs/authorization"""

    name = "notion"
    service_key = "notion"
    USE_BASIC_AUTH = True
    ACCESS_TOKEN_PAYLOAD = "json"
    revoke_with_basic_auth = True

    def account(self, response: dict[str, Any]) -> dict[str, str]:
        owner_user = (response.get("owner") or {}).get("user") or {}
        email = (owner_user.get("person") or {}).get("email", "")
        return {
            "id": response["workspace_id"],
            "label": response.get("workspace_name") or email or response["workspace_id"],
            "email": email,
        }

    def revoke_request(self, access_token: str, refresh_token: str) -> dict[str, Any] | None:
        request = super().revoke_request(access_token, refresh_token)
        if request:
            request["json"] = request.pop("data")  # Notion's API takes JSON bodies
        return request


class ClickUpOAuth2(ProviderOAuth2):
    """ClickUp: no scopes, no PKCE, tokens without expiry; identity from GET /v2/user.
    ClickUp documents no revocation endpoint: the user removes the app in ClickUp's settings.
    https://developer.clickup.com/docs/authentication"""

    name = "clickup"
    service_key = "clickup"
    identity_url = "https://api.clickup.com/api/v2/user"

    def identity_headers(self, access_token: str) -> dict[str, str]:
        return {"Authorization": access_token}  # ClickUp takes the bare token

    def account(self, response: dict[str, Any]) -> dict[str, str]:
        user = response["identity"]["user"]
        label = user.get("email") or user.get("username") or str(user["id"])
        return {"id": str(user["id"]), "label": label, "email": user.get("email", "")}


class LinearOAuth2(ProviderOAuth2):
    """Linear: comma-separated scopes, PKCE, rotating refresh tokens; identity from the
    GraphQL viewer. https://linear.app/developers/oauth-2-0-authentication"""

    name = "linear"
    service_key = "linear"
    identity_url = "https://api.linear.app/graphql"
    VIEWER_QUERY = "query { viewer { id name email } organization { name } }"

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        body = self.get_json(
            self.identity_url,
            method="POST",
            headers=self.identity_headers(access_token),
            json={"query": self.VIEWER_QUERY},
        )
        return {"identity": body["data"]}

    def account(self, response: dict[str, Any]) -> dict[str, str]:
        viewer = response["identity"]["viewer"]
        organization = (response["identity"].get("organization") or {}).get("name", "")
        label = " / ".join(part for part in (viewer.get("email"), organization) if part)
        return {"id": viewer["id"], "label": label or viewer["id"], "email": viewer.get("email")}

    def revoke_request(self, access_token: str, refresh_token: str) -> dict[str, Any] | None:
        request = super().revoke_request(access_token, refresh_token)
        if request:
            request["headers"] = {"Authorization": f"Bearer {access_token}"}
        return request


class TodoistOAuth2(ProviderOAuth2):
    """Todoist: comma-separated scopes; apps with refresh tokens get rotating ones; identity
    from the Sync endpoint's user resource; RFC 7009 revocation with Basic client auth.
    https://developer.todoist.com/api/v1/#tag/Authorization"""

    name = "todoist"
    service_key = "todoist"
    identity_url = "https://api.todoist.com/api/v1/sync"
    revoke_with_basic_auth = True

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        body = self.get_json(
            self.identity_url,
            method="POST",
            headers=self.identity_headers(access_token),
            data={"sync_token": "*", "resource_types": '["user"]'},
        )
        return {"identity": body}

    def account(self, response: dict[str, Any]) -> dict[str, str]:
        user = response["identity"]["user"]
        label = user.get("email") or user.get("full_name") or str(user["id"])
        return {"id": str(user["id"]), "label": label, "email": user.get("email", "")}

    def revoke_request(self, access_token: str, refresh_token: str) -> dict[str, Any] | None:
        request = super().revoke_request(access_token, refresh_token)
        if request:
            request["data"]["token_type_hint"] = "access_token"
        return request


class GoogleCalendarOAuth2(ProviderOAuth2):
    """Google: PKCE, and a refresh token only with access_type=offline (prompt=consent
    re-issues it on reconnect); identity from the OpenID userinfo endpoint.
    https://developers.google.com/identity/protocols/oauth2/web-server"""

    name = "google-calendar"
    service_key = "google-calendar"
    identity_url = "https://openidconnect.googleapis.com/v1/userinfo"

    def account(self, response: dict[str, Any]) -> dict[str, str]:
        identity = response["identity"]
        email = identity.get("email", "")
        return {"id": identity["sub"], "label": email or identity["sub"], "email": email}

    def revoke_request(self, access_token: str, refresh_token: str) -> dict[str, Any] | None:
        request = super().revoke_request(access_token, refresh_token)
        if request:
            # Revoking the refresh token also revokes every access token issued from it.
            request["data"] = {"token": refresh_token or access_token}
        return request


class OutlookOAuth2(ProviderOAuth2):
    """Microsoft identity platform v2: PKCE, `offline_access` for a refresh token, which is
    replaced on every use; identity from Graph /me. Microsoft has no RFC 7009 revocation
    endpoint, so disconnecting only forgets the tokens here.
    https://learn.microsoft.com/entra/identity-platform/v2-oauth2-auth-code-flow"""

    name = "outlook"
    service_key = "outlook"
    identity_url = "https://graph.microsoft.com/v1.0/me"

    def user_data(self, access_token: str, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        # The declared scopes (openid, email) yield an id_token but not User.Read, which
        # Graph's /me needs; the id_token's `oid` is the same id /me returns. It came straight
        # from the token endpoint over TLS, so its signature need not be checked (OIDC 3.1.3.7).
        id_token = ((kwargs.get("response") or {}).get("id_token")) or ""
        claims = id_token_claims(id_token)
        if claims.get("oid"):
            email = claims.get("email") or claims.get("preferred_username") or ""
            return {"identity": {"id": claims["oid"], "mail": email}}
        return super().user_data(access_token, *args, **kwargs)

    def account(self, response: dict[str, Any]) -> dict[str, str]:
        identity = response["identity"]
        email = identity.get("mail") or identity.get("userPrincipalName") or ""
        return {"id": identity["id"], "label": email or identity["id"], "email": email}


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


BACKENDS: dict[str, type[ProviderOAuth2]] = {
    backend.service_key: backend
    for backend in (
        NotionOAuth2,
        ClickUpOAuth2,
        LinearOAuth2,
        TodoistOAuth2,
        GoogleCalendarOAuth2,
        OutlookOAuth2,
    )
}


def redirect_uri(service_key: str) -> str:
    """The callback URL registered at the service, built from PUBLIC_URL."""
    return f"{settings.PUBLIC_URL}/integrations/{service_key}/callback/"
