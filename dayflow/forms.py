"""The planner's forms: tasks, events (with a simple recurrence) and the profile's time zone.

Every bound is checked here, so a hostile or mistyped form is a form error, never a 500:
lengths, dates between 1900 and 2200, zones the system knows, choices.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from dayflow import agenda, recurrence
from dayflow.models import INBOX, MAIN_CALENDAR, ApiToken, Calendar, Event, Profile, Task, TaskList
from dayflow.tags import MAX_TAG_CHARS, MAX_TAGS, normalized_tags, validate_tags

FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
NOTES_MAX = 10_000


@functools.cache
def zone_choices() -> list[tuple[str, str]]:
    names = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
    return [(name, name.replace("_", " ")) for name in names]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self) -> None:
        super().__init__(format="%H:%M")


def day_field(label: str, required: bool = False) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        widget=DateInput(),
        validators=[_within_bounds],
    )


def _within_bounds(value: dt.date) -> None:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValidationError("Choose a date between the years 1900 and 2200.")


def _zone(name: str) -> dt.tzinfo:
    # No zone: floating time, whose wall clock the aware column keeps as if it were UTC (the
    # convention `sync.fields` reads).
    return zoneinfo.ZoneInfo(name) if name else dt.UTC


# --- tasks -----------------------------------------------------------------------------------
class TagsField(forms.CharField):
    """Tags typed as names separated by commas; the list the model validates again."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            label="Tags, separated by commas",
            required=False,
            max_length=MAX_TAGS * (MAX_TAG_CHARS + 2),
            help_text=f"Separate them with commas: at most {MAX_TAGS}, each up to "
            f"{MAX_TAG_CHARS} characters.",
            **kwargs,
        )

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def clean(self, value: Any) -> list[str]:
        text = super().clean(value)
        names = [name.strip() for name in text.split(",") if name.strip()]
        validate_tags(names)
        return normalized_tags(names)


def side_field(model: type[TaskList] | type[Calendar], user: Any, main: str, label: str):
    """A select of the person's own lists (or calendars), "" being the Inbox (or "My
    calendar"): another person's id is not a choice, so it is a form error."""
    owned = model.objects.for_user(user) if user is not None else model.objects.none()
    return forms.ModelChoiceField(queryset=owned, required=False, empty_label=main, label=label)


