"""Todoist (unified API v1): tasks, incremental through the Sync endpoint.
https://developer.todoist.com/api/v1/"""

from integrations.providers.base import ItemType, Kind, Provider


class TodoistProvider(Provider):
    key = "todoist"
    name = "Todoist"
    kind = Kind.TASKS
    docs_url = "https://developer.todoist.com/api/v1/"
    authorization_url = "https://todoist.com/oauth/authorize"
    token_url = "https://todoist.com/oauth/access_token"
    revoke_url = "https://api.todoist.com/api/v1/revoke"
    scopes = ("data:read_write", "data:delete")
    scope_separator = ","
    api_base = "https://api.todoist.com/api/v1"
    rate_limit = (450, 900.0)
    item_types = (ItemType.TASK,)
    change_feed = "Sync API sync_token"
    supports_webhooks = True
    webhook_registration = "console"
    mapping_schema = {"project_id": str, "write_id_marker": bool}
