"""The provider seam: one class per external service, declared mostly in class attributes.

A provider is bound to one connection (`Provider(connection)`) and offers the engine a small set
of operations over *normalized fields* only; it never leaks a service's JSON:

- `pull(cursor)`: one page of changes since `cursor` (None: a full listing);
- `create(fields)`, `update(remote_id, fields, version)`, `delete(remote_id, version)`;
- `delete_instance(remote_id, series_remote_id, version)`: an overridden instance of a series,
  returning the master as the service now holds it;
- `list_containers()`: the databases / lists / teams / projects / calendars a user can pick.

Normalized task fields: title, notes, status ("open" | "done"), due (date | aware datetime |
None), priority (0-4), completed_at (aware datetime | None), tags (a sorted list of names, only
from a provider that carries them: `lacks_fields`), url.
Normalized event fields: title, description, location, status (confirmed | tentative |
cancelled), all_day, start / end (aware datetime, or date when all_day; end exclusive),
timezone (IANA name, "" for floating), rrule, exdates (list of ISO strings), recurrence_id
(ISO string of an overridden instance's original start), series_remote_id.

What the service shows but DayFlow never sends back travels beside the fields, in a remote
item's `read_only`: a task's "list_name", an event's "attendees" ([{"email", "name",
"response"}]). Never compared, never written.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote, urlsplit

from django.conf import settings

from integrations.providers.errors import (
    CursorExpired,
    Permanent,
    ProviderError,
    RateLimited,
    UnexpectedPayload,
)
from integrations.providers.parallel import write_concurrently

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


TASK_FIELDS = ("title", "notes", "status", "due", "priority", "completed_at", "tags", "url")
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
    web_url: str = ""  # where a person opens the item at the service ("" when it has no page)
    # Shown in DayFlow, never synced back: "list_name" (tasks), "attendees" (events).
    read_only: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Write:
    """One write of a batch (`Provider.write_batch`): "create", "update" or "delete", with the
    arguments of the matching single-write method."""

    op: str
    fields: dict[str, Any] = dataclasses.field(default_factory=dict)
    remote_id: str = ""
    version: str = ""
    dayflow_id: str = ""
    collection: str = ""  # a create's container ("": the one the settings pick)
    # A create the caller has already looked for by `dayflow_id` at the service (the engine
    # does, before its run writes: `plan.settle_intents`), so the provider need not look again.
    looked_up: bool = False


# Per write of a batch: the item as the service now holds it (None after a delete), or the
# typed error of that write alone.
WriteResult = RemoteItem | ProviderError | None


@dataclasses.dataclass
class Page:
    """One page of a pull. `next_cursor` is what to store once `has_more` is False."""

    items: list[RemoteItem] = dataclasses.field(default_factory=list)
    deleted_ids: list[str] = dataclasses.field(default_factory=list)
    next_cursor: str | None = None
    has_more: bool = False
    full: bool = False  # a full listing: deletions are found by difference
    # Items that are there but that we cannot represent (remote id -> why): never deleted by
    # difference, and reported to the user as errors.
    unsyncable: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Container:
    id: str
    name: str
    kind: str  # database, list, team, project, calendar…
    parent: str = ""
    item_types: tuple[ItemType, ...] = ()


WEB_URL_MAX = 500
MAX_NOTES, NOTE_CHARS = 20, 300


def safe_web_url(value: Any) -> str:
    """`value` if it is an absolute http(s) address of at most WEB_URL_MAX characters with no
    space or control character, else ""."""
    if not isinstance(value, str) or not 0 < len(value) <= WEB_URL_MAX:
        return ""
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme in ("http", "https") and parts.hostname else ""


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
    # The status answered to a late delivery for a subscription we removed.
    webhook_removed_status: ClassVar[int] = 200
    # True when one app-wide webhook is signed with the OAuth client secret (no subscription rows).
    webhook_signed_with_client_secret: ClassVar[bool] = False
    # The prefix of a subscription resource that stands for a whole account reached by an
    # app-wide webhook (the delivery names the account); "" when the service has none.
    webhook_account_prefix: ClassVar[str] = ""
    # True when the service sends a setup message before signed events (its `Inbound.handshake`).
    webhook_handshake: ClassVar[bool] = False
    # True when that message carries the signing secret, which staff paste back into the
    # service's console: the admin shows it, and can forget it to capture a new one.
    webhook_secret_from_handshake: ClassVar[bool] = False
    supports_delete: ClassVar[bool] = True
    # True when a task's read-only `list_name` is the name of the container it is in (a
    # Todoist project, a ClickUp list): sync links take it as their name (`links.learn_names`).
    list_name_is_container: ClassVar[bool] = False
    # True when `move` puts an item in another container of the account: a DayFlow item moved
    # to a list whose destination is another container of the same connection moves there.
    supports_move: ClassVar[bool] = False
    # True when an item moved to another container comes back under another remote id
    # (`ids_in_other_containers`): the engine follows it there instead of losing it.
    moves_change_ids: ClassVar[bool] = False
    # How many writes `write_batch` sends together; 1: the engine writes item by item.
    write_batch_size: ClassVar[int] = 1
    # For a service with no batch: how many single writes may be in flight at once
    # (`providers.parallel`), within the service's documented concurrency; the rate
    # (`rate_limit`) still holds over all of them. 1: one after the other.
    write_concurrency: ClassVar[int] = 1

    # The settings a user picks for this service (connection.field_mapping): key -> type, or
    # types: (str, list) is one id or several.
    mapping_schema: ClassVar[dict[str, type | tuple[type, ...]]] = {}
    # Which of those settings hold addresses (bounded as URLs, not as ids).
    mapping_urls: ClassVar[frozenset[str]] = frozenset()
    # Which of those settings names the container to sync (list, data source, team, project).
    collection_setting: ClassVar[str] = ""
    # That container in the user's words, with its article: "a Notion database".
    collection_words: ClassVar[str] = ""
    # True when nothing can sync until one is picked (the connection "needs setup"); False
    # when the service has a default (the primary calendar, every calendar of the account).
    collection_required: ClassVar[bool] = False
    # What syncs while none is picked, in words ("" when one is required).
    collection_default: ClassVar[str] = ""
    # Which of `list_containers`' kinds can be picked (ClickUp lists, not its spaces).
    collection_kind: ClassVar[str] = ""
    # Settings filled from the picked container's ancestors: setting -> the ancestor's kind
    # (ClickUp's workspace of a list). A parent the listing does not show counts as that kind.
    collection_ancestors: ClassVar[dict[str, str]] = {}
    # Which of those must be the same ancestor for every picked container (ClickUp's lists
    # of one workspace): containers under two of them are refused (integrations/forms.py).
    collection_ancestors_shared: ClassVar[frozenset[str]] = frozenset()
    # Yes/no settings shown as checkboxes on the settings page, with their words.
    setting_checkboxes: ClassVar[dict[str, str]] = {}

    # Where a person opens an item at the service: the payload field holding its page's address
    # (`url`, `htmlLink`…), else an address made from its id ("…/task/{id}"); neither: no link.
    web_url_field: ClassVar[str] = ""
    web_url_template: ClassVar[str] = ""

    # The mapped fields (sync/directions.py) the service does not carry, as "kind.field": the
    # settings page marks them and offers no direction for them. A task's list is carried
    # where the service moves tasks between the containers a connection syncs.
    lacks_fields: ClassVar[frozenset[str]] = frozenset({"task.list", "task.tags"})

    def __init__(
        self,
        connection: Any,
        *,
        http: HttpClient | None = None,
        client_factory: Callable[[], HttpClient] | None = None,
    ) -> None:
        self.connection = connection
        self._http = http
        self._client_factory = client_factory
        # What the run should tell the person though nothing failed (a tag with no label
        # at the service…): the engine puts them in the job's report.
        self.notes: list[str] = []
        self._notes_lock = threading.Lock()
        # A write thread's own transport (`providers.parallel`): its HTTP client here.
        self._thread = threading.local()
        self._threads_warm = False  # True once a first write went alone (`parallel`)

    def note(self, text: str) -> None:
        with self._notes_lock:
            if len(self.notes) < MAX_NOTES and text not in self.notes:
                self.notes.append(text[:NOTE_CHARS])

    @classmethod
    def setup_needed(cls, mapping: object) -> str:
        """What the user must still choose before this service can sync ("choose a Notion
        database"), or "" when the settings are enough. Pure: the declaration decides."""
        if not cls.collection_required:
            return ""
        chosen = mapping.get(cls.collection_setting) if isinstance(mapping, dict) else None
        return "" if chosen else f"choose {cls.collection_words}"

    @classmethod
    def kinds_synced(cls, mapping: object) -> tuple[str, ...]:
        """The kinds of item a connection with these settings syncs (CalDAV's to-dos only
        when asked for)."""
        return tuple(str(t) for t in cls.item_types)

    @classmethod
    def picks_many(cls) -> bool:
        """Several containers can be picked (calendars, Todoist projects), or exactly one (a
        Linear team, a Notion database)."""
        kinds = cls.mapping_schema.get(cls.collection_setting)
        return kinds is list or (isinstance(kinds, tuple) and list in kinds)

    @classmethod
    def chosen_collections(cls, mapping: object) -> list[str]:
        """The containers the settings pick, in order, once each: one id, or several."""
        chosen = mapping.get(cls.collection_setting) if isinstance(mapping, dict) else None
        if isinstance(chosen, str):
            chosen = [chosen]
        if not isinstance(chosen, list):
            return []
        return list(dict.fromkeys(c for c in chosen if isinstance(c, str) and c))

    def lacking(self) -> frozenset[str]:
        """The mapped fields this connection's service does not carry (`lacks_for`). The
        engine leaves them out of every comparison, so DayFlow's value is never a
        difference."""
        return self.lacks_for(self.field_mapping)

    @classmethod
    def lacks_for(cls, mapping: object) -> frozenset[str]:
        """The mapped fields a connection with these settings does not carry: `lacks_fields`,
        and those that depend on a setting not made (Notion's tags property). The settings
        page and the API offer no direction for them (`Connection.offered_fields`)."""
        return cls.lacks_fields

    def web_url(self, raw: Any, item_id: str = "") -> str:
        """The item's page at the service, as `web_url_field` or `web_url_template` declare it;
        "" unless it is a plain http(s) address (a payload never puts a javascript: link on
        our pages)."""
        value = raw.get(self.web_url_field) if self.web_url_field and isinstance(raw, dict) else ""
        if not value and self.web_url_template and item_id:
            value = self.web_url_template.format(id=quote(item_id, safe=""))
        return safe_web_url(value)

    @property
    def http(self) -> HttpClient:
        """The connection's HTTP client: the one given, or built on first use by the factory
        `integrations.clients.provider_for` passes (the token is read then, not before)."""
        own = getattr(self._thread, "http", None)
        if own is not None:
            return own
        if self._http is None:
            if self._client_factory is None:
                raise TypeError(
                    f"{type(self).__name__} has no HTTP client: build it with "
                    "integrations.clients.provider_for(connection)"
                )
            self._http = self._client_factory()
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

    def move(self, remote_id: str, collection: str, version: str = "") -> RemoteItem:
        """Put the item in another container of the same account (another project or
        calendar); the item as it is after, its id perhaps new. Only where `supports_move`."""
        raise NotImplementedError

    def ids_in_other_containers(self, remote_id: str, containers: set[str]) -> list[str]:
        """The ids this item had in the other containers, where the service gives a moved item
        a new id (a Google event's carries its calendar); [] where an id survives a move."""
        return []

    def write_batch(self, writes: list[Write]) -> list[WriteResult]:
        """Several writes, each with its own result in the same order: a failure of one
        (Permanent, PreconditionFailed, NotFound, RateLimited) is that write's result, not
        the batch's. Providers whose service batches (`write_batch_size` > 1) send them in
        fewer calls; this default writes them side by side where the provider declares
        `write_concurrency` > 1 (`providers.parallel`), else one by one."""
        if self.write_concurrency > 1 and len(writes) > 1:
            return write_concurrently(self, writes, self.write_concurrency)
        results: list[WriteResult] = []
        for one in writes:
            try:
                results.append(self.write_one(one))
            except (Permanent, RateLimited) as error:
                results.append(error)
        return results

    # --- write threads (`providers.parallel`) --------------------------------------------
    def prepare_threads(self) -> None:
        """On the engine's thread, before write threads start: build what they copy (the
        HTTP client, which reads the connection's token from the database)."""
        if self._http is not None or self._client_factory is not None:
            self.http  # noqa: B018 - built here, not on a write thread

    def write_resource(self, one: Write) -> str:
        """What a write changes at the service: writes to one resource are never side by side
        (`providers.parallel`) but one after the other, in order. By default the item."""
        return one.remote_id or one.dayflow_id

    def for_thread(self, relay: Any) -> None:
        """On a write thread: its own transport, whose database work goes through `relay`."""
        if self._http is not None:
            self._thread.http = self._http.for_thread(relay)

    def leave_thread(self) -> None:
        """On a write thread, at its end: close what `for_thread` opened."""
        own = getattr(self._thread, "http", None)
        if own is not None:
            own.session.close()
            self._thread.http = None

    def write_one(self, one: Write) -> RemoteItem | None:
        """One write of a batch through the single-write methods."""
        if one.op == "create":
            self._thread.looked_up = one.looked_up
            try:
                return self.create(one.fields, dayflow_id=one.dayflow_id, collection=one.collection)
            finally:
                self._thread.looked_up = False
        if one.op == "update":
            return self.update(one.remote_id, one.fields, one.version)
        self.delete(one.remote_id, one.version)
        return None

    def delete_instance(
        self, remote_id: str, series_remote_id: str, version: str = ""
    ) -> RemoteItem | None:
        """Delete one overridden instance of the series `series_remote_id`.

        Returns the series master as the service now holds it (deleting an instance changes
        the master's exception dates on most services), so the engine records that change as
        its own write instead of pulling it back as a change made elsewhere. None when the
        master is not changed by the deletion or cannot be read.
        """
        self.delete(remote_id, version)
        return None

    def restore(
        self, remote_id: str, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        """Bring back a deleted item (undo), under its old `remote_id` where the service can.

        By default a new item is created (a new remote id; DayFlow's id and the link's local
        item stay the same): what services without an undelete offer.
        """
        return self.create(fields, dayflow_id=dayflow_id, collection=collection)

    def list_containers(self) -> list[Container]:
        raise NotImplementedError

    def get(self, remote_id: str) -> RemoteItem:
        """One item as the service holds it now (webhook events are signals: re-fetch)."""
        raise NotImplementedError

    def to_item(self, raw: Any) -> RemoteItem:
        """The service's payload for one item, parsed at the edge into a RemoteItem.

        An unexpected shape raises UnexpectedPayload naming the service and the field.
        """
        raise NotImplementedError

    def existing(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        """What a create finds already made under DayFlow's id (`find_by_dayflow_id`), unless
        the caller looked already (`Write.looked_up`: the engine's creates): then the look-up,
        a call of quota per create, is skipped."""
        if not dayflow_id or self.creating_looked_up:
            return None
        return self.find_by_dayflow_id(dayflow_id, collection)

    @property
    def creating_looked_up(self) -> bool:
        """True inside the create of a write already looked for (`Write.looked_up`), on
        this thread."""
        return bool(getattr(self._thread, "looked_up", False))

    def find_by_dayflow_id(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        """The remote item carrying DayFlow's id, where the service lets us look it up.

        Lets a write retried after a crash find what it already created. None when the
        service (or the user's settings) gives no way to store or search our id.
        """
        return None

    # --- helpers for subclasses ---------------------------------------------------------
    def api(self, method: str, url: str, **kwargs: Any) -> Any:
        """A JSON call through the connection's client, with the service's pinned headers."""
        headers = {**self.default_headers, **(kwargs.pop("headers", None) or {})}
        return self.http.request_json(method, url, headers=headers, **kwargs)

    def collection_id(self, collection: str = "") -> str:
        """The container to work in: the one given, else the one the user picked."""
        picked = self.chosen_collections(self.field_mapping)
        chosen = collection or (picked[0] if picked else "")
        if not chosen:
            raise Permanent(f"no {self.collection_setting} chosen", service=self.key)
        return chosen

    def unexpected(self, field: str, detail: str = "") -> UnexpectedPayload:
        return UnexpectedPayload(self.key, field, detail)

    def cursor_state(self, cursor: str | None, start: dict[str, Any]) -> dict[str, Any]:
        """A JSON cursor we wrote, or `start` for none. One we cannot read is expired, so
        the engine falls back to a full listing instead of failing every sync."""
        if not cursor:
            return dict(start)
        try:
            state = json.loads(cursor)
        except ValueError:
            state = None
        if not isinstance(state, dict):
            raise CursorExpired("unreadable cursor", service=self.key)
        return state

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
        client = settings.DAYFLOW_OAUTH_CLIENTS.get(cls.key, {})
        return client.get("client_id", ""), client.get("client_secret", "")

    @classmethod
    def client_secret(cls) -> str:
        return cls.client_credentials()[1]

    @classmethod
    def app_webhook_secret(cls) -> str:
        """The secret signing deliveries to the service-wide webhook URL (no subscription in
        it): the OAuth client secret where the service signs with it, else none."""
        return cls.client_secret() if cls.webhook_signed_with_client_secret else ""

    @classmethod
    def is_configured(cls) -> bool:
        if cls.auth is not AuthStyle.OAUTH2:
            return True
        client_id, client_secret = cls.client_credentials()
        return bool(client_id and client_secret)


# --- parsing remote values at the edge ------------------------------------------------------
# --- a pull round over several calendars (Google syncTokens, Graph deltaLinks) -------------
# While a round is under way the cursor is the whole state: {"round": {"queue": calendars left,
# "page": where the first of them goes on, "full": bool, <saved>: what each finished calendar
# left}, <saved>: what the last round left, ...}. Once the queue is empty, the cursor keeps only
# <saved> (merged over the last round's unless this one was full) and `final` extras.
def new_round(calendars: list[str], saved: str, *, full: bool) -> dict[str, Any]:
    return {"queue": list(calendars), "page": "", "full": full, saved: {}}


def advance_round(
    state: dict[str, Any],
    page: Page,
    *,
    saved: str,
    next_page: str,
    finished: Any,
    final: dict[str, Any] | None = None,
) -> Page:
    """One page of the round's first calendar is read: go on with its `next_page`, or, if it
    has none, keep what it left (`finished()`, a callable so that it is read only then) and
    move to the next calendar. Sets the page's `has_more` and `next_cursor`."""
    current = state["round"]
    if next_page:
        current["page"] = next_page
    else:
        current[saved][current["queue"].pop(0)] = finished()
        current["page"] = ""
    page.has_more = bool(current["queue"])
    if page.has_more:
        page.next_cursor = json.dumps(state, sort_keys=True)
    else:
        merged = {**({} if current["full"] else state[saved]), **current[saved]}
        page.next_cursor = json.dumps({**(final or {}), saved: merged}, sort_keys=True)
    return page


# --- a pull over several containers, each behind its own cursor (ClickUp lists, Notion data
# sources) ---------------------------------------------------------------------------------------
# With one container the cursor is that container's own. With several it is {"each": {container:
# its cursor}}, and while a round goes on, also "round": {"queue": containers left, "at": where
# the first of them goes on (its own cursor of a page), "full": bool, "done": {container: cursor}}.
def pull_each(
    provider: Provider,
    cursor: str | None,
    containers: list[str],
    pull_one: Callable[[str | None, str], Page],
) -> Page:
    """One page of the round over `containers`, by `pull_one(its cursor, container)`.

    A round is full (deletions found by difference) only when every container is listed from
    nothing: the first pull, or one after the settings went from one container to several. A
    container added since the last round is listed whole, without making the round full. An
    expired cursor of one container expires the whole, so the engine lists everything again
    rather than losing that container's deletions."""
    if len(containers) == 1:
        return pull_one(_own_cursor(provider, cursor, containers[0]), containers[0])
    state = provider.cursor_state(cursor, {}) if cursor else {}
    if not isinstance(state.get("each"), dict):  # none, or one container's own: a full round
        state = {"each": {}, "round": _round(containers, full=True)}
    state.setdefault("round", _round(containers, full=False))
    current = state["round"]
    if not _well_formed(current):
        raise CursorExpired("unreadable round", service=provider.key)
    container = current["queue"][0]
    at = current.get("at")
    own = at if at is not None else (None if current["full"] else state["each"].get(container))
    page = pull_one(own, container)
    page.full = bool(current["full"])
    if page.has_more:
        current["at"] = page.next_cursor
    else:
        current["done"][container] = page.next_cursor
        current["queue"].pop(0)
        current["at"] = None
    page.has_more = bool(current["queue"])
    if page.has_more:
        page.next_cursor = json.dumps(state, sort_keys=True)
    else:
        page.next_cursor = json.dumps({"each": current["done"]}, sort_keys=True)
    return page


def _round(containers: list[str], *, full: bool) -> dict[str, Any]:
    return {"queue": list(containers), "at": None, "full": full, "done": {}}


def _well_formed(current: Any) -> bool:
    if not isinstance(current, dict) or not isinstance(current.get("done"), dict):
        return False
    queue = current.get("queue")
    at = current.get("at")
    return (
        isinstance(queue, list)
        and bool(queue)
        and all(isinstance(c, str) for c in queue)
        and (at is None or isinstance(at, str))
    )


def _own_cursor(provider: Provider, cursor: str | None, container: str) -> str | None:
    """The one container's own cursor: a several-container cursor gives its part, unless a
    round was under way (then the engine starts over)."""
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
    except ValueError:
        return cursor
    if isinstance(state, dict) and "each" in state:
        if "round" in state or not isinstance(state["each"], dict):
            raise CursorExpired("a round over other containers", service=provider.key)
        own = state["each"].get(container)
        return own if isinstance(own, str) else None
    return cursor


def field(service: str, payload: Any, name: str, kind: type | tuple[type, ...]) -> Any:
    """`payload[name]`, checked to be of `kind`; an UnexpectedPayload naming both otherwise."""
    if not isinstance(payload, dict):
        raise UnexpectedPayload(service, name, f"expected an object, got {type(payload).__name__}")
    if name not in payload:
        raise UnexpectedPayload(service, name, "missing")
    value = payload[name]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, (int, float))):
        raise UnexpectedPayload(service, name, f"expected {_kind_name(kind)}")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join("null" if k is type(None) else k.__name__ for k in kinds)


def parse_datetime(service: str, name: str, value: str) -> dt.datetime:
    """An ISO 8601 instant ("Z" or an offset) as an aware datetime."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError, AttributeError):
        raise UnexpectedPayload(service, name, f"not an ISO datetime: {value!r}") from None
    if parsed.tzinfo is None:
        raise UnexpectedPayload(service, name, f"no time zone: {value!r}")
    return parsed


def parse_date(service: str, name: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise UnexpectedPayload(service, name, f"not an ISO date: {value!r}") from None


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def from_millis(service: str, name: str, value: Any) -> dt.datetime:
    """Unix milliseconds (ClickUp sends them as strings) as an aware UTC datetime."""
    try:
        return EPOCH + dt.timedelta(milliseconds=int(value))
    except (TypeError, ValueError, OverflowError):
        raise UnexpectedPayload(service, name, f"not unix milliseconds: {value!r}") from None


def to_millis(value: dt.datetime) -> int:
    # In whole numbers: timestamp() * 1000 is a float, and 270777600.016 * 1000 truncates to
    # ...015, a millisecond lost on every round trip of such a time.
    return (value - EPOCH) // dt.timedelta(milliseconds=1)


def iso(value: dt.datetime) -> str:
    """An aware datetime in UTC, ISO 8601 with a "Z"."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


# DayFlow's id on a remote description, for services with no field of their own for it.
MARKER_PREFIX = "[dayflow:"
_MARKER = re.compile(r"\n*\[dayflow:([A-Za-z0-9_-]+)\]\s*$")


def add_marker(notes: str, dayflow_id: str) -> str:
    marker = f"{MARKER_PREFIX}{dayflow_id}]"
    return f"{notes}\n\n{marker}" if notes else marker


def split_marker(text: str) -> tuple[str, str]:
    """(notes without the marker, DayFlow's id or "")."""
    match = _MARKER.search(text or "")
    if not match:
        return text or "", ""
    return text[: match.start()], match.group(1)
