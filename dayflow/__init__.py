from dayflow import collector

collector.starting()  # first: before Celery, Django's apps and ours are imported

from dayflow.celery import app as celery_app  # noqa: E402

__all__ = ("celery_app",)
