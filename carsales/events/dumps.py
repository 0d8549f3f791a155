"""A value as a dump states it, for the guards that compare a row a fixture loads with the stored
one (this app's, and core.state's: core may import this app, never the reverse)."""

from datetime import datetime
from typing import Any


def as_dumped(value: Any) -> Any:
    """Django's JSON serializer keeps a time to the millisecond: a dump loaded again is the same row."""
    if isinstance(value, datetime):
        return value.replace(microsecond=value.microsecond // 1000 * 1000)
    return value
