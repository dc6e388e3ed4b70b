"""Matching at first sync, end to end with the fake service: the preview offers the items that
are the same on both sides, confirming links them without creating anything, and the real sync
then makes no duplicate; hostile confirmations link nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from audit.models import AuditEvent
from dayflow.models import Task, TaskList
from integrations.models import Connection
from sync import engine, matching, services
from sync.models import ItemLink, SyncJob
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db


@pytest.fixture
def both_sides(user, remote):
    """DayFlow has 3 tasks, the service 4, of which 2 are the same items (one spelled
    differently, one whose notes differ)."""
    Task.objects.create(user=user, title="Pay rent", due_date=dt.date(2026, 3, 1))
    Task.objects.create(user=user, title="Café réunion", notes="from DayFlow")
    Task.objects.create(user=user, title="Only in DayFlow")
    rent = remote.add(**task_fields("Pay rent", due=dt.date(2026, 3, 1)))
    cafe = remote.add(**task_fields("cafe  REUNION", notes="from the service"))
    remote.add(**task_fields("Only at the service"))
    remote.add(**task_fields("Pay rent", due=dt.date(2026, 5, 1)))  # another month's rent
    return {"rent": rent, "cafe": cafe}


def preview(run_sync) -> SyncJob:
    job = run_sync(kind=SyncJob.Kind.FULL, dry_run=True)
    assert job.status == SyncJob.Status.SUCCEEDED
    return job


def run_latest() -> SyncJob:
    job = SyncJob.objects.filter(dry_run=False).latest("pk")
    engine.run_job(job.pk)
    job.refresh_from_db()
    return job


def test_the_preview_offers_the_two_same_items(connection, remote, run_sync, both_sides):
    job = preview(run_sync)
    pairs = job.report["matching"]["pairs"]
    assert sorted((p["local_title"], p["remote_id"]) for p in pairs) == [
        ("Café réunion", both_sides["cafe"]),
        ("Pay rent", both_sides["rent"]),
    ]
    assert all(p["confidence"] >= matching.HIGH for p in pairs)
    assert remote.writes() == 0
    assert not ItemLink.objects.exists()


@pytest.mark.parametrize(
    ("base_from", "cafe_title", "cafe_notes"),
    [("dayflow", "Café réunion", "from DayFlow"), ("service", "cafe  REUNION", "from the service")],
)
def test_confirming_links_them_and_the_sync_makes_no_duplicate(
    connection, remote, run_sync, both_sides, base_from, cafe_title, cafe_notes
):
    job = preview(run_sync)
    keys = [matching.pair_key(p) for p in job.report["matching"]["pairs"]]

    new_job, linked = services.confirm_preview(job, keys, base_from)
    assert (linked.linked, linked.skipped) == (2, 0)
    assert ItemLink.objects.filter(connection=connection).count() == 2
    assert remote.writes() == 0  # linking created nothing
    assert (new_job.dry_run, new_job.kind) == (False, SyncJob.Kind.FULL)

    done = run_latest()
    assert done.status == SyncJob.Status.SUCCEEDED
    assert Task.objects.count() == 5
    assert len(remote.items) == 5
    assert sorted(s.fields["title"] for s in remote.items.values()) == sorted(
        Task.objects.values_list("title", flat=True)
    )
    # the pair that agreed was not written; the one that differed took the chosen side
    assert remote.items[both_sides["rent"]].version == 1
    cafe = ItemLink.objects.get(remote_id=both_sides["cafe"]).task
    assert (cafe.title, cafe.notes) == (cafe_title, cafe_notes)
    assert remote.items[both_sides["cafe"]].fields["notes"] == cafe_notes

    writes, versions = remote.writes(), sorted(Task.objects.values_list("version", flat=True))
    again = run_sync()
    assert again.status == SyncJob.Status.SUCCEEDED
    assert remote.writes() == writes
    assert sorted(Task.objects.values_list("version", flat=True)) == versions
    assert AuditEvent.objects.filter(action="sync.matching.linked").count() == 1


@pytest.mark.parametrize(
    ("base_from", "own_choice", "cafe_notes"),
    [("dayflow", "service", "from the service"), ("service", "dayflow", "from DayFlow")],
)
def test_a_pair_given_its_own_choice_keeps_that_side(
    connection, remote, run_sync, both_sides, base_from, own_choice, cafe_notes
):
    job = preview(run_sync)
    pairs = {p["remote_id"]: matching.pair_key(p) for p in job.report["matching"]["pairs"]}
    cafe_key = pairs[both_sides["cafe"]]

    services.confirm_preview(job, list(pairs.values()), base_from, {cafe_key: own_choice})
    run_latest()
    cafe = ItemLink.objects.get(remote_id=both_sides["cafe"]).task
    assert cafe.notes == cafe_notes
    assert remote.items[both_sides["cafe"]].fields["notes"] == cafe_notes
    assert Task.objects.count() == 5
    assert len(remote.items) == 5
    details = AuditEvent.objects.get(action="sync.matching.linked").details
    assert (details["base"], details["own_choice"]) == (base_from, 1)


def test_an_unticked_pair_syncs_as_new(connection, remote, run_sync, both_sides):
    job = preview(run_sync)
    rent = [p for p in job.report["matching"]["pairs"] if p["remote_id"] == both_sides["rent"]]
    services.confirm_preview(job, [matching.pair_key(rent[0])])
    run_latest()
    assert Task.objects.count() == 6
    assert len(remote.items) == 6


# --- the page ------------------------------------------------------------------------------------
def test_the_preview_page_shows_same_item_ticked(client, user, run_sync, both_sides):
    job = preview(run_sync)
    client.force_login(user)
    page = client.get(f"/sync/jobs/{job.pk}/").content.decode()
    assert "Same item?" in page
    for pair in job.report["matching"]["pairs"]:
        assert f'value="{matching.pair_key(pair)}" id=' in page
    assert page.count(" checked>") == 2 + 1  # both pairs, and DayFlow's values
    for pair in job.report["matching"]["pairs"]:  # each pair's own choice, "as below" at first
        assert f'<select name="keep-{matching.pair_key(pair)}">' in page
    assert f"/sync/jobs/{job.pk}/link-and-sync/" in page
    assert "remote_fields" not in page
    assert "from the service" not in page


def test_confirming_on_the_page_links_and_syncs(client, user, run_sync, both_sides):
    job = preview(run_sync)
    keys = [matching.pair_key(p) for p in job.report["matching"]["pairs"]]
    client.force_login(user)
    response = client.post(
        f"/sync/jobs/{job.pk}/link-and-sync/", {"pair": keys, "base_from": "dayflow"}
    )
    new_job = SyncJob.objects.get(dry_run=False)
    assert response.status_code == 302
    assert response["Location"] == f"/sync/jobs/{new_job.pk}/"
    assert ItemLink.objects.count() == 2


def test_a_pair_keeps_its_own_choice_on_the_page(client, user, run_sync, both_sides):
    job = preview(run_sync)
    pairs = {p["remote_id"]: matching.pair_key(p) for p in job.report["matching"]["pairs"]}
    cafe_key, rent_key = pairs[both_sides["cafe"]], pairs[both_sides["rent"]]
    client.force_login(user)
    posted = {
        "pair": [cafe_key, rent_key],
        "base_from": "dayflow",
        f"keep-{cafe_key}": "service",
        f"keep-{rent_key}": "",  # "as chosen below"
        "keep-task:1:unticked": "service",  # an unticked pair's choice is moot
    }
    assert client.post(f"/sync/jobs/{job.pk}/link-and-sync/", posted).status_code == 302
    run_latest()
    assert ItemLink.objects.get(remote_id=both_sides["cafe"]).task.notes == "from the service"
    assert AuditEvent.objects.get(action="sync.matching.linked").details["own_choice"] == 1


HOSTILE = {
    "a pair not offered": lambda keys: {"pair": ["task:999999:r1"]},
    "a real DayFlow id with another remote id": lambda keys: {
        "pair": [keys[0].rsplit(":", 1)[0] + ":r3"]
    },
    "a pair named twice": lambda keys: {"pair": [keys[0], keys[0]]},
    "an unknown base side": lambda keys: {"pair": keys, "base_from": "both"},
    "one good pair and one forged": lambda keys: {"pair": [keys[0], "event:1:r2"]},
    "too many pairs": lambda keys: {"pair": [f"task:{i}:r{i}" for i in range(501)]},
    "garbage": lambda keys: {"pair": ["<script>", "'; DROP TABLE", ""]},
    "an unknown side for one pair": lambda keys: {"pair": keys, f"keep-{keys[0]}": "both"},
}


@pytest.mark.parametrize("posted", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_confirmations_link_nothing(client, user, run_sync, both_sides, posted):
    job = preview(run_sync)
    keys = [matching.pair_key(p) for p in job.report["matching"]["pairs"]]
    client.force_login(user)
    response = client.post(f"/sync/jobs/{job.pk}/link-and-sync/", posted(keys))
    assert response.status_code == 400
    assert "Nothing was linked" in response.content.decode()
    assert not ItemLink.objects.exists()
    assert not SyncJob.objects.filter(dry_run=False).exists()


def test_only_a_finished_preview_links(client, user, connection, run_sync, both_sides):
    job = preview(run_sync)
    keys = [matching.pair_key(p) for p in job.report["matching"]["pairs"]]
    SyncJob.objects.filter(pk=job.pk).update(dry_run=False)
    client.force_login(user)
    response = client.post(f"/sync/jobs/{job.pk}/link-and-sync/", {"pair": keys})
    assert response.status_code == 400
    assert not ItemLink.objects.exists()


def test_another_users_preview_is_not_found(client, django_user_model, run_sync, both_sides):
    job = preview(run_sync)
    keys = [matching.pair_key(p) for p in job.report["matching"]["pairs"]]
    other = django_user_model.objects.create_user("mallory", password="x" * 12)
    client.force_login(other)
    response = client.post(f"/sync/jobs/{job.pk}/link-and-sync/", {"pair": keys})
    assert response.status_code == 404
    assert not ItemLink.objects.exists()


def test_a_long_remote_text_is_kept_as_a_digest_and_dayflow_wins(
    connection, remote, run_sync, user
):
    Task.objects.create(user=user, title="Read the lease", notes="short")
    long_id = remote.add(**task_fields("Read the lease", notes="clause " * 1000))
    job = preview(run_sync)
    (pair,) = job.report["matching"]["pairs"]
    assert pair["remote_fields"]["notes"].startswith("sha256:")
    assert "clause" not in str(job.report)

    services.confirm_preview(job, [matching.pair_key(pair)], "dayflow")
    run_latest()
    assert remote.items[long_id].fields["notes"] == "short"
    assert Task.objects.count() == 1
    assert len(remote.items) == 1


def test_a_likely_pair_is_offered_unticked(client, connection, remote, run_sync, user):
    at = dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC)
    Task.objects.create(user=user, title="Dentist", due_at=at)
    remote.add(**task_fields("Dentist", due=at + dt.timedelta(hours=6)))  # same day, later
    job = preview(run_sync)
    (pair,) = job.report["matching"]["pairs"]
    assert matching.LOW <= pair["confidence"] < matching.HIGH
    client.force_login(user)
    page = client.get(f"/sync/jobs/{job.pk}/").content.decode()
    assert f'value="{matching.pair_key(pair)}" id="pair-1">' in page  # not ticked


def test_a_connection_that_cannot_sync_now_links_nothing(
    client, user, connection, run_sync, both_sides
):
    job = preview(run_sync)
    keys = [matching.pair_key(p) for p in job.report["matching"]["pairs"]]
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.PAUSED)
    client.force_login(user)
    response = client.post(f"/sync/jobs/{job.pk}/link-and-sync/", {"pair": keys}, follow=True)
    assert "cannot sync now" in response.content.decode()
    assert not ItemLink.objects.exists()
    assert not SyncJob.objects.filter(dry_run=False).exists()


# --- the API -------------------------------------------------------------------------------------
def api_for(user):
    from rest_framework.test import APIClient

    from dayflow.models import ApiToken

    _, token = ApiToken.objects.create(user=user, expiry=None, name="script")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_script_reads_the_pairs_links_them_and_the_sync_makes_no_duplicate(
    user, connection, remote, run_sync, both_sides
):
    job = preview(run_sync)
    api = api_for(user)

    found = api.get(f"/api/jobs/{job.pk}/matches").json()
    assert found["more"] == 0
    assert sorted(p["remote_id"] for p in found["pairs"]) == sorted(
        [both_sides["rent"], both_sides["cafe"]]
    )
    assert all(p["suggested"] and p["item_type"] == "task" for p in found["pairs"])
    assert "remote_fields" not in str(found)  # what linking needs stays server-side

    keys = [p["key"] for p in found["pairs"]]
    rent_key = next(p["key"] for p in found["pairs"] if p["remote_id"] == both_sides["rent"])
    answer = api.post(
        f"/api/jobs/{job.pk}/link-and-sync",
        {"pairs": keys, "base_from": "service", "bases": {rent_key: "dayflow"}},
        format="json",
    )
    assert answer.status_code == 202
    assert (answer.json()["linked"], answer.json()["skipped"]) == (2, 0)
    new_job = SyncJob.objects.get(dry_run=False)
    assert answer.json()["job"]["id"] == new_job.pk
    assert answer["Location"] == f"/api/jobs/{new_job.pk}"
    assert remote.writes() == 0

    run_latest()
    assert Task.objects.count() == 5
    assert len(remote.items) == 5
    cafe = ItemLink.objects.get(remote_id=both_sides["cafe"]).task
    assert cafe.notes == "from the service"


def test_a_job_that_is_no_preview_has_no_pairs(user, connection, run_sync, both_sides):
    job = run_sync()
    assert get_json(api_for(user), f"/api/jobs/{job.pk}/matches") == {"pairs": [], "more": 0}


def get_json(api, url):
    response = api.get(url)
    assert response.status_code == 200
    return response.json()


API_HOSTILE = {
    "a pair not offered": lambda keys: {"pairs": ["task:999999:r1"]},
    "a pair named twice": lambda keys: {"pairs": [keys[0], keys[0]]},
    "an unknown base side": lambda keys: {"pairs": keys, "base_from": "both"},
    "one good pair and one forged": lambda keys: {"pairs": [keys[0], "event:1:r2"]},
    "too many pairs": lambda keys: {"pairs": [f"task:{i}:r{i}" for i in range(501)]},
    "a key too long": lambda keys: {"pairs": ["task:1:" + "r" * 5000]},
    "not a list": lambda keys: {"pairs": "task:1:r1"},
    "nested": lambda keys: {"pairs": [[[keys[0]]]]},
    "an unknown field": lambda keys: {"pairs": keys, "also": 1},
    "no pairs field": lambda keys: {"base_from": "dayflow"},
    "an unknown side for one pair": lambda keys: {"pairs": keys, "bases": {keys[0]: "both"}},
    "a choice for a pair not linked": lambda keys: {
        "pairs": keys[:1],
        "bases": {keys[1]: "service"},
    },
    "choices not a mapping": lambda keys: {"pairs": keys, "bases": [keys[0], "service"]},
    "a nested choice": lambda keys: {"pairs": keys, "bases": {keys[0]: {"side": "service"}}},
    "too many choices": lambda keys: {
        "pairs": keys,
        "bases": {f"task:{i}:r{i}": "service" for i in range(501)},
    },
    "a choice's key too long": lambda keys: {
        "pairs": keys,
        "bases": {"task:1:" + "r" * 5000: "service"},
    },
}


@pytest.mark.parametrize("posted", API_HOSTILE.values(), ids=API_HOSTILE.keys())
def test_hostile_api_confirmations_link_nothing(user, run_sync, both_sides, posted):
    job = preview(run_sync)
    keys = [matching.pair_key(p) for p in job.report["matching"]["pairs"]]
    response = api_for(user).post(f"/api/jobs/{job.pk}/link-and-sync", posted(keys), format="json")
    assert response.status_code == 400
    assert not ItemLink.objects.exists()
    assert not SyncJob.objects.filter(dry_run=False).exists()


def test_the_api_refuses_another_users_preview_and_a_connection_that_cannot_sync(
    user, django_user_model, connection, run_sync, both_sides
):
    job = preview(run_sync)
    keys = [matching.pair_key(p) for p in job.report["matching"]["pairs"]]
    other = django_user_model.objects.create_user("mallory", password="x" * 12)
    for url in (f"/api/jobs/{job.pk}/matches", f"/api/jobs/{job.pk}/link-and-sync"):
        assert api_for(other).get(url).status_code in (404, 405)
    stranger = api_for(other).post(
        f"/api/jobs/{job.pk}/link-and-sync", {"pairs": keys}, format="json"
    )
    assert stranger.status_code == 404

    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.PAUSED)
    paused = api_for(user).post(f"/api/jobs/{job.pk}/link-and-sync", {"pairs": keys}, format="json")
    assert paused.status_code == 409
    assert not ItemLink.objects.exists()
    assert not SyncJob.objects.filter(dry_run=False).exists()


# --- while the first sync waits for the person ----------------------------------------------------
@pytest.mark.parametrize(
    "trigger", [SyncJob.Trigger.SCHEDULE, SyncJob.Trigger.WEBHOOK, SyncJob.Trigger.LOCAL]
)
def test_automatic_syncs_wait_while_the_first_sync_is_a_preview(
    connection, run_sync, both_sides, trigger
):
    preview(run_sync)
    assert services.request_sync(connection.pk, trigger=trigger) is None
    assert not SyncJob.objects.filter(dry_run=False).exists()
    # the person's own "Sync now" goes ahead (and so does their confirmation)
    assert services.request_sync(connection.pk, trigger=SyncJob.Trigger.USER) is not None


def test_once_confirmed_automatic_syncs_run_again(connection, run_sync, both_sides):
    job = preview(run_sync)
    services.confirm_preview(job, [matching.pair_key(p) for p in job.report["matching"]["pairs"]])
    run_latest()
    assert services.request_sync(connection.pk, trigger=SyncJob.Trigger.SCHEDULE) is not None


def test_a_later_preview_offers_the_same_items_too(client, user, connection, remote, run_sync):
    """Matching on request, after the first sync: the same task added on both sides since."""
    assert run_sync().status == SyncJob.Status.SUCCEEDED
    Task.objects.create(user=user, title="Renew passport", due_date=dt.date(2026, 6, 1))
    passport = remote.add(**task_fields("renew passport", due=dt.date(2026, 6, 1)))

    job = preview(run_sync)
    (pair,) = job.report["matching"]["pairs"]
    assert pair["remote_id"] == passport
    client.force_login(user)
    page = client.get(f"/sync/jobs/{job.pk}/").content.decode()
    assert "Before this sync" in page
    assert "Same item?" in page

    services.confirm_preview(job, [matching.pair_key(pair)])
    run_latest()
    assert Task.objects.count() == 1
    assert len(remote.items) == 1


def test_the_dashboard_says_the_first_sync_waits_for_the_person(
    client, user, connection, run_sync, both_sides
):
    job = preview(run_sync)
    client.force_login(user)
    page = client.get("/integrations/").content.decode()
    assert f'<a href="/sync/jobs/{job.pk}/">When you confirm its first sync</a>' in page

    services.confirm_preview(job, [matching.pair_key(p) for p in job.report["matching"]["pairs"]])
    run_latest()
    assert "When you confirm its first sync" not in client.get("/integrations/").content.decode()


def test_an_item_in_a_list_that_stays_in_dayflow_is_offered_and_not_copied(
    user, connection, remote, run_sync
):
    """The service may already hold an item whose DayFlow list sends new items nowhere (or to
    another service): the preview offers it too, so confirming makes no duplicate of it."""
    work = TaskList.objects.create(user=user, name="Work")  # no destination: stays in DayFlow
    Task.objects.create(user=user, title="Quarterly report", task_list=work)
    Task.objects.create(user=user, title="Pay rent")  # the Inbox, which this connection takes
    report = remote.add(**task_fields("Quarterly report"))
    rent = remote.add(**task_fields("Pay rent"))

    job = preview(run_sync)
    pairs = job.report["matching"]["pairs"]
    assert sorted((p["local_title"], p["remote_id"]) for p in pairs) == [
        ("Pay rent", rent),
        ("Quarterly report", report),
    ]
    assert job.report["preview"]["remote"]["create"] == 1  # only the Inbox's task is sent

    services.confirm_preview(job, [matching.pair_key(p) for p in pairs])
    assert run_latest().status == SyncJob.Status.SUCCEEDED
    assert sorted(Task.objects.values_list("title", flat=True)) == ["Pay rent", "Quarterly report"]
    assert len(remote.items) == 2
    assert Task.objects.get(title="Quarterly report").task_list == work  # where the person put it


def test_an_item_another_connection_holds_is_not_offered(user, connection, remote, run_sync):
    other = Connection.objects.create(
        user=user, service=connection.service, external_account_id="other", label="other"
    )
    held = Task.objects.create(user=user, title="Quarterly report")
    ItemLink.objects.create(connection=other, item_type="task", task=held, remote_id="elsewhere")
    remote.add(**task_fields("Quarterly report"))

    assert preview(run_sync).report["matching"]["pairs"] == []
