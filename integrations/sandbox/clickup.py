"""ClickUp (API v2): OAuth without scopes, PKCE, expiry or refresh; workspaces ("teams"),
spaces, folders and lists; tasks paged by 100 with date_updated_gt; the bare-token
Authorization header; 429 with X-RateLimit-*; team webhooks signed with X-Signature.
https://developer.clickup.com/docs"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from integrations.sandbox import oauth, outbox, store
from integrations.sandbox.gate import api_view
from integrations.sandbox.models import Account, Item

KEY = "clickup"
# ClickUp: a non-2xx answer or one slower than 7 s fails; each event is retried up to 5
# times (the waits are not published), then dropped.
WEBHOOK_RETRIES = outbox.Retries(waits=(60, 300, 900, 3600, 14400), timeout=7.0)
TEAM, SPACE, FOLDER, LIST, TASK, WEBHOOK = "team", "space", "folder", "list", "task", "webhook"
PAGE_SIZE = 100  # "Responses are limited to 100 tasks per page"
RATE_LIMIT = 100  # requests per minute per token on the Free Forever, Unlimited and Business plans
PRIORITIES = {
    1: ("urgent", "#f50000"),
    2: ("high", "#ffcc00"),
    3: ("normal", "#6fddff"),
    4: ("low", "#d8d8d8"),
}
STATUSES = (
    ("to do", "open", "#d3d3d3"),
    ("in progress", "custom", "#4194f6"),
    ("complete", "closed", "#6bc950"),
)


# --- errors, in ClickUp's {err, ECODE} -------------------------------------------------------
def error(status: int, message: str, code: str) -> JsonResponse:
    return JsonResponse({"err": message, "ECODE": code}, status=status)


def unauthorized() -> HttpResponse:
    return error(401, "Oauth token not found", "OAUTH_019")


def rate_limited() -> HttpResponse:
    """X-RateLimit-Reset is a unix time in seconds. https://developer.clickup.com/docs/rate-limits"""
    response = error(429, "Rate limit reached", "APP_002")
    response["X-RateLimit-Limit"] = str(RATE_LIMIT)
    response["X-RateLimit-Remaining"] = "0"
    response["X-RateLimit-Reset"] = str(int(time.time()) + 1)
    return response


def not_found(what: str) -> HttpResponse:
    return error(404, f"{what} not found", "ITEM_015")


clickup_api = store.endpoint(KEY, unauthorized, rate_limited, raw=True)


# --- seed -----------------------------------------------------------------------------------
LISTS = (("Website relaunch", "Projects"), ("Marketing", "Projects"), ("Personal", ""))
# (list, name, status, due in days or None, "HH:MM" or "", priority or None, description)
TASKS: tuple[tuple[str, str, str, int | None, str, int | None, str], ...] = (
    (
        "Website relaunch",
        "Write the homepage copy",
        "in progress",
        3,
        "",
        2,
        "Tone: friendly, short",
    ),
    ("Website relaunch", "Pick the hero photo", "to do", 5, "", 3, ""),
    ("Website relaunch", "Set up redirects", "to do", 9, "", 2, ""),
    ("Website relaunch", "Accessibility audit", "to do", 12, "", 1, ""),
    ("Website relaunch", "Launch meeting", "to do", 2, "15:00", 2, ""),
    ("Website relaunch", "Choose the CMS", "complete", -6, "", 3, ""),
    ("Website relaunch", "Sitemap draft", "complete", -3, "", None, ""),
    ("Website relaunch", "Cookie banner", "in progress", 4, "", 4, ""),
    ("Website relaunch", "Performance budget", "to do", None, "", None, ""),
    ("Marketing", "Newsletter for December", "to do", 6, "09:00", 2, ""),
    ("Marketing", "Prepare quarterly report", "in progress", 1, "17:00", 2, "Numbers from finance"),
    ("Marketing", "Social posts for the launch", "to do", 8, "", 3, ""),
    ("Marketing", "Webinar slides", "complete", -2, "", 2, ""),
    ("Marketing", "Press kit", "to do", 14, "", 4, ""),
    ("Marketing", "Customer story: Initech", "in progress", 7, "", 3, ""),
    ("Marketing", "Update the pricing table", "complete", -8, "", 1, ""),
    ("Personal", "Dentist appointment", "to do", 2, "08:30", 2, ""),
    ("Personal", "Renew the gym membership", "to do", 10, "", 4, ""),
    ("Personal", "Plan the weekend trip", "in progress", 5, "", 3, ""),
    ("Personal", "Return the parcel", "complete", -1, "", None, ""),
    ("Personal", "Call the bank", "to do", 0, "11:00", 1, ""),
    ("Personal", "Read the lease", "to do", None, "", None, ""),
)


