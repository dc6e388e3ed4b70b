"""Issue 19 §2's quota benchmark: push `--items` new DayFlow tasks (task services) or events
(calendar services) to each service through a fake that enforces the service's documented rate
in virtual time, with the real provider, its HTTP client and token bucket, and the engine's
batching (`sync.engine.remote.writes_per_batch`).

    .venv/bin/python benchmarks/quota.py [--items 5000] [--only notion,clickup]

Per service it prints the items, the API calls (the lookups a create makes included), calls per
item, the virtual completion time, the floor the documented limit sets, ceil(N / batch) / rate,
their ratio and the 429s, next to the targets: at most 1.1x the floor, at most one 429 a run,
Todoist at most 0.011 calls per task.

The fakes (tests/integrations/providers/rate_fakes.py) keep a virtual clock: the client's sleeps
(bucket slots, Retry-After) advance it instead of waiting, and a call arrives at the virtual
time its slot was granted. Each answers 429 the way its service does once more calls arrived in
any window than the documented limit allows (a sliding window: stricter than an average with
bursts or a fixed window). The services' own fakes are the tests' (documented shapes): Todoist's
Sync server, Google's and Graph's calendar fakes, the Notion, ClickUp and Linear echoes. CalDAV
has no documented rate (iCloud, Fastmail: ../shared/providers/facts.md), so its row reports
calls only, paced by our own bucket, faked at the transport seam (`DavSession.request`).
Figures: docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_RATIO = 1.1
TARGET_429 = 1
TARGET_TODOIST = 0.011
CONNECTION_IDS = itertools.count(7_000_000)


@dataclasses.dataclass
class Case:
    key: str
    label: str
    items: str  # "tasks" or "events"
    documented: tuple[int, float] | None  # the service's limit: requests per seconds
    source: str
    build: Callable[[Any, Any, Any], Any]  # (mocked, client, clock) -> provider
    refuse: str = "retry_after"
    # True where the limit counts a batch's inner calls (Google: "n requests, not one"): then
    # the floor is N / rate whatever the batch, and the quota used is reported beside calls.
    counts_inner: bool = False


@dataclasses.dataclass
class Outcome:
    case: Case
    items: int
    created: int
    failed: int
    calls: int
    units: int
    refused: int
    elapsed: float
    batch: int
    wall: float

    @property
    def floor(self) -> float | None:
        if self.case.documented is None:
            return None
        limit, per = self.case.documented
        batch = 1 if self.case.counts_inner else self.batch
        return math.ceil(self.items / batch) / (limit / per)


def task_fields(n: int) -> dict[str, Any]:
    return {"title": f"Task {n}", "notes": "", "status": "open", "due": None, "priority": 0}


def event_fields(n: int) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    start = dt.datetime(2026, 3, 2, 9, tzinfo=ZoneInfo("Europe/Berlin")) + dt.timedelta(hours=n)
    return {
        "title": f"Event {n}",
        "description": "",
        "location": "",
        "status": "confirmed",
        "all_day": False,
        "start": start,
        "end": start + dt.timedelta(minutes=30),
        "timezone": "Europe/Berlin",
        "rrule": "",
        "exdates": [],
    }


# --- the services ----------------------------------------------------------------------------
def connection(**mapping: Any) -> SimpleNamespace:
    return SimpleNamespace(pk=next(CONNECTION_IDS), field_mapping=mapping)


def todoist(mocked: Any, client: Any, clock: Any) -> Any:
    from integrations.providers.todoist.provider import TodoistProvider
    from tests.sync.todoist_server import PROJECT, TodoistServer

    TodoistServer().install(mocked)
    mapping = {"project_id": PROJECT, "write_id_marker": True, "timezone": "UTC"}
    provider = TodoistProvider(connection(**mapping), http=client)
    # As the engine does, a pull first (one call, counted): its sync token lets each Sync
    # write call carry the written items back, instead of a read-back call per batch.
    provider.pull(None)
    return provider


def linear(mocked: Any, client: Any, clock: Any) -> Any:
    from integrations.providers.linear.provider import LinearProvider
    from tests.integrations.providers.test_linear import API, TEAM, issues
    from tests.integrations.providers.test_linear_batch import STATES, mutation_answer

    def answer(request: Any) -> tuple[int, dict, str]:
        sent = json.loads(request.body)
        if sent["query"].lstrip().startswith("mutation"):
            return mutation_answer(request)
        return 200, {}, json.dumps(issues([]))  # no issue carries our id

    mocked.add_callback("POST", API, callback=answer)
    provider = LinearProvider(connection(team_id=TEAM, write_id_marker=True), http=client)
    provider._states = {TEAM: dict(STATES)}
    return provider


def notion(mocked: Any, client: Any, clock: Any) -> Any:
    from integrations.providers.notion.provider import NotionProvider
    from tests.integrations.providers import test_notion as fake

    listing = json.dumps(fake.listing([]))
    schema = json.dumps(fake.schema_response())
    mocked.add_callback("POST", fake.QUERY, callback=lambda r: (200, {}, listing))
    source = f"{fake.API}/data_sources/{fake.SOURCE}"
    mocked.add_callback("GET", source, callback=lambda r: (200, {}, schema))
    mocked.add_callback("POST", f"{fake.API}/pages", callback=fake.echo_page)
    return NotionProvider(connection(**fake.MAPPING), http=client)


def clickup(mocked: Any, client: Any, clock: Any) -> Any:
    from integrations.providers.clickup.provider import ClickUpProvider
    from tests.integrations.providers import test_clickup as fake
    from tests.integrations.providers.support import load

    listed = json.dumps(load("clickup", "list.json"))
    mocked.add_callback("GET", fake.TASKS, callback=lambda r: (200, {}, '{"tasks": []}'))
    mocked.add_callback("GET", f"{fake.API}/list/{fake.LIST}", callback=lambda r: (200, {}, listed))
    mocked.add_callback("POST", fake.TASKS, callback=fake.echo_task)
    mapping = {"list_id": fake.LIST, "dayflow_id_field": fake.ID_FIELD, "timezone": "UTC"}
    return ClickUpProvider(connection(**mapping), http=client)


def google(mocked: Any, client: Any, clock: Any) -> Any:
    from integrations.providers.google_calendar.provider import GoogleCalendarProvider
    from tests.integrations.calendar.fake_google import FakeGoogleCalendar

    FakeGoogleCalendar(mocked)
    return GoogleCalendarProvider(connection(calendars=["primary"]), http=client)


def outlook(mocked: Any, client: Any, clock: Any) -> Any:
    from integrations.providers.outlook.provider import OutlookProvider
    from tests.integrations.calendar.fake_graph import FakeGraphCalendar

    FakeGraphCalendar(mocked)
    return OutlookProvider(connection(), http=client)


def caldav_provider(key: str) -> Callable[[Any, Any, Any], Any]:
    def build(mocked: Any, client: Any, clock: Any) -> Any:
        from integrations.providers import PROVIDERS, caldav

        calendar = "https://dav.example.com/calendars/bench/home/"

        class FakeDav(caldav.DavSession):
            """The server at the transport seam: every PUT stored, answered 201 with a strong
            ETag (what Radicale and iCloud do: RFC 4791 §5.3.4), through the same gate."""

            def __init__(self, gate: Any) -> None:
                self.service, self.gate, self.server_url = key, gate, calendar
                self.calls = 0

            def request(self, method: str, url: str, body: bytes = b"", headers: Any = None):
                self.gate.admit(max_wait=caldav.RATE_WAIT)
                clock.arrived()
                self.gate.count()
                CALDAV_CALLS.append(method)
                etag = f'"{abs(hash(body))}"'
                return caldav.DavReply(201, {"etag": etag}, b"")

            def for_thread(self, relay: Any) -> Any:
                from integrations.providers.http import RelayedGate

                return FakeDav(RelayedGate(self.gate, relay))

            def close(self) -> None:
                pass

        provider_class = PROVIDERS[key]
        provider = provider_class(
            connection(calendars=[calendar], sync_todos=True), session=FakeDav(client.gate)
        )
        provider._containers = [
            caldav.Container(calendar, "Home", "calendar", item_types=provider_class.item_types)
        ]
        return provider

    return build


CALDAV_CALLS: list[str] = []
RETRIED = False

NOTION_DOC = "developers.notion.com/reference/request-limits: an average of 3 requests/s"
CASES = [
    Case(
        "todoist",
        "Todoist",
        "tasks",
        (450, 900.0),
        "450 per 15 min (community figure; Todoist publishes none [U])",
        todoist,
        "todoist_body",
    ),
    Case(
        "linear",
        "Linear",
        "tasks",
        (1500, 3600.0),
        "1,500 requests/h (sources disagree [U]; our declared rate)",
        linear,
    ),
    Case("notion", "Notion", "tasks", (3, 1.0), NOTION_DOC, notion),
    Case(
        "clickup",
        "ClickUp",
        "tasks",
        (100, 60.0),
        "developer.clickup.com/docs/rate-limits: 100/min per token (Free to Business)",
        clickup,
        "clickup_reset",
    ),
    Case(
        "google-calendar",
        "Google Calendar",
        "events",
        (600, 60.0),
        "developers.google.com/calendar/api/guides/quota: 600/min per user, each inner call "
        "of a batch counted (developers.google.com/calendar/api/guides/batch)",
        google,
        "no_header",
        counts_inner=True,
    ),
    Case(
        "outlook",
        "Outlook (Graph)",
        "events",
        (10000, 600.0),
        "Graph mailbox limit: 10,000 requests per 10 min, each request of a $batch counted "
        "(learn.microsoft.com/graph/json-batching)",
        outlook,
        counts_inner=True,
    ),
    Case(
        "apple-calendar",
        "iCloud (CalDAV)",
        "events",
        None,
        "none documented [U]",
        caldav_provider("apple-calendar"),
    ),
    Case(
        "fastmail",
        "Fastmail (CalDAV)",
        "events",
        None,
        "none documented [U]",
        caldav_provider("fastmail"),
    ),
]


def batch_parts(request: Any) -> int:
    """The inner calls of a batch request, else 1: a Google batch's application/http parts,
    a Graph `$batch`'s requests."""
    body = request.body if isinstance(request.body, bytes) else (request.body or "").encode()
    if "/batch/" in request.url:
        return max(body.count(b"Content-Type: application/http"), 1)
    if request.url.endswith("/$batch"):
        return max(len(json.loads(body).get("requests", [])), 1)
    return 1


