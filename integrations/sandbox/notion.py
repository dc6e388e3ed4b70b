"""Notion (API version 2025-09-03): OAuth with Basic client auth and JSON bodies, search, data
sources and their query (the last_edited_time watermark, the trash), pages, and webhooks
signed with the verification token. https://developers.notion.com/reference/intro"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from integrations.sandbox import oauth, outbox, store
from integrations.sandbox.gate import api_view
from integrations.sandbox.models import Account, Client, Grant, Item

KEY = "notion"
# Notion: up to 8 attempts within about a day (the schedule itself is not published).
WEBHOOK_RETRIES = outbox.Retries(waits=(60, 300, 900, 3600, 7200, 21600, 43200))
# The verification token: a person can have Notion send it again from the settings; the sandbox
# does so by itself, soon, since it is stored while the app is still starting (sandbox_clients).
VERIFICATION_RETRIES = outbox.Retries(waits=(5, 15, 30, 60, 300))
PAGE, SOURCE = "page", "data_source"
API_VERSION = "2025-09-03"
PAGE_DEFAULT, PAGE_MAX = 100, 100
RETRY_AFTER = "1"  # seconds: Notion's 429 carries Retry-After


# --- errors, in Notion's error object --------------------------------------------------------
def error(status: int, code: str, message: str) -> JsonResponse:
    body = {
        "object": "error",
        "status": status,
        "code": code,
        "message": message,
        "request_id": str(uuid.uuid4()),
    }
    return JsonResponse(body, status=status)


def unauthorized() -> HttpResponse:
    return error(401, "unauthorized", "API token is invalid.")


def rate_limited() -> HttpResponse:
    response = error(
        429, "rate_limited", "You have been rate limited. Please try again in a few minutes."
    )
    response["Retry-After"] = RETRY_AFTER
    return response


def not_found(kind: str, object_id: str) -> HttpResponse:
    message = (
        f"Could not find {kind} with ID: {object_id}. "
        "Make sure the relevant pages and databases are shared with your integration."
    )
    return error(404, "object_not_found", message)


def notion_api(view: Any) -> Any:
    """Bearer token, rate limit, then the Notion-Version header every call must carry."""

    @store.endpoint(KEY, unauthorized, rate_limited)
    def versioned(
        request: HttpRequest, account: Account, *args: Any, **kwargs: Any
    ) -> HttpResponse:
        if not request.headers.get("Notion-Version"):
            return error(
                400,
                "missing_version",
                "Notion-Version header failed validation: Notion-Version header should be defined.",
            )
        return view(request, account, *args, **kwargs)

    versioned.__name__ = view.__name__
    return versioned


# --- seed -----------------------------------------------------------------------------------
STATUS_OPTIONS = (
    ("Not started", "default", "To-do"),
    ("In progress", "blue", "In progress"),
    ("Done", "green", "Complete"),
)
PRIORITIES = (("Urgent", "red"), ("High", "orange"), ("Medium", "yellow"), ("Low", "gray"))
TAGS = (("Work", "blue"), ("Home", "green"), ("Errand", "purple"))
# (title, status, due in days or None, "HH:MM" or "", priority or "", notes)
TASKS: tuple[tuple[str, str, int | None, str, str, str], ...] = (
    ("Plan the product launch", "In progress", 7, "", "Urgent", "Timeline in the launch doc"),
    ("Write the release notes", "Not started", 5, "", "High", ""),
    (
        "Interview the design candidate",
        "Not started",
        2,
        "14:00",
        "High",
        "Portfolio link in the email",
    ),
    ("Update the roadmap", "Done", -3, "", "Medium", ""),
    ("Book the team dinner", "Not started", 4, "", "Low", "Somewhere vegetarian-friendly"),
    ("Review the Q3 budget", "In progress", 1, "11:00", "Urgent", ""),
    ("Refresh the onboarding wiki", "Not started", None, "", "Low", ""),
    ("Customer call: Globex", "Not started", 0, "16:30", "High", "Renewal, pricing questions"),
    ("Send the survey results", "Done", -1, "", "Medium", ""),
    ("Clean up the shared drive", "Not started", None, "", "", ""),
    ("Prepare the board deck", "Not started", 9, "", "Urgent", ""),
    ("Renew the domain", "Done", -7, "", "Medium", ""),
    ("Fix the pricing page typo", "Done", -2, "", "Low", ""),
    (
        "Draft the blog post on sync",
        "In progress",
        3,
        "",
        "Medium",
        "Outline: conflicts, webhooks, retries",
    ),
    ("Order new laptops", "Not started", 6, "", "Medium", ""),
    ("Security review follow-ups", "Not started", 10, "", "High", ""),
    ("Archive Q1 projects", "Done", -10, "", "", ""),
    ("Quarterly OKR check-in", "Not started", 8, "10:00", "High", ""),
)
HOME_TASKS = (
    ("Water the plants", "Not started"),
    ("Book the car service", "In progress"),
    ("Pay the electricity bill", "Done"),
)
READING = (
    "Thinking, Fast and Slow",
    "The Pragmatic Programmer",
    "Designing Data-Intensive Applications",
    "Shape Up",
    "The Mom Test",
    "Deep Work",
)


def seed(account: Account, clock: dt.datetime) -> None:
    """Three data sources shared with the integration: a task board (status, due, priority,
    notes), a second board of the same shape for home (several data sources synced by one
    connection) and a reading list (a checkbox), their pages edited over the past weeks."""
    tasks = _new_source(account, "Tasks", _task_schema(), clock)
    home = _new_source(account, "Home tasks", _task_schema(), clock)
    for n, (title, status) in enumerate(HOME_TASKS):
        properties = {"Name": {"title": _text(title)}, "Status": {"status": {"name": status}}}
        _new_page(account, home, properties, clock - dt.timedelta(days=20 - n), f"home:{n}")
    reading = _new_source(
        account,
        "Reading list",
        {
            "Name": {"id": "title", "type": "title", "title": {}},
            "Read": {"id": "r%3Ad", "type": "checkbox", "checkbox": {}},
        },
        clock,
    )
    for n, (title, status, days, at, priority, notes) in enumerate(TASKS):
        edited = clock - dt.timedelta(days=len(TASKS) - n, minutes=7 * n)
        properties = {
            "Name": {"title": _text(title)},
            "Status": {"status": {"name": status}},
            "Notes": {"rich_text": _text(notes)},
        }
        if days is not None:
            properties["Due"] = {"date": {"start": _due(clock, days, at)}}
        if priority:
            properties["Priority"] = {"select": {"name": priority}}
        if status == "Done":
            properties["Completed"] = {
                "date": {"start": (clock + dt.timedelta(days=days or 0)).date().isoformat()}
            }
        _new_page(account, tasks, properties, edited, f"task:{n}")
    for n, title in enumerate(READING):
        properties = {"Name": {"title": _text(title)}, "Read": {"checkbox": n % 3 == 0}}
        _new_page(account, reading, properties, clock - dt.timedelta(days=40 - n), f"book:{n}")


def _due(clock: dt.datetime, days: int, at: str) -> str:
    day = (clock + dt.timedelta(days=days)).date()
    return f"{day.isoformat()}T{at}:00.000+01:00" if at else day.isoformat()


def _task_schema() -> dict[str, Any]:
    options = [
        {"id": _short(name), "name": name, "color": color, "description": None}
        for name, color, _ in STATUS_OPTIONS
    ]
    groups = [
        {"id": _short(group), "name": group, "color": color, "option_ids": [_short(name)]}
        for name, color, group in STATUS_OPTIONS
    ]
    return {
        "Name": {"id": "title", "type": "title", "title": {}},
        "Status": {
            "id": "s%3At",
            "type": "status",
            "status": {"options": options, "groups": groups},
        },
        "Due": {"id": "d%3Au", "type": "date", "date": {}},
        "Notes": {"id": "n%3Ao", "type": "rich_text", "rich_text": {}},
        "Priority": {
            "id": "p%3Ar",
            "type": "select",
            "select": {
                "options": [
                    {"id": _short(n), "name": n, "color": c, "description": None}
                    for n, c in PRIORITIES
                ]
            },
        },
        "Completed": {"id": "c%3Ao", "type": "date", "date": {}},
        "Tags": {
            "id": "t%3Ag",
            "type": "multi_select",
            "multi_select": {
                "options": [
                    {"id": _short(n), "name": n, "color": c, "description": None} for n, c in TAGS
                ]
            },
        },
        "DayFlow ID": {"id": "i%3Ad", "type": "rich_text", "rich_text": {}},
    }


def _short(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def _uuid(text: str) -> str:
    return str(uuid.UUID(hashlib.sha256(text.encode()).hexdigest()[:32]))


def _new_source(account: Account, name: str, schema: dict[str, Any], clock: dt.datetime) -> Item:
    source_id, database_id = (
        _uuid(f"{account.login}:source:{name}"),
        _uuid(f"{account.login}:database:{name}"),
    )
    for prop_name, prop in schema.items():
        prop.update(name=prop_name, description=None)
    stamp = _minute(clock - dt.timedelta(days=60))
    source = {
        "object": "data_source",
        "id": source_id,
        "cover": None,
        "icon": None,
        "created_time": stamp,
        "created_by": _user_ref(account),
        "last_edited_by": _user_ref(account),
        "last_edited_time": stamp,
        "title": _rich(name),
        "description": [],
        "is_inline": False,
        "properties": schema,
        "parent": {"type": "database_id", "database_id": database_id},
        "database_parent": {"type": "workspace", "workspace": True},
        "url": f"https://app.notion.com/p/{database_id.replace('-', '')}",
        "public_url": None,
        "in_trash": False,
        "archived": False,
    }
    return store.put(account, SOURCE, source_id, source)


def _new_page(
    account: Account,
    source: Item,
    properties: dict[str, Any],
    edited: dt.datetime,
    seed_name: str = "",
) -> Item:
    page_id = _uuid(f"{account.login}:page:{seed_name}") if seed_name else str(uuid.uuid4())
    stamp = _minute(edited)
    page = {
        "object": "page",
        "id": page_id,
        "created_time": stamp,
        "last_edited_time": stamp,
        "created_by": _user_ref(account),
        "last_edited_by": _user_ref(account),
        "cover": None,
        "icon": None,
        "parent": {
            "type": "data_source_id",
            "data_source_id": source.remote_id,
            "database_id": source.data["parent"]["database_id"],
        },
        "in_trash": False,
        "is_archived": False,
        "is_locked": False,
        "properties": _values(source, properties),
        "url": f"https://app.notion.com/p/{page_id.replace('-', '')}",
        "public_url": None,
        "archived": False,
    }
    return store.put(account, PAGE, page_id, page, source.remote_id)


def _user_ref(account: Account) -> dict[str, str]:
    return {"object": "user", "id": _uuid(f"{account.login}:user")}


def _minute(moment: dt.datetime) -> str:
    """Notion rounds last_edited_time (and created_time) down to the minute."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:00.000Z")


