"""Google Calendar API v3: events, incremental with syncToken.
https://developers.google.com/calendar/api/guides/sync"""

from integrations.providers.base import ItemType, Kind, Provider


class GoogleCalendarProvider(Provider):
    key = "google-calendar"
    name = "Google Calendar"
    kind = Kind.CALENDAR
    docs_url = "https://developers.google.com/calendar/api/v3/reference"
    authorization_url = "https://accounts.google.com/o/oauth2/v2/auth"
    token_url = "https://oauth2.googleapis.com/token"
    revoke_url = "https://oauth2.googleapis.com/revoke"
    scopes = (
        "openid",
        "email",
        "https://www.googleapis.com/auth/calendar.events",
        "https://www.googleapis.com/auth/calendar.readonly",
    )
    pkce = True
    # A refresh token is only issued with offline access; prompt=consent re-issues it.
    extra_authorize_params = {"access_type": "offline", "prompt": "consent"}
    api_base = "https://www.googleapis.com/calendar/v3"
    rate_limit = (10, 1.0)  # 600 requests/min/user
    item_types = (ItemType.EVENT,)
    change_feed = "events.list syncToken (410 Gone: full resync)"
    supports_webhooks = True
    webhook_registration = "api"
    mapping_schema = {"calendars": list}
