"""The OAuth backend (social-core) of this service: a few declarations on `ProviderOAuth2`."""

from __future__ import annotations

from typing import Any

from integrations.oauth.base import ProviderOAuth2


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


BACKEND = GoogleCalendarOAuth2
