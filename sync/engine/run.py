"""One run's values, shared by its phases: the job, the provider, the counters; checkpoints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from django.utils import timezone

from dayflow import agenda
from dayflow.models import Event, Task
from integrations.models import Connection
from integrations.providers.base import Provider
from integrations.providers.http import api_calls as http_api_calls
from sync import conf
from sync.kinds import item_types
from sync.links import LinkSettings
from sync.models import ItemLink, SyncJob

log = logging.getLogger(__name__)


class Stop(Exception):
    """The job must stop at this checkpoint with this status."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


@dataclasses.dataclass
class Run:
    """One run of one job over one connection."""

    job: SyncJob
    provider: Provider
    types: tuple[str, ...]
    counts: dict[str, int]
    batch_size: int
    # The HTTP client counts every request of a REST provider (retries, refreshes and
    # read-backs included); CalDAV's own session does not, so the engine counts too.
    http_calls_before: int
    calls_before: int
    # Where the run is and how many items its plan applies: saved with the counters, so
    # following a job costs the engine no query of its own.
    phase: str = SyncJob.Phase.PULLING
    planned: int = 0
    # A preview's DayFlow items linked to no connection that stay in DayFlow (their list
    # sends new items to another connection, or to none): the service may hold them already,
    # so its "Same item?" pairs are looked for among them too (`matching.preview_matches`).
    unsent: list[tuple[str, Task | Event]] = dataclasses.field(default_factory=list)
    _settings: LinkSettings | None = None
    _zone: dt.tzinfo | None = None
    _today: dt.date | None = None

    @classmethod
    def start(cls, job: SyncJob, provider: Provider) -> Run:
        return cls(
            job=job,
            provider=provider,
            types=item_types(job.connection, provider),
            counts={name: getattr(job, name) for name in SyncJob.COUNTERS},
            batch_size=int(conf.get("DAYFLOW_SYNC_BATCH")),
            http_calls_before=http_api_calls(job.connection_id),
            calls_before=job.api_calls,
            planned=job.planned,
        )

    @property
    def connection(self) -> Connection:
        return self.job.connection

    @property
    def zone(self) -> dt.tzinfo:
        """The person's zone (their profile's), which the rules' days are counted in: read
        once a run, and only by a run that has rules."""
        if self._zone is None:
            self._zone = agenda.person_zone(self.connection.user_id)
        return self._zone

    @property
    def today(self) -> dt.date:
        if self._today is None:
            self._today = timezone.localdate(timezone.now(), self.zone)
        return self._today

    @property
    def settings(self) -> LinkSettings:
        """The rules and deletion policy of each container, as the run found them."""
        if self._settings is None:
            self._settings = LinkSettings(self.connection)
        return self._settings

    def note_report(self, **entries: object) -> None:
        self.job.report = {**self.job.report, **entries}
        SyncJob.objects.filter(pk=self.job.pk).update(report=self.job.report)


def checkpoint(run: Run) -> None:
    """Between pages and batches: save progress, renew the lease, honour pause/cancel."""
    save_progress(run)
    job = run.job
    control = SyncJob.objects.filter(pk=job.pk).values_list("control", flat=True).first()
    if control == SyncJob.Control.PAUSE:
        raise Stop(SyncJob.Status.PAUSED)
    if control == SyncJob.Control.CANCEL:
        raise Stop(SyncJob.Status.CANCELLED)


def save_progress(run: Run) -> None:
    http_calls = run.calls_before + http_api_calls(run.connection.pk) - run.http_calls_before
    run.counts["api_calls"] = max(run.counts["api_calls"], http_calls)
    SyncJob.objects.filter(pk=run.job.pk).update(
        heartbeat_at=timezone.now(), phase=run.phase, planned=run.planned, **run.counts
    )
    for name, value in run.counts.items():
        setattr(run.job, name, value)
    run.job.phase, run.job.planned = run.phase, run.planned


def enter_phase(run: Run, phase: str) -> None:
    """Move to `phase` and save it (with the counters): one update, once per phase or batch,
    never per item."""
    run.phase = phase
    save_progress(run)


def report_unsyncable(run: Run, unsyncable: dict[str, str]) -> None:
    """Remote items we cannot represent: an error each, on the job and on their link."""
    for remote_id, reason in unsyncable.items():
        run.counts["errors"] += 1
        log.warning("sync job %s: %s left unsynced: %s", run.job.pk, remote_id, reason)
        ItemLink.objects.filter(connection=run.connection, remote_id=remote_id).update(
            last_error=reason[:2000]
        )
    if unsyncable:
        errors = [{"remote_id": r, "error": e[:500]} for r, e in unsyncable.items()]
        run.note_report(unsyncable=errors[:100])
