"""Linear (GraphQL): OAuth with PKCE and rotating refresh tokens, teams and their workflow
states, issues filtered on updatedAt with Relay pages, issueCreate / issueUpdate /
issueDelete (the trash), webhookCreate, and webhooks signed with Linear-Signature.
https://linear.app/developers/graphql"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.http import require_http_methods

from integrations.sandbox import graphql, oauth, outbox, store
from integrations.sandbox.gate import api_view
from integrations.sandbox.graphql import GraphQLError
from integrations.sandbox.models import Account, Client, Grant, Item

KEY = "linear"
# Linear: a delivery not answered 200 within 5 s is retried 3 times, after 1 minute, 1 hour
# and 6 hours.
WEBHOOK_RETRIES = outbox.Retries(waits=(60, 3600, 21600), timeout=5.0)
ISSUE, TEAM, WEBHOOK = "issue", "team", "webhook"
# `first` is 50 when not given and at most 250 (https://linear.app/developers/pagination); a
# document may cost at most 10,000 points (https://linear.app/developers/rate-limiting; the
# 250 and the 10,000 as third parties quote those pages). The emulator refuses past either, as
# strict as the service or stricter: how Linear answers a larger `first` is not documented.
PAGE_DEFAULT, PAGE_MAX = 50, 250
MAX_COMPLEXITY = 10_000
RETRY_AFTER_MS = 1000
STATES = (
    ("Backlog", "backlog"),
    ("Todo", "unstarted"),
    ("In Progress", "started"),
    ("Done", "completed"),
    ("Canceled", "canceled"),
)


# --- errors ---------------------------------------------------------------------------------
def unauthorized() -> HttpResponse:
    """Linear answers a bad token with a GraphQL error (HTTP 400), not a 401 of its own."""
    extensions = {
        "type": "authentication error",
        "code": "AUTHENTICATION_ERROR",
        "statusCode": 401,
        "userError": True,
        "userPresentableMessage": "You need to authenticate to access this operation.",
    }
    return JsonResponse(
        {
            "errors": [
                {"message": "Authentication required, not authenticated", "extensions": extensions}
            ]
        },
        status=400,
    )


def rate_limited() -> HttpResponse:
    """RATELIMITED with the x-ratelimit-requests-* headers (reset in epoch ms).
    https://linear.app/developers/rate-limiting"""
    body = {
        "errors": [
            {
                "message": "Rate limit exceeded",
                "extensions": {"type": "ratelimited", "code": "RATELIMITED", "userError": True},
            }
        ]
    }
    response = JsonResponse(body, status=400)
    response["X-RateLimit-Requests-Limit"] = "1500"
    response["X-RateLimit-Requests-Remaining"] = "0"
    response["X-RateLimit-Requests-Reset"] = str(int(time.time() * 1000) + RETRY_AFTER_MS)
    return response


def not_found(entity: str) -> GraphQLError:
    return GraphQLError(f"Entity not found: {entity}", code="INPUT_ERROR", kind="invalid input")


