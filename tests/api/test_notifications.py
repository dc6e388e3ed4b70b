"""`/api/notifications`: a script reads the person's notices and marks them read."""

from __future__ import annotations

import pytest

from notifications.models import Kind, Notification

pytestmark = pytest.mark.django_db


def _notice(user, title: str, kind: str = Kind.RECONNECT) -> Notification:
    return Notification.objects.create(user=user, kind=kind, title=title, link="/integrations/")


def test_the_list_is_the_person_s_own_newest_first_and_filtered(api, user, other_user):
    _notice(user, "first")
    _notice(user, "second", Kind.SECURITY)
    _notice(other_user, "bob's")

    everything = api.get("/api/notifications").json()["results"]
    assert [n["title"] for n in everything] == ["second", "first"]
    assert everything[0]["link"] == "/integrations/"

    security = api.get("/api/notifications?kind=security").json()["results"]
    assert [n["title"] for n in security] == ["second"]


@pytest.mark.parametrize("query", ["?kind=nonsense", "?unread=maybe"])
def test_bad_filters_are_a_400(api, query):
    assert api.get(f"/api/notifications{query}").status_code == 400


def test_mark_one_then_all_read(api, user, other_user):
    first, second = _notice(user, "first"), _notice(user, "second")
    theirs = _notice(other_user, "bob's")

    assert api.post(f"/api/notifications/{first.pk}/read").json() == {"marked": 1}
    assert api.post(f"/api/notifications/{theirs.pk}/read").status_code == 404
    assert [n["title"] for n in api.get("/api/notifications?unread=true").json()["results"]] == [
        "second"
    ]

    assert api.post("/api/notifications/read").json() == {"marked": 1}
    second.refresh_from_db(), theirs.refresh_from_db()
    assert second.read_at is not None
    assert theirs.read_at is None


def test_someone_else_s_notice_is_not_found(api, other_user):
    theirs = _notice(other_user, "bob's")
    assert api.get(f"/api/notifications/{theirs.pk}").status_code == 404


@pytest.mark.parametrize("path", ["/api/notifications/{huge}", "/api/notifications/{huge}/read"])
def test_an_id_past_64_bits_is_not_found(api, path):
    url = path.format(huge=10**30)
    response = api.post(url) if url.endswith("/read") else api.get(url)
    assert response.status_code == 404