def _text(content: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": {"content": content}}] if content else []


def _rich(content: str) -> list[dict[str, Any]]:
    """A rich text array as Notion returns it (annotations and plain_text filled in)."""
    return _rich_runs(_text(content))


def _rich_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    annotations = {
        "bold": False,
        "italic": False,
        "strikethrough": False,
        "underline": False,
        "code": False,
        "color": "default",
    }
    out = []
    for run in runs:
        content = str((run.get("text") or {}).get("content", ""))
        out.append(
            {
                "type": "text",
                "text": {"content": content, "link": None},
                "annotations": annotations,
                "plain_text": content,
                "href": None,
            }
        )
    return out


# --- property values ------------------------------------------------------------------------
class Invalid(ValueError):
    pass


def _values(source: Item, written: dict[str, Any]) -> dict[str, Any]:
    """Written property values as pages return them, checked against the schema; every
    property of the data source is present."""
    schema = source.data["properties"]
    unknown = set(written) - set(schema)
    if unknown:
        raise Invalid(f"{sorted(unknown)[0]} is not a property that exists.")
    values = {}
    options = _option_count(schema)
    for name, prop in schema.items():
        kind = prop["type"]
        given = written.get(name, {})
        values[name] = {
            "id": prop["id"],
            "type": kind,
            kind: _value(prop, given.get(kind, _empty(kind))),
        }
    if _option_count(schema) != options:
        source.save(update_fields=["data"])  # a multi-select option named for the first time
    return values


def _option_count(schema: dict[str, Any]) -> int:
    return sum(
        len(prop["multi_select"]["options"])
        for prop in schema.values()
        if prop["type"] == "multi_select"
    )


def _empty(kind: str) -> Any:
    return {"title": [], "rich_text": [], "checkbox": False, "multi_select": []}.get(kind)


def _options(prop: dict[str, Any], given: Any) -> list[dict[str, Any]]:
    """A multi-select's value: each option by id or name; a name the property does not have
    yet is added to it, as Notion does when the integration can edit the data source
    (https://developers.notion.com/reference/page-property-values#multi-select). Names hold no
    comma and at most 100 characters."""
    if not isinstance(given, list):
        raise Invalid("multi_select should be an array.")
    options = prop["multi_select"]["options"]
    chosen = []
    for one in given:
        wanted = one if isinstance(one, dict) else {}
        name, option_id = wanted.get("name"), wanted.get("id")
        option = next((o for o in options if option_id == o["id"] or name == o["name"]), None)
        if option is None:
            if not isinstance(name, str) or not name or "," in name or len(name) > 100:
                raise Invalid(f"Invalid multi_select value: {str(name)[:100]!r}.")
            option = {"id": _short(name), "name": name, "color": "default", "description": None}
            options.append(option)
        if option["id"] not in {c["id"] for c in chosen}:
            chosen.append({"id": option["id"], "name": option["name"], "color": option["color"]})
    return chosen


def _value(prop: dict[str, Any], given: Any) -> Any:
    kind = prop["type"]
    if kind in ("title", "rich_text"):
        return _rich_runs(given or [])
    if kind in ("status", "select"):
        if not given:
            return None
        option = next((o for o in prop[kind]["options"] if o["name"] == given.get("name")), None)
        if option is None:
            raise Invalid(f'Invalid {kind} option "{given.get("name")}".')
        return {"id": option["id"], "name": option["name"], "color": option["color"]}
    if kind == "date":
        return _date_value(given)
    if kind == "multi_select":
        return _options(prop, given)
    return given


def _date_value(given: Any) -> dict[str, Any] | None:
    """A date with a time_zone is written as a wall time; it reads back as an offset and
    time_zone null. https://developers.notion.com/changelog/time-zone-support"""
    if not given:
        return None
    start, zone = given.get("start"), given.get("time_zone")
    if zone and "T" in start:
        wall = dt.datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(zone))
        start = wall.isoformat(timespec="milliseconds")
    return {"start": start, "end": given.get("end"), "time_zone": None}


