"""Sign-in lockout (django-axes, dayflow/lockout.py): per username from an IP, per IP across
usernames (spraying), on /accounts/login/ and /admin/login/, with a cool-off, staff unlock in
the admin, and one `auth.locked_out` audit event per lockout."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from axes.models import AccessAttempt

from audit.models import AuditEvent
from dayflow import limits

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
NOW = dt.datetime(2026, 3, 23, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def small_limits(settings):
    settings.DAYFLOW_LOGIN_FAILURES_PER_USERNAME = 5
    settings.DAYFLOW_LOGIN_FAILURES_PER_IP = 12
    settings.DAYFLOW_LOGIN_COOLOFF_MINUTES = 15


def sign_in(client, username, password, ip="203.0.113.7", path=LOGIN):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=ip)


@pytest.mark.parametrize(
    ("per_pair", "per_ip", "locked"),
    [
        (0, 0, False),
        (4, 4, False),
        (5, 5, True),  # one username, five times
        (1, 11, False),  # spraying, not yet
        (1, 12, True),  # spraying: the IP's limit
        (4, 30, True),
    ],
)
def test_the_pair_or_the_ip_reaches_the_limit(per_pair, per_ip, locked):
    assert (limits.login_failures(per_pair, per_ip, 5, 12) >= 5) is locked


def test_wrong_passwords_for_one_username_lock_it_out_then_the_cool_off_ends_it(client, user):
    with time_machine.travel(NOW, tick=False):
        answers = [sign_in(client, "alice", "wrong").status_code for _ in range(5)]
        locked = sign_in(client, "alice", "pw-alice-123")

    assert answers[:4] == [200] * 4
    assert answers[4] == 429
    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content
    assert locked["Retry-After"] == str(15 * 60)
    assert "_auth_user_id" not in client.session
    # The same person from another IP is not locked out by someone else's guessing.
    assert sign_in(client, "alice", "pw-alice-123", ip="198.51.100.1").status_code == 302
    client.logout()

    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=False):
        assert sign_in(client, "alice", "pw-alice-123").status_code == 302


def test_a_lockout_is_audited_once(client, user):
    with time_machine.travel(NOW, tick=False):
        for _ in range(8):
            sign_in(client, "alice", "wrong")

    events = AuditEvent.objects.filter(action="auth.locked_out")
    assert events.count() == 1
    assert events.get().ip_address == "203.0.113.7"
    assert events.get().details["username"] == "alice"
    assert events.get().success is False


def test_spraying_many_usernames_from_one_ip_locks_the_ip_out(client, user):
    with time_machine.travel(NOW, tick=False):
        answers = [sign_in(client, f"user{n}", "Winter2026!").status_code for n in range(12)]
        right = sign_in(client, "alice", "pw-alice-123")

    assert answers[:11] == [200] * 11
    assert answers[11] == 429
    assert right.status_code == 429
    # Another IP is untouched.
    assert sign_in(client, "alice", "pw-alice-123", ip="198.51.100.1").status_code == 302


def test_the_admin_login_locks_out_too(client, admin_user):
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            sign_in(client, "admin", "wrong", path=ADMIN_LOGIN)
        locked = sign_in(client, "admin", "password", path=ADMIN_LOGIN)

    assert locked.status_code == 429
    assert b"Too many failed sign-ins" in locked.content


def test_staff_unlock_in_the_admin(client, admin_client, user):
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            sign_in(client, "alice", "wrong")
        assert sign_in(client, "alice", "pw-alice-123").status_code == 429

        page = admin_client.get("/admin/axes/accessattempt/")
        assert page.status_code == 200
        assert b"alice" in page.content
        attempt = AccessAttempt.objects.get(username="alice")
        admin_client.post(
            f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}, follow=True
        )

        assert not AccessAttempt.objects.exists()
        assert sign_in(client, "alice", "pw-alice-123").status_code == 302


def test_a_right_password_before_the_limit_starts_afresh(client, user):
    with time_machine.travel(NOW, tick=False):
        for _ in range(4):
            sign_in(client, "alice", "wrong")
        assert sign_in(client, "alice", "pw-alice-123").status_code == 302
        client.logout()
        for _ in range(4):
            sign_in(client, "alice", "wrong")
        assert sign_in(client, "alice", "pw-alice-123").status_code == 302


def test_the_test_clients_login_still_works(client, user):
    assert client.login(username="alice", password="pw-alice-123")
    assert not client.login(username="alice", password="wrong")
