"""The OAuth backend (social-core) of this service: a few declarations on `ProviderOAuth2`."""

from __future__ import annotations

from typing import Any

from integrations.oauth.base import ProviderOAuth2


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


BACKEND = ClickUpOAuth2
