"""The database session store, its read prepared (core.prepared): every signed-in request reads
its session, and building that query cost the ORM more than running it."""

from datetime import datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from .prepared import PreparedQuery

_SESSION = PreparedQuery(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now), key=str, now=datetime
)


class SessionStore(db.SessionStore):
    def _validate_session_key(self, key: str | None) -> bool:
        # Only a key this store could have made (letters and digits): one quoting a NUL byte in its
        # cookie was sent to PostgreSQL, which refuses NUL in text, a 500 on every page. Any other
        # key is no session, as an unknown one is.
        valid = super()._validate_session_key(key)  # type: ignore[misc]  # Django's, undeclared in django-stubs
        return bool(valid) and key is not None and key.isascii() and key.isalnum()

    def _get_session_from_db(self) -> Session | None:
        # As Django's: the session stored under this key, unless it has expired.
        session = _SESSION.first(key=self.session_key, now=timezone.now()) if self.session_key else None
        if session is None:
            self._session_key = None
        return session
