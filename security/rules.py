"""The monitoring rules: pure functions over recent audit events as plain values, each returning
findings (tests/security/test_rules.py has a table per rule). No query, no clock: the caller
(`security.evaluate`) reads the events and turns findings into alerts.

A threshold rule counts events per key in a sliding window; when the window holds `threshold`
events it finds once and starts counting afresh, so a burst of 7 finds once and one of 10 twice
(the alert's count says how many times)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections import defaultdict, deque
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any


class Severity:
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclasses.dataclass(frozen=True)
class Event:
    """An audit event as the rules see it."""

    id: int
    at: dt.datetime
    action: str
    success: bool = True
    actor_id: int | None = None
    connection_id: int | None = None
    connection_label: str = ""
    ip: str | None = None
    channel: str = ""
    resource: str = ""
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    event_id: int  # the event that made the rule find (evaluation keeps only new ones)
    at: dt.datetime
    user_id: int | None = None
    username: str = ""  # for the caller to resolve to a user (a failed sign-in has no actor)
    connection_id: int | None = None
    connection_label: str = ""
    ip: str | None = None
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


# --- the rules' names, as alerts store them -----------------------------------------------------
SIGNATURE_FAILURES = "signature_failures"
STATE_MISMATCHES = "oauth_state_mismatches"
LOGIN_FAILURES = "login_failures"
LOGIN_SPRAYING = "login_failures_from_one_ip"
LOCKED_OUT = "locked_out"
GRANT_REVOKED = "grant_revoked"
REFRESH_FAILURES = "refresh_failures"
USAGE_SPIKE = "usage_spike"
MASS_DELETION_HELD = "mass_deletion_held"
TOKEN_NEW_IP = "api_token_new_ip"
DECRYPT_FAILURES = "decrypt_failures"
CREDENTIAL_ADMIN = "credential_admin_action"

# --- the audit actions they read ----------------------------------------------------------------
WEBHOOK_REJECTED = "webhook.rejected"
CONNECT_FAILED = "connection.connect_failed"
LOGIN_FAILED = "auth.login_failed"
LOCKOUT = "auth.locked_out"  # written by django-axes' lockout receiver (the throttling work)
NEEDS_REAUTH = "connection.needs_reauth"
REFRESH_FAILED = "connection.token_refresh_failed"
NEEDS_CONFIRMATION = "sync.job.needs_confirmation"
DECRYPT_FAILED = "crypto.decrypt_failed"
CREDENTIAL_ADMIN_PREFIX = "admin.credential."
# One row for the rejections a capped client's rows left out (the throttling's audit/capped.py):
# details {"action": <the capped action>, "dropped": <how many>}, and the client's IP.
DROPPED = "audit.rejections_dropped"
# social-core's codes for a callback whose state is not the one the session holds.
STATE_CODES = ("state_mismatch", "session_context_missing")
TOKEN_NEW_IP_USED = "api_token.used_from_new_ip"  # dayflow/api/auth.py, per token's known IPs
PERSONAL_TOKEN_CHANNEL = "api: "
SESSION_CHANNEL = "api: session"


def weight(event: Event) -> int:
    """How many rejections an event stands for: a capped client's count row stands for the
    rows it dropped (audit/capped.py), bounded; any other event for one."""
    if event.action != DROPPED:
        return 1
    dropped = event.details.get("dropped")
    return min(dropped, 100_000) if isinstance(dropped, int) and dropped > 0 else 0


def dropped_of(event: Event, action: str) -> bool:
    return event.action == DROPPED and event.details.get("action") == action


def over_threshold(
    events: Iterable[Event],
    key: Callable[[Event], Hashable | None],
    *,
    threshold: int,
    window: dt.timedelta,
) -> list[tuple[Hashable, list[Event]]]:
    """Each time `threshold` events of one key (by `weight`) fall within `window`: the key and
    those events."""
    recent: dict[Hashable, deque[Event]] = defaultdict(deque)
    found = []
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        name = key(event)
        if name is None:
            continue
        queue = recent[name]
        queue.append(event)
        while event.at - queue[0].at > window:
            queue.popleft()
        if total(queue) >= threshold:
            found.append((name, list(queue)))
            queue.clear()
    return found


def total(events: Iterable[Event]) -> int:
    return sum(weight(event) for event in events)


def _ips(events: Sequence[Event]) -> list[str]:
    return sorted({event.ip for event in events if event.ip})[:10]


# --- repeated webhook signature failures -------------------------------------------------------
def signature_failures(
    events: Iterable[Event], *, threshold: int, window: dt.timedelta
) -> list[Finding]:
    """Forged deliveries from one IP: answered 401, or 429 once the IP is over its limit of
    failures; a capped IP's count row counts what it dropped."""

    def key(event: Event) -> str | None:
        forged = event.action == WEBHOOK_REJECTED and event.details.get("status") in (401, 429)
        forged = forged or dropped_of(event, WEBHOOK_REJECTED)
        return event.ip if forged and event.ip else None

    return [
        Finding(
            SIGNATURE_FAILURES,
            Severity.HIGH,
            burst[-1].id,
            burst[-1].at,
            ip=str(ip),
            details={
                "failures": total(burst),
                "window_seconds": int(window.total_seconds()),
                "services": sorted(
                    {str(e.details["service"])[:40] for e in burst if e.details.get("service")}
                )[:10],
            },
        )
        for ip, burst in over_threshold(events, key, threshold=threshold, window=window)
    ]


