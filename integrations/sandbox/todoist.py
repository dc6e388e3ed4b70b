"""Todoist (API v1): OAuth with rotating refresh tokens, the Sync endpoint (sync_token,
commands), the task and project lists, and webhooks signed with the app's client secret.
https://developer.todoist.com/api/v1/"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import uuid
from typing import Any
from zoneinfo import ZoneInfo

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from integrations.sandbox import oauth, outbox, store
from integrations.sandbox.gate import api_view
from integrations.sandbox.models import Account, Client, Grant, Item

KEY = "todoist"
# Todoist retries a webhook not answered 200 after 15 minutes, up to three attempts.
WEBHOOK_RETRIES = outbox.Retries(waits=(900, 900))
TASK, PROJECT, COMMAND = "task", "project", "command"
# `limit`: 1-200, default 50; past 200 is refused, not served smaller.
# https://developer.todoist.com/api/v1/#tag/Tasks/operation/get_tasks_api_v1_tasks_get
PAGE_DEFAULT, PAGE_MAX = 50, 200
RETRY_AFTER = 1  # seconds, in `error_extra.retry_after` as Todoist sends it


# --- errors, in Todoist's error object --------------------------------------------------------
def error(status: int, message: str, tag: str, code: int, **extra: Any) -> JsonResponse:
    body = {
        "error": message,
        "error_code": code,
        "error_extra": extra,
        "error_tag": tag,
        "http_code": status,
    }
    return JsonResponse(body, status=status)


def unauthorized() -> HttpResponse:
    return error(401, "Invalid token", "AUTH_INVALID_TOKEN", 401)


def rate_limited() -> HttpResponse:
    return error(429, "Too many requests", "LIMITS_REACHED", 429, retry_after=RETRY_AFTER)


todoist_api = store.endpoint(KEY, unauthorized, rate_limited)


# --- seed -----------------------------------------------------------------------------------
PROJECTS = ("Inbox", "Work", "Home", "Errands")
# (project, title, days from now or None, "HH:MM" or "", done, priority, recurring)
TASKS: tuple[tuple[str, str, int | None, str, bool, int, bool], ...] = (
    ("Inbox", "Call the dentist", 1, "09:30", False, 3, False),
    ("Inbox", "Renew passport", 14, "", False, 2, False),
    ("Inbox", "Read 'Deep Work' chapter 3", None, "", False, 1, False),
    ("Inbox", "Back up the laptop", -2, "", True, 1, False),
    ("Inbox", "Reply to Sam about the trip", 0, "18:00", False, 2, False),
    ("Inbox", "Book a haircut", 3, "", False, 1, False),
    ("Work", "Prepare the quarterly review slides", 2, "10:00", False, 4, False),
    ("Work", "Review Maria's pull request", 0, "", False, 3, False),
    ("Work", "Weekly planning", 1, "08:30", False, 2, True),
    ("Work", "Send the invoice to Acme", -1, "", True, 3, False),
    ("Work", "Update the onboarding checklist", 5, "", False, 1, False),
    ("Work", "1:1 with Jordan", 4, "15:00", False, 2, False),
    ("Work", "Fix the flaky login test", -3, "", True, 2, False),
    ("Work", "Draft the hiring post", 7, "", False, 2, False),
    ("Work", "Expense report for October", -5, "", True, 1, False),
    ("Work", "Archive old project docs", None, "", False, 1, False),
    ("Home", "Water the plants", 0, "", False, 1, True),
    ("Home", "Fix the leaking tap", 6, "", False, 3, False),
    ("Home", "Pay the electricity bill", 2, "", False, 4, False),
    ("Home", "Change the bed sheets", -1, "", True, 1, False),
    ("Home", "Take out the recycling", 1, "07:00", False, 1, True),
    ("Home", "Clean the oven", 10, "", False, 1, False),
    ("Home", "Call grandma", 0, "19:30", False, 3, False),
    ("Errands", "Buy milk", 0, "", False, 1, False),
    ("Errands", "Pick up the dry cleaning", 1, "17:00", False, 2, False),
    ("Errands", "Return the library books", -4, "", True, 1, False),
    ("Errands", "Post the birthday card", 2, "", False, 2, False),
    ("Errands", "Buy a gift for Lea", 8, "", False, 2, False),
    ("Errands", "Get a new bike light", None, "", False, 1, False),
    ("Errands", "Collect the parcel", -1, "", True, 1, False),
)
ZONE = "Europe/Madrid"


def seed(account: Account, clock: dt.datetime) -> None:
    """Four projects and thirty tasks, due relative to `clock`."""
    stamp = _stamp(clock - dt.timedelta(days=30))
    projects = {}
    for order, name in enumerate(PROJECTS, start=1):
        project_id = store.stable_id(f"{account.external_id}:project:{name}")
        projects[name] = project_id
        store.put(account, PROJECT, project_id, _project(project_id, name, order, stamp))
    for order, (project, title, days, at, done, priority, recurring) in enumerate(TASKS, start=1):
        task_id = store.stable_id(f"{account.external_id}:task:{order}")
        due = _seed_due(clock, days, at, recurring)
        task = _task(account, task_id, projects[project], title, priority, due, stamp, order)
        if done:
            task.update(checked=True, completed_at=_stamp(clock + dt.timedelta(days=days or 0)))
        store.put(account, TASK, task_id, task, projects[project])


def _seed_due(
    clock: dt.datetime, days: int | None, at: str, recurring: bool
) -> dict[str, Any] | None:
    if days is None:
        return None
    day = (clock + dt.timedelta(days=days)).date()
    if not at:
        return _due_object(
            day.isoformat(), None, "every day" if recurring else day.strftime("%b %d"), recurring
        )
    local = dt.datetime.combine(day, dt.time.fromisoformat(at))
    if recurring:  # a floating time: the user's local time wherever they are
        return _due_object(local.isoformat(), None, f"every week at {at}", True)
    fixed = local.replace(tzinfo=ZoneInfo(ZONE)).astimezone(dt.UTC)
    return _due_object(fixed.strftime("%Y-%m-%dT%H:%M:%SZ"), ZONE, f"{day:%b %d} {at}", False)


def _due_object(date: str, timezone: str | None, string: str, recurring: bool) -> dict[str, Any]:
    return {
        "date": date,
        "timezone": timezone,
        "string": string,
        "lang": "en",
        "is_recurring": recurring,
    }


def _project(project_id: str, name: str, order: int, stamp: str) -> dict[str, Any]:
    return {
        "id": project_id,
        "name": name,
        "color": "charcoal",
        "parent_id": None,
        "child_order": order,
        "is_collapsed": False,
        "is_shared": False,
        "is_favorite": False,
        "is_archived": False,
        "is_deleted": False,
        "inbox_project": name == "Inbox",
        "view_style": "list",
        "created_at": stamp,
        "updated_at": stamp,
    }


def _task(
    account: Account,
    task_id: str,
    project_id: str,
    content: str,
    priority: int,
    due: dict[str, Any] | None,
    stamp: str,
    order: int,
    description: str = "",
) -> dict[str, Any]:
    return {
        "id": task_id,
        "user_id": account.external_id,
        "project_id": project_id,
        "section_id": None,
        "parent_id": None,
        "content": content,
        "description": description,
        "priority": priority,
        "due": due,
        "deadline": None,
        "duration": None,
        "child_order": order,
        "day_order": -1,
        "is_collapsed": False,
        "labels": [],
        "added_by_uid": account.external_id,
        "assigned_by_uid": None,
        "responsible_uid": None,
        "checked": False,
        "is_deleted": False,
        "added_at": stamp,
        "updated_at": stamp,
        "completed_at": None,
        "note_count": 0,
    }


def _stamp(moment: dt.datetime) -> str:
    """Todoist's timestamps: UTC with microseconds and a Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- OAuth ----------------------------------------------------------------------------------
