"""Which actions a connection or a job allows now: one table each, every status by action, the
pages offering exactly those, and the typed error of an action refused."""

from __future__ import annotations

import pytest
from django.urls import reverse

from integrations import actions as connection_actions
from integrations import lifecycle
from integrations.actions import ActionRefused, ConnectionActionRefused
from integrations.models import Connection
from sync import actions as job_actions
from sync import repair
from sync.models import Conflict, ItemLink, SyncJob

C = connection_actions
J = job_actions

CONNECTION_TABLE = {
    # status: (pause, resume, reconnect, disconnect, settings, sync)
    "connected": (1, 0, 0, 1, 1, 1),
    "paused": (0, 1, 0, 1, 1, 0),
    "needs_reauth": (0, 0, 1, 1, 1, 0),
    "error": (0, 0, 1, 1, 1, 0),
    "disconnected": (0, 0, 1, 0, 0, 0),
}
JOB_TABLE = {
    # status: (pause, resume, cancel, confirm, undo)
    "queued": (1, 0, 1, 0, 0),
    "running": (1, 0, 1, 0, 0),
    "paused": (0, 1, 1, 0, 0),
    "needs_confirmation": (0, 0, 1, 1, 0),
    "succeeded": (0, 0, 0, 0, 1),
    "cancelled": (0, 0, 0, 0, 0),
    "failed": (0, 0, 0, 0, 0),
}


def _cases(table, names):
    return [
        (status, name, bool(row[i]))
        for status, row in table.items()
        for i, name in enumerate(names)
    ]


def test_the_tables_cover_every_status():
    assert set(CONNECTION_TABLE) == set(Connection.Status.values) == set(C.ALLOWED)
    assert set(JOB_TABLE) == set(SyncJob.Status.values) == set(J.ALLOWED)


@pytest.mark.parametrize(("status", "action", "allowed"), _cases(CONNECTION_TABLE, C.ACTIONS))
def test_connection_actions(status, action, allowed):
    assert (action in C.connection_actions(status)) is allowed
    assert (action in Connection(status=status).allowed_actions) is allowed


@pytest.mark.parametrize(("status", "action", "allowed"), _cases(JOB_TABLE, J.ACTIONS))
def test_job_actions(status, action, allowed):
    assert (action in J.job_actions(status, dry_run=False)) is allowed
    assert (action in SyncJob(status=status).allowed_actions) is allowed


@pytest.mark.parametrize("status", SyncJob.Status.values)
def test_a_preview_has_nothing_to_undo(status):
    assert "undo" not in J.job_actions(status, dry_run=True)
    assert J.job_actions(status, dry_run=True) == J.job_actions(status, dry_run=False) - {"undo"}


@pytest.mark.django_db
@pytest.mark.parametrize("status", Connection.Status.values)
def test_the_connection_list_offers_exactly_the_allowed_actions(client, user, connection, status):
    Connection.objects.filter(pk=connection.pk).update(status=status)
    client.force_login(user)
    page = client.get(reverse("integrations:index")).content.decode()
    allowed = C.connection_actions(status)
    for action in ("pause", "resume", "reconnect", "disconnect", "settings"):
        url = reverse(f"integrations:{action}", args=[connection.pk])
        assert (url in page) is (action in allowed), action


@pytest.mark.django_db
@pytest.mark.parametrize("status", SyncJob.Status.values)
@pytest.mark.parametrize("dry_run", [False, True])
def test_the_job_page_offers_exactly_the_allowed_actions(client, user, connection, status, dry_run):
    job = SyncJob.objects.create(connection=connection, status=status, dry_run=dry_run)
    client.force_login(user)
    page = client.get(reverse("sync:job", args=[job.pk])).content.decode()
    allowed = J.job_actions(status, dry_run=dry_run)
    for action in J.ACTIONS:
        url = reverse("sync:job-control", args=[job.pk, action])
        assert (url in page) is (action in allowed), action


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "act"),
    [
        ("paused", lifecycle.pause),
        ("connected", lifecycle.resume),
        ("needs_reauth", lifecycle.pause),
        ("disconnected", lambda c: lifecycle.disconnect(c, keep_items=True)),
    ],
)
def test_a_refused_connection_action_is_typed_and_changes_nothing(connection, status, act):
    Connection.objects.filter(pk=connection.pk).update(status=status)
    connection.refresh_from_db()
    with pytest.raises(ConnectionActionRefused) as refused:
        act(connection)
    assert isinstance(refused.value, ActionRefused)
    assert refused.value.status == 409
    assert refused.value.action in C.ACTIONS
    assert refused.value.action not in connection.allowed_actions
    connection.refresh_from_db()
    assert connection.status == status


@pytest.mark.django_db
def test_a_refused_job_control_leaves_the_job_and_says_why(client, user, connection):
    job = SyncJob.objects.create(connection=connection, status="succeeded")
    client.force_login(user)
    response = client.post(reverse("sync:job-control", args=[job.pk, "resume"]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == "succeeded"
    page = client.get(response.url).content.decode()
    assert f"Job {job.pk} cannot resume now." in page


@pytest.mark.django_db
def test_an_invalid_resolution_is_a_typed_refusal(connection):
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="r1")
    conflict = Conflict.objects.create(link=link, local={"title": "a"}, remote={"title": "b"})
    with pytest.raises(ActionRefused) as refused:
        repair.resolve_conflict(conflict.pk, "nonsense")
    assert isinstance(refused.value, repair.CannotResolve)
    assert (refused.value.action, refused.value.status) == ("resolve", 400)
    conflict.refresh_from_db()
    assert conflict.status == "open"
