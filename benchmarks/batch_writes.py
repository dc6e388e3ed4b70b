"""Calls per item when DayFlow pushes new items to a service that batches writes (issue 19):
`--tasks` new tasks to Todoist, or `--events` new events to Google Calendar. The service is
faked at the HTTP seam (`responses`: tests/sync/todoist_server.py, the documented Sync shapes;
tests/integrations/calendar/fake_google.py, the documented batch requests), the real provider
and engine, a fresh database in a temporary folder.

    .venv/bin/python benchmarks/batch_writes.py [--tasks 5000]
    .venv/bin/python benchmarks/batch_writes.py --events 5000

Todoist: prints the Sync calls that carried commands, all API calls of the run (the pull
included) and both per task, next to the target (at most 0.011 calls per task), and the wall
time. Google Calendar: prints the batch requests and all HTTP calls per event next to their
target, the inner calls (what Google's quota counts, each inner call of a batch being one
request) per event, and the time the run takes in virtual time under Google's per-user quota
(600 requests a minute, the connection's token bucket at 10 a second, the fake answering
rateLimitExceeded past 600 in any minute) against the floor that quota sets (one insert per
event). Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_CALLS_PER_TASK = 0.011
# Google Calendar: two batch requests of 50 per 50 new events (the finds by DayFlow's id, then
# the inserts), with 10 % to spare for the pull; and Google's per-user quota.
GOOGLE_BATCH = 50
TARGET_GOOGLE_CALLS_PER_EVENT = 1.1 * 2 / GOOGLE_BATCH
GOOGLE_QUOTA = (
    600,
    60.0,
)  # requests per user per minute (developers.google.com/calendar/api/guides/quota)
TARGET_FLOOR_RATIO = 1.1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--events", type=int, default=0, help="push events to Google instead")
    options = parser.parse_args()
    tasks = options.tasks
    os.environ["DAYFLOW_VAR_DIR"] = tempfile.mkdtemp(prefix="dayflow-bench-batch-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")
    # The tasks are the scene, not a person's edits to sync on their own.
    os.environ["DAYFLOW_SYNC_LOCAL_DELAY"] = "off"
    import django

    django.setup()
    if options.events:
        return google(options.events)
    server, job, wall = push(tasks)
    per_task = job.api_calls / tasks
    verdict = "ok" if per_task <= TARGET_CALLS_PER_TASK else "TOO MANY"
    print(f"pushing {tasks} new DayFlow tasks to Todoist: {job.remote_created} created")
    print(f"Sync write calls {server.write_calls} ({server.write_calls / tasks:.4f} per task)")
    print(
        f"all API calls {job.api_calls} ({per_task:.4f} per task)  "
        f"target <= {TARGET_CALLS_PER_TASK}  {verdict}"
    )
    print(f"wall {wall:.1f} s")
    return 0 if verdict == "ok" else 1


def push(count: int) -> tuple:
    import responses
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from dayflow.models import Task
    from integrations.clients import client_for
    from integrations.models import Connection, Credential, Service
    from integrations.providers.todoist.provider import TodoistProvider
    from sync import engine
    from sync.engine import providers
    from sync.models import SyncJob
    from tests.sync.todoist_server import PROJECT, TodoistServer

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw-bench-123")
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="todoist"),
        external_account_id="bench",
        field_mapping={"project_id": PROJECT, "write_id_marker": True, "timezone": "UTC"},
    )
    Credential.objects.create(connection=connection, access_token="bench-token")
    Task.objects.bulk_create([Task(user=user, title=f"Task {n}") for n in range(count)])
    server = TodoistServer()
    job = SyncJob.objects.create(connection=connection, trigger="command")
    started = time.perf_counter()
    factory = lambda c: TodoistProvider(c, http=client_for(c, rate=(0, 1.0)))  # noqa: E731
    with responses.RequestsMock() as mocked, providers.installed(factory):
        server.install(mocked)
        engine.run_job(job.pk)
    wall = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != "succeeded":
        raise RuntimeError(f"sync {job.pk}: {job.status} {job.error}")
    return server, job, wall


def google(count: int) -> int:
    fake, job, wall, clock = push_events(count)
    calls = job.api_calls
    per_event = calls / count
    units = fake.inner_calls + fake.pages
    floor = count * GOOGLE_QUOTA[1] / GOOGLE_QUOTA[0]
    ratio = clock.now / floor
    calls_ok = per_event <= TARGET_GOOGLE_CALLS_PER_EVENT
    time_ok = ratio <= TARGET_FLOOR_RATIO and fake.rate_limited <= 1
    print(f"pushing {count} new DayFlow events to Google Calendar: {job.remote_created} created")
    print(
        f"batch requests {len(fake.batches)} ({len(fake.batches) / count:.4f} per event), "
        f"largest {max(len(b) for b in fake.batches)} calls"
    )
    print(
        f"all HTTP calls {calls} ({per_event:.4f} per event)  "
        f"target <= {TARGET_GOOGLE_CALLS_PER_EVENT:.4f}  {'ok' if calls_ok else 'TOO MANY'}"
    )
    print(
        f"quota used {units} requests ({units / count:.2f} per event: "
        f"{fake.inner_calls} inner calls, {fake.pages} listing pages), floor {count} (1 per event)"
    )
    print(
        f"virtual time {clock.now:.0f} s under {GOOGLE_QUOTA[0]} requests/min, floor "
        f"{floor:.0f} s: {ratio:.2f}x  target <= {TARGET_FLOOR_RATIO}x  "
        f"rateLimitExceeded answers {fake.rate_limited} (target <= 1)  "
        f"{'ok' if time_ok else 'MISSED'}"
    )
    print(f"wall {wall:.1f} s")
    return 0 if calls_ok and time_ok else 1


class VirtualClock:
    """Seconds that pass only when the token bucket sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)


