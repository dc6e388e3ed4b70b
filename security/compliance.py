"""The compliance report: who has an account, which services they connected, the open security
alerts, what each retention policy keeps and will remove next, and the last audit verification.

`build()` assembles it in a constant number of queries (whatever the number of users,
connections or alerts); the staff page (`security.views.compliance`) and
`manage.py compliance_report` only present it, as HTML, text or CSV (`rows()`).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Min, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.models import AuditEvent, AuditVerification
from dayflow import retention
from integrations.models import Connection
from privacy.models import ErasureRequest
from security import conf
from security.models import SecurityAlert
from sync.models import JournalEntry, SyncJob
from webhooks.models import Delivery

ALERTS = "alerts"
POLICIES = (retention.INBOX, retention.JOURNAL, retention.JOBS, retention.AUDIT, ALERTS)
POLICY_NAMES = {
    retention.INBOX: "Webhook inbox",
    retention.JOURNAL: "Sync journal",
    retention.JOBS: "Finished sync jobs",
    retention.AUDIT: "Audit trail",
    ALERTS: "Security alerts",
}


@dataclasses.dataclass(frozen=True)
class Users:
    total: int
    active: int
    staff: int
    erasures_pending: int  # asked for, not finished (waiting, under way or for a service)
    erasures_done: int


@dataclasses.dataclass(frozen=True)
class ConnectionCount:
    service: str
    status: str  # its label, e.g. "Needs reconnecting"
    count: int


@dataclasses.dataclass(frozen=True)
class AlertCount:
    rule: str
    severity: str
    count: int


@dataclasses.dataclass(frozen=True)
class RetentionStatus:
    policy: str
    name: str
    days: int
    oldest: dt.datetime | None  # the oldest row still kept (by the policy's own clock)
    past_limit: int  # what the next run removes (at most `per_run` of it)
    per_run: int | None  # the most one run removes; None: no limit


@dataclasses.dataclass(frozen=True)
class Verification:
    checked_at: dt.datetime
    ok: bool
    rows_checked: int
    first_bad_id: int | None
    problem: str


@dataclasses.dataclass(frozen=True)
class Report:
    generated_at: dt.datetime
    users: Users
    connections: list[ConnectionCount]
    open_alerts: list[AlertCount]
    retention: list[RetentionStatus]
    verification: Verification | None  # None: verify_audit never ran

    @property
    def unacknowledged(self) -> int:
        return sum(row.count for row in self.open_alerts)


def build() -> Report:
    return Report(
        generated_at=timezone.now(),
        users=_users(),
        connections=_connections(),
        open_alerts=_open_alerts(),
        retention=retention_status(),
        verification=_last_verification(),
    )


def _users() -> Users:
    counts = get_user_model().objects.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        staff=Count("pk", filter=Q(is_staff=True)),
    )
    erasures = ErasureRequest.objects.aggregate(
        pending=Count("pk", filter=~Q(status=ErasureRequest.Status.DONE)),
        done=Count("pk", filter=Q(status=ErasureRequest.Status.DONE)),
    )
    return Users(
        total=counts["total"],
        active=counts["active"],
        staff=counts["staff"],
        erasures_pending=erasures["pending"],
        erasures_done=erasures["done"],
    )


def _connections() -> list[ConnectionCount]:
    labels = dict(Connection.Status.choices)
    grouped = (
        Connection.objects.values("service__display_name", "status")
        .annotate(count=Count("pk"))
        .order_by("service__display_name", "status")
    )
    return [
        ConnectionCount(
            service=row["service__display_name"],
            status=str(labels.get(row["status"], row["status"])),
            count=row["count"],
        )
        for row in grouped
    ]


def _open_alerts() -> list[AlertCount]:
    order = {value: i for i, value in enumerate(reversed(SecurityAlert.Severity.values))}
    grouped = (
        SecurityAlert.objects.filter(acknowledged_at__isnull=True)
        .values("rule", "severity")
        .annotate(count=Count("pk"))
    )
    rows = [AlertCount(row["rule"], row["severity"], row["count"]) for row in grouped]
    return sorted(rows, key=lambda row: (order.get(row.severity, 99), row.rule))


# --- retention ------------------------------------------------------------------------------
def alerts_cutoff() -> dt.datetime:
    return timezone.now() - dt.timedelta(days=conf.get("SECURITY_ALERT_RETENTION_DAYS"))


def retention_status() -> list[RetentionStatus]:
    """Each policy's limit, the oldest row it keeps and how many rows are past the limit now
    (two queries a policy, three for the audit trail). The audit trail's are what
    `audit.chain.cut` removes: the chain's prefix before its first event within the limit."""
    per_run = settings.DAYFLOW_RETENTION_BATCH * settings.DAYFLOW_RETENTION_MAX_BATCHES
    ended = Coalesce("finished_at", "created_at")
    finished = SyncJob.objects.filter(status__in=retention.FINISHED)
    young_audit = AuditEvent.objects.filter(created_at__gte=retention.cutoff(retention.AUDIT))
    first_young = young_audit.order_by("id").values_list("id", flat=True).first()
    audit_expired = AuditEvent.objects.all()
    if first_young is not None:
        audit_expired = audit_expired.filter(id__lt=first_young)
    sources: dict[str, tuple[dict, QuerySet]] = {
        retention.INBOX: (
            Delivery.objects.aggregate(oldest=Min("received_at")),
            retention.expired_deliveries(),
        ),
        retention.JOURNAL: (
            JournalEntry.objects.aggregate(oldest=Min("created_at")),
            retention.expired_journal(),
        ),
        retention.JOBS: (finished.aggregate(oldest=Min(ended)), retention.expired_jobs()),
        retention.AUDIT: (AuditEvent.objects.aggregate(oldest=Min("created_at")), audit_expired),
        ALERTS: (
            SecurityAlert.objects.aggregate(oldest=Min("last_seen")),
            SecurityAlert.objects.filter(last_seen__lt=alerts_cutoff()),
        ),
    }
    return [
        RetentionStatus(
            policy=policy,
            name=POLICY_NAMES[policy],
            days=policy_days(policy),
            oldest=oldest["oldest"],
            past_limit=expired.count(),
            per_run=None if policy == ALERTS else per_run,
        )
        for policy, (oldest, expired) in sources.items()
    ]


