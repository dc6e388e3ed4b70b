"""The answer of both rules previews (`POST /api/connections/{id}/rules-preview` and
`POST /api/sync-links/{id}/rules-preview`): the rules validated as the settings are, then
counted by the caller's counter. Nothing is saved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from rest_framework import exceptions
from rest_framework.response import Response

from dayflow import agenda
from integrations.api.serializers import RulesPreviewResultSerializer, RulesPreviewSerializer
from sync.rules import rule_errors
from sync.rules_preview import Count, sentence

Counter = Callable[[Any, dt.date], list[Count]]


def answer(data: Any, kinds: Iterable[str], count: Counter, user_id: int) -> Response:
    """A 400 with the rules' problems, or the counts and their sentence; the rules' days
    counted from the person's today (a token's call has no page's zone active)."""
    incoming = RulesPreviewSerializer(data=data)
    incoming.is_valid(raise_exception=True)
    rules = incoming.validated_data["sync_rules"]
    problems = rule_errors(tuple(kinds), rules)
    if problems:
        raise exceptions.ValidationError({"sync_rules": problems})
    counts = count(rules, agenda.person_today(user_id))
    body = {"counts": counts, "sentence": sentence(counts)}
    return Response(RulesPreviewResultSerializer(body).data)
