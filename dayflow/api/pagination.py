"""Every list is cursor-paginated: stable under inserts, and constant in cost per page.

Order only by fields that are never null: a cursor cannot hold a null position, so ordering by
a nullable field would lose rows or break the next page."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 200


class CursorPage(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def decode_cursor(self, request: Any) -> Any:
        """A cursor the client mangled is bad input (400), not a missing page (DRF's 404)."""
        try:
            return super().decode_cursor(request)
        except NotFound:
            raise ValidationError({self.cursor_query_param: ["Invalid cursor."]}) from None
