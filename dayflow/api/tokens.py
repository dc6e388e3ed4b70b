"""`/api/tokens`: a person's API tokens. The token is returned once, by the create; afterwards
only its name, dates and last use are shown. Deleting one revokes it at once."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from audit.writer import record
from dayflow.api.owned import OwnedObjects
from dayflow.api.strict import StrictModelSerializer
from dayflow.models import ApiToken

MAX_TOKENS_PER_USER = 50
LONGEST_LIFETIME = dt.timedelta(days=366)


class ApiTokenSerializer(StrictModelSerializer):
    is_expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "created", "expiry", "last_used_at", "is_expired"]
        read_only_fields = ["id", "created", "last_used_at"]
        extra_kwargs = {
            "expiry": {"required": False, "allow_null": True, "help_text": "None: never."}
        }

    def validate_name(self, name: str) -> str:
        name = name.strip()
        if not name:
            raise serializers.ValidationError("Give the token a name.")
        return name

    def validate_expiry(self, expiry: dt.datetime | None) -> dt.datetime | None:
        now = timezone.now()
        if expiry is not None and not now < expiry <= now + LONGEST_LIFETIME:
            raise serializers.ValidationError("Choose a time in the next 366 days, or none.")
        return expiry


class NewApiTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(
        read_only=True, help_text="The token itself. Shown this once: it is stored hashed."
    )

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]


def make_token(user: Any, name: str, expiry: dt.datetime | None, request: Any) -> tuple:
    """A new token for `user`: (ApiToken, the token string, shown once)."""
    with transaction.atomic():
        api_token, token = ApiToken.objects.create(user=user, expiry=None, name=name)
        if expiry is not None:
            api_token.expiry = expiry
            api_token.save(update_fields=["expiry"])
        record("api_token.created", request=request, actor=user, details={"name": name})
    return api_token, token


def revoke_token(api_token: ApiToken, request: Any) -> None:
    record(
        "api_token.revoked", request=request, actor=api_token.user, details={"name": api_token.name}
    )
    api_token.delete()


@extend_schema_view(
    list=extend_schema(summary="Your API tokens"),
    retrieve=extend_schema(summary="One of your API tokens"),
    destroy=extend_schema(summary="Revoke an API token"),
)
class ApiTokenViewSet(
    OwnedObjects,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your personal API tokens: make one (its token is shown once), list, read, revoke."""

    model = ApiToken
    serializer_class = ApiTokenSerializer
    ordering_fields = ["id", "created", "name"]  # never null (dayflow/api/pagination.py)

    @extend_schema(
        summary="Make an API token",
        request=ApiTokenSerializer,
        responses={201: NewApiTokenSerializer},
        examples=[
            OpenApiExample("A token for a script", value={"name": "backup script"}),
            OpenApiExample(
                "One that expires",
                value={"name": "CI", "expiry": "2027-01-31T00:00:00Z"},
                request_only=True,
            ),
        ],
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        incoming = ApiTokenSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        if self.get_queryset().count() >= MAX_TOKENS_PER_USER:
            raise serializers.ValidationError(
                {"name": [f"You have {MAX_TOKENS_PER_USER} tokens; revoke one first."]}
            )
        api_token, token = make_token(
            request.user,
            incoming.validated_data["name"],
            incoming.validated_data.get("expiry"),
            request,
        )
        api_token.token = token
        return Response(NewApiTokenSerializer(api_token).data, status=201)

    def perform_destroy(self, instance: ApiToken) -> None:
        revoke_token(instance, self.request)
