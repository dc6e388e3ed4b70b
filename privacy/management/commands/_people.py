"""What the privacy commands share: finding the person by username."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

USERNAME_MAX = 150


def person(username: str) -> Any:
    if not username or len(username) > USERNAME_MAX:
        raise CommandError("give a username (at most 150 characters)")
    model = get_user_model()
    found = model.objects.filter(**{model.USERNAME_FIELD: username}).first()
    if found is None:
        raise CommandError(f"no user named {username!r}")
    return found
