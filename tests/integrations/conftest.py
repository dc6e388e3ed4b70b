"""Fixtures shared by the integrations tests."""

from __future__ import annotations

import pytest

from integrations.models import Service, UserIntegration


@pytest.fixture
def calendar_connection(user) -> UserIntegration:
    """A Google Calendar connection of `user` syncing its primary calendar."""
    return UserIntegration.objects.create(
        user=user,
        service=Service.objects.get(key="google-calendar"),
        external_account_id="acct",
        field_mapping={"calendars": ["primary"]},
    )
