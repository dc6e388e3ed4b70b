from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "audit"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import pre_delete

        from audit import chain, signals  # noqa: F401  (signals connects login/logout receivers)
        from dayflow.signals import user_erasing

        user_erasing.connect(chain.on_user_erasing, dispatch_uid="audit.anonymize_user")
        pre_delete.connect(
            chain.on_user_deleting, sender=get_user_model(), dispatch_uid="audit.user_deleting"
        )
