"""Beat's safety net for the sandbox's outbound webhooks: a delivery whose after-commit thread
never ran (its gunicorn worker was recycled or killed right after the response) is sent here."""

from __future__ import annotations

from celery import shared_task

from integrations import service_urls
from integrations.sandbox import outbox


@shared_task(name="sandbox.deliver_webhooks")
def deliver_webhooks() -> int:
    """Send what the emulators stored and nobody sent yet; how many were sent."""
    if not service_urls.sandbox_on():
        return 0
    return outbox.deliver_pending()
