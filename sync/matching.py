"""Matching the items that are already the same on both sides, at a connection's first sync.

`match(local, remote)` is pure: DayFlow's items and the service's items of one kind, each an
`Item` (an id, the codec's JSON fields of `sync.fields`, its list, the identifiers it is known
by and the identifiers its text mentions), give candidate pairs with a confidence in [0, 1].
Each item is in at most one pair: the candidates are taken best first. Nothing is compared
with everything: items are bucketed by normalized title (case, accents, punctuation and
whitespace folded), then by day, and a marker (DayFlow's id in the remote item, the remote's
address or id in DayFlow's) is looked up in an index.

The engine's side: `preview_matches(run_pairs)` runs it over a dry run's unlinked pairs and
gives the high-confidence pairs the preview stores (`report["matching"]`); `link_pairs` links
the pairs the person confirmed, creating nothing, so the real sync that follows writes only
where the two copies differ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction

from sync import fields as codec
from sync.mapping import dayflow_id, fk_column, model_for

# A pair at or above HIGH is offered ticked; at or above LOW it is a candidate at all.
HIGH = 0.8
LOW = 0.5
MAX_PAIRS = 500  # pairs a preview keeps (and a confirmation may post)
TITLE_SHOWN = 200  # characters of a title kept for the page
# A remote text field longer than this is kept as its digest: it then counts as differing,
# and linking with DayFlow's values sends DayFlow's text (one write, never a loss).
FIELD_KEPT = 2_000
# Within one title bucket, every local item is scored against every remote item only up to
# this many comparisons; beyond it, per day, and a day bucket still larger pairs in order.
FULL_SCAN = 4096
BASE_FROM = ("dayflow", "service")

_DAYFLOW_ID = re.compile(r"dayflow-(?:task|event)-\d+")
_URL = re.compile(r"https?://[^\s<>\"')\]]+")
_NOT_WORD = re.compile(r"[\W_]+")


@dataclasses.dataclass(frozen=True)
class Item:
    """One side's item as the matcher sees it. `fields`: the codec's JSON fields (title, due,
    start, all_day…); `refs`: identifiers it is known by (DayFlow's id, the remote id, its web
    address); `mentions`: identifiers found in it that name the other side's copy."""

    id: str
    fields: Mapping[str, Any]
    list_name: str = ""
    refs: frozenset[str] = frozenset()
    mentions: frozenset[str] = frozenset()


@dataclasses.dataclass(frozen=True)
class Match:
    local_id: str
    remote_id: str
    confidence: float
    marker: bool = False


def normalize_title(value: Any) -> str:
    """Case, accents, punctuation and whitespace folded: "  Café — Réunion!" → "cafe reunion"."""
    text = unicodedata.normalize("NFKD", str(value or ""))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(_NOT_WORD.sub(" ", text).split())


def when(fields: Mapping[str, Any]) -> str:
    """The item's moment as the codec spells it: a task's due, an event's start ("" if none)."""
    value = fields.get("start") or fields.get("due") or ""
    return value if isinstance(value, str) else ""


def score(local: Item, remote: Item) -> float:
    """How sure we are two items with the same normalized title are one item."""
    total = 0.6
    a, b = when(local.fields), when(remote.fields)
    if a and b:
        if a == b:
            total += 0.3
        elif a[:10] == b[:10]:
            total += 0.15  # same day, another time (or one has a time, the other not)
        else:
            total -= 0.3
    elif not a and not b:
        total += 0.25
    if "all_day" in local.fields and "all_day" in remote.fields:
        total += 0.05 if bool(local.fields["all_day"]) == bool(remote.fields["all_day"]) else -0.1
    if local.list_name and remote.list_name:
        same_list = normalize_title(local.list_name) == normalize_title(remote.list_name)
        total += 0.05 if same_list else -0.05
    return round(max(0.0, min(total, 0.99)), 2)


def match(local: Sequence[Item], remote: Sequence[Item], *, minimum: float = LOW) -> list[Match]:
    """Candidate pairs, best first, each item in at most one; markers first (confidence 1)."""
    found: list[tuple[float, bool, str, str]] = []
    found.extend((1.0, True, lid, rid) for lid, rid in _by_markers(local, remote))
    titles_l, titles_r = _buckets(local), _buckets(remote)
    for title, mine in titles_l.items():
        theirs = titles_r.get(title)
        if theirs:
            found.extend(
                (s, False, a.id, b.id) for a, b, s in _scored(mine, theirs) if s >= minimum
            )
    found.sort(key=lambda row: (-row[0], row[2], row[3]))
    used_l: set[str] = set()
    used_r: set[str] = set()
    pairs: list[Match] = []
    for confidence, marker, lid, rid in found:
        if lid in used_l or rid in used_r:
            continue
        used_l.add(lid)
        used_r.add(rid)
        pairs.append(Match(lid, rid, confidence, marker))
    return pairs


