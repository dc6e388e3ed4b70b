"""The I/O around the rules: read the audit events written since the last run (a watermark),
run every rule, and turn findings into alerts. Called by Celery tasks (`security.tasks`), never
in a request."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from audit.writer import record, scrub
from integrations.models import Connection
from notifications.models import Kind
from notifications.services import notify
from security import conf, rules
from security.models import SecurityAlert, Watermark
from security.rules import Event, Finding
from sync.models import SyncJob

logger = logging.getLogger(__name__)

AUDIT = "audit"
RATE_LIMITED = "sync.job.rate_limited"
DETAILS_MAX_CHARS = 2000
USAGE_MAX_CONNECTIONS = 500
# The actions the threshold rules count: read again from before the watermark, within the
# longest window, so a burst split across two runs is still one burst.
COUNTED = (
    rules.WEBHOOK_REJECTED,
    rules.CONNECT_FAILED,
    rules.LOGIN_FAILED,
    rules.REFRESH_FAILED,
    rules.DROPPED,
)
# The person already gets a notice of these from the notifications app (reconnect, confirm
# the deletions): the alert is for staff.
STAFF_ONLY = {rules.GRANT_REVOKED, rules.MASS_DELETION_HELD}
# Subjects named by their IP even when a person is known.
KEYED_BY_IP = {rules.TOKEN_NEW_IP}
FAILED_LOGINS = "Repeated failed sign-ins"

NOTICES: dict[str, tuple[str, str]] = {
    rules.LOGIN_FAILURES: (
        FAILED_LOGINS,
        "Someone failed to sign in to your account {failures} times within {minutes} minutes. "
        "If it was not you, change your password.",
    ),
    rules.LOCKED_OUT: (
        "Sign-ins to your account were locked",
        "Too many failed sign-ins locked your account for a while. If it was not you, change "
        "your password once you can sign in again.",
    ),
    rules.STATE_MISMATCHES: (
        "Connect links that were not yours",
        "Links to connect a service reached your account {mismatches} times without a "
        "connect you started. Nothing was connected. If you did not follow such links, tell "
        "the administrator.",
    ),
    rules.REFRESH_FAILURES: (
        "DayFlow cannot renew its access to {connection}",
        "Renewing the access to {connection} failed {failures} times within an hour. Syncs "
        "carry on once the service answers again.",
    ),
    rules.USAGE_SPIKE: (
        "Unusual activity on {connection}",
        "In the last hour {connection} made {api_calls_last_hour} requests to its service and "
        "was told to slow down {rate_limited_last_hour} times, far more than it normally does. "
        "If you did not start large syncs, pause it.",
    ),
    rules.TOKEN_NEW_IP: (
        "Your API token “{label}” was used from a new address",
        "Your API token “{label}” was used from {ip}, an address it was never used from "
        "before. If it was not you, revoke the token.",
    ),
    rules.CREDENTIAL_ADMIN: (
        "An administrator acted on the access of {connection}",
        "An administrator {what} the stored access of {connection}. You may need to connect "
        "it again.",
    ),
}
GENERIC_NOTICE = ("Security alert about your account", "")


# --- the audit trail since the last run ---------------------------------------------------------
def evaluate() -> list[int]:
    """Run the rules over the audit events written since the last run (at most a batch);
    return the ids of the alerts they opened."""
    with transaction.atomic():
        mark, _ = Watermark.objects.select_for_update().get_or_create(name=AUDIT)
        settled = timezone.now() - _seconds("SECURITY_EVALUATE_LAG_SECONDS")
        new = AuditEvent.objects.filter(id__gt=mark.last_event_id, created_at__lte=settled)
        batch = list(new.order_by("id")[: conf.get("SECURITY_EVALUATE_BATCH")])
        if not batch:
            return []
        events = [as_event(row) for row in batch]
        context = [as_event(row) for row in _context(mark.last_event_id, events)]
        found = list(findings(context + events, _known_ips(mark.last_event_id, events)))
        found = [finding for finding in found if finding.event_id > mark.last_event_id]
        opened = [alert.pk for finding in found if (alert := raise_alert(finding))]
        mark.last_event_id = batch[-1].id
        mark.save(update_fields=["last_event_id", "updated_at"])
    return opened


def as_event(row: AuditEvent) -> Event:
    return Event(
        id=row.id,
        at=row.created_at,
        action=row.action,
        success=row.success,
        actor_id=row.actor_id,
        connection_id=row.connection_id,
        connection_label=row.connection_label,
        ip=row.ip_address,
        channel=row.channel,
        resource=row.resource,
        details=row.details if isinstance(row.details, dict) else {},
    )


def _seconds(name: str) -> dt.timedelta:
    return dt.timedelta(seconds=conf.get(name))


def findings(
    events: Sequence[Event], known_ips: dict[tuple[int, str], frozenset[str]]
) -> Iterator[Finding]:
    """Every rule over the same events."""
    yield from rules.signature_failures(
        events,
        threshold=conf.get("SECURITY_SIGNATURE_FAILURES"),
        window=_seconds("SECURITY_SIGNATURE_WINDOW_SECONDS"),
    )
    yield from rules.state_mismatches(
        events,
        threshold=conf.get("SECURITY_STATE_MISMATCHES"),
        window=_seconds("SECURITY_STATE_WINDOW_SECONDS"),
    )
    yield from rules.login_failures(
        events,
        threshold=conf.get("SECURITY_LOGIN_FAILURES"),
        per_ip=conf.get("SECURITY_LOGIN_FAILURES_PER_IP"),
        window=_seconds("SECURITY_LOGIN_WINDOW_SECONDS"),
    )
    yield from rules.grant_failures(
        events,
        threshold=conf.get("SECURITY_REFRESH_FAILURES"),
        window=_seconds("SECURITY_REFRESH_WINDOW_SECONDS"),
    )
    yield from rules.mass_deletions_held(events)
    yield from rules.token_new_ips(events, known_ips)
    yield from rules.decrypt_failures(events)
    yield from rules.credential_admin_actions(events)


def _context(mark: int, batch: Sequence[Event]) -> list[AuditEvent]:
    """Counted events before the watermark, within the longest window of the batch's first."""
    longest = max(
        _seconds(name)
        for name in (
            "SECURITY_SIGNATURE_WINDOW_SECONDS",
            "SECURITY_STATE_WINDOW_SECONDS",
            "SECURITY_LOGIN_WINDOW_SECONDS",
            "SECURITY_REFRESH_WINDOW_SECONDS",
        )
    )
    since = min(event.at for event in batch) - longest
    rows = AuditEvent.objects.filter(id__lte=mark, created_at__gte=since, action__in=COUNTED)
    return list(reversed(rows.order_by("-id")[: conf.get("SECURITY_EVALUATE_BATCH")]))