# New apps get refresh tokens that rotate, with hour-long access tokens; no PKCE parameter
# appears in Todoist's SDKs. https://developer.todoist.com/api/v1/#tag/Authorization
OAUTH = oauth.OAuthService(
    key=KEY,
    name="Todoist",
    seed=seed,
    access_lifetime=dt.timedelta(hours=1),
    rotates=True,
)


# --- the Sync endpoint ----------------------------------------------------------------------
@api_view
@require_http_methods(["POST"])
@todoist_api
def sync(request: HttpRequest, account: Account) -> HttpResponse:
    """Commands first (each uuid applied once), then the resources changed since sync_token.
    https://developer.todoist.com/api/v1/#tag/Sync"""
    body: dict[str, Any] = {}
    if "commands" in request.POST:
        try:
            commands = json.loads(request.POST["commands"])
        except ValueError:
            return error(
                400, "Invalid argument value", "INVALID_ARGUMENT_VALUE", 20, argument="commands"
            )
        body.update(_run_commands(account, commands))
    token = request.POST.get("sync_token")
    if token is not None:
        since = _cursor(token)
        if since is None:
            return error(
                400, "Invalid argument value", "INVALID_ARGUMENT_VALUE", 20, argument="sync_token"
            )
        resources = _resource_types(request.POST.get("resource_types", '["all"]'))
        body.update(_resources(account, since, resources))
    account.refresh_from_db(fields=["seq"])
    body.setdefault("full_sync", False)
    body.setdefault("temp_id_mapping", {})  # present even without commands, as recorded
    body["sync_token"] = _token(account.seq)
    return JsonResponse(body)


