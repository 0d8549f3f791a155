"""Text compared as the database compares it."""

from typing import Any


def upper_per_letter(value: Any) -> Any:
    """Each character in upper case where that is one character, as PostgreSQL's UPPER does in a
    Unicode locale, and so `iexact` on every database (carsales.core.sqlite): a dotless i and an
    i are both "I", a final sigma and a sigma both "Σ"; "ß" stays "ß", where str.upper() makes it "SS"."""
    if not isinstance(value, str):
        return value
    upper = value.upper()
    return upper if len(upper) == len(value) else "".join(c if len(u := c.upper()) > 1 else u for c in value)
