"""The sync jobs in the API: the seed's `/api/integrations/jobs`, `/api/integrations/sync` and
`/api/integrations/sync/{jobId}`, and `/api/jobs` with the changes each job made."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from dayflow.api.throttling import SyncStart
from dayflow.models import Task
from integrations.models import Connection
from sync import engine
from sync.models import JournalEntry, SyncJob
from tests.sync.conftest import task_fields
from tests.sync.fakes import FakeProvider, FakeService

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
UNFINISHED = ("queued", "running", "paused", "needs_confirmation")
FINISHED = ("succeeded", "failed", "cancelled")
MINE = object()  # the user's own connection, in the tables


@pytest.fixture
def remote(use_provider) -> FakeService:
    """The service every sync in the test talks to."""
    service = FakeService(page_size=50)
    use_provider(lambda connection: FakeProvider(connection, service))
    return service


@pytest.fixture
def run_sync(connection, remote):
    def run(**job_fields) -> SyncJob:
        job = SyncJob.objects.create(connection=connection, **job_fields)
        engine.run_job(job.pk)
        job.refresh_from_db()
        return job

    return run


@pytest.fixture
def theirs(other_user, service) -> Connection:
    return Connection.objects.create(user=other_user, service=service, external_account_id="b")


def job(connection, status: str = "queued", **fields) -> SyncJob:
    """A job row in `status`; dry runs, so several may wait on one connection."""
    return SyncJob.objects.create(
        connection=connection, status=status, dry_run=fields.pop("dry_run", True), **fields
    )


def control(api, job_id: int, action: str):
    return api.put(f"/api/integrations/sync/{job_id}", {"action": action}, format="json")


# --- GET /api/integrations/jobs -------------------------------------------------------------
def test_the_active_jobs_are_the_users_unfinished_ones(api, connection, theirs):
    mine = {status: job(connection, status).pk for status in UNFINISHED + FINISHED}
    job(theirs, "running")

    response = api.get("/api/integrations/jobs")

    assert response.status_code == 200
    listed = {row["id"]: row["status"] for row in response.json()["results"]}
    assert listed == {mine[status]: status for status in UNFINISHED}


def test_the_active_jobs_need_a_token(anonymous):
    assert anonymous.get("/api/integrations/jobs").status_code == 401


@pytest.mark.parametrize("path", ["/api/integrations/jobs", "/api/jobs"])
def test_job_lists_cost_the_same_queries_for_2_or_25_jobs(api, user, service, path):
    for n in range(30):
        conn = Connection.objects.create(user=user, service=service, external_account_id=f"{n}")
        job(conn, "queued", dry_run=False)

    def queries(page_size: int) -> int:
        with CaptureQueriesContext(db) as captured:
            response = api.get(f"{path}?page_size={page_size}")
        assert response.status_code == 200
        assert len(response.json()["results"]) == page_size
        return len(captured)

    api.get(path)  # the token's first use is recorded once
    assert queries(2) == queries(25)


# --- POST /api/integrations/sync --------------------------------------------------------------
def test_starting_a_sync_answers_202_with_the_job_and_its_place(
    api, connection, celery_sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/integrations/sync", {"connection": connection.pk}, format="json")

    assert response.status_code == 202, response.content
    body = response.json()
    assert response["Location"] == f"/api/jobs/{body['id']}"
    assert (body["status"], body["kind"], body["trigger"], body["dry_run"]) == (
        "queued",
        "incremental",
        "api",
        False,
    )
    assert body["service"] == "todoist"
    assert [args for args, _ in celery_sent] == [(body["id"],)]
    event = AuditEvent.objects.get(action="sync.requested")
    assert (event.channel, event.details) == ("api: script", {"job": body["id"], "mode": "sync"})


@pytest.mark.parametrize(
    ("mode", "kind", "dry_run"),
    [("sync", "incremental", False), ("preview", "full", True), ("full", "full", False)],
)
def test_each_mode_starts_its_job(api, connection, celery_sent, mode, kind, dry_run):
    body = {"connection": connection.pk, "mode": mode}
    response = api.post("/api/integrations/sync", body, format="json")
    assert response.status_code == 202
    assert (response.json()["kind"], response.json()["dry_run"]) == (kind, dry_run)


def test_the_same_idempotency_key_answers_with_the_same_job(api, connection, celery_sent):
    body = {"connection": connection.pk, "mode": "preview"}
    first = api.post("/api/integrations/sync", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/integrations/sync", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert SyncJob.objects.count() == 1


def test_a_key_reused_for_another_request_is_a_400(api, connection, celery_sent):
    sync = {"connection": connection.pk, "mode": "preview"}
    api.post("/api/integrations/sync", sync, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    full = {"connection": connection.pk, "mode": "full"}
    response = api.post("/api/integrations/sync", full, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert SyncJob.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "connection"),
        ({"connection": "seven"}, "connection"),
        ({"connection": 0}, "connection"),
        ({"connection": 10**30}, "connection"),
        ({"connection": [1]}, "connection"),
        ({"connection": None}, "connection"),
        ({"connection": MINE, "mode": ""}, "mode"),
        ({"connection": MINE, "mode": "everything"}, "mode"),
        ({"connection": MINE, "mode": ["sync"]}, "mode"),
        ({"connection": MINE, "dry_run": True}, "dry_run"),
    ],
)
def test_bad_input_to_start_is_a_400_naming_the_field(api, connection, celery_sent, body, field):
    if body.get("connection") is MINE:
        body = {**body, "connection": connection.pk}
    response = api.post("/api/integrations/sync", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not SyncJob.objects.exists()


@pytest.mark.parametrize("key", ["has space", "x" * 256, "ünï"])
def test_a_malformed_idempotency_key_is_a_400(api, connection, celery_sent, key):
    response = api.post(
        "/api/integrations/sync",
        {"connection": connection.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    assert response.status_code == 400
    assert not SyncJob.objects.exists()


def test_another_users_connection_is_not_found_and_does_not_sync(api, theirs, celery_sent):
    response = api.post("/api/integrations/sync", {"connection": theirs.pk}, format="json")
    assert response.status_code == 404
    missing = api.post("/api/integrations/sync", {"connection": 99_999}, format="json")
    assert missing.status_code == 404
    assert not SyncJob.objects.exists()
    assert celery_sent == []


def test_a_connection_that_cannot_sync_is_a_409_with_the_reason(api, connection, celery_sent):
    Connection.objects.filter(pk=connection.pk).update(status="paused")

    response = api.post("/api/integrations/sync", {"connection": connection.pk}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": "only a connected account can sync", "action": "sync"}
    assert not SyncJob.objects.exists()


def test_starting_needs_a_token(anonymous, connection, celery_sent):
    response = anonymous.post("/api/integrations/sync", {"connection": connection.pk})
    assert response.status_code == 401
    assert not SyncJob.objects.exists()


def test_starting_syncs_has_its_own_stricter_throttle(api, connection, celery_sent, monkeypatch):
    monkeypatch.setattr(
        SyncStart, "THROTTLE_RATES", {**SyncStart.THROTTLE_RATES, "sync_start": "2/min"}
    )
    body = {"connection": connection.pk, "mode": "preview"}
    codes = [api.post("/api/integrations/sync", body, format="json").status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert api.get("/api/integrations/jobs").status_code == 200  # reading is not starting


# --- PUT /api/integrations/sync/{jobId} -----------------------------------------------------
@pytest.mark.parametrize(
    ("status", "action", "after"),
    [
        ("queued", "pause", "paused"),
        ("queued", "cancel", "cancelled"),
        ("paused", "resume", "queued"),
        ("paused", "cancel", "cancelled"),
        ("needs_confirmation", "confirm", "queued"),
        ("needs_confirmation", "cancel", "cancelled"),
    ],
)
def test_a_job_is_controlled_as_its_page_does(api, connection, celery_sent, status, action, after):
    held = job(connection, status, dry_run=False)

    response = control(api, held.pk, action)

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["action"], body["job"]["id"], body["job"]["status"]) == (action, held.pk, after)
    assert (body["undo"], body["sent_again"]) == (None, None)
    held.refresh_from_db()
    assert held.status == after
    event = AuditEvent.objects.get(action=f"sync.job.{action}_requested")
    assert (event.channel, event.resource) == ("api: script", f"sync job {held.pk}")


def test_confirming_a_held_job_runs_it_with_its_deletions(
    api, connection, celery_sent, django_capture_on_commit_callbacks
):
    held = job(connection, "needs_confirmation", dry_run=False)
    with django_capture_on_commit_callbacks(execute=True):
        control(api, held.pk, "confirm")
    held.refresh_from_db()
    assert held.confirmed
    assert [args for args, _ in celery_sent] == [(held.pk,)]


def test_pausing_a_running_job_asks_it_to_stop_at_its_next_checkpoint(api, connection):
    running = job(connection, "running", dry_run=False)
    response = control(api, running.pk, "pause")
    assert response.status_code == 200
    running.refresh_from_db()
    assert (running.status, running.control) == ("running", "pause")


@pytest.mark.parametrize(
    ("status", "action", "dry_run"),
    [
        ("queued", "resume", False),
        ("running", "confirm", False),
        ("queued", "undo", False),
        ("succeeded", "pause", False),
        ("succeeded", "undo", True),  # a preview wrote nothing to undo
        ("cancelled", "cancel", False),
        ("failed", "resume", False),
        ("succeeded", "send-again", False),  # nothing was undone
    ],
)
def test_an_action_the_jobs_status_refuses_is_a_409_with_the_reason(
    api, connection, celery_sent, status, action, dry_run
):
    held = job(connection, status, dry_run=dry_run)

    response = control(api, held.pk, action)

    assert response.status_code == 409, response.content
    assert response.json()["action"] == action
    assert str(held.pk) in response.json()["detail"]
    held.refresh_from_db()
    assert held.status == status
    assert not AuditEvent.objects.filter(action__startswith="sync.job.").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "action"),
        ({"action": "explode"}, "action"),
        ({"action": "PAUSE"}, "action"),
        ({"action": ["pause"]}, "action"),
        ({"action": "pause", "force": True}, "force"),
    ],
)
def test_bad_input_to_control_is_a_400(api, connection, body, field):
    held = job(connection, "queued")
    response = api.put(f"/api/integrations/sync/{held.pk}", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    held.refresh_from_db()
    assert held.status == "queued"


@pytest.mark.parametrize("body", [{"action": "cancel"}, {"action": "explode"}, {}])
def test_another_users_job_is_not_found_and_not_moved(api, theirs, body):
    their_job = job(theirs, "queued")

    response = api.put(f"/api/integrations/sync/{their_job.pk}", body, format="json")

    assert response.status_code == 404
    their_job.refresh_from_db()
    assert their_job.status == "queued"
    assert api.put("/api/integrations/sync/99999", body, format="json").status_code == 404


def test_controlling_needs_a_token(anonymous, connection):
    held = job(connection, "queued")
    response = anonymous.put(f"/api/integrations/sync/{held.pk}", {"action": "cancel"})
    assert response.status_code == 401
    held.refresh_from_db()
    assert held.status == "queued"


def test_undo_answers_with_its_report_and_send_again_brings_the_items_back(
    api, connection, remote, run_sync, user
):
    # given a sync that pushed a DayFlow task to the service
    Task.objects.create(user=user, title="mine")
    pushed = run_sync()
    assert len(remote.items) == 1
    # when a script undoes it
    response = control(api, pushed.pk, "undo")
    # then the service's copy is gone, and the report says the item is apart now
    assert response.status_code == 200, response.content
    assert response.json()["undo"] == {"reverted": 1, "skipped": [], "unlinked": 1}
    assert response.json()["job"]["allowed_actions"] == ["undo"]
    assert remote.items == {}
    event = AuditEvent.objects.get(action="sync.job.undone")
    assert (event.channel, event.actor) == ("api: script", user)
    # when it sends it again
    sent = control(api, pushed.pk, "send-again")
    # then the service has it back, and nothing is left to send
    assert sent.status_code == 200
    assert sent.json()["sent_again"] == {"sent": 1, "failed": []}
    assert [s.fields["title"] for s in remote.items.values()] == ["mine"]
    assert AuditEvent.objects.get(action="sync.job.sent_again").channel == "api: script"
    assert control(api, pushed.pk, "send-again").status_code == 409


def test_undo_reports_what_changed_since_and_leaves_it(api, connection, remote, run_sync):
    remote_id = remote.add(**task_fields("before"))
    run_sync()
    remote.edit(remote_id, title="after")
    edited = run_sync()
    Task.objects.update(title="edited later")
    Task.objects.get().save()  # a local edit: a new version

    response = control(api, edited.pk, "undo")

    assert response.status_code == 200
    (skipped,) = response.json()["undo"]["skipped"]
    assert skipped["why"] == "changed since the job"
    assert Task.objects.get().title == "edited later"


# --- GET /api/jobs, /api/jobs/{id}, /api/jobs/{id}/changes ---------------------------------
def test_a_job_shows_its_counters_timings_and_allowed_actions(api, connection):
    done = job(
        connection,
        "succeeded",
        dry_run=False,
        processed=7,
        remote_created=2,
        started_at=NOW,
        finished_at=NOW + dt.timedelta(seconds=90, milliseconds=500),
        error="",
    )
    JournalEntry.objects.create(
        job=done, connection=connection, item_type="task", side="remote", op="create"
    )

    response = api.get(f"/api/jobs/{done.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["counters"]["processed"] == 7
    assert body["counters"]["remote_created"] == 2
    assert body["progress"] == {"processed": 7, "finished": True, "heartbeat_at": None}
    assert body["started_at"] == "2030-06-01T12:00:00Z"
    assert body["duration"] == 90.5
    assert body["allowed_actions"] == ["undo"]
    assert (body["changes_count"], body["preview"], body["held"]) == (1, None, None)


def test_a_jobs_error_is_shown_without_secrets(api, connection):
    failed = job(connection, "failed", error="401 for Authorization: Bearer abc.def-123")
    body = api.get(f"/api/jobs/{failed.pk}").json()
    assert body["error"].startswith("401 for")
    assert "abc.def-123" not in body["error"]


def test_a_preview_shows_what_it_would_do(api, connection):
    preview = {
        "local": {"create": 1, "update": 0, "delete": 0},
        "remote": {"create": 0, "update": 2, "delete": 0},
        "both": {"conflict": 0},
    }
    done = job(connection, "succeeded", report={"preview": preview})

    body = api.get(f"/api/jobs/{done.pk}").json()

    assert body["preview"] == preview
    assert body["allowed_actions"] == []
    assert body["duration"] is None


def test_a_held_job_says_what_it_would_delete(api, connection):
    guard = {"deletions": 40, "linked": 50, "side_empty": False}
    held = job(connection, "needs_confirmation", report={"guard": guard, "preview": {}})
    body = api.get(f"/api/jobs/{held.pk}").json()
    assert body["held"] == guard
    assert body["allowed_actions"] == ["cancel", "confirm"]


def test_the_jobs_are_filtered_and_ordered(api, connection, service, user, theirs):
    other = Connection.objects.create(user=user, service=service, external_account_id="2")
    with time_machine.travel(NOW, tick=False):
        old = job(connection, "succeeded", kind="full", trigger="schedule")
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        new = job(other, "failed", trigger="api", dry_run=False)
    job(theirs, "failed")

    def ids(query: str) -> list[int]:
        response = api.get(f"/api/jobs?{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("") == [new.pk, old.pk]
    assert ids("ordering=id") == [old.pk, new.pk]
    assert ids(f"connection={connection.pk}") == [old.pk]
    assert ids(f"connection={theirs.pk}") == []
    assert ids("status=failed") == [new.pk]
    assert ids("status=failed&status=succeeded") == [new.pk, old.pk]
    assert ids("kind=full") == [old.pk]
    assert ids("trigger=api") == [new.pk]
    assert ids("dry_run=false") == [new.pk]
    assert ids("created_after=2030-06-02T00:00:00Z") == [new.pk]
    assert ids("created_before=2030-06-02T00:00:00Z") == [old.pk]


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "kind=sometimes",
        "connection=abc",
        f"connection={10**30}",
        "connection=-1",
        "created_after=yesterday",
        "dry_run=perhaps",
        "ordering=error",
    ],
)
def test_bad_filters_are_a_400_or_ignored_never_a_500(api, connection, query):
    job(connection)
    response = api.get(f"/api/jobs?{query}")
    # DRF ignores orderings it does not offer; a yes/no that is neither is a 400 (bounds)
    if query.startswith("ordering"):
        assert response.status_code == 200
    else:
        assert response.status_code == 400, response.content


def test_a_jobs_changes_come_from_the_journal_in_order_without_payloads(api, connection):
    done = job(connection, "succeeded", dry_run=False)
    before = task_fields("Write the report", due="2030-06-01")
    after = {**before, "due": "2030-06-02", "notes": "private notes"}
    JournalEntry.objects.create(
        job=done,
        connection=connection,
        item_type="task",
        side="remote",
        op="update",
        local_id=12,
        remote_id="r-1",
        before=before,
        after=after,
        reason="local change",
    )
    JournalEntry.objects.create(
        job=done,
        connection=connection,
        item_type="task",
        side="local",
        op="create",
        local_id=13,
        after=task_fields("New one"),
        reason="remote change",
    )

    response = api.get(f"/api/jobs/{done.pk}/changes")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(r["side"], r["op"], r["title"]) for r in rows] == [
        ("remote", "update", "Write the report"),
        ("local", "create", "New one"),
    ]
    assert rows[0]["changed_fields"] == ["due", "notes"]
    assert (rows[0]["local_id"], rows[0]["remote_id"], rows[0]["reverted_at"]) == (12, "r-1", None)
    assert "private notes" not in response.content.decode()
    assert not {"before", "after"} & set(rows[0])


def test_a_jobs_changes_cost_the_same_queries_for_2_or_25(api, connection):
    done = job(connection, "succeeded", dry_run=False)
    JournalEntry.objects.bulk_create(
        JournalEntry(
            job=done,
            connection=connection,
            item_type="task",
            side="local",
            op="create",
            after={"title": f"t{n}"},
        )
        for n in range(30)
    )

    def queries(page_size: int) -> int:
        with CaptureQueriesContext(db) as captured:
            response = api.get(f"/api/jobs/{done.pk}/changes?page_size={page_size}")
        assert len(response.json()["results"]) == page_size
        return len(captured)

    api.get("/api/jobs")
    assert queries(2) == queries(25)
    first = api.get(f"/api/jobs/{done.pk}/changes?page_size=20").json()
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 10
    assert [r["title"] for r in first["results"]][:2] == ["t0", "t1"]


@pytest.mark.parametrize("path", ["/api/jobs/{pk}", "/api/jobs/{pk}/changes"])
def test_another_users_job_is_not_found(api, theirs, path):
    their_job = job(theirs, "succeeded")
    assert api.get(path.format(pk=their_job.pk)).status_code == 404
    assert api.get(path.format(pk=10**30)).status_code == 404
    assert their_job.pk not in [row["id"] for row in api.get("/api/jobs").json()["results"]]


@pytest.mark.parametrize("path", ["/api/jobs", "/api/jobs/1", "/api/jobs/1/changes"])
def test_jobs_need_a_token(anonymous, path):
    assert anonymous.get(path).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_jobs_are_read_only(api, connection, method):
    done = job(connection, "succeeded")
    response = getattr(api, method)(f"/api/jobs/{done.pk}", {}, format="json")
    assert response.status_code == 405
    assert SyncJob.objects.filter(pk=done.pk).exists()


def test_orderings_on_times_that_may_be_empty_are_not_offered(api, connection):
    # A cursor cannot encode an empty (null) position: its next page would be a 400.
    for day in (1, 2):
        job(connection, "succeeded", started_at=dt.datetime(2030, 1, day, tzinfo=dt.UTC))
        job(connection, "queued")
    seen, page = [], api.get("/api/jobs?ordering=started_at&page_size=1").json()
    seen += page["results"]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += page["results"]
    assert len(seen) == 4


@pytest.mark.parametrize("path", ["/api/jobs", "/api/integrations/jobs", "/api/conflicts"])
@pytest.mark.parametrize(
    "query",
    [
        "created_after=0279-11-13T22:15:20.12%2B19:05",  # past PostgreSQL's zone offsets
        "created_before=9999-01-01T00:00:00Z",
        "created_after=yesterday",
        "connection=99999999999999999999",
        "connection=-1",
    ],
)
def test_a_hostile_filter_is_a_400_naming_it_never_a_500(api, path, query):
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    assert query.split("=")[0] in response.json()


def test_an_instant_with_a_far_offset_is_read_in_utc(api, connection):
    # +15:30 is past no database's limit but is read in UTC all the same: 2030-06-01 21:00 UTC
    with time_machine.travel(dt.datetime(2030, 6, 1, 21, 30, tzinfo=dt.UTC), tick=False):
        made = job(connection, "succeeded", dry_run=False)
    response = api.get("/api/jobs?created_after=2030-06-02T12:30:00%2B15:30")
    assert [row["id"] for row in response.json()["results"]] == [made.pk]
