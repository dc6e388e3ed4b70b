"""The sync app's resources as the API shows them: jobs (counters, progress, timings, allowed
actions, the changes from the journal) and conflicts (field by field), and the requests that
start, control and resolve them. Nothing here holds a secret: a job's journal is shown without
its before/after payloads, and the services' error texts go through the audit scrubber."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from audit.writer import scrub
from dayflow.api.strict import StrictSerializer
from sync import conflicts as settling
from sync import deletions, matching
from sync.actions import ACTIONS
from sync.api.starting import MODES, SYNC
from sync.deletion_policy import Mark
from sync.models import Conflict, ItemLink, ItemType, JournalEntry, SyncJob

MAX_ID = 2**63 - 1
SEND_AGAIN = "send-again"
MAX_FIELD_CHOICES = 50
MAX_BULK_RESOLVE = 100


class CountersSerializer(serializers.Serializer):
    processed = serializers.IntegerField(help_text="Items looked at.")
    local_created = serializers.IntegerField()
    local_updated = serializers.IntegerField()
    local_deleted = serializers.IntegerField()
    remote_created = serializers.IntegerField()
    remote_updated = serializers.IntegerField()
    remote_deleted = serializers.IntegerField()
    conflicts = serializers.IntegerField()
    errors = serializers.IntegerField()
    api_calls = serializers.IntegerField(help_text="Requests made to the service.")


class ProgressSerializer(serializers.Serializer):
    processed = serializers.IntegerField(help_text="Items looked at so far.")
    finished = serializers.BooleanField()
    heartbeat_at = serializers.DateTimeField(
        allow_null=True, help_text="When the worker last reported, while it runs."
    )


class SideCountsSerializer(serializers.Serializer):
    create = serializers.IntegerField()
    update = serializers.IntegerField()
    delete = serializers.IntegerField()


class ConflictCountSerializer(serializers.Serializer):
    conflict = serializers.IntegerField()


class PreviewSerializer(serializers.Serializer):
    local = SideCountsSerializer(help_text="What the sync would do in DayFlow.")
    remote = SideCountsSerializer(help_text="What the sync would do at the service.")
    both = ConflictCountSerializer()


class HeldSerializer(serializers.Serializer):
    deletions = serializers.IntegerField(help_text="Items the sync would delete.")
    linked = serializers.IntegerField(help_text="Items synced before it.")
    side_empty = serializers.BooleanField(help_text="One side suddenly looks empty.")


class JobSerializer(serializers.ModelSerializer):
    service = serializers.CharField(source="connection.service.key", read_only=True)
    counters = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()
    queued_at = serializers.DateTimeField(source="created_at", read_only=True)
    duration = serializers.SerializerMethodField(help_text="Seconds from start to finish.")
    allowed_actions = serializers.SerializerMethodField()
    preview = serializers.SerializerMethodField()
    held = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField(help_text="Why it failed, if it did.")

    class Meta:
        model = SyncJob
        fields = [
            "id",
            "connection",
            "service",
            "kind",
            "trigger",
            "status",
            "dry_run",
            "confirmed",
            "phase",
            "planned",
            "counters",
            "progress",
            "queued_at",
            "started_at",
            "finished_at",
            "duration",
            "error",
            "allowed_actions",
            "preview",
            "held",
        ]
        read_only_fields = fields

    @extend_schema_field(CountersSerializer)
    def get_counters(self, job: SyncJob) -> dict[str, int]:
        return job.counters()

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, job: SyncJob) -> dict[str, Any]:
        # The change feeds page, so no total is known before the end: processed so far.
        return {
            "processed": job.processed,
            "finished": job.is_finished,
            "heartbeat_at": job.heartbeat_at if job.status == SyncJob.Status.RUNNING else None,
        }

    def get_error(self, job: SyncJob) -> str:
        # The services' error texts may quote a request: scrubbed as the audit log is.
        return scrub(job.error)

    def get_duration(self, job: SyncJob) -> float | None:
        if job.started_at is None or job.finished_at is None:
            return None
        return round((job.finished_at - job.started_at).total_seconds(), 3)

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField([*ACTIONS])))
    def get_allowed_actions(self, job: SyncJob) -> list[str]:
        return sorted(job.allowed_actions)

    @extend_schema_field(PreviewSerializer(allow_null=True))
    def get_preview(self, job: SyncJob) -> dict | None:
        """A preview's report; also what a job held for confirmation would do."""
        return job.report.get("preview") or None

    @extend_schema_field(HeldSerializer(allow_null=True))
    def get_held(self, job: SyncJob) -> dict | None:
        """Why a job waits for confirmation: the deletions it would make."""
        return job.report.get("guard") or None