def _by_markers(local: Sequence[Item], remote: Sequence[Item]) -> Iterable[tuple[str, str]]:
    local_refs = {ref: item.id for item in local for ref in item.refs}
    remote_refs = {ref: item.id for item in remote for ref in item.refs}
    for item in remote:
        for ref in item.mentions:
            if ref in local_refs:
                yield local_refs[ref], item.id
    for item in local:
        for ref in item.mentions:
            if ref in remote_refs:
                yield item.id, remote_refs[ref]


def _buckets(items: Sequence[Item]) -> dict[str, list[Item]]:
    buckets: dict[str, list[Item]] = defaultdict(list)
    for item in items:
        title = normalize_title(item.fields.get("title"))
        if title:
            buckets[title].append(item)
    return buckets


def _scored(mine: list[Item], theirs: list[Item]) -> Iterable[tuple[Item, Item, float]]:
    if len(mine) * len(theirs) <= FULL_SCAN:
        return ((a, b, score(a, b)) for a in mine for b in theirs)
    # Many items with one title on both sides: compare within a day only, and a day that is
    # still too large pairs in order of time (they are alike anyway).
    days_l, days_r = defaultdict(list), defaultdict(list)
    for item in mine:
        days_l[when(item.fields)[:10]].append(item)
    for item in theirs:
        days_r[when(item.fields)[:10]].append(item)
    out: list[tuple[Item, Item, float]] = []
    for day, a_items in days_l.items():
        b_items = days_r.get(day, [])
        if len(a_items) * len(b_items) <= FULL_SCAN:
            out.extend((a, b, score(a, b)) for a in a_items for b in b_items)
        else:
            order = sorted(a_items, key=_order), sorted(b_items, key=_order)
            out.extend((a, b, score(a, b)) for a, b in zip(*order, strict=False))
    return out


def _order(item: Item) -> tuple[str, str]:
    return (when(item.fields), item.id)


# --- the engine's side -------------------------------------------------------------------------
def mentions_in(*texts: Any) -> frozenset[str]:
    """DayFlow ids and web addresses written in an item's text (notes, description, URL)."""
    found: set[str] = set()
    for text in texts:
        if isinstance(text, str) and text:
            found.update(_DAYFLOW_ID.findall(text))
            found.update(url.rstrip(".,;") for url in _URL.findall(text))
    return frozenset(found)


def local_item(obj: Any, item_type: str, list_name: str = "") -> Item:
    """`list_name`: the DayFlow list the item is in (`list_names`); else the name the service
    last gave its list."""
    fields = codec.local_fields(obj)
    return Item(
        id=str(obj.pk),
        fields=fields,
        list_name=list_name or getattr(obj, "list_name", "") or "",
        refs=frozenset({dayflow_id(item_type, obj.pk)}),
        mentions=mentions_in(fields.get("notes"), fields.get("description")),
    )


def remote_item(remote: Any, list_name: str = "") -> Item:
    """`list_name`: the DayFlow list or calendar the item's container feeds (`fed_names`);
    else the name the service gave its list."""
    raw = remote.fields
    fields = codec.encode(str(remote.item_type), raw)
    refs = {remote.remote_id}
    if remote.web_url:
        refs.add(remote.web_url)
    mentions = mentions_in(raw.get("notes"), raw.get("description"), raw.get("url"))
    if remote.dayflow_id:
        mentions |= {remote.dayflow_id}
    if not list_name and isinstance(remote.read_only, dict):
        list_name = remote.read_only.get("list_name") or ""
    return Item(
        id=remote.remote_id,
        fields=fields,
        list_name=list_name if isinstance(list_name, str) else "",
        refs=frozenset(refs),
        mentions=mentions,
    )


def list_names(tasks: Iterable[Any]) -> dict[int, str]:
    """Each task's DayFlow list by name (the Inbox for none), in one query."""
    from dayflow.models import INBOX, TaskList

    tasks = list(tasks)
    ids = {task.task_list_id for task in tasks if task.task_list_id}
    names = dict(TaskList.objects.filter(pk__in=ids).values_list("pk", "name"))
    return {task.pk: names.get(task.task_list_id, INBOX) for task in tasks}


