from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "integrations.sandbox"
    label = "sandbox"
    verbose_name = "Sandbox (emulated services)"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.db.models.signals import post_save

        from integrations.sandbox.caldav_accounts import seed_new_user

        post_save.connect(seed_new_user, sender=get_user_model(), dispatch_uid="sandbox-caldav")
