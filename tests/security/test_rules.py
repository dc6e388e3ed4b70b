"""Each monitoring rule as a table: the events given, what it finds."""

from __future__ import annotations

import datetime as dt

import pytest

from security import rules
from security.rules import Event, Usage

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def at(minutes: float) -> dt.datetime:
    return T0 + minutes * MINUTE


def events(*specs: dict) -> list[Event]:
    return [Event(id=n + 1, **{"at": T0, "action": "x", **spec}) for n, spec in enumerate(specs)]


def forged(minute: float, ip: str = "203.0.113.9", status: int = 401) -> dict:
    return {
        "at": at(minute),
        "action": "webhook.rejected",
        "ip": ip,
        "details": {"status": status, "service": "clickup"},
    }


def dropped(minute: float, action: str, count, ip: str = "203.0.113.9") -> dict:
    return {
        "at": at(minute),
        "action": "audit.rejections_dropped",
        "ip": ip,
        "details": {"action": action, "dropped": count},
    }


SIGNATURE_CASES = {
    "five from one IP within ten minutes": ([forged(m) for m in range(5)], 1),
    "four are not enough": ([forged(m) for m in range(4)], 0),
    "seven are one burst": ([forged(m) for m in range(7)], 1),
    "ten are two bursts": ([forged(m) for m in range(10)], 2),
    "spread over more than ten minutes": ([forged(m * 3) for m in range(5)], 0),
    "two IPs, three each": ([forged(m, f"203.0.113.{m % 2}") for m in range(6)], 0),
    "404s are not forgeries": ([forged(m, status=404) for m in range(6)], 0),
    "429s after the limit are": ([forged(m, status=429) for m in range(5)], 1),
    "a capped IP's count row counts what it dropped": (
        [forged(0), dropped(1, "webhook.rejected", 30)],
        1,
    ),
    "a count row of another action": ([forged(0), dropped(1, "auth.login_failed", 30)], 0),
    "a count row saying nothing": ([forged(0), dropped(1, "webhook.rejected", "many")], 0),
    "other actions": ([{**forged(m), "action": "auth.login_failed"} for m in range(6)], 0),
}


@pytest.mark.parametrize(("given", "expected"), SIGNATURE_CASES.values(), ids=SIGNATURE_CASES)
def test_signature_failures(given, expected):
    found = rules.signature_failures(events(*given), threshold=5, window=10 * MINUTE)
    assert len(found) == expected
    assert all(f.ip and f.severity == "high" for f in found)


def state(minute: float, user: int | None = 7, reason: str = "callback:state_mismatch") -> dict:
    return {
        "at": at(minute),
        "action": "connection.connect_failed",
        "actor_id": user,
        "details": {"reason": reason, "service": "todoist"},
    }


STATE_CASES = {
    "three mismatches within the hour": ([state(m * 10) for m in range(3)], [7]),
    "a missing session state counts": (
        [state(m, reason="callback:session_context_missing") for m in range(3)],
        [7],
    ),
    "two are not enough": ([state(m) for m in range(2)], []),
    "declined consent is not a mismatch": (
        [state(m, reason="callback:access_denied") for m in range(3)],
        [],
    ),
    "spread over more than an hour": ([state(m * 40) for m in range(3)], []),
    "two people": ([state(m, user=m % 2 + 1) for m in range(4)], []),
}


@pytest.mark.parametrize(("given", "expected"), STATE_CASES.values(), ids=STATE_CASES)
def test_state_mismatches(given, expected):
    found = rules.state_mismatches(events(*given), threshold=3, window=60 * MINUTE)
    assert [f.user_id for f in found] == expected


def login(minute: float, username: str = "alice", ip: str = "198.51.100.1") -> dict:
    return {
        "at": at(minute),
        "action": "auth.login_failed",
        "ip": ip,
        "details": {"username": username},
        "success": False,
    }