# --- OAuth ----------------------------------------------------------------------------------
def _token_extras(grant: Grant) -> dict[str, Any]:
    """Notion's token response names the bot, the workspace and its owner."""
    account = grant.account
    person = {
        "object": "user",
        "id": _user_ref(account)["id"],
        "name": account.name,
        "avatar_url": None,
        "type": "person",
        "person": {"email": account.login},
    }
    return {
        "token_type": "bearer",
        "bot_id": _uuid(f"{account.login}:bot:{grant.client.client_id}"),
        "workspace_id": workspace_id(account),
        "workspace_name": f"{account.name}'s Notion",
        "workspace_icon": None,
        "owner": {"type": "user", "user": person},
        "duplicated_template_id": None,
        "request_id": str(uuid.uuid4()),
    }


def workspace_id(account: Account) -> str:
    return _uuid(f"{account.login}:workspace")


# Refresh tokens exist (the SDK's refresh_token grant); whether they rotate is not documented:
# the emulator rotates, the stricter reading. Access tokens do not expire.
# https://developers.notion.com/reference/create-a-token
OAUTH = oauth.OAuthService(key=KEY, name="Notion", seed=seed, rotates=True, describe=_token_extras)


# --- search and data sources ----------------------------------------------------------------
def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise Invalid("Error parsing JSON body.") from None
    if not isinstance(body, dict):
        raise Invalid("body should be an object.")
    return body


