"""Query-parameter filters with bounds, so a hostile or mistyped filter is a 400 naming the
parameter, never a database overflow: dates and instants within years 1900-2200, ids within a
64-bit integer, text within the column's length."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django_filters import filters
from django_filters.fields import IsoDateTimeField

FIRST_YEAR, LAST_YEAR = 1900, 2200
LARGEST_ID = 2**63 - 1
OUT_OF_RANGE = f"Choose a date in the years {FIRST_YEAR}-{LAST_YEAR}."


def _in_years(value: Any) -> Any:
    if isinstance(value, dt.date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise forms.ValidationError(OUT_OF_RANGE)
    return value


class BoundedDateField(forms.DateField):
    def to_python(self, value: Any) -> dt.date | None:
        return _in_years(super().to_python(value))


class BoundedIsoDateTimeField(IsoDateTimeField):
    """In UTC once read: an offset such as +19:05 is valid ISO 8601 and Python, but past
    PostgreSQL's ±15:59, which would refuse the query (a 500)."""

    def to_python(self, value: Any) -> dt.datetime | None:
        instant = _in_years(super().to_python(value))
        return instant.astimezone(dt.UTC) if instant is not None else None


class DateFilter(filters.DateFilter):
    field_class = BoundedDateField


class DateTimeFilter(filters.IsoDateTimeFilter):
    """An ISO 8601 instant (`2026-03-01T09:00:00Z`); without a zone, UTC."""

    field_class = BoundedIsoDateTimeField


class StrictBooleanField(forms.NullBooleanField):
    """`true` or `false` (`1`, `0`); anything else is an error, not "no filter"."""

    widget = forms.TextInput
    WORDS = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if str(value).lower() not in self.WORDS:
            raise forms.ValidationError("Say true or false.")
        return self.WORDS[str(value).lower()]

    def validate(self, value: Any) -> None:
        pass


class BooleanFilter(filters.BooleanFilter):
    field_class = StrictBooleanField


class IdFilter(filters.NumberFilter):
    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", LARGEST_ID)
        super().__init__(*args, **kwargs)
