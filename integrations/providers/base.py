"""The provider seam: one class per external service, declared mostly in class attributes.

A provider is bound to one connection (`Provider(connection)`) and offers the engine a small set
of operations over *normalized fields* only; it never leaks a service's JSON:

- `pull(cursor)`: one page of changes since `cursor` (None: a full listing);
- `create(fields)`, `update(remote_id, fields, version)`, `delete(remote_id, version)`;
- `list_containers()`: the databases / lists / teams / projects / calendars a user can pick.

Normalized task fields: title, notes, status ("open" | "done"), due (date | aware datetime |
None), priority (0-4), completed_at (aware datetime | None), url.
Normalized event fields: title, description, location, status (confirmed | tentative |
cancelled), all_day, start / end (aware datetime, or date when all_day; end exclusive),
timezone (IANA name, "" for floating), rrule, exdates (list of ISO strings), recurrence_id
(ISO string of an overridden instance's original start), series_remote_id.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from integrations.providers.http import HttpClient


class Kind(StrEnum):
    TASKS = "tasks"
    CALENDAR = "calendar"


class AuthStyle(StrEnum):
    OAUTH2 = "oauth2"
    APP_PASSWORD = "app_password"


class ItemType(StrEnum):
    TASK = "task"
    EVENT = "event"


TASK_FIELDS = ("title", "notes", "status", "due", "priority", "completed_at", "url")
EVENT_FIELDS = (
    "title",
    "description",
    "location",
    "status",
    "all_day",
    "start",
    "end",
    "timezone",
    "rrule",
    "exdates",
    "recurrence_id",
    "series_remote_id",
)


@dataclasses.dataclass(frozen=True)
class RemoteItem:
    """One item as the service holds it, already mapped to normalized fields."""

    remote_id: str
    item_type: ItemType
    fields: dict[str, Any]
    version: str = ""
    updated_at: dt.datetime | None = None
    collection: str = ""  # the container it lives in (list, calendar, database…)
    dayflow_id: str = ""  # DayFlow's id, where we could store it on the remote item


@dataclasses.dataclass
class Page:
    """One page of a pull. `next_cursor` is what to store once `has_more` is False."""

    items: list[RemoteItem] = dataclasses.field(default_factory=list)
    deleted_ids: list[str] = dataclasses.field(default_factory=list)
    next_cursor: str | None = None
    has_more: bool = False
    full: bool = False  # a full listing: deletions are found by difference


@dataclasses.dataclass(frozen=True)
class Container:
    id: str
    name: str
    kind: str  # database, list, team, project, calendar…
    parent: str = ""
    item_types: tuple[ItemType, ...] = ()


class Provider:
    """Base class of every provider. Subclasses are declarations first, hooks second."""

    key: ClassVar[str]
    name: ClassVar[str]
    kind: ClassVar[Kind]
    auth: ClassVar[AuthStyle] = AuthStyle.OAUTH2
    docs_url: ClassVar[str] = ""

    # OAuth 2.0 (auth == OAUTH2)
    authorization_url: ClassVar[str] = ""
    token_url: ClassVar[str] = ""
    revoke_url: ClassVar[str] = ""
    scopes: ClassVar[tuple[str, ...]] = ()
    scope_separator: ClassVar[str] = " "
    pkce: ClassVar[bool] = False
    extra_authorize_params: ClassVar[dict[str, str]] = {}

    # REST access
    api_base: ClassVar[str] = ""
    rate_limit: ClassVar[tuple[int, float]] = (10, 1.0)  # requests per seconds
    default_headers: ClassVar[dict[str, str]] = {}  # sent on every call (API version pins…)
    raw_token_header: ClassVar[bool] = False  # Authorization: <token> without "Bearer"

    # Capabilities
    item_types: ClassVar[tuple[ItemType, ...]] = ()
    change_feed: ClassVar[str] = ""
    supports_webhooks: ClassVar[bool] = False
    webhook_registration: ClassVar[str] = ""  # "api", "console" or ""
    supports_delete: ClassVar[bool] = True

    # The settings a user picks for this service (connection.field_mapping): key -> type.
    mapping_schema: ClassVar[dict[str, type]] = {}

    def __init__(self, connection: Any, *, http: HttpClient | None = None) -> None:
        self.connection = connection
        self._http = http

    @property
    def http(self) -> HttpClient:
        """The connection's HTTP client, built on first use (tests pass their own)."""
        if self._http is None:
            from integrations.providers.http import client_for

            self._http = client_for(self.connection)
        return self._http

    @property
    def field_mapping(self) -> dict[str, Any]:
        """The user's choices for this connection (`connection.field_mapping`)."""
        return dict(getattr(self.connection, "field_mapping", None) or {})

    # --- the seam the engine calls ------------------------------------------------------
    def pull(self, cursor: str | None, collection: str = "") -> Page:
        """Changes since `cursor` (None: full listing), one page at a time."""
        raise NotImplementedError

    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        raise NotImplementedError

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        raise NotImplementedError

    def delete(self, remote_id: str, version: str = "") -> None:
        raise NotImplementedError

    def list_containers(self) -> list[Container]:
        raise NotImplementedError

    # --- declarations read by the catalog -----------------------------------------------
    @classmethod
    def capabilities(cls) -> dict[str, Any]:
        return {
            "item_types": [str(t) for t in cls.item_types],
            "change_feed": cls.change_feed,
            "webhooks": cls.supports_webhooks,
            "webhook_registration": cls.webhook_registration,
            "pkce": cls.pkce,
            "delete": cls.supports_delete,
        }

    @classmethod
    def client_credentials(cls) -> tuple[str, str]:
        from django.conf import settings

        client = settings.DAYFLOW_OAUTH_CLIENTS.get(cls.key, {})
        return client.get("client_id", ""), client.get("client_secret", "")

    @classmethod
    def is_configured(cls) -> bool:
        if cls.auth is not AuthStyle.OAUTH2:
            return True
        client_id, client_secret = cls.client_credentials()
        return bool(client_id and client_secret)
