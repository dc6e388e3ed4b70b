"""The audit hash chain: hashing, verifying, cutting (retention) and anonymizing (erasure).

Each event's `content_hash` is sha256 of a canonical JSON of what it records; its `chain_hash`
is sha256 of the previous event's `chain_hash` followed by its own `content_hash` (the first
event, or the first after a checkpoint, follows "" or the checkpoint's hash). Changing a row's
content breaks its own content hash; removing or re-ordering a row breaks the next link;
removing the newest rows leaves the chain head (`AuditChainHead`) pointing past them.

Anonymized rows (erasure) keep the content hash they were written with: their links still
verify, their content can no longer be checked. That is the trade-off between erasure and
tamper evidence; `verify` counts such rows and reports them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from audit.hashing import FIELDS, content_hash, link
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditVerification

logger = logging.getLogger(__name__)

ERASED = "[erased]"
# An erased person's events keep only what says what happened, not about whom or what: numbers,
# yes/no and the values of these keys (the domain's own words: a service key, a result, a
# reason). Every other text in `details`, titles and names included, becomes ERASED.
NEUTRAL_KEYS = frozenset(
    {
        "service",
        "kind",
        "status",
        "result",
        "reason",
        "resolution",
        "trigger",
        "mode",
        "side",
        "op",
        "item_type",
        "rule",
        "severity",
        "channel",
        "strategy",
        "direction",
    }
)


# --- verifying ------------------------------------------------------------------------------
@dataclasses.dataclass
class Verdict:
    ok: bool = True
    rows_checked: int = 0
    anonymized: int = 0
    first_bad_id: int | None = None
    problem: str = ""
    since_checkpoint: int | None = None

    def fail(self, event_id: int | None, problem: str) -> Verdict:
        self.ok, self.first_bad_id, self.problem = False, event_id, problem
        return self


def walk(start_after: int | None, previous: str, upto: int | None = None) -> Verdict:
    """Check the chain's rows after `start_after` (up to `upto`), linking from `previous`."""
    verdict = Verdict(since_checkpoint=start_after)
    rows = AuditEvent.objects.order_by("id")
    if start_after is not None:
        rows = rows.filter(id__gt=start_after)
    if upto is not None:
        rows = rows.filter(id__lte=upto)
    last_id = start_after
    fields = ("id", *FIELDS, "content_hash", "chain_hash", "anonymized_at")
    for row in rows.values(*fields).iterator(chunk_size=2000):
        verdict.rows_checked += 1
        if row["anonymized_at"] is not None:
            verdict.anonymized += 1
        elif content_hash(row) != row["content_hash"]:
            return verdict.fail(
                row["id"],
                f"event {row['id']}: its recorded fields do not match its content hash "
                "(a field was changed after it was written)",
            )
        if link(previous, row["content_hash"]) != row["chain_hash"]:
            after = f"event {last_id}" if last_id is not None else "the start of the chain"
            return verdict.fail(
                row["id"],
                f"event {row['id']} does not follow {after}: an event between them was "
                "removed, or a hash was changed",
            )
        previous, last_id = row["chain_hash"], row["id"]
    return verdict if upto is not None else _check_head(verdict, last_id, previous)


def _check_head(verdict: Verdict, last_id: int | None, last_hash: str) -> Verdict:
    head = AuditChainHead.objects.filter(pk=AuditChainHead.ROW).first()
    if head is None or head.last_event_id is None:
        return verdict
    if (head.last_event_id, head.chain_hash) != (last_id, last_hash):
        return verdict.fail(
            head.last_event_id,
            f"the chain ends at event {last_id}, but event {head.last_event_id} was written "
            "last: the newest events were removed or changed",
        )
    return verdict


def verify() -> Verdict:
    """Verify the whole chain from the newest checkpoint, and record the result."""
    checkpoint = AuditCheckpoint.objects.order_by("-last_event_id").first()
    if checkpoint is None:
        verdict = walk(None, "")
    else:
        verdict = walk(checkpoint.last_event_id, checkpoint.chain_hash)
    AuditVerification.objects.create(
        ok=verdict.ok,
        rows_checked=verdict.rows_checked,
        anonymized=verdict.anonymized,
        first_bad_id=verdict.first_bad_id,
        problem=verdict.problem,
    )
    return verdict


