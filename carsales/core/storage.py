"""Static files storages whose url() is worked out once per name: `{% static %}` asked it on every
page for each stylesheet, script and icon (a manifest lookup and URL joins each time), while what
it answers changes only with a new collectstatic, which a restart brings in."""

from functools import lru_cache

from django.contrib.staticfiles.storage import StaticFilesStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


class _URLsWorkedOutOnce:
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._url_of = lru_cache(maxsize=1024)(super().url)  # type: ignore[misc]

    def url(self, name: str | None, force: bool = False) -> str:
        return self._url_of(name) if not force else super().url(name, force=True)  # type: ignore[misc]


class ManifestStaticFiles(_URLsWorkedOutOnce, CompressedManifestStaticFilesStorage):
    """Deployment's: whitenoise's compressed files named by their hash."""


class StaticFiles(_URLsWorkedOutOnce, StaticFilesStorage):
    """The tests': the files as they are."""
