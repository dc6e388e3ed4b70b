"""Writes side by side (`Provider.write_concurrency`, integrations/providers/parallel.py): the
results in the writes' order, each failure its write's own, never more in flight than declared,
never faster than the rate in virtual time, the database only on the engine's thread, and one
HTTP session per thread."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
import responses

from integrations.providers import errors, http
from integrations.providers.base import ItemType, Kind, Provider, RemoteItem, Write
from integrations.providers.http import HttpClient
from tests.integrations.providers.rate_fakes import RateWindow, VirtualClock, metered

CONNECTION_IDS = itertools.count(9_100_000)  # a bucket of its own per test


class SideBySide(Provider):
    """Single writes that take a little real time, counting how many overlap."""

    key = "side-by-side"
    name = "Side by side"
    kind = Kind.TASKS
    write_concurrency = 3

    def __init__(self, *, delay: float = 0.01) -> None:
        super().__init__(connection=None)
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.started: list[str] = []

    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        with self.lock:
            self.started.append(dayflow_id)
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            # later writes finish first: the results must still come back in order
            time.sleep(self.delay * (1 + int(dayflow_id.split("-")[1]) % 3))
            title = fields["title"]
            if title == "refused":
                raise errors.Permanent("refused", status=400)
            if title == "slow down":
                raise errors.RateLimited("429", retry_after=30)
            if title == "bug":
                raise ZeroDivisionError("a bug, not a service's answer")
            return RemoteItem(f"r-{dayflow_id}", ItemType.TASK, fields, dayflow_id=dayflow_id)
        finally:
            with self.lock:
                self.in_flight -= 1


def creates(titles: list[str]) -> list[Write]:
    return [Write("create", {"title": t}, dayflow_id=f"task-{n}") for n, t in enumerate(titles)]


def test_results_come_back_in_the_order_of_the_writes():
    provider = SideBySide()
    results = provider.write_batch(creates([f"t{n}" for n in range(12)]))
    assert [r.remote_id for r in results] == [f"r-task-{n}" for n in range(12)]
    assert [r.fields["title"] for r in results] == [f"t{n}" for n in range(12)]


def test_never_more_writes_in_flight_than_declared_and_that_many_reached():
    provider = SideBySide()
    provider.write_batch(creates([f"t{n}" for n in range(30)]))
    assert provider.most_in_flight == SideBySide.write_concurrency
    assert len(provider.started) == 30


def test_one_by_one_when_the_provider_declares_no_concurrency():
    class OneAtATime(SideBySide):
        write_concurrency = 1

    provider = OneAtATime(delay=0.002)
    provider.write_batch(creates([f"t{n}" for n in range(6)]))
    assert provider.most_in_flight == 1


def test_a_failure_is_its_writes_own():
    provider = SideBySide()
    titles = ["a", "refused", "b", "c", "refused", "d"]
    results = provider.write_batch(creates(titles))
    kinds = [type(r).__name__ for r in results]
    assert kinds == [
        "RemoteItem",
        "Permanent",
        "RemoteItem",
        "RemoteItem",
        "Permanent",
        "RemoteItem",
    ]


class LimitedMidBatch(SideBySide):
    """The write titled "slow down" gets a 429 at once; every other write on a write thread
    holds until the thread that got the 429 has left the batch (its stop is recorded by then),
    so what starts after the 429 depends on no thread's timing."""

    def __init__(self) -> None:
        super().__init__(delay=0)
        self.limited_thread: int | None = None
        self.limited_left = threading.Event()

    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        if fields["title"] == "slow down":
            self.limited_thread = threading.get_ident()
        elif threading.current_thread() is not threading.main_thread():
            assert self.limited_left.wait(timeout=10), "the 429's thread never left"
        return super().create(fields, dayflow_id=dayflow_id, collection=collection)

    def leave_thread(self) -> None:
        super().leave_thread()
        if threading.get_ident() == self.limited_thread:
            self.limited_left.set()


def test_an_error_that_is_not_the_items_starts_no_further_write():
    provider = LimitedMidBatch()
    titles = ["a", "slow down", *[f"t{n}" for n in range(20)]]
    results = provider.write_batch(creates(titles))
    limited = results[1]
    assert isinstance(limited, errors.RateLimited)
    # the first write goes alone; then at most one write per thread was under way when the 429
    # came back (a thread that had not taken one yet takes none): those finish, none starts after
    started = set(provider.started)
    assert {"task-0", "task-1"} <= started <= {"task-0", "task-1", "task-2", "task-3"}
    for n, result in enumerate(results):
        if n == 1:
            continue
        if f"task-{n}" in started:
            assert isinstance(result, RemoteItem)
        else:
            assert result is limited  # not sent: the engine leaves it for the next run


