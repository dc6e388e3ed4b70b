"""Microsoft Outlook calendars through Microsoft Graph: events, incremental with delta queries.
https://learn.microsoft.com/graph/api/event-delta"""

from integrations.providers.base import ItemType, Kind, Provider


class OutlookProvider(Provider):
    key = "outlook"
    name = "Microsoft Outlook"
    kind = Kind.CALENDAR
    docs_url = "https://learn.microsoft.com/graph/api/resources/event"
    authorization_url = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    scopes = ("offline_access", "openid", "email", "Calendars.ReadWrite")
    pkce = True
    api_base = "https://graph.microsoft.com/v1.0"
    rate_limit = (16, 1.0)  # 10,000 requests per 10 minutes per mailbox
    item_types = (ItemType.EVENT,)
    change_feed = "calendarView delta (deltaLink)"
    supports_webhooks = True
    webhook_registration = "api"
    mapping_schema = {"calendars": list}
