"""The rules of a connection (what syncs) in words, for the settings page and its preview.

The form reads and writes `Connection.sync_rules` (`sync/rules.py` holds its schema and what
matches); an untouched form gives `{}`, so a connection without rules keeps none.
"""

from __future__ import annotations

from typing import Any

from django import forms

from sync.rules import MAX_DAYS, MAX_TAG_CHARS, MAX_TAGS

# The tags as typed: every tag at its longest, with a comma and a space between them.
MAX_TAGS_TEXT = MAX_TAGS * (MAX_TAG_CHARS + 2)
PREFIX = "rules"
TASK_FIELDS = ("task_open_only", "task_due_within_days", "task_undated", "task_tags")
EVENT_FIELDS = ("event_past_days", "event_future_days")


def days_field(label: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=MAX_DAYS,
        widget=forms.NumberInput(attrs={"class": "days", "inputmode": "numeric"}),
    )


class RulesForm(forms.Form):
    """What syncs, per kind of item the connection's service carries."""

    task_open_only = forms.BooleanField(label="Only tasks not completed", required=False)
    task_due_within_days = days_field("Only tasks due within (days)")
    task_undated = forms.BooleanField(
        label="and tasks without a due date", required=False, initial=True
    )
    task_tags = forms.CharField(
        label="Only tasks tagged",
        required=False,
        max_length=MAX_TAGS_TEXT,
        help_text="Tags separated by commas; a task with any of them syncs. Empty: any task.",
    )
    event_past_days = days_field("Events from (days ago)")
    event_future_days = days_field("to (days ahead)")

    def __init__(self, *args: Any, kinds: tuple[str, ...], rules: Any = None, **kwargs: Any):
        kwargs.setdefault("prefix", PREFIX)
        kwargs.setdefault("initial", initial_values(rules if isinstance(rules, dict) else {}))
        super().__init__(*args, **kwargs)
        self.kinds = kinds
        for kind, names in (("task", TASK_FIELDS), ("event", EVENT_FIELDS)):
            if kind not in kinds:
                for name in names:
                    del self.fields[name]

    @property
    def task_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in TASK_FIELDS if name in self.fields]

    @property
    def event_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in EVENT_FIELDS if name in self.fields]

    def clean_task_tags(self) -> list[str]:
        tags: list[str] = []
        for tag in (self.cleaned_data.get("task_tags") or "").split(","):
            tag = tag.strip()
            if tag and tag.casefold() not in {t.casefold() for t in tags}:
                tags.append(tag)
        if len(tags) > MAX_TAGS:
            raise forms.ValidationError(f"At most {MAX_TAGS} tags (there are {len(tags)}).")
        if any(len(tag) > MAX_TAG_CHARS for tag in tags):
            raise forms.ValidationError(f"A tag has at most {MAX_TAG_CHARS} characters.")
        return tags

    def rules(self) -> dict[str, dict[str, Any]]:
        """The valid form as a `sync_rules` value, without the rules that let everything by."""
        data = self.cleaned_data
        found: dict[str, dict[str, Any]] = {}
        if "task" in self.kinds:
            task: dict[str, Any] = {}
            if data.get("task_open_only"):
                task["status"] = "open"
            if data.get("task_due_within_days") is not None:
                task["due_within_days"] = data["task_due_within_days"]
                task["undated"] = bool(data.get("task_undated"))
            if data.get("task_tags"):
                task["tags"] = data["task_tags"]
            found["task"] = task
        if "event" in self.kinds:
            found["event"] = {
                name: data[f"event_{name}"]
                for name in ("past_days", "future_days")
                if data.get(f"event_{name}") is not None
            }
        return {kind: rules for kind, rules in found.items() if rules}


def initial_values(rules: dict[str, Any]) -> dict[str, Any]:
    """The form's fields from a saved `sync_rules` value."""
    task = rules.get("task") if isinstance(rules.get("task"), dict) else {}
    event = rules.get("event") if isinstance(rules.get("event"), dict) else {}
    return {
        "task_open_only": task.get("status") == "open",
        "task_due_within_days": task.get("due_within_days"),
        "task_undated": task.get("undated", True) is not False,
        "task_tags": ", ".join(str(tag) for tag in task.get("tags") or []),
        "event_past_days": event.get("past_days"),
        "event_future_days": event.get("future_days"),
    }
