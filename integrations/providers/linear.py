"""Linear: issues of one team, over GraphQL. https://linear.app/developers"""

from integrations.providers.base import ItemType, Kind, Provider


class LinearProvider(Provider):
    key = "linear"
    name = "Linear"
    kind = Kind.TASKS
    docs_url = "https://linear.app/developers/graphql"
    authorization_url = "https://linear.app/oauth/authorize"
    token_url = "https://api.linear.app/oauth/token"
    revoke_url = "https://api.linear.app/oauth/revoke"
    scopes = ("read", "write")
    scope_separator = ","
    pkce = True
    api_base = "https://api.linear.app/graphql"
    rate_limit = (1500, 3600.0)
    item_types = (ItemType.TASK,)
    change_feed = "GraphQL issues filtered on updatedAt"
    supports_webhooks = True
    webhook_registration = "api"
    mapping_schema = {"team_id": str, "write_id_marker": bool}
