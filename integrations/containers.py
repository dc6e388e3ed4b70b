"""What a connection's account offers to sync, and the checks of a choice among it that need
the service: the settings page, the API and the admin share them. Apart from
`integrations.forms` so that the admin (loaded in every process) does not load the connect
forms."""

from __future__ import annotations

import dataclasses
from typing import Any

from integrations.clients import provider_for
from integrations.models import Connection
from integrations.providers.base import Container
from integrations.providers.errors import ProviderError


@dataclasses.dataclass
class Listing:
    """What the service offers to pick from, or why it could not say (`problem`, in words)."""

    containers: list[Container] = dataclasses.field(default_factory=list)
    problem: str = ""

    @property
    def reached(self) -> bool:
        return not self.problem


def ancestor(containers: list[Container], picked: str, kind: str) -> str:
    """The id of the picked container's nearest ancestor of `kind`; a parent the listing does
    not show counts as that kind (Notion's database of a data source)."""
    by_id = {c.id: c for c in containers}
    seen, parent = set(), by_id[picked].parent if picked in by_id else ""
    while parent and parent not in seen:
        if parent not in by_id or by_id[parent].kind == kind:
            return parent
        seen.add(parent)
        parent = by_id[parent].parent
    return ""


def words_of(words: str) -> str:
    """ "a Notion database" -> "Notion database"."""
    for article in ("a ", "an "):
        if words.startswith(article):
            words = words[len(article) :]
    return words[:1].upper() + words[1:]


def split_ancestors(connection: Connection, mapping: dict[str, Any], listing: Listing) -> list[str]:
    """Several containers that must share an ancestor (`Provider.collection_ancestors_shared`:
    ClickUp's lists of one workspace) and do not, or that the account does not list (an id
    typed wrong), or whose ancestor is not the one the settings name. The service is asked
    for its containers when the page has not (the API); one that cannot be reached refuses
    the change, since nothing else can tell."""
    provider = connection.service.provider
    chosen = provider.chosen_collections(mapping)
    if not provider.collection_ancestors_shared or len(chosen) < 2:
        return []
    words = words_of(provider.collection_words).lower()
    if not listing.reached:
        try:
            listing = Listing(
                containers=provider_for(connection, someone_waits=True).list_containers()
            )
        except ProviderError:
            return [
                f"{provider.collection_setting}: {connection.service} could not be reached to "
                f"check that these {words}s are yours and in one place; try again later."
            ]
    listed = {c.id for c in listing.containers if c.kind == provider.collection_kind}
    unknown = [c for c in chosen if c not in listed]
    if unknown:
        shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
        return [f"{provider.collection_setting}: not {words}s of this account: {shown}"]
    problems = []
    for setting in sorted(provider.collection_ancestors_shared):
        kind = provider.collection_ancestors[setting]
        found = {ancestor(listing.containers, c, kind) for c in chosen}
        named = mapping.get(setting)
        if len(found) > 1:
            problems.append(
                f"{provider.collection_setting}: the {words}s must all be in one {kind} "
                f"(these are in {len(found)}): choose {words}s of one {kind}."
            )
        elif named and found != {named}:
            problems.append(f"{setting}: the {words}s are not in this {kind}")
    return problems
