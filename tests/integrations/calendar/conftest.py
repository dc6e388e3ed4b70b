"""Connections to the test Radicale for the CalDAV provider tests."""

from __future__ import annotations

import pytest

from tests.radicale import RadicaleCalendar, connect_caldav


@pytest.fixture
def caldav_connection(user, radicale_calendar: RadicaleCalendar):
    """A Fastmail-preset connection pointed at the test Radicale, one calendar, VTODO on."""
    return connect_caldav(user, radicale_calendar, sync_todos=True)


@pytest.fixture
def mocked():
    """The HTTP seam faked with `responses`; every registered call must be made."""
    import responses

    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


@pytest.fixture
def http_for(db):
    """An HttpClient for one service that never really waits nor throttles."""
    from integrations.providers.http import HttpClient

    def make(service: str) -> HttpClient:
        return HttpClient(
            service,
            auth_headers=lambda: {"Authorization": "Bearer tok-live"},
            rate=(0, 1.0),
            sleep=lambda seconds: None,
            rng=lambda: 0.5,
        )

    return make


@pytest.fixture
def google_engine(use_provider, http_for, user):
    """A Google Calendar connection the sync engine reaches through `GoogleCalendarProvider`,
    and the fake of the events API behind it (`fake_google.py`): (connection, fake)."""
    import responses

    from integrations.models import Connection, Credential, Service
    from integrations.providers.google_calendar.provider import GoogleCalendarProvider
    from tests.integrations.calendar.fake_google import FakeGoogleCalendar

    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="google-calendar"),
        external_account_id="alice@example.com",
        field_mapping={"calendars": ["primary"]},
    )
    Credential.objects.create(connection=connection, access_token="tok-live")
    use_provider(lambda conn: GoogleCalendarProvider(conn, http=http_for("google-calendar")))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield connection, FakeGoogleCalendar(mocked)


@pytest.fixture
def graph_engine(use_provider, http_for, user):
    """An Outlook connection the sync engine reaches through `OutlookProvider`, and the fake
    of Graph's calendar API behind it (`fake_graph.py`): (connection, fake)."""
    import responses

    from integrations.models import Connection, Credential, Service
    from integrations.providers.outlook.provider import OutlookProvider
    from tests.integrations.calendar.fake_graph import FakeGraphCalendar

    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="outlook"),
        external_account_id="alice@example.com",
    )
    Credential.objects.create(connection=connection, access_token="tok-live")
    use_provider(lambda conn: OutlookProvider(conn, http=http_for("outlook")))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mocked:
        yield connection, FakeGraphCalendar(mocked)
