"""The answers every operation may give besides its own, added to the schema in one place (a
drf-spectacular postprocessing hook): a client then finds its 401, 404, 400 and 429 described,
with their body, and schemathesis holds every answer to a documented status. An operation that
declares one of these itself keeps its own description."""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "`detail` says what went wrong; a 400 names each field with its messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
UNAUTHORIZED = "No token, or one that is unknown, revoked or expired."
BAD_INPUT = "Bad input: what is wrong, field by field."
NOT_FOUND = (
    "Not found: an object named in the path, the query or the body that is not one of yours, "
    "or a page cursor that is not valid."
)
THROTTLED = "Too many requests: try again after the seconds in `Retry-After`."


def document_errors(result: dict, generator: Any, request: Any, public: bool) -> dict:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for status, description in errors_of(operation):
                operation["responses"].setdefault(status, answer(description))
    return result


def errors_of(operation: dict) -> list[tuple[str, str]]:
    errors = [("401", UNAUTHORIZED)]
    if operation.get("parameters") or "requestBody" in operation:
        errors += [("400", BAD_INPUT), ("404", NOT_FOUND)]
    return [*errors, ("429", THROTTLED)]


def answer(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