# --- seed -----------------------------------------------------------------------------------
TEAMS = (("Engineering", "ENG"), ("Design", "DES"))
# (team key, title, state name, due in days or None, priority 0-4, description)
ISSUES: tuple[tuple[str, str, str, int | None, int, str], ...] = (
    ("ENG", "Fix the login redirect", "Todo", 3, 2, "Steps to reproduce:\n1. open /login"),
    ("ENG", "Upgrade to Django 5.2", "In Progress", 10, 3, ""),
    ("ENG", "Flaky test in the sync engine", "Todo", None, 2, "Fails about once in 50 runs"),
    ("ENG", "Add rate-limit metrics", "Backlog", None, 4, ""),
    ("ENG", "Webhook retries for Graph", "Done", -2, 2, ""),
    ("ENG", "Paginate the task list API", "Todo", 7, 3, ""),
    ("ENG", "Remove the legacy importer", "Canceled", None, 0, ""),
    ("ENG", "Crash when the calendar is empty", "In Progress", 1, 1, "Sentry issue attached"),
    ("ENG", "Document the sandbox", "Todo", 5, 3, ""),
    ("ENG", "Speed up the first sync", "Backlog", None, 3, ""),
    ("ENG", "Token refresh race", "Done", -5, 1, ""),
    ("ENG", "Dark mode for the settings page", "Backlog", None, 4, ""),
    ("ENG", "Retry budget per connection", "Todo", 12, 3, ""),
    ("ENG", "Audit log export", "Done", -9, 3, ""),
    ("DES", "New onboarding illustrations", "In Progress", 4, 3, ""),
    ("DES", "Icon set for the services", "Todo", 8, 4, ""),
    ("DES", "Conflict dialog copy", "Done", -1, 2, ""),
    ("DES", "Mobile layout for the inbox", "Todo", 6, 2, ""),
    ("DES", "Empty states", "Backlog", None, 0, ""),
    ("DES", "Brand colours audit", "Canceled", None, 0, ""),
)


def seed(account: Account, clock: dt.datetime) -> None:
    """An organization with two teams, five workflow states each, and twenty issues."""
    teams = {}
    for name, key in TEAMS:
        team_id = _uuid(f"{account.login}:team:{key}")
        states = [
            {"id": _uuid(f"{team_id}:{state}"), "type": kind, "position": n, "name": state}
            for n, (state, kind) in enumerate(STATES)
        ]
        teams[key] = store.put(
            account,
            TEAM,
            team_id,
            {"id": team_id, "name": name, "key": key, "issueCount": 0, "states": {"nodes": states}},
        )
    for n, (key, title, state, days, priority, description) in enumerate(ISSUES):
        moment = clock - dt.timedelta(days=len(ISSUES) - n, hours=n)
        issue_input = {
            "title": title,
            "description": description,
            "priority": priority,
            "stateId": _state(teams[key], state)["id"],
        }
        if days is not None:
            issue_input["dueDate"] = (clock + dt.timedelta(days=days)).date().isoformat()
        _create(account, teams[key], issue_input, moment, _uuid(f"{account.login}:issue:{n}"))


def _uuid(text: str) -> str:
    return str(uuid.UUID(hashlib.sha256(text.encode()).hexdigest()[:32]))


def _state(team: Item, name_or_id: str) -> dict[str, Any]:
    found = next(
        (s for s in team.data["states"]["nodes"] if name_or_id in (s["id"], s["name"])), None
    )
    if found is None:
        raise GraphQLError(
            "Argument Validation Error: stateId must be a state of the team",
            code="INPUT_ERROR",
            kind="invalid input",
        )
    return found


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def organization(account: Account) -> dict[str, Any]:
    return {
        "id": _uuid(f"{account.login}:organization"),
        "name": f"{account.name}'s company",
        "urlKey": account.login.split("@")[0],
    }


# --- issues ---------------------------------------------------------------------------------
def _create(
    account: Account,
    team: Item,
    issue_input: dict[str, Any],
    moment: dt.datetime,
    issue_id: str = "",
) -> Item:
    team.data["issueCount"] += 1
    team.save(update_fields=["data"])
    number = team.data["issueCount"]
    issue_id = issue_id or str(uuid.uuid4())
    stamp = _stamp(moment)
    issue = {
        "id": issue_id,
        "identifier": f"{team.data['key']}-{number}",
        "number": number,
        "title": "",
        "description": None,
        "priority": 0,
        "priorityLabel": "No priority",
        "dueDate": None,
        "url": f"https://linear.app/{organization(account)['urlKey']}/issue/{team.data['key']}-{number}",
        "createdAt": stamp,
        "updatedAt": stamp,
        "completedAt": None,
        "canceledAt": None,
        "archivedAt": None,
        "trashed": None,
        "state": {k: v for k, v in _state(team, "Todo").items() if k != "position"},
        "team": {"id": team.remote_id, "key": team.data["key"], "name": team.data["name"]},
    }
    _apply(issue, issue_input, team, stamp)
    return store.put(account, ISSUE, issue_id, issue, team.remote_id)


PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


def _apply(issue: dict[str, Any], issue_input: dict[str, Any], team: Item, stamp: str) -> None:
    for name in ("title", "description", "dueDate"):
        if name in issue_input:
            issue[name] = issue_input[name]
    if "labelIds" in issue_input:
        known = {label["id"]: label["name"] for label in labels(team.account)}
        chosen = issue_input["labelIds"]
        if not isinstance(chosen, list) or any(label not in known for label in chosen):
            raise GraphQLError(
                "Argument Validation Error: labelIds must be labels of the workspace or team",
                code="INPUT_ERROR",
                kind="invalid input",
            )
        issue["labelIds"] = list(dict.fromkeys(chosen))
        issue["labelNames"] = [known[label] for label in issue["labelIds"]]
    if "priority" in issue_input:
        if issue_input["priority"] not in PRIORITY_LABELS:
            raise GraphQLError(
                "Argument Validation Error: priority must be 0-4",
                code="INPUT_ERROR",
                kind="invalid input",
            )
        issue["priority"] = issue_input["priority"]
        issue["priorityLabel"] = PRIORITY_LABELS[issue["priority"]]
    if "stateId" in issue_input:
        state = _state(team, issue_input["stateId"])
        issue["state"] = {k: v for k, v in state.items() if k != "position"}
        issue["completedAt"] = (
            (issue["completedAt"] or stamp) if state["type"] == "completed" else None
        )
        issue["canceledAt"] = (
            (issue["canceledAt"] or stamp) if state["type"] == "canceled" else None
        )
    issue["updatedAt"] = stamp


# A new Linear workspace's labels, its own (no team): what an issue's labelIds may name.
# https://linear.app/docs/labels
WORKSPACE_LABELS = ("Bug", "Feature", "Improvement")


def labels(account: Account) -> list[dict[str, Any]]:
    """The workspace's labels, as issueLabels lists them."""
    return [
        {"id": _uuid(f"{account.login}:label:{name}"), "name": name, "isGroup": False, "team": None}
        for name in WORKSPACE_LABELS
    ]


def _readable(issue: dict[str, Any]) -> dict[str, Any]:
    """An issue with its labels (kept as `labelIds`) and no project, which the emulator does
    not hold."""
    names = dict(zip(issue.get("labelIds", ()), issue.get("labelNames", ()), strict=True))
    nodes = [{"id": label_id, "name": name} for label_id, name in names.items()]
    shown = {k: v for k, v in issue.items() if k != "labelNames"}
    return {"project": None, "labels": {"nodes": nodes}, "labelIds": [], **shown}


def _issues(account: Account, args: dict[str, Any]) -> dict[str, Any]:
    """issues(filter, first, after, orderBy, includeArchived): a Relay connection."""
    found = [_readable(i.data) for i in Item.objects.filter(account=account, kind=ISSUE)]
    if not args.get("includeArchived"):
        found = [i for i in found if not (i["archivedAt"] or i["trashed"])]
    found = [i for i in found if _matches(i, args.get("filter") or {})]
    order = args.get("orderBy") or "createdAt"
    found.sort(key=lambda i: (i[order], i["id"]), reverse=True)
    return _connection(found, args)


def _connection(nodes: list[dict[str, Any]], args: dict[str, Any]) -> dict[str, Any]:
    first = PAGE_DEFAULT if args.get("first") is None else args["first"]
    if not isinstance(first, int) or isinstance(first, bool) or not 1 <= first <= PAGE_MAX:
        raise GraphQLError(f"Argument Validation Error: first must be between 1 and {PAGE_MAX}.")
    start = int(base64.b64decode(args["after"]).decode()) if args.get("after") else 0
    page = nodes[start : start + first]
    end = start + len(page)
    info = {
        "hasNextPage": end < len(nodes),
        "hasPreviousPage": start > 0,
        "startCursor": base64.b64encode(str(start).encode()).decode() if page else None,
        "endCursor": base64.b64encode(str(end).encode()).decode() if page else None,
    }
    return {"nodes": page, "pageInfo": info}


