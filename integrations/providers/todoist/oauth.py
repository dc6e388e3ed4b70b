"""The OAuth backend (social-core) of this service: a few declarations on `ProviderOAuth2`."""

from __future__ import annotations

from typing import Any

from integrations.oauth.base import ProviderOAuth2


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


BACKEND = TodoistOAuth2