def calendar_names(events: Iterable[Any]) -> dict[int, str]:
    """Each event's DayFlow calendar by name (the main calendar for none), in one query."""
    from dayflow.models import MAIN_CALENDAR, Calendar

    events = list(events)
    ids = {event.calendar_id for event in events if event.calendar_id}
    names = dict(Calendar.objects.filter(pk__in=ids).values_list("pk", "name"))
    return {event.pk: names.get(event.calendar_id, MAIN_CALENDAR) for event in events}


def fed_names(connection_id: int, item_type: str, remotes: Iterable[Any]) -> dict[str, str]:
    """For each of the service's events, the name of the DayFlow calendar its calendar feeds
    (`SyncLink`; the main calendar when none says), by remote id: an event in the calendar
    that feeds the local event's own is more likely the same one."""
    from dayflow.models import MAIN_CALENDAR, Calendar
    from sync.links import Sides

    sides = Sides(connection_id)
    fed = {r.remote_id: sides.of(item_type, r.collection or "") for r in remotes}
    names = dict(
        Calendar.objects.filter(pk__in={i for i in fed.values() if i}).values_list("pk", "name")
    )
    return {remote_id: names.get(side, MAIN_CALENDAR) for remote_id, side in fed.items()}


def preview_matches(
    pairs: Iterable[Any],
    *,
    limit: int = MAX_PAIRS,
    connection_id: int | None = None,
    unsent: Iterable[tuple[str, Any]] = (),
) -> dict[str, Any]:
    """The likely pairs among a dry run's unlinked items (`sync.engine.plan.Pair`s): DayFlow's
    items the run would send, and the `unsent` ones it leaves in DayFlow (linked nowhere, in a
    list that sends new items elsewhere or nowhere: the account may hold them all the same),
    against the service's items it would import, at confidence LOW or more (the page ticks
    those at HIGH or more), best first, at most `limit`. A task's list counts in the score
    (DayFlow's list against the service's list's name); so does an event's calendar, given the
    `connection_id` whose links say which DayFlow calendar each of the service's calendars
    feeds."""
    locals_: dict[str, dict[str, Any]] = defaultdict(dict)
    remotes: dict[str, dict[str, Any]] = defaultdict(dict)
    for item_type, obj in unsent:
        locals_[item_type][str(obj.pk)] = obj
    for pair in pairs:
        if pair.link is not None:
            continue
        if pair.local is not None and pair.remote is None and not pair.local.is_deleted:
            locals_[pair.item_type][str(pair.local.pk)] = pair.local
        elif pair.remote is not None and pair.local is None:
            remotes[pair.item_type][pair.remote.remote_id] = pair.remote
    found: list[dict[str, Any]] = []
    total = 0
    for item_type in sorted(set(locals_) & set(remotes)):
        mine, theirs = locals_[item_type], remotes[item_type]
        if item_type == "task":
            lists, fed = list_names(mine.values()), {}
        elif connection_id is not None:
            lists = calendar_names(mine.values())
            fed = fed_names(connection_id, item_type, theirs.values())
        else:
            lists, fed = {}, {}
        matches = match(
            [local_item(obj, item_type, lists.get(obj.pk, "")) for obj in mine.values()],
            [remote_item(item, fed.get(item.remote_id, "")) for item in theirs.values()],
            minimum=LOW,
        )
        total += len(matches)
        for m in matches[: max(0, limit - len(found))]:
            obj, item = mine[m.local_id], theirs[m.remote_id]
            remote_fields = kept(codec.encode(item_type, item.fields))
            found.append(
                {
                    "item_type": item_type,
                    "local_id": obj.pk,
                    "remote_id": item.remote_id,
                    "local_title": str(obj.title)[:TITLE_SHOWN],
                    "remote_title": str(item.fields.get("title") or "")[:TITLE_SHOWN],
                    "confidence": m.confidence,
                    "marker": m.marker,
                    # What linking needs to tell the next sync where the sides agree.
                    "remote_version": item.version,
                    "remote_fields": remote_fields,
                    "collection": getattr(item, "collection", "") or "",
                    "web_url": item.web_url,
                }
            )
    return {"pairs": found, "more": total - len(found)}


