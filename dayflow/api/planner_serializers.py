"""Tasks and events as the API reads and writes them, validated at the boundary: lengths,
choices, dates within years 1900-2200, an IANA zone, a recurrence rule dateutil can read, a
bounded list of exception dates, and an event's end after its start. What the sync engine and
the services would refuse later is refused here, field by field, as a 400."""

from __future__ import annotations

import datetime as dt
import functools
import re
import zoneinfo
from typing import Any

from dateutil.rrule import rrulestr
from django.db import models
from django.utils import timezone
from rest_framework import serializers

from dayflow.api.bounds import FIRST_YEAR, LAST_YEAR
from dayflow.api.owned import OwnedId
from dayflow.api.strict import StrictModelSerializer
from dayflow.models import ANSWER_WORDS, Calendar, Event, Task, TaskList
from dayflow.tags import MAX_TAG_CHARS, MAX_TAGS, normalized_tags, tag_errors

MAX_TEXT = 100_000  # notes and descriptions; the services' own limits are lower still
MAX_EXDATES = 1000
MAX_ISO_LENGTH = 40
READ_ONLY = ["id", "version", "created_at", "updated_at"]


def in_years(value: dt.date) -> dt.date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise serializers.ValidationError(f"Choose a date in the years {FIRST_YEAR}-{LAST_YEAR}.")
    return value


class PlannerDateField(serializers.DateField):
    def to_internal_value(self, value: Any) -> dt.date:
        return in_years(super().to_internal_value(value))


class PlannerDateTimeField(serializers.DateTimeField):
    def to_internal_value(self, value: Any) -> dt.datetime:
        return in_years(super().to_internal_value(value))


class PlannerSerializer(StrictModelSerializer):
    serializer_field_mapping = {
        **StrictModelSerializer.serializer_field_mapping,
        models.DateField: PlannerDateField,
        models.DateTimeField: PlannerDateTimeField,
    }

    def merged(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """The object as it will be: the incoming fields over the stored ones (for PATCH), by
        the model's names (`task_list`, not the API's `list`)."""
        names = [field.source for field in self.fields.values()]
        stored = {name: getattr(self.instance, name) for name in names} if self.instance else {}
        return {**stored, **attrs}


def not_blank(value: str) -> str:
    value = value.strip()
    if not value:
        raise serializers.ValidationError("Give it a title.")
    return value


class TaskSerializer(PlannerSerializer):
    # Declared, not derived: the model field's bounds come from the database (SQLite's 64-bit
    # range, PostgreSQL's smallint), and the schema must be the same on every database.
    priority = serializers.ChoiceField(choices=Task.Priority.choices, required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=MAX_TAG_CHARS),
        max_length=MAX_TAGS,
        required=False,
        help_text="Labels or tags by name, kept sorted and distinct: synced as the service's "
        "labels (Todoist, Linear), tags (ClickUp) or the Notion property the mapping names.",
    )
    list = OwnedId(
        TaskList,
        "No such list.",
        source="task_list",
        required=False,
        allow_null=True,
        help_text="The id of your list it is in (`/api/lists`); null: the Inbox.",
    )

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "notes",
            "status",
            "priority",
            "due_date",
            "due_at",
            "completed_at",
            "list",
            "list_name",
            "tags",
            *READ_ONLY[1:],
        ]
        read_only_fields = [*READ_ONLY, "completed_at"]
        extra_kwargs = {
            "notes": {"max_length": MAX_TEXT},
            "list_name": {"help_text": "The list or project it is in at the service."},
            "completed_at": {"help_text": "Set when the task is done, cleared when reopened."},
        }

    def validate_title(self, title: str) -> str:
        return not_blank(title)

    def validate_tags(self, tags: list[str]) -> list[str]:
        errors = tag_errors(tags)
        if errors:
            raise serializers.ValidationError(errors)
        return normalized_tags(tags)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        task = self.merged(attrs)
        if task.get("due_date") and task.get("due_at"):
            raise serializers.ValidationError(
                {"due_at": ["Give a due date or a due time, not both."]}
            )
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Task:
        return super().create(with_completion(validated_data, None))

    def update(self, instance: Task, validated_data: dict[str, Any]) -> Task:
        return super().update(instance, with_completion(validated_data, instance))


