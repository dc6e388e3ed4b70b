from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from audit.capped import record_capped
from audit.writer import record


@receiver(user_logged_in)
def on_login(sender, request, user, **kwargs) -> None:
    record("auth.login", actor=user, request=request, resource=f"user:{user.pk}")


@receiver(user_logged_out)
def on_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record("auth.logout", actor=user, request=request, resource=f"user:{user.pk}")


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Capped per client IP and window (audit/capped.py): a password sprayer writes few rows.
    record_capped(
        "auth.login_failed",
        request=request,
        success=False,
        details={"username": credentials.get("username", "")},
    )
