"""Signing in: Django's own model backend, loading the person's profile with them."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class ProfileBackend(ModelBackend):
    """`ModelBackend`, with the profile joined into the one query that loads the signed-in user
    on each request: every page reads the person's time zone, and no page pays a query for it."""

    def get_user(self, user_id):
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("profile").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
