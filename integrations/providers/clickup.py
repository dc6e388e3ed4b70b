"""ClickUp: tasks of one list. https://developer.clickup.com/docs"""

from integrations.providers.base import ItemType, Kind, Provider


class ClickUpProvider(Provider):
    key = "clickup"
    name = "ClickUp"
    kind = Kind.TASKS
    docs_url = "https://developer.clickup.com/docs"
    authorization_url = "https://app.clickup.com/api"
    token_url = "https://api.clickup.com/api/v2/oauth/token"
    api_base = "https://api.clickup.com/api/v2"
    # "Authorization: {token}" with no Bearer: https://developer.clickup.com/docs/authentication
    raw_token_header = True
    rate_limit = (100, 60.0)  # Free/Unlimited/Business plans: 100 requests per minute per token
    item_types = (ItemType.TASK,)
    change_feed = "tasks filtered by date_updated_gt"
    supports_webhooks = True
    webhook_registration = "api"
    mapping_schema = {"team_id": str, "list_id": str, "dayflow_id_field": str}
