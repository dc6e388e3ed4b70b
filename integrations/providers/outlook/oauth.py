"""The OAuth backend (social-core) of this service: a few declarations on `ProviderOAuth2`."""

from __future__ import annotations

from typing import Any

from integrations.oauth.base import ProviderOAuth2, id_token_claims


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


BACKEND = OutlookOAuth2
