"""Model change history with django-auditlog, never including secret fields.

Credential is not registered at all: auditlog's masking keeps half of a secret visible.
"""

from auditlog.registry import auditlog


def register_models() -> None:
    from integrations.models import Service, UserIntegration

    for model in (UserIntegration, Service):
        if not auditlog.contains(model):
            auditlog.register(model)