def _matches(issue: dict[str, Any], condition: dict[str, Any]) -> bool:
    for name, test in condition.items():
        if name == "or":
            if not any(_matches(issue, each) for each in test or []):
                return False
        elif name == "team":
            if not _compare(issue["team"]["id"], test.get("id", {})):
                return False
        elif name in (
            "updatedAt",
            "createdAt",
            "dueDate",
            "title",
            "description",
            "id",
            "priority",
        ):
            if not _compare(issue[name], test):
                return False
        else:
            raise GraphQLError(
                f'Field "{name}" is not defined by type "IssueFilter" in the sandbox.'
            )
    return True


def _compare(value: Any, test: dict[str, Any]) -> bool:
    checks = {
        "eq": lambda v: value == v,
        "neq": lambda v: value != v,
        "gt": lambda v: value is not None and value > v,
        "gte": lambda v: value is not None and value >= v,
        "lt": lambda v: value is not None and value < v,
        "lte": lambda v: value is not None and value <= v,
        "in": lambda v: value in v,
        "contains": lambda v: v in (value or ""),
    }
    return all(checks[op](operand) for op, operand in test.items() if op in checks)


# --- the GraphQL endpoint -------------------------------------------------------------------
@api_view
@require_http_methods(["POST"])
def endpoint(request: HttpRequest) -> HttpResponse:
    grant = store.bearer_grant(request, KEY)
    if grant is None:
        return unauthorized()
    if store.throttled(grant.account):
        return rate_limited()
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        return JsonResponse({"errors": [GraphQLError("Body is not JSON").as_error()]}, status=400)
    variables = (body.get("variables") or {}) if isinstance(body, dict) else None
    if not isinstance(variables, dict):
        error = GraphQLError("Body must be an object whose variables are an object")
        return JsonResponse({"errors": [error.as_error()]}, status=400)
    document = str(body.get("query", ""))
    answer = graphql.execute(document, variables, _roots(grant), check=_not_too_complex)
    return JsonResponse(answer, status=400 if answer.get("data") is None else 200)


def _not_too_complex(fields: list[graphql.Field], variables: dict[str, Any]) -> None:
    cost = graphql.complexity(fields, variables, PAGE_DEFAULT)
    if cost > MAX_COMPLEXITY:
        raise GraphQLError(
            f"Query too complex: {cost:.0f} points, at most {MAX_COMPLEXITY} are allowed.",
            code="QUERY_TOO_COMPLEX",
        )


def _roots(grant: Grant) -> dict[str, dict[str, graphql.Resolver]]:
    account = grant.account

    def team(args: dict[str, Any]) -> dict[str, Any]:
        found = store.find(account, TEAM, str(args.get("id")))
        if found is None:
            raise not_found("Team")
        return found.data

    def issue(args: dict[str, Any]) -> dict[str, Any]:
        found = store.find(account, ISSUE, str(args.get("id")))
        if found is None:
            raise not_found("Issue")
        return _readable(found.data)

    return {
        "query": {
            "viewer": lambda args: {
                "id": _uuid(f"{account.login}:user"),
                "name": account.name,
                "email": account.login,
            },
            "organization": lambda args: organization(account),
            "teams": lambda args: _connection(
                [t.data for t in store.live(account, TEAM).order_by("pk")], args
            ),
            "team": team,
            "issues": lambda args: _issues(account, args),
            "issue": issue,
            # The workspace's labels (no team has its own here; none is a group).
            "issueLabels": lambda args: _connection(labels(account), args),
        },
        "mutation": {
            "issueCreate": lambda args: issue_create(account, args.get("input") or {}),
            "issueUpdate": lambda args: issue_update(
                account, str(args.get("id")), args.get("input") or {}
            ),
            "issueDelete": lambda args: issue_delete(account, str(args.get("id"))),
            "webhookCreate": lambda args: _webhook_create(grant, args.get("input") or {}),
            "webhookDelete": lambda args: _webhook_delete(account, str(args.get("id"))),
        },
    }


