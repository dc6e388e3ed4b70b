"""The connection settings' JSON as a form field, shared by the settings page and the admin.

It lives apart from `integrations.forms` so that the admin (loaded in every process) does not
load the CalDAV provider with the connect forms.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.forms.fields import InvalidJSONInput

from dayflow import safe_json
from integrations.models import MAX_MAPPING_CHARS

# The settings as typed: indented JSON of at most MAX_MAPPING_CHARS compact characters fits
# well within this; nothing a connection uses nests deeper than an object of lists.
MAX_JSON_TEXT = 4 * MAX_MAPPING_CHARS
MAX_JSON_DEPTH = 8


class JSONObjectField(forms.JSONField):
    """field_mapping as JSON text; the model's clean() checks its keys for the service.

    The text is measured before it is parsed: the JSON parser recurses once per nesting level,
    so `[[[[…` a few thousand deep would raise RecursionError (a 500) instead of a form error.
    """

    def to_python(self, value: Any) -> Any:
        problem = json_text_problem(value) if isinstance(value, str) else ""
        if problem:
            raise forms.ValidationError(problem, code="invalid")
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        if isinstance(data, str) and json_text_problem(data):
            return InvalidJSONInput(data)
        return super().bound_data(data, initial)

    def has_changed(self, initial: Any, data: Any) -> bool:
        # Django's JSONField parses the posted text even when the field is disabled (its text
        # ignored): hostile text would raise here, after validation, as a 500.
        return False if self.disabled else super().has_changed(initial, data)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, sort_keys=True)


def json_text_problem(text: str) -> str:
    """Why this JSON text is refused before parsing, in the user's words; "" when it is not."""
    if len(text) > MAX_JSON_TEXT:
        return f"The service settings are too long (at most {MAX_JSON_TEXT // 1024} KB)."
    if safe_json.depth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
        return f"The service settings are nested too deeply (at most {MAX_JSON_DEPTH} levels)."
    return ""