# --- retention: cutting the chain at a checkpoint -------------------------------------------
def cut(before: dt.datetime, *, batch: int) -> int:
    """Remove the chain's oldest events older than `before`, one batch: the removed rows are a
    prefix of the chain, checked first, and a checkpoint keeps the last removed link. A broken
    prefix is left in place (it is evidence) and logged. Returns the number removed."""
    checkpoint = AuditCheckpoint.objects.order_by("-last_event_id").first()
    start = checkpoint.last_event_id if checkpoint else None
    previous = checkpoint.chain_hash if checkpoint else ""
    young = AuditEvent.objects.filter(created_at__gte=before).order_by("id")
    first_young = young.values_list("id", flat=True).first()
    prefix = AuditEvent.objects.order_by("id")
    if start is not None:
        prefix = prefix.filter(id__gt=start)
    if first_young is not None:
        prefix = prefix.filter(id__lt=first_young)
    ids = list(prefix.values_list("id", flat=True)[:batch])
    if not ids:
        return 0
    verdict = walk(start, previous, upto=ids[-1])
    if not verdict.ok:
        logger.error("audit retention stopped: %s", verdict.problem)
        return 0
    last_hash = AuditEvent.objects.filter(pk=ids[-1]).values_list("chain_hash", flat=True)[0]
    with transaction.atomic():
        AuditCheckpoint.objects.create(
            last_event_id=ids[-1], chain_hash=last_hash, removed=len(ids)
        )
        removed, _ = models.QuerySet.delete(AuditEvent.objects.filter(id__in=ids))
    return removed


# --- erasure: anonymizing a person's events -------------------------------------------------
def anonymize_user(user_id: int) -> int:
    """Replace the personal parts of the events about this person (actor, IP, user agent,
    connection label, personal values in details, `user:<id>` resources) and mark them
    anonymized. The events about them: those they did, `user:<id>`, failed logins under their
    username, and the system's events about the connections they made (known from their own
    `connection.*` events: audit reads none of our apps). The stored hashes stay, so the
    chain still verifies. Returns the number of events changed."""
    from django.contrib.auth import get_user_model

    username = (
        get_user_model().objects.filter(pk=user_id).values_list("username", flat=True).first()
    )
    connection_ids = set(
        AuditEvent.objects.filter(actor_id=user_id, connection_id__isnull=False)
        .values_list("connection_id", flat=True)
        .distinct()
    )
    about = (
        Q(actor_id=user_id) | Q(resource=f"user:{user_id}") | Q(connection_id__in=connection_ids)
    )
    if username:
        about |= Q(details__username=username)
    now = timezone.now()
    changed = 0
    last_id = 0
    while page := list(
        AuditEvent.objects.filter(about, id__gt=last_id)
        .order_by("id")
        .only("id", "details", "resource", "connection_label")[:1000]
    ):
        for event in page:
            AuditEvent.objects.filter(pk=event.pk).update(
                actor=None,
                ip_address=None,
                user_agent="",
                connection_label=ERASED if event.connection_label else "",
                details=_erase(event.details),
                resource="user:erased" if event.resource == f"user:{user_id}" else event.resource,
                anonymized_at=now,
            )
        changed += len(page)
        last_id = page[-1].pk
    return changed


def _erase(value: Any, key: str = "") -> Any:
    """`details` with every text that is not a neutral key's value erased (an allow-list: a new
    kind of detail is erased unless it is named neutral)."""
    if isinstance(value, dict):
        return {k: _erase(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_erase(v, key) for v in value]
    if isinstance(value, str) and value and key.lower() not in NEUTRAL_KEYS:
        return ERASED
    return value


def on_user_erasing(sender: Any, user_id: int, **kwargs: Any) -> None:
    """`dayflow.signals.user_erasing`: the person's account and data are being erased."""
    anonymize_user(user_id)


def on_user_deleting(sender: Any, instance: Any, **kwargs: Any) -> None:
    """pre_delete of a user, by any path (the admin too): the actor foreign key would be set
    to null by a plain UPDATE, which the chain would report as tampering; anonymizing first
    marks those rows for what they are."""
    anonymize_user(instance.pk)
