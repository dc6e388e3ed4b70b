"""Push over plain http only for a sandboxed service: its emulator posts to this machine."""

from __future__ import annotations

import pytest

from webhooks import subscriptions

pytestmark = pytest.mark.django_db
LOCAL = "http://127.0.0.1:8000"


@pytest.mark.parametrize(
    ("sandbox", "service_urls", "wanted"),
    [
        (True, {"clickup": f"{LOCAL}/sandbox/clickup"}, True),  # the emulator accepts http
        (True, {"outlook": f"{LOCAL}/sandbox/outlook"}, False),  # the real ClickUp refuses it
        (False, {"clickup": f"{LOCAL}/sandbox/clickup"}, False),  # sandbox off: the real one
    ],
)
def test_a_local_http_notification_url_is_used_only_for_a_sandboxed_service(
    make_connection, settings, sandbox, service_urls, wanted
):
    settings.PUBLIC_URL = LOCAL
    settings.DAYFLOW_SANDBOX = sandbox
    settings.DAYFLOW_SERVICE_URLS = service_urls
    connection = make_connection("clickup")

    assert subscriptions.wants_push(connection) is wanted


def test_a_sandboxed_connection_that_syncs_by_hand_still_gets_no_push(make_connection, settings):
    settings.PUBLIC_URL = LOCAL
    settings.DAYFLOW_SANDBOX = True
    settings.DAYFLOW_SERVICE_URLS = {"clickup": f"{LOCAL}/sandbox/clickup"}

    assert not subscriptions.wants_push(make_connection("clickup", sync_direction="manual"))