# --- OAuth state mismatches ---------------------------------------------------------------------
def state_mismatches(
    events: Iterable[Event], *, threshold: int, window: dt.timedelta
) -> list[Finding]:
    """Connect callbacks for one person whose state is not the one their session started: a
    forged callback (login CSRF) or someone replaying another person's link."""

    def key(event: Event) -> int | None:
        reason = str(event.details.get("reason", ""))
        if event.action != CONNECT_FAILED or not any(code in reason for code in STATE_CODES):
            return None
        return event.actor_id

    return [
        Finding(
            STATE_MISMATCHES,
            Severity.MEDIUM,
            burst[-1].id,
            burst[-1].at,
            user_id=int(user_id),
            ip=burst[-1].ip,
            details={
                "mismatches": len(burst),
                "window_seconds": int(window.total_seconds()),
                "ips": _ips(burst),
                "services": sorted({str(e.details.get("service", ""))[:40] for e in burst}),
            },
        )
        for user_id, burst in over_threshold(events, key, threshold=threshold, window=window)
    ]


# --- login failures and lockouts ----------------------------------------------------------------
def _username(event: Event) -> str:
    return str(event.details.get("username") or "")[:150]


def login_failures(
    events: Iterable[Event], *, threshold: int, per_ip: int, window: dt.timedelta
) -> list[Finding]:
    """Failed sign-ins for one username (someone guessing a password), failed sign-ins from
    one IP across usernames (spraying), and every lockout."""
    events = list(events)
    seconds = int(window.total_seconds())

    def by_name(event: Event) -> str | None:
        return (_username(event) or None) if event.action == LOGIN_FAILED else None

    def by_ip(event: Event) -> str | None:
        counted = event.action == LOGIN_FAILED or dropped_of(event, LOGIN_FAILED)
        return event.ip if counted else None

    found = [
        Finding(
            LOGIN_FAILURES,
            Severity.MEDIUM,
            burst[-1].id,
            burst[-1].at,
            username=str(name),
            ip=burst[-1].ip,
            details={"failures": len(burst), "window_seconds": seconds, "ips": _ips(burst)},
        )
        for name, burst in over_threshold(events, by_name, threshold=threshold, window=window)
    ]
    found += [
        Finding(
            LOGIN_SPRAYING,
            Severity.HIGH,
            burst[-1].id,
            burst[-1].at,
            ip=str(ip),
            details={
                "failures": total(burst),
                "window_seconds": seconds,
                "usernames": len({_username(e) for e in burst if e.action == LOGIN_FAILED}),
            },
        )
        for ip, burst in over_threshold(events, by_ip, threshold=per_ip, window=window)
    ]
    found += [
        Finding(
            LOCKED_OUT,
            Severity.HIGH,
            event.id,
            event.at,
            username=_username(event),
            ip=event.ip,
            details={"username_given": bool(_username(event))},
        )
        for event in events
        if event.action == LOCKOUT
    ]
    return found


# --- refresh failures and revoked grants --------------------------------------------------------
def grant_failures(
    events: Iterable[Event], *, threshold: int, window: dt.timedelta
) -> list[Finding]:
    """A grant the service refused (revoked or expired: the connection needs reconnecting), and
    token refreshes that keep failing for another reason."""
    events = list(events)
    found = [
        Finding(
            GRANT_REVOKED,
            Severity.MEDIUM,
            event.id,
            event.at,
            user_id=event.actor_id,
            connection_id=event.connection_id,
            connection_label=event.connection_label,
            details={
                "service": str(event.details.get("service", ""))[:40],
                "reason": str(event.details.get("reason", ""))[:200],
            },
        )
        for event in events
        if event.action == NEEDS_REAUTH and event.connection_id is not None
    ]

    def key(event: Event) -> int | None:
        return event.connection_id if event.action == REFRESH_FAILED else None

    found += [
        Finding(
            REFRESH_FAILURES,
            Severity.LOW,
            burst[-1].id,
            burst[-1].at,
            user_id=burst[-1].actor_id,
            connection_id=int(connection_id),
            connection_label=burst[-1].connection_label,
            details={
                "failures": len(burst),
                "window_seconds": int(window.total_seconds()),
                "last_error": str(burst[-1].details.get("error", ""))[:200],
            },
        )
        for connection_id, burst in over_threshold(events, key, threshold=threshold, window=window)
    ]
    return found


# --- mass deletions held by the guard -----------------------------------------------------------
def mass_deletions_held(events: Iterable[Event]) -> list[Finding]:
    """A sync that would delete many items at once waits for its owner's confirmation."""
    return [
        Finding(
            MASS_DELETION_HELD,
            Severity.MEDIUM,
            event.id,
            event.at,
            connection_id=event.connection_id,
            connection_label=event.connection_label,
            details={
                "job": event.resource[:60],
                "deletions": _deletions(event.details.get("counters")),
            },
        )
        for event in events
        if event.action == NEEDS_CONFIRMATION and event.connection_id is not None
    ]