def test_a_bug_is_raised_on_the_callers_thread():
    provider = SideBySide()
    with pytest.raises(ZeroDivisionError):
        provider.write_batch(creates(["a", "bug", "b", "c"]))


def test_writes_to_one_resource_go_in_order_on_one_thread():
    class SameResource(SideBySide):
        def write_resource(self, one: Write) -> str:
            return "series" if one.fields["title"].startswith("s") else one.dayflow_id

    provider = SameResource(delay=0.003)
    order: list[str] = []
    original = provider.create

    def create(fields: dict[str, Any], **kwargs: Any) -> RemoteItem:
        if fields["title"].startswith("s"):
            order.append(fields["title"])
        return original(fields, **kwargs)

    provider.create = create  # type: ignore[method-assign]
    provider.write_batch(creates(["s1", "x", "s2", "y", "s3", "z", "s4"]))
    assert order == ["s1", "s2", "s3", "s4"]


# --- through the HTTP client: the shared bucket, in virtual time ------------------------------
API = "https://paced.example.com/v1/items"


class Paced(Provider):
    """A REST provider with no batch: one POST a create, at 3 requests a second."""

    key = "paced"
    name = "Paced"
    kind = Kind.TASKS
    rate_limit = (3, 1.0)
    write_concurrency = 3

    def __init__(self, client: HttpClient) -> None:
        super().__init__(connection=None, http=client)
        self.sessions: dict[int, int] = {}

    def create(
        self, fields: dict[str, Any], *, dayflow_id: str = "", collection: str = ""
    ) -> RemoteItem:
        self.sessions[threading.get_ident()] = id(self.http.session)
        raw = self.api("POST", API, json={"title": fields["title"], "ref": dayflow_id})
        return RemoteItem(raw["id"], ItemType.TASK, {"title": raw["title"]}, dayflow_id=raw["ref"])


def paced_client(clock: VirtualClock, rate: tuple[int, float]) -> HttpClient:
    return HttpClient(
        "paced",
        connection_id=next(CONNECTION_IDS),
        auth_headers=lambda: {"Authorization": "Bearer tok"},
        rate=rate,
        clock=clock,
        wall_clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.5,
    )


def echo(request: Any) -> tuple[int, dict, str]:
    import json

    sent = json.loads(request.body)
    return 201, {}, json.dumps({"id": f"r-{sent['ref']}", **sent})


@pytest.fixture
def service():
    """The fake service enforcing 3 requests in any second, in virtual time."""
    clock = VirtualClock()
    window = RateWindow(clock, 3, 1.0, latency=0.004)
    with responses.RequestsMock() as mocked, metered(clock), window.guarding(mocked):
        mocked.add_callback("POST", API, callback=echo)
        yield clock, window


@pytest.mark.django_db
def test_the_rate_holds_over_every_thread_in_virtual_time(service):
    clock, window = service
    provider = Paced(paced_client(clock, Paced.rate_limit))
    results = provider.write_batch(creates([f"t{n}" for n in range(30)]))
    assert [r.remote_id for r in results] == [f"r-task-{n}" for n in range(30)]
    assert window.calls == 30
    assert window.refused == 0  # never faster than the service's 3 a second
    assert 1 < window.most_in_flight <= Paced.write_concurrency
    # 30 calls at 3 a second: the first three at once, the last at 9 s
    assert 9.0 <= clock.elapsed <= 9.0 + 1e-6


@pytest.mark.django_db
def test_a_429_is_waited_out_on_its_thread_and_the_write_goes_through(service):
    clock, window = service
    # a client that believes in 6 a second against a service allowing 3
    provider = Paced(paced_client(clock, (6, 1.0)))
    results = provider.write_batch(creates([f"t{n}" for n in range(12)]))
    assert all(isinstance(r, RemoteItem) for r in results)
    assert window.refused >= 1
    assert window.calls == 12 + window.refused


