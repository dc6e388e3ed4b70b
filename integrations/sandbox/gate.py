"""Whether the sandbox answers at all: every sandbox view is wrapped in `sandbox_view`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from integrations import service_urls


def enabled() -> bool:
    """The product's decision (`integrations.service_urls.sandbox_on`), read here too."""
    return service_urls.sandbox_on()


View = Callable[..., HttpResponse]


def sandbox_view(view: View) -> View:
    """404 when the sandbox is off, as if its URLs did not exist."""

    @functools.wraps(view)
    def gated(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not enabled():
            raise Http404("the sandbox is off")
        return view(request, *args, **kwargs)

    return gated


def api_view(view: View) -> View:
    """A service's API endpoint: gated, and called by servers, not browsers (no CSRF)."""
    return csrf_exempt(sandbox_view(view))
