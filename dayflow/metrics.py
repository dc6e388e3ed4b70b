"""`/metrics`: what an operator's Prometheus scrapes, in its text format (prometheus-client).

Every figure is read from the database at scrape time (`Collector.collect`), not counted in
process memory: gunicorn's workers, the Celery worker and beat each have their own memory,
and a counter kept there would be one process's share, lost at each restart. The reads are a
fixed number of aggregate queries, bounded by the last hour (indexed `finished_at` /
`received_at`) or by a status, and the quantiles are taken over at most `SAMPLE` rows.

Access: with `Authorization: Bearer <DAYFLOW_METRICS_TOKEN>` (compared in constant time), or
signed in as staff. Without a token configured, only staff. Anyone else: 404, so the address
tells nothing.
"""

from __future__ import annotations

import datetime as dt
import hmac
import statistics
from collections.abc import Iterator, Sequence

from django.conf import settings
from django.db.models import Count, F, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from dayflow.models import Heartbeat
from integrations.models import Connection
from sync.models import Conflict, SyncJob
from webhooks.models import Delivery

WINDOW = dt.timedelta(hours=1)
SAMPLE = 10_000  # the newest finished jobs the quantiles are taken over
QUANTILES = (0.5, 0.95)
WAITING = (*SyncJob.ACTIVE, SyncJob.Status.PAUSED, SyncJob.Status.NEEDS_CONFIRMATION)
MAX_AUTHORIZATION = 500  # characters of an Authorization header worth comparing


def quantiles(values: Sequence[float]) -> dict[float, float]:
    """The 0.5 and 0.95 quantiles (inclusive method); empty without values."""
    if not values:
        return {}
    if len(values) == 1:
        return dict.fromkeys(QUANTILES, float(values[0]))
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {q: cuts[round(q * 100) - 1] for q in QUANTILES}


class Collector:
    """The figures, each a metric family, read when Prometheus scrapes."""

    def __init__(self, now: dt.datetime | None = None) -> None:
        self.now = now or timezone.now()

    def collect(self) -> Iterator[Metric]:
        yield self.connections()
        yield from self.jobs()
        yield from self.lag()
        yield self.api_calls()
        yield self.deliveries()
        yield GaugeMetricFamily(
            "dayflow_conflicts_open",
            "Conflicts waiting for a person.",
            value=Conflict.objects.filter(status=Conflict.Status.OPEN).count(),
        )
        yield self.heartbeats()

    def connections(self) -> Metric:
        family = GaugeMetricFamily(
            "dayflow_connections",
            "Connections by service and status.",
            labels=["service", "status"],
        )
        rows = Connection.objects.values_list("service__key", "status").annotate(n=Count("pk"))
        for service, status, n in rows.order_by():
            family.add_metric([service, status], n)
        return family

    def _finished(self):
        return SyncJob.objects.filter(finished_at__gte=self.now - WINDOW, dry_run=False)

    def jobs(self) -> Iterator[Metric]:
        active = GaugeMetricFamily(
            "dayflow_sync_jobs_active", "Sync jobs not finished, by status.", labels=["status"]
        )
        counts = dict(
            SyncJob.objects.filter(status__in=WAITING)
            .values_list("status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for status in WAITING:
            active.add_metric([status], counts.get(status, 0))
        yield active
        oldest = (
            SyncJob.objects.filter(status=SyncJob.Status.QUEUED, dry_run=False)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        yield GaugeMetricFamily(
            "dayflow_sync_queue_age_seconds",
            "How long the oldest queued sync job has waited (0: none waits).",
            value=max(0.0, (self.now - oldest).total_seconds()) if oldest else 0.0,
        )
        finished = GaugeMetricFamily(
            "dayflow_sync_jobs_finished_last_hour",
            "Sync jobs finished in the last hour, by status and trigger.",
            labels=["status", "trigger"],
        )
        rows = self._finished().values_list("status", "trigger").annotate(n=Count("pk"))
        for status, trigger, n in rows.order_by():
            finished.add_metric([status, trigger], n)
        yield finished
        spans = self._spans(F("started_at"))
        duration = GaugeMetricFamily(
            "dayflow_sync_job_duration_seconds",
            "Sync jobs finished in the last hour: how long they ran, by quantile.",
            labels=["quantile"],
        )
        for q, value in quantiles(spans).items():
            duration.add_metric([str(q)], value)
        yield duration

    def lag(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "dayflow_change_lag_seconds",
            "From a change (a DayFlow edit committed; the service's webhook processed) to the "
            "end of the sync it started, over the last hour, by way and quantile.",
            labels=["way", "quantile"],
        )
        ways = {
            SyncJob.Trigger.LOCAL: "dayflow_to_service",
            SyncJob.Trigger.WEBHOOK: "service_to_dayflow",
        }
        for trigger, way in ways.items():
            spans = self._spans(F("created_at"), trigger=trigger, status=SyncJob.Status.SUCCEEDED)
            for q, value in quantiles(spans).items():
                family.add_metric([way, str(q)], value)
        yield family

    def _spans(self, start: F, **filters: str) -> list[float]:
        rows = (
            self._finished()
            .filter(**filters)
            .exclude(started_at=None)
            .annotate(start=start)
            .order_by("-finished_at")
            .values_list("start", "finished_at")[:SAMPLE]
        )
        return [max(0.0, (end - begin).total_seconds()) for begin, end in rows]

    def api_calls(self) -> Metric:
        family = GaugeMetricFamily(
            "dayflow_api_calls_last_hour",
            "Calls to each service by the sync jobs finished in the last hour.",
            labels=["service"],
        )
        rows = (
            self._finished()
            .values_list("connection__service__key")
            .annotate(n=Sum("api_calls"))
            .order_by()
        )
        for service, n in rows:
            family.add_metric([service], n or 0)
        return family

    def deliveries(self) -> Metric:
        family = GaugeMetricFamily(
            "dayflow_webhook_deliveries_last_hour",
            "Webhook deliveries received in the last hour, by service and status.",
            labels=["service", "status"],
        )
        rows = (
            Delivery.objects.filter(received_at__gte=self.now - WINDOW)
            .values_list("service__key", "status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for service, status, n in rows:
            family.add_metric([service, status], n)
        return family

    def heartbeats(self) -> Metric:
        family = GaugeMetricFamily(
            "dayflow_heartbeat_age_seconds",
            "Seconds since the worker's and beat's last heartbeat (absent: never seen).",
            labels=["process"],
        )
        for name, seen in Heartbeat.objects.values_list("name", "last_seen_at"):
            family.add_metric([name], max(0.0, (self.now - seen).total_seconds()))
        return family


def allowed(request: HttpRequest) -> bool:
    if request.user.is_authenticated and request.user.is_staff:
        return True
    token = settings.DAYFLOW_METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if not token or not given.startswith("Bearer ") or len(given) > MAX_AUTHORIZATION:
        return False
    return hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not allowed(request):
        raise Http404
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Collector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