class JobDetailSerializer(JobSerializer):
    changes_count = serializers.IntegerField(
        read_only=True, help_text="Changes in the journal: GET /api/jobs/{id}/changes."
    )

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "changes_count"]
        read_only_fields = fields


class ChangeSerializer(serializers.ModelSerializer):
    """One change the job made on one side, from the journal. The before/after payloads stay
    out (bounded answers); the title says which item, `changed_fields` what an update moved."""

    title = serializers.SerializerMethodField()
    changed_fields = serializers.SerializerMethodField()

    class Meta:
        model = JournalEntry
        fields = [
            "id",
            "side",
            "op",
            "item_type",
            "local_id",
            "remote_id",
            "title",
            "changed_fields",
            "reason",
            "created_at",
            "reverted_at",
        ]
        read_only_fields = fields

    def get_title(self, entry: JournalEntry) -> str:
        title = (entry.after or {}).get("title") or (entry.before or {}).get("title") or ""
        return str(title)[:500]

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_changed_fields(self, entry: JournalEntry) -> list[str]:
        before, after = entry.before or {}, entry.after or {}
        if entry.op != JournalEntry.Op.UPDATE or not before:
            return []
        return sorted(
            name for name in set(before) | set(after) if before.get(name) != after.get(name)
        )


class StartSyncSerializer(StrictSerializer):
    connection = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    mode = serializers.ChoiceField(
        choices=list(MODES),
        default=SYNC,
        help_text="sync: the changes since the last one; preview: a dry run that changes "
        "nothing; full: compare everything again.",
    )


class MatchPairSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="Names the pair in POST /api/jobs/{id}/link-and-sync.")
    item_type = serializers.ChoiceField(choices=ItemType.choices)
    local_id = serializers.IntegerField(help_text="The DayFlow task or event.")
    remote_id = serializers.CharField(help_text="The item at the service.")
    local_title = serializers.CharField()
    remote_title = serializers.CharField()
    confidence = serializers.FloatField(help_text="How sure the matcher is, 0.5 to 1.")
    marker = serializers.BooleanField(help_text="One copy names the other (an id or a link).")
    suggested = serializers.BooleanField(help_text="Sure enough to be ticked on the page.")


class MatchesSerializer(serializers.Serializer):
    """The "Same item?" pairs of a preview: items on both sides that look like one item."""

    pairs = MatchPairSerializer(many=True)
    more = serializers.IntegerField(help_text="Further pairs found but not offered.")


def matches_of(job: SyncJob) -> dict[str, Any]:
    found = (job.report.get("matching") or {}) if job.dry_run else {}
    pairs = [
        {
            "key": matching.pair_key(pair),
            **{name: pair.get(name) for name in ("item_type", "local_id", "remote_id")},
            "local_title": pair.get("local_title", ""),
            "remote_title": pair.get("remote_title", ""),
            "confidence": float(pair.get("confidence", 0)),
            "marker": bool(pair.get("marker")),
            "suggested": float(pair.get("confidence", 0)) >= matching.HIGH,
        }
        for pair in found.get("pairs", [])
    ]
    return {"pairs": pairs, "more": int(found.get("more", 0))}


# `<item type>:<DayFlow id>:<remote id>` (matching.pair_key): at most "event", 19 digits and
# ItemLink.remote_id's 255 characters.
PAIR_KEY_LENGTH = len("event") + 1 + 19 + 1 + 255


class LinkAndSyncSerializer(StrictSerializer):
    pairs = serializers.ListField(
        child=serializers.CharField(max_length=PAIR_KEY_LENGTH),
        max_length=matching.MAX_PAIRS,
        allow_empty=True,
        help_text="The keys of the preview's pairs to link as one item (none: sync as new).",
    )
    base_from = serializers.ChoiceField(
        choices=list(matching.BASE_FROM),
        default="dayflow",
        help_text="Where a linked pair differs, whose values it keeps.",
    )
    bases = serializers.DictField(
        child=serializers.ChoiceField(choices=list(matching.BASE_FROM)),
        required=False,
        default=dict,
        help_text=(
            "A pair's own choice of whose values it keeps, by key, overriding `base_from` for "
            "it; only keys listed in `pairs`."
        ),
    )

    def validate_bases(self, bases: dict[str, str]) -> dict[str, str]:
        if len(bases) > matching.MAX_PAIRS:
            raise serializers.ValidationError(f"At most {matching.MAX_PAIRS} pairs.")
        if any(len(key) > PAIR_KEY_LENGTH for key in bases):
            raise serializers.ValidationError(f"A key has at most {PAIR_KEY_LENGTH} characters.")
        return bases


