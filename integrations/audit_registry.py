"""Model change history with django-auditlog, never including secret fields.

Credential is not registered at all: auditlog's masking keeps half of a secret visible.
"""

from auditlog.registry import auditlog

from integrations.models import Connection, Service


def register_models() -> None:
    for model in (Connection, Service):
        if not auditlog.contains(model):
            auditlog.register(model)
