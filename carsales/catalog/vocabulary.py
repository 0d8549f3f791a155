"""The words catalogue searches correct typos against (catalog.search) are cached; every write of a
brand's name or a car's model forgets them, the querysets' bulk writes included (catalog.models),
so this module imports no model."""

from django.core.cache import cache
from django.db import transaction

VOCABULARY_KEY = "catalog.search.vocabulary"


def search_vocabulary_forget() -> None:
    """A brand or model was added or renamed: read the words again at the next correction, once
    this transaction is committed (and now, for this transaction's own searches)."""
    cache.delete(VOCABULARY_KEY)
    transaction.on_commit(lambda: cache.delete(VOCABULARY_KEY))