def no_header(seconds: float, now: float) -> tuple[int, dict[str, str], str]:
    body = {"error": {"code": 429, "message": "Rate Limit Exceeded", "errors": []}}
    return 429, {}, json.dumps(body)


def run_case(case: Case, count: int, *, items: str | None = None) -> Outcome:
    import responses

    from integrations.clients import rate_for
    from integrations.providers.base import RemoteItem, Write
    from integrations.providers.errors import ProviderError
    from integrations.providers.http import HttpClient
    from sync.engine.remote import writes_per_batch
    from tests.integrations.providers import rate_fakes

    kind = items or case.items
    clock = rate_fakes.VirtualClock()
    refuse = {
        "retry_after": rate_fakes.retry_after,
        "clickup_reset": rate_fakes.clickup_reset,
        "todoist_body": rate_fakes.todoist_body,
        "no_header": no_header,
    }[case.refuse]
    limit, per = case.documented or (10**9, 1.0)
    weight = batch_parts if case.counts_inner else (lambda request: 1)
    window = rate_fakes.RateWindow(clock, limit, per, refuse=refuse, weight=weight)
    client = HttpClient(
        case.key,
        connection_id=next(CONNECTION_IDS),
        auth_headers=lambda: {"Authorization": "Bearer bench"},
        rate=rate_for(case.key),
        clock=clock,
        wall_clock=clock,
        sleep=clock.sleep,
        rng=lambda: 0.5,
    )
    make = task_fields if kind == "tasks" else event_fields
    # The engine's creates come looked for already (`Write.looked_up`: it looked for an earlier
    # run's unfinished creates while planning, `plan.settle_intents`); --retried makes every
    # create look for itself first, as a create from elsewhere does.
    writes = [
        Write("create", make(n), dayflow_id=f"dayflow-{kind[:-1]}-{n}", looked_up=not RETRIED)
        for n in range(count)
    ]
    CALDAV_CALLS.clear()
    started = time.perf_counter()
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as mocked,
        # The barrier that keeps threads' calls at their slots' times; a batch's inner slots
        # all precede its one call, so a batch service (one thread) goes without it.
        contextlib.nullcontext() if case.counts_inner else rate_fakes.metered(clock),
        window.guarding(mocked),
    ):
        provider = case.build(mocked, client, clock)
        size = writes_per_batch(provider)
        results: list[Any] = []
        for start in range(0, count, max(size, 1)):
            chunk = writes[start : start + max(size, 1)]
            if size <= 1:
                for one in chunk:  # the engine's single write (`remote.write`)
                    try:
                        results.append(provider.write_one(one))
                    except ProviderError as error:
                        results.append(error)
            else:
                results.extend(provider.write_batch(chunk))
    wall = time.perf_counter() - started
    created = sum(isinstance(r, RemoteItem) for r in results)
    calls = window.calls + len(CALDAV_CALLS)
    batch = max(provider.write_batch_size, 1)
    units = window.units + len(CALDAV_CALLS)
    return Outcome(
        case,
        count,
        created,
        count - created,
        calls,
        units,
        window.refused,
        clock.elapsed,
        batch,
        wall,
    )


