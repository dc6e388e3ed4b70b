"""The bell, the list, mark as read, and the email choices."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from notifications.models import EmailPreference, Kind, Notification
from sync.models import Conflict, ItemLink

pytestmark = pytest.mark.django_db


def _notice(user, n: int = 0, **extra) -> Notification:
    return Notification.objects.create(
        user=user, kind=Kind.RECONNECT, title=f"Reconnect {n}", link="/integrations/", **extra
    )


def test_the_bell_counts_unread_notices_and_conflicts_in_one_query(client, user, connection):
    for n in range(3):
        _notice(user, n)
    _notice(user, 9, read_at="2026-01-01T00:00:00Z")
    link = ItemLink.objects.create(connection=connection, item_type="task", remote_id="r1")
    Conflict.objects.create(link=link, fields=["title"])
    client.force_login(user)

    with CaptureQueriesContext(db) as queries:
        page = client.get("/profile/").content.decode()

    nav = [q["sql"] for q in queries if "sync_conflict" in q["sql"] or "notification" in q["sql"]]
    assert len(nav) == 1
    # the conflict raised its own notice: 3 + 1 unread
    assert ", 4 unread" in page
    assert ", 1 open" in page


def test_the_list_shows_the_person_s_notices_only_and_links_where_to_act(
    client, user, other_user, django_assert_max_num_queries
):
    for n in range(40):
        _notice(user, n)
    _notice(other_user, 99)
    client.force_login(user)

    with django_assert_max_num_queries(7):
        page = client.get("/notifications/").content.decode()

    assert "Reconnect 39" in page
    assert "Reconnect 99" not in page
    assert 'href="/integrations/"' in page
    assert "Page 1 of 2" in page


def test_mark_one_and_all_as_read(client, user, other_user):
    first, second = _notice(user, 1), _notice(user, 2)
    theirs = _notice(other_user, 3)
    client.force_login(user)

    assert client.post(f"/notifications/{first.pk}/read/").status_code == 302
    assert client.post(f"/notifications/{theirs.pk}/read/").status_code == 302  # not theirs: no-op
    first.refresh_from_db(), second.refresh_from_db(), theirs.refresh_from_db()
    assert first.read_at
    assert not second.read_at
    assert not theirs.read_at

    client.post("/notifications/read/")
    second.refresh_from_db(), theirs.refresh_from_db()
    assert second.read_at
    assert not theirs.read_at


def test_marking_read_needs_a_post_with_the_csrf_token(user):
    from django.test import Client

    notice = _notice(user)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    assert strict.get(f"/notifications/{notice.pk}/read/").status_code == 405
    assert strict.post(f"/notifications/{notice.pk}/read/").status_code == 403
    notice.refresh_from_db()
    assert notice.read_at is None


def test_email_choices_are_saved_per_kind(client, user):
    client.force_login(user)
    page = client.get("/notifications/settings/").content.decode()
    assert "Email me when" in page

    client.post("/notifications/settings/", {"reconnect": "on", "security": "on"})

    chosen = dict(EmailPreference.objects.filter(user=user).values_list("kind", "email"))
    assert chosen == {
        Kind.RECONNECT: True,
        Kind.FAILURES: False,
        Kind.MASS_DELETION: False,
        Kind.CONFLICTS: False,
        Kind.SECURITY: True,
    }


def test_signed_out_people_are_sent_to_log_in(client):
    assert client.get("/notifications/").status_code == 302


@pytest.mark.parametrize("path", ["/notifications/?page=abc", "/notifications/?page=99999999999"])
def test_odd_page_numbers_show_a_page(client, user, path):
    _notice(user)
    client.force_login(user)
    assert client.get(path).status_code == 200


def test_an_id_past_64_bits_changes_nothing(client, user):
    notice = _notice(user)
    client.force_login(user)
    response = client.post(f"/notifications/{10**30}/read/")
    assert response.status_code == 404
    notice.refresh_from_db()
    assert notice.read_at is None
