"""Notion: pages of one database (data source) as tasks. https://developers.notion.com/reference"""

from integrations.providers.base import ItemType, Kind, Provider


class NotionProvider(Provider):
    key = "notion"
    name = "Notion"
    kind = Kind.TASKS
    docs_url = "https://developers.notion.com/reference/intro"
    authorization_url = "https://api.notion.com/v1/oauth/authorize"
    token_url = "https://api.notion.com/v1/oauth/token"
    revoke_url = "https://api.notion.com/v1/oauth/revoke"
    extra_authorize_params = {"owner": "user"}
    api_base = "https://api.notion.com/v1"
    rate_limit = (3, 1.0)  # "an average of three requests per second"
    # Pinned: 2025-09-03 moved database queries to data sources.
    # https://developers.notion.com/reference/versioning
    default_headers = {"Notion-Version": "2025-09-03"}
    item_types = (ItemType.TASK,)
    change_feed = "data source query filtered on last_edited_time"
    supports_webhooks = True
    webhook_registration = "console"
    mapping_schema = {
        "database_id": str,
        "data_source_id": str,
        "title_property": str,
        "status_property": str,
        "due_property": str,
        "notes_property": str,
        "priority_property": str,
        "dayflow_id_property": str,
    }