class TaskForm(forms.ModelForm):
    due_day = day_field("Due date")
    due_time = forms.TimeField(label="Due time", required=False, widget=TimeInput())
    notes = forms.CharField(
        max_length=NOTES_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    tags = TagsField()

    class Meta:
        model = Task
        fields = ["title", "notes", "priority", "task_list", "list_name", "tags"]
        labels = {"list_name": "List or project at the service"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        task = self.instance
        self.fields["task_list"] = side_field(TaskList, task.user_id, INBOX, "List")
        if task.due_at:
            local = timezone.localtime(task.due_at)
            self.initial.update(due_day=local.date(), due_time=local.time())
        elif task.due_date:
            self.initial["due_day"] = task.due_date
        self.order_fields(
            ["title", "due_day", "due_time", "priority", "task_list", "list_name", "tags", "notes"]
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("due_time") and not cleaned.get("due_day"):
            self.add_error("due_day", "Choose the day it is due, or leave the time empty.")
        return cleaned

    def save(self, commit: bool = True) -> Task:
        task, day, time = self.instance, self.cleaned_data["due_day"], self.cleaned_data["due_time"]
        if day and time:
            task.due_at = dt.datetime.combine(day, time, timezone.get_current_timezone())
            task.due_date = None
        else:
            task.due_at, task.due_date = None, day
        return super().save(commit)


# --- events ----------------------------------------------------------------------------------
REPEAT_CHOICES = [
    ("", "Does not repeat"),
    ("DAILY", "Every day"),
    ("WEEKLY", "Every week on the days below"),
    ("MONTHLY", "Every month on the same day"),
]
KEEP = "KEEP"  # a rule from a service the form cannot show: kept as it is
ENDS_CHOICES = [
    ("never", "Never"),
    ("until", "On a last day"),
    ("count", "After a number of times"),
]
WEEKDAY_CHOICES = [(str(i), name) for i, name in enumerate(recurrence.WEEKDAY_NAMES)]


class EventForm(forms.Form):
    """An event, or one occurrence of a series (`occurrence=True`: no recurrence part)."""

    title = forms.CharField(max_length=500)
    all_day = forms.BooleanField(label="All day", required=False)
    start_day = day_field("Starts on", required=True)
    start_time = forms.TimeField(label="Start time", required=False, widget=TimeInput())
    end_day = day_field("Ends on")
    end_time = forms.TimeField(label="End time", required=False, widget=TimeInput())
    timezone = forms.ChoiceField(label="Time zone", choices=zone_choices)
    calendar = forms.Field(required=False)  # the person's calendars, set in __init__
    location = forms.CharField(max_length=500, required=False)
    description = forms.CharField(
        max_length=NOTES_MAX, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    repeat = forms.ChoiceField(label="Repeats", choices=REPEAT_CHOICES, required=False)
    weekdays = forms.MultipleChoiceField(
        label="On", choices=WEEKDAY_CHOICES, required=False, widget=forms.CheckboxSelectMultiple
    )
    ends = forms.ChoiceField(label="Ends", choices=ENDS_CHOICES, required=False, initial="never")
    until = day_field("Last day")
    count = forms.IntegerField(
        label="Number of times", required=False, min_value=1, max_value=recurrence.MAX_COUNT
    )

    def __init__(
        self,
        *args: Any,
        event: Event | None = None,
        occurrence: bool = False,
        user: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.event, self.occurrence = event, occurrence
        user = user if user is not None else (event.user_id if event is not None else None)
        if occurrence or (event is not None and event.series_id):
            del self.fields["calendar"]  # an occurrence is in its series' calendar
        else:
            field = side_field(Calendar, user, MAIN_CALENDAR, "Calendar")
            self.fields["calendar"] = field
            if event is not None and "calendar" not in self.initial:
                self.initial["calendar"] = event.calendar_id
        self.fields["timezone"].initial = timezone.get_current_timezone_name()
        if occurrence or (event is not None and event.series_id):
            for name in ("repeat", "weekdays", "ends", "until", "count"):
                del self.fields[name]
        elif event is not None and event.rrule and self._rule_shown(event) is None:
            words = recurrence.describe(event.rrule, agenda.span(event)[0], event.timezone)
            self.fields["repeat"].choices = [(KEEP, f"Keep: {words}"), *REPEAT_CHOICES]
        if event is not None and event.pk and not event.timezone and not event.all_day:
            # A floating event (from a service) keeps its wall-clock time unless a zone is chosen.
            self.fields["timezone"].choices = [("", "Floating (local time)"), *zone_choices()]
            self.fields["timezone"].required = False

    @staticmethod
    def _rule_shown(event: Event) -> recurrence.Recurrence | None:
        start = agenda.span(event)[0]
        return recurrence.parse_rrule(event.rrule, start, event.timezone) if start else None

    # The form's values from an event (or an occurrence's times on top of its master).
    @classmethod
    def initial_for(cls, event: Event, start=None, end=None) -> dict[str, Any]:
        own_start, own_end = agenda.span(event)
        start, end = start or own_start, end or own_end
        initial: dict[str, Any] = {
            "title": event.title,
            "location": event.location,
            "description": event.description,
            "all_day": event.all_day,
            "timezone": timezone.get_current_timezone_name() if event.all_day else event.timezone,
        }
        if start is None:
            return initial
        if event.all_day:
            last = end - dt.timedelta(days=1) if end and end > start else start
            initial.update(start_day=start, end_day=last)
        else:
            initial.update(start_day=start.date(), start_time=start.time().replace(tzinfo=None))
            initial.update(end_day=end.date(), end_time=end.time().replace(tzinfo=None))
        rule = cls._rule_shown(event) if event.rrule and not event.series_id else None
        if rule is not None:
            initial.update(repeat=rule.freq, weekdays=[str(d) for d in rule.weekdays])
            initial.update(until=rule.until, count=rule.count)
            initial["ends"] = "until" if rule.until else "count" if rule.count else "never"
        elif event.rrule and not event.series_id:
            initial["repeat"] = KEEP
        return initial

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.errors:
            return cleaned
        if cleaned["all_day"]:
            self._clean_days(cleaned)
        else:
            self._clean_times(cleaned)
        if "repeat" in self.fields and not self.errors:
            self._clean_rule(cleaned)
        return cleaned

    def _clean_days(self, cleaned: dict[str, Any]) -> None:
        start = cleaned["start_day"]
        last = cleaned.get("end_day") or start
        if last < start:
            self.add_error("end_day", "The last day cannot be before the first.")
            return
        cleaned["start"], cleaned["end"] = start, last + dt.timedelta(days=1)

    def _clean_times(self, cleaned: dict[str, Any]) -> None:
        if cleaned.get("start_time") is None:
            self.add_error("start_time", "Choose a start time, or make it an all-day event.")
            return
        if cleaned.get("end_time") is None:
            self.add_error("end_time", "Choose an end time.")
            return
        zone = _zone(cleaned.get("timezone") or "")
        start = dt.datetime.combine(cleaned["start_day"], cleaned["start_time"], zone)
        end_day = cleaned.get("end_day") or cleaned["start_day"]
        end = dt.datetime.combine(end_day, cleaned["end_time"], zone)
        if end < start:
            self.add_error("end_time", "The end cannot be before the start.")
            return
        cleaned["start"], cleaned["end"] = start, end

    def _clean_rule(self, cleaned: dict[str, Any]) -> None:
        repeat, start = cleaned.get("repeat") or "", cleaned["start"]
        if repeat == KEEP:
            cleaned["rrule"] = self.event.rrule if self.event else ""
            return
        if not repeat:
            cleaned["rrule"] = ""
            return
        ends = cleaned.get("ends") or "never"
        until = cleaned.get("until") if ends == "until" else None
        count = cleaned.get("count") if ends == "count" else None
        if ends == "until" and until is None:
            self.add_error("until", "Choose the last day, or choose another ending.")
        elif until is not None and until < cleaned["start_day"]:
            self.add_error("until", "The last day cannot be before the first occurrence.")
        elif ends == "count" and count is None:
            self.add_error("count", "Say how many times, or choose another ending.")
        if self.errors:
            return
        weekdays = tuple(int(day) for day in cleaned.get("weekdays") or ())
        rule = recurrence.Recurrence(repeat, weekdays, until, count)
        tzname = "" if cleaned["all_day"] else cleaned.get("timezone") or ""
        cleaned["rrule"] = recurrence.build_rrule(rule, start, tzname)

    def apply(self, event: Event) -> Event:
        """The cleaned values set on `event` (not saved)."""
        data = self.cleaned_data
        event.title, event.location = data["title"], data["location"]
        event.description, event.all_day = data["description"], data["all_day"]
        if data["all_day"]:
            event.start_date, event.end_date = data["start"], data["end"]
            event.start = event.end = None
            event.timezone = ""
        else:
            event.start, event.end = data["start"], data["end"]
            event.timezone = data.get("timezone") or ""
            event.start_date = event.end_date = None
        if "rrule" in data:
            event.rrule = data["rrule"]
        if "calendar" in self.fields:
            event.calendar = data.get("calendar")
        return event


# --- profile ---------------------------------------------------------------------------------
class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(label="Time zone", choices=zone_choices)

    class Meta:
        model = Profile
        fields = ["timezone"]


# How long a token made on the page lasts: the choices a person reads, and their lifetimes.
LIFETIMES: dict[str, dt.timedelta | None] = {
    "never": None,
    "30d": dt.timedelta(days=30),
    "90d": dt.timedelta(days=90),
    "1y": dt.timedelta(days=365),
}


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text="What uses it, so you know which one to revoke: “backup script”, “CI”.",
    )
    lifetime = forms.ChoiceField(
        label="Expires",
        choices=[
            ("never", "Never"),
            ("30d", "In 30 days"),
            ("90d", "In 90 days"),
            ("1y", "In a year"),
        ],
        initial="never",
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name

    def expiry(self) -> dt.datetime | None:
        lifetime = LIFETIMES[self.cleaned_data["lifetime"]]
        return None if lifetime is None else timezone.now() + lifetime