def _list(
    request: HttpRequest, results: list[dict[str, Any]], body: dict[str, Any]
) -> HttpResponse:
    """Notion's cursor pages: `start_cursor` is the id of the first result of the page."""
    size = body.get("page_size", PAGE_DEFAULT)
    problem = _page_size_problem(size)
    if problem:
        return error(400, "validation_error", f"body failed validation: body.page_size {problem}")
    ids = [r["id"] for r in results]
    start = ids.index(body["start_cursor"]) if body.get("start_cursor") in ids else 0
    page = results[start : start + size]
    more = start + size < len(results)
    return JsonResponse(
        {
            "object": "list",
            "results": page,
            "next_cursor": results[start + size]["id"] if more else None,
            "has_more": more,
            "type": "page_or_data_source",
            "page_or_data_source": {},
            "request_id": str(uuid.uuid4()),
        }
    )


def _page_size_problem(size: Any) -> str:
    """Why a page_size is refused, or "". The documented "Maximum: 100" is enforced as a
    validation_error, the way Notion refuses other lengths past their maximum, not served
    smaller. https://developers.notion.com/reference/post-search"""
    if not isinstance(size, int) or isinstance(size, bool):
        return "should be a number."
    if size > PAGE_MAX:
        return f"should be ≤ `{PAGE_MAX}`, instead was `{size}`."
    return "" if size >= 1 else f"should be ≥ `1`, instead was `{size}`."


