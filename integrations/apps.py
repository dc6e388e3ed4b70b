from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"

    def ready(self) -> None:
        # Here, not at the top: apps.py is loaded before the models may be imported.
        from django.db.models.signals import post_migrate

        from integrations import audit_registry, catalog, signals  # noqa: F401

        post_migrate.connect(catalog.sync_services, sender=self)
        audit_registry.register_models()
