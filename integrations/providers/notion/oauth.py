"""The OAuth backend (social-core) of this service: a few declarations on `ProviderOAuth2`."""

from __future__ import annotations

from typing import Any

from integrations.oauth.base import ProviderOAuth2


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


BACKEND = NotionOAuth2
