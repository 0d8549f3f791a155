from typing import Any

from django.core.paginator import Page, Paginator
from rest_framework.pagination import PageNumberPagination


class Pages(PageNumberPagination):
    """Pages of 20 by default; `?page_size=` asks for up to 100."""

    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def page_of(items: Any, per_page: int, asked: str | None) -> Page:
    """The page a `?page=` asks for, as a reader expects: none or junk is the first, past the end
    the last, and 0 or below the first (Django's get_page would give the last for those)."""
    try:
        number = max(int(asked or 1), 1)
    except ValueError:
        number = 1
    return Paginator(items, per_page).get_page(number)
