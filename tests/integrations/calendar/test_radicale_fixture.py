"""The Radicale fixture itself: a real server that authenticates and keeps tests apart."""

from __future__ import annotations

import dataclasses

from tests.radicale import RadicaleCalendar, RadicaleServer, request

PROPFIND_DEPTH0 = (
    '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><resourcetype/></prop></propfind>'
)


def test_server_answers_with_the_known_credentials(radicale_server: RadicaleServer) -> None:
    # given the session's server and its default user
    # when the user asks for its principal
    status = request(
        radicale_server.account,
        "PROPFIND",
        radicale_server.account.principal_url,
        PROPFIND_DEPTH0,
        {"Depth": "0"},
    )
    # then the server answers with a multistatus
    assert radicale_server.url.startswith("http://127.0.0.1:")
    assert status == 207


def test_server_rejects_a_wrong_password(radicale_server: RadicaleServer) -> None:
    wrong = dataclasses.replace(radicale_server.account, password="not-the-password")

    status = request(wrong, "PROPFIND", wrong.principal_url, PROPFIND_DEPTH0, {"Depth": "0"})

    assert status == 401


def test_each_test_gets_its_own_calendar_of_its_own_user(
    radicale_server: RadicaleServer, radicale_calendar: RadicaleCalendar
) -> None:
    # given a calendar made for this test, and another user
    other = radicale_server.add_account()
    # when its owner and the other user look at it
    own = request(radicale_calendar.account, "PROPFIND", radicale_calendar.url, PROPFIND_DEPTH0)
    foreign = request(other, "PROPFIND", radicale_calendar.url, PROPFIND_DEPTH0)
    # then only the owner sees it
    assert radicale_calendar.url.startswith(radicale_calendar.account.principal_url)
    assert own == 207
    assert foreign == 403
