"""Staff see every service and connection in the admin, and never a secret."""

import json

import pytest
from django.utils import timezone

from dayflow.models import Task
from integrations.admin import ConnectionAdmin
from integrations.models import Connection, Credential, Service
from sync.models import SyncJob, SyncLink

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client, django_user_model):
    admin = django_user_model.objects.create_superuser("staff", "staff@example.com", "pw-staff-1")
    client.force_login(admin)
    return client


def test_admin_lists_the_eight_services(staff_client):
    response = staff_client.get("/admin/integrations/service/")

    assert response.status_code == 200
    for name in [
        "Notion",
        "ClickUp",
        "Linear",
        "Todoist",
        "Google Calendar",
        "Microsoft Outlook",
        "Apple Calendar",
        "Fastmail",
    ]:
        assert name in response.content.decode()


def test_credential_pages_never_show_a_secret(staff_client, connection):
    credential = Credential.objects.create(
        connection=connection,
        access_token="at-very-secret",
        refresh_token="rt-very-secret",
        app_password="pw-very-secret",
    )

    pages = [
        staff_client.get("/admin/integrations/credential/"),
        staff_client.get(f"/admin/integrations/credential/{credential.pk}/change/"),
        staff_client.get(f"/admin/integrations/connection/{connection.pk}/change/"),
        staff_client.get("/admin/auditlog/logentry/"),
    ]

    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        for secret in ["at-very-secret", "rt-very-secret", "pw-very-secret", "very-secret"]:
            assert secret not in body


@pytest.mark.parametrize("count", [3, 12])
def test_connection_list_query_count_does_not_grow_with_rows(
    staff_client, django_assert_max_num_queries, user, count
):
    services = list(Service.objects.all())
    for i in range(count):
        Connection.objects.create(
            user=user, service=services[i % len(services)], external_account_id=f"acct-{i}"
        )

    with django_assert_max_num_queries(12):
        response = staff_client.get("/admin/integrations/connection/")

    assert response.status_code == 200


def test_task_and_event_admin_pages_render(staff_client, user):
    from dayflow.models import Event, Task

    Task.objects.create(user=user, title="Pay rent")
    Event.objects.create(user=user, title="Standup", all_day=True)

    assert "Pay rent" in staff_client.get("/admin/dayflow/task/").content.decode()
    assert "Standup" in staff_client.get("/admin/dayflow/event/").content.decode()


def test_the_admin_refuses_an_absurd_sync_interval(staff_client, connection):
    page = staff_client.get(f"/admin/integrations/connection/{connection.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data |= {"user": connection.user_id, "service": connection.service_id}
    data |= {"field_mapping": "{}", "sync_interval": "4611686018427387904"}

    response = staff_client.post(f"/admin/integrations/connection/{connection.pk}/change/", data)

    assert response.status_code == 200
    assert "at most 10080 minutes" in " ".join(
        response.context["adminform"].form.errors["sync_interval"]
    )
    connection.refresh_from_db()
    assert connection.sync_interval == 15


def test_a_project_ticked_in_the_admin_queues_its_first_syncs_preview(
    staff_client, user, connection
):
    now = timezone.now()
    Connection.objects.filter(pk=connection.pk).update(last_sync_at=now)
    SyncLink.objects.filter(connection=connection).update(first_synced_at=now)
    Task.objects.create(user=user, title="Quarterly report")
    page = staff_client.get(f"/admin/integrations/connection/{connection.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data |= {"user": connection.user_id, "service": connection.service_id}
    data |= {"field_mapping": '{"project_id": ["p-1", "p-2"]}'}

    response = staff_client.post(f"/admin/integrations/connection/{connection.pk}/change/", data)

    assert response.status_code == 302
    preview = SyncJob.objects.get(connection=connection)
    assert (preview.dry_run, preview.status) == (True, "queued")
    jobs = staff_client.get("/admin/sync/syncjob/").content.decode()
    assert f"/admin/sync/syncjob/{preview.pk}/change/" in jobs


def test_an_admin_edit_keeps_what_a_sync_wrote_after_the_page_loaded_the_row(
    staff_client, connection, monkeypatch
):
    finished = timezone.now()
    loaded = ConnectionAdmin.get_object

    def load_then_a_sync_finishes(self, request, object_id, from_field=None):
        obj = loaded(self, request, object_id, from_field)
        if request.method == "POST":
            Connection.objects.filter(pk=obj.pk).update(last_sync_at=finished)
        return obj

    monkeypatch.setattr(ConnectionAdmin, "get_object", load_then_a_sync_finishes)
    page = staff_client.get(f"/admin/integrations/connection/{connection.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data |= {"user": connection.user_id, "service": connection.service_id}
    data |= {"field_mapping": json.dumps(connection.field_mapping), "sync_interval": "30"}

    response = staff_client.post(f"/admin/integrations/connection/{connection.pk}/change/", data)

    assert response.status_code == 302
    connection.refresh_from_db()
    assert (connection.sync_interval, connection.last_sync_at) == (30, finished)
