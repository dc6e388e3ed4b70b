"""Which actions a connection allows now, and the typed error of an action refused.

The one place pages, the admin and the coming API ask: templates show a button when its action
is in `connection_actions(connection)`, and `lifecycle` refuses the others with
`ConnectionActionRefused`. Built from the status alone, so it is a pure table; keyed by the
status values so the model can import it (`Connection.allowed_actions`), and a test checks
that it covers every `Connection.Status`.
"""

from __future__ import annotations

from typing import Any

PAUSE = "pause"
RESUME = "resume"
RECONNECT = "reconnect"
DISCONNECT = "disconnect"
SETTINGS = "settings"
SYNC = "sync"
ACTIONS = (PAUSE, RESUME, RECONNECT, DISCONNECT, SETTINGS, SYNC)

ALLOWED: dict[str, frozenset[str]] = {
    "connected": frozenset({PAUSE, DISCONNECT, SETTINGS, SYNC}),
    "paused": frozenset({RESUME, DISCONNECT, SETTINGS}),
    "needs_reauth": frozenset({RECONNECT, DISCONNECT, SETTINGS}),
    "error": frozenset({RECONNECT, DISCONNECT, SETTINGS}),
    "disconnected": frozenset({RECONNECT}),
}

# Why an action is refused, worded for the page ("<connection>: <reason>.").
REFUSALS = {
    PAUSE: "only a connected account can be paused",
    RESUME: "only a paused account can be resumed",
    DISCONNECT: "the account is already disconnected",
    SETTINGS: "a disconnected account has no settings to change; connect it again first",
    SYNC: "only a connected account can sync",
}


class ActionRefused(Exception):
    """An action that does not apply to its object now. `status` is the HTTP status an API
    answers with: 409, the object's current state conflicts with the action."""

    status = 409

    def __init__(self, action: str, reason: str) -> None:
        super().__init__(reason)
        self.action = action
        self.reason = reason


class ConnectionActionRefused(ActionRefused):
    """A connection action its status does not allow."""


def connection_actions(status: str) -> frozenset[str]:
    return ALLOWED.get(status, frozenset())


def require(connection: Any, action: str) -> None:
    """Raise ConnectionActionRefused unless the connection allows `action` now."""
    if action not in connection_actions(connection.status):
        reason = REFUSALS.get(action, f"cannot {action} while {connection.status}")
        raise ConnectionActionRefused(action, reason)
