"""CalDAV calendars (RFC 4791), incremental with sync-collection (RFC 6578).

One provider, two presets: Apple iCloud and Fastmail, plus any other server URL.
"""

from integrations.providers.base import AuthStyle, ItemType, Kind, Provider


class CalDAVProvider(Provider):
    key = "caldav"
    name = "CalDAV"
    kind = Kind.CALENDAR
    auth = AuthStyle.APP_PASSWORD
    docs_url = "https://www.rfc-editor.org/rfc/rfc6578"
    server_url = ""
    item_types = (ItemType.EVENT, ItemType.TASK)
    change_feed = "sync-collection (RFC 6578), ctag/etag fallback"
    mapping_schema = {"calendars": list, "sync_todos": bool}


class AppleCalendarProvider(CalDAVProvider):
    key = "apple-calendar"
    name = "Apple Calendar"
    docs_url = "https://support.apple.com/102654"
    server_url = "https://caldav.icloud.com/"


class FastmailProvider(CalDAVProvider):
    key = "fastmail"
    name = "Fastmail"
    docs_url = "https://www.fastmail.help/hc/en-us/articles/1500000278342"
    server_url = "https://caldav.fastmail.com/dav/"  # the trailing slash matters
