"""The console's view of each emulated service: its containers and items in the service's own
words, read into plain values, and changed through the emulator's own change functions, so a
change made in the console moves the change feed and sends the webhook as an API call would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from integrations.sandbox import clickup, google_calendar, linear, notion, outlook, store, todoist
from integrations.sandbox.models import Account, Item

ZONE = "Europe/Berlin"  # where the console's wall times are, when an item names no zone


@dataclasses.dataclass(frozen=True)
class Change:
    """What a person sets on an item: a task's title, done and due, or an event's span."""

    title: str
    done: bool = False
    due: dt.date | None = None
    due_time: dt.time | None = None
    all_day: bool = False
    start: dt.datetime | None = None  # wall times in the item's zone
    end: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Row:
    item: Item
    now: Change
    zone: str = ""


class Desk:
    """One service's items, as the console shows and changes them."""

    key: ClassVar[str]
    name: ClassVar[str]
    item_kind: ClassVar[str]
    container_kind: ClassVar[str]
    item_word: ClassVar[str]  # "task", "page", "issue", "event"
    container_word: ClassVar[str]  # "project", "database", "team", "list", "calendar"
    events: ClassVar[bool] = False  # a start and an end instead of done and due
    due_times: ClassVar[bool] = True  # whether a due date can carry a time

    def containers(self, account: Account) -> list[tuple[str, str]]:
        return [(c.remote_id, self.container_name(c)) for c in self._containers(account)]

    def _containers(self, account: Account) -> Iterable[Item]:
        return store.live(account, self.container_kind).order_by("pk")

    def container_name(self, container: Item) -> str:
        return str(container.data.get("name", container.remote_id))

    def items(self, account: Account, container: str) -> list[Row]:
        found = store.live(account, self.item_kind, container).order_by("pk")
        return [
            Row(item, self.read(item), self.zone_of(item)) for item in found if self.shown(item)
        ]

    def item(self, account: Account, pk: int) -> Item | None:
        found = Item.objects.filter(
            account=account, kind=self.item_kind, pk=pk, deleted=False
        ).first()
        return found if found is not None and self.shown(found) else None

    def container(self, account: Account, remote_id: str) -> Item | None:
        return store.find(account, self.container_kind, remote_id)

    def shown(self, item: Item) -> bool:
        return True

    def zone_of(self, item: Item) -> str:
        return ""

    def read(self, item: Item) -> Change:
        raise NotImplementedError

    def add(self, account: Account, container: Item, change: Change) -> None:
        raise NotImplementedError

    def edit(self, item: Item, change: Change) -> None:
        raise NotImplementedError

    def delete(self, item: Item) -> None:
        raise NotImplementedError


def _day_and_time(value: str) -> tuple[dt.date, dt.time | None]:
    """An ISO date or date-time as its wall date and time (the offset, if any, kept)."""
    if "T" not in value:
        return dt.date.fromisoformat(value), None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment.date(), moment.time().replace(second=0, microsecond=0)


def _wall(day: dt.date, at: dt.time | None) -> str:
    return day.isoformat() if at is None else f"{day.isoformat()}T{at:%H:%M}:00"


