"""The navigation's link to conflicts, with a count of the open ones (one query, signed-in
pages only: base.html renders it inside its `user.is_authenticated` branch)."""

from __future__ import annotations

from typing import Any

from django import template

from sync.models import Conflict

register = template.Library()


@register.inclusion_tag("sync/_conflicts_link.html", takes_context=True)
def conflicts_link(context: template.Context) -> dict[str, Any]:
    user = context["user"]
    open_conflicts = Conflict.objects.for_user(user).filter(status=Conflict.Status.OPEN).count()
    return {"open_conflicts": open_conflicts}
