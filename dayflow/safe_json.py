"""Parsing JSON that anyone can send (webhook bodies, settings typed in a form): nesting is
bounded before `json.loads` runs.

CPython's json decoder recurses once per nested array or object, so a body of 200,000 `[`
raises RecursionError (an unauthenticated 500, and no audit row). A cheap pre-scan counts the
depth of the brackets outside strings and refuses a body deeper than the limit; no delivery
from the services we receive comes near MAX_DEPTH.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_DEPTH = 64

# A JSON string (escapes included): brackets inside one do not nest anything.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


class UnsafeJSON(ValueError):
    """The body is not JSON we accept; `reason` says why, for the 400 and the audit row."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def depth(body: bytes | str, limit: int = MAX_DEPTH) -> int:
    """The deepest nesting of arrays and objects in `body` (strings skipped), counted up to
    just past `limit`."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    brackets = _STRING.sub(b"", raw).translate(None, delete=_NOT_BRACKETS)
    deepest = level = 0
    for char in brackets:
        level += 1 if char in b"[{" else -1
        deepest = max(deepest, level)
        if deepest > limit:
            break
    return deepest


def loads(body: bytes, max_depth: int = MAX_DEPTH) -> Any:
    """The parsed body, or UnsafeJSON (`too_deep` or `not_json`)."""
    if depth(body, max_depth) > max_depth:
        raise UnsafeJSON("too_deep")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise UnsafeJSON("not_json") from None