# --- Todoist ------------------------------------------------------------------------------
class TodoistDesk(Desk):
    key, name = todoist.KEY, "Todoist"
    item_kind, container_kind = todoist.TASK, todoist.PROJECT
    item_word, container_word = "task", "project"

    def _containers(self, account: Account) -> Iterable[Item]:
        return sorted(store.live(account, self.container_kind), key=lambda p: p.data["child_order"])

    def read(self, item: Item) -> Change:
        due, at = self._due(item.data["due"])
        return Change(item.data["content"], bool(item.data["checked"]), due, at)

    def _due(self, due: dict[str, Any] | None) -> tuple[dt.date | None, dt.time | None]:
        if not due:
            return None, None
        day, at = _day_and_time(due["date"])
        if at is not None and due.get("timezone"):  # a fixed time, stored in UTC
            moment = dt.datetime.fromisoformat(due["date"].replace("Z", "+00:00"))
            local = moment.astimezone(ZoneInfo(due["timezone"]))
            return local.date(), local.time().replace(second=0, microsecond=0)
        return day, at

    def add(self, account: Account, container: Item, change: Change) -> None:
        mapping: dict[str, str] = {}
        args = {"content": change.title, "project_id": container.remote_id, **self._due_arg(change)}
        self._run(account, {"type": "item_add", "temp_id": "console", "args": args}, mapping)
        if change.done:
            self._run(account, {"type": "item_close", "args": {"id": mapping["console"]}}, {})

    def edit(self, item: Item, change: Change) -> None:
        before = self.read(item)
        args: dict[str, Any] = {"id": item.remote_id, "content": change.title}
        if (change.due, change.due_time) != (before.due, before.due_time):
            args.update(self._due_arg(change))  # else a recurring due stays recurring
        self._run(item.account, {"type": "item_update", "args": args}, {})
        if change.done != before.done:
            kind = "item_close" if change.done else "item_uncomplete"
            self._run(item.account, {"type": kind, "args": {"id": item.remote_id}}, {})

    def delete(self, item: Item) -> None:
        self._run(item.account, {"type": "item_delete", "args": {"id": item.remote_id}}, {})

    def _due_arg(self, change: Change) -> dict[str, Any]:
        """A floating due: Todoist's "date" without a zone. https://developer.todoist.com/api/v1/#tag/Due-dates"""
        return {"due": {"date": _wall(change.due, change.due_time)} if change.due else None}

    def _run(self, account: Account, command: dict[str, Any], mapping: dict[str, str]) -> None:
        answer = todoist.apply_command(account, command, mapping)
        if answer != "ok":
            raise ValueError(f"Todoist refused {command['type']}: {answer}")


# --- Notion -------------------------------------------------------------------------------
class NotionDesk(Desk):
    """Pages of a database: the title property, a status ("Done") or a checkbox, a date "Due"."""

    key, name = notion.KEY, "Notion"
    item_kind, container_kind = notion.PAGE, notion.SOURCE
    item_word, container_word = "page", "database"
    DONE, OPEN = "Done", "Not started"

    def container_name(self, container: Item) -> str:
        return "".join(run["plain_text"] for run in container.data["title"])

    def read(self, item: Item) -> Change:
        values = item.data["properties"]
        title = next(v for v in values.values() if v["type"] == "title")
        done = self._done_prop(values)
        due = values.get("Due", {}).get("date")
        day, at = _day_and_time(due["start"]) if due else (None, None)
        return Change("".join(r["plain_text"] for r in title["title"]), done, day, at)

    def _done_prop(self, values: dict[str, Any]) -> bool:
        for value in values.values():
            if value["type"] == "status":
                return bool(value["status"]) and value["status"]["name"] == self.DONE
            if value["type"] == "checkbox":
                return bool(value["checkbox"])
        return False

    def add(self, account: Account, container: Item, change: Change) -> None:
        notion.create_page_in(account, container, self._properties(container, change, None))

    def edit(self, item: Item, change: Change) -> None:
        source = self.container(item.account, item.container)
        properties = self._properties(source, change, self.read(item))
        notion.patch_page(item, {"properties": properties})

    def delete(self, item: Item) -> None:
        notion.patch_page(item, {"in_trash": True})

    def _properties(self, source: Item, change: Change, before: Change | None) -> dict[str, Any]:
        schema = source.data["properties"]
        title = next(name for name, prop in schema.items() if prop["type"] == "title")
        written: dict[str, Any] = {title: {"title": [{"text": {"content": change.title}}]}}
        if before is None or change.done != before.done:  # "In progress" stays, unless flipped
            written.update(self._done_value(schema, change.done))
        if schema.get("Due", {}).get("type") == "date":
            written["Due"] = {"date": self._date(change)}
        return written

    def _done_value(self, schema: dict[str, Any], done: bool) -> dict[str, Any]:
        for name, prop in schema.items():
            if prop["type"] == "status":
                return {name: {"status": {"name": self.DONE if done else self.OPEN}}}
            if prop["type"] == "checkbox":
                return {name: {"checkbox": done}}
        return {}

    def _date(self, change: Change) -> dict[str, Any] | None:
        if change.due is None:
            return None
        if change.due_time is None:
            return {"start": change.due.isoformat()}
        return {"start": _wall(change.due, change.due_time), "time_zone": ZONE}


