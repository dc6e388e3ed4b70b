"""Linear: issues of the teams a connection syncs, over GraphQL. https://linear.app/developers"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from django.conf import settings

from dayflow.tags import MAX_TAGS, normalized_tags
from integrations.providers.base import (
    Container,
    ItemType,
    Kind,
    Page,
    Provider,
    RemoteItem,
    Write,
    WriteResult,
    add_marker,
    field,
    parse_date,
    parse_datetime,
    split_marker,
)
from integrations.providers.errors import (
    AuthExpired,
    NotFound,
    Permanent,
    PreconditionFailed,
    ProviderError,
    RateLimited,
)
from integrations.providers.linear.batch import BatchWriter

# Issues per pull page. `first` may go to 250 (https://linear.app/developers/pagination), but
# a query may cost at most 10,000 points, a connection costing its children times its `first`
# (https://linear.app/developers/rate-limiting): each issue here costs about 67, 60 of them for
# labels(first: MAX_TAGS), so 250 issues (about 16,750) would be refused, and even 150 (about
# 10,050). 100 (about 6,700) keeps a margin: the 250, the point model and the cap are as third
# parties quote those pages, which say themselves only that children multiply the cost.
PAGE_SIZE = 100
# Linear priorities: 0 none, 1 urgent, 2 high, 3 medium, 4 low
# (https://linear.app/developers/graphql, Issue.priority).
TO_DAYFLOW_PRIORITY = {0: 0, 1: 4, 2: 3, 3: 2, 4: 1}
TO_LINEAR_PRIORITY = {v: k for k, v in TO_DAYFLOW_PRIORITY.items()}
DONE_STATES = ("completed", "canceled")
OPEN_STATES = ("unstarted", "backlog", "triage", "started")
AUTH_ERRORS = ("authentication error", "unauthenticated")
# Labels and teams cost about a point each, so their connections take the largest `first`.
LABEL_PAGE = 250
TEAM_PAGE = 250
logger = logging.getLogger("integrations.linear")

ISSUE = f"""
  id identifier title description priority dueDate url updatedAt
  completedAt canceledAt archivedAt trashed
  state {{ id type name }}
  team {{ id name }}
  project {{ name }}
  labels(first: {MAX_TAGS}) {{ nodes {{ id name }} }}
