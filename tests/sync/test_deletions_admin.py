"""Staff confirm or restore waiting deletions ("ask" policy) from the admin's list of links,
through `sync.deletions.settle` as the connection's page does: audited the same way, a link
whose deletion does not wait refused with a message and left as it was, at most
`deletions.MAX_AT_ONCE` links at a time, and no secret on the page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission

from audit.models import AuditEvent
from dayflow.models import Task
from integrations.models import Connection, Credential
from integrations.providers.errors import Permanent
from sync import deletions
from sync.models import ItemLink
from tests.sync.conftest import task_fields

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/sync/itemlink/"
SECRET = "tok-s3cr3t-4711"


@pytest.fixture
def waiting(connection, remote, run_sync) -> dict[str, ItemLink]:
    """Under "ask": "Old notes" deleted in DayFlow, "Book the venue" at the service; "Kept"
    still linked (as tests/sync/test_deletion_pages.py)."""
    connection.deletion_policy = Connection.DeletionPolicy.ASK
    connection.save()
    titles = ("Old notes", "Book the venue", "Kept")
    ids = {title: remote.add(**task_fields(title)) for title in titles}
    run_sync()
    Task.objects.get(title="Old notes").soft_delete()
    remote.remove(ids["Book the venue"])
    run_sync()
    return {link.task.title: link for link in ItemLink.objects.select_related("task")}


def act(client, action: str, *links: ItemLink):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [link.pk for link in links]},
        follow=True,
    )


def said(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def still_waiting() -> int:
    return ItemLink.objects.exclude(deletion_pending="").count()


def test_staff_confirm_a_deletion_and_the_services_copy_goes(
    admin_client, admin_user, connection, remote, waiting
):
    link = waiting["Old notes"]

    response = act(admin_client, "confirm_deletion", link)

    assert response.status_code == 200
    assert said(response) == ["Confirmed the deletion of 1 of 1 link(s)."]
    assert link.remote_id not in remote.items
    assert not ItemLink.objects.filter(pk=link.pk).exists()
    audit = AuditEvent.objects.get(action="sync.deletion.confirmed")
    assert (audit.actor, audit.connection_id, audit.resource) == (
        admin_user,
        connection.pk,
        f"link {link.pk}",
    )
    assert audit.details == {"done": 1, "failed": 0}


def test_staff_confirm_a_deletion_at_the_service_and_dayflows_copy_goes(admin_client, waiting):
    link = waiting["Book the venue"]

    act(admin_client, "confirm_deletion", link)

    assert Task.all_objects.get(pk=link.task_id).is_deleted
    assert not ItemLink.objects.filter(pk=link.pk).exists()


def test_staff_restore_an_item_deleted_at_the_service(admin_client, remote, waiting):
    link = waiting["Book the venue"]

    response = act(admin_client, "restore_item", link)

    assert said(response) == ["Restored 1 of 1 link(s)."]
    assert remote.calls["create"] == 1
    link.refresh_from_db()
    assert (link.deletion_pending, link.deletion_pending_at) == ("", None)
    assert remote.items[link.remote_id].fields["title"] == "Book the venue"
    assert AuditEvent.objects.get(action="sync.deletion.restored").resource == f"link {link.pk}"


def test_staff_restore_an_item_deleted_in_dayflow(admin_client, waiting):
    act(admin_client, "restore_item", waiting["Old notes"])

    assert not Task.all_objects.get(title="Old notes").is_deleted
    assert still_waiting() == 1


def test_a_link_whose_deletion_does_not_wait_is_refused_and_unchanged(
    admin_client, remote, waiting
):
    kept, old = waiting["Kept"], waiting["Old notes"]
    writes = remote.writes()

    response = act(admin_client, "confirm_deletion", kept)

    assert response.status_code == 200
    assert said(response) == [
        f"Not changed (link {kept.pk}): this item's deletion does not wait for you (any more).",
        "Confirmed the deletion of 0 of 1 link(s).",
    ]
    unchanged = ItemLink.objects.get(pk=kept.pk)
    assert (unchanged.remote_id, unchanged.deletion_pending) == (kept.remote_id, "")
    assert Task.objects.filter(title="Kept").exists()
    assert remote.writes() == writes
    assert ItemLink.objects.filter(pk=old.pk, deletion_pending="local").exists()


def test_the_waiting_ones_of_a_mixed_choice_are_settled(admin_client, waiting):
    response = act(admin_client, "restore_item", waiting["Kept"], waiting["Book the venue"])

    assert said(response)[-1] == "Restored 1 of 2 link(s)."
    assert still_waiting() == 1


def test_more_links_than_the_maximum_are_refused_and_nothing_changes(
    admin_client, monkeypatch, remote, waiting
):
    monkeypatch.setattr(deletions, "MAX_AT_ONCE", 1)

    response = act(
        admin_client, "confirm_deletion", waiting["Old notes"], waiting["Book the venue"]
    )

    assert said(response) == ["Nothing was changed: choose at most 1 links at a time."]
    assert still_waiting() == 2
    assert not AuditEvent.objects.filter(action__startswith="sync.deletion").exists()


def test_a_person_who_is_not_staff_is_refused(client, user, waiting):
    client.force_login(user)

    response = client.post(
        CHANGELIST,
        {"action": "confirm_deletion", "_selected_action": [waiting["Old notes"].pk]},
    )

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")
    assert still_waiting() == 2


def test_staff_who_may_only_view_links_are_not_offered_the_actions(
    client, django_user_model, waiting
):
    viewer = django_user_model.objects.create_user("viewer", "v@example.com", "pw-viewer-1")
    viewer.is_staff = True
    viewer.save()
    viewer.user_permissions.add(Permission.objects.get(codename="view_itemlink"))
    client.force_login(viewer)

    listed = client.get(CHANGELIST)
    response = act(client, "confirm_deletion", waiting["Old notes"])

    assert listed.status_code == 200
    assert "confirm_deletion" not in listed.content.decode()
    assert response.status_code == 200
    assert still_waiting() == 2


def test_the_admin_never_shows_a_secret(admin_client, connection, remote, waiting):
    Credential.objects.create(
        connection=connection, access_token=f"at-{SECRET}", refresh_token=f"rt-{SECRET}"
    )
    link = waiting["Book the venue"]
    refusal = f"refused: Authorization: Bearer {SECRET}"
    remote.fail_next("create", Permanent(refusal, status=403, service="fake"))

    response = act(admin_client, "restore_item", link)

    assert any("refused" in message for message in said(response))
    assert ItemLink.objects.get(pk=link.pk).deletion_pending == "remote"
    assert SECRET not in ItemLink.objects.get(pk=link.pk).last_error
    pages = [
        response,
        admin_client.get(CHANGELIST),
        admin_client.get(f"{CHANGELIST}{link.pk}/change/"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert SECRET not in page.content.decode()
    assert "refused: Authorization: [redacted]" in pages[2].content.decode()