def policy_days(policy: str) -> int:
    if policy == ALERTS:
        return int(conf.get("SECURITY_ALERT_RETENTION_DAYS"))
    return retention.days(policy)


def _last_verification() -> Verification | None:
    last = AuditVerification.objects.order_by("-checked_at", "-id").first()
    if last is None:
        return None
    return Verification(
        checked_at=last.checked_at,
        ok=last.ok,
        rows_checked=last.rows_checked,
        first_bad_id=last.first_bad_id,
        problem=last.problem,
    )


# --- presenting it --------------------------------------------------------------------------
def _when(instant: dt.datetime | None) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if instant else ""


def rows(report: Report) -> Iterator[tuple[str, str, str, str]]:
    """The report as (section, subject, measure, value) rows: the CSV and the text output."""
    yield ("report", "", "generated at", _when(report.generated_at))
    users = report.users
    for measure in ("total", "active", "staff"):
        yield ("users", "", measure, str(getattr(users, measure)))
    yield ("users", "", "erasures pending", str(users.erasures_pending))
    yield ("users", "", "erasures done", str(users.erasures_done))
    for conn in report.connections:
        yield ("connections", conn.service, conn.status, str(conn.count))
    yield ("open alerts", "", "unacknowledged", str(report.unacknowledged))
    for alert in report.open_alerts:
        yield ("open alerts", alert.rule, alert.severity, str(alert.count))
    for policy in report.retention:
        yield ("retention", policy.policy, "days", str(policy.days))
        yield ("retention", policy.policy, "oldest kept", _when(policy.oldest) or "none")
        yield ("retention", policy.policy, "past the limit", str(policy.past_limit))
    check = report.verification
    if check is None:
        yield ("audit verification", "last", "checked at", "never")
        return
    yield ("audit verification", "last", "checked at", _when(check.checked_at))
    yield ("audit verification", "last", "result", "ok" if check.ok else "broken")
    yield ("audit verification", "last", "rows checked", str(check.rows_checked))
    first_bad = "" if check.first_bad_id is None else str(check.first_bad_id)
    yield ("audit verification", "last", "first bad id", first_bad)


CSV_HEADER = ("section", "subject", "measure", "value")


def as_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    # Values are our own words, numbers and dates, but rule and service names are written by
    # people: a leading =, +, - or @ would be a formula in a spreadsheet.
    writer.writerows(tuple(_cell(value) for value in row) for row in rows(report))
    return out.getvalue()


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def as_text(report: Report) -> str:
    lines = []
    section = None
    for name, subject, measure, value in rows(report):
        if name != section:
            lines.append("")
            lines.append(name.capitalize())
            section = name
        label = f"{subject}: {measure}" if subject else measure
        lines.append(f"  {label}: {value}")
    return "\n".join(lines).lstrip("\n") + "\n"