def _invalid(exc: Invalid) -> HttpResponse:
    return error(400, "validation_error", str(exc))


@api_view
@require_http_methods(["POST"])
@notion_api
def search(request: HttpRequest, account: Account) -> HttpResponse:
    try:
        body = _body(request)
    except Invalid as exc:
        return _invalid(exc)
    wanted = (body.get("filter") or {}).get("value")
    kinds = [wanted] if wanted in (PAGE, SOURCE) else [PAGE, SOURCE]
    found = [
        i.data
        for i in Item.objects.filter(account=account, kind__in=kinds, deleted=False).order_by(
            "-seq"
        )
    ]
    query = str(body.get("query", "")).lower()
    found = [r for r in found if query in _title_of(r).lower()]
    return _list(request, found, body)


def _title_of(raw: dict[str, Any]) -> str:
    if raw["object"] == SOURCE:
        return "".join(r["plain_text"] for r in raw["title"])
    title = next((p for p in raw["properties"].values() if p["type"] == "title"), {"title": []})
    return "".join(r["plain_text"] for r in title["title"])


@api_view
@require_http_methods(["GET"])
@notion_api
def data_source(request: HttpRequest, account: Account, source_id: str) -> HttpResponse:
    source = store.find(account, SOURCE, source_id)
    if source is None:
        return not_found("data_source", source_id)
    return JsonResponse({**source.data, "request_id": str(uuid.uuid4())})


@api_view
@require_http_methods(["POST"])
@notion_api
def query(request: HttpRequest, account: Account, source_id: str) -> HttpResponse:
    """Pages of a data source: `in_trash: true` gives only trashed ones; the filter is a
    last_edited_time timestamp filter or a rich_text `equals`; sorts by last_edited_time."""
    source = store.find(account, SOURCE, source_id)
    if source is None:
        return not_found("data_source", source_id)
    try:
        body = _body(request)
        pages = [
            p.data
            for p in Item.objects.filter(account=account, kind=PAGE, container=source_id).order_by(
                "pk"
            )
        ]
        pages = [
            p
            for p in pages
            if p["in_trash"] == bool(body.get("in_trash")) and _matches(p, body.get("filter"))
        ]
    except Invalid as exc:
        return _invalid(exc)
    for sort in reversed(body.get("sorts") or []):
        pages.sort(
            key=lambda p, s=sort: p[s.get("timestamp", "last_edited_time")],
            reverse=sort.get("direction") == "descending",
        )
    return _list(request, pages, body)


def _matches(page: dict[str, Any], condition: Any) -> bool:
    if not condition:
        return True
    if condition.get("timestamp") in ("last_edited_time", "created_time"):
        stamp, test = page[condition["timestamp"]], condition[condition["timestamp"]]
        bounds = {
            "on_or_after": lambda v: stamp >= v,
            "after": lambda v: stamp > v,
            "before": lambda v: stamp < v,
            "on_or_before": lambda v: stamp <= v,
        }
        return all(bounds[name](_as_stamp(value)) for name, value in test.items() if name in bounds)
    prop = page["properties"].get(condition.get("property", ""))
    if prop is None:
        raise Invalid(f"Could not find property with name or id: {condition.get('property')}")
    if "rich_text" in condition:
        text = "".join(r["plain_text"] for r in prop.get(prop["type"]) or [])
        return text == condition["rich_text"].get("equals", text)
    raise Invalid("This filter is not supported by the sandbox.")