class LinkAndSyncResultSerializer(serializers.Serializer):
    linked = serializers.IntegerField()
    skipped = serializers.IntegerField(help_text="Pairs whose item changed or was linked since.")
    job = JobSerializer(help_text="The sync queued after the linking.")


class JobControlSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=[*ACTIONS, SEND_AGAIN])


class SkippedSerializer(serializers.Serializer):
    entry = serializers.IntegerField(help_text="The journal entry (a change of the job).")
    remote_id = serializers.CharField()
    why = serializers.CharField()


class UndoReportSerializer(serializers.Serializer):
    reverted = serializers.IntegerField()
    skipped = SkippedSerializer(many=True, help_text="Changed since the job: left alone.")
    unlinked = serializers.IntegerField(help_text="Items now not synced, until sent again.")


class FailedSerializer(serializers.Serializer):
    link = serializers.IntegerField()
    why = serializers.CharField()


class SendReportSerializer(serializers.Serializer):
    sent = serializers.IntegerField()
    failed = FailedSerializer(many=True)


class JobControlResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    job = JobSerializer()
    undo = UndoReportSerializer(allow_null=True, help_text="For undo: what it reverted.")
    sent_again = SendReportSerializer(allow_null=True, help_text="For send-again.")


def without_secrets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Reports quote the services' errors: scrubbed as the audit log scrubs them."""
    return [{**row, "why": scrub(str(row.get("why", "")))[:500]} for row in rows]


class ConflictFieldSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField(help_text="The field in words, as the page shows it.")
    base = serializers.JSONField(allow_null=True, help_text="As both sides last agreed.")
    local = serializers.JSONField(allow_null=True, help_text="In DayFlow.")
    remote = serializers.JSONField(allow_null=True, help_text="At the service.")
    change = serializers.ChoiceField(
        choices=[
            settling.UNCHANGED,
            settling.FROM_LOCAL,
            settling.FROM_REMOTE,
            settling.ALIKE,
            settling.CLASH,
        ],
        help_text="Who changed it since the base: unchanged; local or remote (one side only: "
        "merged automatically, kept whatever you choose); alike (both, to the same value); "
        "clash (both, differently: you choose).",
    )
    clash = serializers.BooleanField(help_text="Changed on both sides to different values.")


class ConflictSerializer(serializers.ModelSerializer):
    connection = serializers.IntegerField(source="link.connection_id", read_only=True)
    service = serializers.CharField(source="link.connection.service.key", read_only=True)
    item_type = serializers.CharField(source="link.item_type", read_only=True)
    local_id = serializers.IntegerField(source="link.local_id", read_only=True, allow_null=True)
    remote_id = serializers.CharField(source="link.remote_id", read_only=True)
    fields = serializers.SerializerMethodField(
        method_name="clashing_fields",
        help_text="The fields changed on both sides to different values: the ones to choose.",
    )

    class Meta:
        model = Conflict
        fields = [
            "id",
            "connection",
            "service",
            "job",
            "item_type",
            "local_id",
            "remote_id",
            "fields",
            "status",
            "resolution",
            "created_at",
            "resolved_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def clashing_fields(self, conflict: Conflict) -> list[str]:
        return settling.clashing(conflict.base, conflict.local, conflict.remote)


class ConflictDetailSerializer(ConflictSerializer):
    comparison = serializers.SerializerMethodField()

    class Meta(ConflictSerializer.Meta):
        fields = [*ConflictSerializer.Meta.fields, "comparison"]
        read_only_fields = fields

    @extend_schema_field(ConflictFieldSerializer(many=True))
    def get_comparison(self, conflict: Conflict) -> list[dict[str, Any]]:
        return [
            {
                "name": row.name,
                "label": settling.label(row.name),
                "base": row.base,
                "local": row.local,
                "remote": row.remote,
                "change": row.change,
                "clash": row.clash,
            }
            for row in settling.compare(conflict.base, conflict.local, conflict.remote)
        ]


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string", "enum": ["local", "remote"]},
            {
                "type": "object",
                "properties": {"value": {"nullable": True}},
                "required": ["value"],
                "additionalProperties": False,
            },
        ]
    }
)
class FieldChoiceField(serializers.Field):
    """One field's choice: "local", "remote", or `{"value": ...}` typed in (checked against
    the conflict by the view, which knows the field)."""

    default_error_messages = {
        "invalid": 'Give "local", "remote" or {{"value": ...}}.',
        "long": "A value of at most 10000 characters.",
    }

    def to_internal_value(self, data: Any) -> settling.Choice:
        if data in (settling.LOCAL, settling.REMOTE):
            return data
        if not isinstance(data, dict) or set(data) != {"value"}:
            self.fail("invalid")
        value = data["value"]
        if value is not None and not isinstance(value, str):
            self.fail("invalid")
        if value is not None and len(value) > 10_000:
            self.fail("long")
        return settling.Edited(value)

    def to_representation(self, value: Any) -> Any:
        return value.value if isinstance(value, settling.Edited) else value


