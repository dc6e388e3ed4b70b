"""Typed errors become HTTP answers in one place: an action the object's state refuses is a
409 with its reason; a model's ValidationError is a 400 field by field."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from integrations.actions import ActionRefused


def handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, ActionRefused):
        return Response({"detail": exc.reason, "action": exc.action}, status=exc.status)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail)
    return exception_handler(exc, context)