def with_completion(fields: dict[str, Any], task: Task | None) -> dict[str, Any]:
    """A task set done records when; one set open again forgets it."""
    if fields.get("status") == Task.Status.DONE and (task is None or task.completed_at is None):
        return {**fields, "completed_at": timezone.now()}
    if fields.get("status") == Task.Status.OPEN:
        return {**fields, "completed_at": None}
    return fields


class AttendeeSerializer(serializers.Serializer):
    """One attendee as the calendar service lists them (read-only)."""

    email = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    response = serializers.ChoiceField(
        choices=list(ANSWER_WORDS), read_only=True, help_text='Their answer; "" for none yet.'
    )


class EventSerializer(PlannerSerializer):
    attendees = AttendeeSerializer(
        many=True,
        read_only=True,
        help_text="Who is invited, from Google Calendar or Outlook; change them there.",
    )

    series = serializers.PrimaryKeyRelatedField(
        queryset=Event.objects.none(),
        required=False,
        allow_null=True,
        help_text="For an overridden instance: the id of your recurring event it belongs to.",
    )
    exdates = serializers.ListField(
        child=serializers.CharField(max_length=MAX_ISO_LENGTH),
        max_length=MAX_EXDATES,
        required=False,
        help_text="Exception dates of a recurring event: ISO 8601 dates or date-times.",
    )
    calendar = OwnedId(
        Calendar,
        "No such calendar.",
        required=False,
        allow_null=True,
        help_text='The id of your calendar it is in (`/api/calendars`); null: "My calendar".',
    )

    class Meta:
        model = Event
        fields = [
            "id",
            "title",
            "description",
            "location",
            "calendar",
            "status",
            "all_day",
            "start",
            "end",
            "timezone",
            "start_date",
            "end_date",
            "rrule",
            "exdates",
            "series",
            "recurrence_id",
            "attendees",
            *READ_ONLY[1:],
        ]
        read_only_fields = READ_ONLY
        extra_kwargs = {
            "description": {"max_length": MAX_TEXT},
            "timezone": {"help_text": "An IANA zone such as Europe/Paris; empty: floating time."},
            "rrule": {"help_text": "An RFC 5545 RRULE value, e.g. FREQ=WEEKLY;BYDAY=MO."},
            "start_date": {"help_text": "All-day events: the first day."},
            "end_date": {"help_text": "All-day events: the day after the last (exclusive)."},
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["series"].queryset = Event.objects.for_user(request.user)

    def validate_title(self, title: str) -> str:
        return not_blank(title)

    def validate_timezone(self, name: str) -> str:
        if name and name not in iana_zones():
            raise serializers.ValidationError("Choose an IANA time zone, such as Europe/Paris.")
        return name

    def validate_rrule(self, rule: str) -> str:
        rule = rule.strip().upper().removeprefix("RRULE:")
        if rule and not readable_rrule(rule):
            raise serializers.ValidationError("Give an RFC 5545 rule, e.g. FREQ=WEEKLY;BYDAY=MO.")
        return rule

    def validate_exdates(self, exdates: list[str]) -> list[str]:
        for text in exdates:
            if parse_instant(text) is None:
                raise serializers.ValidationError(
                    f"{text[:MAX_ISO_LENGTH]!r} is not an ISO 8601 date or date-time "
                    f"in the years {FIRST_YEAR}-{LAST_YEAR}."
                )
        return sorted(set(exdates))

    def validate_recurrence_id(self, text: str) -> str:
        if text and parse_instant(text) is None:
            raise serializers.ValidationError("Give the instance's original start in ISO 8601.")
        return text

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        event = self.merged(attrs)
        errors = when_errors(event) | recurrence_errors(event, self.instance)
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


def when_errors(event: dict[str, Any]) -> dict[str, list[str]]:
    """All-day events have dates, timed events instants; either way the end follows the start."""
    if event.get("all_day"):
        if event.get("start") or event.get("end"):
            return {"start": ["An all-day event has start_date and end_date, not start and end."]}
        if not event.get("start_date"):
            return {"start_date": ["An all-day event needs its first day."]}
        end = event.get("end_date")
        if end is not None and end <= event["start_date"]:
            return {"end_date": ["The end date (exclusive) must come after the start date."]}
        return {}
    if event.get("start_date") or event.get("end_date"):
        return {"start_date": ["Only all-day events have start_date and end_date."]}
    if not event.get("start"):
        return {"start": ["An event needs its start."]}
    end = event.get("end")
    if end is not None and end <= event["start"]:
        return {"end": ["The end must come after the start."]}
    return {}


def recurrence_errors(event: dict[str, Any], instance: Event | None) -> dict[str, list[str]]:
    """A series master has a rule; an overridden instance names its master and original start."""
    series = event.get("series")
    if event.get("exdates") and not event.get("rrule"):
        return {"exdates": ["Exception dates need a recurrence rule."]}
    if (
        instance is not None
        and instance.rrule
        and not event.get("rrule")
        and has_instances(instance)
    ):
        return {"rrule": ["The series has overridden instances: delete them first."]}
    if series is None:
        if event.get("recurrence_id"):
            return {"recurrence_id": ["Only an instance of a series has a recurrence id."]}
        return {}
    if instance is not None and series.pk == instance.pk:
        return {"series": ["An event cannot be an instance of itself."]}
    if not series.rrule or series.series_id is not None:
        return {"series": ["Choose a recurring event (a series master)."]}
    if event.get("rrule"):
        return {"rrule": ["An instance of a series has no rule of its own."]}
    if not event.get("recurrence_id"):
        return {"recurrence_id": ["Give the instance's original start in ISO 8601."]}
    return {}


def has_instances(master: Event) -> bool:
    return Event.objects.filter(series=master).exists()


@functools.cache
def iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


# RFC 5545 §3.3.10's ranges, which dateutil does not check (it takes INTERVAL=0 or
# BYMONTH=13), and bounds of our own on how often and how long a series repeats.
RRULE_RANGES = {
    "INTERVAL": (1, 1000),
    "COUNT": (1, 100_000),
    "BYSECOND": (0, 60),
    "BYMINUTE": (0, 59),
    "BYHOUR": (0, 23),
    "BYMONTHDAY": (-31, 31),
    "BYYEARDAY": (-366, 366),
    "BYWEEKNO": (-53, 53),
    "BYMONTH": (1, 12),
    "BYSETPOS": (-366, 366),
}
WEEKDAY_ORDINAL = re.compile(r"[+-]?([0-9]{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
NUMBER = re.compile(r"[+-]?[0-9]{1,6}")


@functools.lru_cache(maxsize=1024)
def readable_rrule(rule: str) -> bool:
    """Whether the one RRULE value parses (no other lines: DTSTART, EXDATE stay our fields)."""
    if any(char in rule for char in "\r\n:"):
        return False
    parts = [part.partition("=") for part in rule.upper().split(";")]
    names = [name for name, _, _ in parts]
    if "FREQ" not in names or len(names) != len(set(names)) or {"COUNT", "UNTIL"} <= set(names):
        return False
    if not all(within_rfc(name, value) for name, _, value in parts):
        return False
    try:
        rrulestr(rule, dtstart=dt.datetime(2000, 1, 1))
    except (ValueError, TypeError, OverflowError, KeyError, IndexError, AttributeError):
        return False
    return True


def within_rfc(name: str, value: str) -> bool:
    if name == "BYDAY":
        matches = [WEEKDAY_ORDINAL.fullmatch(day) for day in value.split(",")]
        return all(m and int(m.group(1) or 1) in range(1, 54) for m in matches)
    if name not in RRULE_RANGES:
        return True
    low, high = RRULE_RANGES[name]
    numbers = value.split(",")
    if not all(NUMBER.fullmatch(number) for number in numbers):
        return False
    signed = low < 0
    return all(low <= int(n) <= high and (int(n) != 0 or not signed) for n in numbers)


def parse_instant(text: str) -> dt.date | None:
    """An ISO 8601 date or date-time within the years we accept, or None."""
    try:
        value = dt.datetime.fromisoformat(text) if "T" in text else dt.date.fromisoformat(text)
    except ValueError:
        return None
    return value if FIRST_YEAR <= value.year <= LAST_YEAR else None
