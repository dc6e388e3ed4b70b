"""The API's JSON parser: the body's size and nesting are bounded before it is parsed
(`dayflow.safe_json`), so hostile input is a 400, never a RecursionError."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from dayflow import safe_json


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise ParseError(f"The body is larger than {limit} bytes.")
        if not body:
            return {}
        try:
            return safe_json.loads(body)
        except safe_json.UnsafeJSON as exc:
            reason = "nested too deeply" if exc.reason == "too_deep" else "not valid JSON"
            raise ParseError(f"The body is {reason}.") from None
