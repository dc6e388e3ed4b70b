"""Each provider says where a person opens an item at the service, from its recorded payloads:
the address the service gives (`url`, `htmlLink`, `webLink`), or one made from the id; only
plain http(s) addresses ever come out."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import pytest

from integrations.providers import PROVIDERS
from integrations.providers.base import WEB_URL_MAX, safe_web_url
from integrations.providers.clickup.provider import ClickUpProvider
from integrations.providers.google_calendar.provider import GoogleCalendarProvider
from integrations.providers.linear.provider import LinearProvider
from integrations.providers.notion.provider import NotionProvider
from integrations.providers.outlook.provider import OutlookProvider
from integrations.providers.todoist.provider import TodoistProvider
from tests.integrations.providers.support import load
from tests.integrations.providers.test_notion import MAPPING, RECORDED_PAGE, SCHEMA, page


def _connection(**mapping: Any) -> SimpleNamespace:
    return SimpleNamespace(pk=1, field_mapping=mapping)


def _todoist() -> tuple[Any, dict]:
    return TodoistProvider(_connection(project_id="p")), load("todoist", "item.json")


def _clickup() -> tuple[Any, dict]:
    return ClickUpProvider(_connection(list_id="l", timezone="UTC")), load("clickup", "task.json")


def _linear() -> tuple[Any, dict]:
    return LinearProvider(_connection(team_id="team")), load("linear", "issue.json")


def _notion() -> tuple[Any, dict]:
    provider = NotionProvider(_connection(**MAPPING))
    provider._sources[MAPPING["data_source_id"]] = {"properties": SCHEMA, "name": ""}
    raw = page("p1", "2026-07-04T09:00:00.000Z")
    raw["url"] = RECORDED_PAGE["url"]
    return provider, raw


def _google() -> tuple[Any, dict]:
    return GoogleCalendarProvider(_connection()), load("google", "events_full_page1.json")["items"][
        0
    ]


def _outlook() -> tuple[Any, dict]:
    # The recorded event, with `webLink` as Graph documents it (it is $select-ed now).
    raw = load("msgraph", "event_single.json")
    raw["webLink"] = (
        "https://outlook.office365.com/owa/?itemid=AAMkAGI2T&exvsurl=1&path=/calendar/item"
    )
    return OutlookProvider(_connection()), raw


CASES = {
    "todoist": (_todoist, "https://app.todoist.com/app/task/6X7rM8997g3RQmvh"),
    "clickup": (_clickup, "https://app.clickup.com/t/86a1b2c3d"),
    "linear": (_linear, "https://linear.app/acme/issue/ENG-123/fix-the-login-redirect"),
    "notion": (_notion, RECORDED_PAGE["url"]),
    "google-calendar": (_google, "https://www.google.com/calendar/event?eid=c2VyaWVz"),
    "outlook": (
        _outlook,
        "https://outlook.office365.com/owa/?itemid=AAMkAGI2T&exvsurl=1&path=/calendar/item",
    ),
}


def _item(provider: Any, raw: dict) -> Any:
    if isinstance(provider, GoogleCalendarProvider):
        return provider.to_item(raw, "primary")
    return provider.to_item(raw)


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_pulled_item_carries_its_page_at_the_service(key):
    make, expected = CASES[key]
    provider, raw = make()

    assert _item(provider, raw).web_url == expected


@pytest.mark.parametrize("key", sorted(k for k in CASES if PROVIDERS[k].web_url_field))
def test_a_hostile_address_in_a_payload_is_dropped(key):
    make, _ = CASES[key]
    provider, raw = make()
    raw = copy.deepcopy(raw)
    raw[provider.web_url_field] = "javascript:alert(document.cookie)"

    assert _item(provider, raw).web_url == ""


def test_every_service_declares_where_its_items_live_or_that_it_has_no_pages():
    declared = {
        key: bool(cls.web_url_field or cls.web_url_template) for key, cls in PROVIDERS.items()
    }

    assert {key for key, has in declared.items() if has} == set(CASES)


def test_an_id_is_escaped_in_an_address_made_from_it():
    provider = TodoistProvider(_connection())

    assert provider.web_url({}, "a/b?c") == "https://app.todoist.com/app/task/a%2Fb%3Fc"


SAFE_WEB_URL = {
    "https": ("https://linear.app/acme/issue/ENG-1", "https://linear.app/acme/issue/ENG-1"),
    "http": ("http://localhost:8000/x", "http://localhost:8000/x"),
    "upper-case scheme": ("HTTPS://example.com/", "HTTPS://example.com/"),
    "javascript": ("javascript:alert(1)", ""),
    "javascript, mixed case": ("JaVaScRiPt:alert(1)", ""),
    "data": ("data:text/html,<script>alert(1)</script>", ""),
    "scheme-relative": ("//evil.example/x", ""),
    "relative": ("/tasks/1/", ""),
    "no host": ("https:///path", ""),
    "a tab inside": ("java\tscript:alert(1)", ""),
    "a newline": ("https://example.com/\nx", ""),
    "a space": ("https://example.com/a b", ""),
    "empty": ("", ""),
    "not text": (42, ""),
    "none": (None, ""),
    "too long": ("https://example.com/" + "a" * WEB_URL_MAX, ""),
    "at the bound": ("https://e.co/" + "a" * (WEB_URL_MAX - 13), "https://e.co/" + "a" * 487),
    "bad port": ("https://example.com:99999999/", "https://example.com:99999999/"),
    "bracket host": ("https://[::1/", ""),
}


@pytest.mark.parametrize("case", SAFE_WEB_URL)
def test_only_plain_web_addresses_are_kept(case):
    value, expected = SAFE_WEB_URL[case]

    assert safe_web_url(value) == expected
