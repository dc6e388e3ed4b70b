"""Fixtures shared by the integrations tests."""

from __future__ import annotations

import pytest

from integrations.models import Connection, Service


@pytest.fixture
def calendar_connection(user) -> Connection:
    """A Google Calendar connection of `user` syncing its primary calendar."""
    return Connection.objects.create(
        user=user,
        service=Service.objects.get(key="google-calendar"),
        external_account_id="acct",
        field_mapping={"calendars": ["primary"]},
    )