def _as_stamp(value: str) -> str:
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# --- pages ----------------------------------------------------------------------------------
@api_view
@require_http_methods(["POST"])
@notion_api
def create_page(request: HttpRequest, account: Account) -> HttpResponse:
    try:
        body = _body(request)
        parent = body.get("parent") or {}
        source = store.find(account, SOURCE, str(parent.get("data_source_id", "")))
        if source is None:
            return not_found("data_source", str(parent.get("data_source_id", "")))
        page = create_page_in(account, source, body.get("properties") or {})
    except Invalid as exc:
        return _invalid(exc)
    return JsonResponse({**page.data, "request_id": str(uuid.uuid4())})


@api_view
@require_http_methods(["GET", "PATCH"])
@notion_api
def page(request: HttpRequest, account: Account, page_id: str) -> HttpResponse:
    found = store.find(account, PAGE, page_id, deleted=True)
    if found is None:
        return not_found("page", page_id)
    if request.method == "PATCH":
        try:
            patch_page(found, _body(request))
        except Invalid as exc:
            return _invalid(exc)
    return JsonResponse({**found.data, "request_id": str(uuid.uuid4())})


@api_view
@require_http_methods(["POST"])
@notion_api
def move_page(request: HttpRequest, account: Account, page_id: str) -> HttpResponse:
    """Move page into another data source: the same page (same id), its values kept where
    the new data source has a property of that name and type, the rest empty.
    https://developers.notion.com/reference/move-page"""
    found = store.find(account, PAGE, page_id)
    if found is None:
        return not_found("page", page_id)
    try:
        parent = _body(request).get("parent")
        if not isinstance(parent, dict) or parent.get("type") not in ("data_source_id", "page_id"):
            raise Invalid("body.parent should be a page_id or data_source_id parent.")
        target = str(parent.get(parent["type"]) or "")
        # The sandbox shares data sources only: a page parent is one it cannot find.
        source = store.find(account, SOURCE, target) if parent["type"] == "data_source_id" else None
        if source is None:
            return not_found("page" if parent["type"] == "page_id" else "data_source", target)
        move_page_to(found, source)
    except Invalid as exc:
        return _invalid(exc)
    return JsonResponse({**found.data, "request_id": str(uuid.uuid4())})


def move_page_to(found: Item, source: Item) -> None:
    """Put a page in another data source, and its page.moved webhook."""
    schema = source.data["properties"]
    kept = {
        name: {value["type"]: value[value["type"]]}
        for name, value in found.data["properties"].items()
        if name in schema and schema[name]["type"] == value["type"]
    }
    found.data["properties"] = _values(source, kept)
    found.data["parent"] = {
        "type": "data_source_id",
        "data_source_id": source.remote_id,
        "database_id": source.data["parent"]["database_id"],
    }
    found.data["last_edited_time"] = _minute(store.now())
    found.container = source.remote_id
    store.save(found)
    _notify(found.account, "page.moved", found)


def create_page_in(account: Account, source: Item, properties: dict[str, Any]) -> Item:
    """A new page in a data source, and its page.created webhook (Invalid if a value is)."""
    page = _new_page(account, source, properties, store.now())
    _notify(account, "page.created", page)
    return page


def patch_page(found: Item, body: dict[str, Any]) -> None:
    """A page PATCH (properties, in_trash) and the webhook its change makes, if any."""
    event = _patch(found, body)
    if event:
        _notify(found.account, event, found)


def _patch(found: Item, body: dict[str, Any]) -> str:
    """Properties and `in_trash`; the webhook event the change makes ("" for none)."""
    source = store.find(found.account, SOURCE, found.container)
    data, event = found.data, ""
    if "properties" in body:
        current = {name: {v["type"]: v[v["type"]]} for name, v in data["properties"].items()}
        data["properties"] = _values(source, {**current, **body["properties"]})
        event = "page.properties_updated"
    if "in_trash" in body and bool(body["in_trash"]) != data["in_trash"]:
        data["in_trash"] = data["archived"] = bool(body["in_trash"])
        event = "page.deleted" if data["in_trash"] else "page.undeleted"
    elif data["in_trash"] and event:
        raise Invalid(
            "Can't edit block that is archived. You must unarchive the block before editing."
        )
    if event:
        data["last_edited_time"] = _minute(store.now())
        found.deleted = data["in_trash"]
        store.save(found)
    return event


