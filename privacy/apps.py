from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = "data protection"

    def ready(self) -> None:
        # Here, not at the top: apps.py is loaded before the models may be imported.
        from privacy import parts, receivers  # noqa: F401

        parts.register_defaults()
