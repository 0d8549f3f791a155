"""Who is acting, for observers reached through model signals, which carry no user.

A service that knows its actor runs its writes inside `acting_as(user)`; the middleware does
the same for every request, so a receiver of, say, post_delete(Sale) can name who deleted the
sale on any path. Outside both (a shell, a management command) the actor is None.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

_actor: ContextVar[Callable[[], Any] | None] = ContextVar("carsales_actor", default=None)


@contextmanager
def acting_as(user: Any) -> Iterator[None]:
    """Name `user` (a User, AnonymousUser or None) as the actor of what runs inside."""
    token = _actor.set(lambda: user)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Any:
    """The authenticated user acting now, or None."""
    resolve = _actor.get()
    user = resolve() if resolve else None
    return user if user is not None and getattr(user, "is_authenticated", False) else None


class ActorMiddleware:
    """Makes the request's user the actor; read lazily, so DRF's token authentication counts."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _actor.set(lambda: getattr(request, "user", None))
        try:
            return self.get_response(request)
        finally:
            _actor.reset(token)
