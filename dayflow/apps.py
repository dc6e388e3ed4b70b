from django.apps import AppConfig


class DayflowConfig(AppConfig):
    name = "dayflow"
    verbose_name = "DayFlow planner"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from dayflow import lockout, receivers  # noqa: F401  (their receivers)
        from dayflow.models import Event, Task

        for model in (Task, Event):
            if not auditlog.contains(model):
                auditlog.register(model)