def seed(account: Account, clock: dt.datetime) -> None:
    """One workspace, one space, a folder with two lists, a folderless list, 22 tasks."""
    number = int(account.external_id)
    team = store.put(
        account, TEAM, str(9_000_000 + number % 1_000_000), {"name": f"{account.name}'s Workspace"}
    )
    space = store.put(
        account, SPACE, str(90_000_000 + number % 1_000_000), {"name": "Team Space"}, team.remote_id
    )
    folder = store.put(
        account,
        FOLDER,
        str(900_000_000 + number % 1_000_000),
        {"name": "Projects"},
        space.remote_id,
    )
    lists = {}
    for n, (name, in_folder) in enumerate(LISTS):
        list_id = str(9_000_000_000 + number % 1_000_000 * 10 + n)
        data = _list(list_id, name, n, space, folder if in_folder else None, account)
        lists[name] = store.put(
            account, LIST, list_id, data, folder.remote_id if in_folder else space.remote_id
        )
    for n, (list_name, name, status, days, at, priority, description) in enumerate(TASKS):
        moment = clock - dt.timedelta(days=30 - n, hours=n)
        body = {"name": name, "status": status, "description": description, "priority": priority}
        if days is not None:
            due = dt.datetime.combine(
                (clock + dt.timedelta(days=days)).date(),
                dt.time.fromisoformat(at or "12:00"),
                dt.UTC,
            )
            body |= {"due_date": _ms(due), "due_date_time": bool(at)}
        _create(
            account,
            lists[list_name],
            body,
            moment,
            store.stable_id(f"{account.login}:task:{n}", 9).lower(),
        )


def _list(
    list_id: str, name: str, order: int, space: Item, folder: Item | None, account: Account
) -> dict[str, Any]:
    folder_ref = (
        {"id": folder.remote_id, "name": folder.data["name"], "hidden": False, "access": True}
        if folder
        else {"id": "", "name": "hidden", "hidden": True, "access": True}
    )
    statuses = [
        {"id": f"p{list_id}_{n}", "status": s, "orderindex": n, "color": c, "type": t}
        for n, (s, t, c) in enumerate(STATUSES)
    ]
    return {
        "id": list_id,
        "name": name,
        "orderindex": order,
        "content": "",
        "status": None,
        "priority": None,
        "assignee": None,
        "task_count": 0,
        "due_date": None,
        "start_date": None,
        "folder": folder_ref,
        "space": {"id": space.remote_id, "name": space.data["name"], "access": True},
        "inbound_address": f"a.{list_id}.u-{account.external_id}@tasks.clickup.com",
        "archived": False,
        "override_statuses": True,
        "statuses": statuses,
        "permission_level": "create",
        "custom_fields": [
            {
                "id": _uuid(f"{list_id}:dayflow-id"),
                "name": "DayFlow ID",
                "type": "short_text",
                "type_config": {},
                "date_created": "1767225600000",
                "hide_from_guests": False,
                "required": False,
            }
        ],
    }


def _uuid(text: str) -> str:
    return str(uuid.UUID(hashlib.sha256(text.encode()).hexdigest()[:32]))


