"""Serializer fields that refuse, with a 400, values no database column can hold.

Related fields look their value up at once; a value the database refuses (an id past 64 bits
on SQLite, a NUL byte in text on PostgreSQL) then failed inside the query, a 500.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import serializers

from .converters import MAX_ID


class IdField(serializers.IntegerField):
    """A row id: an integer from 1 to 2**63 - 1 (a BigAutoField)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=MAX_ID, **kwargs)


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by id; an id no row could have is "does not exist", before any query."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            IdField().run_validation(data)
        except serializers.ValidationError:
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(data)


class SlugRelatedField(serializers.SlugRelatedField):
    """A related object by slug; text with a NUL byte is refused before any query."""

    def to_internal_value(self, data: Any) -> Any:
        try:
            ProhibitNullCharactersValidator()(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages)
        return super().to_internal_value(data)
