"""The navigation's counts: open conflicts and unread notices, in ONE query (signed-in pages
only: base.html asks inside its `user.is_authenticated` branch). Every page's query budget
holds exactly one query for the navigation."""

from __future__ import annotations

from typing import Any

from django import template
from django.contrib.auth import get_user_model
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from notifications.models import Notification
from sync.models import Conflict

register = template.Library()


def _count(rows: QuerySet, owner: str) -> Coalesce:
    counted = rows.order_by().values(owner).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


@register.simple_tag(takes_context=True)
def nav_counts(context: template.Context) -> dict[str, Any]:
    user = context["user"]
    counts = (
        get_user_model()
        .objects.filter(pk=user.pk)
        .annotate(
            open_conflicts=_count(
                Conflict.objects.filter(
                    link__connection__user=OuterRef("pk"), status=Conflict.Status.OPEN
                ),
                "link__connection__user",
            ),
            unread_notifications=_count(
                Notification.objects.filter(user=OuterRef("pk"), read_at__isnull=True), "user"
            ),
        )
        .values("open_conflicts", "unread_notifications")
        .first()
    )
    return counts or {"open_conflicts": 0, "unread_notifications": 0}
