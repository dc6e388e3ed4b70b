"""CalDAV writes side by side (`CalDAVProvider.write_concurrency`) against the test Radicale:
each thread has its own DAVClient session, every item is created once, in order, and a series'
master and its instance (one resource) are written one after the other."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

from integrations.clients import provider_for
from integrations.providers import caldav
from integrations.providers.base import RemoteItem, Write

BERLIN = ZoneInfo("Europe/Berlin")


def event(n: int) -> dict:
    start = dt.datetime(2026, 3, 2, 9, tzinfo=BERLIN) + dt.timedelta(days=n)
    return {
        "title": f"Event {n}",
        "start": start,
        "end": start + dt.timedelta(minutes=30),
        "timezone": "Europe/Berlin",
        "all_day": False,
    }


def test_creates_go_side_by_side_each_thread_on_its_own_session(caldav_connection, monkeypatch):
    sessions: dict[int, set[int]] = {}
    original = caldav.DavSession.request

    def spy(self, method, url, *args, **kwargs):
        if method == "PUT":
            sessions.setdefault(threading.get_ident(), set()).add(id(self.client.session))
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(caldav.DavSession, "request", spy)
    provider = provider_for(caldav_connection)
    writes = [Write("create", event(n), dayflow_id=f"event-{n}") for n in range(12)]
    results = provider.write_batch(writes)
    assert [r.fields["title"] for r in results] == [f"Event {n}" for n in range(12)]
    assert all(isinstance(r, RemoteItem) for r in results)
    assert len({r.remote_id for r in results}) == 12
    # the first write alone on the engine's thread, then up to four threads of their own
    assert 2 <= len(sessions) <= 1 + caldav.CalDAVProvider.write_concurrency
    every = [next(iter(s)) for s in sessions.values()]
    assert all(len(s) == 1 for s in sessions.values())
    assert len(set(every)) == len(every)
    # and the server holds each of them
    pulled = provider_for(caldav_connection).pull(None)
    assert sorted(i.fields["title"] for i in pulled.items) == sorted(
        f"Event {n}" for n in range(12)
    )


def test_a_master_and_its_instance_are_one_resource():
    provider = caldav.CalDAVProvider.__new__(caldav.CalDAVProvider)
    url = "https://dav.example.com/cal/series.ics"
    master = Write("update", {"title": "x"}, remote_id=url)
    instance = Write("delete", remote_id=f"{url}#2026-04-06T09:00:00+02:00")
    exception = Write("create", {"series_remote_id": url}, dayflow_id="event-7")
    other = Write("create", {"title": "y"}, dayflow_id="event-8")
    keys = [provider.write_resource(w) for w in (master, instance, exception, other)]
    assert keys == [url, url, url, "event-8"]
