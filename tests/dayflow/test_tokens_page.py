"""The API tokens page: a person lists, makes and revokes their tokens. A new token is shown
once, in the answer to the POST, and stored nowhere in plain text."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages
from rest_framework.test import APIClient

from audit.models import AuditEvent
from dayflow.api.tokens import MAX_TOKENS_PER_USER
from dayflow.models import ApiToken

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2030, 6, 1, 12, 0, tzinfo=dt.UTC)
PAGE = "/account/tokens/"


def test_the_page_needs_a_sign_in(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_navigation_links_to_the_page(signed_in):
    assert f'href="{PAGE}"' in signed_in.get("/").content.decode()


def test_the_list_shows_my_tokens_with_their_dates_and_no_one_elses(client, user, other_user):
    with time_machine.travel(NOW, tick=False):
        ApiToken.objects.create(user=user, expiry=None, name="backup script")
        ApiToken.objects.create(user=user, expiry=dt.timedelta(days=1), name="old CI")
        ApiToken.objects.create(user=other_user, expiry=None, name="bob's laptop")
        ApiToken.objects.filter(name="backup script").update(last_used_at=NOW)
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=False):
        client.force_login(user)  # a session of that day
        body = client.get(PAGE).content.decode()

    assert "backup script" in body
    assert "laptop" not in body
    assert "2\xa0days ago" in body  # last used (timesince joins with a no-break space)
    assert "2 Jun 2030" in body  # old CI's expiry
    assert body.count("expired</span>") == 1
    assert "never" in body  # backup script: no expiry


def test_making_a_token_shows_it_once_and_stores_only_its_hash(signed_in, user):
    response = signed_in.post(PAGE, {"name": "backup script", "lifetime": "never"})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]
    token = response.context["token"]
    assert token.startswith("dayflow_")
    assert token in response.content.decode()
    stored = ApiToken.objects.get(user=user)
    assert (stored.name, stored.expiry) == ("backup script", None)
    assert token not in {stored.digest, stored.token_key}
    assert token not in str(dict(signed_in.session))
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    assert token not in signed_in.get(PAGE).content.decode()

    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert script.get("/api/tokens").status_code == 200


def test_making_a_token_is_audited_through_the_same_function_as_the_api(signed_in, user):
    signed_in.post(PAGE, {"name": "CI", "lifetime": "never"})

    event = AuditEvent.objects.get(action="api_token.created")
    assert event.actor == user
    assert event.details == {"name": "CI"}


@pytest.mark.parametrize(("lifetime", "days"), [("30d", 30), ("90d", 90), ("1y", 365)])
def test_a_token_can_expire(client, user, lifetime, days):
    with time_machine.travel(NOW, tick=False):
        client.force_login(user)
        client.post(PAGE, {"name": "CI", "lifetime": lifetime})

    assert ApiToken.objects.get(user=user).expiry == NOW + dt.timedelta(days=days)


@pytest.mark.parametrize(
    "data",
    [
        {"name": "", "lifetime": "never"},
        {"name": "   ", "lifetime": "never"},
        {"name": "x" * 101, "lifetime": "never"},
        {"name": "CI", "lifetime": "forever"},
        {"name": "CI"},
    ],
)
def test_bad_input_is_shown_again_and_makes_nothing(signed_in, user, data):
    response = signed_in.post(PAGE, data)

    assert response.status_code == 400
    assert response.context["token"] is None
    assert 'class="errorlist' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_person_has_a_bounded_number_of_tokens(signed_in, user):
    for n in range(MAX_TOKENS_PER_USER):
        ApiToken.objects.create(user=user, expiry=None, name=f"t{n}")

    response = signed_in.post(PAGE, {"name": "one more", "lifetime": "never"})

    assert response.status_code == 400
    assert "revoke one first" in response.content.decode()
    assert ApiToken.objects.count() == MAX_TOKENS_PER_USER


def test_revoking_a_token_ends_it_at_once(signed_in, user):
    _, token = ApiToken.objects.create(user=user, expiry=None, name="old laptop")
    pk = ApiToken.objects.get().pk

    response = signed_in.post(f"{PAGE}{pk}/revoke/", follow=True)

    assert response.redirect_chain == [(PAGE, 302)]
    assert "Revoked “old laptop”" in response.content.decode()
    assert not ApiToken.objects.exists()
    assert AuditEvent.objects.filter(action="api_token.revoked", actor=user).exists()
    script = APIClient()
    script.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert script.get("/api/tokens").status_code == 401


def test_another_persons_token_is_not_found_and_stays(signed_in, other_user):
    ApiToken.objects.create(user=other_user, expiry=None, name="bob's laptop")
    pk = ApiToken.objects.get().pk

    assert signed_in.post(f"{PAGE}{pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=pk).exists()


def test_revoking_needs_a_post(signed_in, user):
    ApiToken.objects.create(user=user, expiry=None, name="laptop")
    pk = ApiToken.objects.get().pk

    assert signed_in.get(f"{PAGE}{pk}/revoke/").status_code == 405
    assert ApiToken.objects.exists()


def test_revoking_needs_the_csrf_token(user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    ApiToken.objects.create(user=user, expiry=None, name="laptop")
    pk = ApiToken.objects.get().pk

    assert client.post(f"{PAGE}{pk}/revoke/").status_code == 403
    assert ApiToken.objects.exists()