def _known_ips(mark: int, batch: Sequence[Event]) -> dict[tuple[int, str], frozenset[str]]:
    """The IPs each personal token in the batch was seen from before it (bounded)."""
    pairs = {
        (event.actor_id, event.channel)
        for event in batch
        if event.actor_id is not None
        and event.channel.startswith(rules.PERSONAL_TOKEN_CHANNEL)
        and event.channel != rules.SESSION_CHANNEL
    }
    if not pairs:
        return {}
    match = Q()
    for actor_id, channel in list(pairs)[:100]:
        match |= Q(actor_id=actor_id, channel=channel)
    seen = (
        AuditEvent.objects.filter(match, id__lte=mark, ip_address__isnull=False)
        .values_list("actor_id", "channel", "ip_address")
        .distinct()[:5000]
    )
    known: dict[tuple[int, str], set[str]] = {}
    for actor_id, channel, ip in seen:
        known.setdefault((actor_id, channel), set()).add(ip)
    return {key: frozenset(ips) for key, ips in known.items()}


# --- a connection's use against its own normal --------------------------------------------------
def check_usage(now: dt.datetime | None = None) -> list[int]:
    """Compare each active connection's last hour with its previous days; the alerts opened."""
    now = now or timezone.now()
    hour_ago = now - dt.timedelta(hours=1)
    days = conf.get("SECURITY_USAGE_DAYS")
    first_day = (now - dt.timedelta(days=days)).date()
    calls_now = dict(
        SyncJob.objects.filter(finished_at__gte=hour_ago, finished_at__lte=now)
        .values("connection_id")
        .annotate(total=Sum("api_calls"))
        .values_list("connection_id", "total")[:USAGE_MAX_CONNECTIONS]
    )
    limited_now = dict(
        AuditEvent.objects.filter(action=RATE_LIMITED, created_at__gte=hour_ago)
        .exclude(connection_id=None)
        .values("connection_id")
        .annotate(total=Count("id"))
        .values_list("connection_id", "total")[:USAGE_MAX_CONNECTIONS]
    )
    ids = set(calls_now) | set(limited_now)
    if not ids:
        return []
    calls_by_day = _by_day(
        SyncJob.objects.filter(connection_id__in=ids, finished_at__date__gte=first_day)
        .filter(finished_at__date__lt=now.date())
        .annotate(day=TruncDate("finished_at"))
        .values("connection_id", "day")
        .annotate(total=Sum("api_calls"))
    )
    limited_by_day = _by_day(
        AuditEvent.objects.filter(action=RATE_LIMITED, connection_id__in=ids)
        .filter(created_at__date__gte=first_day, created_at__date__lt=now.date())
        .annotate(day=TruncDate("created_at"))
        .values("connection_id", "day")
        .annotate(total=Count("id"))
    )
    connections = Connection.objects.filter(pk__in=ids).select_related("service")
    usages = []
    for connection in connections:
        calls = calls_by_day.get(connection.pk, {})
        # A day before the connection first synced is no evidence of its normal.
        start = max(first_day, min(calls)) if calls else now.date()
        usages.append(
            rules.Usage(
                connection_id=connection.pk,
                connection_label=str(connection),
                user_id=connection.user_id,
                calls_last_hour=calls_now.get(connection.pk) or 0,
                calls_by_day=_days(calls, start, now.date()),
                rate_limited_last_hour=limited_now.get(connection.pk, 0),
                rate_limited_by_day=_days(limited_by_day.get(connection.pk, {}), start, now.date()),
            )
        )
    found = rules.usage_spikes(
        usages,
        now,
        factor=conf.get("SECURITY_USAGE_FACTOR"),
        min_days=conf.get("SECURITY_USAGE_MIN_DAYS"),
        min_calls=conf.get("SECURITY_USAGE_MIN_CALLS"),
        min_rate_limited=conf.get("SECURITY_USAGE_MIN_RATE_LIMITED"),
    )
    return [alert.pk for finding in found if (alert := raise_alert(finding))]