def push_events(count: int) -> tuple:
    import collections
    import datetime as dt

    import responses
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from dayflow.models import Event
    from integrations.clients import client_for
    from integrations.models import Connection, Credential, Service
    from integrations.providers.google_calendar.provider import GoogleCalendarProvider
    from sync import engine
    from sync.engine import providers
    from sync.models import SyncJob
    from tests.integrations.calendar.fake_google import FakeGoogleCalendar

    clock = VirtualClock()

    class QuotaFake(FakeGoogleCalendar):
        """The fake, counting every request Google's quota counts, and answering
        403 rateLimitExceeded past 600 in any virtual minute."""

        def __init__(self, mocked: responses.RequestsMock) -> None:
            super().__init__(mocked)
            self.inner_calls = self.pages = self.rate_limited = 0
            self.window: collections.deque[float] = collections.deque()

        def _spend(self) -> bool:
            limit, per = GOOGLE_QUOTA
            while self.window and self.window[0] <= clock.now - per:
                self.window.popleft()
            if len(self.window) >= limit:
                self.rate_limited += 1
                return False
            self.window.append(clock.now)
            return True

        def _route(self, method: str, path: str, headers: dict, payload: str) -> tuple:
            self.inner_calls += 1
            if not self._spend():
                body = {"error": {"errors": [{"reason": "rateLimitExceeded"}], "code": 403}}
                return 403, {}, json.dumps(body)
            return super()._route(method, path, headers, payload)

        def _list(self, request) -> tuple:
            if "/batch/" not in getattr(request, "url", "") and "privateExtended" not in str(
                request.url
            ):
                self.pages += 1
                self._spend()
            return super()._list(request)

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", "bench@example.com", "pw-bench-123")
    connection = Connection.objects.create(
        user=user,
        service=Service.objects.get(key="google-calendar"),
        external_account_id="bench@example.com",
        field_mapping={"calendars": ["primary"]},
    )
    Credential.objects.create(connection=connection, access_token="bench-token")
    start = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    Event.objects.bulk_create(
        [
            Event(
                user=user,
                title=f"Event {n}",
                start=start + dt.timedelta(hours=n),
                end=start + dt.timedelta(hours=n, minutes=30),
                timezone="UTC",
            )
            for n in range(count)
        ]
    )
    job = SyncJob.objects.create(connection=connection, trigger="command")
    started = time.perf_counter()

    def factory(c):
        http = client_for(c, rate=(10, 1.0), wall_clock=clock.time, sleep=clock.sleep)
        return GoogleCalendarProvider(c, http=http)

    # The single-call routes stay unused: every write goes in a batch.
    unused_ok = responses.RequestsMock(assert_all_requests_are_fired=False)
    with unused_ok as mocked, providers.installed(factory):
        fake = QuotaFake(mocked)
        engine.run_job(job.pk)
    wall = time.perf_counter() - started
    job.refresh_from_db()
    if job.status != "succeeded":
        raise RuntimeError(f"sync {job.pk}: {job.status} {job.error}")
    return fake, job, wall, clock


if __name__ == "__main__":
    sys.exit(main())
