"""schemathesis over the whole schema, against the app itself: for every operation, examples
made from the schema (valid ones and broken ones), sent with a real token, must answer with no
server error and with a body and content type the schema describes.

The schema is generated from the code here (the same one `docs/openapi.yaml` must equal), so an
endpoint added anywhere is tested with no change to this file. The app runs in-process over WSGI
on the test's own database connection; each example runs inside a savepoint that is rolled back,
with a token of its own, so nothing one example makes or deletes (its own token included)
reaches the next.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.throttling import SimpleRateThrottle

from dayflow.api import throttling
from dayflow.models import ApiToken, Event, Task

pytestmark = pytest.mark.django_db

# Bounded: three CI tiers run this, and the whole suite must stay within its time.
EXAMPLES_PER_OPERATION = 12
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.content_type_conformance,
]


def generated_schema() -> dict:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


schema = schemathesis.openapi.from_dict(generated_schema())
schema.app = WSGIHandler()


@pytest.fixture
def app_on_this_connection():
    """Django closes a connection that is inside a transaction at each request's start and end
    (its test client lifts this the same way): the app then shares the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def no_throttling(monkeypatch, settings):
    """Hundreds of requests a minute are the point here, not a runaway script."""
    rates = {scope: "1000000/min" for scope in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]}
    for throttle in (
        SimpleRateThrottle,
        throttling.PerUser,
        throttling.PerToken,
        throttling.SyncStart,
    ):
        monkeypatch.setattr(throttle, "THROTTLE_RATES", rates)


@pytest.fixture
def some_of_everything(user):
    """The person's lists are not empty, so their items are checked against the schema too."""
    ApiToken.objects.create(user=user, expiry=dt.timedelta(days=30), name="backup script")
    Task.objects.create(user=user, title="Call the plumber", due_date=dt.date(2030, 6, 3))
    start = dt.datetime(2030, 6, 3, 9, 0, tzinfo=dt.UTC)
    Event.objects.create(
        user=user, title="Stand-up", start=start, end=start + dt.timedelta(hours=1)
    )
    Event.objects.create(user=user, title="Holiday", all_day=True, start_date=dt.date(2030, 7, 1))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,  # the same examples on every run: a failure is repeatable
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_keeps_to_the_schema(
    case, user, some_of_everything, app_on_this_connection, no_throttling, local_network_only
):
    with transaction.atomic():
        _, token = ApiToken.objects.create(user=user, expiry=None, name="schemathesis")
        response = case.call(headers={"Authorization": f"Token {token}"})
        transaction.set_rollback(True)

    assert response.status_code != 401, "the run's token was refused: nothing would be tested"
    case.validate_response(response, checks=CHECKS)