# --- identity -------------------------------------------------------------------------------
@api_view
@require_http_methods(["GET"])
@notion_api
def users_me(request: HttpRequest, account: Account) -> HttpResponse:
    bot = {
        "owner": {"type": "user", "user": {"object": "user", "id": _user_ref(account)["id"]}},
        "workspace_name": f"{account.name}'s Notion",
        "workspace_id": workspace_id(account),
        "workspace_limits": {"max_file_upload_size_in_bytes": 5242880},
    }
    return JsonResponse(
        {
            "object": "user",
            "id": _uuid(f"{account.login}:bot"),
            "name": "DayFlow",
            "avatar_url": None,
            "type": "bot",
            "bot": bot,
            "request_id": str(uuid.uuid4()),
        }
    )


# --- webhooks -------------------------------------------------------------------------------
def send_verification(client: Client, *, send: bool = True) -> str:
    """What Notion does when a webhook URL is added in the integration's settings: post a
    verification token to it. Once pasted back, that token signs every event.
    https://developers.notion.com/reference/webhooks#step-2-verify-the-subscription"""
    client.webhook_secret = f"secret_{secrets.token_urlsafe(32)}"
    client.save(update_fields=["webhook_secret"])
    body = json.dumps({"verification_token": client.webhook_secret}).encode()
    outbox.enqueue(
        KEY, client.webhook_url, body, _signed(client, body), VERIFICATION_RETRIES, send=send
    )
    return client.webhook_secret


def _signed(client: Client, body: bytes) -> dict[str, str]:
    digest = hmac.new(client.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Notion-Signature": f"sha256={digest}"}


def _notify(account: Account, event_type: str, page: Item) -> None:
    """An event per app the workspace granted: a signal only, the page is read back."""
    for client in _subscribed(account):
        envelope = {
            "id": str(uuid.uuid4()),
            "timestamp": store.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "workspace_id": workspace_id(account),
            "workspace_name": f"{account.name}'s Notion",
            "subscription_id": _uuid(f"{client.client_id}:subscription"),
            "integration_id": _uuid(f"{client.client_id}:integration"),
            "type": event_type,
            "authors": [{"id": _user_ref(account)["id"], "type": "person"}],
            "accessible_by": [
                {"id": _uuid(f"{account.login}:bot:{client.client_id}"), "type": "bot"}
            ],
            "attempt_number": 1,
            "api_version": API_VERSION,
            "entity": {"id": page.remote_id, "type": "page"},
            "data": {
                "parent": {
                    "id": page.data["parent"]["database_id"],
                    "type": "database",
                    "data_source_id": page.container,
                },
                **(
                    {"updated_properties": [v["id"] for v in page.data["properties"].values()]}
                    if event_type == "page.properties_updated"
                    else {}
                ),
            },
        }
        body = json.dumps(envelope).encode()
        outbox.enqueue(KEY, client.webhook_url, body, _signed(client, body), WEBHOOK_RETRIES)


def _subscribed(account: Account) -> list[Client]:
    grants = Grant.objects.filter(account=account, revoked_at=None).values("client")
    return list(
        Client.objects.filter(pk__in=grants).exclude(webhook_url="").exclude(webhook_secret="")
    )


# --- routes ---------------------------------------------------------------------------------
urlpatterns = [
    *oauth.routes(
        OAUTH,
        "notion",
        authorize_at="v1/oauth/authorize",
        token_at="v1/oauth/token",
        revoke_at="v1/oauth/revoke",
    ),
    path("v1/users/me", users_me, name="notion-users-me"),
    path("v1/search", search, name="notion-search"),
    path("v1/data_sources/<str:source_id>", data_source, name="notion-data-source"),
    path("v1/data_sources/<str:source_id>/query", query, name="notion-query"),
    path("v1/pages", create_page, name="notion-pages"),
    path("v1/pages/<str:page_id>", page, name="notion-page"),
    path("v1/pages/<str:page_id>/move", move_page, name="notion-move-page"),
]