def _token(seq: int) -> str:
    return base64.urlsafe_b64encode(f"dayflow-sandbox:{seq}".encode()).decode().rstrip("=")


def _cursor(token: str) -> int | None:
    """The change number a sync token stands for: -1 for "*" (a full sync), None if invalid."""
    if token == "*":
        return -1
    try:
        prefix, _, number = (
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().partition(":")
        )
        return int(number) if prefix == "dayflow-sandbox" else None
    except ValueError:
        return None


def _resource_types(raw: str) -> set[str]:
    try:
        names = json.loads(raw)
    except ValueError:
        return set()
    names = set(names) if isinstance(names, list) else set()
    return {"items", "projects", "user"} if "all" in names else names


def _resources(account: Account, since: int, resources: set[str]) -> dict[str, Any]:
    full = since < 0
    body: dict[str, Any] = {"full_sync": full}
    if full:
        body["full_sync_date_utc"] = store.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    if "items" in resources:
        # A full sync leaves completed tasks out; an incremental one has every change.
        tasks = store.live(account, TASK) if full else store.changed_since(account, TASK, since)
        body["items"] = [item.data for item in tasks if not (full and item.data["checked"])]
    if "projects" in resources:
        projects = (
            store.live(account, PROJECT) if full else store.changed_since(account, PROJECT, since)
        )
        body["projects"] = [item.data for item in projects]
    if "user" in resources:
        body["user"] = _user(account)
    return body


def _user(account: Account) -> dict[str, Any]:
    inbox = next(
        (p.remote_id for p in store.live(account, PROJECT) if p.data.get("inbox_project")), None
    )
    return {
        "id": account.external_id,
        "email": account.login,
        "full_name": account.name,
        "inbox_project_id": inbox,
        "is_premium": False,
        "lang": "en",
        "tz_info": {
            "timezone": ZONE,
            "gmt_string": "+01:00",
            "hours": 1,
            "minutes": 0,
            "is_dst": 0,
        },
    }


# --- commands -------------------------------------------------------------------------------
def _run_commands(account: Account, commands: Any) -> dict[str, Any]:
    statuses: dict[str, Any] = {}
    mapping: dict[str, str] = {}
    for command in commands if isinstance(commands, list) else []:
        command_uuid = str(command.get("uuid", ""))
        if store.find(account, COMMAND, command_uuid):
            statuses[command_uuid] = "ok"  # applied before: not again, and no temp id mapped
            continue
        statuses[command_uuid] = apply_command(account, command, mapping)
        Item.objects.create(account=account, kind=COMMAND, remote_id=command_uuid)
    return {"sync_status": statuses, "temp_id_mapping": mapping}