def issue_create(account: Account, issue_input: dict[str, Any]) -> dict[str, Any]:
    team = store.find(account, TEAM, str(issue_input.get("teamId")))
    if team is None:
        raise not_found("Team")
    if not issue_input.get("title"):
        raise GraphQLError(
            "Argument Validation Error: title should not be empty",
            code="INPUT_ERROR",
            kind="invalid input",
        )
    created = _create(account, team, issue_input, store.now())
    _notify(account, created, "create", {})
    return {"success": True, "lastSyncId": account.seq, "issue": _readable(created.data)}


def issue_update(account: Account, issue_id: str, issue_input: dict[str, Any]) -> dict[str, Any]:
    found = store.find(account, ISSUE, issue_id)
    if found is None:
        raise not_found("Issue")
    before = dict(found.data)
    team = store.find(account, TEAM, found.container)
    if issue_input.get("teamId", found.container) != found.container:
        team = _move(account, found, str(issue_input["teamId"]), issue_input)
    _apply(found.data, issue_input, team, _stamp(store.now()))
    store.save(found)
    changed = {
        k: before.get(k) for k in found.data if found.data[k] != before.get(k) and k != "labelNames"
    }
    _notify(account, found, "update", changed)
    return {"success": True, "lastSyncId": account.seq, "issue": _readable(found.data)}


def _move(account: Account, found: Item, team_id: str, issue_input: dict[str, Any]) -> Item:
    """Another team: the issue keeps its id, takes the team's next identifier, and, unless
    the input names one, the team's first state of the type it had."""
    team = store.find(account, TEAM, team_id)
    if team is None:
        raise not_found("Team")
    team.data["issueCount"] += 1
    team.save(update_fields=["data"])
    number, key = team.data["issueCount"], team.data["key"]
    issue = found.data
    issue.update(
        identifier=f"{key}-{number}",
        number=number,
        url=issue["url"].rpartition("/")[0] + f"/{key}-{number}",
        team={"id": team.remote_id, "key": key, "name": team.data["name"]},
    )
    if "stateId" not in issue_input:
        kind = issue["state"]["type"]
        state = next(s for s in team.data["states"]["nodes"] if s["type"] == kind)
        issue["state"] = {k: v for k, v in state.items() if k != "position"}
    found.container = team.remote_id
    return team


def issue_delete(account: Account, issue_id: str) -> dict[str, Any]:
    """To the trash: `trashed` and `archivedAt` set; it stays readable with includeArchived."""
    found = store.find(account, ISSUE, issue_id)
    if found is None:
        raise not_found("Issue")
    stamp = _stamp(store.now())
    found.data.update(trashed=True, archivedAt=stamp, updatedAt=stamp)
    found.deleted = True
    store.save(found)
    _notify(account, found, "remove", {})
    return {"success": True, "lastSyncId": account.seq, "entity": found.data}


# --- webhooks -------------------------------------------------------------------------------
def _webhook_create(grant: Grant, webhook_input: dict[str, Any]) -> dict[str, Any]:
    """Creating webhooks needs the admin scope. https://linear.app/developers/webhooks"""
    if "admin" not in grant.scope.split(","):
        raise GraphQLError("Invalid scope: `admin` required", code="FORBIDDEN", kind="forbidden")
    if not webhook_input.get("url") or not webhook_input.get("resourceTypes"):
        raise GraphQLError(
            "Argument Validation Error: url and resourceTypes are required",
            code="INPUT_ERROR",
            kind="invalid input",
        )
    webhook_id = str(uuid.uuid4())
    webhook = {
        "id": webhook_id,
        "url": webhook_input["url"],
        "enabled": webhook_input.get("enabled", True),
        "label": webhook_input.get("label"),
        "resourceTypes": list(webhook_input["resourceTypes"]),
        "secret": webhook_input.get("secret") or f"lin_wh_{uuid.uuid4().hex}",
        "allPublicTeams": bool(webhook_input.get("allPublicTeams")),
        "team": {"id": webhook_input["teamId"]} if webhook_input.get("teamId") else None,
    }
    store.put(grant.account, WEBHOOK, webhook_id, webhook)
    return {"success": True, "webhook": webhook}