class ResolveSerializer(StrictSerializer):
    """Decide the clashing fields for one side, or choose per field."""

    SIDES = [Conflict.Resolution.LOCAL, Conflict.Resolution.REMOTE]

    resolution = serializers.ChoiceField(
        choices=SIDES,
        required=False,
        help_text="local: DayFlow's value for every clashing field; remote: the service's. "
        "Either way the changes made on one side only are kept (the three-way merge).",
    )
    fields = serializers.DictField(
        child=FieldChoiceField(),
        required=False,
        allow_empty=False,
        help_text='Per field: "local", "remote", or {"value": ...} typed in (text, a date '
        "YYYY-MM-DD, a time with its offset). Every clashing field must be named; a field "
        "not named keeps the three-way merge's value (the side that changed it).",
    )

    def validate_fields(self, fields: dict[str, Any]) -> dict[str, Any]:
        if len(fields) > MAX_FIELD_CHOICES or any(len(name) > 100 for name in fields):
            raise serializers.ValidationError(f"At most {MAX_FIELD_CHOICES} field names.")
        return fields

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("resolution" in data) == ("fields" in data):
            raise serializers.ValidationError(
                {"resolution": ["Give either a resolution or fields, not both."]}
            )
        return data


class BulkResolveSerializer(StrictSerializer):
    """Settle several open conflicts the same way: named by id, or all those a filter finds
    (oldest first, at most MAX_BULK_RESOLVE at a time)."""

    resolution = serializers.ChoiceField(
        choices=ResolveSerializer.SIDES,
        help_text="Whose value every clashing field takes; one-side changes are kept.",
    )
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        max_length=MAX_BULK_RESOLVE,
        help_text=f"At most {MAX_BULK_RESOLVE} of your open conflicts.",
    )
    connection = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)
    item_type = serializers.ChoiceField(choices=ItemType.choices, required=False)

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if "ids" in data and ("connection" in data or "item_type" in data):
            raise serializers.ValidationError(
                {"ids": ["Give either ids or a filter (connection, item_type), not both."]}
            )
        return data


class BulkFailedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    why = serializers.CharField()


class BulkResolveResultSerializer(serializers.Serializer):
    resolved = serializers.ListField(child=serializers.IntegerField())
    failed = BulkFailedSerializer(many=True, help_text="Changed again at the service: sync first.")
    remaining = serializers.IntegerField(help_text="Open conflicts the filter finds still.")


# --- deletions waiting for the person (the "ask" deletion policy) ------------------------------
class DeletionSerializer(serializers.ModelSerializer):
    """A deletion made on one side only, waiting to be confirmed or restored."""

    title = serializers.SerializerMethodField()
    local_id = serializers.IntegerField(read_only=True, allow_null=True)
    deleted_on = serializers.SerializerMethodField(
        help_text="`dayflow`: DayFlow's copy was deleted; `service`: the service's was; "
        "`moved`: the item moved in DayFlow to a list another connection takes (confirm "
        "deletes this service's copy, restore keeps it there, no longer synced)."
    )
    deleted_at = serializers.DateTimeField(source="deletion_pending_at", read_only=True)

    class Meta:
        model = ItemLink
        fields = ["id", "item_type", "title", "local_id", "remote_id", "deleted_on", "deleted_at"]
        read_only_fields = fields

    def get_title(self, link: ItemLink) -> str:
        return deletions.title_of(link)

    @extend_schema_field(serializers.ChoiceField(choices=["dayflow", "service", "moved"]))
    def get_deleted_on(self, link: ItemLink) -> str:
        if link.deletion_pending == Mark.MOVED:
            return "moved"
        return "dayflow" if link.deletion_pending == Mark.LOCAL else "service"


class SettleDeletionsSerializer(StrictSerializer):
    action = serializers.ChoiceField(
        choices=list(deletions.ACTIONS),
        help_text="`confirm`: delete the other copy too and unlink; `restore`: bring the "
        "deleted copy back from the other one.",
    )
    link = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="One waiting deletion (its `id`); or give `all` instead.",
    )
    all = serializers.BooleanField(
        required=False, help_text="`true`: all of the connection's waiting deletions."
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("link" in data) == bool(data.get("all")):
            raise serializers.ValidationError("Give either `link` or `all: true`.")
        return data


class SettledSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    failed = FailedSerializer(many=True, help_text="The service refused: still waiting.")