def apply_command(account: Account, command: dict[str, Any], mapping: dict[str, str]) -> Any:
    """One Sync command (item_add, item_update, item_move, item_close, item_uncomplete,
    item_delete):
    "ok" or Todoist's error object. The console changes tasks through it too."""
    kind, args = command.get("type"), dict(command.get("args") or {})
    if kind == "item_add":
        return _add(account, args, str(command.get("temp_id", "")), mapping)
    task = store.find(account, TASK, mapping.get(str(args.get("id")), str(args.get("id"))))
    if task is None:
        return _not_found("Item")
    before = dict(task.data)
    if kind == "item_move":
        project = str(args.get("project_id") or "")
        if store.find(account, PROJECT, project) is None:
            return _not_found("Project")
    event = {
        "item_update": lambda: _edit(task.data, args),
        "item_move": lambda: _move(task, project),
        "item_close": lambda: task.data.update(checked=True, completed_at=_stamp(store.now())),
        "item_uncomplete": lambda: task.data.update(checked=False, completed_at=None),
        "item_delete": lambda: task.data.update(is_deleted=True),
    }.get(kind)
    if event is None:
        return {
            "error_code": 21,
            "error": "Unknown command",
            "error_tag": "UNKNOWN_COMMAND",
            "http_code": 400,
            "error_extra": {},
        }
    event()
    changed(task, _EVENTS[kind], before)
    return "ok"


_EVENTS = {
    "item_update": "item:updated",
    "item_move": "item:updated",
    "item_close": "item:completed",
    "item_uncomplete": "item:uncompleted",
    "item_delete": "item:deleted",
}


def _not_found(what: str) -> dict[str, Any]:
    """Todoist's command error for a missing item or project (error code 22)."""
    return {
        "error_code": 22,
        "error": f"{what} not found",
        "error_tag": f"{what.upper()}_NOT_FOUND",
        "http_code": 404,
        "error_extra": {},
    }


def _move(task: Item, project: str) -> None:
    task.data["project_id"] = project
    task.data["section_id"] = None
    task.container = project


def _add(account: Account, args: dict[str, Any], temp_id: str, mapping: dict[str, str]) -> Any:
    project = str(args.get("project_id") or _user(account)["inbox_project_id"])
    if store.find(account, PROJECT, project) is None:
        return _not_found("Project")
    task_id = store.stable_id(f"{account.external_id}:task:{uuid.uuid4()}")
    order = store.live(account, TASK, project).count() + 1
    task = _task(
        account, task_id, project, str(args.get("content", "")), 1, None, _stamp(store.now()), order
    )
    _edit(task, args)
    item = Item(account=account, kind=TASK, remote_id=task_id, container=project, data=task)
    changed(item, "item:added", None)
    if temp_id:
        mapping[temp_id] = task_id
    return "ok"


def _edit(task: dict[str, Any], args: dict[str, Any]) -> None:
    for name in ("content", "description", "priority"):
        if name in args:
            task[name] = args[name]
    if isinstance(args.get("labels"), list):
        task["labels"] = [str(name)[:128] for name in args["labels"]]
    if "due" in args:
        due = args["due"]
        task["due"] = (
            None
            if not due
            else _due_object(
                due["date"], due.get("timezone"), due.get("string") or due["date"], False
            )
        )


def changed(task: Item, event_name: str, before: dict[str, Any] | None) -> None:
    """Save a change to a task and send the webhook Todoist sends for it."""
    task.data["updated_at"] = _stamp(store.now())
    task.deleted = bool(task.data.get("is_deleted"))
    store.save(task)
    extra = (
        {"old_item": before, "update_intent": "item_updated"}
        if event_name == "item:updated"
        else None
    )
    notify(task.account, event_name, task.data, extra)