def _webhook_delete(account: Account, webhook_id: str) -> dict[str, Any]:
    found = store.find(account, WEBHOOK, webhook_id)
    if found is None:
        raise not_found("Webhook")
    found.deleted = True
    store.save(found)
    return {"success": True}


def _notify(account: Account, issue: Item, action: str, updated_from: dict[str, Any]) -> None:
    """An EntityWebhookPayload to the app's webhook and to every matching API webhook."""
    for url, secret, webhook_id in _subscribers(account, issue.container):
        readable = _readable(issue.data)
        data = {k: v for k, v in readable.items() if k not in ("team", "project")}
        data |= {"teamId": issue.container, "stateId": issue.data["state"]["id"]}
        data["labels"] = data["labels"]["nodes"]  # a list in a webhook's Issue, not a connection
        payload = {
            "action": action,
            "actor": {"id": _uuid(f"{account.login}:user"), "type": "user", "name": account.name},
            "createdAt": _stamp(store.now()),
            "data": data,
            **({"updatedFrom": updated_from} if action == "update" else {}),
            "type": "Issue",
            "organizationId": organization(account)["id"],
            "url": issue.data["url"],
            "webhookId": webhook_id,
            "webhookTimestamp": int(store.now().timestamp() * 1000),
        }
        body = json.dumps(payload).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Linear-Webhook",
            "Linear-Delivery": str(uuid.uuid4()),
            "Linear-Event": "Issue",
            "Linear-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        }
        outbox.enqueue(KEY, url, body, headers, WEBHOOK_RETRIES)


def _subscribers(account: Account, team_id: str) -> list[tuple[str, str, str]]:
    """(url, signing secret, webhook id): the apps' console webhooks for organizations that
    authorized them, then webhooks made through webhookCreate for this team or all teams."""
    grants = Grant.objects.filter(account=account, revoked_at=None).values("client")
    apps = Client.objects.filter(pk__in=grants).exclude(webhook_url="").exclude(webhook_secret="")
    found = [(c.webhook_url, c.webhook_secret, _uuid(f"{c.client_id}:app-webhook")) for c in apps]
    for hook in store.live(account, WEBHOOK):
        data = hook.data
        reaches = data["allPublicTeams"] or (data["team"] or {}).get("id") == team_id
        if data["enabled"] and reaches and "Issue" in data["resourceTypes"]:
            found.append((data["url"], data["secret"], data["id"]))
    return found


# --- OAuth ----------------------------------------------------------------------------------
# PKCE (S256), 24-hour access tokens and rotating refresh tokens.
# https://linear.app/developers/oauth-2-0-authentication
OAUTH = oauth.OAuthService(
    key=KEY,
    name="Linear",
    seed=seed,
    pkce=True,
    access_lifetime=dt.timedelta(hours=24),
    rotates=True,
)


@api_view
@require_http_methods(["POST"])
def revoke(request: HttpRequest) -> HttpResponse:
    """Linear revokes the token the request is authorized with (or the `token` sent)."""
    grant = store.bearer_grant(request, KEY)
    if grant is None and not oauth.known_token(request, KEY):
        return unauthorized()
    if grant is not None:
        oauth.revoke_family(grant.family)
        return HttpResponse(status=200)
    return oauth.revoke(request, OAUTH)


urlpatterns = [
    *oauth.routes(
        OAUTH,
        "linear",
        authorize_at="oauth/authorize",
        token_at="oauth/token",
        revoke_at="oauth/revoke",
        revoke_view=revoke,
    ),
    path("graphql", endpoint, name="linear-graphql"),
]