"""
ISSUES = (
    "query Issues($filter: IssueFilter, $first: Int, $after: String) {"
    " issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt,"
    " includeArchived: true) { nodes {" + ISSUE + "} pageInfo { hasNextPage endCursor } } }"
)
GET_ISSUE = "query Issue($id: String!) { issue(id: $id) {" + ISSUE + "} }"
CREATE = (
    "mutation Create($input: IssueCreateInput!) {"
    " issueCreate(input: $input) { success issue {" + ISSUE + "} } }"
)
UPDATE = (
    "mutation Update($id: String!, $input: IssueUpdateInput!) {"
    " issueUpdate(id: $id, input: $input) { success issue {" + ISSUE + "} } }"
)
DELETE = "mutation Delete($id: String!) { issueDelete(id: $id) { success } }"
STATES = "query States($id: String!) { team(id: $id) { states { nodes { id type position } } } }"
# The labels an issue of the team can carry: the team's own and the workspace's, less groups
# (a group only holds labels). https://linear.app/developers/graphql, Query.issueLabels
LABELS = (
    "query Labels($team: ID!, $first: Int, $after: String) {"
    " issueLabels(first: $first, after: $after, filter: {and: [{isGroup: {eq: false}},"
    " {or: [{team: {id: {eq: $team}}}, {team: {null: true}}]}]}) {"
    " nodes { id name } pageInfo { hasNextPage endCursor } } }"
)
TEAMS = (
    f"query Teams($after: String) {{ teams(first: {TEAM_PAGE}, after: $after) {{"
    " nodes { id name key } pageInfo { hasNextPage endCursor } } }"
)


class LinearProvider(Provider):
    key = "linear"
    name = "Linear"
    kind = Kind.TASKS
    docs_url = "https://linear.app/developers/graphql"
    authorization_url = "https://linear.app/oauth/authorize"
    token_url = "https://api.linear.app/oauth/token"
    revoke_url = "https://api.linear.app/oauth/revoke"
    scopes = ("read", "write")
    scope_separator = ","
    pkce = True
    api_base = "https://api.linear.app/graphql"
    rate_limit = (1500, 3600.0)
    item_types = (ItemType.TASK,)
    change_feed = "GraphQL issues filtered on updatedAt"
    supports_webhooks = True
    webhook_registration = "api"
    # The OAuth app's webhook reaches a whole organization: its subscription row records it.
    webhook_account_prefix = "organization:"
    # One team or several (a list): each is a sync link of its own (sync/links.py).
    mapping_schema = {"team_id": (str, list), "write_id_marker": bool}
    # Writes per batched mutation (batch.py). A query may cost at most 10,000 points; each
    # aliased issueCreate/issueUpdate selects an issue of about 67 points (see PAGE_SIZE), so
    # 25 cost about 1,700, as does the batch's one lookup of 25 issues: a wide margin for
    # the mutations' own cost, which Linear does not publish.
    write_batch_size = 25
    # What batch.py asks with: it cannot import this module, which imports it.
    issue_selection = ISSUE
    issues_query = ISSUES
    page_size = PAGE_SIZE
    # Labels are tags both ways; the list (project or team) is read only, not a synced field.
    lacks_fields = frozenset[str]()  # lists (moves between containers) and tags, both ways
    collection_setting = "team_id"
    collection_words = "a Linear team"
    collection_required = True
    collection_kind = "team"
    supports_move = True  # issueUpdate's teamId, between the teams the connection syncs
    setting_checkboxes = {
        "write_id_marker": "Mark each issue with its DayFlow id (a line in its description)"
    }
    web_url_field = "url"  # the issue's page (asked for in ISSUE_FIELDS)

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        super().__init__(connection, **kwargs)
        # Per team, read once a run: its workflow states and its labels.
        self._states: dict[str, dict[str, str]] = {}
        self._labels: dict[str, dict[str, str]] = {}

    @classmethod
    def app_webhook_secret(cls) -> str:
        """The signing secret of the OAuth app's own webhook (Linear's console → the app →
        Webhooks), which posts to /api/webhooks/linear/ for every organization that authorized
        us: setting WEBHOOKS_LINEAR_APP_SECRET, from LINEAR_WEBHOOK_SECRET."""
        return getattr(settings, "WEBHOOKS_LINEAR_APP_SECRET", "")

    # --- GraphQL ----------------------------------------------------------------------------
    def graphql(
        self, query: str, variables: dict[str, Any], *, idempotent: bool = True
    ) -> dict[str, Any]:
        """`data` of one GraphQL call; GraphQL errors become the typed errors.

        Linear answers GraphQL errors with 200 or 400 and the kind in `extensions`
        (https://linear.app/developers/graphql#errors); rate limiting may come that way too,
        with the x-ratelimit-*-reset headers, instead of a 429. Queries and updates may be
        resent after a timeout; issueCreate is not (`create` looks for it on its retry).

        An expired token may come back as 400 + AUTHENTICATION_ERROR rather than a 401, which
        the client's 401 hook never sees: the token is refreshed once through that same hook
        and the call resent (nothing was applied), and a second refusal is AuthExpired.
        """
        payload, response = self.send(query, variables, idempotent)
        if payload.get("errors"):
            raise self._error(payload["errors"], response)
        return field(self.key, payload, "data", dict)

    def send(
        self, query: str, variables: dict[str, Any], idempotent: bool
    ) -> tuple[dict[str, Any], Any]:
        """The whole answer of one call (errors left in it), after one token refresh."""
        payload, response = self._post(query, variables, idempotent)
        if _auth_error(payload) and self.http.refresh:
            self.http.refresh(response.request.headers.get("Authorization", ""))
            payload, response = self._post(query, variables, idempotent)
        return payload, response

    def _post(
        self, query: str, variables: dict[str, Any], idempotent: bool
    ) -> tuple[dict[str, Any], Any]:
        response = self.http.request(
            "POST",
            self.api_base,
            json={"query": query, "variables": variables},
            ok=(200, 400),
            idempotent=idempotent,
        )
        try:
            payload = response.json()
        except ValueError:
            raise self.unexpected("body", "not JSON") from None
        if not isinstance(payload, dict):
            raise self.unexpected("body", "expected an object")
        return payload, response

    def _error(self, errors: Any, response: Any) -> ProviderError:
        first = _first_error(errors)
        kind = _error_kind(first)
        message = str(first.get("message", "GraphQL error"))[:200]
        if kind == "ratelimited":
            wait = self.http.retry_after(response)
            return RateLimited(message, retry_after=wait, service=self.key)
        if kind in AUTH_ERRORS:
            return AuthExpired(message, service=self.key)
        if "not found" in kind or "not found" in message.lower():
            return NotFound(message, status=404, service=self.key)
        return Permanent(
            f"{kind or 'graphql'}: {message}", status=response.status_code, service=self.key
        )

    # --- pull -----------------------------------------------------------------------------
    def pull(self, cursor: str | None, collection: str = "") -> Page:
        """One page of the team's issues, archived and trashed ones included as deletions."""
        state = self.cursor_state(cursor, {"full": True})
        teams = self.teams(collection)
        issue_filter: dict[str, Any] = {"team": team_filter(teams)}
        if state.get("since"):
            issue_filter["updatedAt"] = {"gt": state["since"]}
        variables = {"filter": issue_filter, "first": PAGE_SIZE, "after": state.get("after")}
        issues = field(self.key, self.graphql(ISSUES, variables), "issues", dict)
        page = Page(full=bool(state.get("full")))
        newest = state.get("max") or state.get("since") or ""
        for node in field(self.key, issues, "nodes", list):
            newest = max(newest, field(self.key, node, "updatedAt", str))
            if _removed(node):  # its id is all we need
                page.deleted_ids.append(field(self.key, node, "id", str))
            else:
                page.items.append(self.to_item(node, teams[0] if len(teams) == 1 else ""))
        info = field(self.key, issues, "pageInfo", dict)
        if field(self.key, info, "hasNextPage", bool):
            after = field(self.key, info, "endCursor", str)
            page.has_more = True
            page.next_cursor = json.dumps({**state, "after": after, "max": newest})
        else:
            page.next_cursor = json.dumps({"since": newest}) if newest else None
        return page

    # --- writes ---------------------------------------------------------------------------
    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        team = self.collection_id(collection)
        existing = self.existing(dayflow_id, team)
        if existing:
            return existing
        issue_input = {"teamId": team, **self.to_input(fields, team)}
        if dayflow_id and self._marks():
            issue_input["description"] = add_marker(fields.get("notes") or "", dayflow_id)
        result = field(
            self.key,
            self.graphql(CREATE, {"input": issue_input}, idempotent=False),
            "issueCreate",
            dict,
        )
        return self.to_item(field(self.key, result, "issue", dict), team)

    def update(self, remote_id: str, fields: dict[str, Any], version: str = "") -> RemoteItem:
        current = self.get(remote_id) if version or ("notes" in fields and self._marks()) else None
        if version and current and current.version != version:
            raise PreconditionFailed(f"issue {remote_id} changed", status=412, service=self.key)
        team = current.collection if current else self.collection_id()
        issue_input = self.to_input(fields, team)
        if current and current.dayflow_id and "notes" in fields:
            issue_input["description"] = add_marker(fields["notes"] or "", current.dayflow_id)
        variables = {"id": remote_id, "input": issue_input}
        result = field(self.key, self.graphql(UPDATE, variables), "issueUpdate", dict)
        return self.to_item(field(self.key, result, "issue", dict), team)

    def move(self, remote_id: str, collection: str, version: str = "") -> RemoteItem:
        """issueUpdate with another `teamId`: the same issue (its id kept, its identifier the
        new team's), put in the new team's workflow state of its status and given the labels
        of its tags that team can carry, since states and team labels are each team's own.
        https://linear.app/developers/graphql, IssueUpdateInput.teamId"""
        current = self.get(remote_id)
        if version and current.version != version:
            raise PreconditionFailed(f"issue {remote_id} changed", status=412, service=self.key)
        if current.collection == collection:
            return current
        carried = {name: current.fields[name] for name in ("status", "tags")}
        issue_input = {"teamId": collection, **self.to_input(carried, collection)}
        variables = {"id": remote_id, "input": issue_input}
        result = field(self.key, self.graphql(UPDATE, variables), "issueUpdate", dict)
        return self.to_item(field(self.key, result, "issue", dict), collection)

    def delete(self, remote_id: str, version: str = "") -> None:
        """issueDelete moves the issue to Linear's trash, restorable for a while
        (https://linear.app/developers/graphql, Mutation.issueDelete)."""
        if version and self.get(remote_id).version != version:
            raise PreconditionFailed(f"issue {remote_id} changed", status=412, service=self.key)
        result = field(self.key, self.graphql(DELETE, {"id": remote_id}), "issueDelete", dict)
        if not result.get("success"):
            raise Permanent(f"issueDelete {remote_id} did not succeed", service=self.key)

    def write_batch(self, writes: list[Write]) -> list[WriteResult]:
        """Up to `write_batch_size` writes as the aliased fields of one mutation
        (integrations/providers/linear/batch.py)."""
        return BatchWriter(self).write(writes)

    def get(self, remote_id: str) -> RemoteItem:
        issue = self.graphql(GET_ISSUE, {"id": remote_id}).get("issue")
        if not isinstance(issue, dict):
            raise NotFound(f"issue {remote_id}", status=404, service=self.key)
        return self.to_item(issue)

    def find_by_dayflow_id(self, dayflow_id: str, collection: str = "") -> RemoteItem | None:
        if not self._marks():
            return None
        teams = self.teams(collection)
        issue_filter = {
            "team": team_filter(teams),
            "description": {"contains": add_marker("", dayflow_id)},
        }
        data = self.graphql(ISSUES, {"filter": issue_filter, "first": 1, "after": None})
        nodes = field(self.key, field(self.key, data, "issues", dict), "nodes", list)
        live = [node for node in nodes if not _removed(node)]
        return self.to_item(live[0], teams[0] if len(teams) == 1 else "") if live else None

    @staticmethod
    def team_filter(teams: list[str]) -> dict[str, Any]:
        """An issue filter's `team` for one team or several (batch.py asks it here)."""
        return team_filter(teams)

    def teams(self, collection: str = "") -> list[str]:
        """The team given, else every team the connection syncs."""
        teams = [collection] if collection else self.chosen_collections(self.field_mapping)
        if not teams:
            self.collection_id()  # raises: no team chosen
        return teams

    def _marks(self) -> bool:
        return bool(self.field_mapping.get("write_id_marker"))

    # --- containers -----------------------------------------------------------------------
    def list_containers(self) -> list[Container]:
        containers, after = [], None
        while True:
            teams = field(self.key, self.graphql(TEAMS, {"after": after}), "teams", dict)
            for node in field(self.key, teams, "nodes", list):
                team_id = field(self.key, node, "id", str)
                name = f"{node.get('name', '')} ({node.get('key', '')})"
                containers.append(Container(team_id, name, "team", item_types=(ItemType.TASK,)))
            info = field(self.key, teams, "pageInfo", dict)
            if not info.get("hasNextPage"):
                return containers
            after = field(self.key, info, "endCursor", str)

    # --- mapping --------------------------------------------------------------------------
    def to_item(self, node: Any, collection: str = "") -> RemoteItem:
        updated = field(self.key, node, "updatedAt", str)
        notes, dayflow_id = split_marker(
            field(self.key, node, "description", (str, type(None))) or ""
        )
        team = node.get("team") or {}
        return RemoteItem(
            remote_id=field(self.key, node, "id", str),
            item_type=ItemType.TASK,
            fields=self.to_fields(node, notes),
            version=updated,
            updated_at=parse_datetime(self.key, "updatedAt", updated),
            collection=collection or str(team.get("id", "")),
            dayflow_id=dayflow_id,
            web_url=self.web_url(node),
            read_only=_list_name(node),
        )

    def to_fields(self, node: dict[str, Any], notes: str) -> dict[str, Any]:
        state = field(self.key, node, "state", dict)
        done_at = node.get("completedAt") or node.get("canceledAt")
        priority = field(self.key, node, "priority", (int, float))
        if int(priority) not in TO_DAYFLOW_PRIORITY:
            raise self.unexpected("priority", f"{priority} is not 0-4")
        due = node.get("dueDate")
        return {
            "title": field(self.key, node, "title", str),
            "notes": notes,
            "status": "done" if state.get("type") in DONE_STATES else "open",
            "due": parse_date(self.key, "dueDate", due) if due else None,
            "priority": TO_DAYFLOW_PRIORITY[int(priority)],
            "completed_at": parse_datetime(self.key, "completedAt", done_at) if done_at else None,
            "tags": self._tags(node),
            "url": node.get("url") or "",
        }

    def _tags(self, node: dict[str, Any]) -> list[str]:
        labels = node.get("labels")
        if labels is None:
            return []
        nodes = field(self.key, labels, "nodes", list) if isinstance(labels, dict) else None
        if nodes is None:
            raise self.unexpected("labels", "expected a connection of labels")
        return normalized_tags([n.get("name") for n in nodes if isinstance(n, dict)])

    def to_input(self, fields: dict[str, Any], team: str) -> dict[str, Any]:
        """Normalized fields (any subset) as IssueCreateInput / IssueUpdateInput."""
        issue_input: dict[str, Any] = {}
        if "title" in fields:
            issue_input["title"] = fields["title"]
        if "notes" in fields:
            issue_input["description"] = fields["notes"] or ""
        if "priority" in fields:
            issue_input["priority"] = TO_LINEAR_PRIORITY[fields["priority"] or 0]
        if "status" in fields:
            issue_input["stateId"] = self.state_ids(team)[fields["status"]]
        if "due" in fields:
            issue_input["dueDate"] = _due_date(fields["due"])
        if "tags" in fields:
            issue_input["labelIds"] = self.label_ids(team, fields["tags"] or [])
        return issue_input

    def label_ids(self, team: str, names: list[str]) -> list[str]:
        """The ids of the labels named, among the team's (one query per run). A name Linear
        has no label for is left out and logged: creating labels is the team's call, and one
        unknown name must not fail the issue."""
        if not names:
            return []
        if team not in self._labels:
            self._labels[team] = self._team_labels(team)
        labels = self._labels[team]
        found = [labels.get(name) or labels.get(name.casefold()) for name in names]
        unknown = [name for name, label in zip(names, found, strict=True) if not label]
        if unknown:
            names = ", ".join(repr(name[:40]) for name in unknown[:10])
            logger.warning(
                "linear connection %s: no label named %s in the team, left out",
                getattr(self.connection, "pk", None),
                names,
            )
            self.note(f"Linear has no label named {names} in this team: left out of the issue.")
        return [label for label in found if label]

    def _team_labels(self, team: str) -> dict[str, str]:
        labels: dict[str, str] = {}
        after = None
        while True:
            variables = {"team": team, "first": LABEL_PAGE, "after": after}
            page = field(self.key, self.graphql(LABELS, variables), "issueLabels", dict)
            for node in field(self.key, page, "nodes", list):
                name, label_id = node.get("name"), node.get("id")
                if isinstance(name, str) and isinstance(label_id, str):
                    labels.setdefault(name, label_id)
                    labels.setdefault(name.casefold(), label_id)
            info = field(self.key, page, "pageInfo", dict)
            if not info.get("hasNextPage"):
                return labels
            after = field(self.key, info, "endCursor", str)

    def state_ids(self, team: str) -> dict[str, str]:
        """The team's first open and first completed workflow state (teams define their own)."""
        if team not in self._states:
            data = field(self.key, self.graphql(STATES, {"id": team}), "team", dict)
            nodes = field(self.key, field(self.key, data, "states", dict), "nodes", list)
            nodes = sorted(nodes, key=lambda n: n.get("position") or 0)
            open_ = next((n["id"] for t in OPEN_STATES for n in nodes if n.get("type") == t), None)
            done = next((n["id"] for n in nodes if n.get("type") == "completed"), None)
            if not open_ or not done:
                raise self.unexpected("team.states", "no open or completed state")
            self._states[team] = {"open": open_, "done": done}
        return self._states[team]


def team_filter(teams: list[str]) -> dict[str, Any]:
    """An issue filter's `team` for one team or several."""
    return {"id": {"eq": teams[0]}} if len(teams) == 1 else {"id": {"in": teams}}


def _due_date(due: dt.date | dt.datetime | None) -> str | None:
    # Linear's dueDate is a TimelessDate (https://linear.app/developers/graphql, Issue.dueDate):
    # a time of day is dropped, keeping its local date.
    if due is None:
        return None
    return (due.date() if isinstance(due, dt.datetime) else due).isoformat()


def _list_name(node: dict[str, Any]) -> dict[str, Any]:
    """Where the issue lives, as Linear shows it: its project, else its team."""
    for ref in (node.get("project"), node.get("team")):
        name = ref.get("name") if isinstance(ref, dict) else None
        if isinstance(name, str) and name:
            return {"list_name": name}
    return {}


def _first_error(errors: Any) -> dict[str, Any]:
    first = errors[0] if isinstance(errors, list) and errors else {}
    return first if isinstance(first, dict) else {"message": str(first)}


def _error_kind(error: dict[str, Any]) -> str:
    extensions = error.get("extensions") or {}
    if not isinstance(extensions, dict):
        return ""
    kind = str(extensions.get("code") or extensions.get("type") or "").lower()
    return kind.replace("_", " ")


def _auth_error(payload: dict[str, Any]) -> bool:
    errors = payload.get("errors")
    return bool(errors) and _error_kind(_first_error(errors)) in AUTH_ERRORS


def _removed(node: dict[str, Any]) -> bool:
    return bool(node.get("archivedAt") or node.get("trashed"))
