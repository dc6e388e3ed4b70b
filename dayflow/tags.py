"""A task's tags: a sorted list of distinct names, bounded. The one rule the model, the form,
the API and every provider's reading of a service's labels share."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

MAX_TAGS = 50
MAX_TAG_CHARS = 100


def tag_errors(value: Any) -> list[str]:
    """The problems of a list of tags a person gave; an empty list when it is valid."""
    if not isinstance(value, list):
        return ["must be a list of names"]
    if len(value) > MAX_TAGS:
        return [f"at most {MAX_TAGS} tags (there are {len(value)})"]
    if not all(isinstance(tag, str) and 0 < len(tag.strip()) <= MAX_TAG_CHARS for tag in value):
        return [f"each tag must be a name of 1 to {MAX_TAG_CHARS} characters"]
    return []


def normalized_tags(names: Any) -> list[str]:
    """Distinct names, trimmed and sorted, within the bounds: a service's labels that do not
    fit (a longer name, more than MAX_TAGS) are left out rather than cut, so a cut name is
    never written back as a new label."""
    if not isinstance(names, list | tuple):
        return []
    kept = {n.strip() for n in names if isinstance(n, str) and 0 < len(n.strip()) <= MAX_TAG_CHARS}
    return sorted(kept)[:MAX_TAGS]


def validate_tags(value: Any) -> None:
    """`tag_errors` as a ValidationError, for the model, the form and the API alike."""
    errors = tag_errors(value)
    if errors:
        raise ValidationError(errors)
