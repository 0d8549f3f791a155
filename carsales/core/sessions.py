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
    def _get_session_from_db(self) -> Session | None:
        # As Django's: the session stored under this key, unless it has expired.
        session = _SESSION.first(key=self.session_key, now=timezone.now()) if self.session_key else None
        if session is None:
            self._session_key = None
        return session