# --- Linear -------------------------------------------------------------------------------
class LinearDesk(Desk):
    """Issues of a team; "done" is the Done state, a due date has no time in Linear."""

    key, name = linear.KEY, "Linear"
    item_kind, container_kind = linear.ISSUE, linear.TEAM
    item_word, container_word = "issue", "team"
    due_times = False

    def read(self, item: Item) -> Change:
        due = item.data["dueDate"]
        done = item.data["state"]["type"] == "completed"
        return Change(item.data["title"], done, dt.date.fromisoformat(due) if due else None)

    def add(self, account: Account, container: Item, change: Change) -> None:
        issue_input = {"teamId": container.remote_id, **self._input(change, None)}
        linear.issue_create(account, issue_input)

    def edit(self, item: Item, change: Change) -> None:
        linear.issue_update(item.account, item.remote_id, self._input(change, self.read(item)))

    def delete(self, item: Item) -> None:
        linear.issue_delete(item.account, item.remote_id)

    def _input(self, change: Change, before: Change | None) -> dict[str, Any]:
        issue_input: dict[str, Any] = {
            "title": change.title,
            "dueDate": change.due.isoformat() if change.due else None,
        }
        if before is None or change.done != before.done:  # "In Progress" stays, unless flipped
            issue_input["stateId"] = "Done" if change.done else "Todo"
        return issue_input