def _ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _user(account: Account) -> dict[str, Any]:
    return {
        "id": int(account.external_id),
        "username": account.name,
        "color": "#7b68ee",
        "email": account.login,
        "initials": account.name[:1].upper(),
        "profilePicture": None,
    }


# --- tasks ----------------------------------------------------------------------------------
class Invalid(ValueError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def _create(
    account: Account, list_item: Item, body: dict[str, Any], moment: dt.datetime, task_id: str = ""
) -> Item:
    task_id = task_id or secrets.token_hex(5)[:9]
    data = list_item.data
    task = {
        "id": task_id,
        "custom_id": None,
        "name": "",
        "text_content": "",
        "description": "",
        "status": _status(data, "to do"),
        "orderindex": f"{store.live(account, TASK, list_item.remote_id).count() + 1}.{'0' * 32}",
        "date_created": _ms(moment),
        "date_updated": _ms(moment),
        "date_closed": None,
        "date_done": None,
        "archived": False,
        "creator": {
            k: v for k, v in _user(account).items() if k in ("id", "username", "color", "email")
        },
        "assignees": [],
        "watchers": [],
        "checklists": [],
        "tags": [],
        "parent": None,
        "priority": None,
        "due_date": None,
        "due_date_time": False,
        "start_date": None,
        "points": None,
        "time_estimate": None,
        "custom_fields": [{**f, "value": None} for f in data["custom_fields"]],
        "list": {"id": list_item.remote_id, "name": data["name"], "access": True},
        "project": data["folder"],
        "folder": data["folder"],
        "space": {"id": data["space"]["id"]},
        "url": f"https://app.clickup.com/t/{task_id}",
    }
    _edit(task, list_item, body, moment)
    task["tags"] = [
        _tag(name) for name in sorted(set(body.get("tags") or [])) if isinstance(name, str)
    ]
    for given in body.get("custom_fields") or []:
        _set_custom(task, given)
    return store.put(account, TASK, task_id, task, list_item.remote_id)


def _status(list_data: dict[str, Any], name: str) -> dict[str, Any]:
    found = next(
        (s for s in list_data["statuses"] if s["status"].lower() == str(name).lower()), None
    )
    if found is None:
        raise Invalid("Status does not exist", "CRTSK_001")
    return {
        "status": found["status"],
        "color": found["color"],
        "orderindex": found["orderindex"],
        "type": found["type"],
    }


def _edit(
    task: dict[str, Any], list_item: Item, body: dict[str, Any], moment: dt.datetime
) -> list[tuple[str, Any, Any]]:
    """Apply a create/update body; the (field, before, after) changes it made."""
    changes = []

    def change(name: str, value: Any) -> None:
        if task[name] != value:
            changes.append((name, task[name], value))
            task[name] = value

    if "name" in body:
        change("name", body["name"])
    if "description" in body:
        change("description", body["description"] or "")
        task["text_content"] = task["description"]
    if "status" in body:
        status = _status(list_item.data, body["status"])
        change("status", status)
        closed = status["type"] in ("closed", "done")
        task["date_done"] = task["date_closed"] = (
            (task["date_done"] or _ms(moment)) if closed else None
        )
    if "priority" in body:
        level = body["priority"]
        if level is not None and level not in PRIORITIES:
            raise Invalid("Priority invalid", "INPUT_003")
        value = (
            None
            if level is None
            else {
                "id": str(level),
                "priority": PRIORITIES[level][0],
                "color": PRIORITIES[level][1],
                "orderindex": str(level),
            }
        )
        change("priority", value)
    if "due_date" in body:
        change("due_date", None if body["due_date"] is None else str(body["due_date"]))
        task["due_date_time"] = bool(body.get("due_date_time")) and body["due_date"] is not None
    task["date_updated"] = _ms(moment)
    return changes


def _set_custom(task: dict[str, Any], given: dict[str, Any]) -> None:
    field = next((f for f in task["custom_fields"] if f["id"] == given.get("id")), None)
    if field is None:
        raise Invalid("Custom field not found on the list", "FIELD_033")
    field["value"] = given.get("value")


@api_view
@clickup_api
def list_tasks(request: HttpRequest, account: Account, list_id: str) -> HttpResponse:
    """GET: a page of 100 tasks (closed ones with include_closed, newest update first with
    order_by=updated, date_updated_gt in unix ms, custom_fields filters). POST: create."""
    list_item = store.find(account, LIST, list_id)
    if list_item is None:
        return not_found("List")
    if request.method == "POST":
        return _create_view(request, account, list_item)
    params = request.GET
    tasks = [t.data for t in store.live(account, TASK, list_id)]
    if params.get("include_closed") != "true":
        tasks = [t for t in tasks if t["status"]["type"] not in ("closed", "done")]
    if params.get("date_updated_gt"):
        tasks = [t for t in tasks if int(t["date_updated"]) > int(params["date_updated_gt"])]
    for wanted in json.loads(params.get("custom_fields") or "[]"):
        tasks = [
            t
            for t in tasks
            if any(
                f["id"] == wanted.get("field_id") and f["value"] == wanted.get("value")
                for f in t["custom_fields"]
            )
        ]
    order = {"updated": "date_updated", "created": "date_created"}.get(
        params.get("order_by", "created"), "date_created"
    )
    tasks.sort(key=lambda t: int(t[order]), reverse=params.get("reverse") != "true")
    page = int(params.get("page", 0))
    chunk = tasks[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    return JsonResponse({"tasks": chunk, "last_page": (page + 1) * PAGE_SIZE >= len(tasks)})


def _create_view(request: HttpRequest, account: Account, list_item: Item) -> HttpResponse:
    body = _json(request)
    if not isinstance(body, dict) or not body.get("name"):
        return error(400, "Task name invalid", "INPUT_005")
    try:
        task = create_task(account, list_item, body)
    except Invalid as exc:
        return error(400, str(exc), exc.code)
    return JsonResponse(task.data)


@api_view
@clickup_api
def task(request: HttpRequest, account: Account, task_id: str) -> HttpResponse:
    found = store.find(account, TASK, task_id)
    if found is None:
        return not_found("Task")
    if request.method == "GET":
        return JsonResponse(found.data)
    if request.method == "DELETE":
        delete_task(found)
        return HttpResponse(status=204)
    if request.method != "PUT":
        return HttpResponse(status=405)
    body = _json(request)
    try:
        update_task(found, body if isinstance(body, dict) else {})
    except Invalid as exc:
        return error(400, str(exc), exc.code)
    return JsonResponse(found.data)


@api_view
@require_http_methods(["POST", "DELETE"])
@clickup_api
def task_tag(request: HttpRequest, account: Account, task_id: str, tag_name: str) -> HttpResponse:
    """Add Tag To Task / Remove Tag From Task: `{}`, and taskTagUpdated."""
    found = store.find(account, TASK, task_id)
    if found is None:
        return not_found("Task")
    before = [tag["name"] for tag in found.data["tags"]]
    kept = [tag for tag in found.data["tags"] if tag["name"] != tag_name]
    found.data["tags"] = kept + ([_tag(tag_name)] if request.method == "POST" else [])
    found.data["date_updated"] = _ms(store.now())
    store.save(found)
    after = [tag["name"] for tag in found.data["tags"]]
    _notify(account, found, "taskTagUpdated", [("tag", before, after)])
    return JsonResponse({})


def _tag(name: str) -> dict[str, Any]:
    return {"name": name[:100], "tag_fg": "#ffffff", "tag_bg": "#7b68ee", "creator": 0}


def create_task(account: Account, list_item: Item, body: dict[str, Any]) -> Item:
    """A new task in a list, and its taskCreated webhook (Invalid if the body is)."""
    task = _create(account, list_item, body, store.now())
    _notify(account, task, "taskCreated", [("status", None, task.data["status"])])
    return task


def update_task(found: Item, body: dict[str, Any]) -> None:
    """A task PUT, and taskStatusUpdated or taskUpdated with what changed."""
    list_item = store.find(found.account, LIST, found.container)
    changes = _edit(found.data, list_item, body, store.now())
    store.save(found)
    status_changed = any(name == "status" for name, _, _ in changes)
    _notify(found.account, found, "taskStatusUpdated" if status_changed else "taskUpdated", changes)


def delete_task(found: Item) -> None:
    found.deleted = True
    store.save(found)
    _notify(found.account, found, "taskDeleted", [])


@api_view
@require_http_methods(["PUT"])
@clickup_api
def move_task(
    request: HttpRequest, account: Account, workspace_id: str, task_id: str, list_id: str
) -> HttpResponse:
    """Move Task (API v3): the task leaves its list for another of the workspace, keeping its
    id; `move_custom_fields` brings its custom fields along, and a status the new list lacks
    must be mapped (`status_mappings`). https://developer.clickup.com/reference/movetask"""
    found = store.find(account, TASK, task_id)
    target = store.find(account, LIST, list_id)
    if found is None:
        return not_found("Task")
    if target is None or _workspace_of(account, target) != workspace_id:
        return not_found("List")
    body = _json(request)
    body = body if isinstance(body, dict) else {}
    try:
        mappings = body.get("status_mappings") or []
        if not isinstance(mappings, list) or not all(isinstance(m, dict) for m in mappings):
            raise Invalid("status_mappings must be a list of objects", "INPUT_003")
        move_task_to(found, target, bool(body.get("move_custom_fields")), mappings)
    except Invalid as exc:
        return error(400, str(exc), exc.code)
    return JsonResponse({})


def move_task_to(
    found: Item, target: Item, move_custom_fields: bool, mappings: list[dict[str, Any]] = ()
) -> None:
    """A task in another list, and its taskMoved webhook."""
    task, data = found.data, target.data
    before = task["list"]
    source = store.find(found.account, LIST, found.container)
    current = next(
        (
            s
            for s in (source.data["statuses"] if source else [])
            if s["status"].lower() == task["status"]["status"].lower()
        ),
        None,
    )
    mapped = next(
        (
            m.get("destination_status")
            for m in mappings
            if current is not None and m.get("source_status") == current["id"]
        ),
        None,
    )
    named = next((s["status"] for s in data["statuses"] if s["id"] == mapped), None)
    # Invalid when the new list has no status of that name and none was mapped to it.
    task["status"] = _status(data, named or task["status"]["status"])
    # The old list's fields come along with their values when asked (added to the new list);
    # the new list's own start empty.
    carried = task["custom_fields"] if move_custom_fields else []
    have = {f["id"] for f in carried}
    task["custom_fields"] = carried + [
        {**f, "value": None} for f in data["custom_fields"] if f["id"] not in have
    ]
    task["list"] = {"id": target.remote_id, "name": data["name"], "access": True}
    task["project"] = task["folder"] = data["folder"]
    task["space"] = {"id": data["space"]["id"]}
    task["date_updated"] = _ms(store.now())
    found.container = target.remote_id
    store.save(found)
    _notify(found.account, found, "taskMoved", [("section_moved", before, task["list"])])


def _workspace_of(account: Account, list_item: Item) -> str:
    """The team a list is in, through its folder (if any) and its space."""
    space = store.find(account, SPACE, list_item.data["space"]["id"])
    return space.container if space is not None else ""


@api_view
@require_http_methods(["GET"])
@clickup_api
def list_detail(request: HttpRequest, account: Account, list_id: str) -> HttpResponse:
    found = store.find(account, LIST, list_id)
    if found is None:
        return not_found("List")
    count = store.live(account, TASK, list_id).count()
    return JsonResponse(
        {k: v for k, v in {**found.data, "task_count": count}.items() if k != "custom_fields"}
    )


# --- the hierarchy --------------------------------------------------------------------------
@api_view
@require_http_methods(["GET"])
@clickup_api
def user(request: HttpRequest, account: Account) -> HttpResponse:
    return JsonResponse(
        {
            "user": {
                **_user(account),
                "week_start_day": 1,
                "global_font_support": True,
                "timezone": "Europe/Berlin",
            }
        }
    )


@api_view
@require_http_methods(["GET"])
@clickup_api
def teams(request: HttpRequest, account: Account) -> HttpResponse:
    """The workspaces the user authorized ("teams" in API v2)."""
    found = [
        {
            "id": t.remote_id,
            "name": t.data["name"],
            "color": "#7b68ee",
            "avatar": None,
            "members": [{"user": {**_user(account), "role": 1}}],
        }
        for t in store.live(account, TEAM)
    ]
    return JsonResponse({"teams": found})


@api_view
@require_http_methods(["GET"])
@clickup_api
def spaces(request: HttpRequest, account: Account, team_id: str) -> HttpResponse:
    found = [
        {
            "id": s.remote_id,
            "name": s.data["name"],
            "private": False,
            "archived": False,
            "multiple_assignees": True,
        }
        for s in store.live(account, SPACE, team_id)
    ]
    return JsonResponse({"spaces": found})


@api_view
@require_http_methods(["GET"])
@clickup_api
def folders(request: HttpRequest, account: Account, space_id: str) -> HttpResponse:
    found = []
    for folder in store.live(account, FOLDER, space_id):
        lists = [
            _list_summary(account, item) for item in store.live(account, LIST, folder.remote_id)
        ]
        found.append(
            {
                "id": folder.remote_id,
                "name": folder.data["name"],
                "orderindex": 0,
                "override_statuses": False,
                "hidden": False,
                "space": {"id": space_id},
                "task_count": str(sum(entry["task_count"] for entry in lists)),
                "archived": False,
                "lists": lists,
            }
        )
    return JsonResponse({"folders": found})


@api_view
@require_http_methods(["GET"])
@clickup_api
def folderless_lists(request: HttpRequest, account: Account, space_id: str) -> HttpResponse:
    return JsonResponse(
        {"lists": [_list_summary(account, item) for item in store.live(account, LIST, space_id)]}
    )


def _list_summary(account: Account, item: Item) -> dict[str, Any]:
    keep = (
        "id",
        "name",
        "orderindex",
        "content",
        "status",
        "priority",
        "assignee",
        "due_date",
        "start_date",
        "folder",
        "space",
        "archived",
        "override_statuses",
        "permission_level",
    )
    return {
        **{k: item.data[k] for k in keep},
        "task_count": store.live(account, TASK, item.remote_id).count(),
    }


def _json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"{}")
    except ValueError:
        return None


# --- webhooks -------------------------------------------------------------------------------
@api_view
@clickup_api
def team_webhooks(request: HttpRequest, account: Account, team_id: str) -> HttpResponse:
    """POST: create (ClickUp picks the secret and shows it once); GET: list with health.
    https://developer.clickup.com/reference/createwebhook"""
    if store.find(account, TEAM, team_id) is None:
        return error(401, "Team not authorized", "OAUTH_027")
    if request.method == "GET":
        hooks = [
            {k: v for k, v in h.data.items() if k != "secret"}
            for h in store.live(account, WEBHOOK, team_id)
        ]
        return JsonResponse({"webhooks": hooks})
    body = _json(request)
    if not isinstance(body, dict) or not body.get("endpoint") or not body.get("events"):
        return error(400, "Webhook endpoint and events are required", "WH_001")
    webhook_id = str(uuid.uuid4())
    hook = {
        "id": webhook_id,
        "userid": int(account.external_id),
        "team_id": int(team_id),
        "endpoint": body["endpoint"],
        "client_id": store.bearer_grant(request, KEY, raw=True).client.client_id,
        "events": list(body["events"]),
        "task_id": body.get("task_id"),
        "list_id": _int_or_none(body.get("list_id")),
        "folder_id": _int_or_none(body.get("folder_id")),
        "space_id": _int_or_none(body.get("space_id")),
        "health": {"status": "active", "fail_count": 0},
        "secret": secrets.token_hex(32).upper(),
    }
    store.put(account, WEBHOOK, webhook_id, hook, team_id)
    return JsonResponse({"id": webhook_id, "webhook": hook})


def _int_or_none(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


@api_view
@require_http_methods(["DELETE"])
@clickup_api
def webhook(request: HttpRequest, account: Account, webhook_id: str) -> HttpResponse:
    found = store.find(account, WEBHOOK, webhook_id)
    if found is None:
        return not_found("Webhook")
    found.deleted = True
    store.save(found)
    return JsonResponse({})


def _notify(account: Account, task: Item, event: str, changes: list[tuple[str, Any, Any]]) -> None:
    """Signed with the webhook's own secret: X-Signature = hex HMAC-SHA256 of the body.
    https://developer.clickup.com/docs/webhooksignature"""
    list_id, space_id = int(task.container), int(task.data["space"]["id"])
    for hook in store.live(account, WEBHOOK):
        data = hook.data
        wanted = "*" in data["events"] or event in data["events"]
        scoped = data["list_id"] in (None, list_id) and data["space_id"] in (None, space_id)
        if not (wanted and scoped and data["health"]["status"] == "active"):
            continue
        payload = {
            "event": event,
            "history_items": [_history(account, task, change) for change in changes],
            "task_id": task.remote_id,
            "webhook_id": data["id"],
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        signature = hmac.new(data["secret"].encode(), body, hashlib.sha256).hexdigest()
        outbox.enqueue(
            KEY,
            data["endpoint"],
            body,
            {"Content-Type": "application/json", "X-Signature": signature},
            WEBHOOK_RETRIES,
        )


def _history(account: Account, task: Item, change: tuple[str, Any, Any]) -> dict[str, Any]:
    name, before, after = change
    return {
        "id": str(secrets.randbelow(10**18)),
        "type": 1,
        "date": task.data["date_updated"],
        "field": name,
        "parent_id": task.container,
        "data": {},
        "source": None,
        "user": _user(account),
        "before": before,
        "after": after,
    }


# --- OAuth ----------------------------------------------------------------------------------
# No scopes, no PKCE, access tokens that do not expire and no refresh token.
# https://developer.clickup.com/docs/authentication
OAUTH = oauth.OAuthService(key=KEY, name="ClickUp", seed=seed, refresh=False)


urlpatterns = [
    *oauth.routes(OAUTH, "clickup", authorize_at="api", token_at="api/v2/oauth/token"),
    path("api/v2/user", user, name="clickup-user"),
    path("api/v2/team", teams, name="clickup-teams"),
    path("api/v2/team/<str:team_id>/space", spaces, name="clickup-spaces"),
    path("api/v2/team/<str:team_id>/webhook", team_webhooks, name="clickup-team-webhooks"),
    path("api/v2/webhook/<str:webhook_id>", webhook, name="clickup-webhook"),
    path("api/v2/space/<str:space_id>/folder", folders, name="clickup-folders"),
    path("api/v2/space/<str:space_id>/list", folderless_lists, name="clickup-lists"),
    path("api/v2/list/<str:list_id>", list_detail, name="clickup-list"),
    path("api/v2/list/<str:list_id>/task", list_tasks, name="clickup-list-tasks"),
    path("api/v2/task/<str:task_id>", task, name="clickup-task"),
    path("api/v2/task/<str:task_id>/tag/<str:tag_name>", task_tag, name="clickup-task-tag"),
    path(
        "api/v3/workspaces/<str:workspace_id>/tasks/<str:task_id>/home_list/<str:list_id>",
        move_task,
        name="clickup-move-task",
    ),
]
