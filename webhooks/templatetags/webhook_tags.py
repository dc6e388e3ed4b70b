"""`{% load webhook_tags %}{{ connection|delivery_mode }}`: "push" or "polling", for the
connection pages (integrations cannot import webhooks, but its templates can load this)."""

from __future__ import annotations

from django import template

from integrations.models import Connection
from webhooks.subscriptions import delivery_mode as mode_of

register = template.Library()


@register.filter
def delivery_mode(connection: Connection) -> str:
    return mode_of(connection)
