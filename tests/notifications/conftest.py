import pytest

from dayflow.celery import app as celery_app


@pytest.fixture
def eager_celery():
    """Tasks run in the test's process when sent (the email task)."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before
