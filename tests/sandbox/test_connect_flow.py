"""The product's real connect flow (its social-core backends) against each emulator: "Allow"
on the sandbox's authorize page connects the account; "Deny" connects nothing; disconnecting
revokes the grant where the service has revocation. The Django test client stands in for the
browser; the backends reach the token and identity endpoints over HTTP (a live server). The
providers' URLs are overridden here only: the product's wiring of base URLs comes later."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from integrations.models import Connection, Credential
from integrations.sandbox.models import Grant
from tests.sandbox.conftest import ENDPOINTS, go_through_consent


@pytest.mark.parametrize("key", list(ENDPOINTS))
def test_allow_connects_the_sandbox_account_and_disconnect_revokes(sandboxed, client, user, key):
    client.force_login(user)

    back = urlsplit(go_through_consent(client, key, "allow"))
    done = client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})

    assert done.status_code == 302
    connection = Connection.objects.get(service__key=key)
    assert connection.external_account_id
    assert Credential.objects.get(connection=connection).access_token
    client.post(f"/integrations/connections/{connection.pk}/disconnect/", {"keep_items": "keep"})
    still_live = Grant.objects.filter(kind="access", revoked_at=None).exists()
    assert still_live is not bool(ENDPOINTS[key][2])  # revoked where the service can


@pytest.mark.parametrize("key", ["todoist", "google-calendar"])
def test_deny_connects_nothing(sandboxed, client, user, key):
    client.force_login(user)

    back = urlsplit(go_through_consent(client, key, "deny"))
    client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})

    assert parse_qs(back.query)["error"] == ["access_denied"]
    assert not Connection.objects.exists()
