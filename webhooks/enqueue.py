"""Handing one stored delivery to Celery, cheaply.

`process_delivery.delay(pk)` costs about 0.5 ms of CPU per call on the Redis broker (kombu
builds a new redis-py client, about 170 response callbacks, for every publish; Celery merges
routing options and declares the queue each time), a third of the receiver's work. On Redis
we write the same Celery protocol-2 message kombu would, with one LPUSH over a client kept per
process. Every other case (another broker, eager mode in tests, a key prefix) goes through
`delay()`. Message format: https://docs.celeryq.dev/en/stable/internals/protocol.html and
kombu's Redis transport (a queue is a list named after it, LPUSH in, BRPOP out).
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import uuid
from functools import cache
from typing import Any

import redis

from webhooks.tasks import process_delivery

_lock = threading.Lock()
_clients: dict[tuple[int, str], redis.Redis] = {}


def enqueue(delivery_pk: int) -> None:
    """Send `process_delivery(delivery_pk)` to the broker (raises when it cannot)."""
    queue = _redis_queue()
    if queue is None:
        process_delivery.delay(delivery_pk)
        return
    _client().lpush(queue, json.dumps(message(delivery_pk, queue)))


def message(delivery_pk: int, routing_key: str) -> dict[str, Any]:
    """The kombu envelope around a Celery protocol-2 message for `process_delivery`."""
    task_id = str(uuid.uuid4())
    body = json.dumps(
        [[delivery_pk], {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None}]
    )
    return {
        "body": base64.b64encode(body.encode()).decode(),
        "content-encoding": "utf-8",
        "content-type": "application/json",
        "headers": {
            "lang": "py",
            "task": process_delivery.name,
            "id": task_id,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": task_id,
            "parent_id": None,
            "argsrepr": f"({delivery_pk!r},)",
            "kwargsrepr": "{}",
            "origin": _origin(os.getpid()),
            "ignore_result": process_delivery.app.conf.task_ignore_result,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        },
        "properties": {
            "correlation_id": task_id,
            "reply_to": process_delivery.app.thread_oid,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": routing_key},
            "priority": 0,
            "body_encoding": "base64",
            "delivery_tag": str(uuid.uuid4()),
        },
    }


def _redis_queue() -> str | None:
    """The Redis list `process_delivery` goes to, or None when delay() must be used."""
    conf = process_delivery.app.conf
    if conf.task_always_eager or conf.broker_transport_options:
        # Transport options (priorities, a global key prefix, sentinel…) change the key
        # layout or the connection: kombu handles those.
        return None
    return _queue_for(str(conf.broker_url or ""))


@cache
def _queue_for(broker_url: str) -> str | None:
    if not broker_url.startswith(("redis://", "rediss://")):
        return None
    route = process_delivery.app.amqp.router.route({}, process_delivery.name)
    queue = route["queue"]
    if queue.exchange is not None and queue.exchange.type not in ("direct", ""):
        return None
    return queue.name


def _client() -> redis.Redis:
    # One client (and connection pool) per process: gunicorn forks after import.
    key = (os.getpid(), str(process_delivery.app.conf.broker_url))
    client = _clients.get(key)
    if client is None:
        with _lock:
            # Short timeouts: a stuck broker must not hold the sender's answer (the stored
            # row is swept up later, webhooks.tasks.requeue_stale_deliveries).
            client = _clients.setdefault(
                key,
                redis.Redis.from_url(key[1], socket_timeout=2, socket_connect_timeout=2),
            )
    return client


@cache
def _origin(pid: int) -> str:
    return f"gen{pid}@{socket.gethostname()}"
