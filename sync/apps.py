from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "sync"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from sync import receivers  # noqa: F401
        from sync.schedule import reconcile_schedules

        post_migrate.connect(reconcile_schedules, sender=self)
