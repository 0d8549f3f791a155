"""Path converters that refuse, with a 404, what the database could never hold.

An id past the 64-bit range used to reach the query and fail there (SQLite raises
OverflowError, a 500); refusing it in the URL keeps every view and API route free of that check.
"""

import re

from django.urls import register_converter

MAX_ID = 2**63 - 1  # the largest value of a BigAutoField (signed 64-bit) on every backend


class IdConverter:
    """`<id:pk>`: a positive integer that fits a 64-bit primary key, without leading zeros."""

    regex = "[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > MAX_ID:
            raise ValueError(f"{value} is past the largest id")  # Django answers 404: no route matches
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


def id_in(text: str) -> int | None:
    """`text` as an id, as a URL's `<id:...>` reads it (ASCII digits only: "²" is a digit to
    str.isdigit() but not to int()), or None when it is none."""
    if re.fullmatch(IdConverter.regex, text) is None:
        return None
    try:
        return IdConverter().to_python(text)
    except ValueError:
        return None


def register() -> None:
    """Make `<id:...>` available to every URLconf; called once from CoreConfig.ready()."""
    register_converter(IdConverter, "id")