# --- ClickUp ------------------------------------------------------------------------------
class ClickUpDesk(Desk):
    """Tasks of a list; "done" is the list's closed status, due dates are Unix milliseconds."""

    key, name = clickup.KEY, "ClickUp"
    item_kind, container_kind = clickup.TASK, clickup.LIST
    item_word, container_word = "task", "list"

    def read(self, item: Item) -> Change:
        data = item.data
        done = data["status"]["type"] in ("closed", "done")
        if data["due_date"] is None:
            return Change(data["name"], done)
        local = dt.datetime.fromtimestamp(int(data["due_date"]) / 1000, ZoneInfo(ZONE))
        at = local.time().replace(second=0, microsecond=0) if data["due_date_time"] else None
        return Change(data["name"], done, local.date(), at)

    def add(self, account: Account, container: Item, change: Change) -> None:
        clickup.create_task(account, container, self._body(container, change, None))

    def edit(self, item: Item, change: Change) -> None:
        list_item = self.container(item.account, item.container)
        clickup.update_task(item, self._body(list_item, change, self.read(item)))

    def delete(self, item: Item) -> None:
        clickup.delete_task(item)

    def _body(self, list_item: Item, change: Change, before: Change | None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": change.title, "due_date": None, "due_date_time": False}
        if change.due is not None:
            local = dt.datetime.combine(change.due, change.due_time or dt.time(), ZoneInfo(ZONE))
            body.update(due_date=int(local.timestamp() * 1000), due_date_time=bool(change.due_time))
        if before is None or change.done != before.done:
            body["status"] = self._status(list_item, change.done)
        return body

    def _status(self, list_item: Item, done: bool) -> str:
        wanted = ("closed", "done") if done else ("open",)
        return next(s["status"] for s in list_item.data["statuses"] if s["type"] in wanted)


# --- the calendars ------------------------------------------------------------------------
class GoogleCalendarDesk(Desk):
    key, name = google_calendar.KEY, "Google Calendar"
    item_kind, container_kind = google_calendar.EVENT, google_calendar.CALENDAR
    item_word, container_word = "event", "calendar"
    events = True

    def container_name(self, container: Item) -> str:
        return str(container.data["summary"])

    def shown(self, item: Item) -> bool:
        return item.data.get("status") != "cancelled"

    def zone_of(self, item: Item) -> str:
        calendar = self.container(item.account, item.container)
        own = item.data["start"].get("timeZone")
        return own or (calendar.data["timeZone"] if calendar else ZONE)

    def read(self, item: Item) -> Change:
        start, end = item.data["start"], item.data["end"]
        if "date" in start:
            first, after = dt.date.fromisoformat(start["date"]), dt.date.fromisoformat(end["date"])
            return Change(
                item.data.get("summary", ""),
                all_day=True,
                start=dt.datetime.combine(first, dt.time()),
                end=dt.datetime.combine(after, dt.time()),
            )
        zone = ZoneInfo(self.zone_of(item))
        return Change(
            item.data.get("summary", ""),
            start=self._local(start["dateTime"], zone),
            end=self._local(end["dateTime"], zone),
        )

    def _local(self, value: str, zone: ZoneInfo) -> dt.datetime:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment.astimezone(zone).replace(tzinfo=None)

    def add(self, account: Account, container: Item, change: Change) -> None:
        zone = str(container.data["timeZone"])
        body = {"summary": change.title, **self._span(change, zone)}
        google_calendar.insert_event(account, container, body)

    def edit(self, item: Item, change: Change) -> None:
        body = {**item.data, "summary": change.title, **self._span(change, self.zone_of(item))}
        google_calendar.replace_event(item.account, item, body)

    def delete(self, item: Item) -> None:
        google_calendar.delete_event(item.account, item)

    def _span(self, change: Change, zone: str) -> dict[str, Any]:
        if change.all_day:
            return {"start": {"date": change.start.date().isoformat()}, "end": self._after(change)}
        return {"start": self._when(change.start, zone), "end": self._when(change.end, zone)}

    def _after(self, change: Change) -> dict[str, str]:
        """An all-day event's end date is exclusive: a one-day event ends the day after."""
        last = max(change.end.date(), change.start.date() + dt.timedelta(days=1))
        return {"date": last.isoformat()}

    def _when(self, wall: dt.datetime, zone: str) -> dict[str, str]:
        return {"dateTime": wall.replace(tzinfo=ZoneInfo(zone)).isoformat(), "timeZone": zone}


class OutlookDesk(Desk):
    key, name = outlook.KEY, "Outlook"
    item_kind, container_kind = outlook.EVENT, outlook.CALENDAR
    item_word, container_word = "event", "calendar"
    events = True

    def zone_of(self, item: Item) -> str:
        return str(item.data["start"].get("timeZone", "UTC"))

    def read(self, item: Item) -> Change:
        start, end = item.data["start"], item.data["end"]
        return Change(
            item.data["subject"],
            all_day=bool(item.data["isAllDay"]),
            start=dt.datetime.fromisoformat(start["dateTime"][:19]),
            end=dt.datetime.fromisoformat(end["dateTime"][:19]),
        )

    def add(self, account: Account, container: Item, change: Change) -> None:
        outlook.create_event(account, container, self._body(change, ZONE), store.now())

    def edit(self, item: Item, change: Change) -> None:
        outlook.update_event(item.account, item, self._body(change, self.zone_of(item)))

    def delete(self, item: Item) -> None:
        outlook.delete_event(item.account, item, None)

    def _body(self, change: Change, zone: str) -> dict[str, Any]:
        start, end = change.start, change.end
        if change.all_day:  # Graph's all-day events run midnight to midnight
            start = dt.datetime.combine(start.date(), dt.time())
            end = dt.datetime.combine(
                max(end.date(), start.date() + dt.timedelta(days=1)), dt.time()
            )
        return {
            "subject": change.title,
            "isAllDay": change.all_day,
            "start": {"dateTime": f"{start:%Y-%m-%dT%H:%M:%S}.0000000", "timeZone": zone},
            "end": {"dateTime": f"{end:%Y-%m-%dT%H:%M:%S}.0000000", "timeZone": zone},
        }


DESKS: dict[str, Desk] = {
    desk.key: desk
    for desk in (
        TodoistDesk(),
        GoogleCalendarDesk(),
        NotionDesk(),
        LinearDesk(),
        ClickUpDesk(),
        OutlookDesk(),
    )
}