def kept(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Fields as a preview keeps them: a text longer than FIELD_KEPT as its digest."""
    return {
        name: f"sha256:{hashlib.sha256(value.encode()).hexdigest()}"
        if isinstance(value, str) and len(value) > FIELD_KEPT
        else value
        for name, value in fields.items()
    }


def pair_key(pair: Mapping[str, Any]) -> str:
    """How a page names a pair: `<type>:<DayFlow id>:<remote id>`."""
    return f"{pair['item_type']}:{pair['local_id']}:{pair['remote_id']}"


def shown(report: Mapping[str, Any]) -> dict[str, Any]:
    """The preview's pairs as its page shows them: titles, how sure, ticked when high."""
    found = report.get("matching") or {}
    pairs = [
        {
            "key": pair_key(pair),
            "local_title": pair.get("local_title", ""),
            "remote_title": pair.get("remote_title", ""),
            "percent": round(float(pair.get("confidence", 0)) * 100),
            "marker": bool(pair.get("marker")),
            "checked": float(pair.get("confidence", 0)) >= HIGH,
        }
        for pair in found.get("pairs", [])
    ]
    return {"pairs": pairs, "more": int(found.get("more", 0))}


class MatchRefused(ValueError):
    """A confirmation naming pairs the preview did not offer, or a base side we do not know."""


@dataclasses.dataclass
class Linked:
    linked: int = 0
    skipped: int = 0


def chosen_pairs(
    report: Mapping[str, Any],
    keys: Sequence[str],
    base_from: str,
    bases: Mapping[str, str] | None = None,
) -> list[dict]:
    """The report's pairs the posted keys name, or MatchRefused: every key must be one the
    preview offered, at most once, and `base_from` one of BASE_FROM; `bases` (a pair's own
    choice, overriding `base_from` for it) may name only posted keys, each with a BASE_FROM."""
    bases = bases or {}
    if base_from not in BASE_FROM or any(side not in BASE_FROM for side in bases.values()):
        raise MatchRefused("choose whose values the linked items keep: DayFlow's or the service's")
    if len(keys) > MAX_PAIRS:
        raise MatchRefused(f"at most {MAX_PAIRS} pairs at once")
    if not set(bases) <= set(keys):
        raise MatchRefused("a pair's own choice names a pair that is not being linked")
    offered = {pair_key(p): p for p in (report.get("matching") or {}).get("pairs", [])}
    if len(set(keys)) != len(keys):
        raise MatchRefused("a pair was named twice")
    unknown = [k for k in keys if k not in offered]
    if unknown:
        raise MatchRefused("some pairs were not offered by this preview")
    return [offered[k] for k in keys]


def check_preview(
    job: Any, keys: Sequence[str], base_from: str, bases: Mapping[str, str] | None = None
) -> list[dict]:
    """`chosen_pairs` of a finished preview, or MatchRefused."""
    if not job.dry_run or job.status != "succeeded":
        raise MatchRefused("only a finished preview's pairs can be linked")
    return chosen_pairs(job.report, keys, base_from, bases)


def link_pairs(
    job_id: int,
    keys: Sequence[str],
    base_from: str = "dayflow",
    bases: Mapping[str, str] | None = None,
) -> Linked:
    """Link the confirmed pairs of preview `job_id` without creating anything.

    The base is set so the next sync sees no change where the two copies agree, and sends the
    chosen side's values where they differ (`bases[key]` for a pair given its own choice,
    `base_from` for the rest): DayFlow's (the base is the service's fields as the preview saw
    them, and the DayFlow item counts as changed) or the service's (the base is DayFlow's
    fields, and the service's item counts as changed). A pair whose item was since deleted or
    linked is skipped. Raises MatchRefused for keys the preview did not offer."""
    from sync.models import ItemLink, SyncJob  # sync.models imports nothing of this module

    job = SyncJob.objects.select_related("connection").get(pk=job_id)
    chosen = check_preview(job, keys, base_from, bases)
    bases = bases or {}
    connection = job.connection
    result = Linked()
    with transaction.atomic():
        for pair in chosen:
            item_type = pair["item_type"]
            obj = (
                model_for(item_type)
                .objects.filter(pk=pair["local_id"], user_id=connection.user_id)
                .first()
            )
            links = ItemLink.objects.filter(connection=connection)
            if (
                obj is None
                or links.filter(remote_id=pair["remote_id"]).exists()
                or links.filter(**{fk_column(item_type): obj.pk}).exists()
            ):
                result.skipped += 1
                continue
            if bases.get(pair_key(pair), base_from) == "dayflow":
                base = dict(pair["remote_fields"])
                local_version, remote_version = 0, pair["remote_version"]
            else:
                base, local_version, remote_version = codec.local_fields(obj), obj.version, ""
            link = ItemLink(
                connection=connection,
                item_type=item_type,
                remote_id=pair["remote_id"],
                collection=pair.get("collection", ""),
                remote_version=remote_version,
                local_version=local_version,
                base=base,
                dayflow_id=dayflow_id(item_type, obj.pk),
                web_url=pair.get("web_url", ""),
            )
            setattr(link, fk_column(item_type), obj.pk)
            link.save()
            result.linked += 1
    return result
