"""The sync app's entry points for everyone else: ask for a sync, control a job.

`request_sync` is the one way webhooks, beat, pages, the API, the admin and manage.py ask for a
sync. Jobs are rows first and Celery messages second: the database's constraints (one running
and one queued job per connection) make concurrent requests join instead of piling up. The
moves themselves are `sync.jobs`; `control_job` is how a person's action reaches them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from typing import Any

from django.db import transaction

from audit.writer import record
from integrations.actions import SYNC, ConnectionActionRefused, require
from integrations.models import Connection
from sync import actions, conf, decisions, matching
from sync import links as sync_links
from sync.jobs import (
    cancel_job,
    confirm_job,
    enqueue,
    pause_job,
    queue,
    queue_preview,
    resume_job,
    waiting_preview,
)
from sync.kinds import item_types
from sync.mapping import MODELS, fk_column
from sync.models import ItemLink, SyncJob, SyncLink

AUTOMATIC = (SyncJob.Trigger.SCHEDULE, SyncJob.Trigger.WEBHOOK, SyncJob.Trigger.LOCAL)
# The directions in which DayFlow's changes reach the service (a one-way connection imports).
SENDS = (Connection.SyncDirection.TWO_WAY,)
# A first sync follows the person's own connect or setup.
SYNC_TRIGGER = SyncJob.Trigger.USER
CONTROLS: dict[str, Callable[[int], bool]] = {
    actions.PAUSE: pause_job,
    actions.RESUME: resume_job,
    actions.CANCEL: cancel_job,
    actions.CONFIRM: confirm_job,
}


def request_sync(
    connection_id: int,
    *,
    trigger: str,
    kind: str = SyncJob.Kind.INCREMENTAL,
    delay: float | None = None,
) -> SyncJob | None:
    """Queue a sync of a connection, or join the one already waiting.

    Returns None for connections that must not sync (paused, disconnected, needs reauth, needs
    setup, gone), and for schedule or webhook triggers of a manual-only connection.
    A request while a job runs queues exactly one trailing job behind it; further requests join
    that trailing job. The Celery task is sent once the caller's transaction commits, `delay`
    seconds later if given (requests meanwhile join the job).
    """
    connection = Connection.objects.select_related("service").filter(pk=connection_id).first()
    if connection is None or not connection.is_active or connection.setup_needed:
        return None
    if trigger in AUTOMATIC and connection.sync_direction == Connection.SyncDirection.MANUAL:
        return None  # a manual connection syncs only when someone asks
    if trigger in AUTOMATIC and awaits_first_confirmation(connection):
        return None  # a first sync's preview (its own, or a new container's) waits
    job, created = queue(connection, kind=kind, trigger=trigger)
    if created:
        enqueue(job.pk, countdown=delay)
    return job


def awaits_first_confirmation(connection: Connection) -> bool:
    """Whether the connection's latest job is the preview of a first sync that waits for the
    person's word (what it would import and send, the "Same item?" pairs): the connection's
    own (`first_sync`), or that of containers ticked since it synced (`preview_new_containers`).
    Beat, webhooks and DayFlow edits leave it alone meanwhile (`decisions.
    awaits_first_confirmation`)."""
    latest = (
        SyncJob.objects.filter(connection_id=connection.pk)
        .order_by("-pk")
        .values("dry_run", "created_at")
        .first()
    )
    preview = bool(latest and latest["dry_run"])
    synced = connection.last_sync_at is not None
    # Links made before that preview, through which no real sync went yet.
    new_containers = (
        preview
        and synced
        and SyncLink.objects.filter(
            connection_id=connection.pk, first_synced_at=None, created_at__lte=latest["created_at"]
        ).exists()
    )
    return decisions.awaits_first_confirmation(
        latest_is_preview=preview, synced_before=synced, new_containers=new_containers
    )


def sync_local_change(
    item_type: str, pk: int, user_id: int, version: int, side: int | None = None
) -> list[SyncJob]:
    """A DayFlow item saved at `version` (on a page, through the API or the admin): sync, soon,
    the connections whose link to it holds an older version, or, while it is linked to none,
    the connection its DayFlow list (`side`; None: the Inbox) sends new items to, if any. A
    save the links already hold (the engine's own writes, an undo) syncs nothing. Debounced
    and coalesced by `request_sync`: the job waits DAYFLOW_SYNC_LOCAL_DELAY seconds, and
    changes meanwhile join it."""
    delay = conf.get("DAYFLOW_SYNC_LOCAL_DELAY")
    if delay is None:
        return []
    links = ItemLink.objects.filter(**{fk_column(item_type): pk}).values_list(
        "connection_id", "local_version", "undone_at", "deletion_pending", "handover_to_id"
    )
    links = list(links)
    # An undone pair, an unlinked one or a deletion waiting for the person: left alone.
    held = {c: held_at for c, held_at, undone, apart, _ in links if not (undone or apart)}
    # An item moved to a list another connection sends new items to: that one takes it.
    takers = {taker for *_, taker in links if taker is not None}
    senders = Connection.objects.filter(user_id=user_id, sync_direction__in=SENDS)
    if links:
        wanted = [c for c, held_at in held.items() if held_at != version] + sorted(takers)
    else:
        destination = sync_links.destination_map(user_id, item_type).get(side)
        wanted = [destination.connection_id] if destination is not None else []
    ids = sorted(senders.filter(pk__in=wanted).values_list("pk", flat=True))
    jobs = (request_sync(pk, trigger=SyncJob.Trigger.LOCAL, delay=delay) for pk in ids)
    return [job for job in jobs if job is not None]


def preview_sync(connection_id: int, *, trigger: str = SyncJob.Trigger.USER) -> SyncJob | None:
    """Queue a dry run: what a full sync would create, update and delete on each side."""
    connection = Connection.objects.select_related("service").filter(pk=connection_id).first()
    if connection is None or not connection.is_active or connection.setup_needed:
        return None
    job = queue_preview(connection, trigger=trigger)
    enqueue(job.pk)
    return job


def sync_now(
    connection: Connection,
    *,
    trigger: str,
    preview: bool = False,
    kind: str = SyncJob.Kind.INCREMENTAL,
) -> SyncJob:
    """A person's "Sync now" (or "Preview"): the job, or ConnectionActionRefused saying why the
    connection cannot sync now. The pages, the admin and manage.py ask this; beat and webhooks
    use `request_sync`, for which "not now" is no error."""
    if connection.setup_needed:
        raise ConnectionActionRefused(
            SYNC, f"it needs setup first: {connection.setup_needed} in its settings"
        )
    require(connection, SYNC)
    if preview:
        job = preview_sync(connection.pk, trigger=trigger)
    else:
        job = request_sync(connection.pk, trigger=trigger, kind=kind)
    if job is None:  # its status changed between the look and the queueing
        connection.refresh_from_db(fields=["status"])
        require(connection, SYNC)
        raise ConnectionActionRefused(SYNC, f"cannot sync while {connection.status}")
    return job


def first_sync(connection_id: int, *, trigger: str = SYNC_TRIGGER) -> SyncJob | None:
    """The first sync of an account just connected or just set up, queued at once.

    When DayFlow already holds items this connection would sync and none is linked to it yet
    (data on both sides), it starts as a preview: the person reads what it would import and
    send, and confirms. Otherwise a full sync. None when it cannot sync yet (needs setup, not
    connected)."""
    connection = Connection.objects.select_related("service").filter(pk=connection_id).first()
    if connection is None or not connection.is_active or connection.setup_needed:
        return None
    if has_unlinked_items(connection):
        # A container ticked by the same save may have queued the preview already.
        return waiting_preview(connection.pk) or preview_sync(connection.pk, trigger=trigger)
    return request_sync(connection.pk, trigger=trigger, kind=SyncJob.Kind.FULL)


def preview_new_containers(connection: Connection, made: list[SyncLink]) -> SyncJob | None:
    """Containers just ticked on a connection that has synced: their first sync starts as a
    preview, as a connection's first does, when DayFlow holds items of their kinds that are
    not linked to it (they may be the same items: "Same item?"). Automatic syncs wait for the
    person meanwhile (`awaits_first_confirmation`). None when nothing was queued: no new
    container, a connection that never synced (`first_sync` is its preview), nothing that
    could be the same, or a connection that cannot sync."""
    if not made or connection.last_sync_at is None:
        return None
    if not has_unlinked_items(connection, {link.item_type for link in made}):
        return None
    return preview_sync(connection.pk, trigger=SYNC_TRIGGER)


def confirm_preview(
    job: SyncJob,
    keys: list[str],
    base_from: str = "dayflow",
    bases: dict[str, str] | None = None,
    *,
    request: Any = None,
) -> tuple[SyncJob, matching.Linked]:
    """A first sync's preview confirmed: link the "Same item?" pairs the person ticked (named
    by `matching.pair_key`, keeping `base_from`'s values where they differ, or the side
    `bases` names for a pair given its own choice), creating nothing, and queue the real sync.
    Raises matching.MatchRefused for pairs the preview did not offer and
    ConnectionActionRefused when the connection cannot sync now: nothing is linked then."""
    bases = bases or {}
    matching.check_preview(job, keys, base_from, bases)
    connection = job.connection
    with transaction.atomic():
        linked = matching.link_pairs(job.pk, keys, base_from, bases)
        new_job = sync_now(connection, trigger=SYNC_TRIGGER, kind=SyncJob.Kind.FULL)
    if keys:
        record(
            "sync.matching.linked",
            request=request,
            connection=connection,
            resource=f"sync job {job.pk}",
            details={
                "linked": linked.linked,
                "skipped": linked.skipped,
                "base": base_from,
                "own_choice": len(bases),
            },
        )
    return new_job, linked


def sync_on_connect(connection_id: int, *, created: bool) -> SyncJob | None:
    """Connecting queues a sync at once: the first one (see `first_sync`) for a new account or
    one that never synced, an ordinary one for an account connected again."""
    connection = Connection.objects.filter(pk=connection_id).first()
    if connection is None:
        return None
    if created or connection.last_sync_at is None:
        return first_sync(connection_id)
    return request_sync(connection_id, trigger=SYNC_TRIGGER)


def has_unlinked_items(connection: Connection, kinds: Collection[str] | None = None) -> bool:
    """Whether the user has live DayFlow items of the kinds this connection syncs (those of
    `kinds` only, if given) that are not linked to it: a first sync would send them to the
    service, or import the same items beside them."""
    links = ItemLink.objects.filter(connection=connection)
    for item_type in item_types(connection, connection.service.provider):
        if kinds is not None and item_type not in kinds:
            continue
        column = fk_column(item_type)
        linked = links.exclude(**{f"{column}__isnull": True}).values(column)
        mine = MODELS[item_type].objects.filter(user_id=connection.user_id)
        if mine.exclude(pk__in=linked).exists():
            return True
    return False


def control_job(job: SyncJob, action: str, *, request: Any = None) -> None:
    """Pause, resume, cancel or confirm a job, or raise JobActionRefused: its status does not
    allow `action`, or no longer did when the move was made (the job moved on meanwhile).
    Audited as `sync.job.<action>_requested` (a running job stops at its next checkpoint)."""
    move = CONTROLS.get(action)
    if move is None:
        raise actions.JobActionRefused(action, f"Job {job.pk} cannot {action} now")
    actions.require(job, action)
    if not move(job.pk):
        raise actions.JobActionRefused(action, f"Job {job.pk} cannot {action} now")
    record(
        f"sync.job.{action}_requested",
        request=request,
        connection=job.connection,
        resource=f"sync job {job.pk}",
    )