def _deletions(counters: Any) -> int:
    if not isinstance(counters, Mapping):
        return 0
    values = (counters.get("local_deleted"), counters.get("remote_deleted"))
    return sum(value for value in values if isinstance(value, int))


# --- a personal API token used from a new IP ----------------------------------------------------
def token_new_ips(
    events: Iterable[Event], known: Mapping[tuple[int, str], frozenset[str]]
) -> list[Finding]:
    """A personal API token used from an IP it was never seen from: said by the authentication
    (`api_token.used_from_new_ip`), or found among the events it authenticated (channel
    "api: <name>") against `known`, the IPs seen before per (person, channel); a token's first
    IP is its baseline, not a finding."""
    seen = {key: set(ips) for key, ips in known.items()}
    found = []
    for event in sorted(events, key=lambda e: (e.at, e.id)):
        channel = event.channel
        if not channel.startswith(PERSONAL_TOKEN_CHANNEL) or channel == SESSION_CHANNEL:
            continue
        if event.actor_id is None or not event.ip:
            continue
        ips = seen.setdefault((event.actor_id, channel), set())
        said = event.action == TOKEN_NEW_IP_USED
        if event.ip not in ips and (said or ips):
            found.append(
                Finding(
                    TOKEN_NEW_IP,
                    Severity.MEDIUM,
                    event.id,
                    event.at,
                    user_id=event.actor_id,
                    ip=event.ip,
                    details={"label": channel[len(PERSONAL_TOKEN_CHANNEL) :][:100]},
                )
            )
        ips.add(event.ip)
    return found


# --- decrypt failures ---------------------------------------------------------------------------
def decrypt_failures(events: Iterable[Event]) -> list[Finding]:
    """A stored secret no configured key can read: a lost or wrong DAYFLOW_ENCRYPTION_KEYS, or
    a row written with another installation's key."""
    return [
        Finding(
            DECRYPT_FAILURES,
            Severity.CRITICAL,
            event.id,
            event.at,
            details={"where": str(event.details.get("where", ""))[:100]},
        )
        for event in events
        if event.action == DECRYPT_FAILED
    ]


# --- staff acting on credentials in the admin ---------------------------------------------------
def credential_admin_actions(events: Iterable[Event]) -> list[Finding]:
    """Staff changed or deleted a connection's stored credentials in the admin."""
    return [
        Finding(
            CREDENTIAL_ADMIN,
            Severity.MEDIUM,
            event.id,
            event.at,
            connection_id=event.connection_id,
            connection_label=event.connection_label,
            ip=event.ip,
            details={
                "what": event.action[len(CREDENTIAL_ADMIN_PREFIX) :][:40],
                "staff_id": event.actor_id,
            },
        )
        for event in events
        if event.action.startswith(CREDENTIAL_ADMIN_PREFIX)
    ]


# --- a connection's API calls or 429s far above its own normal ----------------------------------
def far_above_normal(
    last_hour: int, previous_days: Sequence[int], *, factor: float, floor: int, min_days: int
) -> bool:
    """`last_hour` against the connection's normal hourly rate: the median over its previous
    days of each day's total / 24. Below `floor` nothing is unusual; with fewer than
    `min_days` days of history there is no normal to compare with."""
    if last_hour < floor or len(previous_days) < min_days:
        return False
    normal = statistics.median(total / 24 for total in previous_days)
    return last_hour > factor * normal


@dataclasses.dataclass(frozen=True)
class Usage:
    """One connection's use: the last hour, and each previous day's total (oldest first)."""

    connection_id: int
    connection_label: str
    user_id: int | None
    calls_last_hour: int
    calls_by_day: Sequence[int]
    rate_limited_last_hour: int = 0
    rate_limited_by_day: Sequence[int] = ()


def usage_spikes(
    usages: Iterable[Usage],
    at: dt.datetime,
    *,
    factor: float,
    min_days: int,
    min_calls: int,
    min_rate_limited: int,
) -> list[Finding]:
    found = []
    for usage in usages:
        calls = far_above_normal(
            usage.calls_last_hour,
            usage.calls_by_day,
            factor=factor,
            floor=min_calls,
            min_days=min_days,
        )
        limited = far_above_normal(
            usage.rate_limited_last_hour,
            usage.rate_limited_by_day,
            factor=factor,
            floor=min_rate_limited,
            min_days=min_days,
        )
        if calls or limited:
            found.append(
                Finding(
                    USAGE_SPIKE,
                    Severity.MEDIUM,
                    0,
                    at,
                    user_id=usage.user_id,
                    connection_id=usage.connection_id,
                    connection_label=usage.connection_label,
                    details={
                        "api_calls_last_hour": usage.calls_last_hour,
                        "rate_limited_last_hour": usage.rate_limited_last_hour,
                        "days_compared": len(usage.calls_by_day),
                    },
                )
            )
    return found
