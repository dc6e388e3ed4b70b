import socket

from celery import shared_task
from django.utils import timezone

from dayflow.models import Heartbeat


@shared_task(name="dayflow.heartbeat")
def heartbeat() -> None:
    """Run every minute by beat: its last run proves the worker and beat are alive."""
    Heartbeat.objects.update_or_create(
        name="beat", defaults={"last_seen_at": timezone.now(), "hostname": socket.gethostname()}
    )