def _by_day(rows: Iterable[dict[str, Any]]) -> dict[int, dict[dt.date, int]]:
    totals: dict[int, dict[dt.date, int]] = {}
    for row in rows:
        totals.setdefault(row["connection_id"], {})[row["day"]] = row["total"] or 0
    return totals


def _days(totals: dict[dt.date, int], start: dt.date, today: dt.date) -> list[int]:
    """Each day's total from `start` to yesterday, 0 for a day without any."""
    return [totals.get(start + dt.timedelta(days=n), 0) for n in range((today - start).days)]


# --- findings → alerts --------------------------------------------------------------------------
def subject_key(finding: Finding, user_id: int | None) -> str:
    ip = (
        finding.ip
        if finding.rule in KEYED_BY_IP or (user_id is None and finding.connection_id is None)
        else None
    )
    return f"user:{user_id or '-'}|connection:{finding.connection_id or '-'}|ip:{ip or '-'}"


def raise_alert(finding: Finding) -> SecurityAlert | None:
    """The open alert of this rule and subject, created or counted once more."""
    user_id, connection = _subject(finding)
    if finding.rule == rules.LOGIN_FAILURES and user_id is None:
        return None  # guesses at a name nobody has: the per-IP rule watches those
    key = subject_key(finding, user_id)
    details = bounded(finding.details)
    open_alerts = SecurityAlert.objects.filter(
        rule=finding.rule, subject_key=key, acknowledged_at__isnull=True
    )
    if open_alerts.update(count=F("count") + 1, last_seen=finding.at, details=details):
        return None
    try:
        with transaction.atomic():
            alert = SecurityAlert.objects.create(
                rule=finding.rule,
                severity=finding.severity,
                user_id=user_id,
                connection_id=finding.connection_id,
                connection_label=finding.connection_label[:300],
                ip_address=finding.ip,
                subject_key=key,
                first_seen=finding.at,
                last_seen=finding.at,
                details=details,
            )
    except IntegrityError:  # raised meanwhile by another run: count this one there
        open_alerts.update(count=F("count") + 1, last_seen=finding.at, details=details)
        return None
    _announce(alert, connection)
    return alert


def _subject(finding: Finding) -> tuple[int | None, Connection | None]:
    connection = None
    if finding.connection_id is not None:
        connection = (
            Connection.objects.select_related("service").filter(pk=finding.connection_id).first()
        )
    user_id = finding.user_id
    if user_id is None and finding.username:
        model = get_user_model()
        users = model.objects.filter(**{model.USERNAME_FIELD: finding.username})
        user_id = users.values_list("pk", flat=True).first()
    if user_id is None and connection is not None:
        user_id = connection.user_id
    return user_id, connection


def bounded(details: Any) -> dict[str, Any]:
    """The details scrubbed of secrets and small enough to show."""
    clean = scrub(dict(details))
    if len(json.dumps(clean, default=str)) > DETAILS_MAX_CHARS:
        return {"truncated": True}
    return json.loads(json.dumps(clean, default=str))


def _announce(alert: SecurityAlert, connection: Connection | None) -> None:
    """Once per new alert: the audit trail and the person (a notice); staff are emailed by the
    task that ran the evaluation (`security.tasks`)."""
    record(
        "security.alert.raised",
        connection=connection,
        resource=f"security alert {alert.pk}",
        details={"rule": alert.rule, "severity": alert.severity},
        success=False,
    )
    if alert.user is not None and alert.rule not in STAFF_ONLY:
        title, body = notice_words(alert)
        notify(alert.user, Kind.SECURITY, title, body, connection=connection)


def notice_words(alert: SecurityAlert) -> tuple[str, str]:
    title, body = NOTICES.get(alert.rule, GENERIC_NOTICE)
    values = {
        "connection": alert.connection_label or "a connection",
        "ip": alert.ip_address or "an unknown address",
        "minutes": int(alert.details.get("window_seconds", 0)) // 60,
        **{k: v for k, v in alert.details.items() if isinstance(v, str | int)},
    }
    try:
        return title.format_map(values), body.format_map(values)
    except (KeyError, ValueError):
        return title, ""


def admin_link(alert: SecurityAlert) -> str:
    return reverse("admin:security_securityalert_change", args=[alert.pk])
