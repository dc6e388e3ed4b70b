"""Each request reads times in the signed-in person's own zone (their profile's setting)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control


def personal_zone_name(user) -> str:
    """The zone the person chose on their profile, or the site's default until they do."""
    if not getattr(user, "is_authenticated", False):
        return settings.TIME_ZONE
    try:
        return user.profile.timezone or settings.TIME_ZONE
    except ObjectDoesNotExist:
        return settings.TIME_ZONE


class PersonalTimeZone:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            timezone.activate(zoneinfo.ZoneInfo(personal_zone_name(request.user)))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()  # a zone the system no longer knows: the default, not a 500
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class PrivatePages:
    """`Cache-Control: private, no-store` on every answer to a signed-in person (a page, a
    fragment, the API with a token): a shared computer's browser or a proxy keeps no copy.
    Static files never reach this (WhiteNoise answers them earlier in the stack)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        # Read after the view: DRF sets request.user for a token, too.
        if getattr(request.user, "is_authenticated", False) and not request.path.startswith(
            "/" + settings.STATIC_URL.lstrip("/")
        ):
            # Merged into what the view set (never_cache's stricter header stays whole).
            patch_cache_control(response, private=True, no_store=True)
        return response
