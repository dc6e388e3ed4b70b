"""The settings page's mapping table: one direction per field the service carries.

The form (`integrations.forms.ConnectionSettingsForm`) gets one select per offered field of
each kind of item the connection syncs, named `direction-<kind>-<field>`; the choices become
`Connection.field_directions`, which keeps only the fields that are not two-way (a field not
named syncs both ways, `sync.directions`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django import forms

from integrations.models import Connection
from sync.directions import MAPPED_FIELDS, FieldDirection

KIND_WORDS = {"task": "Tasks", "event": "Events"}
FIELD_WORDS = {
    "title": "Title",
    "notes": "Notes",
    "status": "Done or not",
    "due": "Due date",
    "priority": "Priority",
    "list": "List",
    "tags": "Tags",
    "time": "Date and time",
    "location": "Location",
    "description": "Description",
}
# The arrow points the way a change travels: DayFlow on the left, the service on the right.
ARROWS = {
    FieldDirection.TWO_WAY: "⇄",
    FieldDirection.FROM_SERVICE: "←",
    FieldDirection.TO_SERVICE: "→",
    FieldDirection.OFF: "∅",
}


def direction_words(direction: FieldDirection, service: str) -> str:
    return {
        FieldDirection.TWO_WAY: "both ways",
        FieldDirection.FROM_SERVICE: f"only from {service}",
        FieldDirection.TO_SERVICE: f"only to {service}",
        FieldDirection.OFF: "not synced",
    }[direction]


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the table: a field, its select (None when the service lacks the field)."""

    kind: str
    name: str
    words: str
    field_name: str = ""
    arrow: str = ""
    arrow_words: str = ""

    @property
    def offered(self) -> bool:
        return bool(self.field_name)


def synced_kinds(connection: Connection) -> list[str]:
    wanted = {"task": connection.sync_tasks, "event": connection.sync_events}
    kinds = {str(kind) for kind in connection.service.provider.item_types}
    return [kind for kind in MAPPED_FIELDS if kind in kinds and wanted[kind]]


def field_name(kind: str, name: str) -> str:
    return f"direction-{kind}-{name}"


def add_fields(form: forms.ModelForm) -> list[Row]:
    """Add the table's selects to `form`; the table's rows, in order."""
    connection: Connection = form.instance
    service = str(connection.service)
    offered = connection.offered_fields()
    saved = connection.field_directions if isinstance(connection.field_directions, dict) else {}
    choices = [(d.value, f"{ARROWS[d]} {direction_words(d, service)}") for d in FieldDirection]
    rows = []
    for kind in synced_kinds(connection):
        current = saved.get(kind) if isinstance(saved.get(kind), dict) else {}
        for name in MAPPED_FIELDS[kind]:
            words = FIELD_WORDS[name]
            if name not in offered.get(kind, ()):
                rows.append(Row(kind, name, words))
                continue
            saved_direction = _known(current.get(name))
            form.fields[field_name(kind, name)] = forms.ChoiceField(
                label=f"{KIND_WORDS[kind]}: {words.lower()}",
                choices=choices,
                initial=saved_direction.value,
                required=False,
            )
            arrow_words = direction_words(saved_direction, service)
            arrow = ARROWS[saved_direction]
            rows.append(Row(kind, name, words, field_name(kind, name), arrow, arrow_words))
    return rows


def chosen(form: forms.ModelForm, rows: list[Row], data: dict[str, Any]) -> dict[str, Any]:
    """The saved directions with the table's choices over them: kinds the table did not show
    keep theirs; each shown kind holds its fields that are not two-way."""
    saved = form.instance.field_directions
    result = dict(saved) if isinstance(saved, dict) else {}
    for kind in {row.kind for row in rows}:
        before = result.get(kind) if isinstance(result.get(kind), dict) else {}
        # A select left out of the POST keeps its field's saved direction.
        picked = {
            row.name: data.get(row.field_name) or before.get(row.name, "two_way")
            for row in rows
            if row.kind == kind and row.offered
        }
        result[kind] = {name: d for name, d in picked.items() if d != FieldDirection.TWO_WAY}
        if not result[kind]:
            del result[kind]
    return result


def _known(value: Any) -> FieldDirection:
    return FieldDirection(value) if value in set(FieldDirection) else FieldDirection.TWO_WAY


@dataclasses.dataclass(frozen=True)
class Line:
    """A row as the template shows it: with its bound select."""

    kind_words: str
    row: Row
    field: forms.BoundField | None


def lines(form: forms.ModelForm, rows: list[Row]) -> list[Line]:
    return [
        Line(KIND_WORDS[row.kind], row, form[row.field_name] if row.offered else None)
        for row in rows
    ]
