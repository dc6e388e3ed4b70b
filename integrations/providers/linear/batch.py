"""Linear's batched writes (`LinearProvider.write_batch`): several issueCreate / issueUpdate /
issueDelete as aliased fields (m0, m1, …) of one mutation document, each with its own
variables. https://spec.graphql.org/October2021/#sec-Field-Alias

The single-write checks stay, each done for the whole batch in one query before the mutation:
creates look for an issue already carrying their DayFlow marker (a rerun after a crash
duplicates nothing), updates and deletes with a version read the current issues by id (a newer
version is that write's conflict). GraphQL answers a failed field with an error whose
`path[0]` is its alias: that write's typed error, the others succeed. An error with no alias
of ours (rate limit, authentication) is the whole request's, raised as the single path does.
A write with neither an answer nor an error (a non-null payload failing nulls all `data`)
is redone alone through the single path, whose create looks for its marker first.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from integrations.providers.base import RemoteItem, Write, WriteResult, add_marker, field
from integrations.providers.errors import NotFound, Permanent, PreconditionFailed, ProviderError

if TYPE_CHECKING:
    from integrations.providers.linear.provider import LinearProvider

TYPES = {
    "create": {"i": "IssueCreateInput!"},
    "update": {"id": "String!", "i": "IssueUpdateInput!"},
    "delete": {"id": "String!"},
}


@dataclasses.dataclass
class Planned:
    """One write as its aliased mutation field, with that field's variables."""

    index: int
    write: Write
    variables: dict[str, Any]
    team: str

    @property
    def alias(self) -> str:
        return f"m{self.index}"


