"""Audit events: who did what to which connection, when, from where, and whether it worked.

The events form a hash chain (audit/chain.py): each row stores the hash of its own content and
the hash linking it to the row before. Rows are append-only from the app and the admin; only
retention (`audit.chain.cut`) removes them and only erasure (`audit.chain.anonymize_user`)
changes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from audit.hashing import FIELDS, content_hash, link


class AuditAppendOnly(Exception):
    """An attempt to change or delete an audit event outside retention and erasure."""


class AuditEventQuerySet(models.QuerySet):
    def for_user(self, user) -> AuditEventQuerySet:
        """What this person did (the events they are the actor of): their own activity."""
        return self.filter(actor=user)

    def delete(self):
        raise AuditAppendOnly("audit events are append-only; retention removes old ones")

    delete.queryset_only = True

    def bulk_create(self, *args, **kwargs):
        raise AuditAppendOnly("audit events are written one by one, each linked into the chain")


class AuditEvent(models.Model):
    # Set before the insert (not auto_now_add) because the content hash covers it.
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    # The connection is kept by id and label, not a foreign key: audit imports none of our apps,
    # and the record must outlive the connection it describes.
    connection_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    connection_label = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=100, db_index=True)
    resource = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    success = models.BooleanField(default=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # How the actor acted: "web" (the pages and the admin), "api: <token name>" (a personal API
    # token), "api: session" (the pages' own scripts calling the API); empty for the system
    # (beat, workers, webhooks).
    channel = models.CharField(max_length=120, blank=True, db_index=True)
    # sha256 of the recorded fields (audit.chain.content_hash), and sha256 of the previous
    # row's chain_hash followed by this content_hash.
    content_hash = models.CharField(max_length=64, blank=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Erasure replaced the person's parts of this row; content_hash is the original one.
    anonymized_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["actor", "-created_at"])]

    def __str__(self) -> str:
        outcome = "ok" if self.success else "failed"
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} ({outcome})"

    def save(self, *args, **kwargs) -> None:
        """Insert and link into the chain, under the chain head's lock; never an update."""
        if not self._state.adding:
            raise AuditAppendOnly(f"audit event {self.pk} is append-only")
        # No savepoint: an insert that fails inside a caller's transaction fails it, as a
        # plain create did; three queries per event (lock the head, insert, move the head).
        with transaction.atomic(savepoint=False):
            head = AuditChainHead.locked()
            # Hash what the database will hold: the field normalizes IPv6 addresses.
            ip_field = self._meta.get_field("ip_address")
            self.ip_address = ip_field.get_prep_value(self.ip_address) or None
            self.content_hash = content_hash({name: getattr(self, name) for name in FIELDS})
            self.chain_hash = link(head.chain_hash, self.content_hash)
            super().save(*args, **kwargs)
            AuditChainHead.objects.filter(pk=head.pk).update(
                last_event_id=self.pk, chain_hash=self.chain_hash
            )

    def delete(self, *args, **kwargs):
        raise AuditAppendOnly(f"audit event {self.pk} is append-only")


class AuditChainHead(models.Model):
    """The chain's last link, one row. Each writer locks it (SELECT … FOR UPDATE on
    PostgreSQL; SQLite serializes writers anyway), so two writers never fork the chain."""

    ROW = 1

    last_event_id = models.BigIntegerField(null=True, blank=True)
    chain_hash = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"audit chain head at event {self.last_event_id}"

    @classmethod
    def locked(cls) -> AuditChainHead:
        head = cls.objects.select_for_update().filter(pk=cls.ROW).first()
        if head is not None:
            return head
        # The row is made by the migration; a flushed test database lacks it.
        last = AuditEvent.objects.order_by("-id").values("id", "chain_hash").first() or {}
        head, _ = cls.objects.select_for_update().get_or_create(
            pk=cls.ROW,
            defaults={"last_event_id": last.get("id"), "chain_hash": last.get("chain_hash", "")},
        )
        return head


class AuditCheckpoint(models.Model):
    """Where retention cut the chain: the last removed event's id and chain hash. The chain
    left starts from the newest checkpoint, so it still verifies."""

    created_at = models.DateTimeField(default=timezone.now)
    last_event_id = models.BigIntegerField()
    chain_hash = models.CharField(max_length=64)
    removed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-last_event_id"]

    def __str__(self) -> str:
        return f"audit checkpoint after event {self.last_event_id}"


class AuditVerification(models.Model):
    """One run of `verify_audit`: what a compliance report shows as the last verification."""

    checked_at = models.DateTimeField(default=timezone.now, db_index=True)
    ok = models.BooleanField()
    rows_checked = models.PositiveIntegerField(default=0)
    anonymized = models.PositiveIntegerField(default=0)
    first_bad_id = models.BigIntegerField(null=True, blank=True)
    problem = models.TextField(blank=True)

    class Meta:
        ordering = ["-checked_at", "-id"]

    def __str__(self) -> str:
        outcome = "intact" if self.ok else f"broken at event {self.first_bad_id}"
        return f"audit verification {self.checked_at:%Y-%m-%d %H:%M}: {outcome}"
