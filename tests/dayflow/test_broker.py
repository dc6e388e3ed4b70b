"""The embedded broker publishes a message whole or not at all: a worker listing the queue's
folder while a message is written finds nothing, never an empty file (which killed the worker:
"Unrecoverable error: JSONDecodeError")."""

from __future__ import annotations

import contextlib
import os
from queue import Empty

import pytest
from kombu import Connection
from kombu.exceptions import ChannelError

from dayflow import broker


@pytest.fixture
def channel(tmp_path):
    folders = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    options = {**folders, "control_folder": str(tmp_path / "control")}
    with Connection(transport="dayflow.broker:Transport", transport_options=options) as conn:
        yield conn.default_channel


def test_a_message_is_invisible_until_it_is_whole(channel, monkeypatch):
    seen_while_writing = []
    rename = os.replace

    def replace(partial, final):
        with contextlib.suppress(Empty):
            seen_while_writing.append(channel._get("sync"))
        rename(partial, final)

    monkeypatch.setattr(broker.os, "replace", replace)
    channel._put("sync", {"body": "x" * 10_000})

    assert seen_while_writing == []  # the reader skipped the partial file
    assert channel._get("sync") == {"body": "x" * 10_000}


def test_every_message_comes_out_whole(channel):
    for n in range(20):
        channel._put("sync", {"n": n})
    assert sorted(channel._get("sync")["n"] for _ in range(20)) == list(range(20))
    with pytest.raises(Empty):
        channel._get("sync")


def test_a_folder_that_cannot_be_written_is_a_channel_error(channel, tmp_path):
    channel.data_folder_out = str(tmp_path / "missing")
    with pytest.raises(ChannelError):
        channel._put("sync", {"n": 1})


def test_the_embedded_defaults_use_it(settings):
    assert settings.CELERY_BROKER_URL.startswith("filesystem") is (
        getattr(settings, "CELERY_BROKER_TRANSPORT", None) == "dayflow.broker:Transport"
    )
