"""A social-core strategy that connects accounts and never logs anyone in.

social_django's strategy authenticates through Django's `authenticate()`, which would make our
backends login backends. Here the pipeline runs directly on the backend, with the logged-in user
passed in, and its last step stores the tokens in our encrypted Credential.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from social_django.models import DjangoStorage
from social_django.strategy import DjangoStrategy

CONNECT_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "integrations.oauth.pipeline.require_user",
    "social_core.pipeline.social_auth.social_user",
    "integrations.oauth.pipeline.store_connection",
)


class ConnectStrategy(DjangoStrategy):
    def authenticate(self, backend: Any, **kwargs: Any) -> Any:
        kwargs.pop("request", None)
        kwargs.update(strategy=self, storage=self.storage, backend=backend)
        return backend.authenticate(**kwargs)

    def clean_authenticate_args(self, *args: Any, **kwargs: Any) -> tuple[tuple, dict]:
        # Django's authenticate() is never involved, so there is no positional request.
        kwargs.pop("request", None)
        return args, kwargs

    def get_pipeline(self, backend: Any = None) -> tuple[str, ...]:
        return CONNECT_PIPELINE


def load_strategy(request: HttpRequest | None) -> ConnectStrategy:
    return ConnectStrategy(DjangoStorage, request)
