"""The Celery app: tasks autodiscovered per app, named queues, beat on the database scheduler."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dayflow.settings")

app = Celery("dayflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
QUEUES = ("default", "sync", "webhooks", "maintenance")
app.conf.task_queues = [Queue(name) for name in QUEUES]
app.autodiscover_tasks()


def ensure_broker_folders() -> None:
    """kombu's filesystem transport needs its folders to exist before anyone publishes."""
    options = app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "control_folder"):
        if options.get(key):
            os.makedirs(options[key], exist_ok=True)


ensure_broker_folders()
