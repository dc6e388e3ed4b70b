"""Writes side by side, for a service with no batch (issue 19 §2: Notion, ClickUp, CalDAV).

`Provider.write_batch` hands a batch here when the provider declares `write_concurrency` > 1.
At most that many writes are in flight at once, on a pool of threads started for the batch;
each write's result (or its own error) comes back in the order of the writes.

What stays on the engine's thread (the one that called `write_batch`):
- every database access. Django's connections are per thread, and the token bucket, the call
  counter's flush and a token refresh all go through the cache or the ORM (the database, by
  default). A write thread asks the engine's thread to do them through a `Relay`, and the
  engine's thread serves those requests while it waits for the batch;
- the rate. Each request takes its slot from the connection's one token bucket
  (`http.CallGate`), on the engine's thread, in turn: however many threads there are, the
  documented rate holds, and across worker processes too, since the bucket is shared.

What a write thread has of its own: its HTTP session (`requests.Session` is not documented as
thread-safe, psf/requests#2766; one per thread is the maintainers' advice) or, for CalDAV, its
own `DAVClient` over its own niquests session. Providers set that up in `for_thread`.

Errors: a write's own failure (Permanent and its kinds) is its result, as in the one-by-one
default. An error that is not the item's (RateLimited, Transient, AuthExpired) is that write's
result too, and no further write of the batch starts: those not started get the same error,
so the engine records what was written and stops the run (`sync.engine.remote.write_all`).
Anything else (a bug) is raised on the engine's thread once the writes in flight are done.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from integrations.providers.errors import Permanent, ProviderError

if TYPE_CHECKING:
    from integrations.providers.base import Provider, Write, WriteResult


class Relay:
    """Runs callables on the thread that made it, for other threads that ask.

    `call` from the owner runs at once; from another thread it waits for the owner to run it
    in `serve_until`. The owner must be serving while other threads call.
    """

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self._inbox: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Future] | None]
        self._inbox = queue.SimpleQueue()

    def call(self, function: Callable[..., Any], *args: Any) -> Any:
        if threading.get_ident() == self.owner:
            return function(*args)
        reply: Future = Future()
        self._inbox.put((function, args, reply))
        return reply.result()

    def wake(self) -> None:
        """Make `serve_until` look at its condition again."""
        self._inbox.put(None)

    def serve_until(self, done: Callable[[], bool]) -> None:
        while not done():
            message = self._inbox.get()
            if message is None:
                continue
            function, args, reply = message
            try:
                reply.set_result(function(*args))
            except BaseException as error:  # handed to the caller's thread
                reply.set_exception(error)


def write_concurrently(
    provider: Provider, writes: list[Write], concurrency: int
) -> list[WriteResult]:
    """Every write of the batch, at most `concurrency` at a time; results in their order.

    Writes to one resource (`Provider.write_resource`: a CalDAV series and its instances share
    one) go one after the other, in their order, on one thread; the others side by side."""
    results: list[WriteResult] = [None] * len(writes)
    if not writes:
        return results
    groups: dict[str, list[int]] = {}
    for index, one in enumerate(writes):
        groups.setdefault(provider.write_resource(one) or f"#{index}", []).append(index)
    queue_ = list(groups.values())  # in the order of each resource's first write
    relay = Relay()
    provider.prepare_threads()  # on this thread: credentials, sessions, the client
    lock = threading.Lock()
    sent: set[int] = set()
    state: dict[str, Any] = {"next": 0, "finished": 0, "stop": None, "bug": None}
    if not getattr(provider, "_threads_warm", False):
        # The provider's first write goes alone, on this thread: what it reads once (Notion's
        # schema, ClickUp's list statuses, CalDAV's calendars) is read once, not by each thread.
        first = queue_[0].pop(0)
        sent.add(first)
        try:
            results[first] = provider.write_one(writes[first])
        except Permanent as error:
            results[first] = error
        except ProviderError as error:
            results[first] = state["stop"] = error
        provider._threads_warm = True
        queue_ = [group for group in queue_ if group]

    def take() -> int | None:
        with lock:
            if state["stop"] is not None or state["bug"] is not None:
                return None
            if state["next"] >= len(queue_):
                return None
            state["next"] += 1
            return state["next"] - 1

    def write_group(indexes: list[int]) -> None:
        for index in indexes:
            with lock:
                if state["stop"] is not None:
                    return
                sent.add(index)
            try:
                results[index] = provider.write_one(writes[index])
            except Permanent as error:
                results[index] = error
            except ProviderError as error:  # not the item's: no further write starts
                results[index] = error
                with lock:
                    state["stop"] = state["stop"] or error
                return

    def work() -> None:
        try:
            provider.for_thread(relay)
            while (group := take()) is not None:
                write_group(queue_[group])
        except BaseException as error:  # raised on the engine's thread
            with lock:
                state["bug"] = state["bug"] or error
        finally:
            provider.leave_thread()
            with lock:
                state["finished"] += 1
            relay.wake()

    if state["stop"] is not None:
        queue_ = []
    workers = min(concurrency, len(queue_))
    threads = [
        threading.Thread(target=work, name=f"{provider.key}-write-{n}", daemon=True)
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    relay.serve_until(lambda: state["finished"] == workers)
    for thread in threads:
        thread.join()
    if state["bug"] is not None:
        raise state["bug"]
    if state["stop"] is not None:
        for index in range(len(writes)):
            if index not in sent:
                results[index] = state["stop"]  # not sent: left for the next run
    return results
