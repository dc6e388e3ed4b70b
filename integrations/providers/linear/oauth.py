"""The OAuth backend (social-core) of this service: a few declarations on `ProviderOAuth2`."""

from __future__ import annotations

from typing import Any

from integrations.oauth.base import ProviderOAuth2


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


BACKEND = LinearOAuth2
