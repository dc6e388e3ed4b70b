"""Sync links: the containers a connection syncs, the DayFlow list or calendar each feeds, and
where a DayFlow list's new items go (its destination).

A connection's settings say which containers it syncs (`Provider.collection_setting`);
`reconcile` keeps one `SyncLink` per container and kind of item in step with them, on every
save of a connection. Which DayFlow list a link feeds and which link is a list's destination
are the person's choices, made on the lists page, in the API or in the admin, all through
`set_destination` and `feed_into`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from dayflow.models import Calendar, Profile, TaskList
from integrations.models import CONTROL_CHARS, Connection
from sync.deletion_policy import Mark
from sync.kinds import item_types
from sync.mapping import fk_column
from sync.models import ItemLink, ItemType, SyncLink


class LinkRefused(Exception):
    """A destination or list that cannot be: not the person's, or not the link's kind."""


def containers(connection: Connection) -> list[str]:
    """The containers the connection's settings pick, in their order; [""] for the service's
    default when it has one and none is picked; [] while it needs setup or is disconnected."""
    if connection.status == Connection.Status.DISCONNECTED or not connection.service_id:
        return []
    provider = connection.service.provider
    picked = provider.chosen_collections(connection.field_mapping)
    # Settings saved before they were bounded may hold what no container id is: such a one
    # gets no link (its sync fails and says why), rather than failing the connection's save.
    limit = SyncLink._meta.get_field("collection").max_length
    picked = [c for c in picked if len(c) <= limit and not CONTROL_CHARS.search(c)]
    if picked:
        return picked
    return [] if provider.collection_required else [""]


@transaction.atomic
def reconcile(connection: Connection) -> list[SyncLink]:
    """One link per container the connection syncs and kind of item it syncs there: links of
    containers no longer picked go (their destinations with them), new ones are made. A new
    link becomes the Inbox's (or "My calendar"'s) destination when nothing is yet."""
    provider = connection.service.provider
    kinds = provider.kinds_synced(connection.field_mapping)
    types = [t for t in item_types(connection, provider) if t in kinds]
    wanted = [(t, c) for t in types for c in containers(connection)]
    existing = {(link.item_type, link.collection): link for link in connection.sync_links.all()}
    stale = [link.pk for k, link in existing.items() if k not in wanted]
    SyncLink.objects.filter(pk__in=stale).delete()
    taken = set(
        SyncLink.objects.for_user(connection.user_id)
        .destinations()
        .filter(task_list__isnull=True, calendar__isnull=True)
        .values_list("item_type", flat=True)
    )
    taken |= kept_local(connection.user_id)  # the person said so: a new link does not undo it
    made = []
    for item_type, collection in wanted:
        if (item_type, collection) in existing:
            continue
        link = SyncLink.objects.create(
            connection=connection,
            user_id=connection.user_id,
            item_type=item_type,
            collection=collection,
            is_destination=item_type not in taken,
        )
        taken.add(item_type)
        made.append(link)
    return made


def first_synced(went_through: Iterable[SyncLink], at: dt.datetime) -> int:
    """The links a real sync went through (those it loaded) no longer await their first
    sync (`services.awaits_first_confirmation`); no query once every one has synced."""
    waiting = [link.pk for link in went_through if link.first_synced_at is None]
    if not waiting:
        return 0
    return SyncLink.objects.filter(pk__in=waiting, first_synced_at=None).update(first_synced_at=at)


def learn_names(connection_id: int, items: Iterable[Any]) -> int:
    """Name the connection's links after their containers, as the pulled items call them
    (a task's project or team at the service: `read_only["list_name"]`), so pages say "Home"
    rather than a project's id. One query, and an update only for a name that changed."""
    names: dict[str, str] = {}
    for item in items:
        name = (getattr(item, "read_only", None) or {}).get("list_name")
        if item.collection and isinstance(name, str) and name:
            names.setdefault(item.collection, name[:255])
    if not names:
        return 0
    changed = 0
    for link in SyncLink.objects.filter(connection_id=connection_id, collection__in=list(names)):
        if link.name != names[link.collection]:
            link.name = names[link.collection]
            link.save(update_fields=["name"])
            changed += 1
    return changed


def feed_into(link: SyncLink, dayflow_side: TaskList | Calendar | None) -> SyncLink:
    """The DayFlow list (or calendar) the link's items live in; None: the Inbox (or "My
    calendar"). A destination link stays the destination of its new list, unless that list
    has one already."""
    _check_side(link, dayflow_side)
    with transaction.atomic():
        link = SyncLink.objects.select_for_update().get(pk=link.pk)
        _set_side(link, dayflow_side)
        if link.is_destination and _destination_of(link).exclude(pk=link.pk).exists():
            link.is_destination = False
        link.save(update_fields=["task_list", "calendar", "is_destination"])
    return link


def set_destination(
    user_id: int, item_type: str, dayflow_side: TaskList | Calendar | None, link: SyncLink | None
) -> SyncLink | None:
    """Where the new items of a DayFlow list (or calendar; None: the Inbox or "My calendar")
    go: `link`, which then feeds that list, or nowhere (None: they stay in DayFlow)."""
    if dayflow_side is not None and dayflow_side.user_id != user_id:
        raise LinkRefused("No such list.")
    if link is not None:
        if link.user_id != user_id:
            raise LinkRefused("No such sync link.")
        if link.item_type != item_type:
            raise LinkRefused(f"That link syncs {link.get_item_type_display().lower()}s.")
    with transaction.atomic():
        current = SyncLink.objects.for_user(user_id).destinations().filter(item_type=item_type)
        current = current.filter(**_side_filter(item_type, dayflow_side))
        current.update(is_destination=False)
        if dayflow_side is None:
            _keep_local(user_id, item_type, link is None)
        if link is None:
            return None
        link = SyncLink.objects.select_for_update().get(pk=link.pk)
        _set_side(link, dayflow_side)
        link.is_destination = True
        link.save(update_fields=["task_list", "calendar", "is_destination"])
    return link


# The Profile flag that remembers "stay in DayFlow" for the Inbox (tasks) or "My calendar".
STAYS_LOCAL = {ItemType.TASK: "inbox_stays_local", ItemType.EVENT: "main_calendar_stays_local"}


def kept_local(user_id: int) -> set[str]:
    """The kinds of item whose Inbox (or "My calendar") the person keeps in DayFlow."""
    flags = Profile.objects.filter(user_id=user_id).values(*STAYS_LOCAL.values()).first() or {}
    return {item_type for item_type, flag in STAYS_LOCAL.items() if flags.get(flag)}


def _keep_local(user_id: int, item_type: str, keep: bool) -> None:
    flag = STAYS_LOCAL[ItemType(item_type)]
    if Profile.objects.filter(user_id=user_id).update(**{flag: keep}) == 0 and keep:
        Profile.objects.create(user_id=user_id, **{flag: keep})


KEEP: Any = object()  # `choose`: leave the link's list as it is


def choose(
    link: SyncLink,
    dayflow_side: TaskList | Calendar | None = KEEP,
    is_destination: bool | None = None,
) -> SyncLink:
    """A person's choice for one link, as the API and the admin take it: the list (or
    calendar) it feeds first (`feed_into`), then whether it is that list's destination
    (`set_destination`: true takes it from the link that was; false clears it if it is)."""
    if dayflow_side is not KEEP:
        link = feed_into(link, dayflow_side)
    side = link.task_list if link.item_type == ItemType.TASK else link.calendar
    if is_destination:
        set_destination(link.user_id, link.item_type, side, link)
    elif is_destination is False and link.is_destination:
        set_destination(link.user_id, link.item_type, side, None)
    return link


def hand_over(item_type: str, local_id: int, user_id: int, dayflow_side: int | None) -> int:
    """A DayFlow item the person moved to another list (or calendar): when that list's new
    items go to another connection than the one holding the item, that connection takes it
    and the holder lets go of its copy (`ItemLink.handover_to`, `decisions.hand_over`). A
    list with no destination, or one sent to the holder itself, leaves it where it is (a move
    between two containers of one connection is `plan.moved_to`'s).

    An item moved back to a connection that let go of it keeps its old copy there: the copy
    kept apart (or waiting for the person) pairs with it again, rather than a second one being
    made beside it. The links touched."""
    destination = destination_map(user_id, item_type).get(dayflow_side)
    linked = ItemLink.objects.filter(**{f"{fk_column(item_type)}": local_id}, undone_at=None)
    holders = linked.filter(deletion_pending="")
    if destination is None:
        return holders.update(handover_to=None)
    taker = destination.connection_id
    kept = holders.filter(connection_id=taker).update(handover_to=None)
    back = linked.filter(
        connection_id=taker,
        handover_to__isnull=False,
        deletion_pending__in=(Mark.MOVED, Mark.UNLINKED),
    ).update(handover_to=None, deletion_pending="", deletion_pending_at=None)
    return back + kept + holders.exclude(connection_id=taker).update(handover_to=taker)


def destination_map(user_id: int, item_type: str) -> dict[int | None, SyncLink]:
    """The person's destinations of one kind: DayFlow list id (None: the Inbox) -> link."""
    links = SyncLink.objects.for_user(user_id).destinations().filter(item_type=item_type)
    return {link.dayflow_side_id: link for link in links}


class ContainerLinks:
    """A connection's links by container, loaded once: the link of an item's container,
    else the link of the service's default, else the only link of that kind."""

    def __init__(self, connection: Connection | int) -> None:
        connection_id = connection if isinstance(connection, int) else connection.pk
        query = SyncLink.objects.filter(connection_id=connection_id)
        self.links = list(query)
        if isinstance(connection, Connection):
            for link in self.links:
                link.connection = connection  # its rules and policy fall back to these
        self.by_container = {(link.item_type, link.collection): link for link in self.links}
        self.by_type: dict[str, list[SyncLink]] = {}
        for link in self.links:
            self.by_type.setdefault(link.item_type, []).append(link)

    def link_of(self, item_type: str, collection: str) -> SyncLink | None:
        for container in (collection, ""):
            if (item_type, container) in self.by_container:
                return self.by_container[item_type, container]
        only = self.by_type.get(item_type, [])
        return only[0] if len(only) == 1 else None


class Sides(ContainerLinks):
    """Which DayFlow list (or calendar) a connection's items land in, by their container;
    None (the Inbox) when no link says."""

    def of(self, item_type: str, collection: str) -> int | None:
        link = self.link_of(item_type, collection)
        return link.dayflow_side_id if link is not None else None


class LinkSettings(ContainerLinks):
    """What syncs and what a deletion does, by container: the container's link's own rules
    and deletion policy (`SyncLink.sync_rules`, `.deletion_policy`), else the connection's."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(connection)
        self.connection = connection

    def rules(self, item_type: str, collection: str) -> Any:
        link = self.link_of(item_type, collection)
        return link.rules_in_force if link is not None else self.connection.sync_rules

    def policy(self, item_type: str, collection: str) -> str:
        link = self.link_of(item_type, collection)
        return link.policy_in_force if link is not None else self.connection.deletion_policy

    def every_rules(self) -> list[Any]:
        """The connection's rules and every link's own: what a moving window is looked for in."""
        return [self.connection.sync_rules, *(link.sync_rules for link in self.links)]

    def fingerprint(self) -> list[Any]:
        """What the rules in force are, to tell whether they changed while a run went on."""
        own = sorted(
            ((link.item_type, link.collection, link.sync_rules) for link in self.links),
            key=lambda entry: entry[:2],
        )
        return [self.connection.sync_rules, own]


def side_id(item_type: str, obj: object) -> int | None:
    """The DayFlow list (or calendar) id of a task (or event); None: the Inbox."""
    column = "task_list_id" if item_type == ItemType.TASK else "calendar_id"
    return getattr(obj, column, None)


def side_column(item_type: str) -> str:
    return "task_list_id" if item_type == ItemType.TASK else "calendar_id"


def forget_destinations(dayflow_sides: Iterable[TaskList | Calendar]) -> None:
    """A list about to go: its links stop being anyone's destination, so they do not fall
    to the Inbox as a second destination of it."""
    for side in dayflow_sides:
        column = "task_list" if isinstance(side, TaskList) else "calendar"
        SyncLink.objects.filter(**{column: side}).update(is_destination=False)


def _check_side(link: SyncLink, dayflow_side: TaskList | Calendar | None) -> None:
    if dayflow_side is None:
        return
    if dayflow_side.user_id != link.user_id:
        raise LinkRefused("No such list.")
    wanted = TaskList if link.item_type == ItemType.TASK else Calendar
    if not isinstance(dayflow_side, wanted):
        kind = link.get_item_type_display().lower()
        raise LinkRefused(f"A {kind} link feeds a {wanted._meta.verbose_name}.")


def _set_side(link: SyncLink, dayflow_side: TaskList | Calendar | None) -> None:
    _check_side(link, dayflow_side)
    if link.item_type == ItemType.TASK:
        link.task_list = dayflow_side
    else:
        link.calendar = dayflow_side


def _side_filter(item_type: str, dayflow_side: TaskList | Calendar | None) -> dict:
    column = "task_list" if item_type == ItemType.TASK else "calendar"
    if dayflow_side is None:
        return {"task_list__isnull": True, "calendar__isnull": True}
    return {column: dayflow_side}


def _destination_of(link: SyncLink):
    return (
        SyncLink.objects.for_user(link.user_id)
        .destinations()
        .filter(item_type=link.item_type)
        .filter(**_side_filter(link.item_type, link.task_list or link.calendar))
    )
