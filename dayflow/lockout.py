"""Sign-in lockout with django-axes: /accounts/login/ and /admin/login/ (every `authenticate`
that carries a request). Its limits are in dayflow/limits.py; staff see and remove lockouts in
the admin (axes' "Access attempts": delete the row to unlock).

A (username, IP) pair is locked out after DAYFLOW_LOGIN_FAILURES_PER_USERNAME failures, an IP
after DAYFLOW_LOGIN_FAILURES_PER_IP failures whatever the usernames (spraying); a lockout ends
after DAYFLOW_LOGIN_COOLOFF_MINUTES. Each lockout writes one `auth.locked_out` audit event.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.signals import user_locked_out
from django.core.cache import cache
from django.db.models import Sum
from django.dispatch import receiver
from django.shortcuts import render

from audit.writer import client_ip as audit_client_ip
from audit.writer import record
from dayflow import limits


class LockoutBackend(AxesStandaloneBackend):
    """axes' lockout check, first among the backends. An `authenticate` with no request (the
    test client's `login`, a shell) has no client to lock out: it is left to the next backend,
    where axes' own backend would raise."""

    def authenticate(self, request: Any, username: str | None = None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class LoginLockout(AxesDatabaseHandler):
    """axes' database handler (its rows are what staff see and delete in the admin), counting
    the pair's failures and the IP's together (dayflow.limits.login_failures) against
    axes' one AXES_FAILURE_LIMIT, the per-username limit. AXES_LOCKOUT_PARAMETERS lists the
    pair first and the IP second."""

    def get_failures(self, request: Any, credentials: dict | None = None) -> int:
        per_pair, per_ip = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        return limits.login_failures(
            per_pair,
            per_ip,
            limits.get("DAYFLOW_LOGIN_FAILURES_PER_USERNAME"),
            limits.get("DAYFLOW_LOGIN_FAILURES_PER_IP"),
        )


def client_ip(request: Any) -> str | None:
    """The IP axes counts: the one the audit trail records (REMOTE_ADDR)."""
    return audit_client_ip(request)


def failure_limit(request: Any, credentials: Any) -> int:
    return int(limits.get("DAYFLOW_LOGIN_FAILURES_PER_USERNAME"))


def cooloff(request: Any = None) -> dt.timedelta:
    return dt.timedelta(minutes=float(limits.get("DAYFLOW_LOGIN_COOLOFF_MINUTES")))


def locked_out(request: Any, original_response: Any = None, credentials: Any = None):
    """The lockout page (AXES_LOCKOUT_CALLABLE): 429 with `Retry-After`, in words."""
    seconds = int(cooloff().total_seconds())
    response = render(
        request,
        "registration/locked_out.html",
        {"cooloff_minutes": max(1, seconds // 60)},
        status=429,
    )
    response.headers["Retry-After"] = str(seconds)
    return response


@receiver(user_locked_out, dispatch_uid="dayflow.lockout.audit")
def on_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """One audit event per lockout: axes signals again on each attempt while locked out."""
    seconds = int(cooloff().total_seconds())
    marker = f"lockout-audited:{(username or '')[:150]}:{ip_address or ''}"
    if not cache.add(marker, 1, timeout=seconds):
        return
    record(
        "auth.locked_out",
        request=request,
        success=False,
        resource=(request.path[:300] if request is not None else ""),
        details={
            "username": (username or "")[:150],
            "cooloff_minutes": seconds // 60,
        },
    )
