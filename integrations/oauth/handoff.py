"""OAuth connects started by a script and finished by a person.

`POST /api/integrations {"service": ...}` answers with the service's consent URL. social-core
binds that flow (its state and PKCE verifier) to the requester's session, but a script's
session is not its person's browser's, so the callback would refuse it. `hand_off` moves the
session entries the flow's start wrote into an `OAuthHandoff` for the user; when that user,
signed in, comes back through the callback with the state, `claim` puts them into the browser's
session (once, within ten minutes), and social-core then checks everything as usual.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from django.utils import timezone

from integrations.models import OAuthHandoff

LIFETIME = dt.timedelta(minutes=10)  # social-core's own limit on a flow's state


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def flow_entries(session: Any, service_key: str) -> dict[str, Any]:
    """The session's entries of this service's flows (social-core names them `<backend>_…`)."""
    prefix = f"{service_key}_"
    keys = session.keys()  # a Django session has keys() but cannot be iterated
    return {key: session[key] for key in keys if key.startswith(prefix)}


def hand_off(user: Any, service_key: str, state: str, before: dict, after: dict) -> None:
    """Keep for `user` what starting the flow wrote to the session (`after` minus `before`)."""
    written = {key: value for key, value in after.items() if before.get(key) != value}
    OAuthHandoff.objects.filter(created_at__lt=timezone.now() - LIFETIME).delete()
    OAuthHandoff.objects.create(
        user=user,
        service_key=service_key,
        state_digest=_digest(state),
        session=json.dumps(written),
    )


def claim(request: Any, service_key: str) -> bool:
    """Put a handed-off flow into the browser's session, if the callback's state is one this
    signed-in user's script started; the handoff is used up either way."""
    state = request.GET.get("state", "")
    if not state or not request.user.is_authenticated or len(state) > 512:
        return False
    fresh = timezone.now() - LIFETIME
    handoff = OAuthHandoff.objects.filter(
        user=request.user, service_key=service_key, state_digest=_digest(state)
    ).first()
    if handoff is None or not OAuthHandoff.objects.filter(pk=handoff.pk).delete()[0]:
        return False  # none, or another request claimed it first
    if handoff.created_at < fresh:
        return False
    for key, value in json.loads(handoff.session).items():
        mine = request.session.get(key)
        request.session[key] = {**mine, **value} if isinstance(mine, dict) else value
    return True
