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
NOT_FOUND = "Not found: no such object of yours, or a page cursor that is not valid."
THROTTLED = "Too many requests: try again after the seconds in `Retry-After`."


def document_errors(result: dict, generator: Any, request: Any, public: bool) -> dict:
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for methods in result.get("paths", {}).values():
        for operation in methods.values():
            for status, description in errors_of(operation):
                operation["responses"].setdefault(status, answer(description))
    return result


def errors_of(operation: dict) -> list[tuple[str, str]]:
    parameters = operation.get("parameters", [])
    errors = [("401", UNAUTHORIZED)]
    if parameters or "requestBody" in operation:
        errors.append(("400", BAD_INPUT))
    if any(p["in"] == "path" or p["name"] == "cursor" for p in parameters):
        errors.append(("404", NOT_FOUND))
    errors.append(("429", THROTTLED))
    return errors


def answer(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
