"""A short path through the middleware stack for webhook deliveries.

Deliveries are machine-to-machine POSTs with no cookie and no user: sessions, CSRF (the view is
exempt), authentication, messages, clickjacking headers and django-auditlog's request context
do nothing for them but cost CPU on every delivery, and a burst sends thousands. Placed right
after SecurityMiddleware (which keeps its SSL redirect and HSTS header), this middleware
answers `/api/webhooks/...` itself and hands every other request down the usual stack.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver, reverse

WEBHOOKS_NAMESPACE = "webhooks"


class WebhookFastPath:
    """Calls the webhook view directly for paths under the webhooks URL prefix."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        # The prefix comes from the URLconf (dayflow/urls.py), so it cannot drift from it.
        self.prefix = reverse(f"{WEBHOOKS_NAMESPACE}:receive", args=["_"])[: -len("_/")]

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(self.prefix):
            return self.get_response(request)
        try:
            match = get_resolver().resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        if match.namespace != WEBHOOKS_NAMESPACE:
            return self.get_response(request)
        # CommonMiddleware's ALLOWED_HOSTS check (DisallowedHost becomes a 400), kept.
        request.get_host()
        request.resolver_match = match
        # The audit writer asks who made a rejected request: nobody, for a webhook.
        request.user = AnonymousUser()
        response = match.func(request, *match.args, **match.kwargs)
        # As CommonMiddleware would: a sized answer keeps the sender's connection reusable
        # without chunked framing.
        if not response.streaming and not response.has_header("Content-Length"):
            response.headers["Content-Length"] = str(len(response.content))
        return response