LOGIN_CASES = {
    "five for one name within 15 minutes": ([login(m) for m in range(5)], ["login_failures"]),
    "four are not enough": ([login(m) for m in range(4)], []),
    "spread over more than 15 minutes": ([login(m * 5) for m in range(5)], []),
    "spraying: six names from one IP": (
        [login(m, username=f"user{m}") for m in range(6)],
        ["login_failures_from_one_ip"],
    ),
    "spraying past the audit cap: its count row counts": (
        [login(m, username=f"user{m}") for m in range(3)]
        + [dropped(4, "auth.login_failed", 3, ip="198.51.100.1")],
        ["login_failures_from_one_ip"],
    ),
    "six names from six IPs": (
        [login(m, username=f"user{m}", ip=f"198.51.100.{m}") for m in range(6)],
        [],
    ),
    "a lockout finds at once": (
        [{"action": "auth.locked_out", "ip": "198.51.100.1", "details": {"username": "alice"}}],
        ["locked_out"],
    ),
}


@pytest.mark.parametrize(("given", "expected"), LOGIN_CASES.values(), ids=LOGIN_CASES)
def test_login_failures(given, expected):
    found = rules.login_failures(events(*given), threshold=5, per_ip=6, window=15 * MINUTE)
    assert [f.rule for f in found] == expected
    assert all(f.username == "alice" for f in found if f.rule != "login_failures_from_one_ip")


def refresh(minute: float, connection: int = 3) -> dict:
    return {
        "at": at(minute),
        "action": "connection.token_refresh_failed",
        "connection_id": connection,
        "actor_id": 7,
        "details": {"error": "token endpoint answered 503"},
    }


REAUTH = {
    "action": "connection.needs_reauth",
    "connection_id": 3,
    "actor_id": 7,
    "details": {"reason": "the service refused the refresh token (invalid_grant)"},
}
GRANT_CASES = {
    "a refused grant finds at once": ([REAUTH], ["grant_revoked"]),
    "three failed refreshes within the hour": (
        [refresh(m * 10) for m in range(3)],
        ["refresh_failures"],
    ),
    "two failed refreshes": ([refresh(m) for m in range(2)], []),
    "three failed refreshes of three connections": ([refresh(m, m) for m in range(3)], []),
    "a successful refresh is nothing": ([{"action": "connection.token_refreshed"}], []),
}


@pytest.mark.parametrize(("given", "expected"), GRANT_CASES.values(), ids=GRANT_CASES)
def test_grant_failures(given, expected):
    found = rules.grant_failures(events(*given), threshold=3, window=60 * MINUTE)
    assert [f.rule for f in found] == expected
    assert all(f.connection_id is not None and f.user_id == 7 for f in found)


HELD = {
    "action": "sync.job.needs_confirmation",
    "connection_id": 3,
    "resource": "sync job 12",
    "details": {"counters": {"local_deleted": 40, "remote_deleted": 2}},
}
MASS_DELETION_CASES = {
    "a held sync": ([HELD], [42]),
    "a held sync with odd counters": ([{**HELD, "details": {"counters": "?"}}], [0]),
    "a sync that ran": ([{**HELD, "action": "sync.job.succeeded"}], []),
}


@pytest.mark.parametrize(
    ("given", "expected"), MASS_DELETION_CASES.values(), ids=MASS_DELETION_CASES
)
def test_mass_deletions_held(given, expected):
    found = rules.mass_deletions_held(events(*given))
    assert [f.details["deletions"] for f in found] == expected


def used(ip: str | None, channel: str = "api: laptop", actor: int | None = 7) -> dict:
    return {"action": "api_token.used", "ip": ip, "channel": channel, "actor_id": actor}


KNOWN = {(7, "api: laptop"): frozenset({"192.0.2.1"})}


def said(ip: str) -> dict:
    return {**used(ip), "action": "api_token.used_from_new_ip"}


