"""The embedded defaults' broker: kombu's filesystem transport, with each message published
whole or not at all.

kombu writes a message straight into its final file, so a worker listing the folder can move
and read that file between its creation and the write: an empty message, and Celery's consumer
dies on it ("Unrecoverable error: JSONDecodeError"), taking the worker down. Here a message is
written under a name the reader skips (a leading dot), then renamed into place; a rename within
one folder is atomic, so a reader sees the whole message or nothing.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as message:
                message.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
