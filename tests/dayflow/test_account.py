"""A person changes their password, and resets a forgotten one by email, in the app's pages."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

NEW = "a-Fresh-passw0rd-42"


def _link(message) -> str:
    return re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", message.body).group(1)


def test_the_profile_links_to_the_password_and_the_tokens(client, user):
    client.force_login(user)

    page = client.get(reverse("profile")).content.decode()

    assert f'href="{reverse("password_change")}"' in page
    assert f'href="{reverse("api-tokens")}"' in page


def test_the_login_page_offers_a_reset(client):
    page = client.get(reverse("login")).content.decode()

    assert "Forgot your password?" in page
    assert f'href="{reverse("password_reset")}"' in page


def test_a_password_is_changed_with_the_old_one(client, user):
    client.force_login(user)
    page = client.get(reverse("password_change"))
    assert "Change your password" in page.content.decode()
    assert "base.html" in [t.name for t in page.templates]

    answer = client.post(
        reverse("password_change"),
        {"old_password": "pw-alice-123", "new_password1": NEW, "new_password2": NEW},
    )

    assert answer.status_code == 302
    assert answer["Location"] == reverse("password_change_done")
    assert "Password changed" in client.get(answer["Location"]).content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW)


def test_a_wrong_old_password_changes_nothing(client, user):
    client.force_login(user)

    answer = client.post(
        reverse("password_change"),
        {"old_password": "not-it", "new_password1": NEW, "new_password2": NEW},
    )

    assert answer.status_code == 200
    assert "Your old password was entered incorrectly" in answer.content.decode()
    user.refresh_from_db()
    assert user.check_password("pw-alice-123")


def test_changing_a_password_needs_a_signed_in_person(client):
    answer = client.get(reverse("password_change"))

    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login"))


def test_a_forgotten_password_is_reset_by_email_and_the_link_works_once(client, user):
    answer = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert answer["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Choose a new DayFlow password"
    assert "alice" in message.body
    link = _link(message)

    form = client.get(link, follow=True)  # Django swaps the token for a session marker
    assert "Choose a new password" in form.content.decode()
    set_url = form.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW, "new_password2": NEW})

    assert done["Location"] == reverse("password_reset_complete")
    assert "Password set" in client.get(done["Location"]).content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW)
    again = client.get(link, follow=True).content.decode()
    assert "This link no longer works" in again
    assert client.login(username="alice", password=NEW)


def test_an_unknown_address_shows_the_same_page_and_sends_nothing(client, user):
    known = client.post(reverse("password_reset"), {"email": "alice@example.com"}, follow=True)
    mail.outbox.clear()

    unknown = client.post(reverse("password_reset"), {"email": "nobody@example.com"}, follow=True)

    assert unknown.redirect_chain == known.redirect_chain
    assert unknown.content == known.content
    assert mail.outbox == []


def test_a_forged_reset_link_is_refused(client, user):
    page = client.get("/accounts/reset/MQ/set-password/", follow=True).content.decode()

    assert "This link no longer works" in page
    forged = client.get("/accounts/reset/MQ/abc-123/", follow=True).content.decode()
    assert "This link no longer works" in forged