TOKEN_CASES = {
    "a known address": ([used("192.0.2.1")], KNOWN, []),
    "a new address": ([used("192.0.2.99")], KNOWN, ["192.0.2.99"]),
    "a new address twice finds once": (
        [used("192.0.2.99"), used("192.0.2.99")],
        KNOWN,
        ["192.0.2.99"],
    ),
    "a token's first address is its baseline": (
        [used("192.0.2.5"), used("192.0.2.5")],
        {},
        [],
    ),
    "first use, then another address": ([used("192.0.2.5"), used("192.0.2.6")], {}, ["192.0.2.6"]),
    "the authentication says it is new": ([said("192.0.2.99")], {}, ["192.0.2.99"]),
    "said new, yet seen in the audit trail": ([said("192.0.2.1")], KNOWN, []),
    "said new, then writes from there": (
        [said("192.0.2.99"), used("192.0.2.99")],
        KNOWN,
        ["192.0.2.99"],
    ),
    "the pages' own session": ([used("192.0.2.99", channel="api: session")], KNOWN, []),
    "the web": ([used("192.0.2.99", channel="web")], KNOWN, []),
    "no address": ([used(None)], KNOWN, []),
}


@pytest.mark.parametrize(("given", "known", "expected"), TOKEN_CASES.values(), ids=TOKEN_CASES)
def test_token_new_ips(given, known, expected):
    found = rules.token_new_ips(events(*given), known)
    assert [f.ip for f in found] == expected
    assert all(f.user_id == 7 and f.details["label"] == "laptop" for f in found)


DECRYPT_CASES = {
    "a failure": ([{"action": "crypto.decrypt_failed", "details": {"where": "a.b"}}], ["a.b"]),
    "two failures": ([{"action": "crypto.decrypt_failed"}] * 2, ["", ""]),
    "a key rotation": ([{"action": "integrations.keys_rotated"}], []),
}


@pytest.mark.parametrize(("given", "expected"), DECRYPT_CASES.values(), ids=DECRYPT_CASES)
def test_decrypt_failures(given, expected):
    found = rules.decrypt_failures(events(*given))
    assert [f.details["where"] for f in found] == expected
    assert all(f.severity == "critical" for f in found)


CREDENTIAL_CASES = {
    "a deletion": (
        [{"action": "admin.credential.deleted", "actor_id": 1, "connection_id": 3}],
        ["deleted"],
    ),
    "a connection edited": ([{"action": "connection.settings_changed", "connection_id": 3}], []),
}


@pytest.mark.parametrize(("given", "expected"), CREDENTIAL_CASES.values(), ids=CREDENTIAL_CASES)
def test_credential_admin_actions(given, expected):
    found = rules.credential_admin_actions(events(*given))
    assert [f.details["what"] for f in found] == expected


NORMAL_CASES = {
    "ten times its normal and more": (2000, [2400] * 7, True),  # normal: 100 an hour
    "just at ten times": (1000, [2400] * 7, False),
    "below the floor": (150, [0] * 7, False),
    "too little history": (5000, [24, 24], False),
    "a median ignores one busy day": (500, [240] * 6 + [240_000], True),
    "a busy connection busy as usual": (20_000, [480_000] * 7, False),
}


@pytest.mark.parametrize(("last_hour", "days", "expected"), NORMAL_CASES.values(), ids=NORMAL_CASES)
def test_far_above_normal(last_hour, days, expected):
    assert rules.far_above_normal(last_hour, days, factor=10, floor=200, min_days=3) is expected


def test_usage_spikes_find_calls_or_rate_limits():
    normal = Usage(1, "a", 7, calls_last_hour=100, calls_by_day=[2400] * 7)
    calls = Usage(2, "b", 7, calls_last_hour=5000, calls_by_day=[2400] * 7)
    limited = Usage(
        3, "c", 7, 100, [2400] * 7, rate_limited_last_hour=30, rate_limited_by_day=[24] * 7
    )
    found = rules.usage_spikes(
        [normal, calls, limited], T0, factor=10, min_days=3, min_calls=200, min_rate_limited=5
    )
    assert [f.connection_id for f in found] == [2, 3]