class BatchWriter:
    def __init__(self, provider: LinearProvider) -> None:
        self.provider = provider

    def write(self, writes: list[Write]) -> list[WriteResult]:
        results: list[WriteResult] = [None] * len(writes)
        # A create the engine looked for already (`Write.looked_up`) is not looked for again.
        retried = [
            w.dayflow_id for w in writes if w.op == "create" and w.dayflow_id and not w.looked_up
        ]
        found = self._marked(retried)
        current = self._current(writes)
        planned: list[Planned] = []
        for index, one in enumerate(writes):
            try:
                plan = self._plan(index, one, found, current)
            except ProviderError as error:
                results[index] = error
                continue
            if isinstance(plan, RemoteItem):
                results[index] = plan  # made by an earlier, interrupted run
            else:
                planned.append(plan)
        if planned:
            self._send(planned, results)
        return results

    # --- before: the batch's lookups, one query each --------------------------------------
    def _marked(self, dayflow_ids: list[str]) -> dict[str, RemoteItem]:
        provider = self.provider
        if not dayflow_ids or not provider._marks():
            return {}
        teams = provider.teams()
        markers = [{"description": {"contains": add_marker("", d)}} for d in dayflow_ids]
        issue_filter = {"team": provider.team_filter(teams), "or": markers}
        # Room for a duplicate or a trashed copy of a marker besides the live issue.
        nodes = self._issues(issue_filter, min(2 * len(dayflow_ids), self.provider.page_size))
        team = teams[0] if len(teams) == 1 else ""  # else each issue's own
        items = [provider.to_item(node, team) for node in nodes if not _removed(node)]
        return {item.dayflow_id: item for item in items if item.dayflow_id}

    def _current(self, writes: list[Write]) -> dict[str, RemoteItem]:
        marks = self.provider._marks()
        ids = sorted(
            {
                w.remote_id
                for w in writes
                if (w.op == "update" and (w.version or ("notes" in w.fields and marks)))
                or (w.op == "delete" and w.version)
            }
        )
        if not ids:
            return {}
        items = [self.provider.to_item(n) for n in self._issues({"id": {"in": ids}}, len(ids))]
        return {item.remote_id: item for item in items}

    def _issues(self, issue_filter: dict[str, Any], first: int) -> list[dict[str, Any]]:
        provider, key = self.provider, self.provider.key
        data = provider.graphql(
            self.provider.issues_query, {"filter": issue_filter, "first": first, "after": None}
        )
        return field(key, field(key, data, "issues", dict), "nodes", list)

    # --- each write as its mutation field -------------------------------------------------
    def _plan(
        self, index: int, one: Write, found: dict[str, RemoteItem], current: dict[str, RemoteItem]
    ) -> Planned | RemoteItem:
        provider = self.provider
        if one.op == "create":
            if one.dayflow_id in found:
                return found[one.dayflow_id]
            team = provider.collection_id(one.collection)
            issue_input = {"teamId": team, **provider.to_input(one.fields, team)}
            if one.dayflow_id and provider._marks():
                issue_input["description"] = add_marker(
                    one.fields.get("notes") or "", one.dayflow_id
                )
            return Planned(index, one, {f"i{index}": issue_input}, team)
        item = current.get(one.remote_id)
        if item is None and one.remote_id in self._wanted(one):
            raise NotFound(f"issue {one.remote_id}", status=404, service=provider.key)
        if one.version and item is not None and item.version != one.version:
            raise PreconditionFailed(
                f"issue {one.remote_id} changed", status=412, service=provider.key
            )
        if one.op == "delete":
            return Planned(index, one, {f"id{index}": one.remote_id}, "")
        team = item.collection if item else provider.collection_id()
        issue_input = provider.to_input(one.fields, team)
        if item and item.dayflow_id and "notes" in one.fields:
            issue_input["description"] = add_marker(one.fields["notes"] or "", item.dayflow_id)
        variables = {f"id{index}": one.remote_id, f"i{index}": issue_input}
        return Planned(index, one, variables, team)

    def _wanted(self, one: Write) -> set[str]:
        """The ids `_current` read for this write (an absent one is gone)."""
        if one.version or (one.op == "update" and "notes" in one.fields and self.provider._marks()):
            return {one.remote_id}
        return set()

    # --- the one call ---------------------------------------------------------------------
    def _send(self, planned: list[Planned], results: list[WriteResult]) -> None:
        provider = self.provider
        definitions, fields, variables = [], [], {}
        for plan in planned:
            n = plan.index
            fields.append(aliased(plan.write.op, n, self.provider.issue_selection))
            definitions += [f"${name}{n}: {kind}" for name, kind in TYPES[plan.write.op].items()]
            variables |= plan.variables
        document = f"mutation Batch({', '.join(definitions)}) {{ {' '.join(fields)} }}"
        # Updates and deletes may be resent; an issueCreate may not (a retry finds its marker).
        idempotent = all(plan.write.op != "create" for plan in planned)
        payload, response = provider.send(document, variables, idempotent)
        aliases = {plan.alias for plan in planned}
        by_alias, whole = _errors_by_alias(payload.get("errors"), aliases)
        if whole:
            raise provider._error(whole, response)
        data = payload.get("data")
        data = data if isinstance(data, dict) else {}
        for plan in planned:
            if plan.alias in by_alias:
                results[plan.index] = provider._error([by_alias[plan.alias]], response)
            elif isinstance(data.get(plan.alias), dict):
                results[plan.index] = self._result(plan, data[plan.alias])
            else:
                results[plan.index] = self._alone(plan.write)

    def _result(self, plan: Planned, answer: dict[str, Any]) -> WriteResult:
        provider = self.provider
        if plan.write.op == "delete":
            if answer.get("success"):
                return None
            return Permanent(
                f"issueDelete {plan.write.remote_id} did not succeed", service=provider.key
            )
        try:
            return provider.to_item(field(provider.key, answer, "issue", dict), plan.team)
        except Permanent as error:
            return error

    def _alone(self, one: Write) -> WriteResult:
        """A write the answer says nothing about: written alone (the version was checked
        before the batch, and this batch may have applied it already)."""
        try:
            return self.provider.write_one(dataclasses.replace(one, version=""))
        except ProviderError as error:
            return error


def aliased(op: str, n: int, selection: str) -> str:
    """The write's field of the mutation, as the single path's CREATE / UPDATE / DELETE;
    `selection` is the issue's fields the provider reads (`LinearProvider.issue_selection`)."""
    issue = f"{{ success issue {{{selection}}} }}"
    if op == "create":
        return f"m{n}: issueCreate(input: $i{n}) {issue}"
    if op == "update":
        return f"m{n}: issueUpdate(id: $id{n}, input: $i{n}) {issue}"
    return f"m{n}: issueDelete(id: $id{n}) {{ success }}"


def _errors_by_alias(errors: Any, aliases: set[str]) -> tuple[dict[str, dict[str, Any]], list[Any]]:
    by_alias: dict[str, dict[str, Any]] = {}
    whole: list[Any] = []
    for error in errors if isinstance(errors, list) else ([errors] if errors else []):
        path = error.get("path") if isinstance(error, dict) else None
        alias = path[0] if isinstance(path, list) and path else None
        if alias in aliases:
            by_alias.setdefault(str(alias), error)
        else:
            whole.append(error)
    return by_alias, whole


def _removed(node: dict[str, Any]) -> bool:
    return bool(node.get("archivedAt") or node.get("trashed"))