@pytest.mark.django_db
def test_each_thread_has_its_own_session_and_the_database_stays_on_the_engines(
    service, monkeypatch
):
    clock, _window = service
    provider = Paced(paced_client(clock, Paced.rate_limit))
    database_threads: set[int] = set()
    from django.db.backends import utils

    original = utils.CursorWrapper.execute

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        database_threads.add(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(utils.CursorWrapper, "execute", execute)
    counted = []
    monkeypatch.setattr(http, "_count_call", lambda cid, *, flush=True: counted.append(flush))
    provider.write_batch(creates([f"t{n}" for n in range(10)]))
    # the provider's first write went alone on the engine's thread, the others on theirs
    engine = threading.get_ident()
    assert provider.sessions.pop(engine) == id(provider.http.session)
    sessions = set(provider.sessions.values())
    assert len(sessions) == len(provider.sessions) > 1  # one session per thread
    assert id(provider.http.session) not in sessions  # none of them the engine's
    assert database_threads <= {engine}
    assert counted == [True] + [False] * 9  # in memory on threads; the engine's flushes


@pytest.mark.django_db
def test_a_token_refresh_runs_on_the_engines_thread():
    clock = VirtualClock()
    refreshed_on: list[int] = []
    token = {"value": "old"}

    def refresh(failed: str) -> None:
        refreshed_on.append(threading.get_ident())
        token["value"] = "new"

    client = paced_client(clock, (0, 1.0))
    client.auth_headers = lambda: {"Authorization": f"Bearer {token['value']}"}
    client.refresh = refresh

    def answer(request: Any) -> tuple[int, dict, str]:
        if request.headers["Authorization"] != "Bearer new":
            return 401, {}, '{"code": "unauthorized"}'
        return echo(request)

    with responses.RequestsMock() as mocked:
        mocked.add_callback("POST", API, callback=answer)
        provider = Paced(client)
        provider._threads_warm = True  # no first write alone: every 401 is a thread's
        results = provider.write_batch(creates(["a", "b", "c", "d"]))
    assert all(isinstance(r, RemoteItem) for r in results)
    assert refreshed_on
    assert set(refreshed_on) == {threading.get_ident()}


# --- the real Notion provider ---------------------------------------------------------------
@pytest.mark.django_db
def test_notion_creates_side_by_side_read_the_schema_once(connect, wired, mocked):
    from integrations.providers.notion.provider import NotionProvider
    from tests.integrations.providers import test_notion as notion

    connection = connect("notion", **notion.MAPPING)
    provider = NotionProvider(connection, http=wired(connection, "ntn_live"))
    mocked.post(notion.QUERY, json=notion.listing([]))
    mocked.get(f"{notion.API}/data_sources/{notion.SOURCE}", json=notion.schema_response())
    mocked.add_callback("POST", f"{notion.API}/pages", callback=notion.echo_page)
    writes = [
        Write("create", {"title": f"T{n}", "status": "open"}, dayflow_id=f"task-{n}")
        for n in range(9)
    ]
    results = provider.write_batch(writes)
    assert [r.fields["title"] for r in results] == [f"T{n}" for n in range(9)]
    assert [r.dayflow_id for r in results] == [f"task-{n}" for n in range(9)]
    paths = [call.request.method + " " + call.request.url for call in mocked.calls]
    assert paths.count(f"GET {notion.API}/data_sources/{notion.SOURCE}") == 1
    assert paths.count(f"POST {notion.API}/pages") == 9


@pytest.mark.django_db
@pytest.mark.parametrize(("looked_up", "lookups"), [(True, 0), (False, 1)])
def test_a_create_looked_for_already_skips_the_look_up_others_make(
    connect, wired, mocked, looked_up, lookups
):
    from integrations.providers.notion.provider import NotionProvider
    from tests.integrations.providers import test_notion as notion

    connection = connect("notion", **notion.MAPPING)
    provider = NotionProvider(connection, http=wired(connection, "ntn_live"))
    mocked.post(notion.QUERY, json=notion.listing([]))
    mocked.get(f"{notion.API}/data_sources/{notion.SOURCE}", json=notion.schema_response())
    mocked.add_callback("POST", f"{notion.API}/pages", callback=notion.echo_page)
    one = Write(
        "create", {"title": "T", "status": "open"}, dayflow_id="task-1", looked_up=looked_up
    )
    item = provider.write_one(one)
    assert item.dayflow_id == "task-1"
    urls = [call.request.url for call in mocked.calls]
    assert urls.count(notion.QUERY) == lookups
    # and the mark does not outlive its write: a create after it looks again
    provider.create({"title": "U", "status": "open"}, dayflow_id="task-2")
    assert [call.request.url for call in mocked.calls].count(notion.QUERY) == lookups + 1