def report(outcome: Outcome, kind: str) -> bool:
    case, floor = outcome.case, outcome.floor
    per_item = outcome.calls / outcome.items
    ratio = outcome.elapsed / floor if floor else None
    ok = outcome.refused <= TARGET_429 and outcome.created == outcome.items
    if ratio is not None:
        ok = ok and ratio <= TARGET_RATIO
    if case.key == "todoist":
        ok = ok and per_item <= TARGET_TODOIST
    floor_text = f"{floor:9.1f} s" if floor else "        - "
    units = f"  quota units {outcome.units}" if case.counts_inner else ""
    ratio_text = f"{ratio:5.2f}x" if ratio is not None else "    - "
    print(
        f"{case.label:<18} {kind:<6} {outcome.items:>6} {outcome.created:>6} {outcome.calls:>7} "
        f"{per_item:>9.4f} {outcome.elapsed:>10.1f} s {floor_text} {ratio_text} "
        f"{outcome.refused:>5}  batch {outcome.batch:<3} {'ok' if ok else 'MISSED'}"
        f"{units}  ({outcome.wall:.1f} s wall)"
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--only", default="", help="comma-separated service keys")
    parser.add_argument(
        "--retried", action="store_true", help="creates as after a crash: each looks first"
    )
    args = parser.parse_args()
    global RETRIED
    RETRIED = args.retried
    os.environ["DAYFLOW_VAR_DIR"] = tempfile.mkdtemp(prefix="dayflow-bench-quota-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("integrations").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # the token bucket lives in the (database) cache
    only = {k for k in args.only.split(",") if k}
    print(
        f"targets: time <= {TARGET_RATIO}x the floor ceil(N / batch) / rate; "
        f"<= {TARGET_429} 429 a run; Todoist <= {TARGET_TODOIST} calls per task"
    )
    print(
        f"{'service':<18} {'items':<6} {'N':>6} {'made':>6} {'calls':>7} {'calls/item':>9} "
        f"{'virtual time':>12} {'floor':>11} {'ratio':>6} {'429s':>5}"
    )
    all_ok = True
    for case in CASES:
        if only and case.key not in only:
            continue
        kinds = ["tasks", "events"] if case.documented is None else [case.items]
        for kind in kinds:
            try:
                outcome = run_case(case, args.items, items=kind)
            except Exception as error:  # one fake's failure must not hide the other rows
                print(f"{case.label:<18} {kind:<6} FAILED: {type(error).__name__}: {error}")
                all_ok = False
                continue
            all_ok = report(outcome, kind) and all_ok
    for case in CASES:
        if not only or case.key in only:
            print(f"  {case.label}: rate {case.source}")
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
