import pytest

from dayflow.models import Task

pytestmark = pytest.mark.django_db


def test_version_increases_on_every_change(user):
    task = Task.objects.create(user=user, title="Write the plan")
    assert task.version == 1

    task.title = "Write the plan today"
    task.save()
    task.status = Task.Status.DONE
    task.save(update_fields=["status"])

    task.refresh_from_db()
    assert task.version == 3
    assert task.status == "done"


def test_soft_delete_hides_from_default_manager_but_keeps_the_row(user):
    task = Task.objects.create(user=user, title="Old idea")

    task.soft_delete()

    assert not Task.objects.filter(pk=task.pk).exists()
    assert Task.all_objects.get(pk=task.pk).is_deleted
    task.restore()
    assert Task.objects.filter(pk=task.pk).exists()
    assert Task.all_objects.get(pk=task.pk).version == 3