# --- webhooks -------------------------------------------------------------------------------
def notify(
    account: Account, event_name: str, data: dict[str, Any], extra: dict[str, Any] | None = None
) -> None:
    """One delivery per app the account authorized that has a webhook URL, signed with that
    app's client secret: X-Todoist-Hmac-SHA256 = base64(HMAC-SHA256(secret, body)).
    https://developer.todoist.com/api/v1/#tag/Webhooks"""
    envelope = {
        "event_name": event_name,
        "user_id": account.external_id,
        "event_data": data,
        **({"event_data_extra": extra} if extra else {}),
        "initiator": {
            "id": account.external_id,
            "full_name": account.name,
            "email": account.login,
            "image_id": None,
            "is_premium": False,
        },
        "version": "10",
        "triggered_at": _stamp(store.now()),
    }
    body = json.dumps(envelope).encode()
    for client in authorized_clients(account):
        digest = hmac.new(client.client_secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Todoist-Webhooks",
            "X-Todoist-Hmac-SHA256": base64.b64encode(digest).decode(),
            "X-Todoist-Delivery-ID": str(uuid.uuid4()),
        }
        outbox.enqueue(KEY, client.webhook_url, body, headers, WEBHOOK_RETRIES)


def authorized_clients(account: Account) -> list[Client]:
    """Apps with a webhook URL that `account` granted access (and has not revoked)."""
    grants = Grant.objects.filter(account=account, revoked_at=None).values("client")
    return list(Client.objects.filter(pk__in=grants).exclude(webhook_url=""))


# --- the REST lists -------------------------------------------------------------------------
@api_view
@require_http_methods(["GET"])
@todoist_api
def task_detail(request: HttpRequest, account: Account, task_id: str) -> HttpResponse:
    task = store.find(account, TASK, task_id)
    if task is None:
        return error(404, "Task not found", "NOT_FOUND", 478)
    return JsonResponse(task.data)


@api_view
@require_http_methods(["GET"])
@todoist_api
def task_list(request: HttpRequest, account: Account) -> HttpResponse:
    """Active tasks, filtered by project_id and by `ids` (comma-separated); {results,
    next_cursor}."""
    tasks = store.live(account, TASK, request.GET.get("project_id") or None)
    ids = request.GET.get("ids")
    if ids:
        tasks = tasks.filter(remote_id__in=ids.split(",")[:PAGE_MAX])
    return _paginated(request, [t.data for t in tasks.order_by("pk") if not t.data["checked"]])


@api_view
@require_http_methods(["GET"])
@todoist_api
def project_list(request: HttpRequest, account: Account) -> HttpResponse:
    return _paginated(request, [p.data for p in store.live(account, PROJECT).order_by("pk")])


def _paginated(request: HttpRequest, results: list[dict[str, Any]]) -> HttpResponse:
    """Todoist's cursor pages: `limit` 1-200 (default 50), an opaque `next_cursor` or null."""
    asked = request.GET.get("limit", str(PAGE_DEFAULT))
    if not asked.isdigit() or not 1 <= int(asked) <= PAGE_MAX:
        return error(400, "Invalid argument value", "INVALID_ARGUMENT_VALUE", 20, argument="limit")
    limit = int(asked)
    try:
        start = int(base64.urlsafe_b64decode(request.GET.get("cursor", "") + "==").decode() or 0)
    except ValueError:
        return error(400, "Invalid argument value", "INVALID_ARGUMENT_VALUE", 20, argument="cursor")
    end = start + limit
    cursor = (
        base64.urlsafe_b64encode(str(end).encode()).decode().rstrip("=")
        if end < len(results)
        else None
    )
    return JsonResponse({"results": results[start:end], "next_cursor": cursor})


# --- routes ---------------------------------------------------------------------------------
urlpatterns = [
    *oauth.routes(
        OAUTH,
        "todoist",
        authorize_at="oauth/authorize",
        token_at="oauth/access_token",
        revoke_at="api/v1/revoke",
    ),
    path("api/v1/sync", sync, name="todoist-sync"),
    path("api/v1/tasks", task_list, name="todoist-tasks"),
    path("api/v1/tasks/<str:task_id>", task_detail, name="todoist-task"),
    path("api/v1/projects", project_list, name="todoist-projects"),
]
