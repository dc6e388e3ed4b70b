"""One refresh_access_token call in its own process, for the concurrent-refresh tests.

Usage: python -m tests.integrations.oauth.refresh_worker CONNECTION_ID TOKEN_URL FAILED_TOKEN
START_AT (a `time.monotonic()` value, or "stdin": print "ready" once set up, then read the
value from stdin, so a loaded machine's slow start-up cannot make a worker late). The database,
cache and keys come from the environment the test passes; the provider's token endpoint is
pointed at the test's fake server on 127.0.0.1. Prints one JSON line.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main(connection_id: str, token_url: str, failed_token: str, start_at: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")
    import django

    django.setup()
    from integrations.models import Connection
    from integrations.providers.todoist.provider import TodoistProvider
    from integrations.tokens import refresh_access_token

    TodoistProvider.token_url = token_url
    connection = Connection.objects.select_related("service", "user").get(pk=int(connection_id))
    if start_at == "stdin":
        print("ready", flush=True)
        start_at = sys.stdin.readline().strip()
    # CLOCK_MONOTONIC is one clock for every process on the machine and no wall-clock change
    # moves it, so the barrier holds whatever day the suite runs on.
    late = time.monotonic() > float(start_at)
    time.sleep(max(0.0, float(start_at) - time.monotonic()))
    try:
        result = {"token": refresh_access_token(connection, failed_token=failed_token)}
    except Exception as exc:
        result = {"error": type(exc).__name__, "detail": str(exc)}
    print(json.dumps(result | {"late": late}), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
