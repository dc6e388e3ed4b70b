from celery import shared_task

from dayflow.models import Heartbeat

HEARTBEAT_TASK = "dayflow.heartbeat"


@shared_task(name=HEARTBEAT_TASK)
def heartbeat() -> None:
    """Sent by beat every DAYFLOW_HEARTBEAT_SECONDS: that it ran proves a worker is alive (beat
    notes its own heartbeat when it sends this, in `dayflow.beat`)."""
    Heartbeat.record(Heartbeat.WORKER)
