"""After a PUT, the CalDAV provider reads the item back only when the server may have changed
it: a strong ETag in the answer means the server holds what we sent (RFC 4791 §5.3.4)."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.clients import provider_for
from integrations.providers.caldav import CalDAVProvider, DavReply

START = dt.datetime(2026, 7, 1, 6, tzinfo=dt.UTC)
FIELDS = {
    "title": "Flight",
    "description": "",
    "location": "Gate 4",
    "status": "confirmed",
    "all_day": False,
    "start": START,
    "end": START + dt.timedelta(hours=2),
    "timezone": "UTC",
    "rrule": "",
    "exdates": [],
    "recurrence_id": "",
    "series_remote_id": "",
}


@pytest.fixture
def provider(caldav_connection) -> CalDAVProvider:
    return provider_for(caldav_connection)


@pytest.fixture
def sent(provider, monkeypatch) -> list[str]:
    """The methods the provider sends, in order."""
    methods: list[str] = []
    original = provider.session.request

    def spy(method, url, *args, **kwargs):
        methods.append(method)
        return original(method, url, *args, **kwargs)

    monkeypatch.setattr(provider.session, "request", spy)
    return methods


def writes_and_reads(methods: list[str]) -> list[str]:
    return [method for method in methods if method in ("PUT", "GET")]


def weaken_etags(provider, monkeypatch, etag: str | None) -> None:
    """Answer every PUT as a server that rewrote the data would: a weak ETag, or none."""
    original = provider.session.request

    def rewritten(method, url, *args, **kwargs):
        reply = original(method, url, *args, **kwargs)
        if method != "PUT":
            return reply
        headers = {k: v for k, v in reply.headers.items() if k.lower() != "etag"}
        return DavReply(reply.status, {**headers, **({"etag": etag} if etag else {})}, reply.body)

    monkeypatch.setattr(provider.session, "request", rewritten)


def test_radicale_answers_a_put_with_a_strong_etag_so_nothing_is_read_back(provider, sent):
    created = provider.create(FIELDS, dayflow_id="dayflow-event-1")
    updated = provider.update(
        created.remote_id, {**FIELDS, "title": "Flight home"}, created.version
    )

    # the create; the update reads the current item, then writes (discovery aside)
    assert writes_and_reads(sent) == ["PUT", "GET", "PUT"]
    assert updated.fields["title"] == "Flight home"
    assert updated.fields["location"] == "Gate 4"
    # what we hold is what the server holds: its next listing brings the same version
    (pulled,) = provider.pull(None).items
    assert pulled.version == updated.version
    assert pulled.fields == updated.fields


@pytest.mark.parametrize("etag", [None, 'W/"weak"'], ids=["no etag", "a weak etag"])
def test_without_a_strong_etag_the_item_is_read_back(provider, sent, monkeypatch, etag):
    weaken_etags(provider, monkeypatch, etag)

    created = provider.create(FIELDS, dayflow_id="dayflow-event-2")

    assert writes_and_reads(sent) == ["PUT", "GET"]
    assert created.fields["title"] == "Flight"
    assert created.version == provider.pull(None).items[0].version
