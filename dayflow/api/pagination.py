"""Every list is cursor-paginated: stable under inserts, and constant in cost per page."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination

MAX_PAGE_SIZE = 200


class CursorPage(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
