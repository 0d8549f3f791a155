"""Text compared as the database compares it, and spans of time said as people say them."""

from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.timesince import timesince


def upper_per_letter(value: Any) -> Any:
    """Each character in upper case where that is one character, as PostgreSQL's UPPER does in a
    Unicode locale, and so `iexact` on every database (carsales.core.sqlite): a dotless i and an
    i are both "I", a final sigma and a sigma both "Σ"; "ß" stays "ß", where str.upper() makes it "SS"."""
    if not isinstance(value, str):
        return value
    upper = value.upper()
    return upper if len(upper) == len(value) else "".join(c if len(u := c.upper()) > 1 else u for c in value)


def duration_said(span: timedelta) -> str:
    """A span of time as a person says it: "15 minutes", "2 days" (its largest units, as Django's
    timesince counts them)."""
    now = timezone.now()
    return timesince(now - span, now)
